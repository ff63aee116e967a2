"""Clear errors: every mistake in what was given is one line that names it and says what to do.

From the command line: exit status 2, stderr exactly one non-empty line, no
traceback (``-v`` adds the LSTMDS_TRACEBACK hint). From the API: a
ValueError/TypeError subclass whose message names the argument.
"""

import json
import math
import os
import re
import subprocess
import sys
import time

import numpy as np
import pytest

import lstmds_sim as L
from lstmds_sim import LSTMParams
from lstmds_sim.core.diagram import lstm_diagram
from lstmds_sim.core.matrix import simulate
from lstmds_sim.core.validation import NonFiniteError, ShapeError
from lstmds_sim.io import cli
from lstmds_sim.learning.model import IdentifiedModel
from lstmds_sim.systems.ph_plant import simulate_plant, steady_state, step_plant

HINT = "(set LSTMDS_TRACEBACK=1 for the traceback)"


@pytest.fixture(autouse=True)
def _no_traceback_env(monkeypatch):
    """The user's LSTMDS_TRACEBACK would turn every one-line error into a traceback."""
    monkeypatch.delenv("LSTMDS_TRACEBACK", raising=False)


def run_cli(capsys, argv):
    """``lstmds ARGV`` in this process: (exit status, stdout, stderr); argparse's errors exit via SystemExit."""
    try:
        status = cli.main(argv)
    except SystemExit as stop:
        status = stop.code
    out, err = capsys.readouterr()
    return status, out, err


def cli_error(capsys, argv) -> str:
    """The command ends with exit status 2 and exactly one non-empty line on stderr; returns that line."""
    status, _, err = run_cli(capsys, argv)
    assert status == 2, (status, err)
    assert "Traceback" not in err, err
    lines = err.split("\n")
    assert len(lines) == 2 and lines[0].strip() and lines[1] == "", repr(err)  # one line, ended by "\n"
    assert HINT not in err, err  # the traceback hint only with -v
    return lines[0]


# --------------------------------------------------------------------------- a tiny valid model and broken copies

@pytest.fixture(scope="module")
def model_file(tmp_path_factory):
    """A valid IdentifiedModel file: 3 units, small random weights, the pH plant's normalisation (Ts = 10 s)."""
    params = LSTMParams.random(1, 3, 1, rng=0, low=-0.1, high=0.1)
    model = IdentifiedModel(params, u_mean=15.0, u_scale=2.0, y_mean=7.0, y_scale=2.0, Ts=10.0)
    return model.save(tmp_path_factory.mktemp("model") / "tiny_model.npz")


def broken_copy(model_file, directory, name, changes):
    """``model_file`` with some keys replaced, written by numpy.savez (not by IdentifiedModel.save)."""
    with np.load(model_file) as data:
        arrays = {k: data[k] for k in data.files}
    arrays.update(changes)
    path = directory / f"{name}.npz"
    np.savez(path, **arrays)
    return path


# name, replaced keys, the key the message must name, exception type, what to do
BROKEN_MODELS = [
    ("complex_weights", {"W": np.full((12, 1), 0.1 + 0.2j)}, r"\bW\b", TypeError, "give real numbers"),
    ("string_weights", {"W": np.full((12, 1), "x")}, r"'W'", TypeError, "save W as a real float array"),
    ("vector_u_mean", {"u_mean": np.array([15.0, 16.0])}, r"\bu_mean\b", ShapeError, "fix that key"),
    ("Ts_zero", {"Ts": np.array(0.0)}, r"\bTs\b", ValueError, "fix that key"),
    ("Ts_negative", {"Ts": np.array(-10.0)}, r"\bTs\b", ValueError, "fix that key"),
    ("u_scale_zero", {"u_scale": np.array(0.0)}, r"\bu_scale\b", ValueError, "fix that key"),
    ("y_scale_zero", {"y_scale": np.array(0.0)}, r"\by_scale\b", ValueError, "fix that key"),
    ("y_scale_nan", {"y_scale": np.array(np.nan)}, r"\by_scale\b", NonFiniteError, "fix that key"),
    ("W_two_columns", {"W": np.full((12, 2), 0.1)}, r"\bW\b.*2 columns", ShapeError, "give W of shape"),
]
BROKEN_IDS = [case[0] for case in BROKEN_MODELS]


def test_the_valid_model_file_loads(model_file):
    """The broken copies differ from a file that loads only in the replaced key."""
    model = IdentifiedModel.load(model_file)
    assert model.params.n_units == 3 and model.Ts == 10.0 and model.u_scale == 2.0


@pytest.mark.parametrize(("name", "changes", "key", "kind", "todo"), BROKEN_MODELS, ids=BROKEN_IDS)
def test_broken_model_file_api(model_file, tmp_path, name, changes, key, kind, todo):
    path = broken_copy(model_file, tmp_path, name, changes)
    with pytest.raises(kind) as caught:
        IdentifiedModel.load(path)
    message = str(caught.value)
    assert isinstance(caught.value, (ValueError, TypeError))
    assert str(path) in message, message
    assert re.search(key, message), message
    assert todo in message, message
    assert "\n" not in message, message


@pytest.fixture
def no_computing(monkeypatch):
    """The scenario lab must refuse a bad model before it draws or simulates a single scenario: every way
    a chunk of the sweep (lstmds_sim.safety.scenario_chunk) draws or runs scenarios stops the test."""
    from lstmds_sim.safety import scenario_chunk

    def computed(*args, **kwargs):
        raise AssertionError("the scenario lab started computing before refusing its input")

    for name in ("draw_scenario_range", "lstm_through_diagram", "plant_through_diagram", "simulate"):
        monkeypatch.setattr(scenario_chunk, name, computed)
    return scenario_chunk


def test_the_guard_stops_a_valid_run_at_its_first_scenario(model_file, tmp_path, no_computing):
    """With a valid model the lab goes on to draw scenarios, where ``no_computing`` stops it."""
    with pytest.raises(AssertionError, match="started computing"):
        cli.main(["run", "scenario_safety", "--model", str(model_file), "--out", str(tmp_path)])


@pytest.mark.parametrize(("name", "changes", "key", "kind", "todo"), BROKEN_MODELS, ids=BROKEN_IDS)
def test_broken_model_file_cli(model_file, tmp_path, capsys, no_computing, name, changes, key, kind, todo):
    path = broken_copy(model_file, tmp_path, name, changes)
    out = tmp_path / "out"
    start = time.perf_counter()
    line = cli_error(capsys, ["run", "scenario_safety", "--model", str(path), "--out", str(out)])
    assert time.perf_counter() - start < 10  # the default sweep would take a minute: it failed before computing
    assert line.startswith("lstmds: error: ") and str(path) in line, line
    assert re.search(key, line) and todo in line, line
    assert not (out / "results.json").exists()


# --------------------------------------------------------------------------- options

def test_unknown_lab(capsys):
    line = cli_error(capsys, ["run", "nosuchlab"])
    assert "no lab named 'nosuchlab'" in line and "scenario_safety" in line and "lstmds list" in line, line


def test_unknown_lab_in_a_real_process():
    """The same through ``python -m lstmds_sim.io.cli``: the process's exit status and its whole stderr."""
    proc = subprocess.run([sys.executable, "-m", "lstmds_sim.io.cli", "run", "nosuchlab"],
                          check=False, capture_output=True, text=True, timeout=60,
                          env={k: v for k, v in os.environ.items() if k != "LSTMDS_TRACEBACK"})
    assert proc.returncode == 2, proc
    assert proc.stderr.count("\n") == 1 and proc.stderr.startswith("lstmds: error: no lab named 'nosuchlab'")
    assert "Traceback" not in proc.stderr and proc.stdout == ""


def test_a_reader_that_leaves_early_is_no_error():
    """``lstmds list | head -1``: the reader closes the pipe; the command stops without a word (status 141,
    as a filter killed by SIGPIPE), instead of reporting "Broken pipe" as the user's mistake."""
    proc = subprocess.Popen([sys.executable, "-m", "lstmds_sim.io.cli", "list"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, bufsize=0)
    proc.stdout.close()  # before it writes: every write fails
    _, err = proc.communicate(timeout=60)
    assert (proc.returncode, err) == (cli.PIPE_CLOSED, b"")


@pytest.mark.parametrize("lab", ["lstm_layer", "scenario_safety"])
def test_negative_seed(capsys, tmp_path, lab):
    line = cli_error(capsys, ["run", lab, "--seed", "-1", "--out", str(tmp_path)])
    assert "--seed" in line and ">= 0" in line and "-1" in line, line
    assert not list(tmp_path.iterdir())  # refused before the output folder was opened


@pytest.mark.parametrize("lab", ["lstm_layer", "scenario_safety"])
def test_empty_out(capsys, model_file, lab):
    model = ["--model", str(model_file)] if lab == "scenario_safety" else []
    line = cli_error(capsys, ["run", lab, "--out", "", *model])
    assert "--out is empty" in line and "give a folder" in line, line


def test_posterior_zero(capsys, tmp_path, model_file, no_computing):
    line = cli_error(capsys, ["run", "scenario_safety", "--posterior", "0", "--model", str(model_file),
                              "--out", str(tmp_path)])
    assert "--posterior" in line and ">= 1" in line, line


def test_rho_u_beyond_the_training_range_names_the_amplitude(capsys, tmp_path, model_file, no_computing):
    line = cli_error(capsys, ["run", "scenario_safety", "--rho-u", "10", "--model", str(model_file),
                              "--out", str(tmp_path)])
    assert "--rho-u" in line and "amplitude" in line and "(0, 1]" in line and "got 10" in line, line
    assert "plant would get" not in line and "ml/s" not in line, line  # not the plant's base-flow check


def test_traceback_hint_only_with_verbose(capsys, model_file, tmp_path):
    path = broken_copy(model_file, tmp_path, "Ts_zero", {"Ts": np.array(0.0)})
    argv = ["run", "scenario_safety", "--model", str(path), "--out", str(tmp_path / "out")]
    line = cli_error(capsys, argv)  # asserts: no hint
    status, _, err = run_cli(capsys, ["-v", *argv])
    assert status == 2 and err == f"{line}\n{HINT}\n", err
    status, _, err = run_cli(capsys, ["-v", "run", "nosuchlab"])
    assert status == 2 and err.endswith(f"\n{HINT}\n") and err.count("\n") == 2, err


def test_traceback_env_shows_the_exception(monkeypatch, capsys):
    monkeypatch.setenv("LSTMDS_TRACEBACK", "1")
    with pytest.raises(ValueError, match="no lab named 'nosuchlab'"):
        cli.main(["run", "nosuchlab"])


@pytest.mark.slow  # end to end, several seconds
def test_a_short_horizon_runs(capsys, tmp_path, model_file):
    """--horizon 40 (shorter than the 50-step transient) runs; N = 7 scenarios keep it cheap."""
    out = tmp_path / "out"
    status, printed, err = run_cli(capsys, [
        "run", "scenario_safety", "--horizon", "40", "--model", str(model_file), "--out", str(out),
        "--eps", "0.5", "--beta", "0.5", "--rho-u", "0.5", "--posterior", "5"])
    assert status == 0, err
    results = json.loads((out / "results.json").read_text())
    assert results["horizon"] == 40 and results["N"] == 7
    (row,) = results["sweep"]
    assert row["rho_u"] == 0.5 and row["rho_y_lstm_after_transient"] is None
    assert row["posterior"]["fresh_scenarios"] == 5
    assert math.isfinite(row["rho_y_lstm"]) and row["diagram_vs_matrix_max_abs"] <= 1e-9
    assert "--horizon 40 <= 50" in printed


# --------------------------------------------------------------------------- sample times

@pytest.mark.parametrize("Ts", [0, math.nan, -1])
def test_lstm_diagram_refuses_a_bad_Ts(Ts):
    params = LSTMParams.random(1, 2, 1, rng=0)
    with pytest.raises(ValueError, match=r"lstm_diagram: Ts .*finite number > 0") as caught:
        lstm_diagram(params, np.zeros((5, 1)), Ts=Ts)
    assert "\n" not in str(caught.value)


def clocked_diagram(T):
    bd = L.blockdiagram("clocked")
    clock = bd.clock(T, "s")
    delay = bd.UNITDELAY(clock, name="z")
    bd.connect(bd.SEQUENCE(np.ones(5), clock, name="u"), delay)
    bd.connect(delay, bd.RECORDER(name="y"))
    return bd


@pytest.mark.parametrize("T", [0, math.nan, -1])
def test_run_refuses_a_clock_with_a_bad_period(T):
    with pytest.raises(ValueError, match=r"diagram 'clocked': a clock has the sample time Ts = .*bd\.clock\(Ts\) a finite Ts > 0"):
        L.run(clocked_diagram(T))


def test_the_same_diagram_runs_with_a_good_period():
    np.testing.assert_array_equal(L.run(clocked_diagram(10.0)).recorders["y"].ravel(), [0, 1, 1, 1, 1])


# --------------------------------------------------------------------------- the pH plant

@pytest.mark.parametrize("Ts", [0, -10, math.nan])
def test_step_plant_refuses_a_bad_Ts(Ts):
    with pytest.raises(ValueError, match=r"^Ts must be a positive number of seconds .*paper's is 10 s"):
        step_plant(steady_state(15.55).x, 15.0, Ts=Ts)


def test_step_plant_refuses_an_absurd_flow():
    with pytest.raises(ValueError, match=r"q3 = 1e\+06 ml/s is too large .*keep q3 in \[0, "):
        step_plant(steady_state(15.55).x, 1e6)


def test_no_base_flow_empties_the_tank_with_a_hint():
    x = steady_state(15.55).x
    with pytest.raises(ValueError, match=r"the tank emptied .*base flow q3 is too small.*keep q3 in the paper's operating range"):
        for _ in range(200):  # the level falls below 0.2 cm within about 35 periods
            x = step_plant(x, 0.0)
    with pytest.raises(ValueError, match=r"the tank emptied .*during sampling period \d+"):
        simulate_plant(np.zeros(200), steady_state(15.55).x)


def test_plant_block_refuses_a_vector_input():
    bd = L.blockdiagram()
    clock = bd.clock(10.0, "s")
    plant = bd.PHPLANT(clock, name="tank")
    bd.connect(bd.SEQUENCE(np.full((5, 2), 15.0), clock, name="q3"), plant)
    bd.connect(plant, bd.RECORDER(name="pH"))
    with pytest.raises(ShapeError, match=r"PHPLANT block 'tank': input 0 has shape \(2,\), expected \(1,\) or \(B, 1\)"):
        L.run(bd)


# --------------------------------------------------------------------------- overflow in the matrix twin

@pytest.mark.parametrize("form", ["direct", "statespace"])
def test_an_overflowing_output_layer_is_named(form):
    params = LSTMParams.random(1, 3, 1, rng=0).replace(F=np.full((1, 3), 1e308), bF=np.array([1e308]))
    with pytest.raises(NonFiniteError, match=r"simulate: layer 0: the output .*became inf .*scale layer 0's F/bF"):
        simulate(params, np.ones((5, 1)), form=form)


@pytest.mark.parametrize("form", ["direct", "statespace"])
def test_an_overflowing_cell_state_is_named(form):
    """W u = +inf and R h = -inf: z, and so c, is NaN from finite weights, input and state."""
    n = 4
    params = LSTMParams(W=np.full((4 * n, 1), 1e308), R=np.full((4 * n, n), -1e308), b=np.zeros(4 * n),
                        F=np.ones((1, n)), bF=np.zeros(1))
    with pytest.raises(NonFiniteError, match=r"simulate: layer 0: the cell state c .*at step 0 .*scale layer 0's W/R/b"):
        simulate(params, np.full((3, 1), 10.0), h0=np.ones(n), form=form)


@pytest.mark.parametrize("form", ["direct", "statespace"])
def test_an_overflow_between_layers_is_named(form):
    """Layer 0's output overflows; layer 1 saturates (sigmoid(inf) = 1), so y stays finite: still an error."""
    first = LSTMParams.random(1, 3, 1, rng=0).replace(F=np.full((1, 3), 1e308))
    second = LSTMParams.random(1, 2, 1, rng=1)
    with pytest.raises(NonFiniteError, match=r"simulate: layer 0: the output F h \+ bF became inf"):
        simulate([first, second], np.ones((3, 1)), form=form)
    simulate([first.replace(F=np.ones((1, 3))), second], np.ones((3, 1)), form=form)  # finite: no error
