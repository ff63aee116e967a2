"""Lab 4: training from random weights lands in local minima that depend on the hyperparameters.

Section 4 of the "LSTM as a dynamical system" example, and the sensitivity
study it only mentions. Nn = 5 units, all weights uniform(0, 1), output bias
0; Adam with learning rate 0.04 multiplied by the drop factor every 100
epochs, gradient threshold 1, 10,000 epochs, on the same 1001-sample data as
lab 3 (balanced realisation of the reference system). The study: drop
factor in {0.979, 0.98, 0.981} x several seeds -> final training loss,
validation difference norm and the distance of the trained weights from the
weights computed from (A, B, C, D). Then the Nn = n variant (4 units,
weights computed from the system), before and after training.

Run:  lstmds run training_random --out out/training_random
"""

from __future__ import annotations

import numpy as np

from lstmds_sim import LSTMParams
from lstmds_sim.core.crosscheck import crosscheck
from lstmds_sim.diagrams.training_basin import N_VALIDATION, SCALE, TS, setup
from lstmds_sim.io.lab import lab_parser, print_kv, use_headless_backend
from lstmds_sim.io.outdir import OutputDir
from lstmds_sim.learning.experiments import (
    extracted_system,
    linear_response,
    loss_summary,
    validation_errors,
    weight_distance,
)
from lstmds_sim.systems.lstm_linear import lstm_from_linear, reproduced_system
from lstmds_sim.systems.lti import describe

DROP_FACTORS = (0.979, 0.98, 0.981)


def options(drop_factor: float, epochs: int, learning_rate: float = 0.04):
    from lstmds_sim.learning.options import TrainOptions

    return TrainOptions(
        learning_rate=learning_rate, drop_factor=drop_factor, drop_period=100, gradient_threshold=1.0,
        threshold_method="l2norm", l2_regularization=1e-4, max_epochs=epochs, verbose_frequency=500,
    )


def random_start(seed: int, n_units: int = 5) -> LSTMParams:
    """All weights uniform(0, 1), output bias 0 (as in the example)."""
    return LSTMParams.random(1, n_units, 1, rng=np.random.default_rng(seed))


def build_diagram(seed: int = 0):
    from lstmds_sim.core.diagram import lstm_diagram

    _, _, _, u_val = setup(seed)
    return lstm_diagram(random_start(seed), u_val, Ts=TS, name="training_random")[0]


def main(argv=None) -> dict:
    parser = lab_parser("training_random", __doc__)
    parser.add_argument("--epochs", type=int, default=10_000, help="epochs per run (default: %(default)s)")
    parser.add_argument("--seeds", type=int, default=5, help="random starts per drop factor (default: %(default)s)")
    parser.add_argument("--drop-factors", type=float, nargs="+", default=list(DROP_FACTORS))
    args = parser.parse_args(argv)
    use_headless_backend()
    import matplotlib.pyplot as plt

    from lstmds_sim.core.matrix import simulate
    from lstmds_sim.drawing.plots import loss_curves, pzmap, stairs
    from lstmds_sim.learning.training import train

    out = OutputDir(args.out, lab="training_random")
    system, computed, (u_train, y_train), u_val = setup(args.seed)
    true_info = describe(system)

    table = []
    histories = {}
    best = None
    print(f"{len(args.drop_factors)} drop factors x {args.seeds} random starts, {args.epochs} epochs each:")
    print(f"  {'drop':>6} {'seed':>4} {'final loss':>11} {'validation':>11} {'distance':>9} {'time [s]':>8}")
    for drop in args.drop_factors:
        for k in range(args.seeds):
            seed = args.seed + k
            result = train(random_start(seed), u_train, y_train, options(drop, args.epochs), progress=False)
            row = {
                "drop_factor": drop, "seed": seed, **loss_summary(result.history),
                "validation_norm_difference": validation_errors(result.params, system, u_val)["norm_difference"],
                "distance_from_computed": weight_distance(result.params, computed),
                "elapsed_s": result.elapsed_s,
            }
            table.append(row)
            histories[(drop, seed)] = result.history
            print(f"  {drop:6.3f} {seed:4d} {row['final_loss']:11.3e} {row['validation_norm_difference']:11.3e} "
                  f"{row['distance_from_computed']:9.2f} {row['elapsed_s']:8.1f}")
            if best is None or row["final_loss"] < best[0]["final_loss"]:
                best = (row, result)

    finals = np.array([r["final_loss"] for r in table])
    summary = {
        "final_loss_min": float(finals.min()), "final_loss_median": float(np.median(finals)),
        "final_loss_max": float(finals.max()),
        "distinct_minima": int(len(np.unique(np.round(np.log10(finals), 2)))),
        "computed_weights_validation_norm": validation_errors(computed, system, u_val)["norm_difference"],
        "min_distance_from_computed": float(min(r["distance_from_computed"] for r in table)),
    }
    print_kv("summary:", summary)

    # the Nn = n variant: weights from the system with 4 units, before and after training (lab 3's settings)
    from lstmds_sim.diagrams.training_basin import options as basin_options

    small = lstm_from_linear(system, scale=SCALE, units="n")
    trained_small = train(small, u_train, y_train, basin_options(1e-4, args.epochs), progress=False)
    variant = {
        "units": small.n_units,
        "before": validation_errors(small, system, u_val),
        "before_vs_reproduced_system": validation_errors(small, reproduced_system(system, units="n"), u_val),
        "after": validation_errors(trained_small.params, system, u_val),
        **loss_summary(trained_small.history),
        "extracted_after": extracted_system(trained_small.params, scale=SCALE, dt=system.dt),
    }
    print_kv(f"Nn = n = {small.n_units} units (F = C A^-1 / scale), trained with lr 1e-4:", {
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

    fig, ax = plt.subplots(figsize=(8, 4.5))
    colours = dict(zip(args.drop_factors, ("tab:blue", "tab:red", "tab:green", "tab:purple")))
    label = lambda drop, seed: f"drop {drop:g}, seed {seed}"
    loss_curves(ax, {label(*key): history for key, history in histories.items()},
                styles={label(*key): {"color": colours.get(key[0], "k"), "lw": 0.8} for key in histories},
                title="training from random weights: each start and drop factor finds its own minimum")
    out.savefig(fig, "training_random_loss")
    plt.close(fig)

    t = np.arange(N_VALIDATION) * TS
    y_val = linear_response(system, u_val)
    fig, ax = plt.subplots(figsize=(8, 3.5))
    stairs(ax, t, {"true": y_val[:, 0], "net (best random start)": simulate(best_result.params, u_val).y[:, 0],
                   "net (computed weights)": simulate(computed, u_val).y[:, 0]},
           title=f"validation: best random start {best_row['validation_norm_difference']:.3e}, "
                 f"computed weights {summary['computed_weights_validation_norm']:.3e}", ylabel="y")
    ax.set_xlabel("t [s]")
    out.savefig(fig, "training_random_validation")
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(5.5, 5))
    zp = lambda d: ([complex(*z) for z in d["zeros"]], [complex(*p) for p in d["poles"]])
    pzmap(ax, {"true": zp(true_info), "best random start": zp(extracted_system(best_result.params, scale=SCALE, dt=system.dt))},
          title="system read from the weights (section 3 formulas)")
    out.savefig(fig, "training_random_pzmap")
    plt.close(fig)

    results = {
        "Ts": TS, "epochs": args.epochs, "seed": args.seed, "learning_rate": 0.04,
        "options": {"drop_period": 100, "gradient_threshold": 1.0, "threshold_method": "l2norm",
                    "l2_regularization": 1e-4, "loss": "mse"},
        "sensitivity_table": table,
        "summary": summary,
        "nn_equals_n_variant": variant,
        "reloaded_crosscheck_max_abs_error": check.worst[1],
    }
    out.write_results(results)
    return results


if __name__ == "__main__":
    main()
