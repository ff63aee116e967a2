"""The whole scenario sweep: 10 values of rho_u x 2964 scenarios x 2000 steps, LSTM and plant through diagrams.

Runs lab scenario_safety with a quickly trained ISS model (the timing does not
depend on the model's quality) and prints its timing: the LSTM through the
batched diagram, through the matrices, the plant block's batched diagram, and
the posterior check (each summed over the sweep's chunks), and the peak memory
of this process. The larger sweeps (eps = 1e-3, Dask workers) are in
bench_sweep.py.

    python benchmarks/bench_scenario.py [--out /tmp/bench_scenario] [--model FILE] [--chunk N]
"""

from __future__ import annotations

import argparse
import os
import resource
import tempfile

from lstmds_sim.core.allocator import tune_allocator
from lstmds_sim.diagrams import scenario_safety

tune_allocator()  # the setting the lstmds command uses (see lstmds_sim.core.allocator)


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=None)
    parser.add_argument("--model", default=None, help="an IdentifiedModel .npz (default: train one, 300 iterations)")
    parser.add_argument("--chunk", default=None, help="scenarios per chunk (default: the lab's)")
    args = parser.parse_args(argv)
    out = args.out or tempfile.mkdtemp(prefix="bench_scenario_")
    lab_args = ["--out", out, *(["--model", args.model] if args.model else ["--max-iter", "300"])]
    results = scenario_safety.main(lab_args + (["--chunk", args.chunk] if args.chunk else []))
    timing = results["timing"]
    print(f"sweep of {len(results['sweep'])} rho_u values x N = {results['N']} scenarios x {results['horizon']} steps "
          f"({os.cpu_count()} cores):")
    for key, value in timing.items():
        print(f"  {key:<20} {value:8.2f}" if key.endswith("_s") else f"  {key:<20} {value:8.0%}")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux
    print(f"  peak memory (RSS)    {peak:8.0f} MiB  (chunks of {results['chunk']} scenarios; includes training "
          "when no --model is given)")
    return timing


if __name__ == "__main__":
    main()
