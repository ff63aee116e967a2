"""ISS-constrained identification of the pH plant: training time against validation FIT.

SLSQP with the Theorem 4 constraints, JAX gradients, nx = 5 (146 parameters),
4400 training samples; FIT (mean-subtracted) on the 2250 validation samples
after a 50-sample washout.

    python benchmarks/bench_identification.py [--iterations 250 500 1000 1500]
"""

from __future__ import annotations

import argparse
import os
import time

import jax

from lstmds_sim import simulate
from lstmds_sim.core.allocator import tune_allocator
from lstmds_sim.core.jax_x64 import enable_x64
from lstmds_sim.learning.dataset import generate_identification_data
from lstmds_sim.learning.forward import lstm_forward
from lstmds_sim.learning.iss_training import ISSTrainOptions, train_iss
from lstmds_sim.learning.metrics import fit_mean
from lstmds_sim.safety.iss import iss_check

tune_allocator()  # the setting the lstmds command uses (see lstmds_sim.core.allocator)


def main(argv=None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, nargs="+", default=[250, 500, 1000, 1500])
    args = parser.parse_args(argv)
    data = generate_identification_data()
    u, y = data.normalise_u(data.u_train), data.normalise_y(data.y_train)
    uv, yv = data.normalise_u(data.u_val), data.normalise_y(data.y_val)

    p = train_iss(u, y, ISSTrainOptions(max_iter=1)).params.arrays()
    with enable_x64(True):  # float64, as in training
        grad = jax.jit(jax.value_and_grad(
            lambda a: ((lstm_forward(a, u[:, None], form="statespace")[50:, 0] - y[50:]) ** 2).mean()))
        grad(p)[0].block_until_ready()
        t0 = time.perf_counter()
        for _ in range(20):
            grad(p)[0].block_until_ready()
        per_eval = (time.perf_counter() - t0) / 20

    rows = []
    print(f"ISS-constrained SLSQP, nx=5, 4400 samples, {os.cpu_count()} cores; "
          f"one JAX loss-and-gradient evaluation: {per_eval * 1e3:.1f} ms")
    print(f"  {'iterations':>10} {'time [s]':>9} {'FIT [%]':>8} {'ISS':>5}")
    for n in args.iterations:
        result = train_iss(u, y, ISSTrainOptions(max_iter=n))
        fit = fit_mean(yv, simulate(result.params, uv[:, None], form="statespace").y[:, 0], skip=50)
        row = {"iterations": result.iterations, "time_s": result.elapsed_s, "fit_percent": fit,
               "iss": iss_check(result.params).satisfied}
        rows.append(row)
        print(f"  {row['iterations']:>10} {row['time_s']:9.1f} {fit:8.2f} {str(row['iss']):>5}")
    return rows


if __name__ == "__main__":
    main()
