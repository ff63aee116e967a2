"""The scenario sweep of the paper's Figure 3(b): for each input amplitude rho_u, a scenario bound and its check.

For each rho_u two sets of scenarios are drawn (:data:`~.scenario_chunk.BOUND`: the N of the bound;
:data:`~.scenario_chunk.POSTERIOR`: fresh ones for the posterior check), each cut into chunks
(:func:`plan_chunks`) that run here or on Dask (:func:`~lstmds_sim.safety.sweep.sweep_parts` with
:func:`~.scenario_chunk.evaluate_chunk`). When both sets of a rho_u are in, :func:`sweep_row` turns
their per-scenario peaks into the row the lab reports: rho_y* of the LSTM and of the plant, the
guaranteed bounds, the worst case a search finds (:func:`sandwich`), the checks, and the posterior
violations. :func:`run_sweep` does all of it and adds up the timing.

A model is anything with ``params``, ``u_mean``, ``u_scale``, ``y_mean``, ``y_scale`` and ``Ts``
(:class:`~.scenario_diagrams.ScenarioModel`, e.g. an :class:`~lstmds_sim.learning.model.IdentifiedModel`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from ..core.progress import HEARTBEAT_S, Reporter
from .bounds import reachable_set_bound
from .scenario import (
    DRAW_BLOCK,
    ScenarioClass,
    consistent_with_eps,
    violation_probability_estimate,
)
from .scenario_chunk import BOUND, POSTERIOR, TRANSIENT, ChunkJob, check_agreement, evaluate_chunk
from .scenario_diagrams import ScenarioModel
from .sweep import Collector, PartResult, default_chunk, sweep_parts

__all__ = [
    "EXAMPLES", "JAX_CHUNK", "RHO_U", "RHO_U_MAX", "STATE_BOX", "TIMING_STAGES", "SweepOutcome",
    "check_plant_flows", "plan_chunks", "row_line", "run_sweep", "sandwich", "sweep_jobs", "sweep_row",
    "sweep_table",
]

RHO_U = tuple(np.round(np.arange(1, 11) / 10, 1))  # the paper's amplitudes: 0.1, 0.2, ..., 1.0
RHO_U_MAX = 1.0  # inputs are normalised by their largest deviation in the training data: |u| <= 1 was seen
STATE_BOX = (ScenarioClass.state_half_width,) * 2  # |x0|, |xi0| of the scenarios: the analytic bounds hold from k = 0
JAX_CHUNK = 512  # default chunk with backend "jax": two workers' compiled programs and chunks fit in 1 GB (PSS)
EXAMPLES = 4  # trajectories of the largest rho_u kept for Figure 3(a)
#: the stages whose seconds the chunks report (summed over workers, so their shares hold in parallel too)
TIMING_STAGES = ("lstm_diagram_s", "lstm_matrix_s", "plant_diagram_s", "posterior_s", "draw_s", "compile_s")
SET_NAMES = {BOUND: "bound", POSTERIOR: "posterior"}


def check_plant_flows(model: ScenarioModel, rho_u, source: str) -> None:
    """The plant is fed q3 = u_mean + u * u_scale with |u| <= rho_u: refuse negative flows before running.

    ``rho_u``: the amplitudes of the sweep; ``source``: where the model came from (named in the error).
    """
    low = model.u_mean - max(rho_u) * model.u_scale
    if low < 0:
        raise ValueError(
            f"--rho-u {max(rho_u):g}: the plant would get base flows down to q3 = u_mean - rho_u * u_scale = "
            f"{low:.4g} ml/s < 0 with the normalisation of the model {source} (u_mean {model.u_mean:g}, "
            f"u_scale {model.u_scale:g}); give a --rho-u below {model.u_mean / model.u_scale:.3g} "
            "or a model trained on the plant's flows"
        )


def plan_chunks(horizon: int, backend: str, largest_set: int, chunk: int | None = None) -> tuple[int, int]:
    """(scenarios per chunk, compiled batch) of a sweep whose largest set has ``largest_set`` scenarios.

    The chunk: ``chunk`` if given, else as many as fit the memory budget
    (:func:`~lstmds_sim.safety.sweep.default_chunk`), at most :data:`JAX_CHUNK` with ``"jax"``. The
    batch (``"jax"`` only, else 0): every chunk runs one program of that many scenarios, no larger
    than the largest set needs (whole draw blocks).
    """
    compiled = backend == "jax"
    chunk = chunk or (min(JAX_CHUNK, default_chunk(horizon)) if compiled else default_chunk(horizon))
    batch = min(chunk, -(-largest_set // DRAW_BLOCK) * DRAW_BLOCK) if compiled else 0
    return chunk, batch


def sweep_jobs(model: ScenarioModel, rho_u, collector: Collector, *, horizon: int, seed: int, backend: str = "numpy",
               batch: int = 0) -> list[ChunkJob]:
    """The jobs of every chunk of ``collector`` (keys ``(rho_index, BOUND or POSTERIOR)``); the bound's set
    of the largest rho_u keeps its first :data:`EXAMPLES` trajectories."""
    largest = list(rho_u).index(max(rho_u))
    return [ChunkJob(c, model, ScenarioClass(rho_u[c.key[0]], horizon=horizon), seed,
                     keep=EXAMPLES if c.key == (largest, BOUND) else 0, backend=backend, batch=batch)
            for c in collector.chunks()]


def sandwich(model: ScenarioModel, rho: float, *, horizon: int, seed: int = 0) -> dict:
    """The truth of rho_u between two numbers, for the set the interval bound covers (every input with
    ``|u(k)| <= rho`` at every step, every initial state in :data:`STATE_BOX`):

    * ``certified_bound``: linear relaxations through the unrolled LSTM with optimised slopes, closed
      by an invariant box (``reachable_set_bound(method="crown")``): holds at every step ``k >= 0``;
    * ``worst_case_found``: the largest ``|y(k)|``, ``k < horizon``, that a projected-gradient search
      attains (:func:`~lstmds_sim.safety.falsify.worst_case_input`), re-run through the block diagram;
      ``worst_case_step``: where.

    ``worst_case_found <= max |y| <= certified_bound``; the seconds each took are in ``timing``
    (``certified_bound_s``, ``worst_case_s``), apart from the numbers, which are the same on every run.
    """
    from .falsify import worst_case_input

    start = time.perf_counter()
    certified = float(reachable_set_bound(model.params, rho, state_box=STATE_BOX, method="crown"))
    certified_s = time.perf_counter() - start
    worst = worst_case_input(model.params, rho, state_box=STATE_BOX, horizon=horizon, seed=seed, Ts=model.Ts)
    return {"certified_bound": certified, "worst_case_found": worst.value, "worst_case_step": worst.step,
            "timing": {"certified_bound_s": certified_s, "worst_case_s": worst.seconds}}


def sweep_row(model: ScenarioModel, rho: float, bound: PartResult, fresh: PartResult, eps: float, *,
              horizon: int, seed: int = 0) -> dict:
    """The results of one rho_u, from its two collected sets (per-scenario peaks): a row of results.json.

    ``horizon``, ``seed``: the scenarios' (the worst-case search covers the same steps, :func:`sandwich`).
    """
    rho_y = float(bound.peaks["lstm"].max())  # the scenario program (10): the largest peak
    violations = int(np.count_nonzero(fresh.peaks["lstm"] > rho_y))
    estimate = violation_probability_estimate(violations, fresh.evaluated)
    late = bound.peaks.get("lstm_after_transient")
    return {
        "rho_u": rho, "rho_y_lstm": rho_y,
        # the bound from the matrices: with --backend numpy, which runs every scenario through them
        "rho_y_lstm_matrix": float(bound.peaks["lstm_matrix"].max()) if "lstm_matrix" in bound.peaks else None,
        "rho_y_lstm_after_transient": None if late is None else float(late.max()),
        "diagram_vs_matrix_max_abs": bound.worst["diagram_vs_matrix"],
        "diagram_vs_matrix_scenarios": bound.counts.get("crosschecked", bound.evaluated),
        "rho_y_plant": float(bound.peaks["plant"].max()),
        "plant_block_vs_simulator_max_abs": bound.worst["plant_vs_simulator"],
        "analytic_iss_bound": float(reachable_set_bound(model.params, rho, state_box=STATE_BOX)),
        "lyapunov_bound": float(reachable_set_bound(model.params, rho, state_box=STATE_BOX, method="lyapunov")),
        **sandwich(model, rho, horizon=horizon, seed=seed),
        "posterior": {"fresh_scenarios": fresh.evaluated, "violations": violations, "p_hat": estimate.p_hat,
                      "ci99": [estimate.lower, estimate.upper],
                      "consistent_with_eps": consistent_with_eps(violations, fresh.evaluated, eps)},
        "scenarios_evaluated": bound.evaluated,
    }


@dataclass
class SweepOutcome:
    """What :func:`run_sweep` gives back.

    ``rows``: one :func:`sweep_row` per rho_u, in the order given; ``example``: the kept
    trajectories of the largest rho_u, ``"u"``, ``"y"`` (LSTM), ``"plant"``, each ``(EXAMPLES, T)``;
    ``timing``: seconds per stage (:data:`TIMING_STAGES`, summed over the chunks), ``cpu_s``,
    ``total_s`` (wall) and the shares of the diagrams; ``counts``: events summed over the chunks
    (``compilations``: programs compiled, ``crosschecked``: scenarios the matrices checked).
    """

    rows: list[dict]
    example: dict[str, np.ndarray]
    timing: dict[str, float]
    counts: dict[str, int]


def row_line(row: dict, n_posterior: int) -> str:
    """A rho_u's row in one line, as printed when it is complete."""
    return (f"  rho_u {row['rho_u']:.1f}: rho_y* LSTM {row['rho_y_lstm']:.4f}, plant "
            f"{row['rho_y_plant']:.4f}, analytic {row['analytic_iss_bound']:.3f}, worst found "
            f"{row['worst_case_found']:.4f} <= certified {row['certified_bound']:.4f}, diagram-matrix "
            f"{row['diagram_vs_matrix_max_abs']:.1e}, posterior {row['posterior']['violations']}/{n_posterior} "
            "violations")


def run_sweep(model: ScenarioModel, rho_u, *, n: int, n_posterior: int, horizon: int, eps: float, seed: int,
              chunk: int, backend: str = "numpy", batch: int = 0, workers: int | None = None,
              scheduler: str | None = None) -> SweepOutcome:
    """The whole sweep: for each amplitude of ``rho_u``, ``n`` scenarios for the bound and ``n_posterior``
    fresh ones for its check, ``horizon`` steps each, in chunks of ``chunk`` (here, on ``workers`` local
    Dask processes, or on the cluster at ``scheduler``); ``backend`` and ``batch`` as :func:`plan_chunks`
    gives them.

    Shows progress (a bar on a terminal, one updating line in a notebook; else a line per chunk and one
    per rho_u as its row is done)
    and stops at the first chunk whose checks fail (:func:`~.scenario_chunk.check_agreement`).
    """
    rho_u = list(rho_u)
    # every rho_u has two sets of scenarios, each drawn from its own branch of the seed's spawn tree
    collector = Collector({(i, part): size for i in range(len(rho_u)) for part, size in
                           ((BOUND, n), (POSTERIOR, n_posterior))}, chunk)
    largest = rho_u.index(max(rho_u))
    jobs = sweep_jobs(model, rho_u, collector, horizon=horizon, seed=seed, backend=backend, batch=batch)
    parts, rows, example, seconds, counts = {}, {}, None, {"cpu_s": 0.0}, {"compilations": 0}
    start_all = time.perf_counter()
    # a bar on a terminal; elsewhere a line per chunk and a "still working" line after 8 s of silence
    with Reporter(None, len(jobs), label="scenario sweep", unit="chunk", heartbeat_s=HEARTBEAT_S,
                  announce=True) as progress:
        for whole in sweep_parts(
                evaluate_chunk, jobs, collector, workers=workers, scheduler=scheduler,
                progress=progress, check=lambda result: check_agreement(result, rho_u),
                describe=lambda c: f"rho_u {rho_u[c.key[0]]:g} {SET_NAMES[c.key[1]]} scenarios {c.start}-{c.stop - 1}"):
            parts[whole.key] = whole
            for key, value in whole.seconds.items():
                seconds[key] = seconds.get(key, 0.0) + value
            seconds["cpu_s"] += whole.cpu_s
            for key, value in whole.counts.items():
                counts[key] = counts.get(key, 0) + value
            index = whole.key[0]
            if (index, BOUND) not in parts or (index, POSTERIOR) not in parts:
                continue  # a rho_u's row needs its bound and its posterior check
            bound, fresh = parts.pop((index, BOUND)), parts.pop((index, POSTERIOR))
            row = rows[index] = sweep_row(model, rho_u[index], bound, fresh, eps, horizon=horizon, seed=seed)
            if index == largest:
                example = dict(bound.kept)
            if progress.lines:  # a bar (terminal, notebook) stays one line: the table follows the sweep
                print(row_line(row, n_posterior), flush=True)
    timing = {key: seconds.get(key, 0.0) for key in (*TIMING_STAGES, "cpu_s")}
    timing["total_s"] = time.perf_counter() - start_all
    computed = sum(timing[k] for k in TIMING_STAGES)  # summed over workers: the shares hold in parallel too
    timing["lstm_diagram_share"] = timing["lstm_diagram_s"] / computed
    timing["diagrams_share"] = (timing["lstm_diagram_s"] + timing["plant_diagram_s"]) / computed
    return SweepOutcome([rows[i] for i in range(len(rho_u))], example, timing, counts)


def sweep_table(rows: list[dict], n_posterior: int) -> str:
    """The sweep as a table, one line per rho_u: the scenario bounds (LSTM, after the first
    :data:`~.scenario_chunk.TRANSIENT` steps, plant), the worst case found and the guaranteed bounds
    (certified by linear relaxations, interval, Lyapunov), the check, the violations."""
    lines = [(f"  {'rho_u':>5}  {'LSTM':>8}  {f'k>={TRANSIENT}':>8}  {'plant':>8}  {'worst':>8}  {'certif.':>8}"
              f"  {'interval':>8}  {'Lyapunov':>8}  {'diag-mat':>8}  violations")]
    for r in rows:
        late = r["rho_y_lstm_after_transient"]
        lines.append(f"  {r['rho_u']:5.1f}  {r['rho_y_lstm']:8.4f}  {'n/a' if late is None else f'{late:8.4f}':>8}"
                     f"  {r['rho_y_plant']:8.4f}  {r['worst_case_found']:8.4f}  {r['certified_bound']:8.4f}"
                     f"  {r['analytic_iss_bound']:8.3f}  {r['lyapunov_bound']:8.3f}"
                     f"  {r['diagram_vs_matrix_max_abs']:8.1e}  {r['posterior']['violations']}/{n_posterior}")
    return "\n".join(lines)
