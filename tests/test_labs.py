"""The labs run headless, print their numbers, and write figures and results.json safely."""

import json

import numpy as np
import pytest

from lstmds_sim import cli


def test_lab_list_names_the_labs(capsys):
    cli.main(["list"])
    listed = capsys.readouterr().out
    assert "lstm_layer" in listed and "lstm_stack" in listed


def test_lstm_layer_lab(tmp_path, capsys):
    out = tmp_path / "lab1"
    cli.main(["run", "lstm_layer", "--out", str(out)])
    printed = capsys.readouterr().out
    assert "first five output samples" in printed
    results = json.loads((out / "results.json").read_text())
    assert results["sizes"] == {"Nn": 3, "Ni": 4, "No": 2, "Ts": 0.1, "samples": 51, "seed": 0}
    assert results["n_params"] == 4 * 3 * 4 + 4 * 9 + 4 * 3 + 2 * 3 + 2
    assert results["norm_difference"] <= 1e-12
    assert max(results["crosscheck_max_abs_error"].values()) <= 1e-12
    first = np.array(results["first_five_outputs"]["diagram"])
    assert first.shape == (5, 2) and np.all(np.isfinite(first))
    for name in ("lstm_layer_output.png", "lstm_layer_output.svg", "lstm_layer_diagram.png", "lstm_layer_diagram.svg"):
        assert (out / name).stat().st_size > 1000
        assert name in results["files"]
    assert (out / "lstm_layer_output.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # re-running into the same folder replaces only what lstmds wrote
    cli.main(["run", "lstm_layer", "--out", str(out), "--seed", "1"])
    assert json.loads((out / "results.json").read_text())["sizes"]["seed"] == 1


def test_labs_do_not_overwrite_foreign_files(tmp_path):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "lstm_layer_output.png").write_text("my own picture")
    with pytest.raises(FileExistsError, match="not written by an earlier lstmds run"):
        cli.main(["run", "lstm_layer", "--out", str(out)])
    assert (out / "lstm_layer_output.png").read_text() == "my own picture"
    (out / "lstm_layer_output.png").unlink()
    (out / "results.json").write_text('{"mine": true}')
    with pytest.raises(FileExistsError, match="was not written by lstmds"):
        cli.main(["run", "lstm_layer", "--out", str(out)])


def test_lstm_stack_lab(tmp_path, capsys):
    out = tmp_path / "stack"
    cli.main(["run", "lstm_stack", "--out", str(out)])
    printed = capsys.readouterr().out
    assert "120,000" in printed
    results = json.loads((out / "results.json").read_text())
    assert results["two_layer_100_unit_R_and_W2"] == 120_000
    assert results["norm_difference"] <= 1e-12
    assert any(k.startswith("lstm2/") for k in results["crosscheck_max_abs_error"])
    table = {(r["Ni"], r["Nn"]): r["total"] for r in results["parameter_table"]}
    assert table[(100, 100)] == 4 * 100 * 100 * 2 + 400


def test_render_command_finds_the_two_lstm_loops(tmp_path, capsys):
    cli.main(["render", "lstm_layer", "--out", str(tmp_path)])
    printed = capsys.readouterr().out
    assert "loop closed by 'cell state'" in printed and "loop closed by 'hidden state'" in printed
    results = json.loads((tmp_path / "results.json").read_text())
    delays = [loop["delay"] for loop in results["loops"]]
    assert delays == ["cell state", "hidden state"]
    inner = set(results["loops"][0]["blocks"])
    assert inner == {"cell state", "f*c", "sum c"}
    svg = (tmp_path / "lstm_layer.svg").read_text()
    assert "cell state" in svg and "hidden state" in svg


def test_unknown_lab_is_a_clear_error():
    with pytest.raises(SystemExit, match="no lab named 'nope'"):
        cli.main(["run", "nope"])


def test_lstm_vs_linear_lab(tmp_path, capsys):
    out = tmp_path / "lab2"
    cli.main(["run", "lstm_vs_linear", "--out", str(out)])
    results = json.loads((out / "results.json").read_text())
    reference = results["reference_system"]
    assert reference["n_states"] == 4 and reference["D"] == [[0.0]]
    assert abs(reference["steady_state_gain"][0][0] - 5e5 * 4 / (106 * 2504)) < 1e-9
    # the LSTM with computed weights reproduces the system: ~1e-6 against an output norm of ~50
    assert results["norm_difference"] < 1e-5 * results["norm_y_true"]
    # error shrinks like scale^2 from 1e-2 to 1e-5, for both constructions
    for row in results["accuracy_table"][1:5]:
        assert 80 < row["ratio_n+m"] < 120 and 80 < row["ratio_n"] < 120
    # cubic error term: tripling the input multiplies the error by about 27
    assert 24 < results["linearity_test"]["ratio"] < 30
    trip = results["round_trip"]
    assert trip["max_relative_frequency_response_difference"] < 1e-9
    assert trip["extracted"]["n_states"] == 5
    for name in ("response", "accuracy", "pzmap", "diagram"):
        assert (out / f"lstm_vs_linear_{name}.png").exists()
    assert "norm(y_net - y_true)" in capsys.readouterr().out


def test_lstm_vs_linear_is_one_diagram_with_both_systems():
    from lstmds_sim.diagrams.lstm_vs_linear import build_diagram

    bd = build_diagram()
    types = [b.type for b in bd.blocklist]
    assert types.count("dss") == 1 and types.count("unitdelay") == 2 and types.count("sequence") == 1
