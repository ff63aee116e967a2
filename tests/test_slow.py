"""End-to-end reproductions at full size (minutes). Deselected by default; CI runs them: pytest -m slow."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import run_with_hash_seeds

from lstmds_sim.diagrams import LABS

pytestmark = pytest.mark.slow


# --------------------------------------------------------------------------- every lab at full settings, once
#: The committed snapshots that docs/results.md is generated from (lstmds results; tests/test_results_page.py).
SNAPSHOTS = Path(__file__).resolve().parent.parent / "docs" / "results"


@pytest.fixture(scope="module")
def full_runs(tmp_path_factory):
    """Every lab at its full settings, run once by the command that makes docs/results.md (each lab in a fresh
    Python, one after another: minutes); the folder holding NAME/results.json."""
    root = tmp_path_factory.mktemp("full")
    env = {k: v for k, v in os.environ.items() if k != "LSTMDS_QUICK"}
    done = subprocess.run([sys.executable, "-m", "lstmds_sim.io.cli", "results", "--run", "--runs", str(root / "runs"),
                           "--out", str(root / "results.md")], env=env, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return root / "runs"


def full_record(full_runs, lab):
    return json.loads((full_runs / lab / "results.json").read_text())


@pytest.mark.parametrize("lab", LABS)
def test_a_fresh_run_of_each_lab_gives_the_numbers_of_docs_results(full_runs, lab):
    """What CI's fresh install (from the lock) measures is what docs/results.md says: the lab's record against
    its committed snapshot, key by key. Counts, flags, names and settings exactly; floats within a relative
    1e-6 or 1e-12 absolute (results_page.REL_TOL, ABS_TOL: the page prints at most 4 significant digits, and
    round-off measurements differ in their last digits between CPUs); seconds and when/how it ran not at all.
    A failure lists every key that moved: then the libraries (or the code) changed the numbers, and
    `lstmds results --run --out docs/results.md` makes new snapshots and the page from one run of every lab."""
    from lstmds_sim.io.results_page import differences

    snapshot = json.loads((SNAPSHOTS / f"{lab}.json").read_text())
    found = differences(full_record(full_runs, lab), snapshot)
    assert not found, f"{lab}: {len(found)} values differ from docs/results/{lab}.json:\n" + "\n".join(found[:40])


def test_iss_constrained_identification_reaches_the_papers_fit(full_runs):
    results = full_record(full_runs, "ph_identification")
    constrained = results["constrained"]
    assert constrained["iss_satisfied"]  # Theorem 4 (with ||U_c||_1), as verified by the independent check
    assert max(constrained["iss_left_hand_sides"]) < 1
    assert not constrained["repaired"]  # the constraints did the work: SLSQP's weights passed without repair
    assert constrained["fit_mean_percent"] >= 98.0  # the paper: FIT 98 % after the initial transient
    assert results["figure_2"]["vs_measured"]["fit_mean_percent"] >= 97.5  # from a random initial state


def test_training_from_the_computed_weights_leaves_a_narrow_basin(full_runs):
    results = full_record(full_runs, "training_basin")
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
