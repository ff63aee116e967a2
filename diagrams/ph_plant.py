"""Lab 5: the pH neutralisation plant, drawn from integrators and as a sealed block.

The Henson & Seborg tank (states h, Wa4, Wb4; input base flow q3; output
pH) two ways. As the subsystem ``ph_tank`` drawn from primitive blocks (three
INTEGRATORs, gains, sums, products, the valve and the pH as function blocks)
in a hybrid diagram: the base flow is sampled every Ts = 10 s and held
(zero-order hold), the tank integrates in continuous time between samples.
And as the sealed sampled block PHPLANT, which integrates the same equations
inside one block (the fast one, used by the scenario sweep). The two agree on
the identification input (``subsystem_vs_block_max_abs``); the subsystem also
runs with scipy's solve_ivp as the accurate reference.

Shown: the steady pH against q3 (the steep titration curve: the static gain
varies about tenfold over 12.5-17 ml/s), the responses to steps of q3 from the
nominal operating point (q3 = 15.55 ml/s, pH 7.0), one diagram run for a batch
of step sizes, and the tank's diagram with its level and invariant loops.

Run:  lstmds run ph_plant --out out/ph_plant
"""

from __future__ import annotations

import numpy as np

from lstmds_sim import run
from lstmds_sim.core.engine import blockdiagram
from lstmds_sim.io.lab import lab_parser, print_kv, use_headless_backend
from lstmds_sim.io.outdir import OutputDir
from lstmds_sim.learning.dataset import generate_identification_data
from lstmds_sim.systems.ph_plant import (
    level_time_constant,
    residence_time,
    static_gain,
    steady_state,
    titration_curve,
)
from lstmds_sim.systems.ph_tank import ph_tank_subsystem

TS = 10.0
Q3_NOMINAL = 15.55
STEPS = (-3.0, -1.0, -0.5, 0.5, 1.0, 1.45)  # ml/s, from 15.55: 12.55 ... 17.0
N_SAMPLES = 150
SUBSTEPS = 4  # RK4 steps per sample in both plants (2.5 s; PHPLANT's default)
REFERENCE_SAMPLES = 300  # of the identification input, run with solve_ivp (slow: adaptive, unbatched)


def step_input(steps=STEPS, n_samples: int = N_SAMPLES) -> np.ndarray:
    """A batch of base-flow sequences (B, T, 1): q3 = 15.55 ml/s, stepped at k = 10 by each of ``steps``."""
    q3 = np.full((len(steps), n_samples, 1), Q3_NOMINAL)
    q3[:, 10:, 0] += np.asarray(steps)[:, None]
    return q3


def build_diagram(q3=None, *, sealed: bool = False):
    """SEQUENCE q3 (sampled every Ts, held) -> ph_tank subsystem (or PHPLANT, ``sealed``) -> RECORDER pH.

    ``q3`` is (T,) or a batch (B, T, 1) [ml/s]; every tank starts at the steady
    state of the first flow of the first row.
    """
    q3 = step_input() if q3 is None else q3
    x0 = steady_state(float(np.ravel(q3)[0])).x
    bd = blockdiagram("ph_plant")
    clock = bd.clock(TS, "s")
    source = bd.SEQUENCE(q3, clock, name="q3")
    if sealed:
        plant = bd.PHPLANT(clock, x0=x0, substeps=SUBSTEPS, name="pH tank")
    else:
        plant = bd.SUBSYSTEM(ph_tank_subsystem(x0=x0), name="ph_tank")
    bd.connect(source, plant, name="q3")
    bd.connect(plant, bd.RECORDER(name="pH"), name="pH")
    return bd


def tank_diagram():
    """The ph_tank subsystem alone (INPORT q3 -> ... -> OUTPORT pH), for its picture."""
    return ph_tank_subsystem()


def main(argv=None) -> dict:
    args = lab_parser("ph_plant", __doc__).parse_args(argv)
    use_headless_backend()
    import matplotlib.pyplot as plt

    out = OutputDir(args.out, lab="ph_plant")
    q3_grid = np.linspace(12.5, 17.0, 181)
    curve = titration_curve(q3_grid)
    gains = static_gain(q3_grid)
    nominal = steady_state(Q3_NOMINAL)
    result = run(build_diagram(), substeps=SUBSTEPS)
    ph = result.recorders["pH"][..., 0]
    t = result.t

    # the drawn tank against the sealed block, on the identification input (training and validation as a batch)
    data = generate_identification_data()
    n = max(data.n_train, len(data.u) - data.n_train)
    u = np.stack([np.pad(part, (0, n - len(part)), mode="edge")
                  for part in (data.u[:data.n_train], data.u[data.n_train:])])[..., None]
    drawn = run(build_diagram(u), substeps=SUBSTEPS).recorders["pH"]
    sealed = run(build_diagram(u, sealed=True)).recorders["pH"]
    reference = run(build_diagram(u[0, :REFERENCE_SAMPLES, 0]), solver="solve_ivp").recorders["pH"]
    agreement = {
        "subsystem_vs_block_max_abs": float(np.max(np.abs(drawn - sealed))),
        "subsystem_solve_ivp_vs_block_max_abs": float(np.max(np.abs(reference - sealed[0, :REFERENCE_SAMPLES]))),
        "identification_samples": int(u.shape[1]),
        "reference_samples": REFERENCE_SAMPLES,
    }

    facts = {
        "steady pH at q3 = 15.55": float(nominal.pH), "steady pH at q3 = 15.6": float(steady_state(15.6).pH),
        "level h at q3 = 15.55 [cm]": float(nominal.h),
        "residence time A h / q4 [s]": float(residence_time(Q3_NOMINAL)),
        "level time constant [s]": float(level_time_constant(Q3_NOMINAL)),
        "static gain range dpH/dq3 [pH per ml/s]": f"{gains.min():.3f} ... {gains.max():.3f}",
        "gain ratio over 12.5-17 ml/s": float(gains.max() / gains.min()),
    }
    print_kv("pH neutralisation plant (Henson & Seborg):", facts)
    print_kv("the drawn tank (ph_tank) against the sealed PHPLANT block, identification input [pH]:", {
        f"RK4 ({SUBSTEPS} substeps), {u.shape[0]} x {u.shape[1]} samples": agreement["subsystem_vs_block_max_abs"],
        f"solve_ivp, first {REFERENCE_SAMPLES} samples": agreement["subsystem_solve_ivp_vs_block_max_abs"],
    })
    print("step responses (q3 from 15.55 ml/s at t = 100 s), pH after 1400 s:")
    for step, final in zip(STEPS, ph[:, -1]):
        print(f"  {step:+5.2f} ml/s -> pH {final:.3f}   (steady state {float(steady_state(Q3_NOMINAL + step).pH):.3f})")

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4))
    ax1.plot(q3_grid, curve, color="tab:blue")
    ax1.plot([Q3_NOMINAL], [nominal.pH], "ko", label="nominal (15.55 ml/s, pH 7.0)")
    ax1.set_xlabel("q3 [ml/s]")
    ax1.set_ylabel("steady-state pH")
    ax1.set_title("titration curve", fontsize=10)
    ax1.grid(alpha=0.3)
    ax1.legend(fontsize=8)
    for step, trace in zip(STEPS, ph):
        ax2.step(t, trace, where="post", label=f"{step:+.2f} ml/s")
    ax2.set_xlabel("t [s]")
    ax2.set_ylabel("pH")
    ax2.set_title("responses to steps of q3 at t = 100 s (one batched diagram run)", fontsize=10)
    ax2.grid(alpha=0.3)
    ax2.legend(fontsize=8, ncol=2)
    out.savefig(fig, "ph_plant")
    plt.close(fig)
    out.render(build_diagram(), "ph_plant_diagram", title="pH plant: a sampled base flow into the ph_tank subsystem")
    out.render(tank_diagram(), "ph_tank_diagram", title="ph_tank: the pH plant drawn from integrators, its loops coloured")

    results = {
        "Ts": TS, "q3_nominal": Q3_NOMINAL,
        "facts": facts,
        **agreement,
        "titration_curve": {"q3": q3_grid[::10], "pH": curve[::10]},
        "step_responses": {"steps": STEPS, "final_pH": ph[:, -1],
                           "steady_pH": [float(steady_state(Q3_NOMINAL + s).pH) for s in STEPS]},
    }
    out.write_results(results)
    return results


if __name__ == "__main__":
    main()
