"""The whole scenario sweep: 10 values of rho_u x 2964 scenarios x 2000 steps, LSTM and plant through diagrams.

Runs the sweep of lab scenario_safety (``lstmds_sim.safety.scenario_sweep.run_sweep``, the lab's
defaults: eps = 1e-2, beta = 1e-6, N = 2964 per rho_u and as many fresh scenarios, in this process)
with a quickly trained ISS model (the timing does not depend on the model's quality) and prints
its timing: the LSTM through the batched diagram, through the matrices, the plant block's batched
diagram, and the posterior check (each summed over the sweep's chunks), and the peak memory of
this process. The larger sweeps (eps = 1e-3, Dask workers) are in bench_sweep.py.

    python benchmarks/bench_scenario.py [--model FILE] [--chunk N] [--backend numpy|jax]
"""

from __future__ import annotations

import argparse
import os
import resource

from lstmds_sim.core.allocator import tune_allocator
from lstmds_sim.safety.scenario import sample_size
from lstmds_sim.safety.scenario_sweep import RHO_U, plan_chunks, run_sweep

tune_allocator()  # the setting the lstmds command uses (see lstmds_sim.core.allocator)

EPS, BETA, HORIZON = 1e-2, 1e-6, 2000  # the lab's defaults


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None, help="an IdentifiedModel .npz (default: train one, 300 iterations)")
    parser.add_argument("--chunk", type=int, default=None, help="scenarios per chunk (default: the lab's)")
    parser.add_argument("--backend", choices=("numpy", "jax"), default="numpy")
    args = parser.parse_args(argv)
    if args.model:
        from lstmds_sim.learning.model import IdentifiedModel

        model = IdentifiedModel.load(args.model)
    else:
        from lstmds_sim.learning.experiments import train_iss_model

        model = train_iss_model(300, 0)
    n = sample_size(EPS, BETA)
    chunk, batch = plan_chunks(HORIZON, args.backend, n, args.chunk)
    sweep = run_sweep(model, RHO_U, n=n, n_posterior=n, horizon=HORIZON, eps=EPS, seed=0, chunk=chunk,
                      backend=args.backend, batch=batch)
    print(f"sweep of {len(sweep.rows)} rho_u values x N = {n} scenarios x {HORIZON} steps "
          f"({os.cpu_count()} cores, backend {args.backend}):")
    for key, value in sweep.timing.items():
        print(f"  {key:<20} {value:8.2f}" if key.endswith("_s") else f"  {key:<20} {value:8.0%}")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux
    print(f"  peak memory (RSS)    {peak:8.0f} MiB  (chunks of {chunk} scenarios; includes training "
          "when no --model is given)")
    return sweep.timing


if __name__ == "__main__":
    main()
