"""docs/results.md is made from the labs' records by ``lstmds results`` (lstmds_sim/io/results_page.py), never typed.

The committed snapshots (docs/results/NAME.json) rendered through the package's template must give the page
exactly; the claims its prose makes in words are checked here against the same snapshots; CI's slow suite
runs every lab again and compares the records with the snapshots (tests/test_slow.py).
"""

import json
import shutil
from pathlib import Path

import pytest

from lstmds_sim.diagrams import LABS
from lstmds_sim.io import cli
from lstmds_sim.io import results_page as page

ROOT = Path(__file__).resolve().parent.parent
SNAPSHOTS = ROOT / "docs" / "results"
PAGE = ROOT / "docs" / "results.md"


@pytest.fixture(scope="module")
def snapshots():
    records, are_snapshots = page.load_records(SNAPSHOTS)
    assert are_snapshots and list(records) == list(LABS)
    return records


def test_the_page_is_exactly_what_the_snapshots_give(snapshots):
    template, source = page.template_text()
    rendered = page.render(template, snapshots, source=source)
    assert PAGE.read_text() == rendered, (
        "docs/results.md is not what its template and snapshots give: do not edit it by hand; change "
        "lstmds_sim/io/results_template.md and run: lstmds results --from docs/results --out docs/results.md")
    assert len(page.placeholders(template)) > 200 and "{{" not in rendered


def test_every_snapshot_comes_from_one_environment_at_full_settings(snapshots, monkeypatch):
    versions = {json.dumps(r["snapshot"]["versions"], sort_keys=True) for r in snapshots.values()}
    assert len(versions) == 1  # made in one go, with one set of libraries (the page names them once)
    assert all(r["snapshot"]["run_s"] is not None for r in snapshots.values())  # made by --run
    monkeypatch.delenv("LSTMDS_QUICK", raising=False)  # the labs' full defaults
    from lstmds_sim.diagrams import ph_identification, training_basin, training_random

    basin = training_basin.lab_options().parse_args([])
    assert snapshots["training_basin"]["epochs"] == basin.epochs == 10000
    random = training_random.lab_options().parse_args([])
    assert snapshots["training_random"]["epochs"] == random.epochs
    assert snapshots["training_random"]["drop_factors"] == list(random.drop_factors)
    assert len(snapshots["training_random"]["seeds"]) == random.seeds
    assert snapshots["ph_identification"]["max_iter"] == ph_identification.lab_options().parse_args([]).max_iter


def test_what_the_prose_says_in_words_holds_in_the_snapshots(snapshots):
    basin = snapshots["training_basin"]
    runs = basin["runs"]
    balanced = [r for r in runs if r["realization"] == "balanced"]
    assert all(r["best_epoch"] == 0 for r in runs)  # "the lowest loss is at the start"
    assert [r["final_loss"] for r in balanced] == sorted(r["final_loss"] for r in balanced)  # "larger ... end worse"
    assert all(set(r["moved"]) == {"W_g", "R_g", "b_g", "F", "bF"} for r in runs)  # "only ... move"
    assert runs[0]["validation"]["ratio_3u"] < 27 / 5  # "far from the cubic term's 27"
    linear = snapshots["lstm_vs_linear"]
    assert 26 < linear["linearity_test"]["ratio"] < 28  # "the cubic term of tanh"
    assert all(90 < row["ratio_n+m"] < 110 for row in linear["accuracy_table"][1:5])  # "falls like scale²"
    assert linear["balanced_norm_difference"] > linear["norm_difference"]  # "larger"
    random = snapshots["training_random"]
    assert random["summary"]["distinct_minima"] == random["runs"]  # "every one ... ends in its own minimum"
    assert len(set(random["summary"]["first_seed_final_loss"])) == len(random["drop_factors"])
    ident = snapshots["ph_identification"]
    assert ident["constrained"]["iss_satisfied"] and max(ident["constrained"]["iss_left_hand_sides"]) < 1
    assert not ident["unconstrained"]["iss_satisfied"]  # "(not ISS)"
    assert min(ident["unconstrained"]["iss_left_hand_sides"]) >= 1
    assert not ident["constrained"]["repaired"]  # "in this run no repair was needed"
    scenario = snapshots["scenario_safety"]
    rows = scenario["sweep"]
    assert all(r["worst_case_found"] <= r["certified_bound"] for r in rows)  # "the truth lies between them"
    assert scenario["all_consistent_with_eps"]  # "every posterior estimate ... is consistent with eps"
    assert 0.9 < rows[-1]["rho_u"] == 1.0 and 0.9 < rows[-1]["rho_y_lstm"] < 1.1  # "radius about 1 at rho_u = 1"
    assert 0.9 < rows[-1]["rho_y_plant"] < 1.1
    assert rows[0]["rho_y_lstm_after_transient"] < rows[0]["rho_y_lstm"] / 2  # "set by its random initial state"
    assert all(r["lyapunov_bound"] >= scenario["trivial_output_bound"] - 1e-9 for r in rows)  # "no better than"
    assert all(ratio > 1 for ratio in scenario["interval_over_scenario_bound"])


# --------------------------------------------------------------------------- formatting and errors
RECORDS = {"lab": {"lab": "lab", "x": 0.0123, "n": 120000, "big": 2.6e12, "t": [3.4, 150.0, None], "eps": 1e-8,
                   "flag": False,
                   "zeros": [[0.961, 0.0], [-4.7178, 4.5019], [-4.7178, -4.5019], [1.3e-16, 0.0]],
                   "moved": ["W_g", "R_g"], "rows": [{"v": 0.4661}, {"v": 0.4383}], "name": "balanced"}}


@pytest.mark.parametrize("text, expected", [
    ("{{lab.x:.1e}}", "1.2e-2"), ("{{lab.big:.1e}}", "2.6e12"), ("{{lab.n:,}}", "120,000"),
    ("{{lab.x:.3f}}", "0.012"), ("{{lab.name}}", "balanced"), ("{{ lab.n }}", "120000"),
    ("{{lab.t.0:time}}", "3 s"), ("{{lab.t.1:time}}", "2.5 min"), ("{{lab.t.2:time}}", "not timed"),
    ("{{lab.zeros:.3groots}}", "0.961, -4.72 ± 4.5j, 0"), ("{{lab.moved:join}}", "W_g, R_g"),
    ("| {{lab.rows.*.v:.3f}} |", "| 0.466 | 0.438 |"), ("{{lab.rows.*.v:.2f|, }}", "0.47, 0.44"),
    ("{{lab.t.-2:g}}", "150"), ("{{lab.eps:g}}", "1e-8"), ("{{lab.flag}}", "false"),
])
def test_a_placeholder_is_written_with_its_format(text, expected):
    assert page.render(text, RECORDS) == expected


@pytest.mark.parametrize("text, says", [
    ("a\n{{lab.nothing:.2f}}", "t.md line 2: {{lab.nothing:.2f}}: lab's results have no 'nothing' at lab"),
    ("{{lab.nme}}", "(did you mean 'name'?)"),
    ("{{other.x}}", "no lab named 'other'"),
    ("{{lab.t.3}}", "lab.t has 3 items, so no item 3"),
    ("{{lab.rows}}", "the value is a list: name one item (.0) or all of them (.*)"),
    ("{{lab.t.2:.2f}}", "the value is null"),
    ("{{lab.name:.2f}}", "cannot write its value with that format"),
    ("{{lab x}}", "is not a placeholder"),
])
def test_a_placeholder_that_does_not_fit_is_one_line_naming_it(text, says):
    with pytest.raises(page.ResultsError) as err:
        page.render(text, RECORDS, source="t.md")
    assert says in str(err.value) and "\n" not in str(err.value)


def test_differences_keep_settings_exact_and_floats_within_the_tolerance():
    snapshot = {"epochs": 10000, "loss": 0.1, "tiny": 1e-16, "ok": True, "rows": [1.0, 2.0], "elapsed_s": 3.0,
                "created": "x", "snapshot": {"run_s": 1.0}}
    assert page.differences(dict(snapshot, loss=0.1 * (1 + 1e-7), tiny=5e-16, elapsed_s=9.0, created="y"),
                            snapshot) == []
    found = page.differences(dict(snapshot, epochs=300, loss=0.1 * (1 + 1e-5), ok=False, rows=[1.0]), snapshot)
    assert [line.split(":")[0] for line in found] == ["epochs", "loss", "ok", "rows"]
    assert page.differences({**snapshot, "new": 1}, snapshot) == [".new: only in the new record"]


# --------------------------------------------------------------------------- the command
def lab_folders(tmp_path):
    """The snapshots laid out as lab output folders (DIR/NAME/results.json), as `lstmds run` leaves them."""
    for name in LABS:
        (tmp_path / "runs" / name).mkdir(parents=True)
        shutil.copy(SNAPSHOTS / f"{name}.json", tmp_path / "runs" / name / "results.json")
    return tmp_path / "runs"


def test_the_command_writes_the_page_and_snapshots_from_lab_folders(tmp_path, capsys, snapshots):
    runs = lab_folders(tmp_path)
    assert cli.main(["results", "--from", str(runs), "--out", str(tmp_path / "site" / "results.md")]) == 0
    text = (tmp_path / "site" / "results.md").read_text()
    assert text.startswith("<!-- Generated by `lstmds results`") and "not timed" in text  # not run by the command
    for name in LABS:
        written = json.loads((tmp_path / "site" / "results" / f"{name}.json").read_text())
        assert written["snapshot"]["run_s"] is None and page.differences(written, snapshots[name]) == []
    assert "written: " in capsys.readouterr().out


def test_the_command_rerenders_from_snapshots_without_rewriting_them(tmp_path):
    shutil.copytree(SNAPSHOTS, tmp_path / "results")
    before = {p.name: p.stat().st_mtime_ns for p in (tmp_path / "results").iterdir()}
    assert cli.main(["results", "--from", str(tmp_path / "results"), "--out", str(tmp_path / "results.md")]) == 0
    assert (tmp_path / "results.md").read_text() == PAGE.read_text()
    assert {p.name: p.stat().st_mtime_ns for p in (tmp_path / "results").iterdir()} == before


def test_a_bad_source_or_template_is_one_line_and_status_2_and_writes_nothing(tmp_path, capsys):
    runs = lab_folders(tmp_path)
    bad = tmp_path / "bad.md"
    bad.write_text("# page\n\nloss {{training_basin.runs.0.final_los:.2e}}\n")
    out = tmp_path / "page.md"
    assert cli.main(["results", "--from", str(runs), "--template", str(bad), "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert err == (f"lstmds: error: {bad} line 3: {{{{training_basin.runs.0.final_los:.2e}}}}: training_basin's "
                   "results have no 'final_los' at training_basin.runs.0 (did you mean 'final_loss'?)")
    assert not out.exists() and not (tmp_path / "results").exists()
    shutil.rmtree(runs / "ph_plant")
    assert cli.main(["results", "--from", str(runs), "--out", str(out)]) == 2
    assert "no results of lab 'ph_plant' there" in capsys.readouterr().err
    assert cli.main(["results", "--from", str(tmp_path / "nowhere"), "--out", str(out)]) == 2
    assert "no such folder" in capsys.readouterr().err
