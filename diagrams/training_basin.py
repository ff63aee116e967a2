# %% [markdown]
# # Lab 4: training from the computed weights leaves a narrow basin
#
# Lab 3 (`lstm_vs_linear`) computed LSTM weights from a linear system's matrices $(A, B, C, D)$:
# with the input, forget and output gates pinned by biases of $\pm 100$ (input and output gates wide
# open, forget gate shut) and every signal scaled down by $10^{-3}$ so that $\tanh$ works in its
# linear region, the cell candidate computes $\mathrm{scale} \cdot (A x + B u)$ and the output layer scales
# it back. That network reproduces the system to about $10^{-6}$: a near-perfect set of weights that
# we know exactly.
#
# So the weights exist. Can training find them, or at least stay there? Here we start **from** the
# computed weights and train with Adam as the MATLAB example does (section 4 of Campa's "LSTM as a
# dynamical system"): the whole 1001-sample sequence is one batch, so one epoch is one Adam step;
# learning rate $10^{-4}$, multiplied by 0.99 every 100 epochs; gradients clipped to norm 1 per
# array; L2 regularisation $10^{-4}$; 10,000 epochs. Then again with learning rates $10^{-3}$ and $10^{-2}$.
#
# **The realisation matters.** A state-space model is not unique: any change of state coordinates
# gives the same input-output behaviour. In scipy's canonical form of this system the states differ
# in size by ten orders of magnitude, so the computed output weights reach $2 \cdot 10^9$; one Adam
# step of $10^{-4}$ moves every weight by about $10^{-4}$ and throws the network out of its linear
# region at once. The lab therefore trains in the **balanced** realisation (every state of comparable
# size, like MATLAB's `balreal`) and shows one canonical run beside it.
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
from lstmds_sim.diagrams import print_files, setting
from lstmds_sim.drawing.lstm_figures import systems_pzmap
from lstmds_sim.drawing.training_figures import basin_loss, validation_panels
from lstmds_sim.io.lab import lab_parser, positive_int, print_kv, use_headless_backend
from lstmds_sim.io.outdir import OutputDir
from lstmds_sim.learning.example_setup import N_VALIDATION, SCALE, TS, example_options, setup
from lstmds_sim.learning.experiments import linear_response, train_named, training_record, validation_errors
from lstmds_sim.systems.lti import describe

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

# %% [markdown]
# Every curve is lowest at epoch 0 and jumps within the first few steps: the computed weights sit in
# a very narrow basin, and an Adam step, which moves every weight by about the learning rate whatever
# the gradient's size, leaves it at once. Larger rates end worse. In the canonical realisation the
# loss jumps by some twenty orders of magnitude: its output weights are so large that a step of
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
    import matplotlib.pyplot as plt

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

    fig = basin_loss({run_label(r): result.history for r, result in runs},
                     dotted={run_label(r) for r, _ in runs if r["realization"] != args.realization},
                     title="training from the computed weights: the loss leaves its starting value")
    out.savefig(fig, "training_basin_loss")
    plt.close(fig)

    t = np.arange(N_VALIDATION) * TS
    y_val = linear_response(system, u_val)
    main_runs = [(r, result) for r, result in runs if r["realization"] == args.realization]
    fig = validation_panels(t, y_val, [validation_panel(r, result, u_val) for r, result in main_runs])
    out.savefig(fig, "training_basin_validation")
    plt.close(fig)

    fig = systems_pzmap({"true": true_info, **{f"lr {r['learning_rate']:g}": r["extracted_system"]
                                               for r, _ in main_runs}},
                        title="extracted from trained weights vs true system")
    out.savefig(fig, "training_basin_pzmap")
    plt.close(fig)

    results = {
        "Ts": TS, "scale": SCALE, "epochs": args.epochs, "seed": args.seed, "realization": args.realization,
        "options": {"drop_factor": 0.99, "drop_period": 100, "gradient_threshold": 1.0,
                    "threshold_method": "l2norm", "l2_regularization": 1e-4, "loss": "mse"},
        "true_system": true_info,
        "validation_before_training": before,
        "runs": [{**run, "history_every_100": result.history[::100]} for run, result in runs],
        "reloaded_crosscheck_max_abs_error": check.worst[1],
    }
    out.write_results(results)
    print_files(out)
    return results


# %% [markdown]
# ## Exercises
#
# The exercise cells train for a few hundred epochs (`EPOCHS`): enough to see the effect, quick to run.
#
# **1. A smaller scale.** At scale $10^{-4}$ the computed weights imitate the system more closely
# (lab 3: the error falls like scale²). Predict the validation error and the starting loss before
# running, then predict: does training stay in the basin better or worse than at $10^{-3}$?

# %% active="ipynb"
# from lstmds_sim.learning.training import train
# from lstmds_sim.systems.lstm_linear import lstm_from_linear
#
# EPOCHS = 500
# SCALE_EXERCISE = 1e-4
#
# start_small = lstm_from_linear(system, scale=SCALE_EXERCISE)
# print(f"validation error at scale {SCALE_EXERCISE:g}: "
#       f"{validation_errors(start_small, system, u_val)['norm_difference']:.2e}")
# for scale, weights in ((SCALE, start), (SCALE_EXERCISE, start_small)):
#     history = train(weights, u_train, y_train, example_options(1e-4, EPOCHS), progress=False).history
#     print(f"scale {scale:g}: loss {history[0]:.2e} at epoch 0, {history[-1]:.2e} after {EPOCHS} epochs")

# %% [markdown] tags=["solution"] jupyter={"source_hidden": true}
# **Solution 1.** The error falls like scale²: $7 \cdot 10^{-3} \to 7 \cdot 10^{-5}$, and the loss, a mean
# *squared* error, like scale⁴: $2.7 \cdot 10^{-5} \to 2.7 \cdot 10^{-9}$. But the basin is narrower
# still. The output weights $F = [C A^{-1}, D - C A^{-1} B] / \mathrm{scale}$ are ten times larger, while an
# Adam step moves each weight by about the learning rate whatever its size; so the same step moves
# the output ten times more. After 500 epochs the smaller scale ends at a loss of about 3, against
# $8 \cdot 10^{-3}$ at scale $10^{-3}$: the better starting point is lost even faster, and further.

# %% [markdown]
# **2. Is there a learning rate small enough?** Try $10^{-5}$ and $10^{-6}$. Predict: does the loss still
# leave its starting value? Where is its lowest point?

# %% active="ipynb"
# for lr in (1e-5, 1e-6):
#     history = train(start, u_train, y_train, example_options(lr, EPOCHS), progress=False).history
#     print(f"lr {lr:g}: loss {history[0]:.2e} -> {history[-1]:.2e}, lowest at epoch {int(np.argmin(history))}")

# %% [markdown] tags=["solution"] jupyter={"source_hidden": true}
# **Solution 2.** Yes, there is, and that is the surprise. At $10^{-5}$ the loss first *falls*, reaches
# its lowest value after a few hundred epochs, then rises again; at $10^{-6}$ it falls all the way,
# to about $4 \cdot 10^{-6}$ after 500 epochs, below the starting $2.7 \cdot 10^{-5}$. The computed weights
# are not the minimum of this training loss (the $\tanh$ error leaves room), and a better minimum lies
# right beside them. Adam moves every weight by about the learning rate at each step, whatever the
# gradient's size: steps of $10^{-4}$ and more jump over that narrow valley, steps of $10^{-6}$ walk
# down into it. The basin is narrow (between these two rates, steps start to jump out), not absent.

# %% [markdown]
# **3. Is the L2 term to blame?** MATLAB's default L2 regularisation ($10^{-4}$) pulls every weight
# towards 0, and the computed weights are far from 0. Switch it off and look at where the lowest loss is.

# %% active="ipynb"
# no_l2 = train(start, u_train, y_train, example_options(1e-4, EPOCHS, l2_regularization=0.0), progress=False)
# print(f"no L2: loss {no_l2.history[0]:.2e} -> {no_l2.history[-1]:.2e}, lowest at epoch {no_l2.best_epoch}")

# %% [markdown] tags=["solution"] jupyter={"source_hidden": true}
# **Solution 3.** Without the L2 term the lowest loss is still at epoch 0 and the loss still rises:
# the basin is not an artefact of the regularisation. It comes from the optimiser taking steps of a
# fixed size in a valley whose walls, in the directions of the large output weights, are very steep.

# %% active="py"
if __name__ == "__main__":
    main()
