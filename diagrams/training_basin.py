# %% [markdown]
# # Lab 4: training from the computed weights leaves a narrow basin
#
# Lab 3 (`lstm_vs_linear`) computed LSTM weights from a linear system's matrices $(A, B, C, D)$:
# with the input, forget and output gates pinned by biases of $\pm 100$ (input and output gates wide
# open, forget gate shut) and every signal scaled down by $10^{-3}$ so that $\tanh$ works in its
# linear region, the cell candidate computes $\mathrm{scale} \cdot (A x + B u)$ and the output layer scales
# it back. That network reproduces the system closely (lab 3 measured how closely; the set-up below
# measures it here): a near-perfect set of weights that we know exactly.
#
# So the weights exist. Can training find them, or at least stay there? Here we start **from** the
# computed weights and train with Adam as the MATLAB example does (section 4 of Campa's "LSTM as a
# dynamical system"): the whole 1001-sample sequence is one batch, so one epoch is one Adam step;
# learning rate $10^{-4}$, multiplied by 0.99 every 100 epochs; gradients clipped to norm 1 per
# array; L2 regularisation $10^{-4}$; 10,000 epochs. Then again with learning rates $10^{-3}$ and $10^{-2}$.
#
# **The realisation matters.** A state-space model is not unique: any change of state coordinates
# gives the same input-output behaviour. In scipy's canonical form of this system the states differ
# in size by many orders of magnitude, so the computed output weights are huge (the set-up below
# gives the numbers); one Adam step of $10^{-4}$ moves every weight by about $10^{-4}$ and throws the
# network out of its linear region at once. The lab therefore trains in the **balanced** realisation
# (every state of comparable size, like MATLAB's `balreal`) and shows one canonical run beside it.
#
# *This file is a notebook and a script:* `lstmds notebook training_basin --out DIR`, or
# `lstmds run training_basin --out DIR` (options `--epochs`, `--learning-rates`, `--realization`).

# %%
"""Lab 4: training from the computed weights leaves a narrow basin.

Section 4 of the "LSTM as a dynamical system" example. The LSTM (Nn = 5 =
n + m units) starts from the weights computed from the reference system's
(A, B, C, D) (scale 1e-3) and is trained with Adam on one sequence of 1001
samples (t = 0:Ts:1000 Ts, randn input, zero initial state): learning rate
1e-4, multiplied by 0.99 every 100 epochs, gradient threshold 1 (MATLAB's
per-array "l2norm"), L2 regularisation 1e-4 (MATLAB's default), 10,000
epochs; then again with learning rates 1e-3 and 1e-2. The system is in its
balanced realisation (every state of comparable size); the same run on
scipy's canonical realisation (states ten orders of magnitude apart, output
weights ~2e9) is shown beside it: there one Adam step of 1e-4 throws the
network out of its linear region. Reported per run: the
loss curve, where its minimum is, final / initial loss, which weight blocks
moved, the system extracted from the trained weights beside the true one,
the validation difference norm and the 3u linearity test. The trained
weights are saved as .npz, loaded into the LSTM block diagram and
cross-checked against the matrix implementation.

Run:  lstmds run training_basin --out out/training_basin
"""

import numpy as np

from lstmds_sim import LSTMParams
from lstmds_sim.core.crosscheck import crosscheck
from lstmds_sim.core.matrix import simulate
from lstmds_sim.core.progress import task
from lstmds_sim.diagrams import print_files, setting
from lstmds_sim.drawing.lstm_figures import systems_pzmap
from lstmds_sim.drawing.training_figures import basin_loss, validation_panels
from lstmds_sim.io.exercise import answered, check_answer, keep, sci  # noqa: F401  (the notebook's exercises)
from lstmds_sim.io.lab import lab_parser, positive_int, print_kv, use_headless_backend
from lstmds_sim.io.outdir import OutputDir
from lstmds_sim.learning.example_setup import N_TRAIN, N_VALIDATION, SCALE, TS, example_options, setup
from lstmds_sim.learning.experiments import linear_response, train_named, training_record, validation_errors
from lstmds_sim.systems.lstm_linear import lstm_from_linear
from lstmds_sim.systems.lti import describe
from lstmds_sim.systems.reference import reference_system

LEARNING_RATES = (1e-4, 1e-3, 1e-2)


def lab_options():
    """The lab's command-line options; ``lab_options().parse_args([])`` gives the defaults
    (small ones when LSTMDS_QUICK is set)."""
    parser = lab_parser("training_basin", __doc__)
    parser.add_argument("--epochs", type=positive_int, default=setting(10_000, 300),
                        help="epochs per run (default: %(default)s)")
    parser.add_argument("--learning-rates", type=float, nargs="+", default=list(LEARNING_RATES))
    parser.add_argument("--realization", choices=("balanced", "canonical"), default="balanced",
                        help="state coordinates of the reference system (default: %(default)s)")
    return parser


def build_diagram(params: LSTMParams | None = None, seed: int = 0):
    """The LSTM diagram that the trained weights are loaded into (validation input)."""
    from lstmds_sim.core.diagram import lstm_diagram

    _, start, _, u_val = setup(seed)
    return lstm_diagram(params or start, u_val, Ts=TS, name="training_basin")[0]


def train_from_computed(realization: str, learning_rate: float, epochs: int, seed: int, *, progress=None):
    """One run of the experiment: train from the computed weights; (record, TrainResult)."""
    system, start, (u, y), u_val = setup(seed, realization)
    label = f"{realization} realisation, lr {learning_rate:g}"
    result = train_named(start, u, y, example_options(learning_rate, epochs), label=label, progress=progress)
    record = {"realization": realization, "learning_rate": learning_rate,
              **training_record(start, result, system, u_val, scale=SCALE)}
    return record, result


def print_run(record: dict, epochs: int) -> None:
    moved = {k: v for k, v in record["weight_changes"].items() if v > 1e-6}
    print_kv(f"{record['realization']} realisation, learning rate {record['learning_rate']:g}, {epochs} epochs "
             f"({record['elapsed_s']:.1f} s):", {
                 "initial -> final loss": f"{record['initial_loss']:.3e} -> {record['final_loss']:.3e}",
                 "lowest loss at epoch": record["best_epoch"],
                 "final / initial loss": record["final_over_initial"],
                 "validation norm of difference": record["validation"]["norm_difference"],
                 "3u test: error(3u) / error(u)": record["validation"]["ratio_3u"],
                 "blocks that moved (> 1e-6)": ", ".join(f"{k} {v:.1e}" for k, v in moved.items()) or "none",
             })


def realization_facts(realization: str) -> dict:
    """Why the realisation matters (docs/results.md quotes it): the spread of the system's B and C, cond(A),
    and the largest of the output weights computed from it."""
    system = reference_system(TS, realization=realization)
    weights = lstm_from_linear(system, scale=SCALE)
    return {"abs_B_range": [float(np.abs(system.B).min()), float(np.abs(system.B).max())],
            "max_abs_C": float(np.abs(system.C).max()), "cond_A": float(np.linalg.cond(system.A)),
            "max_abs_F": float(np.abs(weights.F).max())}


def run_label(record: dict) -> str:
    return f"{record['realization']}, lr {record['learning_rate']:g}"


def validation_panel(record: dict, result, u_val) -> tuple:
    """(title, label, output) of one trained network on the validation input, for validation_panels."""
    error = record["validation"]["norm_difference"]
    title = f"lr {record['learning_rate']:g}: validation norm of difference {error:.3e}"
    return title, "LSTM, trained", simulate(result.params, u_val).y


# %% [markdown]
# ## The set-up, and the diagram the trained weights go into
#
# The reference system is lab 3's (zero at $-4$, poles $-9 \pm 5j$ and $-2 \pm 50j$, sampled with a
# zero-order hold every 0.01 s), here in balanced coordinates. The LSTM has $N_n = n + m = 5$ units. The
# picture is the LSTM diagram that the trained weights are loaded into at the end, to check that
# what training produced still runs as a block diagram.

# %% active="ipynb"
# from lstmds_sim.drawing.inline import picture
#
# args = lab_options().parse_args([])  # the script's defaults (small with LSTMDS_QUICK=1)
# system, start, (u_train, y_train), u_val = setup(args.seed)
# before = validation_errors(start, system, u_val)
# print(f"computed weights: validation norm of difference {before['norm_difference']:.2e} "
#       f"(output norm {before['norm_y']:.1f}); {args.epochs} epochs per run")
# picture(build_diagram(seed=args.seed), "training_basin: the LSTM the trained weights are loaded into")
# facts = {name: realization_facts(name) for name in ("canonical", "balanced")}
# keep(error_before=sci(before["norm_difference"], 1), y_norm=before["norm_y"], epochs=args.epochs,  # the text below
#      B_lo=sci(facts["canonical"]["abs_B_range"][0], 0), B_hi=sci(facts["canonical"]["abs_B_range"][1], 0),
#      F_canonical=sci(facts["canonical"]["max_abs_F"], 0), F_balanced=sci(facts["balanced"]["max_abs_F"], 0))

# %% [markdown]
# The computed weights reproduce the validation output (norm {{y_norm:.0f}}) to ${{error_before}}$, and each
# run here trains for {{epochs}} epochs. In the canonical realisation the input reaches the states with
# weights from about ${{B_lo}}$ to ${{B_hi}}$ and the largest computed output weight is about ${{F_canonical}}$;
# in the balanced one it is about ${{F_balanced}}$.

# %% [markdown]
# ## Train: three learning rates, and the canonical realisation
#
# Each run is named before it starts; on a terminal it shows a bar, elsewhere a line every few seconds.

# %% active="ipynb"
# plan = [("balanced", lr) for lr in args.learning_rates] + [("canonical", args.learning_rates[0])]
# runs = [train_from_computed(realization, lr, args.epochs, args.seed) for realization, lr in plan]
# for record, _ in runs:
#     print_run(record, args.epochs)

# %% [markdown]
# ## Look: where does the loss go?

# %% active="ipynb"
# basin_loss({run_label(r): result.history for r, result in runs},
#            dotted={run_label(r) for r, _ in runs if r["realization"] == "canonical"},
#            title="training from the computed weights: the loss leaves its starting value");

# balanced = [r for r, _ in runs if r["realization"] == "balanced"]
# canonical = next(result for r, result in runs if r["realization"] == "canonical")
# at_start = sum(r["best_epoch"] == 0 for r, _ in runs)
# finals = [r["final_loss"] for r in sorted(balanced, key=lambda r: r["learning_rate"])]
# keep(lowest=("Every curve is lowest at epoch 0" if at_start == len(runs) else
#              f"{at_start} of the {len(runs)} curves are lowest at epoch 0"),
#      larger=("Larger rates end worse." if finals == sorted(finals) else
#              "Here the larger rates do not all end worse: the final losses do not follow the rates."),
#      canonical_jump=np.log10(np.nanmax(canonical.history) / canonical.history[0]))  # for the text below

# %% [markdown]
# {{lowest}}, and the loss jumps within the first few steps: the computed weights sit in
# a very narrow basin, and an Adam step, which moves every weight by about the learning rate whatever
# the gradient's size, leaves it at once. {{larger}} In the canonical realisation the
# loss jumps by about {{canonical_jump:.0f}} orders of magnitude: its output weights are so large that a step of
# $10^{-4}$ is no longer small.
#
# ## Compare: outputs, weights and the system read back from the weights
#
# Which weights moved? In the computed network the $i$, $f$ and $o$ gates are saturated by their
# $\pm 100$ biases: their gradients vanish, so only the weights tied to $A$ and $B$ (the $g$ gate) and
# the output layer $F$ move. Reading the system back from the trained weights (lab 3's formulas)
# shows what training did to its poles and zeros.

# %% active="ipynb"
# t = np.arange(N_VALIDATION) * TS
# y_val = linear_response(system, u_val)
# main_runs = [(r, result) for r, result in runs if r["realization"] == "balanced"]
# validation_panels(t, y_val, [validation_panel(r, result, u_val) for r, result in main_runs]);
# systems_pzmap({"true": describe(system), **{f"lr {r['learning_rate']:g}": r["extracted_system"]
#                                             for r, _ in main_runs}},
#               title="system read from the trained weights vs the true system");

# %% [markdown]
# ## Inspect the run
#
# The signal inspector shows the network trained with the first learning rate, in the diagram, on
# the validation input as one page: click a wire to plot its signal (Shift+click adds another, to
# overlay them), drag the step slider to watch every wire's value, and read the loops and each
# loop's Theorem 4 gain (docs/inspector.md; `lstmds inspect training_basin` writes the same page
# from a terminal).

# %% active="ipynb"
# from lstmds_sim import inspect
#
# inspect(build_diagram(runs[0][1].params, seed=args.seed), title="training_basin: trained, first learning rate")

# %% [markdown]
# ## The lab as a script
#
# `main()` runs the same plan, saves the weights trained with the first learning rate, loads them
# into the block diagram and cross-checks it against the matrices, and writes the figures and
# `results.json`.

# %%
def main(argv=None) -> dict:
    args = lab_options().parse_args(argv)
    use_headless_backend()

    out = OutputDir(args.out, lab="training_basin")
    system, start, _, u_val = setup(args.seed, args.realization)
    true_info = describe(system)
    before = validation_errors(start, system, u_val)
    print(f"start: weights computed from (A, B, C, D), scale {SCALE:g}: validation norm of difference "
          f"{before['norm_difference']:.3e}")

    other = "canonical" if args.realization == "balanced" else "balanced"
    plan = [(args.realization, lr) for lr in args.learning_rates] + [(other, args.learning_rates[0])]
    runs = []
    for number, (realization, lr) in enumerate(plan, 1):
        print(f"run {number} of {len(plan)}:")
        record, result = train_from_computed(realization, lr, args.epochs, args.seed)
        runs.append((record, result))
        print_run(record, args.epochs)

    first_run, first = runs[0]
    ex = first_run["extracted_system"]
    print("system extracted from the weights trained with the first learning rate, beside the true one:")
    print(f"  true:      {true_info['zpk']}")
    print(f"  extracted: {ex['zpk']}")
    print_kv("  (D and steady-state gain)", {
        "true D": true_info["D"][0][0], "extracted D": ex["D"][0][0],
        "true steady-state gain": true_info["steady_state_gain"][0][0],
        "extracted steady-state gain": ex["steady_state_gain"][0][0],
    })

    # trained weights -> .npz -> the LSTM block diagram, cross-checked against the matrices
    saved = first.params.save(out.path(f"trained_lr{args.learning_rates[0]:g}.npz"), overwrite=True)
    reloaded = LSTMParams.load(saved)
    check = crosscheck(reloaded, u_val, Ts=TS)
    print_kv("trained weights reloaded into the block diagram:", {
        "file": saved.name, "largest diagram - matrix difference": check.worst[1]})

    with task("writing the figures", 3, unit="figure") as progress:
        import matplotlib.pyplot as plt  # a second or more: part of the figures' step

        fig = basin_loss({run_label(r): result.history for r, result in runs},
                         dotted={run_label(r) for r, _ in runs if r["realization"] != args.realization},
                         title="training from the computed weights: the loss leaves its starting value")
        out.savefig(fig, "training_basin_loss")
        plt.close(fig)
        progress.show(1)

        t = np.arange(N_VALIDATION) * TS
        y_val = linear_response(system, u_val)
        main_runs = [(r, result) for r, result in runs if r["realization"] == args.realization]
        fig = validation_panels(t, y_val, [validation_panel(r, result, u_val) for r, result in main_runs])
        out.savefig(fig, "training_basin_validation")
        plt.close(fig)
        progress.show(2)

        fig = systems_pzmap({"true": true_info, **{f"lr {r['learning_rate']:g}": r["extracted_system"]
                                                   for r, _ in main_runs}},
                            title="extracted from trained weights vs true system")
        out.savefig(fig, "training_basin_pzmap")
        plt.close(fig)
        progress.show(3)

    results = {
        "Ts": TS, "scale": SCALE, "epochs": args.epochs, "seed": args.seed, "realization": args.realization,
        "options": {"drop_factor": 0.99, "drop_period": 100, "gradient_threshold": 1.0,
                    "threshold_method": "l2norm", "l2_regularization": 1e-4, "loss": "mse"},
        "true_system": true_info,
        "validation_before_training": before,
        "runs": [{**run, "history_every_100": result.history[::100], "loss_after_one_epoch": result.history[1],
                  "moved": [k for k, v in run["weight_changes"].items() if v > 1e-6]} for run, result in runs],
        "reloaded_crosscheck_max_abs_error": check.worst[1],
        "samples": {"train": N_TRAIN, "validation": N_VALIDATION},
        "adam": {key: getattr(example_options(args.learning_rates[0], args.epochs), key)
                 for key in ("beta1", "beta2", "epsilon")},
        "realizations": {name: realization_facts(name) for name in ("canonical", "balanced")},
    }
    out.write_results(results)
    print_files(out)
    return results


# %% [markdown]
# ## Exercises
#
# Predict first, then run the cell. Where the answer is a number, write it in the answer cell; the cell
# after it takes it down, and nbgrader's autograder checks the value (the teacher's edition shows the
# check). The solutions are in the teacher's edition (`lstmds notebook training_basin`), collapsed; the
# student's edition (`lstmds notebook training_basin --student`) has none.
#
# The exercise cells train for a few hundred epochs (`EPOCHS`): enough to see the effect, quick to run.

# %% active="ipynb"
# from lstmds_sim.learning.training import train
# from lstmds_sim.systems.lstm_linear import lstm_from_linear
#
# EPOCHS = 500  # per training run in the exercises

# %% [markdown]
# **1. A smaller scale.** At scale $10^{-4}$ the computed weights imitate the system more closely
# (lab 3: the error falls like scale²). Predict their validation norm of difference from the one printed
# above for $10^{-3}$, and write it in the answer cell (the check allows 2 %). Then predict the starting
# loss, and whether training stays in the basin better or worse than at $10^{-3}$; run the cell after the
# check to see.

# %% active="ipynb" tags=["answer"]
# # The validation norm of difference of the weights computed with scale 1e-4:
# ANSWER_1 = None
# ### BEGIN SOLUTION
# ANSWER_1 = before["norm_difference"] * (1e-4 / SCALE) ** 2  # the tanh error falls like scale^2
# ### END SOLUTION

# %% active="ipynb" tags=["check"]
# answered("ANSWER_1", ANSWER_1)
# ### BEGIN HIDDEN TESTS
# start_small = lstm_from_linear(system, scale=1e-4)
# check_answer("ANSWER_1", ANSWER_1, validation_errors(start_small, system, u_val)["norm_difference"], rtol=0.02)
# ### END HIDDEN TESTS

# %% active="ipynb" tags=["predict"]
# start_small = lstm_from_linear(system, scale=1e-4)
# histories = {}
# for scale, weights in ((SCALE, start), (1e-4, start_small)):
#     histories[scale] = train(weights, u_train, y_train, example_options(1e-4, EPOCHS), progress=False).history
#     print(f"scale {scale:g}: loss {histories[scale][0]:.2e} at epoch 0, {histories[scale][1]:.2e} after one "
#           f"epoch, {histories[scale][-1]:.2e} after {EPOCHS}")

# %% tags=["solution"] jupyter={"source_hidden": true, "outputs_hidden": true} active="ipynb"
# # Solution 1: the two starting points, and where training takes them
# big, small = histories[SCALE], histories[1e-4]
# assert small[1] > big[1] and small[-1] > big[-1], "the text below says the smaller scale ends worse"
# small_before = validation_errors(start_small, system, u_val)["norm_difference"]
# keep(val_big=sci(before["norm_difference"]), val_small=sci(small_before),
#      loss_big=sci(big[0]), loss_small=sci(small[0]), F_ratio=np.abs(start_small.F).max() / np.abs(start.F).max(),
#      first_big=sci(big[1]), first_small=sci(small[1]), end_big=sci(big[-1]), end_small=sci(small[-1]), epochs=EPOCHS)

# %% [markdown] tags=["solution"] jupyter={"source_hidden": true}
# **Solution 1.**
#
# The error falls like scale²: ${{val_big}} \to {{val_small}}$; and the loss, a mean *squared* error,
# like scale⁴: ${{loss_big}} \to {{loss_small}}$. But the basin is narrower still. The output weights
# $F = [C A^{-1},\ D - C A^{-1} B] / \mathrm{scale}$ are {{F_ratio:.0f}} times larger, while an Adam step moves
# each weight by about the learning rate whatever its size; so the same step moves the output {{F_ratio:.0f}}
# times more. After one epoch the loss is already ${{first_small}}$ (at scale $10^{-3}$: ${{first_big}}$), after
# {{epochs}} epochs ${{end_small}}$ (against ${{end_big}}$): the better starting point is lost even faster,
# and further.

# %% [markdown]
# **2. Is there a learning rate small enough?** Try $10^{-5}$ and $10^{-6}$. Predict: does the loss still
# leave its starting value? Where is its lowest point? Then run the cell.

# %% active="ipynb" tags=["predict"]
# small_rates = {}
# for lr in (1e-5, 1e-6):
#     history = small_rates[lr] = np.asarray(train(start, u_train, y_train, example_options(lr, EPOCHS),
#                                                  progress=False).history)
#     print(f"lr {lr:g}: loss {history[0]:.2e} -> {history[1]:.2e} after one epoch -> {history[-1]:.2e} "
#           f"after {EPOCHS}; lowest {history.min():.2e} at epoch {int(np.argmin(history))}")

# %% tags=["solution"] jupyter={"source_hidden": true, "outputs_hidden": true} active="ipynb"
# # Solution 2: the first step, the lowest point, the end
# h4, h5, h6 = np.asarray(histories[SCALE]), small_rates[1e-5], small_rates[1e-6]
# assert h5.min() < h5[0] and h6.min() < h6[0], "the text below says both rates get below the starting loss"
# assert np.argmin(h5) < EPOCHS and np.argmin(h6) < EPOCHS, "the text below says the loss rises after its lowest"
# keep(start_loss=sci(h5[0]), jump_4=sci(h4[1]), jump_5=sci(h5[1]), jump_6=sci(h6[1]),
#      drop_45=h4[1] / h5[1], drop_56=h5[1] / h6[1], best_5=sci(h5.min()), epoch_5=int(np.argmin(h5)),
#      best_6=sci(h6.min()), epoch_6=int(np.argmin(h6)), end_5=sci(h5[-1]), end_6=sci(h6[-1]), epochs=EPOCHS)

# %% [markdown] tags=["solution"] jupyter={"source_hidden": true}
# **Solution 2.**
#
# Yes, there is, and that is the surprise. The first Adam step still throws the loss up, to ${{jump_5}}$ at
# $10^{-5}$ and ${{jump_6}}$ at $10^{-6}$ (at $10^{-4}$: ${{jump_4}}$): {{drop_45:.0f}} and {{drop_56:.0f}} times less for each
# factor of 10 in the rate, because the step moves every weight by about the rate and the loss grows
# with the square of the move. But then the smaller steps walk down, and **below** the starting loss
# ${{start_loss}}$: to ${{best_5}}$ at epoch {{epoch_5}} for $10^{-5}$, to ${{best_6}}$ at epoch {{epoch_6}} for
# $10^{-6}$. The computed weights are not the minimum of this training loss (the $\tanh$ error leaves
# room), and a better minimum lies right beside them. After its lowest point the loss rises again
# (${{end_5}}$ and ${{end_6}}$ after {{epochs}} epochs): steps of a fixed size do not settle at the bottom
# of a narrow valley. Steps of $10^{-4}$ and more jump over that valley, steps of $10^{-6}$ walk down
# into it: the basin is narrow, not absent.

# %% [markdown]
# **3. Is the L2 term to blame?** MATLAB's default L2 regularisation ($10^{-4}$) pulls every weight
# towards 0, and the computed weights are far from 0. Predict: without it, at which epoch is the loss
# lowest (learning rate $10^{-4}$ and `EPOCHS` epochs, as in exercise 1)? Write it in the answer cell.

# %% active="ipynb" tags=["answer"]
# # The epoch of the lowest loss without the L2 term (learning rate 1e-4, EPOCHS epochs):
# ANSWER_3 = None
# ### BEGIN SOLUTION
# ANSWER_3 = int(np.argmin(histories[SCALE]))  # as with the L2 term: the first step leaves the basin either way
# ### END SOLUTION

# %% active="ipynb" tags=["check"]
# answered("ANSWER_3", ANSWER_3)
# ### BEGIN HIDDEN TESTS
# no_l2 = train(start, u_train, y_train, example_options(1e-4, EPOCHS, l2_regularization=0.0), progress=False)
# check_answer("ANSWER_3", ANSWER_3, no_l2.best_epoch, rtol=0)
# ### END HIDDEN TESTS

# %% active="ipynb" tags=["predict"]
# no_l2 = train(start, u_train, y_train, example_options(1e-4, EPOCHS, l2_regularization=0.0), progress=False)
# print(f"no L2: loss {no_l2.history[0]:.2e} -> {no_l2.history[1]:.2e} after one epoch -> "
#       f"{no_l2.history[-1]:.2e} after {EPOCHS}; lowest at epoch {no_l2.best_epoch}")

# %% tags=["solution"] jupyter={"source_hidden": true, "outputs_hidden": true} active="ipynb"
# # Solution 3: with and without the regularisation
# keep(best_no_l2=no_l2.best_epoch, first_no_l2=no_l2.history[1], first_l2=histories[SCALE][1],
#      end_no_l2=sci(no_l2.history[-1]), end_l2=sci(histories[SCALE][-1]), epochs=EPOCHS)

# %% [markdown] tags=["solution"] jupyter={"source_hidden": true}
# **Solution 3.**
#
# Without the L2 term the lowest loss is still at epoch {{best_no_l2}}: the first step throws the loss to
# {{first_no_l2:.3f}}, as with the L2 term ({{first_l2:.3f}}), and after {{epochs}} epochs it is at ${{end_no_l2}}$
# (with the L2 term: ${{end_l2}}$). The basin is not an artefact of the regularisation. It comes from the
# optimiser taking steps of a fixed size in a valley whose walls, in the directions of the large output
# weights, are very steep: the first step leaves it, with or without the L2 term.

# %% active="py"
if __name__ == "__main__":
    main()
