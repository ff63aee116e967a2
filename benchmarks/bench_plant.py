"""The pH plant over a batch of tanks: the ph_tank subsystem (drawn from integrators) against the PHPLANT block.

Both run in lstmds_sim.run with the same RK4 (4 steps of 2.5 s per 10 s
sample), over the scenario sweep's batch: 2964 tanks x 200 samples of a
random base flow. Prints the best of three wall times of each and their ratio.

    python benchmarks/bench_plant.py [--tanks 2964] [--samples 200]
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

from lstmds_sim import blockdiagram, run
from lstmds_sim.core.allocator import tune_allocator
from lstmds_sim.systems.ph_plant import DEFAULT_SUBSTEPS, steady_state
from lstmds_sim.systems.ph_tank import ph_tank_subsystem

tune_allocator()  # the setting the lstmds command uses (see lstmds_sim.core.allocator)


def diagram(q3: np.ndarray, sealed: bool):
    bd = blockdiagram("bench_plant")
    clock = bd.clock(10.0)
    x0 = steady_state(15.55).x
    source = bd.SEQUENCE(q3, clock, name="q3")
    plant = bd.PHPLANT(clock, x0=x0, name="plant") if sealed else bd.SUBSYSTEM(ph_tank_subsystem(x0=x0), name="tank")
    bd.connect(source, plant, name="q3")
    bd.connect(plant, bd.RECORDER(name="pH"), name="pH")
    return bd


def best_of(n: int, q3: np.ndarray, sealed: bool) -> tuple[float, np.ndarray]:
    times, y = [], None
    for _ in range(n):
        bd = diagram(q3, sealed)
        start = time.perf_counter()
        y = run(bd, substeps=DEFAULT_SUBSTEPS)["pH"]
        times.append(time.perf_counter() - start)
    return min(times), y


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tanks", type=int, default=2964)
    parser.add_argument("--samples", type=int, default=200)
    args = parser.parse_args(argv)
    q3 = 15.55 + np.random.default_rng(0).uniform(-3.0, 1.45, size=(args.tanks, args.samples, 1))
    drawn_s, drawn = best_of(3, q3, sealed=False)
    sealed_s, sealed = best_of(3, q3, sealed=True)
    result = {"tanks": args.tanks, "samples": args.samples, "subsystem_s": drawn_s, "block_s": sealed_s,
              "ratio": drawn_s / sealed_s, "max_abs_difference": float(np.max(np.abs(drawn - sealed)))}
    print(f"{args.tanks} tanks x {args.samples} samples ({os.cpu_count()} cores), best of 3:")
    print(f"  ph_tank subsystem (27 blocks)  {drawn_s:7.2f} s")
    print(f"  PHPLANT block                  {sealed_s:7.2f} s")
    print(f"  ratio                          {result['ratio']:7.2f}")
    print(f"  max |pH difference|            {result['max_abs_difference']:.1e}")
    return result


if __name__ == "__main__":
    main()
