"""End-to-end reproductions at full size (minutes). Deselected by default; CI runs them: pytest -m slow."""

import json

import pytest
from conftest import run_with_hash_seeds

from lstmds_sim.io import cli

pytestmark = pytest.mark.slow


def test_iss_constrained_identification_reaches_the_papers_fit(tmp_path):
    cli.main(["run", "ph_identification", "--out", str(tmp_path)])
    results = json.loads((tmp_path / "results.json").read_text())
    constrained = results["constrained"]
    assert constrained["iss_satisfied"]  # Theorem 4 (with ||U_c||_1), as verified by the independent check
    assert max(constrained["iss_left_hand_sides"]) < 1
    assert not constrained["repaired"]  # the constraints did the work: SLSQP's weights passed without repair
    assert constrained["fit_mean_percent"] >= 98.0  # the paper: FIT 98 % after the initial transient
    assert results["figure_2"]["vs_measured"]["fit_mean_percent"] >= 97.5  # from a random initial state


def test_training_from_the_computed_weights_leaves_a_narrow_basin(tmp_path):
    cli.main(["run", "training_basin", "--out", str(tmp_path)])
    results = json.loads((tmp_path / "results.json").read_text())
    balanced = [r for r in results["runs"] if r["realization"] == "balanced"]
    assert all(r["best_epoch"] == 0 for r in results["runs"])  # the lowest loss is at the start
    finals = [r["final_loss"] for r in balanced]
    assert finals == sorted(finals)  # larger learning rates end worse
    assert all(r["final_over_initial"] > 5 for r in balanced)


# --------------------------------------------------------------------------- every lab, in two processes
#: Labs cut short where they train or sweep, one after another in each of two fresh Pythons. Between them
#: they cover the diagrams (inline and as subsystems, with a DSS block), rendering, figures, JAX training,
#: the pH data, ISS-constrained SLSQP and the scenario sweep with the plant block; the other labs use the
#: same machinery at more cost.
LAB_RUNS = {
    "lstm_layer": ["run", "lstm_layer"],
    "lstm_stack": ["run", "lstm_stack"],
    "lstm_vs_linear": ["run", "lstm_vs_linear"],
    "training_basin": ["run", "training_basin", "--epochs", "100", "--learning-rates", "1e-4"],
    "scenario_safety": ["scenario", "--eps", "0.2", "--beta", "0.1", "--rho-u", "0.5", "1.0", "--horizon", "120",
                        "--max-iter", "20"],
}
#: What a record may hold that differs from run to run: when and how it was started, and seconds.
VOLATILE = {"created", "command", "timing", "timing_s"}


def scrubbed(record):
    if isinstance(record, dict):
        return {k: scrubbed(v) for k, v in record.items() if k not in VOLATILE and not k.endswith("_s")}
    if isinstance(record, list):
        return [scrubbed(v) for v in record]
    return record


@pytest.fixture(scope="module")
def lab_outputs(tmp_path_factory):
    """Every lab's output folder from each of the two processes (different PYTHONHASHSEED, same --out names)."""
    roots = [tmp_path_factory.mktemp(f"process{n}") for n in (1, 2)]
    code = """
import contextlib, io, json, os, sys
from lstmds_sim.io import cli
for name, argv in json.loads(sys.argv[1]).items():
    with contextlib.redirect_stdout(io.StringIO()):
        status = cli.main(argv + ["--out", os.path.join(os.environ["LAB_ROOT"], name)])
    assert status in (0, None), (name, status)
"""
    run_with_hash_seeds(["-c", code, json.dumps(LAB_RUNS)], {"CI": "1"}, envs=[{"LAB_ROOT": str(r)} for r in roots])
    return roots


def files_of(folder):
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file() and p.name != ".lstmds.lock")


#: Outputs not yet the same bytes in every process, each with its cause; the next test leaves them out and
#: the strict xfail tests after it name them (they fail the suite once the cause is fixed: then drop them here).
NOT_YET_REPRODUCIBLE = {
    "inspector pages": "the inspector page embeds Bokeh plots whose element ids are random uuid4s",
}


def not_yet_reproducible(name):
    """Which kind of NOT_YET_REPRODUCIBLE output the file is, if any."""
    if name.endswith("_inspector.html"):
        return "inspector pages"
    return None


@pytest.mark.parametrize("lab", list(LAB_RUNS))
def test_a_lab_gives_the_same_record_and_files_in_every_process(lab_outputs, lab):
    first, second = (root / lab for root in lab_outputs)
    assert files_of(first) == files_of(second) and files_of(first)
    record = "results.json"
    a, b = (json.loads((folder / record).read_text()) for folder in (first, second))
    assert scrubbed(a) == scrubbed(b)
    for name in files_of(first):
        if name != record and not_yet_reproducible(name) is None:
            assert (first / name).read_bytes() == (second / name).read_bytes(), name


@pytest.mark.parametrize("kind", [pytest.param(kind, marks=pytest.mark.xfail(strict=True, reason=reason))
                                  for kind, reason in NOT_YET_REPRODUCIBLE.items()])
def test_outputs_not_yet_reproducible_are_the_same_bytes_in_every_process(lab_outputs, kind):
    # passes (so, strict, fails the suite) once every such file is the same, or once the labs write none
    for lab in LAB_RUNS:
        first, second = (root / lab for root in lab_outputs)
        for name in files_of(first):
            if not_yet_reproducible(name) == kind:
                assert (first / name).read_bytes() == (second / name).read_bytes(), f"{lab}/{name}"
