# %% [markdown]
# # Lab 5: training from random weights lands in local minima
#
# Lab 4 showed that the weights computed from the system's matrices sit in a very narrow basin:
# training started there walks out of it. The question the MATLAB example ends with (Campa, section 4)
# is the other way round: started from **random** weights, does training find those weights, or
# anything as good?
#
# The set-up: the same LSTM ($N_n = 5$ units), every weight uniform in (0, 1), output bias 0; the same
# 1001-sample training data as lab 4 (balanced realisation of the reference system); Adam with
# learning rate 0.04, multiplied by a *drop factor* every 100 epochs, gradient threshold 1, 10,000
# epochs. Then the sensitivity study the example only mentions: drop factors 0.979, 0.98 and 0.981
# (the third digit changed), each from five random starts.
#
# Training an LSTM is itself a dynamical system, in the weights: one Adam step maps the weights to
# the next. Like many nonlinear maps it is *chaotic*: a difference in the last digits grows until
# two runs have nothing in common. So compare statistics over runs (final losses, distances), not
# single curves.
#
# Last, the variant with $N_n = n = 4$ units: with no unit to carry the input, the output weights
# $F = C A^{-1} / \mathrm{scale}$ read the state one step late, and the network realises
# $(A, B, C, C A^{-1} B)$: the system's $D$ (here 0) is replaced by $C A^{-1} B$.
#
# *This file is a notebook and a script:* `lstmds notebook training_random --out DIR`, or
# `lstmds run training_random --out DIR` (options `--epochs`, `--seeds`, `--drop-factors`).

# %%
"""Lab 5: training from random weights lands in local minima that depend on the hyperparameters.

Section 4 of the "LSTM as a dynamical system" example, and the sensitivity
study it only mentions. Nn = 5 units, all weights uniform(0, 1), output bias
0; Adam with learning rate 0.04 multiplied by the drop factor every 100
epochs, gradient threshold 1, 10,000 epochs, on the same 1001-sample data as
lab 4 (balanced realisation of the reference system). The study: drop
factor in {0.979, 0.98, 0.981} x several seeds -> final training loss,
validation difference norm and the distance of the trained weights from the
weights computed from (A, B, C, D). Then the Nn = n variant (4 units,
weights computed from the system), before and after training.

Run:  lstmds run training_random --out out/training_random
"""

import numpy as np

from lstmds_sim import LSTMParams
from lstmds_sim.core.crosscheck import crosscheck
from lstmds_sim.core.matrix import simulate
from lstmds_sim.core.progress import task
from lstmds_sim.diagrams import print_files, setting
from lstmds_sim.drawing.lstm_figures import systems_pzmap
from lstmds_sim.drawing.training_figures import random_loss, validation_figure
from lstmds_sim.io.exercise import answered, check_answer, keep  # noqa: F401  (the notebook's exercises)
from lstmds_sim.io.lab import lab_parser, positive_int, print_kv, use_headless_backend
from lstmds_sim.io.outdir import OutputDir
from lstmds_sim.learning.example_setup import N_VALIDATION, SCALE, TS, example_options, setup
from lstmds_sim.learning.experiments import (
    extracted_system,
    linear_response,
    loss_summary,
    train_named,
    validation_errors,
    weight_distance,
)
from lstmds_sim.learning.options import TrainOptions
from lstmds_sim.systems.lstm_linear import lstm_from_linear, reproduced_system
from lstmds_sim.systems.lti import describe

DROP_FACTORS = (0.979, 0.98, 0.981)
LEARNING_RATE = 0.04


def options(drop_factor: float, epochs: int, learning_rate: float = LEARNING_RATE) -> TrainOptions:
    return TrainOptions(
        learning_rate=learning_rate, drop_factor=drop_factor, drop_period=100, gradient_threshold=1.0,
        threshold_method="l2norm", l2_regularization=1e-4, max_epochs=epochs, verbose_frequency=500,
    )


def lab_options():
    """The lab's command-line options; ``lab_options().parse_args([])`` gives the defaults
    (2 drop factors x 2 starts x 300 epochs when LSTMDS_QUICK is set)."""
    parser = lab_parser("training_random", __doc__)
    parser.add_argument("--epochs", type=positive_int, default=setting(10_000, 300),
                        help="epochs per run (default: %(default)s)")
    parser.add_argument("--seeds", type=positive_int, default=setting(5, 2),
                        help="random starts per drop factor (default: %(default)s)")
    parser.add_argument("--drop-factors", type=float, nargs="+",
                        default=list(setting(DROP_FACTORS, (DROP_FACTORS[0], DROP_FACTORS[-1]))))
    return parser


def random_start(seed: int, n_units: int = 5) -> LSTMParams:
    """All weights uniform(0, 1), output bias 0 (as in the example)."""
    return LSTMParams.random(1, n_units, 1, rng=np.random.default_rng(seed))


def build_diagram(seed: int = 0):
    from lstmds_sim.core.diagram import lstm_diagram

    _, _, _, u_val = setup(seed)
    return lstm_diagram(random_start(seed), u_val, Ts=TS, name="training_random")[0]


def train_from_random(drop: float, seed: int, epochs: int, data_seed: int = 0, *, number: str = ""):
    """One run of the study: train from ``random_start(seed)``; (table row, TrainResult)."""
    system, computed, (u_train, y_train), u_val = setup(data_seed)
    result = train_named(random_start(seed), u_train, y_train, options(drop, epochs),
                         label=f"drop factor {drop:g}, random start {seed}{number}")
    row = {
        "drop_factor": drop, "seed": seed, **loss_summary(result.history),
        "validation_norm_difference": validation_errors(result.params, system, u_val)["norm_difference"],
        "distance_from_computed": weight_distance(result.params, computed),
        "elapsed_s": result.elapsed_s,
    }
    return row, result


TABLE_HEADER = f"  {'drop':>6} {'seed':>4} {'final loss':>11} {'validation':>11} {'distance':>9} {'time [s]':>8}"


def table_line(row: dict) -> str:
    return (f"  {row['drop_factor']:6.3f} {row['seed']:4d} {row['final_loss']:11.3e} "
            f"{row['validation_norm_difference']:11.3e} {row['distance_from_computed']:9.2f} {row['elapsed_s']:8.1f}")


def summarise(table: list[dict], computed: LSTMParams, system, u_val) -> dict:
    finals = np.array([r["final_loss"] for r in table])
    return {
        "final_loss_min": float(finals.min()), "final_loss_median": float(np.median(finals)),
        "final_loss_max": float(finals.max()),
        "distinct_minima": len(np.unique(np.round(np.log10(finals), 2))),
        "computed_weights_validation_norm": validation_errors(computed, system, u_val)["norm_difference"],
        "min_distance_from_computed": float(min(r["distance_from_computed"] for r in table)),
        "max_distance_from_computed": float(max(r["distance_from_computed"] for r in table)),
        "validation_norm_min": float(min(r["validation_norm_difference"] for r in table)),
        "validation_norm_max": float(max(r["validation_norm_difference"] for r in table)),
        "first_seed_final_loss": [r["final_loss"] for r in table if r["seed"] == table[0]["seed"]],
    }


def small_variant(system, u_train, y_train, u_val, epochs: int) -> dict:
    """The Nn = n construction (4 units), before and after training with lab 4's settings."""
    small = lstm_from_linear(system, scale=SCALE, units="n")
    trained = train_named(small, u_train, y_train, example_options(1e-4, epochs), label="Nn = n = 4 units, lr 1e-4")
    return {
        "units": small.n_units,
        "before": validation_errors(small, system, u_val),
        "before_vs_reproduced_system": validation_errors(small, reproduced_system(system, units="n"), u_val),
        "after": validation_errors(trained.params, system, u_val),
        **loss_summary(trained.history),
        "extracted_after": extracted_system(trained.params, scale=SCALE, dt=system.dt),
    }


# %% [markdown]
# ## The set-up and the diagram
#
# The diagram is the LSTM of lab 4 with random weights in it (drawn for seed 0): the same blocks and
# loops, only the numbers in the gains differ. Training changes numbers, never the picture.

# %% active="ipynb"
# from lstmds_sim.drawing.inline import picture
#
# args = lab_options().parse_args([])  # the script's defaults (small with LSTMDS_QUICK=1)
# system, computed, (u_train, y_train), u_val = setup(args.seed)
# print(f"{len(args.drop_factors)} drop factors x {args.seeds} random starts, {args.epochs} epochs each")
# picture(build_diagram(args.seed), "training_random: the LSTM, random weights in every gain")
# keep(computed_error=validation_errors(computed, system, u_val)["norm_difference"])  # for the text below

# %% [markdown]
# ## Train: every drop factor from every random start
#
# Each run is named before it starts. The table: final training loss, validation norm of the
# difference from the true system (the computed weights reach {{computed_error:.2g}}), and the Euclidean distance of
# the trained weights from the computed ones.

# %% active="ipynb"
# runs = {}
# for drop in args.drop_factors:
#     for k in range(args.seeds):
#         runs[drop, args.seed + k] = train_from_random(drop, args.seed + k, args.epochs, args.seed)
# table = [row for row, _ in runs.values()]
# print(TABLE_HEADER)
# print("\n".join(table_line(row) for row in table))
# print_kv("summary:", summarise(table, computed, system, u_val))

# %% [markdown]
# ## Look: the loss curves

# %% active="ipynb"
# random_loss({key: result.history for key, (_, result) in runs.items()},
#             title="training from random weights: each start and drop factor finds its own minimum");
# distances = [row["distance_from_computed"] for row in table]
# F_share = [np.sum((result.params.F - computed.F) ** 2) / row["distance_from_computed"] ** 2  # of the squared distance
#            for row, result in runs.values()]
# keep(distance_lo=min(distances), distance_hi=max(distances),  # for the text below
#      where=("mostly in the output weights $F$" if min(F_share) > 0.5 else
#             f"the output weights $F$ taking {100 * min(F_share):.0f} to {100 * max(F_share):.0f} % "
#             "of the squared distance"))

# %% [markdown]
# The loss falls steadily in every run, but to a different value: the same start with another drop
# factor, or the same drop factor from another start, ends in another minimum. None comes near the
# computed weights (distances from {{distance_lo:.0f}} to {{distance_hi:.0f}}, {{where}}).
#
# ## Compare: the best random start against the computed weights
#
# "Best" is the run with the lowest final training loss. Is it also the best model of the system?

# %% active="ipynb"
# best_row, best = min(runs.values(), key=lambda run: run[0]["final_loss"])
# t = np.arange(N_VALIDATION) * TS
# chosen = best_row["validation_norm_difference"]
# validation_figure(t, {"true system": linear_response(system, u_val), "LSTM, best random start (by training loss)":
#                       simulate(best.params, u_val).y, "LSTM, computed weights": simulate(computed, u_val).y},
#                   title=f"validation: the best random start by training loss has error {chosen:.3g}; "
#                         f"{sum(row['validation_norm_difference'] < chosen for row, _ in runs.values())} of the "
#                         f"other {len(runs) - 1} runs do better\ncomputed weights: "
#                         f"{validation_errors(computed, system, u_val)['norm_difference']:.3g}")
# systems_pzmap({"true": describe(system), "best random start (by training loss)":
#                extracted_system(best.params, scale=SCALE, dt=system.dt)},
#               title="the system read from the weights (lab 3's formulas)");

# %% [markdown]
# Reading a linear system from random-start weights with lab 3's formulas gives nonsense poles and
# zeros: those formulas assume the gates are pinned open and shut, which a trained random network's
# gates are not. The network found its own, nonlinear, way of fitting the data.

# %% [markdown]
# ## Inspect the run
#
# The signal inspector shows the best random start (by training loss), trained, in the diagram, on
# the validation input as one page: click a wire to plot its signal (Shift+click adds another, to
# overlay them), drag the step slider to watch every wire's value, and read the loops and each
# loop's Theorem 4 gain (docs/inspector.md; `lstmds inspect training_random` writes the same page
# from a terminal).

# %% active="ipynb"
# from lstmds_sim import inspect
# from lstmds_sim.core.diagram import lstm_diagram
#
# inspect(lstm_diagram(best.params, u_val, Ts=TS, name="training_random")[0],
#         title="training_random: the best random start, trained")

# %% [markdown]
# ## The lab as a script

# %%
def main(argv=None) -> dict:
    args = lab_options().parse_args(argv)
    use_headless_backend()
    import matplotlib.pyplot as plt

    out = OutputDir(args.out, lab="training_random")
    system, computed, (u_train, y_train), u_val = setup(args.seed)
    true_info = describe(system)

    table = []
    histories = {}
    best = None
    n_runs = len(args.drop_factors) * args.seeds
    print(f"{len(args.drop_factors)} drop factors x {args.seeds} random starts, {args.epochs} epochs each:")
    for drop in args.drop_factors:
        for k in range(args.seeds):
            seed = args.seed + k
            number = f" (run {len(table) + 1}/{n_runs})"
            row, result = train_from_random(drop, seed, args.epochs, args.seed, number=number)
            table.append(row)
            histories[(drop, seed)] = result.history
            print(TABLE_HEADER)
            print(table_line(row))
            if best is None or row["final_loss"] < best[0]["final_loss"]:
                best = (row, result)
    print("all runs:")
    print(TABLE_HEADER)
    print("\n".join(table_line(row) for row in table))

    summary = summarise(table, computed, system, u_val)
    print_kv("summary:", summary)

    variant = small_variant(system, u_train, y_train, u_val, args.epochs)
    print_kv(f"Nn = n = {variant['units']} units (F = C A^-1 / scale), trained with lr 1e-4:", {
        "validation before (vs the true system)": variant["before"]["norm_difference"],
        "validation before (vs (A, B, C, C A^-1 B))": variant["before_vs_reproduced_system"]["norm_difference"],
        "validation after training": variant["after"]["norm_difference"],
        "initial -> final loss": f"{variant['initial_loss']:.3e} -> {variant['final_loss']:.3e}",
    })

    best_row, best_result = best
    saved = best_result.params.save(out.path("trained_best.npz"), overwrite=True)
    check = crosscheck(LSTMParams.load(saved), u_val, Ts=TS)
    print_kv("best random-start weights reloaded into the block diagram:", {
        "file": saved.name, "largest diagram - matrix difference": check.worst[1]})

    with task("writing the figures", 3, unit="figure") as progress:  # 15 curves of 10,001 points: a while
        fig = random_loss(histories, title="training from random weights: each start and drop factor finds its own minimum")
        out.savefig(fig, "training_random_loss")
        plt.close(fig)
        progress.show(1)

        t = np.arange(N_VALIDATION) * TS
        y_val = linear_response(system, u_val)
        chosen = best_row["validation_norm_difference"]
        fig = validation_figure(t, {"true system": y_val,
                                    "LSTM, best random start (by training loss)": simulate(best_result.params, u_val).y,
                                    "LSTM, computed weights": simulate(computed, u_val).y},
                                title=f"validation: the best random start by training loss has error {chosen:.3e}; "
                                      f"{sum(row['validation_norm_difference'] < chosen for row in table)} of the other "
                                      f"{len(table) - 1} runs do better\ncomputed weights: "
                                      f"{summary['computed_weights_validation_norm']:.3e}")
        out.savefig(fig, "training_random_validation")
        plt.close(fig)
        progress.show(2)

        fig = systems_pzmap({"true": true_info, "best random start (by training loss)":
                             extracted_system(best_result.params, scale=SCALE, dt=system.dt)},
                            title="system read from the weights (section 3 formulas)")
        out.savefig(fig, "training_random_pzmap")
        plt.close(fig)
        progress.show(3)

    results = {
        "Ts": TS, "epochs": args.epochs, "seed": args.seed, "learning_rate": LEARNING_RATE,
        "drop_factors": list(args.drop_factors), "seeds": [args.seed + k for k in range(args.seeds)], "runs": len(table),
        "options": {"drop_period": 100, "gradient_threshold": 1.0, "threshold_method": "l2norm",
                    "l2_regularization": 1e-4, "loss": "mse"},
        "sensitivity_table": table,
        "summary": summary,
        "nn_equals_n_variant": variant,
        "reloaded_crosscheck_max_abs_error": check.worst[1],
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
# are in the teacher's edition (`lstmds notebook training_random`), collapsed; the student's edition
# (`lstmds notebook training_random --student`) has none.
#
# **1. Predict the $N_n = n$ error without training.** The 4-unit network realises
# $(A, B, C, C A^{-1} B)$ instead of $(A, B, C, 0)$. Both have the same dynamics; they differ only by a
# direct feedthrough $D' = C A^{-1} B$. Predict the validation norm of the difference from the true
# system from $D'$ and the validation input alone, write it in the answer cell, then check it.

# %% active="ipynb"
# A, B, C = system.A, system.B, system.C
# D_extra = (C @ np.linalg.solve(A, B)).item()
# print(f"D' = C A^-1 B = {D_extra:.4f}; the validation input has {len(u_val)} samples")

# %% active="ipynb" tags=["answer"]
# # The validation norm of the difference of the 4-unit network from the true system:
# ANSWER_1 = None
# ### BEGIN SOLUTION
# ANSWER_1 = abs(D_extra) * np.linalg.norm(u_val)
# ### END SOLUTION

# %% active="ipynb" tags=["check"]
# answered("ANSWER_1", ANSWER_1)
# ### BEGIN HIDDEN TESTS
# small = lstm_from_linear(system, scale=SCALE, units="n")
# check_answer("ANSWER_1", ANSWER_1, validation_errors(small, system, u_val)["norm_difference"], rtol=0.03)
# ### END HIDDEN TESTS

# %% tags=["solution"] jupyter={"source_hidden": true, "outputs_hidden": true} active="ipynb"
# # Solution 1: the 4-unit network against both systems, before and after training
# variant = small_variant(system, u_train, y_train, u_val, args.epochs)
# change = variant["after"]["norm_difference"] / variant["before"]["norm_difference"]
# keep(D_abs=abs(D_extra), u_norm=np.linalg.norm(u_val), predicted=abs(D_extra) * np.linalg.norm(u_val),
#      n_val=len(u_val), error=variant["before"]["norm_difference"],
#      vs_reproduced=variant["before_vs_reproduced_system"]["norm_difference"],
#      after=variant["after"]["norm_difference"], epochs=args.epochs,
#      loss_before=variant["initial_loss"], loss_after=variant["final_loss"],
#      loss_went="falls" if variant["final_loss"] < variant["initial_loss"] else "rises",
#      outcome="stays about the same, at" if 0.9 < change < 1.1 else "grows to" if change >= 1.1 else "shrinks only to")

# %% [markdown] tags=["solution"] jupyter={"source_hidden": true}
# **Solution 1.**
#
# The two systems have the same state; their outputs differ by exactly $D' u(k)$ at every step, so
# the norm of the difference is $|D'|\,\lVert u \rVert = {{D_abs:.4f}} \times {{u_norm:.2f}} = {{predicted:.3f}}$
# ($\lVert u \rVert$ is the norm of the {{n_val}} validation samples). The network itself is off by
# {{error:.3f}} against the true system, while it matches $(A, B, C, C A^{-1} B)$ to {{vs_reproduced:.3f}}:
# nearly all of its error is this structural one. Training with lab 4's settings (learning rate
# $10^{-4}$, {{epochs}} epochs) cannot repair a *structural* error: the training loss {{loss_went}} from
# {{loss_before:.3g}} to {{loss_after:.3g}}, and the validation error {{outcome}} {{after:.3f}}.

# %% [markdown]
# **2. Lowest training loss, best model?** Order the runs of the table by their final training loss,
# then by their validation norm. Is it the same order? Measure how alike the two orders are with
# Spearman's rank correlation $\rho_s$ (the correlation of the two lists of ranks: 1 for the same
# order, 0 for unrelated orders, $-1$ for reversed ones) and write it in the answer cell.

# %% active="ipynb"
# by_loss = sorted(table, key=lambda r: r["final_loss"])
# by_validation = sorted(table, key=lambda r: r["validation_norm_difference"])
# print("by training loss:", [(r["drop_factor"], r["seed"]) for r in by_loss])
# print("by validation:   ", [(r["drop_factor"], r["seed"]) for r in by_validation])

# %% active="ipynb" tags=["answer"]
# # Spearman's rank correlation of the final training loss and the validation norm, over the runs:
# ANSWER_2 = None
# ### BEGIN SOLUTION
# loss_ranks = np.argsort(np.argsort([r["final_loss"] for r in table]))
# validation_ranks = np.argsort(np.argsort([r["validation_norm_difference"] for r in table]))
# ANSWER_2 = float(np.corrcoef(loss_ranks, validation_ranks)[0, 1])
# ### END SOLUTION

# %% active="ipynb" tags=["check"]
# answered("ANSWER_2", ANSWER_2)
# ### BEGIN HIDDEN TESTS
# from scipy.stats import spearmanr
#
# check_answer("ANSWER_2", ANSWER_2, spearmanr([r["final_loss"] for r in table],
#                                              [r["validation_norm_difference"] for r in table])[0], atol=1e-9)
# ### END HIDDEN TESTS

# %% tags=["solution"] jupyter={"source_hidden": true, "outputs_hidden": true} active="ipynb"
# # Solution 2: the two ends of the two orders
# lowest, best_validating = by_loss[0], by_validation[0]
# rho = spearmanr([r["final_loss"] for r in table], [r["validation_norm_difference"] for r in table])[0]
# keep(verdict="Not the same order" if rho < 1 else "The same order, this time", rho=rho,
#      n_runs=len(table), low_loss=lowest["final_loss"], low_drop=lowest["drop_factor"], low_seed=lowest["seed"],
#      low_validation=lowest["validation_norm_difference"], low_rank=by_validation.index(lowest) + 1,
#      top_validation=best_validating["validation_norm_difference"], top_drop=best_validating["drop_factor"],
#      top_seed=best_validating["seed"], top_loss=best_validating["final_loss"],
#      top_rank=by_loss.index(best_validating) + 1, epochs=args.epochs)

# %% [markdown] tags=["solution"] jupyter={"source_hidden": true}
# **Solution 2.**
#
# {{verdict}}: over the {{n_runs}} runs of {{epochs}} epochs, $\rho_s = {{rho:.2f}}$. The lowest final
# training loss ({{low_loss:.3g}}, drop factor {{low_drop}}, start {{low_seed}}) validates with a norm of
# {{low_validation:.3g}}, number {{low_rank}} of {{n_runs}} by validation; the run that validates best
# ({{top_validation:.3g}}, drop factor {{top_drop}}, start {{top_seed}}) is number {{top_rank}} by training loss
# ({{top_loss:.3g}}). Each minimum fits the 1001 training samples in its own nonlinear way, and what that
# way does on new input is not ranked by the training loss: choose a model by its validation, never
# by its training loss alone.

# %% [markdown]
# **3. The third digit.** Train start 0 with drop factor 0.98 and with 0.9801 for a few hundred
# epochs. The learning rates are the same for the first 100 epochs, then differ by a factor
# $0.9801 / 0.98 \approx 1.0001$ more at every drop: by 0.01 % after epoch 100, 0.03 % after epoch 300.
# Predict: how far apart are the two final losses? Then run the cell.

# %% active="ipynb" tags=["predict"]
# EPOCHS = 500
#
# histories = {}
# for drop in (0.98, 0.9801):
#     histories[drop] = train_named(random_start(0), u_train, y_train, options(drop, EPOCHS),
#                                   label=f"drop factor {drop}, random start 0").history
#     print(f"drop factor {drop}: loss after {EPOCHS} epochs {histories[drop][-1]:.4e}")

# %% tags=["solution"] jupyter={"source_hidden": true, "outputs_hidden": true} active="ipynb"
# # Solution 3: where the two histories part
# apart = np.abs(histories[0.98] - histories[0.9801]) / histories[0.98]
# first = int(np.flatnonzero(apart > 0)[0])
# keep(first=first, last_equal=first - 1, percent_200=100 * apart[200], percent_end=100 * apart[-1], epochs=EPOCHS,
#      loss_a=histories[0.98][-1], loss_b=histories[0.9801][-1])

# %% [markdown] tags=["solution"] jupyter={"source_hidden": true}
# **Solution 3.**
#
# Not 0.03 % apart. The two loss histories are equal, digit for digit, up to epoch {{last_equal}}; they
# first differ after epoch {{first}}, the first one trained with the two different learning rates. From there the
# tiny difference grows step by step, like a perturbation of a chaotic system: the losses differ by
# {{percent_200:.2g}} % at epoch 200 and by {{percent_end:.2g}} % at epoch {{epochs}} ({{loss_a:.4g}} against {{loss_b:.4g}}). This is why
# the example changes the third digit of the drop factor and finds another minimum, and why single
# training curves should not be compared.

# %% active="py"
if __name__ == "__main__":
    main()
