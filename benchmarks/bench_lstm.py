"""Speed of one LSTM step: block diagram vs matrix implementation, single sequence and batched.

nh = 5 hidden units, nu = 1 input, ny = 1 output; the batched run is the
scenario approach's size, B = 2964 sequences x 2000 steps.

    python benchmarks/bench_lstm.py            # full sizes
    python benchmarks/bench_lstm.py --quick    # smaller, for a smoke test
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import numpy as np

from lstmds_sim import LSTMParams, run, simulate
from lstmds_sim.core.allocator import tune_allocator
from lstmds_sim.core.diagram import lstm_diagram

tune_allocator()  # the setting the lstmds command uses (see lstmds_sim.core.allocator)


def best_of(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    batch, steps, single_steps = (296, 200, 500) if args.quick else (2964, 2000, 2000)

    rng = np.random.default_rng(0)
    params = LSTMParams.random(1, 5, 1, rng=rng, low=-1, high=1)
    u_single = rng.uniform(-1, 1, (single_steps, 1))
    u_batch = rng.uniform(-1, 1, (batch, steps, 1))

    bd_single, _ = lstm_diagram(params, u_single)
    bd_batch, _ = lstm_diagram(params, u_batch)
    t_diagram_single = best_of(lambda: run(bd_single), args.repeat)
    t_matrix_single = best_of(lambda: simulate(params, u_single), args.repeat)
    t_diagram_batch = best_of(lambda: run(bd_batch), args.repeat)
    t_matrix_batch = best_of(lambda: simulate(params, u_batch), args.repeat)

    us = 1e6
    rows = {
        "diagram, one sequence [us/step]": t_diagram_single / single_steps * us,
        "matrix,  one sequence [us/step]": t_matrix_single / single_steps * us,
        f"diagram, B={batch} [us/step]": t_diagram_batch / steps * us,
        f"diagram, B={batch} [us/scenario-step]": t_diagram_batch / steps / batch * us,
        f"diagram, B={batch} x {steps} steps [s]": t_diagram_batch,
        f"matrix,  B={batch} [us/step]": t_matrix_batch / steps * us,
        f"matrix,  B={batch} [us/scenario-step]": t_matrix_batch / steps / batch * us,
        f"matrix,  B={batch} x {steps} steps [s]": t_matrix_batch,
        "diagram / matrix, one sequence": t_diagram_single / t_matrix_single,
        f"diagram / matrix, B={batch}": t_diagram_batch / t_matrix_batch,
        f"batched speed-up of the diagram per scenario (B={batch})": t_diagram_single / single_steps / (t_diagram_batch / steps / batch),
    }
    print(f"LSTM nh=5 nu=1, {len(bd_single.blocklist)}-block diagram; {os.cpu_count()} cores, "
          f"{platform.processor() or platform.machine()}, best of {args.repeat}")
    width = max(map(len, rows))
    for key, value in rows.items():
        print(f"  {key:<{width}}  {value:10.3f}")
    return rows


if __name__ == "__main__":
    main()
