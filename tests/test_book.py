"""``lstmds book``: the course as a static site that works offline (lstmds_sim/io/book.py).

Fast: the command's mistakes are one line and exit status 2 (an unknown lab, an empty ``--labs``,
``--out`` a file, the ``course`` extra missing); a lab's notebook becomes the site's page as it
should (solutions folded in the teacher's edition, left out of the student's, the inline inspector
written once as its own page, the live frame replaced); the offline check finds a page that would
load from another host.

Slow (CI): the site of all eight labs, built with ``LSTMDS_QUICK=1``, opened in headless Chromium
with the network off and crawled from ``index.html``: every lab page, the theory page and every
inspector page is reachable; no page shows raw LaTeX and every piece of math was typeset by MathJax;
every image loads; nothing is asked of the network; no console error. And the student's edition of
lab 1 holds none of the teacher's solution text.
"""

import html
import json
import re
import time
from pathlib import Path
from urllib.parse import unquote, urldefrag, urlparse

import pytest

from lstmds_sim.io import cli

nbformat = pytest.importorskip("nbformat")

LABS = ("lstm_layer", "lstm_stack", "lstm_vs_linear", "training_basin", "training_random",
        "ph_plant", "ph_identification", "scenario_safety")


# --------------------------------------------------------------------------- the command's mistakes

def _one_line_error(capsys, argv) -> str:
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("lstmds: error: "), err
    return err


def test_an_unknown_lab_is_one_line_naming_it(tmp_path, capsys):
    err = _one_line_error(capsys, ["book", "--labs", "lstm_layer,no_such_lab", "--out", str(tmp_path / "site")])
    assert "'no_such_lab'" in err and "lstm_layer" in err and "--labs" in err
    assert not (tmp_path / "site").exists()  # refused before the folder is touched


def test_an_empty_lab_list_is_one_line(tmp_path, capsys):
    err = _one_line_error(capsys, ["book", "--labs", " , ", "--out", str(tmp_path / "site")])
    assert "--labs is empty" in err


def test_out_a_file_is_one_line(tmp_path, capsys, monkeypatch):
    from lstmds_sim.io import notebook

    monkeypatch.setattr(notebook, "lab_edition",  # the lab file may be read, not run
                        lambda name, execute=True, **k: pytest.fail("nothing may run") if execute else (None, None))
    blocker = tmp_path / "site"
    blocker.write_text("a file, not a folder")
    err = _one_line_error(capsys, ["book", "--labs", "lstm_layer", "--out", str(blocker)])
    assert f"--out {blocker} is a file" in err
    assert blocker.read_text() == "a file, not a folder"


def test_the_missing_course_extra_is_one_line_with_its_install_command(tmp_path, capsys, monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "myst_nb" else real(name, *a))
    err = _one_line_error(capsys, ["book", "--out", str(tmp_path / "site")])
    assert "myst_nb" in err and "pip install 'lstmds-sim[course]'" in err
    assert not (tmp_path / "site").exists()


# --------------------------------------------------------------------------- a lab's notebook as a page

def _lab_like_notebook():
    """A notebook with the cells of a lab's exercise (lstm_layer's conventions) and the two inline frames."""
    from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

    inspector_page = '<html><body><p class="x">the "inspector" & its data</p></body></html>'
    return new_notebook(cells=[
        new_markdown_cell("# Lab 9: a test\n\nText with $x^2$."),
        new_code_cell("inspect(diagram)", outputs=[new_output(
            "execute_result", data={"text/html": f'<iframe srcdoc="{html.escape(inspector_page, quote=True)}" '
                                                 'style="width:100%" sandbox="allow-scripts" '
                                                 'title="lstmds signal inspector"></iframe>', "text/plain": "<I>"},
            execution_count=1)]),
        new_code_cell("live(diagram)", outputs=[new_output(
            "execute_result", data={"text/html": '<iframe src="http://localhost:8123/" '
                                                 'title="lstmds live parameters"></iframe>', "text/plain": "<L>"},
            execution_count=2)]),
        new_code_cell("# The answer:\nANSWER_1 = None\n### BEGIN SOLUTION\nANSWER_1 = 42 * 17\n### END SOLUTION\n",
                      metadata={"tags": ["answer"]}),
        new_code_cell('check_answer("ANSWER_1", ANSWER_1, expected)', metadata={"tags": ["check"]},
                      outputs=[new_output("stream", name="stdout", text="ANSWER_1 = 714: right\n")]),
        new_code_cell("# Solution 1: the runs\nprint(714)", metadata={"tags": ["solution"]},
                      outputs=[new_output("stream", name="stdout", text="714\n")]),
        new_markdown_cell("**Solution 1.**\n\nThe answer is $42 \\cdot 17 = 714$, with ``` in it.",
                          metadata={"tags": ["solution"]}),
    ])


def test_the_teachers_page_folds_every_solution_and_keeps_the_inspector_once():
    from lstmds_sim.io.book import site_notebook

    nb, pages = site_notebook(_lab_like_notebook(), "lab9")
    assert pages == {"lab9.html": '<html><body><p class="x">the "inspector" & its data</p></body></html>'}
    frame = nb.cells[1].outputs[0]["data"]["text/html"]
    assert '<iframe src="../inspectors/lab9.html"' in frame and "srcdoc" not in frame and 'sandbox="allow-scripts"' in frame
    assert 'href="../inspectors/lab9.html"' in frame  # the page is reachable from the lab's page
    live = nb.cells[2].outputs[0]["data"]
    assert "localhost" not in json.dumps(live) and "lstmds live lab9" in live["text/plain"]
    answer, check, code, text = nb.cells[3:]
    assert "hide-input" in answer.metadata["tags"] and "ANSWER_1 = 42 * 17" in answer.source  # folded, kept
    assert "hide-cell" in check.metadata["tags"] and check.outputs
    assert "hide-cell" in code.metadata["tags"] and code.metadata["mystnb"]["code_prompt_show"].startswith("Solution 1")
    fence = text.source.splitlines()[0]
    assert fence == "````{solution} Solution 1" and text.source.endswith("\n````")  # longer than the ``` inside
    assert "$42 \\cdot 17 = 714$" in text.source and "**Solution 1.**" not in text.source


def test_the_students_page_has_no_solution_at_all():
    from lstmds_sim.io.book import site_notebook

    nb, pages = site_notebook(_lab_like_notebook(), "lab9", student=True)
    assert len(nb.cells) == 5 and list(pages) == ["lab9.html"]
    text = nbformat.writes(nb)
    for secret in ("42 * 17", "714", "Solution 1", "BEGIN SOLUTION"):
        assert secret not in text, secret
    answer = nb.cells[3]
    assert "ANSWER_1 = None" in answer.source and answer.outputs == []


def test_the_offline_check_finds_what_a_page_would_load_from_another_host():
    pytest.importorskip("sphinx")
    from lstmds_sim.io.book_sphinx import network_references

    page = ('<script src="https://cdn.example.org/mathjax.js"></script><link rel="stylesheet" '
            'href="//fonts.example.com/a.css"><img src="../_images/a.png"><a href="https://example.org/">a link</a>'
            '<style>@font-face { src: url("https://fonts.example.com/x.woff2") } .a { background: url(data:x) }</style>'
            '<script src="../_static/mathjax/tex-chtml.js"></script>')
    assert network_references(page) == ["https://cdn.example.org/mathjax.js", "//fonts.example.com/a.css",
                                         "https://fonts.example.com/x.woff2"]


# --------------------------------------------------------------------------- the site, in a browser

from browser import chromium  # tests/browser.py

#: Raw LaTeX a reader must never see: display delimiters, environments, common commands, inline $...$.
RAW_LATEX = re.compile(r"\$\$|\\begin\{|\\end\{|\\\(|\\\[|\\(?:frac|sigma|odot|tanh|mathbb|left|right|sum|le|ge|cdot)\b"
                       r"|(?<![\w$])\$[^$\s][^$\n]{0,200}?\$(?![\w$])")

_VISIBLE_TEXT = """
const copy = document.body.cloneNode(true);
copy.querySelectorAll('pre, code, script, style, mjx-container, textarea, .highlight, iframe').forEach(e => e.remove());
return copy.textContent;
"""

_MATH = """
const math = [...document.querySelectorAll('span.math, div.math')];
return [math.length, math.filter(e => !e.querySelector('mjx-container')).map(e => e.textContent.slice(0, 60))];
"""

_IMAGES = "return [...document.images].map(i => [i.getAttribute('src'), i.complete && i.naturalWidth > 0]);"

_LOADED = """
const urls = performance.getEntriesByType('resource').map(e => e.name);
document.querySelectorAll('[src], link[href]').forEach(e => urls.push(e.src || e.href));
return urls;
"""


def test_the_raw_latex_check_sees_the_theorys_latex_and_passes_plain_text():
    from lstmds_sim.io.book import theory_path

    if theory_path() is None:
        pytest.skip("docs/theory.md is not installed with the package")
    theory = theory_path().read_text()
    assert len(RAW_LATEX.findall(theory)) > 100  # what a page would show if MathJax did not run
    for untypeset in ("Sphinx's inline math as it reaches the browser: \\(x_1\\)", "\\[ y = 1 \\]", "$h(k)$"):
        assert RAW_LATEX.search(untypeset) is not None, untypeset
    assert RAW_LATEX.findall("The forget gate f lies in (0, 1); costs 5 $ or 6 $ are not math.") == []


def _browser(tmp_path):
    return chromium(tmp_path, "1400,1000", offline=True)


def _wait_for_mathjax(driver) -> None:
    driver.set_script_timeout(60)
    driver.execute_async_script("""
        const done = arguments[arguments.length - 1];
        const wait = () => (window.MathJax && MathJax.startup && MathJax.startup.promise)
            ? MathJax.startup.promise.then(() => done(true), () => done(false))
            : (document.querySelector('span.math, div.math') ? setTimeout(wait, 100) : done(true));
        wait();""")


def crawl(driver, site: Path) -> dict[str, dict]:
    """Open every page of ``site`` reachable from index.html by its links; what each page showed."""
    root = site.resolve().as_uri() + "/"
    todo, seen, report = [root + "index.html"], set(), {}
    while todo:
        url = todo.pop(0)
        if url in seen:
            continue
        seen.add(url)
        driver.get(url)
        _wait_for_mathjax(driver)
        time.sleep(0.3)  # the inspector frame's own scripts
        page = url[len(root):]
        missing_math = driver.execute_script(_MATH)
        report[page] = {
            "text": driver.execute_script(_VISIBLE_TEXT),
            "math": missing_math[0], "untypeset": missing_math[1],
            "mjx": driver.execute_script("return document.querySelectorAll('mjx-container').length"),
            "images": driver.execute_script(_IMAGES),
            "loaded": driver.execute_script(_LOADED),
            "severe": [e for e in driver.get_log("browser") if e["level"] == "SEVERE"],
            "links": driver.execute_script("return [...document.querySelectorAll('a[href]')].map(a => a.href)"),
        }
        for link in report[page]["links"]:
            target = urldefrag(link)[0]
            if (target.startswith(root) and target.endswith(".html") and target not in seen
                    and not target[len(root):].startswith(("genindex", "search", "_"))):
                todo.append(target)
    return report


def check_site(report: dict[str, dict], site: Path) -> None:
    """Every page: no raw LaTeX, all math typeset, every image loaded, only files of the site, no console error."""
    for page, seen in report.items():
        raw = RAW_LATEX.findall(seen["text"])
        assert not raw, f"{page}: raw LaTeX on the page: {raw[:5]}"
        assert seen["untypeset"] == [], f"{page}: math MathJax did not typeset: {seen['untypeset'][:3]}"
        assert seen["mjx"] >= seen["math"]
        broken = [src for src, ok in seen["images"] if not ok]
        assert not broken, f"{page}: images that did not load: {broken}"
        for url in seen["loaded"]:
            parsed = urlparse(url)
            assert parsed.scheme in ("file", "data", "blob", "about") or url.startswith("javascript:"), \
                f"{page} asked for {url}"
            if parsed.scheme == "file":
                assert Path(unquote(parsed.path)).resolve().is_relative_to(site.resolve()), f"{page} loaded {url}"
        assert seen["severe"] == [], f"{page}: console errors: {seen['severe'][:3]}"


def _build(tmp_path, monkeypatch, capsys, *extra) -> tuple[Path, float, str]:
    monkeypatch.setenv("LSTMDS_QUICK", "1")
    site = tmp_path / "site"
    start = time.perf_counter()
    assert cli.main(["book", "--out", str(site), *extra]) == 0
    took = time.perf_counter() - start
    printed = capsys.readouterr().out
    return site, took, printed


@pytest.mark.slow
def test_the_site_of_all_eight_labs_works_offline_in_chromium(tmp_path, monkeypatch, capsys):
    site, took, printed = _build(tmp_path, monkeypatch, capsys)
    lines = printed.strip().splitlines()
    assert lines[-1].startswith(f"the course site is {site / 'index.html'} (")  # the last line says where it is
    record = json.loads((site / "book.json").read_text())
    assert record["edition"] == "teacher" and record["labs"] == list(LABS) and record["quick"]
    size = sum(p.stat().st_size for p in site.rglob("*") if p.is_file())
    print(f"\nbuilt the site of 8 labs (LSTMDS_QUICK=1) in {took:.0f} s: {record['site_files']} files, "
          f"{size / 1e6:.1f} MB")
    driver = _browser(tmp_path)
    try:
        report = crawl(driver, site)
    finally:
        driver.quit()
    expected = {"index.html", "theory.html", *(f"labs/{name}.html" for name in LABS),
                *(f"inspectors/{name}.html" for name in LABS)}
    assert expected <= set(report), f"not reachable from index.html: {sorted(expected - set(report))}"
    index_links = {urldefrag(link)[0] for link in report["index.html"]["links"]}
    for name in LABS:  # each lab, its inspector page from the index and from the lab's page
        assert any(link.endswith(f"/labs/{name}.html") for link in index_links), name
        assert any(link.endswith(f"/inspectors/{name}.html") for link in index_links), name
        assert any(urldefrag(link)[0].endswith(f"/inspectors/{name}.html") for link in report[f"labs/{name}.html"]["links"])
        assert "Exercises" in report[f"labs/{name}.html"]["text"]
        assert report[f"labs/{name}.html"]["images"], f"lab {name}: no figure"
    assert report["theory.html"]["math"] > 100 and report["labs/lstm_layer.html"]["math"] > 10  # math is there
    check_site(report, site)
    folded = (site / "labs" / "lstm_layer.html").read_text()
    assert folded.count('class="cell docutils container lstmds-solution"') >= 2  # solution texts, folded
    assert "<details" in folded and "Solution 1" in folded


@pytest.mark.slow
def test_the_students_site_holds_no_solution_text(tmp_path, monkeypatch, capsys):
    from lstmds_sim.io.notebook import lab_notebook

    site, _, printed = _build(tmp_path, monkeypatch, capsys, "--student", "--labs", "lstm_layer")
    assert "student's edition" in printed
    page = (site / "labs" / "lstm_layer.html").read_text()
    text = html.unescape(re.sub(r"<[^>]+>", "", page))
    teacher = lab_notebook("lstm_layer")
    secrets = []
    for cell in teacher.cells:
        tags = cell.metadata.get("tags", [])
        if "solution" in tags:
            secrets += [line.strip() for line in cell.source.splitlines()[1:] if len(line.strip()) > 30]
        if "answer" in tags:
            region = re.search(r"### BEGIN SOLUTION\n(.*?)### END SOLUTION", cell.source, re.DOTALL).group(1)
            secrets += [line.strip() for line in region.splitlines() if line.strip()]
    assert len(secrets) >= 5
    for secret in secrets:  # a sentence's first words, with its {{numbers}} cut off
        words = re.split(r"\{\{|\$", secret)[0].strip()[:40]
        if len(words) >= 12:
            assert words not in text, f"the student's site shows: {words!r}"
    assert "BEGIN SOLUTION" not in text and "Solution 1" not in text
    assert "{{" not in text and "the forget gate moves between about 0." in text  # the text's numbers, from the run
    driver = _browser(tmp_path)
    try:
        report = crawl(driver, site)
    finally:
        driver.quit()
    assert {"index.html", "labs/lstm_layer.html", "inspectors/lstm_layer.html"} <= set(report)
    check_site(report, site)
