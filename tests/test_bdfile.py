"""Diagrams drawn in bdsim's editor (bdedit .bd files): lstmds_sim.load, its safe mode, and lstmds run/render/inspect.

The files in tests/data/ are ours, written in bdedit's format: eg1.bd mirrors bdsim's examples/eg1.bd (a
step into 10 * 0.5/(2s+1) with unity feedback, a connector on the feedback wire); the others exercise
expressions, a clocked block, a FUNCTION's lambda and a subsystem in its own file. References are
independent: the closed loop's exact solution, bdsim's own loader, numbers computed here with math.
"""

import json
import math
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import lstmds_sim as L
from lstmds_sim.core.bdfile import BdFileError, UnsafeExpressionError, safe_eval
from lstmds_sim.io import cli

DATA = Path(__file__).resolve().parent / "data"
EG1 = DATA / "eg1.bd"


def eg1_exact(t):
    """eg1's output: 10 * 0.5/(2s+1) in unity feedback is 2.5/(s+3); a unit step at t = 1."""
    t = np.asarray(t, dtype=float)
    return np.where(t >= 1.0, (2.5 / 3.0) * (1.0 - np.exp(-3.0 * np.clip(t - 1.0, 0.0, None))), 0.0)


def edit(src: Path, dst: Path, block_type: str, key: str, value) -> Path:
    """A copy of ``src`` with one parameter of the (first) block of ``block_type`` changed."""
    model = json.loads(src.read_text())
    block = next(b for b in model["blocks"] if b["block_type"] == block_type)
    params = dict(block["parameters"])
    params[key] = value
    block["parameters"] = [[k, v] for k, v in params.items()]
    dst.write_text(json.dumps(model))
    return dst


def one_line(err) -> str:
    text = str(err.value if hasattr(err, "value") else err)
    assert "\n" not in text, text
    return text


# --------------------------------------------------------------------------- loading and running


def test_eg1_runs_to_the_exact_closed_loop_response():
    bd = L.load(EG1)
    assert bd.bdfile.simulation_time == 5.0 and bd.bdfile.safe
    assert sorted(b.type for b in bd.blocklist) == ["gain", "lti_siso", "scope", "step", "sum"]
    result = L.run(bd, 500, dt=0.01, probes=["Lti_siso Block"])
    y = result["Lti_siso Block"].ravel()
    assert y.shape == (500,) and result.t[-1] == pytest.approx(4.99)
    np.testing.assert_allclose(y, eg1_exact(result.t), rtol=0, atol=1e-6)
    assert list(result.figures) == ["Scope Block"]


def test_eg1_is_read_as_bdsims_own_loader_reads_it():
    """bdsim's bdload (no eval: allow_eval=False) builds the same blocks, parameters and wires, and the same run."""
    import bdsim

    from lstmds_sim.core.bdsim_adapter import blockdiagram

    ours, theirs = L.load(EG1), bdsim.bdload(blockdiagram("theirs"), str(EG1), allow_eval=False)

    def wiring(bd):
        return sorted((w.start.block.name, w.start.port, w.end.block.name, w.end.port) for w in bd.wirelist)

    assert wiring(ours) == wiring(theirs) and len(wiring(ours)) == 6  # the connector followed through
    by_name = {b.name: b for b in theirs.blocklist}
    for b in ours.blocklist:
        other = by_name[b.name]
        assert type(b) is type(other)
        for attr in ("K", "signs", "T", "nin"):
            if hasattr(b, attr):
                assert np.array_equal(getattr(b, attr), getattr(other, attr)), (b.name, attr)
    a = L.run(ours, 300, dt=0.01, probes=["Lti_siso Block"])["Lti_siso Block"]
    b = L.run(theirs, 300, dt=0.01, probes=["Lti_siso Block"])["Lti_siso Block"]
    np.testing.assert_array_equal(a, b)


def test_safe_expressions_evaluate_as_python_would():
    """expressions.bd: "=np.array([1, -2]) / 4" into a gain "=2*pi", plus a bare "math.sqrt(2)" (bdsim reads it too)."""
    expected = [2 * math.pi * 0.25 + math.sqrt(2), 2 * math.pi * -0.5 + math.sqrt(2)]
    for safe in (True, False):
        result = L.run(L.load(DATA / "expressions.bd", safe=safe), 3)
        np.testing.assert_allclose(result.recorders["y"], [expected] * 3, rtol=1e-15)
        np.testing.assert_allclose(result.recorders["watch"].ravel(), [math.sqrt(2)] * 3, rtol=1e-15)


def test_a_clock_given_as_its_period_runs_a_discrete_block():
    """discrete.bd: an accumulator through UNITDELAY(clock=0.5): y(k) = k, on the clock's grid."""
    bd = L.load(DATA / "discrete.bd")
    result = L.run(bd, 10)
    np.testing.assert_array_equal(result.recorders["count"].ravel(), np.arange(10.0))
    np.testing.assert_allclose(result.t, 0.5 * np.arange(10), rtol=0, atol=1e-12)


def test_a_subsystem_in_its_own_file_is_loaded_in_the_same_mode():
    result = L.run(L.load(DATA / "subsystem.bd"), 4, dt=0.5)  # a step of 2 at 0.5 s through a gain of 3
    np.testing.assert_array_equal(result.recorders["y"].ravel(), [0.0, 6.0, 6.0, 6.0])


def test_a_lambda_needs_safe_false():
    with pytest.raises(UnsafeExpressionError) as err:
        L.load(DATA / "lambda.bd")
    text = one_line(err)
    assert "block 'affine' (FUNCTION) parameter 'func'" in text and "lambda" in text
    assert "safe=False" in text and "--unsafe" in text and "trust" in text
    result = L.run(L.load(DATA / "lambda.bd", safe=False), 4, dt=0.5)  # 2 * step(t - 0.5) + 1
    np.testing.assert_array_equal(result.recorders["y"].ravel(), [1.0, 3.0, 3.0, 3.0])


def test_namespace_gives_constants_in_safe_mode_and_functions_only_with_safe_false(tmp_path):
    path = edit(EG1, tmp_path / "k.bd", "GAIN", "K", "=k * 2")
    assert L.load(path, namespace={"k": 5.0}).blocklist[2].K == 10.0
    with pytest.raises(BdFileError, match="safe mode takes only constants"):
        L.load(path, namespace={"k": print})
    path = edit(EG1, tmp_path / "f.bd", "GAIN", "K", "=f(3)")
    assert L.load(path, safe=False, namespace={"f": lambda x: x + 1}).blocklist[2].K == 4


# --------------------------------------------------------------------------- safe mode refuses code, unevaluated


@pytest.mark.parametrize("template, reason", [
    ("=open({marker!r}, 'w').write('x')", "a call of 'open'"),
    ("open({marker!r}, 'w').write('x')", "a call of 'open'"),  # no "=": bdsim's loader evaluates it all the same
    ("=__import__('os').system('touch ' + {marker!r})", "a call of '__import__'"),
    ("=[open({marker!r}, 'w') for _ in (1,)][0] and 10", "a call of 'open'"),
    ("=(lambda: open({marker!r}, 'w'))()", "a call of 'open'"),
    ("=np.save({marker!r}, 1)", "the attribute 'np.save'"),
    ("=().__class__.__base__.__subclasses__()", "the attribute"),
])
def test_safe_mode_refuses_code_without_evaluating_it(tmp_path, template, reason):
    marker = tmp_path / "marker"
    path = edit(EG1, tmp_path / "evil.bd", "GAIN", "K", template.format(marker=str(marker)))
    with pytest.raises(UnsafeExpressionError) as err:
        L.load(path)
    text = one_line(err)
    assert text.startswith(f"{path}: block 'Gain Block' (GAIN) parameter 'K': ")
    assert reason in text and "safe=False (lstmds ... --unsafe) only if you trust it" in text
    assert not marker.exists() and not marker.with_suffix(".npy").exists()


def test_the_marker_would_show_an_evaluation(tmp_path):
    """The control for the test above: with safe=False the same file does write the marker."""
    marker = tmp_path / "marker"
    path = edit(EG1, tmp_path / "evil.bd", "GAIN", "K", f"=open({str(marker)!r}, 'w').write('x')")
    assert L.load(path, safe=False).blocklist[2].K == 1  # write() returned 1
    assert marker.read_text() == "x"


@pytest.mark.parametrize("key, value", [("movie", "scope.mp4"), ("blockargs", {"movie": "scope.mp4"})])
def test_safe_mode_refuses_a_movie_file(tmp_path, key, value):
    path = edit(EG1, tmp_path / "movie.bd", "SCOPE", key, value)
    with pytest.raises(UnsafeExpressionError, match="'movie': 'scope.mp4' would write a file"):
        L.load(path)


def test_safe_mode_refuses_a_subsystem_that_imports_a_module(tmp_path):
    path = edit(DATA / "subsystem.bd", tmp_path / "mod.bd", "SUBSYSTEM", "subsys", "os")
    with pytest.raises(UnsafeExpressionError, match="'subsys': 'os' names a Python module, which importing would run"):
        L.load(path)


@pytest.mark.parametrize("text", [
    "1", "-2.5e-3", "2*pi", "pi/2 + 1", "np.pi", "math.sqrt(2) ** 3", "[1, 2, [3, 4]]", "(1, 2)", "{'color': 'r'}",
    "np.array([1.0, -2.0]) / 4", "np.diag([1, 2, 3])", "np.eye(2) @ np.ones(2)", "np.polymul([1, 1], [2, 1])",
    "np.linspace(0, 1, 5)", "np.array([[0, 1], [-2, -3]])", "max(1, 2) + abs(-3)", "10 // 3 % 2", "3 ** 2 ** 2",
    "np.array([1, 2], dtype=float)", "np.zeros((2, 3))", "1j * 2", "None", "True", "'text'",
])
def test_what_safe_mode_evaluates_equals_pythons_eval(text):
    expected = eval(text, {"np": np, "math": math, "pi": math.pi})  # the reference: what bdsim's loader would do
    got = safe_eval(text)
    assert type(got) is type(expected)
    if isinstance(expected, np.ndarray):
        assert got.dtype == expected.dtype and np.array_equal(got, expected)
    else:
        assert got == expected


@pytest.mark.parametrize("text, reason", [
    ("lambda x: x", "a lambda"), ("print", "the name 'print' (a Python builtin)"), ("np", "the module 'np'"),
    ("np.load('f')", "the attribute 'np.load'"), ("x[0]", "indexing"), ("[1] * 3", "arithmetic on a list"),
    ("'a' * 10 ** 9", "arithmetic on a str"), ("9 ** 9 ** 9", "the integer power"),
    ("np.zeros(10 ** 9)", "np.zeros making 1e+09 elements"), ("np.diag(np.ones(10 ** 5))", "np.diag making 1e+10"),
    ("np.ones((10 ** 5, 1)) @ np.ones((1, 10 ** 5))", "the product @ making 1e+10"),
    ("np.ones((10 ** 5, 1)) + np.ones(10 ** 5)", "the arithmetic making 1e+10"), ("max(np.sin)", "a function"),
    ("f'{1}'", "an f-string"), ("-" * 100_000 + "1", "too"),
])
def test_safe_mode_refusals_say_what(text, reason):
    with pytest.raises(UnsafeExpressionError) as err:
        safe_eval(text)
    assert reason in one_line(err)


def test_bare_words_stay_text_as_with_bdsim():
    """A string that is not an expression ("+-") or a bare word ("auto") is the string itself."""
    bd = L.load(EG1)
    assert bd.blocklist[1].signs == "+-" and bd.blocklist[4].scale == "auto"


# --------------------------------------------------------------------------- files that are not diagrams


def write(tmp_path, text) -> Path:
    path = tmp_path / "bad.bd"
    path.write_text(text)
    return path


def mutate(tmp_path, change) -> Path:
    model = json.loads(EG1.read_text())
    change(model)
    return write(tmp_path, json.dumps(model))


def drop_wire_to_gain(model):
    gain = next(b for b in model["blocks"] if b["block_type"] == "GAIN")
    model["wires"] = [w for w in model["wires"] if w["end_socket"] != gain["inputs"][0]["id"]]


@pytest.mark.parametrize("make, message", [
    (lambda p: write(p, "not json"), "not a bdedit diagram (not JSON"),
    (lambda p: write(p, '{"wires": []}'), 'the JSON has no list of "blocks"'),
    (lambda p: mutate(p, lambda m: m["blocks"][0].update(block_type="NOSUCH")), "has the type 'NOSUCH'"),
    (lambda p: mutate(p, drop_wire_to_gain), "block 'Gain Block' (GAIN) input 0 is not connected"),
    (lambda p: mutate(p, lambda m: m["blocks"][1].update(title="Gain Block")), "two blocks are named 'Gain Block'"),
    (lambda p: mutate(p, lambda m: m["blocks"][2].update(parameters=[["K", "=1/0"]])),
     "parameter 'K': '=1/0' cannot be evaluated: ZeroDivisionError"),
    (lambda p: mutate(p, lambda m: m["blocks"][2].update(parameters=[["Kay", 1]])),
     "block 'Gain Block' (GAIN) cannot be made from its parameters"),
    (lambda p: mutate(p, lambda m: m["wires"][0].update(start_socket=12345)), "which is no block's output"),
    (lambda p: mutate(p, lambda m: m.update(simulation_time="ten")), "not a number of seconds"),
])
def test_a_bad_file_is_one_line_naming_the_file(tmp_path, make, message):
    path = make(tmp_path)
    with pytest.raises(BdFileError) as err:
        L.load(path)
    text = one_line(err)
    assert text.startswith(f"{path}: ") and message in text, text


def test_a_missing_file_says_so():
    with pytest.raises(FileNotFoundError, match=r"nope\.bd: no such file"):
        L.load("nope.bd")


# --------------------------------------------------------------------------- lstmds run / render / inspect FILE.bd


def refused(capsys, argv, pattern):
    try:
        status = cli.main(argv)
    except SystemExit as stop:  # an option's mistake, from argparse (exit status 2 all the same)
        status = stop.code
    assert status == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    assert re.search(pattern, err), err


def test_lstmds_run_writes_results_and_the_scope_figure(tmp_path):
    """The `lstmds` command in a fresh process: results.json with t, the SCOPE's inputs, and its PNG."""
    out = tmp_path / "eg1"
    proc = subprocess.run([sys.executable, "-m", "lstmds_sim.io.cli", "run", str(EG1), "--out", str(out),
                           "--dt", "0.01", "--T", "4"], check=False, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "T = 4 s (from --T), 400 steps of 0.01 s, safe mode" in proc.stdout
    results = json.loads((out / "results.json").read_text())
    assert results["lab"] == "eg1.bd" and results["steps"] == 400 and results["safe"] is True
    t = np.array(results["t"])
    np.testing.assert_allclose(t, 0.01 * np.arange(400), rtol=0, atol=1e-12)
    assert results["scopes"] == {"Scope Block": {"inputs": ["Lti_siso Block", "Step Block"],
                                                 "figure": "Scope_Block.png"}}
    np.testing.assert_allclose(np.ravel(results["signals"]["Lti_siso Block"]), eg1_exact(t), rtol=0, atol=1e-6)
    np.testing.assert_array_equal(np.ravel(results["signals"]["Step Block"]), (t >= 1.0).astype(float))
    assert results["events"] == [] and results["files"] == ["Scope_Block.png"]
    png = (out / "Scope_Block.png").read_bytes()
    assert png.startswith(b"\x89PNG") and len(png) > 10_000


def test_lstmds_run_takes_the_time_from_the_file_and_the_step_from_the_clock(tmp_path, capsys):
    out = tmp_path / "discrete"
    assert cli.main(["run", str(DATA / "discrete.bd"), "--out", str(out)]) == 0
    assert "T = 5 s (from the file), 10 steps of 0.5 s" in capsys.readouterr().out
    results = json.loads((out / "results.json").read_text())
    assert np.ravel(results["recorders"]["count"]).tolist() == list(range(10))
    assert results["scopes"]["counter"] == {"inputs": ["z"], "figure": "counter.png"}
    assert (out / "counter.png").stat().st_size > 5_000


def test_lstmds_run_unsafe(tmp_path, capsys):
    refused(capsys, ["run", str(DATA / "lambda.bd"), "--out", str(tmp_path / "a")], r"--unsafe\) only if you trust")
    assert not (tmp_path / "a").exists()  # refused before the folder was made
    assert cli.main(["run", str(DATA / "lambda.bd"), "--out", str(tmp_path / "a"), "--dt", "0.5", "--unsafe"]) == 0
    results = json.loads((tmp_path / "a" / "results.json").read_text())
    assert results["safe"] is False and np.ravel(results["recorders"]["y"]).tolist() == [1.0] + [3.0] * 3


def test_lstmds_render_and_inspect_a_bd_file(tmp_path, capsys):
    out = tmp_path / "render"
    assert cli.main(["render", str(EG1), "--out", str(out)]) == 0
    loops = json.loads((out / "eg1.loops.json").read_text())
    assert loops["diagram"] == "eg1" and [loop["delay"] for loop in loops["loops"]] == ["Lti_siso Block"]
    assert sorted(loops["files"]) == ["eg1.png", "eg1.svg"]
    pytest.importorskip("bokeh")
    out = tmp_path / "inspect"
    assert cli.main(["inspect", str(EG1), "--out", str(out), "--dt", "0.05"]) == 0
    record = json.loads((out / "eg1.inspect.json").read_text())
    assert record["files"] == ["eg1.html"] and record["steps"] == 100  # the file's 5 s in steps of 0.05 s
    page = (out / "eg1.html").read_text()
    assert 'data-signal="Lti_siso Block"' in page and 'data-signal="Gain Block"' in page


@pytest.mark.parametrize("argv, pattern", [
    (["run", "no_such_file.bd"], r"no_such_file\.bd: no such file"),
    (["render", "no_such_file.bd"], r"no_such_file\.bd: no such file"),
    (["run", "diagram.json"], r"'diagram\.json' is neither a lab nor a diagram file"),
    (["inspect", "some/where"], r"'some/where' is neither a lab nor a diagram file"),
    (["run", str(EG1)], r"continuous states \(block 'Lti_siso Block'\) and no clock: give .* --dt 0\.01"),
    (["inspect", str(EG1)], r"continuous states .* --dt"),
    (["run", str(EG1), "--dt", "0.01", "--T", "0.001"], r"shorter than one step"),
    (["run", str(EG1), "--T", "-1"], r"--T: must be a finite number of seconds > 0"),
    (["render", str(DATA / "lambda.bd")], r"safe mode does not evaluate a lambda"),
])
def test_lstmds_bad_inputs_are_one_line_exit_2(tmp_path, capsys, argv, pattern):
    refused(capsys, [*argv, "--out", str(tmp_path / "o")], pattern)
    assert not (tmp_path / "o").exists()


def test_lstmds_refuses_a_file_that_is_not_a_diagram(tmp_path, capsys):
    bad = write(tmp_path, "[1, 2]")
    refused(capsys, ["run", str(bad), "--out", str(tmp_path / "o")], r"bad\.bd: not a bdedit diagram")
