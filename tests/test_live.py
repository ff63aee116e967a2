"""Live parameters (lstmds_sim.drawing.live, `lstmds live`): sliders that re-run a compiled diagram.

The fast tests run the live model without a browser: a slider's run must equal the matrix twin (an independent
implementation) of the network with the slider's change made by hand, and its loop gains iss_check's left-hand
sides of that network; the program is compiled once. The slow tests serve the page and drive it in headless
Chromium: a slider set through BokehJS (the model named param:forget_bias) re-runs the diagram on the server and
the page's `trace` and `gains` sources follow; the step is scrubbed and played; the latency from the slider to the
redraw is measured (printed, never asserted).
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import lstmds_sim as L
from lstmds_sim.drawing.live import LiveModel, Slider, gate_bias, layer_blocks, live, standard_sliders
from lstmds_sim.io import cli
from lstmds_sim.safety.iss import iss_check

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.fixture(scope="module")
def layer_lab():
    from lstmds_sim.diagrams import lstm_layer

    bd = lstm_layer.build_diagram()
    return lstm_layer, bd, LiveModel(bd, lstm_layer.live_params(bd))


def with_biases(params, **offsets):
    """``params`` with ``offsets[g]`` added to the biases of gate g (the reference, made by hand)."""
    b = np.array(params.b)
    n = params.n_units
    for g, offset in offsets.items():
        k = "ifgo".index(g)
        b[k * n:(k + 1) * n] += offset
    return params.replace(b=b)


def traced(model, run) -> np.ndarray:
    cols, _ = model.traces(run)
    return np.column_stack([cols[f"y{j}"] for j in range(len(cols) - 1)])


# --------------------------------------------------------------------------- the model, no browser


def test_forget_bias_slider_equals_the_changed_network(layer_lab):
    lab, _bd, model = layer_lab
    params, h0, c0, u = lab.example(0)
    changed = with_biases(params, f=3.0)
    run = model.run({"forget_bias": 3.0})
    np.testing.assert_allclose(traced(model, run), L.simulate(changed, u, h0, c0).y, rtol=0, atol=1e-9)
    gains = model.gains(run)
    assert gains["loop"] == ["inner loop (cell state)", "outer loop (hidden state)"]
    np.testing.assert_allclose(gains["value"], iss_check(changed).lhs, rtol=1e-12)
    assert gains["holds"] == [v < 1 for v in iss_check(changed).lhs]


def test_every_slider_at_once_and_no_compiling_again(layer_lab):
    lab, _bd, model = layer_lab
    params, h0, c0, u = lab.example(0)
    compiled = model.program._compiled
    values = {"forget_bias": -1.5, "input_bias": 2.0, "R_scale": 0.4, "amplitude": 2.5}
    run = model.run(values)
    changed = with_biases(params, f=-1.5, i=2.0).replace(R=0.4 * np.array(params.R))
    np.testing.assert_allclose(traced(model, run), L.simulate(changed, 2.5 * u, h0, c0).y, rtol=0, atol=1e-9)
    np.testing.assert_allclose(model.gains(run)["value"], iss_check(changed).lhs, rtol=1e-12)
    assert run.weights[0].R.tolist() == changed.R.tolist()
    assert model.program._compiled is compiled  # the same executable: a slider move compiles nothing
    # back at the defaults: the lab's own network
    np.testing.assert_allclose(traced(model, model.run()), L.simulate(params, u, h0, c0).y, rtol=0, atol=1e-9)


def test_the_badges_carry_every_wire_of_the_run(layer_lab):
    _lab, _bd, model = layer_lab
    run = model.run({"forget_bias": 2.0})
    cols, where = model.signals(run)
    assert {"c", "f", "h", "z_f"} <= set(where)
    c = np.column_stack([cols[col] for col in where["c"]])
    np.testing.assert_array_equal(c, run.result.signals["c"])


def test_lstm_vs_linear_scale_slider_recomputes_the_weights():
    from lstmds_sim.diagrams import lstm_vs_linear as lab
    from lstmds_sim.systems.lstm_linear import lstm_from_linear
    from lstmds_sim.systems.reference import reference_system

    bd = lab.build_diagram()
    model = LiveModel(bd, lab.live_params(bd))
    system = reference_system(lab.TS)
    u = np.random.default_rng(0).standard_normal((lab.N_SAMPLES, 1))
    run = model.run({"log10_scale": -1.0, "amplitude": 3.0})
    y_true, y_net = lab.respond(3 * u, lstm_from_linear(system, scale=0.1), system)  # the numpy interpreter
    np.testing.assert_allclose(traced(model, run), np.column_stack([y_true, y_net]), rtol=1e-9, atol=1e-9)
    assert model.traces(run)[1] == ["true", "net"]  # the plant and its imitation, overlaid


def test_ph_plant_flow_sliders_equal_the_interpreter():
    from lstmds_sim.diagrams import ph_plant as lab

    bd = lab.build_diagram()
    model = LiveModel(bd, lab.live_params(bd), substeps=lab.SUBSTEPS)
    run = model.run({"q1": 18.0, "q3_shift": 0.5})
    from lstmds_sim.systems.ph_plant import steady_state
    from lstmds_sim.systems.ph_tank import ph_tank_subsystem

    # the reference drawn by hand: the shifted flows into the tank, which starts where the page's does (the
    # nominal flow's steady state), its acid flow set on its block; run by the numpy interpreter
    reference = L.blockdiagram("reference")
    clock = reference.clock(lab.TS, "s")
    source = reference.SEQUENCE(lab.step_input() + 0.5, clock, name="q3")
    tank = reference.SUBSYSTEM(ph_tank_subsystem(x0=steady_state(lab.Q3_NOMINAL).x), name="ph_tank")
    reference.connect(source, tank, name="q3")
    reference.connect(tank, reference.RECORDER(name="pH"), name="pH")
    L.run(reference, 1)  # compiled (flattened), so that the tank's block is found by its name
    next(b for b in reference.blocklist if b.name == "ph_tank/q1").value = 18.0
    ph = L.run(reference, substeps=lab.SUBSTEPS).recorders["pH"][..., 0]  # (6 tanks, steps)
    np.testing.assert_allclose(traced(model, run), ph.T, rtol=0, atol=1e-9)
    assert model.gains(run)["value"] == []  # no LSTM: the tank's loops carry no Theorem 4 gain


def test_slider_mistakes_are_clear(layer_lab):
    _lab, bd, model = layer_lab
    with pytest.raises(ValueError, match="no slider named"):
        model.run({"nope": 1.0})
    with pytest.raises(ValueError, match="moves nothing"):
        Slider("x", "x", 0, 1, 0.5, 0.1)
    with pytest.raises(ValueError, match="start <= value <= end"):
        Slider("x", "x", 0, 1, 2, 0.1, blocks=(("bf", lambda v, b: b),))
    with pytest.raises(ValueError, match="no standard slider named 'spin'"):
        standard_sliders(bd, ["spin"])
    with pytest.raises(ValueError, match="gate must be one of"):
        gate_bias(bd, "x", name="x")
    with pytest.raises(ValueError, match="two sliders are named"):
        LiveModel(bd, [gate_bias(bd, "f", name="b"), gate_bias(bd, "i", name="b")])
    with pytest.raises(TypeError, match="bdsim BlockDiagram"):
        LiveModel(object(), [])
    assert set(layer_blocks(bd)) >= {"W_f", "R_f", "b_f", "F"}
    assert layer_blocks(bd)["b_f"] == "bf" and layer_blocks(bd)["R_o"] == "Ro"


def test_ph_identification_serves_the_trained_model_only(tmp_path):
    from lstmds_sim.diagrams import ph_identification as lab

    with pytest.raises(FileNotFoundError, match="no trained model there; run `lstmds run ph_identification"):
        lab.live_diagram(tmp_path / "missing.npz")
    assert cli.main(["live", "ph_identification", "--model", str(tmp_path / "missing.npz"), "--no-browser"]) == 2


@pytest.mark.parametrize("argv, message", [
    (["live", "lstm_stack"], "has no live page (no live_params()); the labs with one: lstm_layer, lstm_vs_linear"),
    (["live", "lstm_layer", "--port", "70000"], "--port must be a port number"),
    (["live", "lstm_layer", "--model", "x.npz"], "--model is for a lab whose network is trained"),
    (["live", "no_such_lab"], "no lab named 'no_such_lab'"),
])
def test_cli_mistakes_are_one_line(argv, message, capsys):
    assert cli.main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and message in err


def test_missing_bokeh_names_the_extra(layer_lab, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "bokeh", None)
    with pytest.raises(ModuleNotFoundError, match=r"pip install 'lstmds-sim\[inspect\]'"):
        live(layer_lab[1])
    assert cli.main(["live", "lstm_layer", "--no-browser"]) == 2
    assert "pip install 'lstmds-sim[inspect]'" in capsys.readouterr().err


def test_public_name_and_light_import():
    code = ("import sys, lstmds_sim, lstmds_sim.drawing.live, lstmds_sim.io.live; "
            "print('bokeh' in sys.modules, 'jax' in sys.modules, callable(lstmds_sim.live), 'live' in lstmds_sim.__all__)")
    out = subprocess.run([sys.executable, "-c", code], cwd=Path(__file__).resolve().parent.parent,
                         capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False", "True", "True"]


# --------------------------------------------------------------------------- in a real browser

_READY = ("return !!(window.lstmdsLive && window.Bokeh && Bokeh.documents.length && "
          "Bokeh.documents[0].get_model_by_name('param:forget_bias') && lstmdsLive.state().step === 0 && "
          "document.getElementById('lstmds-step').textContent)")

_SET = """
const done = arguments[arguments.length - 1], name = arguments[0], value = arguments[1];
const doc = Bokeh.documents[0], before = lstmdsLive.state().redraws, t0 = performance.now();
doc.get_model_by_name('param:' + name).value = value;
(function wait() {
  const s = lstmdsLive.state();
  if (s.redraws > before) done(s.redrawnAt - t0); else setTimeout(wait, 1);
})();
"""

_SOURCES = """
const doc = Bokeh.documents[0], out = {};
for (const name of ['trace', 'gains']) {
  const data = doc.get_model_by_name(name).data, cols = {};
  for (const [k, v] of (data instanceof Map ? data.entries() : Object.entries(data))) cols[k] = Array.from(v);
  out[name] = cols;
}
out.cursor = doc.get_model_by_name('cursor').location;
out.tags = Array.from(document.querySelectorAll('.loop-tag text')).map(t => t.textContent);
return out;
"""


def _browser(tmp_path, size="1600,1000"):
    from browser import chromium  # tests/browser.py

    return chromium(tmp_path, size)


def _wait(driver, script, timeout=60.0):
    from browser import wait_for  # tests/browser.py

    return wait_for(driver, script, timeout)


@pytest.mark.slow
def test_in_chromium_forget_bias_slider_reruns_and_the_page_follows(tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    from lstmds_sim.diagrams import lstm_layer as lab

    params, h0, c0, u = lab.example(0)
    bd = lab.build_diagram()
    page = live(bd, params=lab.live_params(bd))
    driver = _browser(tmp_path)
    try:
        driver.get(page.url)
        _wait(driver, _READY)
        loaded = driver.execute_script(  # every script, style and frame comes from the local server
            "return Array.from(document.querySelectorAll('script[src], link[href], img[src], iframe[src]'))"
            ".map(e => e.getAttribute('src') || e.getAttribute('href'))")
        assert loaded and all(src.startswith(("/", "data:")) for src in loaded), loaded
        driver.save_screenshot(str(tmp_path / "live_1600x1000.png"))

        driver.execute_async_script(_SET, "forget_bias", 3)
        got = driver.execute_script(_SOURCES)
        changed = with_biases(params, f=3.0)
        t = np.array(got["trace"]["t"])
        y = np.column_stack([got["trace"]["y0"], got["trace"]["y1"]])
        np.testing.assert_array_equal(t, np.arange(lab.N_SAMPLES) * lab.TS)
        np.testing.assert_allclose(y, L.simulate(changed, u, h0, c0).y, rtol=0, atol=1e-9)
        np.testing.assert_allclose(got["gains"]["value"], iss_check(changed).lhs, rtol=1e-12)
        assert got["gains"]["loop"] == ["inner loop (cell state)", "outer loop (hidden state)"]
        assert any(f"{iss_check(changed).lhs[0]:.4g}" in tag for tag in got["tags"])  # the tag on the loop follows

        # scrub: the step slider by keyboard, then play and pause
        slider = driver.find_element(By.ID, "lstmds-slider")
        slider.click()
        slider.send_keys(Keys.HOME)
        for _ in range(7):
            slider.send_keys(Keys.ARROW_RIGHT)
        assert driver.execute_script("return lstmdsLive.state().step") == 7
        assert driver.execute_script(_SOURCES)["cursor"] == pytest.approx(7 * lab.TS)
        badges = driver.find_elements(By.CSS_SELECTOR, "svg.view .badge")
        assert badges and {b.get_attribute("data-k") for b in badges} == {"7"}
        play = driver.find_element(By.ID, "lstmds-play")
        play.click()
        _wait(driver, "return lstmdsLive.state().step > 9")
        play.click()
        assert not driver.execute_script("return lstmdsLive.state().playing")

        # the latency from a slider move to the browser's paint of the new traces (measured, not asserted)
        latencies = [driver.execute_async_script(_SET, "forget_bias", v) for v in (0.5, 2.0, -1.0, 4.0, 1.0, 3.0) * 3]
        print(f"slider -> redraw (lstm_layer, {len(latencies)} moves): median {statistics.median(latencies):.0f} ms, "
              f"max {max(latencies):.0f} ms")
        driver.set_window_size(1280, 800)
        time.sleep(0.5)
        driver.save_screenshot(str(tmp_path / "live_1280x800.png"))
        assert [e for e in driver.get_log("browser") if e["level"] == "SEVERE"] == []
    finally:
        driver.quit()
        page.stop()


@pytest.mark.slow
def test_ph_identification_live_serves_a_trained_model(tmp_path):
    """The live page of the pH lab serves a trained model's diagram (a saved IdentifiedModel), the plant and the
    LSTM overlaid; the amplitude slider equals the interpreter's run of the scaled input."""
    from lstmds_sim import LSTMParams
    from lstmds_sim.diagrams import ph_identification as lab
    from lstmds_sim.learning.dataset import generate_identification_data
    from lstmds_sim.learning.model import IdentifiedModel
    from lstmds_sim.systems.ph_plant import DEFAULT_SUBSTEPS, simulate_plant, steady_state

    data = generate_identification_data(seed=0)
    model = IdentifiedModel(LSTMParams.random(1, 5, 1, rng=3, low=-0.3, high=0.3), data.u_mean, data.u_scale,
                            data.y_mean, data.y_scale, data.Ts)
    path = model.save(tmp_path / "model.npz")
    bd = lab.live_diagram(path)
    assert not hasattr(bd, "lstmds_placeholder")
    model_live = LiveModel(bd, lab.live_params(bd), substeps=DEFAULT_SUBSTEPS)
    run = model_live.run({"amplitude": 1.5})
    assert model_live.traces(run)[1] == ["plant pH", "LSTM pH"]
    rng = np.random.default_rng(1)
    h0, c0 = rng.uniform(-1, 1, 5), rng.uniform(-1, 1, 5)
    q3 = data.u_mean + 1.5 * (data.u_val[:300] - data.u_mean)
    # independent references: the plant simulator from the tank's drawn initial state (the steady state of the
    # first validation flow), and the model's matrix twin (normalisation, state-space LSTM, de-normalisation)
    plant = simulate_plant(q3, x0=steady_state(float(data.u_val[0])).x, substeps=DEFAULT_SUBSTEPS).y
    np.testing.assert_allclose(traced(model_live, run)[:, 0], plant, rtol=0, atol=1e-9)
    np.testing.assert_allclose(traced(model_live, run)[:, 1], model.predict(q3, h0, c0), rtol=0, atol=1e-9)
    np.testing.assert_allclose(model_live.gains(run)["value"], iss_check(model.params).lhs, rtol=1e-12)
