"""The backends side by side: the numpy interpreter, the numpy matrices, bdsim's own runner and backend="jax".

Three workloads, each measured in this one run (best of --repeat wall times; the
JAX backend's compile time is reported apart from its run time):

1. one sequence through the 30-block LSTM diagram (nh = 5, nu = 1, ny = 1), in us/step;
2. the scenario approach's batch, B = 2964 sequences x 2000 steps, in us per scenario-step;
3. the 2964-tank pH plant x 200 samples (Ts = 10 s, 4 RK4 steps per sample), through the
   PHPLANT block and through the ph_tank subsystem drawn from 27 blocks, in s.

bdsim's own runner runs the unbatched LSTM diagram only (its clocked runner
ticks first at t = Ts, so its numbers are a cost, not a result to compare);
it cannot run a batch, and the plant diagrams need the engine's batched kernels.
Prints the table and returns it as a dict.

    python benchmarks/bench_backends.py            # full sizes
    python benchmarks/bench_backends.py --quick    # small sizes, a smoke test
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import platform
import time

import numpy as np

from lstmds_sim import LSTMParams, blockdiagram, run, simulate
from lstmds_sim.core.allocator import tune_allocator
from lstmds_sim.core.compiled import compile_run
from lstmds_sim.core.diagram import lstm_diagram
from lstmds_sim.core.engine import compile_diagram, simulator
from lstmds_sim.systems.ph_plant import DEFAULT_SUBSTEPS, steady_state
from lstmds_sim.systems.ph_tank import ph_tank_subsystem

tune_allocator()  # the setting the lstmds command uses (see lstmds_sim.core.allocator)


def best_of(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def jax_times(compiled, repeat: int) -> tuple[float, np.ndarray]:
    """Best run time of a compiled run (its own ``run_s``: data in, scan, results out) and its last result."""
    best, result = np.inf, None
    for _ in range(repeat):
        result = compiled.run()
        best = min(best, result.timing["run_s"])
    return best, result


def bdsim_runner(params, u, repeat: int) -> float:
    """bdsim's own runner on the unbatched LSTM diagram: seconds per clock tick.

    Run to t = len(u) - 1.5 (it evaluates the diagram once more at the end, so
    the last sample must exist): len(u) - 1 evaluations of the diagram.
    """

    def once():
        bd, _ = lstm_diagram(params, u)
        compile_diagram(bd)
        with contextlib.redirect_stdout(io.StringIO()):
            simulator().run(bd, T=len(u) - 1.5)

    return best_of(once, repeat) / (len(u) - 1)


def plant_diagram(q3: np.ndarray, sealed: bool):
    bd = blockdiagram("bench_backends_plant")
    clock = bd.clock(10.0)
    x0 = steady_state(15.55).x
    source = bd.SEQUENCE(q3, clock, name="q3")
    plant = bd.PHPLANT(clock, x0=x0, name="plant") if sealed else bd.SUBSYSTEM(ph_tank_subsystem(x0=x0), name="tank")
    bd.connect(source, plant, name="q3")
    bd.connect(plant, bd.RECORDER(name="pH"), name="pH")
    return bd


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (a smoke test)")
    parser.add_argument("--repeat", type=int, default=3, help="best of this many runs (default: %(default)s)")
    args = parser.parse_args(argv)
    single_steps, batch, steps, tanks, samples = ((300, 64, 200, 64, 20) if args.quick
                                                  else (2000, 2964, 2000, 2964, 200))
    repeat = args.repeat
    import jax

    rng = np.random.default_rng(0)
    params = LSTMParams.random(1, 5, 1, rng=rng, low=-1, high=1)
    u_single = rng.uniform(-1, 1, (single_steps, 1))
    u_batch = rng.uniform(-1, 1, (batch, steps, 1))
    q3 = 15.55 + np.random.default_rng(0).uniform(-3.0, 1.45, size=(tanks, samples, 1))
    rows: dict = {}
    us = 1e6

    # 1. one sequence
    bd_single, _ = lstm_diagram(params, u_single)
    n_blocks = len(bd_single.blocklist)
    y_ref = run(bd_single)["y"]
    compiled = compile_run(lstm_diagram(params, u_single)[0])
    jax_s, res = jax_times(compiled, max(repeat, 5))
    assert np.max(np.abs(res["y"] - y_ref)) <= 1e-12
    rows["LSTM, one sequence [us/step]"] = {
        "numpy interpreter": best_of(lambda: run(bd_single), repeat) / single_steps * us,
        "numpy matrices": best_of(lambda: simulate(params, u_single), repeat) / single_steps * us,
        "bdsim runner": bdsim_runner(params, u_single, repeat) * us,
        "jax": jax_s / single_steps * us,
        "jax compile [s]": compiled.compile_s,
    }

    # 2. the scenario batch
    bd_batch, _ = lstm_diagram(params, u_batch)
    interpreter_s = best_of(lambda: run(bd_batch), repeat)
    y_ref = run(bd_batch)["y"]
    compiled = compile_run(lstm_diagram(params, u_batch)[0])
    jax_s, res = jax_times(compiled, max(repeat, 5))
    assert np.max(np.abs(res["y"] - y_ref)) <= 1e-12
    per = batch * steps / us
    rows[f"LSTM, B = {batch} x {steps} [us/scenario-step]"] = {
        "numpy interpreter": interpreter_s / per,
        "numpy matrices": best_of(lambda: simulate(params, u_batch), repeat) / per,
        "bdsim runner": None,
        "jax": jax_s / per,
        "jax compile [s]": compiled.compile_s,
    }

    # 3. the plant
    for sealed, label in ((True, "PHPLANT block"), (False, "ph_tank subsystem")):
        y_ref = run(plant_diagram(q3, sealed), substeps=DEFAULT_SUBSTEPS)["pH"]
        interpreter_s = best_of(lambda s=sealed: run(plant_diagram(q3, s), substeps=DEFAULT_SUBSTEPS), repeat)
        compiled = compile_run(plant_diagram(q3, sealed), substeps=DEFAULT_SUBSTEPS)
        jax_s, res = jax_times(compiled, repeat)
        assert np.max(np.abs(res["pH"] - y_ref)) <= 1e-12
        rows[f"pH plant, {tanks} tanks x {samples}, {label} [s]"] = {
            "numpy interpreter": interpreter_s, "numpy matrices": None, "bdsim runner": None,
            "jax": jax_s, "jax compile [s]": compiled.compile_s,
        }

    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"{n_blocks}-block LSTM diagram (nh=5, nu=1, ny=1); {os.cpu_count()} cores, "
          f"{platform.processor() or platform.machine()}, JAX on {jax.default_backend()}; best of {repeat} "
          f"(jax: of {max(repeat, 5)}); load average {load:.1f} at the end")
    columns = ["numpy interpreter", "numpy matrices", "bdsim runner", "jax", "jax compile [s]"]
    width = max(map(len, rows))
    print(f"  {'':<{width}}  " + "  ".join(f"{c:>17}" for c in columns) + f"  {'interpreter / jax':>17}")
    for key, row in rows.items():
        cells = "  ".join(f"{'-':>17}" if row[c] is None else f"{row[c]:17.4g}" for c in columns)
        print(f"  {key:<{width}}  {cells}  {row['numpy interpreter'] / row['jax']:17.1f}")
    return rows


if __name__ == "__main__":
    main()
