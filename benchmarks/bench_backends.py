"""The backends side by side: the numpy interpreter, the numpy matrices, bdsim's own runner and backend="jax".

Three workloads, each measured in this one run (best of --repeat; the JAX
backend's compile time is reported apart from its run time), as wall time and
as this process's CPU time (on a machine shared with other jobs, the wall time
includes waiting for a core):

1. one sequence through the 30-block LSTM diagram (nh = 5, nu = 1, ny = 1), in us/step;
2. the scenario approach's batch, B = 2964 sequences x 2000 steps, in us per scenario-step;
3. the 2964-tank pH plant x 200 samples (Ts = 10 s, 4 RK4 steps per sample), through the
   PHPLANT block and through the ph_tank subsystem drawn from 27 blocks, in s.

bdsim's own runner runs the unbatched LSTM diagram only (its clocked runner
ticks first at t = Ts, so its numbers are a cost, not a result to compare);
it cannot run a batch, and the plant diagrams need the engine's batched kernels.
Prints both tables and returns them as a dict.

    python benchmarks/bench_backends.py            # full sizes
    python benchmarks/bench_backends.py --quick    # small sizes, a smoke test
    python benchmarks/bench_backends.py --plant    # the two plant rows only
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import platform
import time

import numpy as np
from bench_plant import diagram as plant_diagram  # the same plant diagrams as bench_plant.py

from lstmds_sim import LSTMParams, run, simulate
from lstmds_sim.core.allocator import tune_allocator
from lstmds_sim.core.compiled import compile_run
from lstmds_sim.core.diagram import lstm_diagram
from lstmds_sim.core.engine import compile_diagram, simulator
from lstmds_sim.systems.ph_plant import DEFAULT_SUBSTEPS

tune_allocator()  # the setting the lstmds command uses (see lstmds_sim.core.allocator)


class Clock:
    """Best-of wall and CPU (process) times. On a machine shared with other jobs the wall time includes
    waiting for a core; the CPU time of this single-threaded work is what an idle machine would show."""

    def __init__(self) -> None:
        self.cpu: dict = {}

    def best_of(self, key, fn, repeat: int) -> float:
        """Best wall time of ``fn()``; its best CPU time goes to ``self.cpu[key]``."""
        wall, cpu = [], []
        for _ in range(repeat):
            c0, w0 = time.process_time(), time.perf_counter()
            fn()
            wall.append(time.perf_counter() - w0)
            cpu.append(time.process_time() - c0)
        self.cpu[key] = min(cpu)
        return min(wall)


def bdsim_runner(clock: Clock, key, params, u, repeat: int) -> float:
    """bdsim's own runner on the unbatched LSTM diagram: seconds for len(u) clock ticks.

    Run to t = len(u) - 1.5 (it evaluates the diagram once more at the end, so
    the last sample must exist): len(u) - 1 evaluations of the diagram, scaled to len(u).
    """

    def once():
        bd, _ = lstm_diagram(params, u)
        compile_diagram(bd)
        with contextlib.redirect_stdout(io.StringIO()):
            simulator().run(bd, T=len(u) - 1.5)

    per_tick = len(u) / (len(u) - 1)
    wall = clock.best_of(key, once, repeat) * per_tick
    clock.cpu[key] *= per_tick
    return wall


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (a smoke test)")
    parser.add_argument("--plant", action="store_true", help="measure the two pH plant rows only")
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
    clock = Clock()
    jax_repeat = max(repeat, 5)

    scale: dict = {}
    n_blocks = len(lstm_diagram(params, u_single)[0].blocklist)
    if not args.plant:  # the LSTM rows
        # 1. one sequence
        bd_single, _ = lstm_diagram(params, u_single)
        y_ref = run(bd_single)["y"]
        compiled = compile_run(lstm_diagram(params, u_single)[0])
        assert np.max(np.abs(compiled.run()["y"] - y_ref)) <= 1e-12
        key = "LSTM, one sequence [us/step]"
        rows[key] = {
            "numpy interpreter": clock.best_of((key, 0), lambda: run(bd_single), repeat),
            "numpy matrices": clock.best_of((key, 1), lambda: simulate(params, u_single), repeat),
            "bdsim runner": bdsim_runner(clock, (key, 2), params, u_single, repeat),
            "jax": clock.best_of((key, 3), compiled.run, jax_repeat),
            "jax compile [s]": compiled.compile_s,
        }
        scale[key] = us / single_steps

        # 2. the scenario batch
        bd_batch, _ = lstm_diagram(params, u_batch)
        y_ref = run(bd_batch)["y"]
        compiled = compile_run(lstm_diagram(params, u_batch)[0])
        assert np.max(np.abs(compiled.run()["y"] - y_ref)) <= 1e-12
        key = f"LSTM, B = {batch} x {steps} [us/scenario-step]"
        rows[key] = {
            "numpy interpreter": clock.best_of((key, 0), lambda: run(bd_batch), repeat),
            "numpy matrices": clock.best_of((key, 1), lambda: simulate(params, u_batch), repeat),
            "bdsim runner": None,
            "jax": clock.best_of((key, 3), compiled.run, jax_repeat),
            "jax compile [s]": compiled.compile_s,
        }
        scale[key] = us / (batch * steps)

    # 3. the plant
    for sealed, label in ((True, "PHPLANT block"), (False, "ph_tank subsystem")):
        bd = plant_diagram(q3, sealed)
        y_ref = run(bd, substeps=DEFAULT_SUBSTEPS)["pH"]
        compiled = compile_run(plant_diagram(q3, sealed), substeps=DEFAULT_SUBSTEPS)
        assert np.max(np.abs(compiled.run()["pH"] - y_ref)) <= 1e-12
        key = f"pH plant, {tanks} tanks x {samples}, {label} [s]"
        rows[key] = {
            "numpy interpreter": clock.best_of((key, 0), lambda b=bd: run(b, substeps=DEFAULT_SUBSTEPS), repeat),
            "numpy matrices": None, "bdsim runner": None,
            "jax": clock.best_of((key, 3), compiled.run, repeat),
            "jax compile [s]": compiled.compile_s,
        }
        scale[key] = 1.0

    columns = ["numpy interpreter", "numpy matrices", "bdsim runner", "jax"]
    cpu_rows = {}
    for key, row in rows.items():
        for c in columns:
            if row[c] is not None:
                row[c] *= scale[key]
        cpu_rows[key] = {c: (None if row[c] is None else clock.cpu[key, i] * scale[key])
                         for i, c in enumerate(columns)}
        cpu_rows[key]["jax compile [s]"] = row["jax compile [s]"]

    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"{n_blocks}-block LSTM diagram (nh=5, nu=1, ny=1); {os.cpu_count()} cores, "
          f"{platform.processor() or platform.machine()}, JAX on {jax.default_backend()}; best of {repeat} "
          f"(jax: of {jax_repeat}; compile time apart); load average {load:.1f} at the end")
    columns.append("jax compile [s]")
    width = max(map(len, rows))
    for title, table in (("wall time", rows), ("CPU time of this process", cpu_rows)):
        print(f"{title}:")
        print(f"  {'':<{width}}  " + "  ".join(f"{c:>17}" for c in columns) + f"  {'interpreter / jax':>17}")
        for key, row in table.items():
            cells = "  ".join(f"{'-':>17}" if row[c] is None else f"{row[c]:17.4g}" for c in columns)
            print(f"  {key:<{width}}  {cells}  {row['numpy interpreter'] / row['jax']:17.1f}")
    return {"wall": rows, "cpu": cpu_rows}


if __name__ == "__main__":
    main()
