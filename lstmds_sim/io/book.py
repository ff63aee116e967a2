"""``lstmds book --out DIR``: the course as a static web site that works offline.

The eight labs, executed as ``lstmds notebook`` executes them (:func:`~lstmds_sim.io.notebook.lab_edition`),
the theory (docs/theory.md) and each lab's signal inspector page, built with Sphinx, MyST-NB and the
Sphinx Book Theme (the conventions of teaching material in this field) into ``DIR/index.html``.
Everything a page needs is in the folder: MathJax comes from sphinx-mathjax-offline, the theme's
fonts and scripts are its own files, and the build fails if any page would load something from
another host (:mod:`lstmds_sim.io.book_sphinx`), so equations are typeset in a classroom without
internet, and the site opens from the disk (``file://``) or any static web server.

How a lab's notebook becomes a page (:func:`site_notebook`):

* MyST-NB renders the executed notebook as it is (``nb_execution_mode = "off"``): the site shows
  what ``lstmds notebook`` shows;
* the teacher's edition folds every solution away (a ``<details>`` the reader opens): solution
  text (markdown cells tagged ``solution``), the code behind it, the answer cells with their
  solution regions, and the checks' outputs, which print the answer;
* ``--student`` leaves every solution out: those cells are dropped, the solution regions of the
  answer cells are cut out, and the outputs of answer and check cells cleared;
* the inline signal inspector (a page in an ``<iframe srcdoc>``) is written once as
  ``inspectors/NAME.html`` and the notebook's frame loads that file, so the page is reachable
  from the lab's page and the index, and not stored twice;
* the live-parameters frame (a page served by the running kernel on localhost) cannot work in a
  static site: it is replaced by a line saying how to get it.

The site is written through :class:`~lstmds_sim.io.outdir.OutputDir` (record ``DIR/book.json``): a
failed or stopped build leaves the previous site as it was. Sphinx and friends are the ``course``
extra, imported only when the command runs (Sphinx itself runs in a child process).
"""

from __future__ import annotations

import ast
import html
import importlib
import importlib.util
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

__all__ = ["EXTRA_HINT", "build_sources", "cmd_book", "index_page", "parse_labs", "register", "site_notebook"]

EXTRA_HINT = "pip install 'lstmds-sim[course]'"
RECORD = "book.json"
TITLE = "LSTM as a dynamical system"

#: What the command imports or runs, by import name (sphinx-mathjax-offline's is its folder's, with hyphens).
REQUIRED = ("sphinx", "myst_nb", "sphinx_book_theme", "sphinx-mathjax-offline", "jupytext", "nbclient", "nbformat",
            "ipykernel", "bokeh")

#: MathJax bundles sphinx-mathjax-offline copies that the site never loads (it loads tex-chtml.js, which fetches
#: its extensions and fonts from input/, output/, ui/, a11y/ and sre/ as needed): left out of the site.
UNUSED_MATHJAX = ("mml-chtml.js", "mml-svg.js", "node-main.js", "tex-chtml-full.js", "tex-chtml-full-speech.js",
                  "tex-mml-chtml.js", "tex-mml-svg.js", "tex-svg.js", "tex-svg-full.js")

INSPECTOR_TITLE = 'title="lstmds signal inspector"'
LIVE_TITLE = 'title="lstmds live parameters"'
_SRCDOC = re.compile(r'<iframe srcdoc="([^"]*)"')
_SOLUTION_REGION = re.compile(r"^[ \t]*### BEGIN SOLUTION\b.*?^[ \t]*### END SOLUTION[^\n]*\n?", re.MULTILINE | re.DOTALL)
#: nbgrader's hidden tests in a check cell: the expected value's computation (the student's edition leaves it out)
_HIDDEN_TESTS = re.compile(r"^[ \t]*### BEGIN HIDDEN TESTS\b.*?^[ \t]*### END HIDDEN TESTS[^\n]*\n?",
                           re.MULTILINE | re.DOTALL)
_SOLUTION_TITLE = re.compile(r"^\s*\*\*(Solution\b[^*]*?)\.?\*\*\s*$")


def register(sub) -> None:
    """Add ``lstmds book`` to the CLI's subparsers ``sub`` (imports nothing heavy)."""
    from .lab import positive_int

    parser = sub.add_parser(
        "book", help="build the course as a static web site that works offline (labs, theory, inspector pages)",
        description="Build the labs (executed), the theory and each lab's signal inspector page into DIR as one "
                    "web site (Sphinx + MyST-NB); open DIR/index.html in a browser, no network needed. "
                    "LSTMDS_QUICK=1 runs the labs with small settings.")
    parser.add_argument("--out", default="out/book", metavar="DIR", help="folder of the site (default: %(default)s)")
    parser.add_argument("--labs", default=None, metavar="A,B",
                        help="the labs to include, comma-separated (default: all, in teaching order)")
    parser.add_argument("--student", action="store_true",
                        help="the student's edition: every solution left out (default: the teacher's, solutions "
                             "folded away)")
    parser.add_argument("--timeout", type=positive_int, default=3600, metavar="S",
                        help="seconds a notebook cell may run before the build is stopped (default: %(default)s)")
    parser.set_defaults(func=cmd_book)


def parse_labs(text: str | None) -> list[str]:
    """The labs ``--labs`` names (all of them when None), in teaching order; a mistake is a UsageError."""
    from .cli import UsageError, lab_names

    names = lab_names()
    if text is None:
        return names
    asked = [part.strip() for part in text.split(",") if part.strip()]
    if not asked:
        raise UsageError(f"--labs is empty: give lab names separated by commas, e.g. --labs {names[0]},{names[1]}")
    unknown = [name for name in asked if name not in names]
    if unknown:
        raise UsageError(f"--labs: no lab named {unknown[0]!r}; the labs are: {', '.join(names)} (lstmds list)")
    return [name for name in names if name in asked]


def missing_extra() -> str | None:
    """The first package of the ``course`` extra that is not installed, or None."""
    return next((name for name in REQUIRED if importlib.util.find_spec(name) is None), None)


def theory_path() -> Path | None:
    """docs/theory.md: installed with the package as ``lstmds_sim.docs`` (pyproject maps docs/ there), else the
    checkout's; None where neither has it."""
    try:
        spec = importlib.util.find_spec("lstmds_sim.docs")
    except ImportError:
        spec = None
    folders = [Path(p) for p in (spec.submodule_search_locations or [])] if spec is not None else []
    folders.append(Path(__file__).resolve().parents[2] / "docs")
    return next((folder / "theory.md" for folder in folders if (folder / "theory.md").is_file()), None)


def lab_summary(name: str) -> str:
    """The first line of lab ``name``'s docstring without its "Lab N: " (read from the file, not imported)."""
    from .notebook import lab_path

    doc = ast.get_docstring(ast.parse(lab_path(name).read_text(encoding="utf-8"))) or ""
    first = doc.strip().splitlines()[0] if doc.strip() else name
    return re.sub(r"^Lab \d+:\s*", "", first)


# --------------------------------------------------------------------------- #
# A lab's notebook as a page of the site
# --------------------------------------------------------------------------- #

def _tags(cell) -> list[str]:
    return list(cell.metadata.get("tags", []))


def _fold(cell, tag: str, show: str) -> None:
    """Fold a code cell away in the site (MyST-NB's ``hide-*`` tags), with its own prompts."""
    cell.metadata["tags"] = _tags(cell) + [tag]
    cell.metadata["mystnb"] = {**cell.metadata.get("mystnb", {}), "code_prompt_show": show, "code_prompt_hide": show}


def _solution_directive(source: str) -> str:
    """A solution's markdown as the ``solution`` directive (folded): its ``**Solution n.**`` line is the title."""
    lines = source.splitlines()
    title = "Solution"
    if lines and _SOLUTION_TITLE.match(lines[0]):
        title = _SOLUTION_TITLE.match(lines[0]).group(1).strip()
        lines = lines[1:]
    body = "\n".join(lines).strip("\n")
    longest = max((len(run) for run in re.findall(r"`+", body)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}{{solution}} {title}\n\n{body}\n{fence}"


def _clear(cell) -> None:
    cell["outputs"], cell["execution_count"] = [], None


def _html_of(output) -> str:
    """An output's HTML as one string ("" when it has none; nbformat may keep it as a list of lines)."""
    text = output.get("data", {}).get("text/html", "")
    return "".join(text) if isinstance(text, list) else text


def _inspector_output(output, page_name: str) -> str | None:
    """If ``output`` is the inline signal inspector: point its frame at ``inspectors/page_name`` and return
    the page it held; else None."""
    data, text = output.get("data", {}), _html_of(output)
    if INSPECTOR_TITLE not in text:
        return None
    match = _SRCDOC.search(text)
    if match is None:
        return None
    page = html.unescape(match.group(1))
    href = f"../inspectors/{page_name}"
    data["text/html"] = (text[:match.start()] + f'<iframe src="{href}"' + text[match.end():]
                         + f'<p><a href="{href}">Open the signal inspector on its own page</a></p>')
    return page


def _live_output(output, lab: str) -> bool:
    """If ``output`` is the live-parameters frame (served by the kernel): replace it by a line; whether it was."""
    if LIVE_TITLE not in _html_of(output):
        return False
    line = (f"The live sliders re-run the diagram in a running Python kernel, which a web page cannot do: run "
            f"this lab's notebook (lstmds notebook {lab}) or lstmds live {lab} to use them.")
    output["data"] = {"text/html": f'<p class="lstmds-live-note"><em>{html.escape(line)}</em></p>', "text/plain": line}
    return True


def site_notebook(nb, name: str, *, student: bool = False) -> tuple[object, dict[str, str]]:
    """Lab ``name``'s executed notebook ``nb`` made into the site's page (changed in place; see the module's
    docstring), and its inspector pages ``{file name: html}``."""
    pages: dict[str, str] = {}
    kept = []
    for cell in nb.cells:
        tags = _tags(cell)
        if "solution" in tags:
            if student:
                continue
            if cell.cell_type == "markdown":
                cell.source = _solution_directive(cell.source)
            else:
                first = (cell.source.splitlines() or ["# Solution"])[0].lstrip("# ").strip() or "Solution"
                _fold(cell, "hide-cell", f"{first} (code and output)")
        elif "answer" in tags and cell.cell_type == "code":
            if student:
                cell.source = _SOLUTION_REGION.sub("", cell.source).rstrip() + "\n# your answer above\n"
                _clear(cell)
            else:
                _fold(cell, "hide-input", "The answer cell, with its solution")
        elif "check" in tags and cell.cell_type == "code":
            if student:
                cell.source = _HIDDEN_TESTS.sub("", cell.source).rstrip() + "\n"
                _clear(cell)
            else:
                _fold(cell, "hide-cell", "The check, with its hidden tests and output (they give the answer)")
        for output in cell.get("outputs", []) if cell.cell_type == "code" else []:
            if output.get("output_type") not in ("display_data", "execute_result"):
                continue
            page_name = f"{name}.html" if not pages else f"{name}-{len(pages) + 1}.html"
            page = _inspector_output(output, page_name)
            if page is not None:
                pages[page_name] = page
            else:
                _live_output(output, name)
        kept.append(cell)
    nb.cells = kept
    return nb, pages


# --------------------------------------------------------------------------- #
# The site's sources
# --------------------------------------------------------------------------- #

#: The site's own stylesheet: the two sidebars narrower and the article column wider than the theme's, so
#: lab 1's aligned gate equations fit a 1400 px window without a scroll bar (they did not).
CSS = """\
.bd-page-width { max-width: 100rem; }
.bd-main .bd-content .bd-article-container { max-width: 64rem; }
.bd-sidebar-secondary { width: 14rem; flex-basis: 14rem; }
.bd-sidebar-primary { width: 15rem; flex-basis: 15rem; }
"""

CONF = '''\
# Written by `lstmds book` (lstmds_sim/io/book.py): the Sphinx configuration of the course's site.
project = {title!r}
author = "lstmds-sim"
html_title = {title!r}
extensions = ["myst_nb", "sphinx-mathjax-offline", "lstmds_sim.io.book_sphinx"]
exclude_patterns = ["_build", "_extra", "_site_static", "**.ipynb_checkpoints"]
html_extra_path = ["_extra"]  # the inspector pages, copied as they are
html_static_path = ["_site_static"]
html_css_files = ["lstmds.css"]  # a wider page: the labs' aligned equations and figures fit without scrolling
html_theme = "sphinx_book_theme"
html_theme_options = {{"show_toc_level": 2, "home_page_in_toc": True, "use_download_button": False,
                      "use_fullscreen_button": False}}
html_copy_source = False
html_show_sourcelink = False
html_show_copyright = False
html_last_updated_fmt = None
html_context = {{"default_mode": "light"}}  # else the theme's script logs an error on a first visit
myst_enable_extensions = ["dollarmath", "amsmath"]
myst_heading_anchors = 3
nb_execution_mode = "off"  # the notebooks were executed by lstmds (lab_edition), as `lstmds notebook` does
nb_ipywidgets_js = {{}}  # no widget scripts from a CDN
nb_merge_streams = True
'''


def index_page(labs: list[str], pages: dict[str, list[str]], *, student: bool, theory: bool) -> str:
    """The course's front page (MyST Markdown): what it is, the labs in order, the theory, the inspector pages."""
    from .cli import lab_names

    order = lab_names()
    edition = ("the **student's edition**: the exercises without their solutions" if student else
               "the **teacher's edition**: every exercise with its solution, folded away until opened")
    lines = [
        f"# {TITLE}", "",
        ("An LSTM read as a nonlinear discrete-time dynamical system. Every lab draws its system as a block "
         "diagram (with bdsim), so the LSTM's two feedback loops, the inner one through the cell state and "
         "the outer one through the hidden state, are there to see; it runs the diagram, compares it with an "
         "independent reference and ends with exercises. From one layer to an LSTM model of a pH plant that "
         "is certified input-to-state stable, and a scenario bound on its safety."), "",
        (f"This site is {edition}. It was built by `lstmds book` and needs no network: open it from the disk "
         "or serve the folder."), "",
        "## The labs, in teaching order", "",
    ]
    for name in labs:
        number = order.index(name) + 1
        links = [f"[Lab {number}](labs/{name}.ipynb): {lab_summary(name)}"]
        links += [f'<a href="inspectors/{page}">signal inspector</a>' for page in pages.get(name, [])]
        lines.append(f"{number}. " + " · ".join(links))
    if theory:
        lines += ["", "## The theory", "",
                  ("[The theory the labs rely on](theory.md): the gate equations and the two loops, the state-space "
                   "form, why computed weights imitate a linear system, the ISS conditions as loop gains, the pH "
                   "plant and what a scenario bound promises.")]
    inspected = [name for name in labs if pages.get(name)]
    if inspected:
        lines += ["", "## The signal inspector pages", "",
                  ("Each page is one lab's run of its diagram: click a wire to plot its signal (Shift+click adds "
                   "another), drag the step slider to see every wire's value, and read each feedback loop's "
                   "Theorem 4 gain. The lab's page shows the same inspector in a frame."), ""]
        for name in inspected:
            lines += [f'* <a href="inspectors/{page}">{html.escape(page[:-5])}</a>' for page in pages[name]]
    toc = (["theory"] if theory else []) + [f"labs/{name}" for name in labs]
    lines += ["", "```{toctree}", ":hidden:", ":maxdepth: 1", "", *toc, "```", ""]
    return "\n".join(lines)


def build_sources(folder: Path, notebooks: dict[str, object], *, student: bool) -> dict[str, list[str]]:
    """Write the Sphinx sources of the site into ``folder``: conf.py, index.md, theory.md, labs/NAME.ipynb
    (made into pages by :func:`site_notebook`) and _extra/inspectors/*.html. Returns each lab's inspector pages."""
    import nbformat

    pages: dict[str, list[str]] = {}
    for name, nb in notebooks.items():
        nb, lab_pages = site_notebook(nb, name, student=student)
        (folder / "labs").mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, folder / "labs" / f"{name}.ipynb")
        (folder / "_extra" / "inspectors").mkdir(parents=True, exist_ok=True)
        for page_name, page in lab_pages.items():
            (folder / "_extra" / "inspectors" / page_name).write_text(page, encoding="utf-8")
        pages[name] = list(lab_pages)
    theory = theory_path()
    if theory is not None:
        shutil.copyfile(theory, folder / "theory.md")
    (folder / "index.md").write_text(index_page(list(notebooks), pages, student=student, theory=theory is not None),
                                     encoding="utf-8")
    (folder / "conf.py").write_text(CONF.format(title=TITLE), encoding="utf-8")
    (folder / "_site_static").mkdir(exist_ok=True)
    (folder / "_site_static" / "lstmds.css").write_text(CSS, encoding="utf-8")
    return pages


def run_sphinx(source: Path, html_dir: Path, doctrees: Path, *, progress=None) -> tuple[float, list[str]]:
    """``sphinx-build -b html`` in a child process, with progress lines; ``(seconds, warnings)``.

    A failed build raises RuntimeError with Sphinx's last error line.
    """
    from ..core.progress import HEARTBEAT_S, Reporter

    start = time.perf_counter()
    command = [sys.executable, "-m", "sphinx", "-b", "html", "-q", "-d", str(doctrees), str(source), str(html_dir)]
    with Reporter(progress, 1, label="sphinx html", unit="build", heartbeat_s=HEARTBEAT_S,
                  announce=True) as reporter:
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        if done.returncode == 0:
            reporter.show(1)
        else:
            reporter.announce = False
    said = [line for line in (done.stderr + done.stdout).splitlines() if line.strip()]
    if done.returncode != 0:
        last = next((line for line in reversed(said) if "Error" in line or "error" in line), said[-1] if said else "")
        raise RuntimeError(f"the Sphinx build failed: {last.strip()}")
    return time.perf_counter() - start, [line for line in said if "WARNING" in line or "ERROR" in line]


def _site_files(html_dir: Path) -> list[Path]:
    """The files of the built site, less Sphinx's build bookkeeping, the MathJax bundles it never loads and
    the theme's source maps (which a browser asks for only while its developer tools are open)."""
    skip = {Path("_static/mathjax") / name for name in UNUSED_MATHJAX} | {Path(".buildinfo"), Path("objects.inv")}
    return sorted(p.relative_to(html_dir) for p in html_dir.rglob("*")
                  if p.is_file() and p.relative_to(html_dir) not in skip and p.suffix != ".map")


def cmd_book(args) -> int:
    from .cli import UsageError

    labs = parse_labs(args.labs)  # an unknown lab: one line, before anything starts
    missing = missing_extra()
    if missing is not None:
        raise UsageError(f"lstmds book needs {missing}, which is not installed: {EXTRA_HINT}")
    from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

    from .exercise import SolutionTextError
    from .notebook import _error_line, lab_edition
    from .outdir import OutputDir

    for name in labs:  # a lab file that does not follow the notebook conventions: one line before any runs
        lab_edition(name, execute=False)
    edition = "student" if args.student else "teacher"
    with OutputDir(args.out, record=RECORD, owner="book") as out:
        print(f"lstmds book: {len(labs)} lab{'s' if len(labs) != 1 else ''}, the {edition}'s edition, into {out.root}")
        if theory_path() is None:
            print("note: docs/theory.md is not installed with the package, so the site has no theory page; "
                  "build it from a checkout of lstmds-sim to include it")
        notebooks, seconds = {}, {}
        for name in labs:
            try:
                notebooks[name], seconds[name] = lab_edition(name, timeout=args.timeout)
            except (CellExecutionError, CellTimeoutError, DeadKernelError) as err:
                print(f"lstmds: error: book: notebook {name}: {_error_line(err, err.nb)}; nothing written "
                      f"(lstmds run {name} shows the traceback with LSTMDS_TRACEBACK=1)", file=sys.stderr)
                return 1
            except SolutionTextError as err:
                print(f"lstmds: error: book: notebook {name}: {err}; nothing written", file=sys.stderr)
                return 1
        with tempfile.TemporaryDirectory(prefix="lstmds-book-") as folder:
            source, built = Path(folder) / "source", Path(folder) / "html"
            source.mkdir()
            pages = build_sources(source, notebooks, student=args.student)
            sphinx_s, warnings = run_sphinx(source, built, Path(folder) / "doctrees")
            files = _site_files(built)
            size = sum((built / rel).stat().st_size for rel in files)
            for rel in files:
                shutil.copyfile(built / rel, out.path(rel.as_posix()))
        for line in warnings[:5]:
            print(f"sphinx: {line.replace(str(source) + '/', '')}")
        quick = importlib.import_module("lstmds_sim.diagrams").quick()  # looked up by name, as the CLI finds labs
        out.write_results({
            "edition": edition, "labs": labs, "quick": quick,
            "notebook_s": seconds, "sphinx_s": sphinx_s, "sphinx_warnings": len(warnings),
            "inspector_pages": {name: [f"inspectors/{p}" for p in found] for name, found in pages.items()},
            "site_files": len(files), "site_bytes": size,
        })
    print(f"the course site is {out.root / 'index.html'} ({len(files)} files, {size / 1e6:.1f} MB): "
          "open it in a browser, no network needed")
    return 0
