"""One chunk of the scenario sweep: what a worker (this process or a Dask worker) draws, runs and checks.

A :class:`ChunkJob` is small and picklable: the chunk (which scenarios of which set), the model,
the scenario class, the seed, and how to run the diagrams. :func:`evaluate_chunk` draws the chunk's
scenarios from their seeded blocks, runs them and gives back a
:class:`~lstmds_sim.safety.sweep.ChunkResult` with per scenario only its peak ``max_k |y(k)|``, the
largest differences of the two checks (the LSTM diagram against the matrices, the plant block
against the plant simulator), the few trajectories kept for a figure and the seconds of each stage.
:func:`check_agreement` stops the sweep at the first chunk whose checks fail.

Every scenario set of a rho_u has a key ``(rho_index, set)``: :data:`BOUND` (the N scenarios of the
bound) or :data:`POSTERIOR` (the fresh ones of the posterior check); the key is also the branch of the
seed's spawn tree the set is drawn from (:func:`~lstmds_sim.safety.scenario.draw_scenario_range`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from ..core.allocator import trim_heap
from ..core.engine import BACKENDS
from ..core.matrix import simulate
from .scenario import ScenarioClass, draw_scenario_range, scenario_peaks
from .scenario_diagrams import (
    COMPILED,
    ScenarioModel,
    lstm_compiled,
    lstm_through_diagram,
    plant_compiled,
    plant_simulator_check,
    plant_through_diagram,
)
from .sweep import Chunk, ChunkResult

__all__ = [
    "AGREEMENT", "BOUND", "COMPILED_CROSSCHECK", "PLANT_AGREEMENT", "PLANT_CHECKED", "POSTERIOR", "TRANSIENT",
    "ChunkJob", "check_agreement", "crosschecked_rows", "evaluate_chunk",
]

BOUND, POSTERIOR = 0, 1  # the two scenario sets of each rho_u: the bound's N, the check's fresh ones
TRANSIENT = 50  # steps after which the random initial state no longer shows (its peaks are kept separately)
AGREEMENT = 1e-9  # the batched diagram and the matrices must agree to this (issue requirement)
PLANT_AGREEMENT = 1e-12  # the plant block runs step_plant, the simulator's own RK4 step
PLANT_CHECKED = 8  # scenarios 0..7 of each bound's set also run through simulate_plant
#: with backend "jax", the numpy matrices check the compiled LSTM diagram on the scenarios i with
#: i % 2048 < 64 (one in 32, chosen by number, so whatever the chunks): the same program runs every
#: scenario; the matrices are the slowest path per scenario in blocks of 64 (checking one in eight
#: cost 13 % of the compiled sweep's time, all of them 30 %)
COMPILED_CROSSCHECK = (64, 2048)


@dataclass(frozen=True)
class ChunkJob:
    """One chunk of the sweep: what a worker needs to draw and run it (small, picklable)."""

    chunk: Chunk  # key (rho index, BOUND or POSTERIOR), scenarios start .. stop - 1
    model: ScenarioModel  # e.g. an IdentifiedModel: params, u_mean, u_scale, y_mean, y_scale, Ts
    scenario_class: ScenarioClass
    seed: int
    keep: int = 0  # trajectories of the set's first scenarios to keep for Figure 3(a)
    backend: str = "numpy"  # how the diagrams run: "numpy" (the interpreter) or "jax" (compiled, COMPILED)
    batch: int = 0  # backend "jax": scenarios per compiled run (every chunk of the sweep padded to it)


def crosschecked_rows(c: Chunk) -> np.ndarray:
    """The rows of chunk ``c``, padded to whole draw blocks, that the matrices run under ``--backend jax``:
    scenarios ``i % 2048 < 64``, whole draw blocks (those below ``c.size`` are the ones checked)."""
    block, every = COMPILED_CROSSCHECK
    return np.flatnonzero(np.arange(c.start, c.padded_stop) % every < block)


def evaluate_chunk(job: ChunkJob) -> ChunkResult:
    """Draw a chunk's scenarios and run them; keep per scenario its peak |y|, never the trajectories.

    The bound's set: the LSTM through the batched diagram and through the matrices (compared at
    every step; with ``"jax"`` one scenario in 32, :func:`crosschecked_rows`), the plant block's
    diagram on the same inputs (scenarios < PLANT_CHECKED also through simulate_plant). The posterior's
    fresh set: the LSTM through the matrices (``backend="numpy"``) or through the compiled diagram
    (``"jax"``, the program the bound's chunks check against the matrices). With ``"jax"`` the
    diagrams run as programs compiled once per process for ``job.batch`` scenarios (:data:`COMPILED`);
    a chunk's rows beyond its own are zeros, so every chunk runs the same program and its numbers do
    not depend on which worker runs it.

    Peaks (each of shape ``(chunk.size,)``): ``"lstm"``, and for the bound's set ``"plant"``,
    ``"lstm_after_transient"`` (horizon > TRANSIENT) and ``"lstm_matrix"`` (numpy only); kept
    trajectories (``(keep, T)`` each): ``"u"``, ``"y"``, ``"plant"``.
    """
    if job.backend not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}, got {job.backend!r}")
    c, model = job.chunk, job.model
    compiled = job.backend == "jax"
    if compiled and not c.padded_stop - c.start <= job.batch:
        raise ValueError(f"chunk {c}: {c.padded_stop - c.start} scenarios do not fit the compiled batch {job.batch}")
    seconds = {}
    cpu = time.process_time()
    t0 = time.perf_counter()
    compilations, compile_s = COMPILED.compilations, COMPILED.compile_s
    if compiled:  # before the clock of any stage starts: compile time is counted on its own
        horizon = job.scenario_class.horizon
        lstm = COMPILED.get("lstm", model, job.batch, horizon)
        plant = COMPILED.get("plant", model, job.batch, horizon) if c.key[1] == BOUND else None
    counts = {"compilations": COMPILED.compilations - compilations}
    if counts["compilations"]:
        seconds["compile_s"] = COMPILED.compile_s - compile_s
    t0c = time.perf_counter()
    # the LSTM runs whole draw blocks (then keeps the chunk's rows), so the numbers do not depend on the chunking
    s = draw_scenario_range(job.scenario_class, model.params.n_units, c.start, c.padded_stop, seed=job.seed,
                            key=c.key)
    t1 = time.perf_counter()
    seconds["draw_s"] = t1 - t0c
    if c.key[1] == POSTERIOR:
        if compiled:
            y = lstm_compiled(lstm, s)[:c.size]
        else:
            y = simulate(model.params, s.u, s.h0, s.c0, form="statespace").y[:c.size]
        peaks = {"lstm": scenario_peaks(y)}
        del y
        seconds["posterior_s"] = time.perf_counter() - t1
        return ChunkResult(c, peaks, seconds=seconds, wall_s=time.perf_counter() - t0,
                           cpu_s=time.process_time() - cpu, counts=counts)
    y = (lstm_compiled(lstm, s) if compiled else lstm_through_diagram(model, s))[:c.size]
    t2 = time.perf_counter()
    # the matrices check every scenario of the interpreter's chunks, one in 32 of the compiled chunks';
    # like the diagram they run whole draw blocks (the chunk's padded rows), so their bits do not depend on the chunking
    peaks, worst = {"lstm": scenario_peaks(y)}, {}
    if compiled:
        rows = crosschecked_rows(c)
        u, h0, c0 = s.u[rows], s.h0[rows], s.c0[rows]
        y_checked = y[rows[rows < c.size]]
    else:
        u, h0, c0 = s.u, s.h0, s.c0
        y_checked = y
    counts["crosschecked"] = len(y_checked)
    if counts["crosschecked"]:
        y_matrix = simulate(model.params, u, h0, c0, form="statespace").y[:len(y_checked)]
        if not compiled:
            peaks["lstm_matrix"] = scenario_peaks(y_matrix)
        y_matrix -= y_checked  # in place: |diagram - matrices| at every step without another chunk-sized array
        worst["diagram_vs_matrix"] = float(np.max(np.abs(y_matrix, out=y_matrix)))
        del y_matrix
    t3 = time.perf_counter()
    if y.shape[1] > TRANSIENT:
        peaks["lstm_after_transient"] = scenario_peaks(y[:, TRANSIENT:])
    u = s.u[:c.size]
    del s
    keep = max(0, min(job.keep, c.stop) - c.start)
    kept = {"u": u[:keep, :, 0].copy(), "y": y[:keep, :, 0].copy()} if keep else {}  # copies: not views
    del y
    t4 = time.perf_counter()
    # element-wise maths: no padding needed (compiled: zero rows up to the program's batch)
    y_plant = plant_compiled(plant, model, u) if compiled else plant_through_diagram(model, u)
    t5 = time.perf_counter()
    peaks["plant"] = scenario_peaks(y_plant)
    checked = max(0, min(PLANT_CHECKED, c.stop) - c.start)
    if checked:
        worst["plant_vs_simulator"] = plant_simulator_check(model, u, y_plant, checked)
    if keep:
        kept["plant"] = y_plant[:keep, :, 0].copy()
    seconds.update(lstm_diagram_s=t2 - t1, lstm_matrix_s=t3 - t2, plant_diagram_s=t5 - t4)
    if compiled:
        del u, y_plant
        trim_heap()  # a long-lived worker: the chunk's pieces of heap back to the OS before the next chunk
    return ChunkResult(c, peaks, worst, kept, seconds, wall_s=time.perf_counter() - t0,
                       cpu_s=time.process_time() - cpu, counts=counts)


def check_agreement(result: ChunkResult, rho_u) -> None:
    """Stop at the first chunk whose two LSTM paths, or plant block and simulator, disagree.

    ``rho_u``: the sweep's amplitudes, indexed by the chunk key's first element (to name the chunk).
    """
    c = result.chunk
    where = f"rho_u {rho_u[c.key[0]]}, scenarios {c.start}-{c.stop - 1}"
    diff = result.worst.get("diagram_vs_matrix", 0.0)
    if diff > AGREEMENT:
        raise RuntimeError(
            f"{where}: the batched diagram and the matrix implementation differ by {diff:.2e} "
            f"(> {AGREEMENT:g}); the diagram is wrong"
        )
    diff = result.worst.get("plant_vs_simulator", 0.0)
    if diff > PLANT_AGREEMENT:
        raise RuntimeError(
            f"{where}: the PHPLANT block and simulate_plant differ by {diff:.2e} (> {PLANT_AGREEMENT:g}); "
            "the plant block is wrong"
        )
