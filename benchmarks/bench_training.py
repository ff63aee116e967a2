"""Training speed: the example's 10,000-epoch Adam run (Nn = 5, 1001 samples), and same seed -> same result.

    python benchmarks/bench_training.py [--epochs 10000]
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

from lstmds_sim.core.allocator import tune_allocator
from lstmds_sim.learning.example_setup import example_options, setup
from lstmds_sim.learning.training import train

tune_allocator()  # the setting the lstmds command uses (see lstmds_sim.core.allocator)


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=10_000)
    args = parser.parse_args(argv)
    _, start, (u, y), _ = setup(0)
    t0 = time.perf_counter()
    first = train(start, u, y, example_options(1e-4, args.epochs), progress=False)
    t1 = time.perf_counter()
    second = train(start, u, y, example_options(1e-4, args.epochs), progress=False)
    t2 = time.perf_counter()
    rows = {
        "first run, compilation included [s]": t1 - t0,
        "second run (compiled) [s]": t2 - t1,
        "ms per epoch (compiled)": (t2 - t1) / args.epochs * 1e3,
        "epochs per second (compiled)": args.epochs / (t2 - t1),
        "same seed, same result (bitwise)": bool(np.array_equal(first.history, second.history)
                                                 and np.array_equal(first.params.R, second.params.R)),
    }
    print(f"{args.epochs}-epoch full-batch Adam, Nn=5, T=1001, float64, JAX on CPU ({os.cpu_count()} cores):")
    for k, v in rows.items():
        print(f"  {k:<40} {v:.3f}" if isinstance(v, float) else f"  {k:<40} {v}")
    return rows


if __name__ == "__main__":
    main()
