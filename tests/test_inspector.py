"""The signal inspector (lstmds_sim.drawing.inspector, `lstmds inspect`): the page, its data, and a real browser.

The fast tests read the HTML as text: it must be self-contained (no remote script or style), every wire must
carry data-signal with its signal's name, and the arrays embedded in it must equal the run's arrays; the loop
gains must be what iss_check says for the lab's own weights. The slow test opens the page in headless
Chromium (selenium), clicks wires, moves the slider and reads what Bokeh plots back from the page.
"""

from __future__ import annotations

import base64
import json
import re
import subprocess
import sys
import time
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest

from lstmds_sim import run
from lstmds_sim.core.diagram import lstm_diagram
from lstmds_sim.core.params import LSTMParams
from lstmds_sim.drawing.inspector import inspect
from lstmds_sim.io import cli
from lstmds_sim.safety.iss import iss_check, iss_check_layers

LSTM_WIRES = ("c", "h", "f", "i", "g", "o", "z_f")


# --------------------------------------------------------------------------- helpers


class _Tags(HTMLParser):
    """Every start tag of a page with its attributes, and the text of the data script."""

    def __init__(self):
        super().__init__()
        self.tags: list[tuple[str, dict]] = []
        self._in_data = False
        self.data_text = ""

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.tags.append((tag, attrs))
        self._in_data = tag == "script" and attrs.get("id") == "lstmds-data"

    def handle_startendtag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_endtag(self, tag):
        self._in_data = False

    def handle_data(self, data):
        if self._in_data:
            self.data_text += data


def parse(page: str) -> _Tags:
    tags = _Tags()
    tags.feed(page)
    return tags


def page_data(page: str) -> dict:
    return json.loads(parse(page).data_text)


def decoded(record: dict, key: str = "data") -> np.ndarray:
    """A port's stored array as (sequences, steps, components)."""
    flat = np.frombuffer(base64.b64decode(record[key]), dtype="<f8")
    return flat.reshape(record["nb"], record["nk"], record["n"])


def as_bt(values) -> np.ndarray:
    """A recorded signal as (sequences, steps, components), as the page stores it."""
    arr = np.asarray(values, dtype=float)
    return arr[None, :, None] if arr.ndim == 1 else (arr[None] if arr.ndim == 2 else arr)


def wires(page: str, view: str | None = None) -> list[dict]:
    """Attributes of the elements carrying data-signal (of one view, if given)."""
    out, current = [], None
    for tag, attrs in parse(page).tags:
        if tag == "svg" and "data-view" in attrs:
            current = attrs["data-view"]
        if "data-signal" in attrs and (view is None or current == view):
            out.append(attrs)
    return out


@pytest.fixture(scope="module")
def layer_run():
    from lstmds_sim.diagrams import lstm_layer

    bd = lstm_layer.build_diagram()
    result = run(bd, probes=["*"])
    return bd, result, inspect(bd, result)


@pytest.fixture(scope="module")
def stack_run():
    from lstmds_sim.diagrams import lstm_stack

    bd = lstm_stack.build_diagram()
    result = run(bd, probes=["*"])
    return bd, result, inspect(bd, result)


def small_layers(rng, steps: int, batch: int | None = None):
    first = LSTMParams.random(2, 3, rng=rng, low=-1, high=1)
    second = LSTMParams.random(3, 2, 1, rng=rng, low=-1, high=1)
    shape = (steps, 2) if batch is None else (batch, steps, 2)
    u = rng.standard_normal(shape)
    bd, _ = lstm_diagram([first, second], u, Ts=0.5, subsystems=True, name="two_layers")
    return [first, second], bd, run(bd, probes=["*"])


# --------------------------------------------------------------------------- the page as text


def test_page_is_self_contained(layer_run):
    """No script, style, image or frame comes from outside the file: it works offline."""
    page = layer_run[2].html
    for tag, attrs in parse(page).tags:
        for key in ("src", "href", "data"):
            value = (attrs.get(key) or "").strip().lower()
            assert not value.startswith(("http:", "https:", "//", "ftp:")), f"<{tag} {key}={value!r}> is remote"
        if tag == "link":
            assert attrs.get("href", "").startswith("data:"), f"<link> to a file: {attrs}"
        if tag == "script":
            assert "src" not in attrs, f"<script src=...> loads a file: {attrs}"
    assert not re.search(r"@import\s+url\(\s*['\"]?https?:", page, re.IGNORECASE)
    assert "Bokeh" in page and len(page) > 500_000  # BokehJS itself is inline


def test_every_wire_carries_its_signal_name(layer_run):
    bd, _result, page = layer_run
    found = wires(page.html)
    names = {w["data-signal"] for w in found}
    assert set(LSTM_WIRES) <= names
    # the independent reference: the names the diagram's wires were given when it was drawn
    assert names == {w.name for w in bd.wirelist if w.name}
    assert all(w.get("class", "").split()[0] == "wire" for w in found)  # only wires carry data-signal
    assert len(found) == len(bd.wirelist)  # one element per wire: every wire is addressable
    # c feeds the cell-state delay (the inner loop, loop 0) and tanh c (on the outer loop, loop 1)
    c_loops = sorted(w.get("data-loops") for w in found if w["data-signal"] == "c")
    assert c_loops == ["0", "1"]
    blocks = {attrs["data-block"]: attrs for _, attrs in parse(page.html).tags if "data-block" in attrs}
    assert {b.name for b in bd.blocklist} == set(blocks)
    assert blocks["sum c"]["data-shows"] == "c" and blocks["sigmoid f"]["data-shows"] == "f"


def test_embedded_data_equals_the_run(layer_run):
    _bd, result, page = layer_run
    data = page_data(page.html)
    assert data["stride"] == 1 and data["steps"] == len(result.t) and data["batch"] is None
    t = np.frombuffer(base64.b64decode(data["t"]), dtype="<f8")
    assert np.array_equal(t, result.t)
    checked = 0
    for name, pid in data["signals"].items():
        if name not in result.signals:
            continue
        record = data["ports"][pid]
        stored = decoded(record)
        expected = as_bt(result.signals[name])
        if record["const"]:  # a constant stores one step
            assert np.array_equal(np.broadcast_to(stored, expected.shape), expected), name
        else:
            assert np.array_equal(stored, expected), name
        checked += 1
    assert checked == len(result.signals)  # every probed signal is in the page
    assert data["default_signal"] == "c"


def test_loops_carry_theorem4_of_the_lab_weights(layer_run):
    from lstmds_sim.diagrams import lstm_layer

    params = lstm_layer.example(0)[0]
    report = iss_check(params)
    loops = {loop["delay"]: loop for loop in layer_run[2].loops}
    inner, outer = loops["cell state"]["iss"], loops["hidden state"]["iss"]
    assert inner["which"] == "inner" and outer["which"] == "outer"
    assert inner["value"] == pytest.approx((1 + report.sigma_o) * report.sigma_f, rel=1e-12)
    assert outer["value"] == pytest.approx((1 + report.sigma_o) * report.sigma_i * report.uc_norm_1, rel=1e-12)
    assert inner["margin"] == pytest.approx(1 - inner["value"]) and inner["holds"] is (inner["value"] < 1)
    assert not inner["holds"] and not outer["holds"]  # uniform(0, 1) weights: Theorem 4 fails on both loops
    html = layer_run[2].html
    assert f"(1+σo)σf = {inner['value']:.4g} ≥ 1 ✗" in html  # the tag on the inner loop's lane
    assert f"margin 1 − {outer['value']:.4g} = {outer['margin']:.4g}" in html


def test_a_contractive_layer_is_shown_as_holding(rng):
    params = LSTMParams.random(2, 3, rng=rng, low=-0.05, high=0.05)  # gate bounds near 1/2: contractive
    report = iss_check(params)
    assert report.satisfied  # the case this test is about
    bd, _ = lstm_diagram(params, rng.standard_normal((20, 2)), Ts=1.0, name="calm")
    page = inspect(bd, run(bd, probes=["*"]))
    iss = {loop["iss"]["which"]: loop["iss"] for loop in page.loops}
    assert iss["inner"]["holds"] and iss["outer"]["holds"]
    assert iss["inner"]["margin"] == pytest.approx(report.margins[0], rel=1e-12)
    assert iss["outer"]["margin"] == pytest.approx(report.margins[1], rel=1e-12)
    assert "&lt; 1 ✓" in page.html  # the tags on both loops


def test_stacked_layers_collapse_and_keep_their_gains(stack_run):
    from lstmds_sim.diagrams import lstm_stack

    _bd, result, page = stack_run
    data = page_data(page.html)
    assert data["groups"] == ["lstm1", "lstm2"]
    assert set(data["views"]) == {"open:lstm1,lstm2", "open:lstm1", "open:lstm2", "open:"}
    assert data["default_view"] == "open:lstm1,lstm2"
    all_open = {w["data-signal"] for w in wires(page.html, "open:lstm1,lstm2")}
    for layer in ("lstm1", "lstm2"):
        assert {f"{layer}/{name}" for name in LSTM_WIRES} <= all_open
    assert all_open <= set(result.signals)  # every wire names a signal the run kept
    # with lstm1 collapsed, its wires are gone but lstm2's stay, and the collapsed box shows lstm1's gains
    half = {w["data-signal"] for w in wires(page.html, "open:lstm2")}
    assert "lstm2/c" in half and not any(name.startswith("lstm1/") and name != "lstm1/u" for name in half)
    reports = iss_check_layers(lstm_stack.example(0)[0]).reports
    gains = {(loop["iss"]["layer"], loop["iss"]["which"]): loop["iss"]["value"] for loop in page.loops}
    for layer, report in zip(("lstm1", "lstm2"), reports):
        assert gains[(layer, "inner")] == pytest.approx(report.lhs[0], rel=1e-12)
        assert gains[(layer, "outer")] == pytest.approx(report.lhs[1], rel=1e-12)
    closed = page.html.split('data-view="open:"')[1].split("</svg>")[0]
    assert 'data-subsystem="lstm1"' in closed and 'data-subsystem="lstm2"' in closed
    assert f"inner {gains[('lstm1', 'inner')]:.4g} ✗" in closed and f"outer {gains[('lstm2', 'outer')]:.4g} ✗" in closed


def test_a_long_run_is_decimated_and_says_so(rng):
    _, bd, result = small_layers(rng, 200)
    page = inspect(bd, result, max_values=10_000)
    data = page_data(page.html)
    s = data["stride"]
    assert s > 1 and data["k"] == list(range(0, 200, s))
    assert f"shown every {s} steps" in page.html
    stored = 0
    for name in ("lstm1/c", "lstm2/h", "y"):
        record = data["ports"][data["signals"][name]]
        full = as_bt(result.signals[name])
        assert np.array_equal(decoded(record), full[:, ::s, :])
        for i, k in enumerate(range(0, 200, s)):  # the band: min and max over the steps a sample stands for
            assert np.array_equal(decoded(record, "lo")[:, i], full[:, k:k + s].min(axis=1))
            assert np.array_equal(decoded(record, "hi")[:, i], full[:, k:k + s].max(axis=1))
    for record in data["ports"]:
        if record["data"] and not record["const"]:
            stored += 3 * record["nb"] * record["nk"] * record["n"]
    assert stored <= 10_000


def test_a_batched_run_keeps_its_first_sequences(rng):
    _, bd, result = small_layers(rng, 30, batch=5)
    page = inspect(bd, result, max_sequences=3)
    data = page_data(page.html)
    assert data["batch"] == 5 and data["sequences"] == [0, 1, 2]
    assert "the first 3 of its 5 sequences" in page.html
    assert page.html.count("<option value=") == 3
    record = data["ports"][data["signals"]["lstm2/c"]]
    assert not record["shared"]
    assert np.array_equal(decoded(record), result.signals["lstm2/c"][:3])


def test_embedded_json_cannot_end_its_script():
    from lstmds_sim.drawing.inspector import _json_for_script

    text = _json_for_script({"name": "</script><!-- x"})
    assert "<" not in text and json.loads(text) == {"name": "</script><!-- x"}


@pytest.fixture(scope="module")
def ph_placeholder():
    from lstmds_sim.diagrams import ph_identification

    bd = ph_identification.build_diagram()  # no model: the untrained stand-in the lab draws its picture with
    return bd, inspect(bd)


def test_a_slash_in_a_block_name_is_no_subsystem(ph_placeholder):
    """The wire into the top-level block `1/u_scale` carries `q3 - mean`, not `1/q3 - mean`."""
    _bd, page = ph_placeholder
    into = [w["data-signal"] for w in wires(page.html) if w.get("data-edge") is not None]
    names = {w["data-signal"] for w in wires(page.html)}
    assert "q3 - mean" in names and not any(n.startswith("1/") for n in names)
    assert "q3 - mean" in into
    data = page_data(page.html)
    assert "1" not in data["groups"] and set(data["groups"]) == {"ph_tank", "lstm"}


def test_a_placeholder_network_says_so(ph_placeholder, tmp_path):
    """The untrained stand-in of ph_identification's build_diagram() is never shown as the lab's network."""
    from lstmds_sim.diagrams import ph_identification
    from lstmds_sim.learning.model import IdentifiedModel

    _bd, page = ph_placeholder
    assert "Not the lab\u2019s network." in page.html and "untrained stand-in" in page.html
    assert page.summary["placeholder"]
    tags = [loop["iss"] for loop in page.loops if loop["iss"]]
    assert len(tags) == 2 and all(t["placeholder"] and t["short"].endswith("(untrained)") for t in tags)
    assert "of the placeholder's untrained weights, not the lab's" in tags[0]["text"]
    # a trained model's diagram carries no such note
    model = IdentifiedModel(LSTMParams.random(1, 5, 1, rng=0, low=-0.3, high=0.3), 15.0, 2.0, 7.0, 2.0, 10.0)
    trained = inspect(ph_identification.build_diagram(model, np.full(12, 15.0)))
    assert "Not the lab\u2019s network" not in trained.html and not trained.summary["placeholder"]
    assert all(not loop["iss"]["placeholder"] for loop in trained.loops if loop["iss"])


def test_a_comparison_opens_with_both_signals_overlaid(ph_placeholder):
    """Two recorders (a plant and its model): both signals are plotted when the page opens."""
    from lstmds_sim.diagrams import lstm_vs_linear

    data = page_data(ph_placeholder[1].html)
    assert data["default_signals"] == ["pH", "pH_hat"]
    linear = inspect(lstm_vs_linear.build_diagram())
    assert page_data(linear.html)["default_signals"] == ["y_true", "y_net"]


def test_select_chooses_the_first_plot(layer_run):
    bd, result, _ = layer_run
    page = inspect(bd, result, select=["c", "h"])
    data = page_data(page.html)
    assert data["default_signals"] == ["c", "h"] and data["default_signal"] == "c"
    with pytest.raises(ValueError, match="select names signals the run did not keep"):
        inspect(bd, result, select="nope")


def test_a_collapsed_subsystem_lists_its_loops_in_its_box(stack_run, ph_placeholder):
    """A collapsed box names its loops inside itself, in their colours (no text spilling out of it)."""
    closed = stack_run[2].html.split('data-view="open:"')[1].split("</svg>")[0]
    boxes = re.findall(r'<g class="block collapsed"(.*?)</g>', closed)
    assert len(boxes) == 2
    for box in boxes:
        assert '<text class="gains"' in box and box.count('class="dot" data-loop=') == 2
    chips = re.findall(r'<rect class="loop-chip" data-loop="(\d+)"', closed)
    assert sorted(chips) == ["0", "1", "2", "3"]  # a tab per loop, on its layer's box
    _bd, page = ph_placeholder
    data = page_data(page.html)
    tank_closed = next(svg for svg in page.html.split('<svg class="view"')[1:]
                       if 'data-view="open:lstm"' in svg.split(">")[0])
    tank = re.search(r'<g class="block collapsed"[^>]*data-block="ph_tank"(.*?)</g>', tank_closed).group(1)
    assert sorted(re.findall(r'<tspan class="none">([^<]*)</tspan>', tank)) == ["Wa4", "Wb4", "h"]  # the tank's loops
    assert data["default_view"] == "open:lstm"


def test_inline_in_jupyter_is_the_page_in_a_frame(layer_run):
    import html

    page = layer_run[2]
    frame = page._repr_html_()
    srcdoc = re.fullmatch(r'<iframe srcdoc="([^"]*)"(.*)></iframe>', frame, re.DOTALL)
    assert srcdoc and html.unescape(srcdoc.group(1)) == page.html
    assert 'sandbox="allow-scripts' in srcdoc.group(2)


def test_bad_input_is_one_clear_error(layer_run):
    bd, result, _ = layer_run
    with pytest.raises(TypeError, match="bdsim BlockDiagram"):
        inspect(object())
    with pytest.raises(ValueError, match="max_values must be a positive whole number"):
        inspect(bd, result, max_values=0)
    with pytest.raises(ValueError, match="probes=\\['\\*'\\]"):
        inspect(bd, run(bd))  # a run that kept no signal


def test_missing_bokeh_names_the_extra(layer_run, monkeypatch, capsys, tmp_path):
    monkeypatch.setitem(sys.modules, "bokeh", None)  # import bokeh now fails
    with pytest.raises(ModuleNotFoundError, match=r"pip install 'lstmds-sim\[inspect\]'"):
        inspect(*layer_run[:2])
    assert cli.main(["inspect", "lstm_layer", "--out", str(tmp_path / "x")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "pip install 'lstmds-sim[inspect]'" in err


def test_importing_stays_light():
    code = ("import sys, lstmds_sim, lstmds_sim.io.inspector, lstmds_sim.drawing.inspector; "
            "print('bokeh' in sys.modules, callable(lstmds_sim.inspect), 'inspect' in lstmds_sim.__all__)")
    out = subprocess.run([sys.executable, "-c", code], cwd=Path(__file__).resolve().parent.parent,
                         capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "True", "True"]


# --------------------------------------------------------------------------- the command and the output folder


def test_cli_writes_the_page_and_its_record(tmp_path, capsys):
    out = tmp_path / "inspect"
    assert cli.main(["inspect", "lstm_layer", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "inner loop (cell state)" in printed and "does not hold" in printed
    record = json.loads((out / "lstm_layer.inspect.json").read_text())
    assert record["files"] == ["lstm_layer.html"] and record["steps"] == 51
    assert {loop["delay"] for loop in record["loops"]} == {"cell state", "hidden state"}
    page = (out / "lstm_layer.html").read_text()
    assert {w["data-signal"] for w in wires(page)} >= set(LSTM_WIRES)
    # a second lab into the same folder, then the first again: each replaces only its own page
    assert cli.main(["inspect", "lstm_stack", "--out", str(out)]) == 0
    assert cli.main(["inspect", "lstm_layer", "--out", str(out)]) == 0
    assert sorted(p.name for p in out.iterdir() if not p.name.startswith(".")) == [
        "lstm_layer.html", "lstm_layer.inspect.json", "lstm_stack.html", "lstm_stack.inspect.json"]


@pytest.mark.parametrize("argv, message", [
    (["inspect", "no_such_lab"], "no lab named 'no_such_lab'"),
    (["inspect", "lstm_layer", "--steps", "0"], "--steps must be a positive whole number"),
    (["inspect", "lstm_layer", "--max-sequences", "-1"], "--max-sequences must be a positive whole number"),
])
def test_cli_mistakes_are_one_line(argv, message, tmp_path, capsys):
    assert cli.main([*argv, "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and message in err


def test_output_dir_writes_an_inspector_page(layer_run, tmp_path):
    from lstmds_sim.io.outdir import OutputDir

    bd, result, _ = layer_run
    out = OutputDir(tmp_path / "lab", lab="lstm_layer")
    path = out.write_inspector(bd, result, "lstm_layer_inspector")
    assert not path.exists()  # staged until the run is committed
    out.write_results({})
    assert path.exists() and "lstm_layer_inspector.html" in json.loads((path.parent / "results.json").read_text())["files"]
    assert {w["data-signal"] for w in wires(path.read_text())} >= set(LSTM_WIRES)


# --------------------------------------------------------------------------- in a real browser

from browser import chromium  # tests/browser.py


def _browser(tmp_path, size: str = "1600,1000"):
    return chromium(tmp_path, size)


_PLOTTED = """
const doc = Bokeh.documents.find(d => d.get_model_by_name('lstmds_signal'));
const data = doc.get_model_by_name('lstmds_signal').data;
const get = k => Array.from(data instanceof Map ? data.get(k) : data[k]);
const lines = [];
for (let j = 0; j < 10; j++) {
  if (doc.get_model_by_name('lstmds_line' + j).visible) lines.push(get('y' + j));
}
return {t: get('t'), lines: lines, title: doc.get_model_by_name('lstmds_plot').title.text,
        cursor: doc.get_model_by_name('lstmds_cursor').location};
"""

_POINT_ON_WIRE = """
const wire = Array.from(document.querySelectorAll(arguments[0])).find(w => w.getBoundingClientRect().width > 0);
wire.scrollIntoView({block: 'center'});
const path = wire.querySelector('path.hit'), n = path.getTotalLength();
for (const f of [0.5, 0.35, 0.65, 0.2, 0.8]) {  // a point of the wire that nothing covers
  const p = path.getPointAtLength(f * n), m = path.getScreenCTM();
  const x = p.x * m.a + p.y * m.c + m.e, y = p.x * m.b + p.y * m.d + m.f;
  const hit = document.elementFromPoint(x, y);
  if (hit && hit.closest('.wire') === wire) return [x, y];
}
return null;
"""


def _wait(driver, script, timeout=30.0):
    from browser import wait_for  # tests/browser.py

    return wait_for(driver, script, timeout)


def _click_wire(driver, selector):
    """Click the wire where it is drawn (a point of its path that nothing covers), as a user would.

    The click is placed relative to the diagram's <svg>, from WebDriver's in-view centre of it."""
    from selenium.webdriver.common.action_chains import ActionChains

    point = driver.execute_script(_POINT_ON_WIRE, selector)
    assert point, f"no uncovered point on {selector}"
    svg = driver.execute_script("return document.querySelector(arguments[0]).closest('svg')", selector)
    box = driver.execute_script(  # WebDriver's "in-view centre" of the element: of its part inside the viewport
        "const r = arguments[0].getBoundingClientRect();"
        "const l = Math.max(r.left, 0), rt = Math.min(r.right, innerWidth);"
        "const t = Math.max(r.top, 0), b = Math.min(r.bottom, innerHeight);"
        "return [Math.floor((l + rt) / 2), Math.floor((t + b) / 2)]", svg)
    dx, dy = round(point[0] - box[0]), round(point[1] - box[1])
    ActionChains(driver).move_to_element_with_offset(svg, dx, dy).click().perform()


def _click_at(driver, point):
    """A mouse click at a point of the viewport."""
    from selenium.webdriver.common.actions.action_builder import ActionBuilder

    actions = ActionBuilder(driver)
    actions.pointer_action.move_to_location(round(point[0]), round(point[1]))
    actions.pointer_action.click()
    actions.perform()


def _assert_plots(driver, values: np.ndarray, t: np.ndarray):
    """The visible lines are the columns of ``values`` (steps, components) at the times ``t``."""
    plotted = driver.execute_script(_PLOTTED)
    assert np.array_equal(np.array(plotted["t"]), t)
    lines = np.array(plotted["lines"]).T
    assert lines.shape == values.shape, plotted["title"]
    assert np.array_equal(lines, values)
    return plotted


@pytest.mark.slow
def test_in_chromium_click_a_wire_scrub_and_no_console_errors(layer_run, stack_run, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    _bd, result, page = layer_run
    _stack_bd, stack_result, stack_page = stack_run
    driver = _browser(tmp_path)
    try:
        driver.get(page.save(tmp_path / "lstm_layer.html").as_uri())
        _wait(driver, "return window.lstmdsInspector && window.Bokeh && "
                      "Bokeh.documents.some(d => d.get_model_by_name('lstmds_signal'))")
        for name in LSTM_WIRES:  # every one is in the DOM, visible
            assert driver.find_elements(By.CSS_SELECTOR, f'.wire[data-signal="{name}"]'), name

        _click_wire(driver, '.wire[data-signal="f"]')
        assert driver.execute_script("return lstmdsInspector.state().signal") == "f"
        _assert_plots(driver, result["f"], result.t)
        _click_wire(driver, '.wire[data-signal="c"]')
        assert driver.execute_script("return lstmdsInspector.state().signal") == "c"
        plotted = _assert_plots(driver, result["c"], result.t)
        assert plotted["title"].startswith("c over time") and plotted["cursor"] == 0
        assert driver.find_elements(By.CSS_SELECTOR, '.wire.selected[data-signal="c"]')

        slider = driver.find_element(By.ID, "lstmds-slider")
        slider.click()
        slider.send_keys(Keys.HOME)
        for _ in range(12):
            slider.send_keys(Keys.ARROW_RIGHT)
        state = driver.execute_script("return lstmdsInspector.state()")
        assert state["step"] == 12
        assert driver.execute_script(_PLOTTED)["cursor"] == pytest.approx(result.t[12])
        # every badge moved to k = 12, and the value table shows c(12)
        badges = driver.find_elements(By.CSS_SELECTOR, "svg.view .badge")
        assert badges and {b.get_attribute("data-k") for b in badges} == {"12"}
        row = driver.find_element(By.CSS_SELECTOR, '#lstmds-values tr[data-row="c"] td:last-child').text
        shown = [float(v) for v in row.strip("[]").split(",")]
        assert np.allclose(shown, result["c"][12], rtol=1e-3, atol=1e-4)
        row_f = driver.find_element(By.CSS_SELECTOR, '#lstmds-values tr[data-row="z_f"] td:last-child').text
        assert np.allclose([float(v) for v in row_f.strip("[]").split(",")], result["z_f"][12], rtol=1e-3, atol=1e-4)

        # untick the inner loop: its overlays and its Theorem 4 tag disappear
        box = driver.find_element(By.CSS_SELECTOR, 'input[data-loop-toggle="0"]')
        driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", box)  # not under the sticky bar
        box.click()
        hidden = driver.execute_script(
            "return Array.from(document.querySelectorAll('.loop-overlay[data-loop=\"0\"], .loop-tag[data-loop=\"0\"]'))"
            ".map(e => getComputedStyle(e).display)")
        assert hidden and set(hidden) == {"none"}
        driver.save_screenshot(str(tmp_path / "lstm_layer.png"))

        # a click in the middle of the plot moves the step there (and the cursor with it)
        centre = driver.execute_script(
            "const plot = document.querySelector('.plotbox [data-root-id]').firstElementChild;"
            "plot.scrollIntoView({block: 'center'}); const r = plot.getBoundingClientRect();"
            "return [r.left + r.width / 2, r.top + r.height / 2];")
        before = driver.execute_script("return lstmdsInspector.state().step")
        _click_at(driver, centre)
        after = _wait(driver, f"const k = lstmdsInspector.state().step; return k !== {before} && [k]")[0]
        assert 0 < after < 50 and driver.execute_script(_PLOTTED)["cursor"] == pytest.approx(result.t[after])

        # the same page inside a notebook's output (Inspector._repr_html_: a sandboxed frame) works alike
        frame_page = tmp_path / "notebook_output.html"
        frame_page.write_text("<!DOCTYPE html><html><body><p>cell output:</p>" + page._repr_html_() + "</body></html>")
        driver.get(frame_page.as_uri())
        driver.switch_to.frame(driver.find_element(By.TAG_NAME, "iframe"))
        _wait(driver, "return window.lstmdsInspector && window.Bokeh && "
                      "Bokeh.documents.some(d => d.get_model_by_name('lstmds_signal'))")
        driver.find_element(By.CSS_SELECTOR, '.wire-label[data-for="o"]').click()  # the wire's name, on it
        _assert_plots(driver, result["o"], result.t)
        driver.switch_to.default_content()

        # the stack: collapse lstm1, click lstm2's c, compare
        driver.get(stack_page.save(tmp_path / "lstm_stack.html").as_uri())
        _wait(driver, "return window.lstmdsInspector && window.Bokeh && "
                      "Bokeh.documents.some(d => d.get_model_by_name('lstmds_signal'))")
        button = driver.find_element(By.CSS_SELECTOR, '.groups button[data-toggle="lstm1"]')
        driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", button)
        button.click()
        assert driver.execute_script("return lstmdsInspector.state().view") == "open:lstm2"
        _click_wire(driver, 'svg.view[data-view="open:lstm2"] .wire[data-signal="lstm2/c"]')
        _assert_plots(driver, stack_result["lstm2/c"], stack_result.t)

        errors = [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]
        assert errors == []
    finally:
        driver.quit()


@pytest.mark.slow
def test_in_chromium_big_batched_two_layer_run(rng, tmp_path):
    """The 2-layer, 2000-step case (a batch of 4: decimated) is under 20 MB, loads, and plots the chosen sequence."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    from lstmds_sim.diagrams import lstm_stack

    layers = lstm_stack.example(0)[0]
    bd, _ = lstm_diagram(layers, rng.standard_normal((4, 2000, 4)), Ts=0.1, subsystems=True, name="big")
    result = run(bd, probes=["*"])
    page = inspect(bd, result)
    s = page.summary["stride"]
    assert page.summary["bytes"] < 20e6 and page.summary["steps"] == 2000 and s > 1
    driver = _browser(tmp_path)
    try:
        start = time.monotonic()
        driver.get(page.save(tmp_path / "big.html").as_uri())
        _wait(driver, "return window.lstmdsInspector && window.Bokeh && "
                      "Bokeh.documents.some(d => d.get_model_by_name('lstmds_signal') && d.is_idle)")
        print(f"2-layer 2000-step batched page: {page.summary['bytes'] / 1e6:.1f} MB, "
              f"ready in the browser after {time.monotonic() - start:.1f} s")  # measured, not asserted
        Select(driver.find_element(By.ID, "lstmds-sequence")).select_by_value("2")
        _click_wire(driver, 'svg.view[data-view="open:lstm1,lstm2"] .wire[data-signal="lstm2/h"]')
        _assert_plots(driver, result["lstm2/h"][2, ::s], result.t[::s])
        assert "band: min" in driver.execute_script(_PLOTTED)["title"]
        assert [e for e in driver.get_log("browser") if e["level"] == "SEVERE"] == []
    finally:
        driver.quit()


_LAYOUT = """
const view = Array.from(document.querySelectorAll('svg.view')).find(v => v.style.display !== 'none');
const scale = view.getBoundingClientRect().width / view.viewBox.baseVal.width;
const px = sel => Array.from(view.querySelectorAll(sel)).map(t => parseFloat(t.getAttribute('font-size')) * scale);
const box = el => { const r = el.getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom]; };
const vb = document.querySelector('.valuebox'), head = vb.querySelector('thead').offsetHeight;
const rows = Array.from(vb.querySelectorAll('tbody tr')).map(r => r.offsetTop - head);
return {w: innerWidth, h: innerHeight, diagram: box(document.querySelector('.diagram')),
        plot: box(document.querySelector('.plotwrap')), blockText: Math.min(...px('.block text')),
        tagText: Math.min(...px('.loop-tag text').concat([99])), scrollTop: vb.scrollTop, rowTops: rows,
        lines: Bokeh.documents[0].get_model_by_name('lstmds_legend').items.filter(i => i.visible).length};
"""


@pytest.mark.slow
@pytest.mark.parametrize("size", ["1600,1000", "1280,800"])
def test_in_chromium_a_page_a_class_can_project(size, layer_run, stack_run, ph_placeholder, tmp_path):
    """At 1600x1000 and 1280x800 the diagram and the plot are on the screen together, every block's text is at
    least 11 px high at the default zoom, the value table opens on whole rows; Shift+click overlays a signal;
    a collapsed subsystem's loops are written in its box in the page's style."""
    import os

    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.keys import Keys

    shots = Path(os.environ.get("LSTMDS_SCREENSHOTS", tmp_path))
    shots.mkdir(parents=True, exist_ok=True)
    pages = {"lstm_layer": layer_run[2], "lstm_stack": stack_run[2], "ph_identification": ph_placeholder[1]}
    driver = _browser(tmp_path, size)
    try:
        for name, page in pages.items():
            driver.get(page.save(tmp_path / f"{name}.html", overwrite=True).as_uri())
            _wait(driver, "return window.lstmdsInspector && window.Bokeh && "
                          "Bokeh.documents.some(d => d.get_model_by_name('lstmds_signal') && d.is_idle)")
            time.sleep(0.3)
            driver.save_screenshot(str(shots / f"inspector_{name}_{size.replace(',', 'x')}.png"))
            got = driver.execute_script(_LAYOUT)
            for part in ("diagram", "plot"):  # both wholly in the window
                left, top, right, bottom = got[part]
                assert left >= 0 and top >= 0 and right <= got["w"] and bottom <= got["h"] + 1, (name, part, got)
            assert got["plot"][3] - got["plot"][1] >= 200 and got["diagram"][3] - got["diagram"][1] >= 300
            assert got["blockText"] >= 11 - 1e-6 and got["tagText"] >= 11 - 1e-6, (name, got)
            assert got["scrollTop"] == 0 or any(abs(got["scrollTop"] - top) < 1 for top in got["rowTops"]), got
        # the comparison lab opened on both pH signals, overlaid
        assert driver.execute_script("return lstmdsInspector.state().signals") == ["pH", "pH_hat"]
        assert driver.execute_script(_LAYOUT)["lines"] == 2

        # Shift+click adds a signal to the plot
        driver.get((tmp_path / "lstm_layer.html").as_uri())
        _wait(driver, "return window.lstmdsInspector && window.Bokeh && "
                      "Bokeh.documents.some(d => d.get_model_by_name('lstmds_signal') && d.is_idle)")
        point = driver.execute_script(_POINT_ON_WIRE, '.wire[data-signal="f"]')
        assert point
        svg = driver.execute_script("return document.querySelector('.wire[data-signal=\"f\"]').closest('svg')")
        centre = driver.execute_script(
            "const r = arguments[0].getBoundingClientRect();"
            "const l = Math.max(r.left, 0), rt = Math.min(r.right, innerWidth);"
            "const t = Math.max(r.top, 0), b = Math.min(r.bottom, innerHeight);"
            "return [Math.floor((l + rt) / 2), Math.floor((t + b) / 2)]", svg)
        (ActionChains(driver).key_down(Keys.SHIFT)
         .move_to_element_with_offset(svg, round(point[0] - centre[0]), round(point[1] - centre[1])).click()
         .key_up(Keys.SHIFT).perform())
        assert driver.execute_script("return lstmdsInspector.state().signals") == ["c", "f"]
        result = layer_run[1]
        _assert_plots(driver, np.hstack([result["c"], result["f"]]), result.t)

        # a collapsed layer's loops, in its box, styled by the page (13 px, the verdict's colour)
        driver.get((tmp_path / "lstm_stack.html").as_uri())
        _wait(driver, "return window.lstmdsInspector && window.Bokeh && Bokeh.documents.length")
        driver.execute_script("lstmdsInspector.showView('open:')")
        style = driver.execute_script(
            "const t = document.querySelector('svg.view[data-view=\"open:\"] .block text.gains');"
            "const fail = t.querySelector('tspan.fail');"
            "return [getComputedStyle(t).fontSize, getComputedStyle(fail).fill, t.getBoundingClientRect().width,"
            "        t.closest('.block').querySelector('rect').getBoundingClientRect().width]")
        assert style[0] == "13px" and style[1] == "rgb(198, 40, 40)" and style[2] <= style[3], style
        driver.save_screenshot(str(shots / f"inspector_lstm_stack_collapsed_{size.replace(',', 'x')}.png"))
        assert [e for e in driver.get_log("browser") if e["level"] == "SEVERE"] == []
    finally:
        driver.quit()
