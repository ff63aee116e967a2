"""How exact the engine's semantics are, on bdsim's own examples: the numbers docs/semantics.md quotes.

Each line is a run of a diagram from tests/test_conformance.py (bdsim's examples, drawn again) against
its exact solution: eg1's closed form (RK4 with 10 and 100 substeps, solve_ivp), eg1_zoh's exact
sampled-data recursion, the bouncing ball's analytic bounce times (both solvers), and a step that
switches between two output instants (the integrator stops at the breakpoint).

    python benchmarks/bench_semantics.py
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from test_conformance import (  # noqa: E402  (the cases live with their tests)
    _without_scope, bounces, bouncing_ball, eg1, eg1_exact, eg1_zoh, eg1_zoh_exact,
)

from lstmds_sim import blockdiagram, run  # noqa: E402


def ramp_after(T: float):
    bd = blockdiagram("step into an integrator")
    integ = bd.INTEGRATOR(x0=0, name="integ")
    bd.connect(bd.STEP(T=T, name="step"), integ)
    return bd


def main() -> dict:
    rows = {}
    for solver, substeps in (("rk4", 10), ("rk4", 100), ("solve_ivp", 10)):
        res = run(_without_scope(eg1()), 51, dt=0.1, solver=solver, substeps=substeps, probes=["plant"])
        key = f"eg1 (STEP at t = 1 into a loop), {solver}" + (f", {substeps} substeps" if solver == "rk4" else "")
        rows[key] = float(np.max(np.abs(np.ravel(res["plant"]) - eg1_exact(res.t))))
    for solver in ("rk4", "solve_ivp"):
        res = run(eg1_zoh(), 51, solver=solver, probes=["plant"])
        rows[f"eg1_zoh (10 Hz ZOH) vs the exact sampled-data recursion, {solver}"] = float(
            np.max(np.abs(np.ravel(res["plant"]) - eg1_zoh_exact(51))))
    for solver in ("rk4", "solve_ivp"):
        res = run(bouncing_ball(), 500, dt=0.01, solver=solver)
        got = np.array([t for t, _ in res.events])
        rows[f"bouncing ball: bounce times vs analytic, {solver}"] = float(np.max(np.abs(got - bounces(len(got)))))
    for T in (0.55, 1.0):
        res = run(ramp_after(T), 21, dt=0.1, probes=["integ"])
        rows[f"STEP at t = {T} into an integrator (output step 0.1), rk4"] = float(
            np.max(np.abs(np.ravel(res["integ"]) - np.maximum(res.t - T, 0.0))))
    width = max(map(len, rows))
    for key, value in rows.items():
        print(f"{key:<{width}}  {value:.2g}")
    return rows


if __name__ == "__main__":
    main()
