# %% [markdown]
# # Lab 6: the pH neutralisation plant
#
# The plant of Bonassi et al.'s simulation example (after Henson & Seborg) is a stirred tank in which
# three streams mix: an acid stream $q_1$ (nitric acid), a buffer stream $q_2$ (sodium bicarbonate)
# and a base stream $q_3$ (sodium hydroxide), the one we manipulate. The mixture leaves through a
# valve at the bottom, $q_4$, where its pH is measured. The tank has three states:
#
# * the level $h$: $\;A\,\dot h = q_1 + q_2 + q_3 - q_4$, with the valve $q_4 = C_{v4}(h + z)^n$;
# * two *reaction invariants* of the effluent, $W_{a4}$ (a charge balance) and $W_{b4}$ (the carbonate
#   concentration). They do not change in the reaction, so they obey plain mixing equations:
#   $\;A\,h\,\dot W_{a4} = \sum_{j=1}^{3} q_j (W_{aj} - W_{a4})$, and the same for $W_{b4}$.
#
# The pH is not a state: it is the root of an equation (the charge balance with the two dissociation
# constants of carbonic acid) given $W_{a4}$ and $W_{b4}$. That root moves very unevenly with the
# invariants: near neutral pH a little base changes the pH a lot. The **titration curve**, steady pH
# against $q_3$, shows it: its slope (the plant's static gain) changes many times over between 12.5 and
# 17 ml/s (the run below measures by how much). This is what makes the plant a good test for a
# nonlinear model such as an LSTM.
#
# Time scales: the liquid stays in the tank for the *residence time* $A h / q_4$ on average, and the
# level settles with a time constant of its own (both computed below, after the run). The
# identification lab samples it every $T_s = 10$ s.
#
# We draw the tank two ways. As the subsystem `ph_tank`, **drawn from primitive blocks**: three
# integrators ($h$, $W_{a4}$, $W_{b4}$), gains, sums, products, and the valve and the pH as function
# blocks; it runs in continuous time between samples, while its input $q_3$ is sampled every 10 s and
# held (a zero-order hold). And as the sealed block `PHPLANT`, which integrates the same equations
# inside one block (fast: the scenario lab uses it for thousands of runs). The two must agree.
#
# *This file is a notebook and a script:* `lstmds notebook ph_plant --out DIR`, or
# `lstmds run ph_plant --out DIR`.

# %%
"""Lab 6: the pH neutralisation plant, drawn from integrators and as a sealed block.

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

from collections import Counter

import numpy as np

from lstmds_sim.core.engine import blockdiagram
from lstmds_sim.diagrams import print_files, setting
from lstmds_sim.drawing.ph_figures import plant_agreement, plant_overview
from lstmds_sim.io.exercise import answered, check_answer, keep  # noqa: F401  (the notebook's exercises)
from lstmds_sim.io.lab import lab_parser, positive_int, print_kv, use_headless_backend
from lstmds_sim.io.outdir import OutputDir
from lstmds_sim.learning.dataset import generate_identification_data
from lstmds_sim.core.progress import run_with_progress, task
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
STEP_AT = 10  # the sample at which q3 steps
N_SAMPLES = 150
SUBSTEPS = 4  # RK4 steps per sample in both plants (2.5 s; PHPLANT's default)
REFERENCE_SAMPLES = 300  # of the identification input, run with solve_ivp (slow: adaptive, unbatched)


def lab_options():
    """The lab's command-line options; ``lab_options().parse_args([])`` gives the defaults (a shorter
    cross-check when LSTMDS_QUICK is set)."""
    parser = lab_parser("ph_plant", __doc__)
    parser.add_argument("--cross-check-samples", type=positive_int, default=setting(None, 600),
                        help="samples of the identification input for the cross-check (default: all)")
    parser.add_argument("--reference-samples", type=positive_int, default=setting(REFERENCE_SAMPLES, 100),
                        help="of those, how many to run with solve_ivp too (default: %(default)s)")
    return parser


def step_input(steps=STEPS, n_samples: int = N_SAMPLES) -> np.ndarray:
    """A batch of base-flow sequences (B, T, 1): q3 = 15.55 ml/s, stepped at k = 10 by each of ``steps``."""
    q3 = np.full((len(steps), n_samples, 1), Q3_NOMINAL)
    q3[:, STEP_AT:, 0] += np.asarray(steps)[:, None]
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


def live_params(bd):
    """The sliders of the live page (``lstmds live ph_plant``): the acid and buffer flows q1, q2 [ml/s] of the
    drawn tank, and a shift of the base flow q3 of every tank."""
    from lstmds_sim.drawing.live import Slider, constant

    return [constant(bd, "ph_tank/q1", name="q1", title="acid flow q1 [ml/s]", start=8.0, end=25.0, step=0.1),
            constant(bd, "ph_tank/q2", name="q2", title="buffer flow q2 [ml/s]", start=0.0, end=2.0, step=0.01),
            Slider("q3_shift", "base flow shift, added to q3 [ml/s]", -3.0, 3.0, 0.0, 0.05,
                   inputs=(("q3", lambda v, q3: q3 + v),))]


def tank_diagram():
    """The ph_tank subsystem alone (INPORT q3 -> ... -> OUTPORT pH), for its picture."""
    return ph_tank_subsystem()


def identification_input(samples: int | None = None) -> np.ndarray:
    """The identification experiment's input, its training and validation runs as a batch (2, T, 1)
    (the shorter padded with its last value), cut to ``samples`` if given."""
    data = generate_identification_data()
    n = max(data.n_train, len(data.u) - data.n_train)
    u = np.stack([np.pad(part, (0, n - len(part)), mode="edge")
                  for part in (data.u[:data.n_train], data.u[data.n_train:])])[..., None]
    return u[:, :samples]


def cross_check(u, reference_samples: int) -> tuple[dict, dict]:
    """The drawn tank against the sealed block on ``u`` (batch), and against the drawn tank run with
    solve_ivp on the first ``reference_samples`` of the first run; (agreement numbers, the pH traces)."""
    n, batch = u.shape[1], u.shape[0]
    drawn = run_with_progress(build_diagram(u), label=f"cross-check 1/3: drawn tank, RK4, {batch} x {n} samples",
                              steps=n, substeps=SUBSTEPS).recorders["pH"]
    sealed = run_with_progress(build_diagram(u, sealed=True), label=f"cross-check 2/3: PHPLANT block, {batch} x {n}",
                               steps=n).recorders["pH"]
    reference = run_with_progress(build_diagram(u[0, :reference_samples, 0]), solver="solve_ivp",
                                  steps=reference_samples,
                                  label=f"cross-check 3/3: drawn tank, solve_ivp, {reference_samples} samples"
                                  ).recorders["pH"]
    agreement = {
        "subsystem_vs_block_max_abs": float(np.max(np.abs(drawn - sealed))),
        "subsystem_solve_ivp_vs_block_max_abs": float(np.max(np.abs(reference - sealed[0, :reference_samples]))),
        "identification_samples": int(n),
        "reference_samples": int(reference_samples),
    }
    return agreement, {"drawn": drawn[..., 0], "sealed": sealed[..., 0], "reference": reference[..., 0]}


def plant_facts(gains) -> dict:
    nominal = steady_state(Q3_NOMINAL)
    return {
        "steady pH at q3 = 15.55": float(nominal.pH), "steady pH at q3 = 15.6": float(steady_state(15.6).pH),
        "level h at q3 = 15.55 [cm]": float(nominal.h),
        "residence time A h / q4 [s]": float(residence_time(Q3_NOMINAL)),
        "level time constant [s]": float(level_time_constant(Q3_NOMINAL)),
        "static gain range dpH/dq3 [pH per ml/s]": f"{gains.min():.3f} ... {gains.max():.3f}",
        "gain ratio over 12.5-17 ml/s": float(gains.max() / gains.min()),
    }


# %% [markdown]
# ## Build the diagrams and look at them
#
# The lab's diagram is small: a sampled source of $q_3$, the tank, a recorder. The tank itself is a
# subsystem; its picture shows three loops, each closed by an integrator: the **level loop** (more
# level, more outflow through the valve, less level) and one loop per invariant through its
# *dilution* term $-q_{in} W_{a4} / (A h)$ (the further an invariant is from the inflow's, the faster
# it is pulled back).

# %% active="ipynb"
# from lstmds_sim.drawing.inline import picture
#
# args = lab_options().parse_args([])  # the script's defaults (a shorter cross-check with LSTMDS_QUICK=1)
# picture(build_diagram(), "pH plant: a sampled base flow into the ph_tank subsystem")

# %% active="ipynb"
# picture(tank_diagram(), "ph_tank: the pH plant drawn from integrators, its loops coloured")

# %% [markdown]
# ## Run it: six steps of $q_3$ in one run
#
# The input is a *batch*: six sequences of $q_3$, each stepping at $t = 100$ s from the nominal
# 15.55 ml/s by one of $-3, -1, -0.5, +0.5, +1, +1.45$ ml/s. One run of the diagram
# simulates the six tanks side by side.

# %% active="ipynb"
# from lstmds_sim import run
#
# result = run(build_diagram(), substeps=SUBSTEPS)
# ph, t = result.recorders["pH"][..., 0], result.t
# q3_grid = np.linspace(12.5, 17.0, 181)
# plant_overview(q3_grid, titration_curve(q3_grid), q3_nominal=Q3_NOMINAL,
#                ph_nominal=float(steady_state(Q3_NOMINAL).pH), t=t, steps=STEPS, ph=ph, step_time=STEP_AT * TS);
# print_kv("pH neutralisation plant (Henson & Seborg):", plant_facts(static_gain(q3_grid)))
# gains = static_gain(q3_grid)
# moved = dict(zip(STEPS, ph[:, -1] - ph[:, STEP_AT - 1]))  # each step's change of pH, before to end
# keep(ph_nominal=steady_state(Q3_NOMINAL).pH, up=moved[1.0], down=-moved[-1.0],  # for the text below
#      steeper="above" if moved[1.0] > -moved[-1.0] else "below",
#      gain_lo=gains.min(), gain_hi=gains.max(), gain_ratio=gains.max() / gains.min(),
#      residence=residence_time(Q3_NOMINAL), level_tau=level_time_constant(Q3_NOMINAL))

# %% [markdown]
# Look at the two panels together: equal steps up and down do **not** give equal changes of pH.
# From the nominal point (pH {{ph_nominal:.2f}}), $+1$ ml/s raises the pH by {{up:.2f}}, $-1$ ml/s lowers it
# by {{down:.2f}}: the titration curve is steeper {{steeper}} the nominal point. A linear model fitted at
# one operating point would be wrong at the other. Its slope, the static gain, runs from {{gain_lo:.2f}}
# to {{gain_hi:.2f}} pH per ml/s between 12.5 and 17 ml/s: a factor {{gain_ratio:.1f}}.
#
# The liquid stays in the tank {{residence:.0f}} s on average (the residence time), and the level settles
# with a time constant of {{level_tau:.0f}} s. How long a step takes to settle is exercise 1's question.
#
# ## Compare: the drawn tank, the sealed block, and an accurate solver
#
# The drawn tank and the `PHPLANT` block compute the same equations with the same fixed-step
# integrator (RK4, 4 steps of 2.5 s per sample); on the identification input (training and validation
# runs as a batch) they must agree to round-off. The drawn tank run with scipy's adaptive `solve_ivp`
# (tight tolerance) measures how accurate those RK4 steps are. The runs take a while: each shows
# its progress.

# %% active="ipynb"
# u = identification_input(args.cross_check_samples)
# agreement, traces = cross_check(u, args.reference_samples)
# print_kv("drawn tank against the sealed block [pH]:", agreement)
# plant_agreement(np.arange(u.shape[1]) * TS, traces["drawn"], traces["sealed"], traces["reference"]);

# %% [markdown]
# ## Inspect the run
#
# The signal inspector shows the six step responses (pick a tank with the sequence selector) as
# one page: click a wire to plot its signal (Shift+click adds another, to overlay them), drag the
# step slider to watch every wire's value, and read the loops (docs/inspector.md; `lstmds inspect
# ph_plant` writes the same page from a terminal).

# %% active="ipynb"
# from lstmds_sim import inspect, live
#
# diagram = build_diagram()
# inspect(diagram, run(diagram, probes=["*"], substeps=SUBSTEPS))

# %% [markdown]
# **Live parameters.** The sliders set the acid and buffer flows $q_1$, $q_2$ and shift the base
# flow $q_3$ of all six tanks: more acid moves the operating point down the titration curve, and
# the six responses change shape with it. Each move simulates the whole run again (the diagram was
# compiled once; a move is one call of the compiled program) and the traces, the values on the
# wires and the loops' gains follow. The page is served by this kernel on localhost, so it is live
# while the kernel runs, in a browser on the same machine; `lstmds live ph_plant` serves it from a
# terminal.

# %% active="ipynb"
# live(diagram, params=live_params(diagram), substeps=SUBSTEPS)

# %% [markdown]
# ## The lab as a script

# %%
def main(argv=None) -> dict:
    args = lab_options().parse_args(argv)
    use_headless_backend()
    import matplotlib.pyplot as plt

    out = OutputDir(args.out, lab="ph_plant")
    q3_grid = np.linspace(12.5, 17.0, 181)
    curve = titration_curve(q3_grid)
    gains = static_gain(q3_grid)
    nominal = steady_state(Q3_NOMINAL)
    result = run_with_progress(build_diagram(), label=f"step responses: {len(STEPS)} tanks", steps=N_SAMPLES,
                               substeps=SUBSTEPS)
    ph = result.recorders["pH"][..., 0]
    t = result.t

    # the drawn tank against the sealed block, on the identification input (training and validation as a batch)
    u = identification_input(args.cross_check_samples)
    reference_samples = min(args.reference_samples, u.shape[1])
    agreement, traces = cross_check(u, reference_samples)

    facts = plant_facts(gains)
    print_kv("pH neutralisation plant (Henson & Seborg):", facts)
    print_kv("the drawn tank (ph_tank) against the sealed PHPLANT block, identification input [pH]:", {
        f"RK4 ({SUBSTEPS} substeps), {u.shape[0]} x {u.shape[1]} samples": agreement["subsystem_vs_block_max_abs"],
        f"solve_ivp, first {reference_samples} samples": agreement["subsystem_solve_ivp_vs_block_max_abs"],
    })
    print(f"step responses (q3 from {Q3_NOMINAL} ml/s at t = {STEP_AT * TS:g} s), pH after {t[-1]:g} s:")
    for step, final in zip(STEPS, ph[:, -1]):
        print(f"  {step:+5.2f} ml/s -> pH {final:.3f}   (steady state {float(steady_state(Q3_NOMINAL + step).pH):.3f})")

    with task("writing the figures", 4, unit="figure") as progress:
        fig = plant_overview(q3_grid, curve, q3_nominal=Q3_NOMINAL, ph_nominal=float(nominal.pH), t=t, steps=STEPS,
                             ph=ph, step_time=STEP_AT * TS)
        out.savefig(fig, "ph_plant")
        plt.close(fig)
        progress.show(1)
        fig = plant_agreement(np.arange(u.shape[1]) * TS, traces["drawn"], traces["sealed"], traces["reference"])
        out.savefig(fig, "ph_plant_agreement")
        plt.close(fig)
        progress.show(2)
        out.render(build_diagram(), "ph_plant_diagram",
                   title="pH plant: a sampled base flow into the ph_tank subsystem")
        progress.show(3)
        out.render(tank_diagram(), "ph_tank_diagram",
                   title="ph_tank: the pH plant drawn from integrators, its loops coloured")
        out.write_inspector(build_diagram(), stem="ph_plant_inspector", optional=True)  # the step responses
        progress.show(4)

    results = {
        "Ts": TS, "q3_nominal": Q3_NOMINAL,
        "facts": facts,
        "plant": {"steady_pH": float(nominal.pH), "steady_pH_at_15_6": float(steady_state(15.6).pH),
                  "level_cm": float(nominal.h), "residence_time": float(residence_time(Q3_NOMINAL)),
                  "level_time_constant": float(level_time_constant(Q3_NOMINAL)),
                  "static_gain_min": float(gains.min()), "static_gain_max": float(gains.max()),
                  "static_gain_ratio": float(gains.max() / gains.min())},
        "substeps": SUBSTEPS,
        "tank_blocks": dict(Counter(block.type for block in tank_diagram().blocklist)),
        **agreement,
        "titration_curve": {"q3": q3_grid[::10], "pH": curve[::10]},
        "step_responses": {"steps": STEPS, "final_pH": ph[:, -1],
                           "steady_pH": [float(steady_state(Q3_NOMINAL + s).pH) for s in STEPS]},
    }
    out.write_results(results)
    print_files(out)
    return results


# %% [markdown]
# ## Exercises
#
# Each exercise changes a few values in the cell below it, or asks you to predict what a cell will print
# before you run it. Where the answer is a number, write it in the answer cell; the cell after it takes it
# down, and nbgrader's autograder checks the value (the teacher's edition shows the check). The solutions
# are in the teacher's edition (`lstmds notebook ph_plant`), collapsed; the student's edition (`lstmds
# notebook ph_plant --student`) has none.
#
# **1. Predict a step response.** Step $q_3$ from 15.55 to 16.0 ml/s. From the titration curve
# (`steady_state(q3).pH` gives its points), where does the pH settle? Write it in the answer cell.
# From the residence time (about {{residence:.0f}} s), roughly when is it within 0.01 of its final value? Then run
# the step.

# %% active="ipynb" tags=["answer"]
# # The pH at which the tank settles after the step to 16.0 ml/s:
# ANSWER_1 = None
# ### BEGIN SOLUTION
# ANSWER_1 = float(steady_state(16.0).pH)
# ### END SOLUTION

# %% active="ipynb" tags=["predict"]
# Q3_STEP = 0.45  # ml/s, from 15.55
#
# response = run(build_diagram(step_input(steps=(Q3_STEP,))), substeps=SUBSTEPS)
# trace = response.recorders["pH"][0, :, 0]
# settled = np.flatnonzero(np.abs(trace - trace[-1]) > 0.01)[-1] + 1
# print(f"pH after {response.t[-1]:g} s: {trace[-1]:.3f}; within 0.01 from t = {response.t[settled]:g} s "
#       f"({response.t[settled] - STEP_AT * TS:g} s after the step)")

# %% active="ipynb" tags=["check"]
# answered("ANSWER_1", ANSWER_1)
# ### BEGIN HIDDEN TESTS
# check_answer("ANSWER_1", ANSWER_1, trace[-1], atol=0.01)  # where the simulated tank is at the end
# ### END HIDDEN TESTS

# %% tags=["solution"] jupyter={"source_hidden": true, "outputs_hidden": true} active="ipynb"
# # Solution 1: the estimate and the run
# ph_before, ph_after = float(steady_state(Q3_NOMINAL).pH), float(steady_state(Q3_NOMINAL + Q3_STEP).pH)
# tau = residence_time(Q3_NOMINAL)
# keep(ph_before=ph_before, ph_after=ph_after, rise=ph_after - ph_before, tau=tau,
#      k=np.log((ph_after - ph_before) / 0.01), estimate=tau * np.log((ph_after - ph_before) / 0.01),
#      settled=response.t[settled] - STEP_AT * TS, ph_end=trace[-1], t_end=response.t[-1] - STEP_AT * TS,
#      tau_level=level_time_constant(Q3_NOMINAL))

# %% [markdown] tags=["solution"] jupyter={"source_hidden": true}
# **Solution 1.**
#
# The titration curve gives pH {{ph_after:.3f}} at 16.0 ml/s, {{rise:.2f}} above the {{ph_before:.2f}} at
# 15.55 ml/s, and the run ends there ({{ph_end:.3f}}, {{t_end:.0f}} s after the step). The invariants are mixed
# out with the residence time $\tau \approx {{tau:.0f}}$ s, like a first-order system: after $k\tau$ the remaining
# deviation is about $e^{-k}$, and ${{rise:.2f}}\,e^{-k} < 0.01$ needs $k = \ln({{rise:.2f}} / 0.01) \approx {{k:.1f}}$,
# about {{estimate:.0f}} s. The run is within 0.01 of its final value {{settled:.0f}} s after the step: a little
# slower than the estimate, because the level moves too (with its own, slower, {{tau_level:.0f}} s time
# constant) and the pH is a nonlinear read-out of the invariants. A good estimate, not a law.

# %% [markdown]
# **2. The gain depends on where you are.** The static gain $\mathrm{d\,pH}/\mathrm{d}q_3$ is the slope
# of the titration curve. From the gains the cell below prints, predict the pH change for a small
# step of +0.1 ml/s at 13 ml/s and at 16.5 ml/s. How many times more does the pH move at 16.5 ml/s?
# Write that ratio in the answer cell; the check reads the slopes off the titration curve itself.

# %% active="ipynb"
# for q3 in (13.0, 16.5):
#     print(f"q3 = {q3} ml/s: static gain {float(static_gain(q3)):.3f} pH per ml/s")

# %% active="ipynb" tags=["answer"]
# # How many times more the pH moves for +0.1 ml/s at 16.5 ml/s than at 13 ml/s:
# ANSWER_2 = None
# ### BEGIN SOLUTION
# ANSWER_2 = float(static_gain(16.5) / static_gain(13.0))
# ### END SOLUTION

# %% active="ipynb" tags=["check"]
# answered("ANSWER_2", ANSWER_2)
# ### BEGIN HIDDEN TESTS
# def slope(q3, h=1e-3):
#     """The slope of the titration curve at q3, from two of its points."""
#     return float(steady_state(q3 + h).pH - steady_state(q3 - h).pH) / (2 * h)
#
#
# check_answer("ANSWER_2", ANSWER_2, slope(16.5) / slope(13.0), rtol=0.01)
# ### END HIDDEN TESTS

# %% tags=["solution"] jupyter={"source_hidden": true, "outputs_hidden": true} active="ipynb"
# # Solution 2: the gains and the curve
# gain_low, gain_high = float(static_gain(13.0)), float(static_gain(16.5))
# change = {q3: float(steady_state(q3 + 0.1).pH - steady_state(q3).pH) for q3 in (13.0, 16.5)}
# keep(gain_low=gain_low, gain_high=gain_high, linear_low=0.1 * gain_low, linear_high=0.1 * gain_high,
#      change_low=change[13.0], change_high=change[16.5], gain_ratio=gain_high / gain_low,
#      ratio=change[16.5] / change[13.0], short=100 * (1 - 0.1 * gain_high / change[16.5]))

# %% [markdown] tags=["solution"] jupyter={"source_hidden": true}
# **Solution 2.**
#
# At 13 ml/s the gain is {{gain_low:.3f}} pH per ml/s, so +0.1 ml/s moves the pH by about
# {{linear_low:.3f}}; at 16.5 ml/s it is {{gain_high:.2f}}, and the step moves the pH by about {{linear_high:.3f}}:
# {{gain_ratio:.1f}} times more near the steep part of the titration curve. The curve's own points give
# {{change_low:.3f}} and {{change_high:.3f}} for the two steps, a ratio of {{ratio:.1f}}: at 16.5 ml/s the curve
# still steepens within the step, so the straight line undershoots there by {{short:.0f}} %. A controller
# tuned at one end would be several times too weak or too strong at the other.

# %% [markdown]
# **3. How many RK4 steps are enough?** The tank integrates with 4 RK4 steps of 2.5 s per sample.
# Predict whether 1 step of 10 s is still accurate to $10^{-6}$ pH. Then run the cell: it measures both
# against a run with 16 steps per sample on the six step responses.

# %% active="ipynb" tags=["predict"]
# SUBSTEPS_EXERCISE = 1
#
# q3 = step_input()
# reference = run(build_diagram(q3), substeps=16).recorders["pH"]
# errors = {steps: float(np.max(np.abs(run(build_diagram(q3), substeps=steps).recorders["pH"] - reference)))
#           for steps in (SUBSTEPS_EXERCISE, SUBSTEPS)}
# for steps, error in errors.items():
#     print(f"{steps} RK4 step(s) per sample: largest difference from 16 steps {error:.2e} pH")

# %% tags=["solution"] jupyter={"source_hidden": true, "outputs_hidden": true} active="ipynb"
# # Solution 3: the numbers it quotes
# from inspect import signature  # (not lstmds_sim's inspect above)
#
# keep(error_coarse=errors[SUBSTEPS_EXERCISE], error_fine=errors[SUBSTEPS],
#      ratio=errors[SUBSTEPS_EXERCISE] / errors[SUBSTEPS], tau=residence_time(Q3_NOMINAL),
#      tau_steps=residence_time(Q3_NOMINAL) / TS,
#      noise=signature(generate_identification_data).parameters["output_noise"].default)

# %% [markdown] tags=["solution"] jupyter={"source_hidden": true}
# **Solution 3.**
#
# Not quite: one RK4 step of 10 s is off by {{error_coarse:.1e}} pH on these steps, four steps of 2.5 s by
# {{error_fine:.1e}}, {{ratio:.0f}} times less. RK4's error over a fixed time grows like the fourth power of
# its step, so four times longer steps should give about $4^4 = 256$ times the error. The fastest time
# constant, the residence time of {{tau:.0f}} s, is still {{tau_steps:.1f}} steps long, so one step per sample is
# stable and far more accurate than the measurement noise of the identification data (standard
# deviation {{noise}} pH): fine for a plot, not for a cross-check at round-off. That is why the cross-check
# runs both plants with the same steps, and why `solve_ivp` is the reference.

# %% active="py"
if __name__ == "__main__":
    main()
