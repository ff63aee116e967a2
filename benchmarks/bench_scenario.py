"""The whole scenario sweep: 10 values of rho_u x 2964 scenarios x 2000 steps, LSTM and plant through diagrams.

Runs lab scenario_safety with a quickly trained ISS model (the timing does not
depend on the model's quality) and prints its timing: the LSTM through the
batched diagram, through the matrices, the plant block's batched diagram, and
the posterior check.

    python benchmarks/bench_scenario.py [--out /tmp/bench_scenario]
"""

from __future__ import annotations

import argparse
import os
import tempfile

from lstmds_sim.core.allocator import tune_allocator
from lstmds_sim.diagrams import scenario_safety

tune_allocator()  # the setting the lstmds command uses (see lstmds_sim.core.allocator)


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=None)
    args = parser.parse_args(argv)
    out = args.out or tempfile.mkdtemp(prefix="bench_scenario_")
    results = scenario_safety.main(["--out", out, "--max-iter", "300"])
    timing = results["timing"]
    print(f"sweep of {len(results['sweep'])} rho_u values x N = {results['N']} scenarios x {results['horizon']} steps "
          f"({os.cpu_count()} cores):")
    for key, value in timing.items():
        print(f"  {key:<20} {value:8.2f}" if key.endswith("_s") else f"  {key:<20} {value:8.0%}")
    return timing


if __name__ == "__main__":
    main()
