"""Streamed scenario sweeps: chunks, their collection, progress, and the same numbers serial, chunked or on Dask."""

import json
import sys
from types import SimpleNamespace

import numpy as np
import pytest

from lstmds_sim.io import cli
from lstmds_sim.safety.scenario import DRAW_BLOCK
from lstmds_sim.safety.sweep import (
    Chunk,
    ChunkResult,
    Collector,
    IncompleteSweepError,
    chunk_bounds,
    default_chunk,
    evaluate_chunks,
    require_distributed,
    sweep_parts,
)


# --------------------------------------------------------------------------- cutting parts into chunks
def test_chunk_bounds_by_hand():
    assert chunk_bounds(200, 64) == [(0, 64), (64, 128), (128, 192), (192, 200)]
    assert chunk_bounds(64, 64) == [(0, 64)]
    assert chunk_bounds(5, 128) == [(0, 5)]
    assert chunk_bounds(129, 64) == [(0, 64), (64, 128), (128, 129)]
    assert chunk_bounds(1, 64) == [(0, 1)]
    # a chunk runs to the end of its last draw block (and keeps its own scenarios)
    assert [Chunk((0,), a, b).padded_stop for a, b in chunk_bounds(129, 64)] == [64, 128, 192]


@pytest.mark.parametrize("chunk", [0, 1, 63, 100])
def test_chunk_sizes_are_whole_draw_blocks(chunk):
    with pytest.raises(ValueError, match=r"chunk"):
        chunk_bounds(500, chunk)


def test_default_chunk_fills_the_budget_with_whole_draw_blocks():
    assert default_chunk(2000) == 3136  # 3 * 2**21 // 2000 = 3145 -> 49 blocks of 64: N = 2964 is one chunk
    assert default_chunk(60) == 3 * 2**21 // 60 // DRAW_BLOCK * DRAW_BLOCK
    assert default_chunk(10**6) == DRAW_BLOCK  # at least one block: beyond 98,304 steps memory grows
    assert default_chunk(2000, budget=10**6) == 448


# --------------------------------------------------------------------------- collecting
def fake_result(key, start, stop, worst=None):
    """Peaks that say which scenario they belong to."""
    index = np.arange(start, stop, dtype=float)
    kept = {"first": index[index < 3][:, None] * np.ones((1, 4))}
    return ChunkResult(Chunk(key, start, stop), {"peak": index + 0.5}, {"check": worst if worst is not None else start},
                       kept if len(kept["first"]) else {}, {"run_s": 1.0}, wall_s=1.5, cpu_s=1.25)


def test_collector_puts_chunks_back_in_order_whatever_order_they_arrive_in():
    collector = Collector({("a",): 200, ("b",): 3}, 64)
    chunks = collector.chunks()
    assert [(c.key, c.start, c.stop) for c in chunks] == [
        (("a",), 0, 64), (("a",), 64, 128), (("a",), 128, 192), (("a",), 192, 200), (("b",), 0, 3)]
    assert collector.add(fake_result(("b",), 0, 3)).evaluated == 3
    order = [3, 1, 0, 2]
    parts = [collector.add(fake_result(("a",), chunks[i].start, chunks[i].stop)) for i in order]
    assert parts[:3] == [None, None, None]
    part = parts[3]
    np.testing.assert_array_equal(part.peaks["peak"], np.arange(200) + 0.5)
    assert part.worst == {"check": 192} and part.seconds == {"run_s": 4.0} and part.evaluated == part.n == 200
    assert (part.wall_s, part.cpu_s) == (6.0, 5.0)
    np.testing.assert_array_equal(part.kept["first"], np.arange(3)[:, None] * np.ones((1, 4)))
    collector.finish()  # nothing missing


def test_a_missing_chunk_is_an_error_naming_it():
    collector = Collector({(0, 0): 200}, 64)
    for start, stop in [(0, 64), (128, 192), (192, 200)]:
        assert collector.add(fake_result((0, 0), start, stop)) is None
    assert collector.missing() == [Chunk((0, 0), 64, 128)]
    with pytest.raises(IncompleteSweepError, match=r"1 chunk\(s\), 64 scenario\(s\).*\(0, 0\) scenarios 64-127"):
        collector.finish()


def test_the_collector_refuses_repeated_unknown_and_misshapen_chunks():
    collector = Collector({(0, 0): 100}, 64)
    collector.add(fake_result((0, 0), 0, 64))
    with pytest.raises(IncompleteSweepError, match="came back twice"):
        collector.add(fake_result((0, 0), 0, 64))
    with pytest.raises(IncompleteSweepError, match="not in the sweep's plan"):
        collector.add(fake_result((0, 0), 10, 20))
    with pytest.raises(IncompleteSweepError, match="not in the sweep's plan"):
        collector.add(fake_result((1, 0), 0, 64))
    bad = fake_result((0, 0), 64, 100)
    bad.peaks["peak"] = bad.peaks["peak"][:-1]
    with pytest.raises(IncompleteSweepError, match=r"shape \(35,\), expected \(36,\)"):
        collector.add(bad)
    assert collector.add(fake_result((0, 0), 64, 100)).evaluated == 100
    with pytest.raises(IncompleteSweepError, match="came back twice"):  # the part was handed over already
        collector.add(fake_result((0, 0), 64, 100))


def job_for(chunk):  # a job is anything with a .chunk; this one pickles by value for Dask
    return SimpleNamespace(chunk=chunk)


def evaluate_fake(job):
    c = job.chunk
    return fake_result(c.key, c.start, c.stop)


def test_sweep_parts_serial_yields_each_part_when_complete():
    collector = Collector({(0, 0): 130, (0, 1): 70}, 64)
    parts = list(sweep_parts(evaluate_fake, [job_for(c) for c in collector.chunks()], collector))
    assert [(p.key, p.evaluated) for p in parts] == [((0, 0), 130), ((0, 1), 70)]


def test_sweep_parts_with_a_chunk_never_run_is_an_error():
    collector = Collector({(0, 0): 200}, 64)
    jobs = [job_for(c) for c in collector.chunks() if c.start != 128]  # as if a worker's result were lost
    with pytest.raises(IncompleteSweepError, match="128-191"):
        list(sweep_parts(evaluate_fake, jobs, collector))


def test_the_check_stops_the_sweep_at_the_first_bad_chunk():
    collector = Collector({(0, 0): 200}, 64)
    seen = []

    def check(result):
        seen.append(result.chunk.start)
        if result.chunk.start == 64:
            raise RuntimeError("disagree")

    with pytest.raises(RuntimeError, match="disagree"):
        list(sweep_parts(evaluate_fake, [job_for(c) for c in collector.chunks()], collector, check=check))
    assert seen == [0, 64]


# --------------------------------------------------------------------------- progress
def test_sweep_parts_show_a_line_per_chunk(capsys):
    from lstmds_sim.core.progress import Reporter

    collector = Collector({(0, 0): 130}, 64)
    with Reporter("lines", 3, label="scenario sweep", unit="chunk") as progress:
        list(sweep_parts(evaluate_fake, [job_for(c) for c in collector.chunks()], collector, progress=progress,
                         describe=lambda c: f"set {c.key[1]} from {c.start}"))
    assert capsys.readouterr().out.splitlines() == [
        "scenario sweep: chunk 1/3  set 0 from 0 (1.5 s)",
        "scenario sweep: chunk 2/3  set 0 from 64 (1.5 s)",
        "scenario sweep: chunk 3/3  set 0 from 128 (1.5 s)",
    ]


# --------------------------------------------------------------------------- Dask is optional
def test_without_dask_the_library_says_how_to_install_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)
    with pytest.raises(ImportError, match=r"pip install 'lstmds-sim\[cluster\]'"):
        require_distributed()
    with pytest.raises(ImportError, match=r"pip install 'lstmds-sim\[cluster\]'"):
        list(evaluate_chunks(evaluate_fake, [job_for(Chunk((0,), 0, 2))], workers=2))


# --------------------------------------------------------------------------- the scenario sweep, streamed
@pytest.fixture(scope="module")
def model_file(tmp_path_factory):
    from lstmds_sim import IdentifiedModel, LSTMParams

    model = IdentifiedModel(LSTMParams.random(1, 5, 1, rng=2, low=-0.3, high=0.3, output_bias=True),
                            15.0, 2.0, 7.0, 2.0, 10.0)
    return model.save(tmp_path_factory.mktemp("model") / "model.npz")


#: N = ceil(2 / 0.05 (ln 10 + 1)) = 133 scenarios per rho_u: chunks of 64 leave a last chunk of 5.
SMALL = ["--eps", "0.05", "--beta", "0.1", "--rho-u", "0.5", "1.0", "--horizon", "30", "--posterior", "130"]


def sweep(tmp_path, capsys, model_file, name, *extra):
    out = tmp_path / name
    assert cli.main(["scenario", "--out", str(out), "--model", str(model_file), *SMALL, *extra]) == 0
    capsys.readouterr()
    return json.loads((out / "results.json").read_text())


def without_runtime(results):
    """A record without what says when and how it ran (time, command, timing, chunk size, workers; a row's
    own timing: the seconds its certified bound and worst-case search took)."""
    record = {k: v for k, v in results.items() if k not in ("created", "command", "timing", "chunk", "workers",
                                                           "scheduler")}
    if "sweep" in record:
        record["sweep"] = [{k: v for k, v in row.items() if k != "timing"} for row in record["sweep"]]
    return record


def sweep_sets(model_file, chunk, backend="numpy", **where):
    """Both sets of one rho_u through the sweep's chunk evaluation (what a worker runs): {key: PartResult}.

    backend "jax": the diagrams compiled for min(chunk, 192) scenarios (192: the larger set padded to draw blocks)."""
    from lstmds_sim import IdentifiedModel
    from lstmds_sim.safety import scenario_chunk as sc
    from lstmds_sim.safety.scenario import ScenarioClass

    model = IdentifiedModel.load(model_file)
    cls = ScenarioClass(1.0, horizon=55)  # > TRANSIENT: the peaks after it too
    collector = Collector({(0, sc.BOUND): 70, (0, sc.POSTERIOR): 130}, chunk)
    batch = min(chunk, 192) if backend == "jax" else 0
    jobs = [sc.ChunkJob(c, model, cls, seed=0, keep=4 if c.key[1] == sc.BOUND else 0, backend=backend, batch=batch)
            for c in collector.chunks()]
    return {part.key: part for part in sweep_parts(sc.evaluate_chunk, jobs, collector, **where)}


def compilations(parts):
    return sum(part.counts.get("compilations", 0) for part in parts.values())


def assert_same_parts(a, b):
    assert a.keys() == b.keys()
    for key in a:
        assert a[key].evaluated == b[key].evaluated == a[key].n
        assert a[key].peaks.keys() == b[key].peaks.keys() and a[key].kept.keys() == b[key].kept.keys()
        for name in a[key].peaks:
            np.testing.assert_array_equal(a[key].peaks[name], b[key].peaks[name])  # bit for bit
        for name in a[key].kept:
            np.testing.assert_array_equal(a[key].kept[name], b[key].kept[name])
        assert a[key].worst == b[key].worst


@pytest.mark.slow  # several seconds
def test_a_chunked_sweep_equals_an_unchunked_one_exactly(model_file):
    """70 and 130 scenarios in chunks of 64 (a last chunk of 6, and of 2) or in one chunk: the same bits.

    (Without padding the chunks to whole draw blocks, OpenBLAS rounds the last chunk of 2 differently.)"""
    whole, chunked = sweep_sets(model_file, 192), sweep_sets(model_file, 64)
    assert_same_parts(chunked, whole)
    assert whole[(0, 0)].peaks.keys() == {"lstm", "lstm_matrix", "lstm_after_transient", "plant"}
    assert whole[(0, 0)].kept["u"].shape == (4, 55) and whole[(0, 1)].peaks.keys() == {"lstm"}


def test_the_streamed_bound_is_the_bound_of_all_trajectories(model_file):
    """Against the unstreamed computation: every scenario's whole trajectory, then the largest |y|."""
    from lstmds_sim import IdentifiedModel, simulate
    from lstmds_sim.safety.scenario import ScenarioClass, draw_scenario_range, scenario_bound
    from lstmds_sim.safety.scenario_chunk import BOUND, ChunkJob, evaluate_chunk
    from lstmds_sim.safety.sweep import Collector

    model = IdentifiedModel.load(model_file)
    cls = ScenarioClass(0.8, horizon=70)
    collector = Collector({(0, BOUND): 150}, 64)
    jobs = [ChunkJob(c, model, cls, seed=5, keep=3) for c in collector.chunks()]
    (part,) = sweep_parts(evaluate_chunk, jobs, collector)
    s = draw_scenario_range(cls, 5, 0, 150, seed=5, key=(0, BOUND))
    y = simulate(model.params, s.u, s.h0, s.c0, form="statespace").y
    assert float(part.peaks["lstm"].max()) == pytest.approx(scenario_bound(y), abs=1e-12)
    assert float(part.peaks["lstm_after_transient"].max()) == pytest.approx(scenario_bound(y[:, 50:]), abs=1e-12)
    np.testing.assert_allclose(part.peaks["lstm"], np.abs(y[:, :, 0]).max(axis=1), atol=1e-12)
    np.testing.assert_array_equal(part.kept["u"], s.u[:3, :, 0])
    np.testing.assert_allclose(part.kept["y"], y[:3, :, 0], atol=1e-12)
    assert part.kept["plant"].shape == (3, 70) and part.evaluated == 150


def test_the_labs_diagram_is_the_one_the_sweep_runs(model_file):
    """lstmds render / inspect scenario_safety draw the diagram a chunk runs: the model's LSTM on the first
    scenarios the default sweep draws for rho_u = 1 (key (9, BOUND)): the same outputs as the chunk's kept
    trajectories, and as the matrices (computed independently)."""
    from lstmds_sim import IdentifiedModel, run, simulate
    from lstmds_sim.diagrams import scenario_safety
    from lstmds_sim.safety.scenario import ScenarioClass, draw_scenario_range
    from lstmds_sim.safety.scenario_chunk import BOUND, ChunkJob, evaluate_chunk

    model = IdentifiedModel.load(model_file)
    y = run(scenario_safety.build_diagram(model_file, horizon=60)).recorders["y"][..., 0]
    assert y.shape == (4, 60)
    result = evaluate_chunk(ChunkJob(Chunk((9, BOUND), 0, 4), model, ScenarioClass(1.0, horizon=60), seed=0, keep=4))
    np.testing.assert_allclose(y, result.kept["y"], rtol=0, atol=1e-12)
    s = draw_scenario_range(ScenarioClass(1.0, horizon=60), 5, 0, 4, seed=0, key=(9, BOUND))
    np.testing.assert_allclose(y, simulate(model.params, s.u, s.h0, s.c0, form="statespace").y[..., 0],
                               rtol=0, atol=1e-12)


@pytest.mark.slow  # compiles two programs and runs both sweeps end to end
def test_the_compiled_sweep_gives_the_interpreters_peaks_compiling_once_per_process(model_file):
    """--backend jax: the same peaks and kept trajectories as the numpy interpreter (to 1e-12), the checks
    within their thresholds, each stage compiled once for all five chunks and not again in the next sweep."""
    from lstmds_sim.safety import scenario_chunk as sc
    from lstmds_sim.safety.scenario_diagrams import COMPILED

    COMPILED.clear()
    reference = sweep_sets(model_file, 64)
    compiled = sweep_sets(model_file, 64, backend="jax")
    assert compilations(compiled) == 2  # the LSTM and the plant, once each (chunks of 64, 6, 64, 64, 2)
    assert set(COMPILED.programs) == {"lstm", "plant"}
    assert compiled.keys() == reference.keys()
    for key in reference:
        # the matrices' own peaks only where they run every scenario (the interpreter's sweep)
        assert compiled[key].peaks.keys() == reference[key].peaks.keys() - {"lstm_matrix"}
        for name in compiled[key].peaks:
            np.testing.assert_allclose(compiled[key].peaks[name], reference[key].peaks[name], rtol=0, atol=1e-12)
        for name in reference[key].kept:
            np.testing.assert_allclose(compiled[key].kept[name], reference[key].kept[name], rtol=0, atol=1e-12)
    bound = compiled[(0, sc.BOUND)]
    assert bound.worst["diagram_vs_matrix"] <= sc.AGREEMENT
    assert bound.worst["plant_vs_simulator"] <= sc.PLANT_AGREEMENT
    # the matrices check every scenario of the interpreter's sweep, scenarios 0..63 (i % 2048 < 64) of the compiled
    assert (bound.counts["crosschecked"], reference[(0, sc.BOUND)].counts["crosschecked"]) == (64, 70)
    again = sweep_sets(model_file, 64, backend="jax")
    assert compilations(again) == 0  # same model and shape: the programs of this process are re-run
    assert_same_parts(again, compiled)


@pytest.mark.slow  # compiles four programs
def test_the_compiled_sweep_recompiles_for_another_shape_and_padding_changes_no_bits(model_file):
    from lstmds_sim.safety import scenario_chunk as sc
    from lstmds_sim.safety.scenario_diagrams import COMPILED

    COMPILED.clear()
    chunked = sweep_sets(model_file, 64, backend="jax")
    whole = sweep_sets(model_file, 192, backend="jax")  # another shape: compiled again (replacing the programs)
    assert compilations(chunked) == compilations(whole) == 2 and len(COMPILED.programs) == 2
    assert_same_parts(whole, chunked)  # chunks padded with zero rows to 64 or one chunk of 192: the same bits
    # the matrices check the same scenarios however the set is cut: 0..63 of the bound's 70
    assert whole[(0, sc.BOUND)].counts["crosschecked"] == chunked[(0, sc.BOUND)].counts["crosschecked"] == 64


@pytest.mark.parametrize(("extra", "words"), [
    (["--backend", "cuda"], ["--backend", "invalid choice", "cuda", "numpy", "jax"]),
    (["--chunk", "100"], ["--chunk", "multiple of 64", "100"]),
    (["--chunk", "0"], ["--chunk", "multiple of 64"]),
    (["--workers", "0"], ["--workers", ">= 1"]),
    (["--workers", "2", "--scheduler", "tcp://127.0.0.1:8786"], ["--scheduler", "not allowed with", "--workers"]),
    (["--scheduler", " "], ["--scheduler is empty"]),
])
def test_bad_sweep_options_are_one_line(capsys, tmp_path, model_file, extra, words):
    status, err = run_cli(capsys, ["scenario", "--model", str(model_file), "--out", str(tmp_path / "o"), *extra])
    assert status == 2 and err.count("\n") == 1, err
    assert all(w in err for w in words), err
    assert not (tmp_path / "o").exists()


def test_workers_without_dask_is_one_line_with_the_install_command(capsys, tmp_path, model_file, monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)
    status, err = run_cli(capsys, ["scenario", "--model", str(model_file), "--out", str(tmp_path), "--workers", "2"])
    assert status == 2 and err.count("\n") == 1, err
    assert "--workers needs dask.distributed: pip install 'lstmds-sim[cluster]'" in err, err


def run_cli(capsys, argv):
    try:
        status = cli.main(argv)
    except SystemExit as stop:
        status = stop.code
    return status, capsys.readouterr().err


# --------------------------------------------------------------------------- on Dask (a LocalCluster takes seconds)
@pytest.mark.slow
def test_two_dask_workers_give_the_serial_result_bit_for_bit(model_file):
    assert_same_parts(sweep_sets(model_file, 64, workers=2), sweep_sets(model_file, 64))


@pytest.mark.slow
def test_two_dask_workers_give_the_serial_result_bit_for_bit_compiled(model_file):
    """--backend jax on two workers: each worker compiles each stage it runs once (at most 2 x 2 programs
    for 5 chunks), and the numbers are the serial run's bit for bit."""
    from lstmds_sim.safety.scenario_diagrams import COMPILED

    COMPILED.clear()
    serial = sweep_sets(model_file, 64, backend="jax")
    dask = sweep_sets(model_file, 64, backend="jax", workers=2)
    assert_same_parts(dask, serial)
    assert compilations(serial) == 2 and 2 <= compilations(dask) <= 4


@pytest.mark.slow
def test_the_scenario_command_gives_the_same_record_chunked_or_on_two_workers(tmp_path, capsys, model_file):
    whole = sweep(tmp_path, capsys, model_file, "whole")  # default chunk: all 133 scenarios at once
    chunked = sweep(tmp_path, capsys, model_file, "chunked", "--chunk", "64")
    dask = sweep(tmp_path, capsys, model_file, "dask", "--chunk", "64", "--workers", "2")
    assert whole["N"] == 133 and whole["chunk"] > 133 and chunked["chunk"] == 64
    assert dask["workers"] == 2 and whole["workers"] is None
    assert without_runtime(chunked) == without_runtime(whole) == without_runtime(dask)  # every number
    assert whole["scenarios_evaluated"] == 2 * (133 + 130)
    for row in whole["sweep"]:
        assert row["scenarios_evaluated"] == 133 and row["posterior"]["fresh_scenarios"] == 130
        assert row["diagram_vs_matrix_max_abs"] <= 1e-9 and row["plant_block_vs_simulator_max_abs"] <= 1e-12
    # compiled: recorded as such, the same bounds to 1e-12 and the same posterior counts
    compiled = sweep(tmp_path, capsys, model_file, "jax", "--chunk", "64", "--workers", "2", "--backend", "jax")
    assert (whole["backend"], compiled["backend"], compiled["compiled_batch"]) == ("numpy", "jax", 64)
    assert 2 <= compiled["compilations"] <= 4 and whole["compilations"] == 0
    for row, ref in zip(compiled["sweep"], whole["sweep"], strict=True):
        for name in ("rho_y_lstm", "rho_y_lstm_after_transient", "rho_y_plant"):
            assert row[name] == pytest.approx(ref[name], abs=1e-12)
        assert row["posterior"]["violations"] == ref["posterior"]["violations"]
        # the matrices checked scenarios 0..63 (one in 32, i % 2048 < 64), not all 133; no bound of their own
        assert (row["diagram_vs_matrix_scenarios"], ref["diagram_vs_matrix_scenarios"]) == (64, 133)
        assert row["rho_y_lstm_matrix"] is None and ref["rho_y_lstm_matrix"] == pytest.approx(ref["rho_y_lstm"])
        assert row["diagram_vs_matrix_max_abs"] <= 1e-9 and row["plant_block_vs_simulator_max_abs"] <= 1e-12


@pytest.mark.slow
def test_a_worker_that_dies_is_replaced_and_its_chunk_rerun(tmp_path):
    """The first run of chunk 64-127 kills its worker process; Dask reruns it elsewhere, nothing is lost."""
    marker = tmp_path / "died"

    def evaluate_or_die(job):  # a closure: sent to the workers by value
        import os

        if job.chunk.start == 64 and not marker.exists():
            marker.write_text("x")
            os._exit(1)
        c = job.chunk
        return ChunkResult(c, {"peak": np.arange(c.start, c.stop, dtype=float)})

    collector = Collector({(0, 0): 200}, 64)
    (part,) = sweep_parts(evaluate_or_die, [job_for(c) for c in collector.chunks()], collector, workers=2)
    assert marker.exists() and part.evaluated == 200
    np.testing.assert_array_equal(part.peaks["peak"], np.arange(200))


@pytest.mark.slow
def test_a_chunk_that_keeps_failing_on_dask_names_itself(tmp_path):
    def evaluate_broken(job):
        if job.chunk.start == 128:
            raise ValueError("broken chunk")
        c = job.chunk
        return ChunkResult(c, {"peak": np.zeros(c.size)})

    collector = Collector({(0, 0): 200}, 64)
    with pytest.raises(ValueError, match="broken chunk") as caught:
        list(sweep_parts(evaluate_broken, [job_for(c) for c in collector.chunks()], collector, workers=2, retries=1))
    assert "start=128" in " ".join(getattr(caught.value, "__notes__", []))


@pytest.mark.slow
def test_an_existing_cluster_through_its_scheduler_address(model_file):
    import distributed

    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, dashboard_address=":0") as cluster:
        assert_same_parts(sweep_sets(model_file, 64, scheduler=cluster.scheduler_address), sweep_sets(model_file, 64))


@pytest.mark.slow
def test_no_scheduler_at_the_address_is_one_line(capsys, tmp_path, model_file):
    status, err = run_cli(capsys, ["scenario", "--model", str(model_file), "--out", str(tmp_path / "o"), *SMALL,
                                   "--scheduler", "tcp://127.0.0.1:9"])
    assert status == 2 and err.count("\n") == 1, err
    assert "no Dask scheduler answered at 'tcp://127.0.0.1:9'" in err, err
