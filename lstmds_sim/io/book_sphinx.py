"""The Sphinx extension of ``lstmds book``: solutions folded away, and nothing loaded from the network.

``lstmds book`` (:mod:`lstmds_sim.io.book`) names this module in the ``conf.py`` it writes. It adds

* the ``solution`` directive: its content (MyST Markdown, math included) inside a ``<details>``
  element whose summary is the directive's argument (``Solution 1``), so a solution is collapsed
  until the reader opens it, with the same look as MyST-NB's folded code cells;
* a check after the build that no page of the site loads a script, a stylesheet, a font, an image
  or a frame from another host: the site must work in a classroom without internet, so any such
  reference is a build error naming the page and the address.

Only Sphinx imports it (its ``setup``); it needs the ``course`` extra.
"""

from __future__ import annotations

import html
import re
from pathlib import Path

from docutils import nodes
from sphinx.util.docutils import SphinxDirective

__all__ = ["SolutionDirective", "SolutionNode", "network_references", "setup"]

#: A reference a browser follows by itself when it shows a page (not a link the reader clicks):
#: ``src=`` of script, img, iframe, source, ...; ``href=`` of ``<link>``; ``url(...)`` in CSS.
_LOADED = re.compile(
    r"""<(?:script|img|iframe|embed|source|audio|video|track|input)\b[^>]*?\bsrc\s*=\s*["']?([^"'\s>]+)"""
    r"""|<link\b[^>]*?\bhref\s*=\s*["']?([^"'\s>]+)"""
    r"""|@import\s+["']([^"']+)"""
    r"""|url\(\s*["']?([^"')\s]+)""",
    re.IGNORECASE)
_REMOTE = re.compile(r"^(?:[a-z][a-z0-9+.-]*:)?//", re.IGNORECASE)  # http://, https://, //host


class SolutionNode(nodes.Element, nodes.General):
    """A folded solution: ``<details>`` with its title as the summary."""


def _visit_solution(self, node: SolutionNode) -> None:
    # the markup of MyST-NB's folded code cells (so its stylesheet draws both alike)
    title = html.escape(node["title"])
    self.body.append('<div class="cell docutils container lstmds-solution">\n'
                     '<details class="admonition hide above-input">\n<summary aria-label="Toggle hidden content">\n'
                     f'<p class="collapsed admonition-title">{title}</p>\n'
                     f'<p class="expanded admonition-title">{title}</p>\n</summary>\n')


def _depart_solution(self, node: SolutionNode) -> None:
    self.body.append("</details>\n</div>\n")


def _visit_solution_text(self, node: SolutionNode) -> None:  # other builders: the title, then the text
    self.body.append(f"{node['title']}\n")


def _depart_nothing(self, node: SolutionNode) -> None:
    pass


class SolutionDirective(SphinxDirective):
    """``solution``: a solution, folded (``lstmds book`` writes one for each solution cell of a lab)."""

    has_content = True
    required_arguments = 0
    optional_arguments = 1
    final_argument_whitespace = True

    def run(self) -> list[nodes.Node]:
        node = SolutionNode(title=self.arguments[0] if self.arguments else "Solution")
        self.set_source_info(node)
        self.state.nested_parse(self.content, self.content_offset, node)
        return [node]


def network_references(text: str) -> list[str]:
    """The addresses on another host that a page (or stylesheet) in ``text`` would load by itself."""
    found = []
    for match in _LOADED.finditer(text):
        url = html.unescape(next(group for group in match.groups() if group is not None))
        if _REMOTE.match(url):
            found.append(url)
    return found


def _check_offline(app, exc) -> None:
    """After a successful HTML build: refuse a site with a page that loads anything from the network."""
    if exc is not None or app.builder.format != "html":
        return
    outdir = Path(app.outdir)
    for path in sorted(outdir.rglob("*")):
        if path.suffix.lower() not in (".html", ".css") or not path.is_file():
            continue
        remote = network_references(path.read_text(errors="replace"))
        if remote:
            raise RuntimeError(f"{path.relative_to(outdir)} would load {remote[0]} from the network "
                               f"({len(remote)} such references); the site must work offline")


def setup(app):
    app.add_node(SolutionNode, html=(_visit_solution, _depart_solution),
                 text=(_visit_solution_text, _depart_nothing), latex=(_visit_solution_text, _depart_nothing))
    app.add_directive("solution", SolutionDirective)
    app.connect("build-finished", _check_offline, priority=900)  # after sphinx-mathjax-offline copied MathJax
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
