"""Lab 5: the pH neutralisation plant as a subsystem block: titration curve and step responses.

The Henson & Seborg tank (states h, Wa4, Wb4; input base flow q3; output
pH) is a sampled block (PHPLANT, Ts = 10 s): its continuous-time states are
integrated over each sample period inside a discrete diagram. Shown: the
steady pH against q3 (the steep titration curve: the static gain varies
about tenfold over 12.5-17 ml/s) and the responses to steps of q3 from the
nominal operating point (q3 = 15.55 ml/s, pH 7.0), one diagram run for a
batch of step sizes.

Run:  lstmds run ph_plant --out out/ph_plant
"""

from __future__ import annotations

import numpy as np

from lstmds_sim import run
from lstmds_sim.core.engine import blockdiagram
from lstmds_sim.io.lab import lab_parser, print_kv, use_headless_backend
from lstmds_sim.io.outdir import OutputDir
from lstmds_sim.systems.ph_plant import (
    level_time_constant,
    residence_time,
    static_gain,
    steady_state,
    titration_curve,
)

TS = 10.0
Q3_NOMINAL = 15.55
STEPS = (-3.0, -1.0, -0.5, 0.5, 1.0, 1.45)  # ml/s, from 15.55: 12.55 ... 17.0
N_SAMPLES = 150


def build_diagram(steps=STEPS, n_samples: int = N_SAMPLES):
    """SEQUENCE q3 (a batch of steps at k = 10) -> PHPLANT -> RECORDER pH."""
    q3 = np.full((len(steps), n_samples, 1), Q3_NOMINAL)
    q3[:, 10:, 0] += np.asarray(steps)[:, None]
    bd = blockdiagram("ph_plant")
    clock = bd.clock(TS, "s")
    source = bd.SEQUENCE(q3, clock, name="q3")
    plant = bd.PHPLANT(clock, x0=np.broadcast_to(steady_state(Q3_NOMINAL).x, (len(steps), 3)), name="pH tank")
    bd.connect(source, plant, name="q3")
    bd.connect(plant, bd.RECORDER(name="pH"), name="pH")
    bd.connect(source, bd.RECORDER(name="q3 record"), name="q3")
    return bd


def main(argv=None) -> dict:
    args = lab_parser("ph_plant", __doc__).parse_args(argv)
    use_headless_backend()
    import matplotlib.pyplot as plt

    out = OutputDir(args.out, lab="ph_plant")
    q3_grid = np.linspace(12.5, 17.0, 181)
    curve = titration_curve(q3_grid)
    gains = static_gain(q3_grid)
    nominal = steady_state(Q3_NOMINAL)
    result = run(build_diagram())
    ph = result.recorders["pH"][..., 0]
    t = result.t

    facts = {
        "steady pH at q3 = 15.55": float(nominal.pH), "steady pH at q3 = 15.6": float(steady_state(15.6).pH),
        "level h at q3 = 15.55 [cm]": float(nominal.h),
        "residence time A h / q4 [s]": float(residence_time(Q3_NOMINAL)),
        "level time constant [s]": float(level_time_constant(Q3_NOMINAL)),
        "static gain range dpH/dq3 [pH per ml/s]": f"{gains.min():.3f} ... {gains.max():.3f}",
        "gain ratio over 12.5-17 ml/s": float(gains.max() / gains.min()),
    }
    print_kv("pH neutralisation plant (Henson & Seborg):", facts)
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
    out.render(build_diagram(), "ph_plant_diagram", title="pH plant as a sampled subsystem block")

    results = {
        "Ts": TS, "q3_nominal": Q3_NOMINAL,
        "facts": facts,
        "titration_curve": {"q3": q3_grid[::10], "pH": curve[::10]},
        "step_responses": {"steps": STEPS, "final_pH": ph[:, -1],
                           "steady_pH": [float(steady_state(Q3_NOMINAL + s).pH) for s in STEPS]},
    }
    out.write_results(results)
    return results


if __name__ == "__main__":
    main()
