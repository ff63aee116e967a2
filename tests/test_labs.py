"""The labs run headless, print their numbers, and write figures and results.json safely.

The quick labs (lstm_layer, lstm_stack, lstm_vs_linear) run whole here. The others take seconds even
when cut short (JAX compilation, the drawn tank over the identification input, figures), so their
end-to-end runs are marked slow (CI runs them; full-size runs are in test_slow.py, and every lab's
output is compared across two processes there); the fast suite checks their set-ups and diagrams
against independent references, and runs the scenario sweep on a given model (no training).
"""

import json
import re

import numpy as np
import pytest

from lstmds_sim.io import cli


def refused(capsys, argv, pattern):
    """The command stops with exit status 2 and a one-line message matching ``pattern``."""
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("lstmds: error: ") and "Traceback" not in err
    assert re.search(pattern, err), err


def test_lab_list_names_the_labs(capsys):
    cli.main(["list"])
    listed = capsys.readouterr().out
    assert "lstm_layer" in listed and "lstm_stack" in listed


@pytest.mark.slow  # the whole lab, figures and inspector page included
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
    # the example's set-up (Campa section 1): weights and initial states uniform in (0, 1), no output bias;
    # the first outputs against the textbook LSTM of test_matrix (math.exp, independent of lstmds_sim)
    from test_matrix import scalar_reference

    from lstmds_sim.diagrams.lstm_layer import example

    params, h0, c0, u = example(0)
    for name in ("W", "R", "b", "F"):
        weights = getattr(params, name)
        assert weights.min() > 0 and weights.max() < 1 and weights.std() > 0.2, name
    assert not np.any(params.bF) and np.all((h0 > 0) & (h0 < 1)) and np.all((c0 > 0) & (c0 < 1))
    assert u.shape == (51, 4) and abs(u.std() - 1) < 0.15
    first = np.array(results["first_five_outputs"]["diagram"])
    np.testing.assert_allclose(first, scalar_reference(params, u[:5], h0, c0), rtol=0, atol=1e-12)
    for name in ("lstm_layer_output.png", "lstm_layer_output.svg", "lstm_layer_diagram.png", "lstm_layer_diagram.svg"):
        assert (out / name).stat().st_size > 1000
        assert name in results["files"]
    assert (out / "lstm_layer_output.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # the lab ends by saying where its files are
    files = ", ".join(sorted(results["files"] + ["results.json"]))
    assert printed.strip().splitlines()[-1] == f"files in {out}: {files}"
    assert "lstm_layer_loops.png" in results["files"]  # the two loops at work: c, f and h
    low, high = results["forget_gate_range"]
    assert 0 < low < high < 1
    # (re-running a lab into its folder: test_outdir, and the slow Ctrl-C test there with this lab)


@pytest.mark.slow  # end to end, several seconds
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


@pytest.mark.slow  # end to end, several seconds
def test_render_command_finds_the_two_lstm_loops(tmp_path, capsys):
    cli.main(["render", "lstm_layer", "--out", str(tmp_path)])
    printed = capsys.readouterr().out
    assert "loop closed by 'cell state'" in printed and "loop closed by 'hidden state'" in printed
    results = json.loads((tmp_path / "lstm_layer.loops.json").read_text())
    delays = [loop["delay"] for loop in results["loops"]]
    assert delays == ["cell state", "hidden state"]
    inner = set(results["loops"][0]["blocks"])
    assert inner == {"cell state", "f*c", "sum c"}
    svg = (tmp_path / "lstm_layer.svg").read_text()
    assert "cell state" in svg and "hidden state" in svg
    # several diagrams share a render folder, and rendering again replaces only lstmds's own files
    cli.main(["render", "lstm_stack", "--out", str(tmp_path)])
    cli.main(["render", "lstm_layer", "--out", str(tmp_path)])
    assert (tmp_path / "lstm_stack.loops.json").exists() and not (tmp_path / "results.json").exists()


def test_out_must_be_a_folder(tmp_path, capsys):
    (tmp_path / "afile").write_text("x")
    refused(capsys, ["run", "lstm_layer", "--out", str(tmp_path / "afile")], "is a file; give a folder")


def test_unknown_lab_is_a_clear_error(capsys):
    refused(capsys, ["run", "nope"], r"no lab named 'nope'; the labs are: lstm_layer, lstm_stack, ")


@pytest.mark.slow  # end to end, several seconds
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
    assert [row["scale"] for row in results["accuracy_table"]] == [1e-1, 1e-2, 1e-3, 1e-4, 1e-5, 1e-6, 1e-7]
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


def state_space_response(system, u):
    """y of a discrete state-space system from rest, by the recursion itself (independent of scipy's dlsim)."""
    x = np.zeros(system.A.shape[0])
    y = np.empty((len(u), system.C.shape[0]))
    for k, uk in enumerate(u):
        y[k] = system.C @ x + system.D @ uk
        x = system.A @ x + system.B @ uk
    return y


def test_training_labs_start_from_the_examples_set_up():
    """What lab 4 and lab 5 train on and start from (their training runs are the slow tests below)."""
    from lstmds_sim.core.crosscheck import crosscheck
    from lstmds_sim.core.matrix import simulate
    from lstmds_sim.diagrams import training_basin, training_random
    from lstmds_sim.systems.lti import describe

    system, start, (u, y), u_val = training_basin.setup(0)
    assert system.dt == 0.01 and u.shape == (1001, 1) and u_val.shape == (51, 1)
    assert abs(describe(system)["steady_state_gain"][0][0] - 5e5 * 4 / (106 * 2504)) < 1e-9
    np.testing.assert_allclose(y, state_space_response(system, u), rtol=1e-10, atol=1e-12)
    # lab 4 starts from the weights computed from (A, B, C, D): they already reproduce the system
    y_val = state_space_response(system, u_val)
    assert np.linalg.norm(simulate(start, u_val).y - y_val) < 1e-3 * np.linalg.norm(y_val)
    assert start.n_units == 5 and crosscheck(start, u_val, Ts=0.01).worst[1] <= 1e-12  # diagram = matrices
    # lab 5 starts from random weights: all uniform(0, 1), output bias 0, as in the example
    for seed in (0, 1):
        p = training_random.random_start(seed)
        weights = np.concatenate([getattr(p, name).ravel() for name in ("W", "R", "b", "F")])
        assert weights.size == 145 and weights.min() > 0 and weights.max() < 1
        assert abs(weights.mean() - 0.5) < 0.1 and abs(weights.std() - 12**-0.5) < 0.05  # uniform(0, 1)
        assert p.n_units == 5 and not np.any(p.bF)
    assert not np.array_equal(training_random.random_start(0).W, training_random.random_start(1).W)


@pytest.mark.slow
def test_training_basin_lab_short(tmp_path):
    out = tmp_path / "lab3"
    cli.main(["run", "training_basin", "--out", str(out), "--epochs", "200", "--learning-rates", "1e-4", "1e-2"])
    results = json.loads((out / "results.json").read_text())
    runs = results["runs"]
    assert [(r["realization"], r["learning_rate"]) for r in runs] == [("balanced", 1e-4), ("balanced", 1e-2), ("canonical", 1e-4)]
    for run in runs:
        assert len(run["history_every_100"]) == 3 and run["best_epoch"] == 0  # lowest loss at the start
        assert run["final_loss"] > run["initial_loss"]
        # only the cell-candidate gate (A, B, b_g) and the output layer are pulled by the data
        assert max(run["weight_changes"][k] for k in ("R_i", "R_f", "R_o")) < 1e-3 < run["weight_changes"]["F"]
    assert runs[1]["final_loss"] > runs[0]["final_loss"]  # larger learning rate ends worse
    assert results["reloaded_crosscheck_max_abs_error"] <= 1e-12
    assert (out / "trained_lr0.0001.npz").exists()


@pytest.mark.slow
def test_training_random_lab_short(tmp_path):
    out = tmp_path / "lab4"
    cli.main(["run", "training_random", "--out", str(out), "--epochs", "150", "--seeds", "2",
              "--drop-factors", "0.979", "0.981"])
    results = json.loads((out / "results.json").read_text())
    table = results["sensitivity_table"]
    assert [(r["drop_factor"], r["seed"]) for r in table] == [(0.979, 0), (0.979, 1), (0.981, 0), (0.981, 1)]
    assert all(r["final_loss"] < r["initial_loss"] for r in table)  # from random weights the loss falls
    assert results["summary"]["min_distance_from_computed"] > 10  # far from the computed weights
    variant = results["nn_equals_n_variant"]
    assert variant["units"] == 4
    assert variant["before_vs_reproduced_system"]["norm_difference"] < 1e-2 < variant["before"]["norm_difference"]
    assert results["reloaded_crosscheck_max_abs_error"] <= 1e-12


def test_ph_plant_lab_diagrams_step_like_the_simulator_and_settle_at_the_steady_states():
    """Lab 6's step responses (its whole run, with the drawn tank on the identification input and solve_ivp,
    is the slow test below): the sealed block for the lab's batch of steps against simulate_plant and the
    algebraic steady states; the drawn tank against both on the first samples."""
    from lstmds_sim import run
    from lstmds_sim.diagrams.ph_plant import STEPS, SUBSTEPS, build_diagram, step_input
    from lstmds_sim.systems.ph_plant import simulate_plant, steady_state

    q3 = step_input()
    assert q3.shape == (len(STEPS), 150, 1) and np.all(q3[:, :10] == 15.55)
    sealed = run(build_diagram(q3, sealed=True)).recorders["pH"][..., 0]
    simulated = simulate_plant(q3[..., 0], steady_state(15.55).x, Ts=10.0, substeps=SUBSTEPS).y
    np.testing.assert_allclose(sealed, simulated, rtol=0, atol=1e-12)
    assert abs(sealed[0, 0] - 7.0002) < 5e-5  # the nominal operating point
    settled = [float(steady_state(15.55 + step).pH) for step in STEPS]
    np.testing.assert_allclose(sealed[:, -1], settled, atol=2e-3)  # settled after 1400 s
    drawn = run(build_diagram(q3[:, :20]), substeps=SUBSTEPS).recorders["pH"][..., 0]
    np.testing.assert_allclose(drawn, simulated[:, :20], rtol=0, atol=1e-10)
    assert np.ptp(drawn[-1]) > 0.1  # the drawn tank moves with the step


@pytest.mark.slow
def test_ph_plant_lab(tmp_path):
    out = tmp_path / "lab5"
    cli.main(["run", "ph_plant", "--out", str(out)])
    results = json.loads((out / "results.json").read_text())
    assert abs(results["facts"]["steady pH at q3 = 15.55"] - 7.0002) < 5e-5
    assert 6 < results["facts"]["gain ratio over 12.5-17 ml/s"] < 12
    steps = results["step_responses"]
    np.testing.assert_allclose(steps["final_pH"], steps["steady_pH"], atol=2e-3)  # settled after 1400 s


def test_ph_identification_diagram_runs_the_plant_and_the_lstm_side_by_side():
    """Figure 2's hybrid diagram (lab 7), on a short input: the drawn tank is the plant simulator (the same
    RK4 steps), and the LSTM branch (normalise, LSTM block in state-space form, denormalise) is the
    matrices' network, worked out here by hand."""
    from lstmds_sim import IdentifiedModel, LSTMParams, run
    from lstmds_sim.core.matrix import simulate
    from lstmds_sim.diagrams.ph_identification import build_diagram
    from lstmds_sim.systems.ph_plant import DEFAULT_SUBSTEPS, simulate_plant

    model = IdentifiedModel(LSTMParams.random(1, 5, 1, rng=4, low=-0.6, high=0.6, output_bias=True),
                            15.0, 2.5, 7.0, 1.5, 10.0)
    q3 = np.r_[np.full(5, 15.55), np.full(15, 16.5), np.full(15, 13.0)]
    rng = np.random.default_rng(5)
    h0, c0 = rng.uniform(-1, 1, 5), rng.uniform(-1, 1, 5)
    result = run(build_diagram(model, q3, h0=h0, c0=c0), substeps=DEFAULT_SUBSTEPS)
    plant, lstm = result.recorders["plant pH"][:, 0], result.recorders["LSTM pH"][:, 0]
    np.testing.assert_allclose(plant, simulate_plant(q3, Ts=10.0, substeps=DEFAULT_SUBSTEPS).y, rtol=0, atol=1e-10)
    by_hand = simulate(model.params, ((q3 - 15.0) / 2.5)[:, None], h0, c0, form="statespace").y[:, 0] * 1.5 + 7.0
    np.testing.assert_allclose(lstm, by_hand, rtol=0, atol=1e-12)
    np.testing.assert_allclose(lstm, model.predict(q3, h0, c0), rtol=0, atol=1e-12)
    assert np.ptp(lstm) > 0.1 and np.ptp(plant) > 0.5  # both branches respond to the steps


@pytest.mark.slow
def test_ph_identification_lab_short(tmp_path):
    out = tmp_path / "lab6"
    cli.main(["run", "ph_identification", "--out", str(out), "--max-iter", "60"])
    results = json.loads((out / "results.json").read_text())
    assert results["constrained"]["iss_satisfied"] and max(results["constrained"]["iss_left_hand_sides"]) < 1
    assert len(results["constrained"]["optimizer_constraints_before_repair"]) == 2
    # Figure 2's FITs are on normalised data like the training runs': there (mean about 0) the two
    # definitions nearly agree, while on raw pH (mean 7) (12) would read several points higher
    fig2 = results["figure_2"]["vs_measured"]
    assert abs(fig2["fit_paper_percent"] - fig2["fit_mean_percent"]) < 1
    assert results["figure_2"]["lstm_block_vs_matrix_max_abs"] <= 1e-9
    assert results["constrained"]["fit_mean_percent"] > 50
    from lstmds_sim.learning.model import IdentifiedModel

    model = IdentifiedModel.load(out / "lstm_iss_model.npz")
    assert model.params.n_units == 5 and model.params.n_params == 146
    assert (out / "identification_data.csv").exists()


@pytest.mark.slow  # end to end, several seconds
def test_scenario_command_on_a_given_model(tmp_path, capsys):
    """The sweep on a model file (no training): N by hand, the two LSTM paths and the plant paths agree,
    and the guaranteed bounds are never beaten by the scenarios."""
    from lstmds_sim import IdentifiedModel, LSTMParams

    model = IdentifiedModel(LSTMParams.random(1, 5, 1, rng=2, low=-0.3, high=0.3, output_bias=True),
                            15.0, 2.0, 7.0, 2.0, 10.0)
    path = model.save(tmp_path / "model.npz")
    out = tmp_path / "lab7"
    cli.main(["scenario", "--out", str(out), "--model", str(path), "--eps", "0.2", "--beta", "0.1",
              "--rho-u", "0.5", "1.0", "--horizon", "60", "--posterior", "20"])
    results = json.loads((out / "results.json").read_text())
    # (11): ceil(2/eps (ln 1/beta + d)) = ceil(10 (ln 10 + 1)) = 34; exact: ceil(ln 0.1 / ln 0.8) = 11
    assert results["N"] == 34 and results["N_exact"] == 11 and results["model"] == str(path)
    assert [row["rho_u"] for row in results["sweep"]] == [0.5, 1.0]
    for row in results["sweep"]:
        assert row["diagram_vs_matrix_max_abs"] <= 1e-9 and abs(row["rho_y_lstm"] - row["rho_y_lstm_matrix"]) <= 1e-9
        assert row["plant_block_vs_simulator_max_abs"] <= 1e-12
        assert row["rho_y_lstm_after_transient"] <= row["rho_y_lstm"]
        assert row["lyapunov_bound"] >= row["analytic_iss_bound"] >= row["rho_y_lstm"] > 0
        assert row["analytic_iss_bound"] < results["trivial_output_bound"]
        post = row["posterior"]
        assert post["fresh_scenarios"] == 20 and 0 <= post["ci99"][0] <= post["p_hat"] <= post["ci99"][1]
    low, high = results["sweep"]
    assert high["rho_y_plant"] > low["rho_y_plant"]  # larger flow steps, larger pH excursions
    assert not (out / "lstm_iss_model.npz").exists()  # given a model, nothing was trained
    assert (out / "scenario_safety_fig3b.png").exists() and "rho_u 1.0" in capsys.readouterr().out


@pytest.mark.slow
def test_scenario_command_small_sweep(tmp_path, capsys):
    out = tmp_path / "lab7"
    cli.main(["scenario", "--out", str(out), "--eps", "0.2", "--beta", "0.1", "--rho-u", "0.5", "1.0",
              "--horizon", "120", "--max-iter", "30"])
    results = json.loads((out / "results.json").read_text())
    # by hand: (11) gives ceil(2/eps (ln 1/beta + d)) = ceil(10 (ln 10 + 1)) = 34; the exact bound with
    # d = 1 is the smallest N with (1 - eps)^N <= beta: ceil(ln 0.1 / ln 0.8) = 11
    assert results["N"] == 34 and results["N_exact"] == 11
    assert [row["rho_u"] for row in results["sweep"]] == [0.5, 1.0]
    for row in results["sweep"]:
        assert row["diagram_vs_matrix_max_abs"] <= 1e-9  # the two LSTM paths agree
        assert abs(row["rho_y_lstm"] - row["rho_y_lstm_matrix"]) <= 1e-9
        assert row["rho_y_lstm_after_transient"] <= row["rho_y_lstm"]
        # valid bounds from the scenario class's state box hold from k = 0: never beaten
        assert row["lyapunov_bound"] >= row["analytic_iss_bound"] >= row["rho_y_lstm"]
        assert row["analytic_iss_bound"] < results["trivial_output_bound"]  # and informative
        post = row["posterior"]
        assert post["fresh_scenarios"] == results["N"] and 0 <= post["ci99"][0] <= post["p_hat"] <= post["ci99"][1]
    for row in results["sweep"]:  # the plant block equals the plant simulator
        assert row["plant_block_vs_simulator_max_abs"] <= 1e-12
    assert (out / "scenario_safety_fig3b.png").exists() and (out / "lstm_iss_model.npz").exists()


# --------------------------------------------------------------------------- the one switch for small settings
def test_one_switch_makes_the_long_labs_small_and_options_still_win(monkeypatch):
    from lstmds_sim.diagrams import ph_identification, ph_plant, training_basin, training_random

    labs = (training_basin, training_random, ph_plant, ph_identification)
    monkeypatch.delenv("LSTMDS_QUICK", raising=False)
    full = [vars(lab.lab_options().parse_args([])) for lab in labs]
    monkeypatch.setenv("LSTMDS_QUICK", "1")
    quick = [vars(lab.lab_options().parse_args([])) for lab in labs]
    assert (full[0]["epochs"], quick[0]["epochs"]) == (10_000, 300)
    assert (full[1]["epochs"], full[1]["seeds"], full[1]["drop_factors"]) == (10_000, 5, [0.979, 0.98, 0.981])
    assert (quick[1]["epochs"], quick[1]["seeds"], quick[1]["drop_factors"]) == (300, 2, [0.979, 0.981])
    assert (full[2]["cross_check_samples"], full[2]["reference_samples"]) == (None, 300)
    assert (quick[2]["cross_check_samples"], quick[2]["reference_samples"]) == (600, 100)
    assert (full[3]["max_iter"], quick[3]["max_iter"]) == (1500, 60)
    assert training_basin.lab_options().parse_args(["--epochs", "50"]).epochs == 50  # the command line wins
    monkeypatch.setenv("LSTMDS_QUICK", "0")
    assert training_basin.lab_options().parse_args([]).epochs == 10_000


# --------------------------------------------------------------------------- progress of long work
class FakeClock:
    def __init__(self):
        self.now = 100.0

    def monotonic(self):
        return self.now


def test_reporter_lines_are_labelled_at_most_one_per_interval_and_end_where_the_work_stopped(monkeypatch, capsys):
    from lstmds_sim.core import progress

    clock = FakeClock()
    monkeypatch.setattr(progress, "time", clock)
    with progress.Reporter("lines", 50, label="SLSQP demo", unit="iteration", every_s=5.0, announce=True) as r:
        for k in range(1, 31):  # 30 iterations, one a second: a line at 5, 10, ..., 30 s
            clock.now += 1.0
            r.show(k, text=f"loss {1.0 / k:.3f}")
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "SLSQP demo: 50 iterations ..."
    shown = [line for line in lines if ": iteration" in line]
    assert [line.split()[3] for line in shown] == ["5/50", "10/50", "15/50", "20/50", "25/50", "30/50"]
    assert shown[-1] == "SLSQP demo: iteration 30/50  loss 0.033"  # stopped early: its last point is said
    assert lines[-1] == "SLSQP demo: done in 30.0 s"


def test_reporter_lines_by_default_say_every_update_as_training_does(capsys):
    from lstmds_sim.core.progress import Reporter

    r = Reporter("lines", 300, label="lr 1e-3")
    for done in (100, 200, 300):
        r.update(done, 100, 0.5, 1e-3)
    r.close()
    assert capsys.readouterr().out.splitlines() == [
        f"lr 1e-3: epoch {k}/300  loss 5.000e-01  lr 1.0e-03" for k in (100, 200, 300)]


def test_reporter_says_it_is_still_working_during_a_long_silent_step(capsys):
    import time

    from lstmds_sim.core.progress import Reporter

    with Reporter("lines", 3, label="compiling", unit="step", heartbeat_s=0.1):
        time.sleep(1.5)  # nothing reported for 15 heartbeat intervals
    lines = capsys.readouterr().out.splitlines()
    assert lines and all(re.fullmatch(r"compiling: still working \(\d+ s, 0/3 steps\)", line) for line in lines)


class FakeDisplay:
    """Stands in for IPython.display.display: records what a notebook cell would show, and each redraw."""

    def __init__(self):
        self.shown = []  # one list of drawings per display() call: the output as it was redrawn

    def __call__(self, data, *, raw=False, display_id=False):
        assert raw and display_id is True  # an output that can be redrawn in place
        drawings = [data["text/plain"]]
        self.shown.append(drawings)

        class Handle:
            def update(self, new, *, raw=False):
                drawings.append(new["text/plain"])

        return Handle()


def test_a_long_step_in_a_notebook_is_one_output_redrawn_in_place_not_a_line_per_iteration(monkeypatch, capsys):
    """What the SLSQP log was in a notebook (one output per iteration) becomes one bar: displayed once,
    redrawn at most a few times a second, its last drawing the end of the work."""
    import IPython.display

    from lstmds_sim.core import progress

    clock, screen = FakeClock(), FakeDisplay()
    monkeypatch.setattr(progress, "time", clock)
    monkeypatch.setattr(IPython.display, "display", screen)
    with progress.Reporter("notebook", 500, label="SLSQP demo", unit="iteration", every_s=5.0, announce=True) as r:
        for k in range(1, 501):  # 500 iterations, 20 a second
            clock.now += 0.05
            r.show(k, text=f"loss {1.0 / k:.3f}")
    assert capsys.readouterr().out == ""  # nothing printed: no stream output in the cell
    assert len(screen.shown) == 1  # one output
    drawings = screen.shown[0]
    assert 50 <= len(drawings) <= 25 / progress._CellLine.EVERY_S + 3  # redrawn ~4 times a second, not 500
    assert drawings[0].startswith("SLSQP demo:   0%") and "0/500" in drawings[0]
    last = drawings[-1]
    assert last.startswith("SLSQP demo: 100%") and "500/500" in last and "loss 0.002" in last
    assert last.endswith("done in 25.0 s")


def test_progress_in_a_jupyter_kernel_is_the_notebook_output_elsewhere_lines(monkeypatch):
    import sys
    import types

    from lstmds_sim.core import progress

    monkeypatch.setattr(sys.stderr, "isatty", lambda: False, raising=False)
    shell = types.SimpleNamespace(config={"IPKernelApp": {}})
    monkeypatch.setitem(sys.modules, "IPython", types.SimpleNamespace(get_ipython=lambda: shell))
    monkeypatch.setattr(progress, "_CellLine", lambda label, total, unit: ("cell", label, total))
    assert progress.in_notebook()
    reporter = progress.Reporter(None, 10, label="in a kernel")
    assert reporter.cell == ("cell", "in a kernel", 10) and not reporter.lines and reporter.bar is None
    reporter.cell = None  # (the stand-in cannot be drawn)
    shell.config = {"TerminalIPythonApp": {}}  # IPython in a terminal: its output is a stream, not a cell
    assert not progress.in_notebook()
    assert progress.Reporter(None, 10, label="in a shell").lines


def test_slsqp_progress_says_below_1_only_beside_a_loop_gain_below_1(monkeypatch, capsys):
    """The unconstrained fit's loop gains (1.8541, 4.2002 in the full run) were shown with '(< 1)'."""
    from lstmds_sim.core import progress
    from lstmds_sim.learning.iss_training import ISSTrainOptions, _iteration_report, loop_gain_text

    clock = FakeClock()
    monkeypatch.setattr(progress, "time", clock)

    assert loop_gain_text(0.99904) == "0.9990 (< 1)" and loop_gain_text(1.8541) == "1.8541 (>= 1)"
    assert loop_gain_text(1.0) == "1.0000 (>= 1)" and loop_gain_text(0.99999) == "1.0000 (< 1)"
    assert loop_gain_text(float("nan")) == "nan (not < 1)"
    options = ISSTrainOptions(max_iter=2, margin=1e-3)
    lhs = {1: (0.9990, 0.9985), 2: (1.8541, 4.2002)}  # the left-hand sides at each iterate
    report = _iteration_report("lines", options, "demo", np.array([[0.0], [1.0]]),
                               lambda v: 1 - options.margin - np.array(lhs[v]))
    for k in (1, 2):
        clock.now += 6.0  # an iteration every 6 s: a line for each
        report(k, 0.1, k)
    report.close()
    lines = [line for line in capsys.readouterr().out.splitlines() if ": iteration" in line]
    assert lines[0].endswith("Theorem 4: 0.9990 (< 1), 0.9985 (< 1)")
    assert lines[1].endswith("Theorem 4: 1.8541 (>= 1), 4.2002 (>= 1)")
    for line in lines:  # never "(< 1)" beside a number that is not below 1
        for value, said in re.findall(r"(\d+\.\d+) \((< 1|>= 1)\)", line):
            assert (float(value) < 1) == (said == "< 1"), line


@pytest.mark.slow
def test_a_reporter_in_a_real_notebook_cell_leaves_one_output(tmp_path):
    """In a fresh kernel (nbclient, as lstmds notebook runs it): a step of 300 iterations with a heartbeat
    leaves one display output, drawn last at its end, and no stream output."""
    nbformat = pytest.importorskip("nbformat")
    from nbclient import NotebookClient

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(
        "import time\n"
        "from lstmds_sim.core.progress import HEARTBEAT_S, Reporter\n"
        "with Reporter(None, 300, label='demo step', unit='iteration', every_s=5.0, heartbeat_s=HEARTBEAT_S,\n"
        "              announce=True) as r:\n"
        "    for k in range(1, 301):\n"
        "        time.sleep(0.005)\n"
        "        r.show(k, text=f'loss {1 / k:.3f}')\n")]
    NotebookClient(nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    outputs = nb.cells[0].outputs
    assert [o.output_type for o in outputs] == ["display_data"]
    text = outputs[0].data["text/plain"]
    assert text.startswith("demo step: 100%") and "300/300" in text and "loss 0.003" in text and "done in" in text


def test_train_named_names_the_run_before_it_starts(capsys, monkeypatch):
    """The label comes first, before the (slow) first chunk; train()'s callable hook drives the lines."""
    from lstmds_sim.learning import experiments
    from lstmds_sim.learning.options import TrainOptions

    seen = []

    def fake_train(start, u, y, options, *, label, progress):
        print("first chunk")
        for epoch in (100, 200):
            progress(epoch, 0.5, 1e-3)
        seen.append(label)
        return "result"

    monkeypatch.setattr("lstmds_sim.learning.training.train", fake_train)
    assert experiments.train_named(None, None, None, TrainOptions(max_epochs=200), label="lr 1e-3",
                                   progress="lines") == "result"
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "lr 1e-3: 200 epochs ..." and lines[1] == "first chunk" and seen == ["lr 1e-3"]
    # at most a line per 5 s (epoch 100 came at once), the last point always
    assert lines[2] == "lr 1e-3: epoch 200/200  loss 5.000e-01  lr 1.0e-03"
    assert lines[-1].startswith("lr 1e-3: done in ")


def _fake_training():
    """``train_from_computed`` for training_basin without training: the computed weights, a flat loss."""
    from types import SimpleNamespace

    from lstmds_sim.learning.example_setup import SCALE, setup
    from lstmds_sim.learning.experiments import training_record

    def train_from_computed(realization, learning_rate, epochs, seed, *, progress=None):
        system, start, _, u_val = setup(seed, realization)
        result = SimpleNamespace(params=start, history=np.full(epochs + 1, 1e-5), elapsed_s=0.0, best_epoch=0)
        return {"realization": realization, "learning_rate": learning_rate,
                **training_record(start, result, system, u_val, scale=SCALE)}, result

    return train_from_computed


@pytest.mark.parametrize("name", ["lstm_layer", "lstm_stack", "lstm_vs_linear", "training_basin"])
def test_a_lab_says_what_it_writes_and_a_slow_figure_is_never_silent(name, tmp_path, monkeypatch, capsys):
    """Every figure a lab writes (savefig, render, the inspector page) is a step of one labelled task:
    announced, counted after each figure, closed with "done", then the files are listed. One fake figure
    is slow: the task's heartbeat (shortened here) says it is still working while it runs."""
    import importlib
    import time

    from lstmds_sim.core import progress
    from lstmds_sim.io.outdir import OutputDir

    lab = importlib.import_module(f"lstmds_sim.diagrams.{name}")
    if name == "training_basin":
        monkeypatch.setattr(lab, "train_from_computed", _fake_training())
    monkeypatch.setattr(progress, "HEARTBEAT_S", 0.05)
    steps = []

    def fake(kind):
        def write(self, *args, **kwargs):
            stem = kwargs.get("stem") or next(a for a in args if isinstance(a, str))
            steps.append(stem)
            print(f"FAKE {kind} {stem}", flush=True)
            if len(steps) == 1:
                time.sleep(0.5)  # ten heartbeats long
        return write

    for kind in ("savefig", "render", "write_inspector"):
        monkeypatch.setattr(OutputDir, kind, fake(kind))
    argv = ["--out", str(tmp_path)] + (["--epochs", "3"] if name == "training_basin" else [])
    lab.main(argv)
    lines = capsys.readouterr().out.splitlines()
    count = len(steps)
    start = lines.index(f"writing the figures: {count} figures ...")
    end = next(i for i, line in enumerate(lines) if line.startswith("writing the figures: done in "))
    fakes = [i for i, line in enumerate(lines) if line.startswith("FAKE ")]
    assert count >= 3 and len(fakes) == count and start < fakes[0] and fakes[-1] < end
    assert re.fullmatch(r"writing the figures: still working \(\d+ s, 0/\d+ figures\)", lines[fakes[0] + 1])
    counted = [line for line in lines[start:end] if re.fullmatch(r"writing the figures: figure \d+/\d+", line)]
    assert counted == [f"writing the figures: figure {k}/{count}" for k in range(1, count + 1)]
    assert lines[-1].startswith(f"files in {tmp_path}: ") and "results.json" in lines[-1]


@pytest.mark.slow
def test_slsqp_progress_shows_loss_training_fit_and_the_two_theorem_4_values(capsys):
    """The numbers on the SLSQP lines, checked independently: FIT from a forward run of the matrices with
    the last iterate, the left-hand sides from the numpy check of Theorem 4."""
    from lstmds_sim.core.matrix import simulate
    from lstmds_sim.learning.dataset import generate_identification_data
    from lstmds_sim.learning.iss_training import ISSTrainOptions, train_iss
    from lstmds_sim.learning.metrics import fit_mean
    from lstmds_sim.safety.iss import iss_check

    data = generate_identification_data(n_train=600, n_val=100)
    u, y = data.normalise_u(data.u_train), data.normalise_y(data.y_train)
    calls = []
    train_iss(u, y, ISSTrainOptions(max_iter=15, washout=20, constrained=False),
              progress=lambda k, loss: calls.append((k, loss)))
    assert [k for k, _ in calls] == list(range(1, len(calls) + 1)) and len(calls) >= 10
    result = train_iss(u, y, ISSTrainOptions(max_iter=15, washout=20, constrained=False), progress="lines",
                       label="unconstrained demo")
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "unconstrained demo: 15 iterations ..." and lines[-1].startswith("unconstrained demo: done in")
    last = [line for line in lines if ": iteration" in line][-1]
    pattern = r"iteration +(\d+)/15  loss (\S+)  training FIT (\S+) %  Theorem 4: (\S+) \((\S+ 1)\), (\S+) \((\S+ 1)\)"
    match = re.search(pattern, last)
    assert match and int(match[1]) == result.iterations
    y_hat = simulate(result.params, u[:, None], form="statespace").y[:, 0]
    assert abs(float(match[3]) - fit_mean(y, y_hat, skip=20)) < 0.01
    assert float(match[2]) == pytest.approx(result.loss_history[-1], rel=1e-3)
    assert (float(match[4]), float(match[6])) == pytest.approx(iss_check(result.params).lhs, abs=1e-4)
    for value, said in ((match[4], match[5]), (match[6], match[7])):  # "< 1" only beside a value below 1
        assert said == ("<" if float(value) < 1 else ">=") + " 1"


# --------------------------------------------------------------------------- figures fit for a class
def test_thinned_curves_keep_their_extremes_ends_and_few_points():
    from lstmds_sim.drawing.plots import thin

    values = np.random.default_rng(3).lognormal(size=10_001)
    values[4321] = 1e-9  # a dip a plot must not lose
    x, y = thin(values, 2000)
    assert len(x) <= 2002 and x[0] == 0 and x[-1] == 10_000 and np.all(np.diff(x) > 0)
    np.testing.assert_array_equal(y, values[x])
    assert y.min() == values.min() and y.max() == values.max()
    edges = np.linspace(0, 10_001, 1001).astype(int)
    for a, b in zip(edges[:-1], edges[1:]):  # every bin keeps its own smallest and largest value
        inside = (x >= a) & (x < b)
        assert values[a:b].min() in y[inside] and values[a:b].max() in y[inside]
    _, y_short = thin(values[:50], 2000)
    np.testing.assert_array_equal(y_short, values[:50])


@pytest.mark.slow  # about 6 s of drawing and writing two large figures
def test_svgs_of_many_long_noisy_loss_curves_stay_under_300_kb(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from lstmds_sim.drawing.training_figures import basin_loss, random_loss

    rng = np.random.default_rng(0)
    trend = np.linspace(0, -4, 10_001)
    basin = {f"lr {k}": np.exp(trend + 3 * k + rng.standard_normal(10_001)) for k in range(4)}
    random = {(drop, seed): np.exp(trend + rng.standard_normal(10_001))
              for drop in (0.979, 0.98, 0.981) for seed in range(5)}
    for name, fig in (("basin", basin_loss(basin, title="basin")), ("random", random_loss(random, title="random"))):
        fig.savefig(tmp_path / f"{name}.svg", dpi=150, bbox_inches="tight")  # as OutputDir.savefig does
        plt.close(fig)
        assert (tmp_path / f"{name}.svg").stat().st_size < 300_000, name


def test_pole_zero_maps_keep_the_unit_circle_in_view_and_mark_far_points_at_the_edge():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from lstmds_sim.drawing.plots import pzmap

    fig, ax = plt.subplots()
    poles = [0.913 + 0.042j, 0.913 - 0.042j, 0.86 + 0.47j, 0.86 - 0.47j]
    pzmap(ax, {"true": ([0.9608, -0.26, -98.0], poles), "trained": ([0.95, 4.5j, -4.5j], poles)})
    assert ax.get_xlim() == (-1.5, 1.5) and ax.get_ylim() == (-1.5, 1.5)  # the zero at -98 does not set the axes
    for collection in ax.collections:  # every marker lies on the map, the far ones at its edge
        assert np.all(np.abs(collection.get_offsets()) <= 1.5)
    labels = [t.get_text() for t in ax.texts]
    assert "zero at -98" in labels and "zero at 0+4.5j" in labels and "zero at 0-4.5j" in labels
    (zoom,) = ax.child_axes  # the crowd near z = 0.9 ... 0.96, drawn larger beside the map
    x0, x1 = zoom.get_xlim()
    assert x0 < 0.913 < 0.9608 < x1 and x1 - x0 < 0.3
    plt.close(fig)
