"""Lab 3: training from the computed weights leaves a narrow basin.

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

from __future__ import annotations

import numpy as np

from lstmds_sim import LSTMParams
from lstmds_sim.core.crosscheck import crosscheck
from lstmds_sim.io.lab import lab_parser, print_kv, use_headless_backend
from lstmds_sim.io.outdir import OutputDir
from lstmds_sim.learning.experiments import (
    extracted_system,
    linear_dataset,
    linear_response,
    loss_summary,
    validation_errors,
    weight_changes,
)
from lstmds_sim.systems.lstm_linear import lstm_from_linear
from lstmds_sim.systems.lti import describe
from lstmds_sim.systems.reference import reference_system

TS = 0.01
SCALE = 1e-3
N_TRAIN = 1001  # t = 0:Ts:1000*Ts
N_VALIDATION = 51  # t = 0:Ts:50*Ts, as in section 2
LEARNING_RATES = (1e-4, 1e-3, 1e-2)


def options(learning_rate: float, epochs: int):
    from lstmds_sim.learning.options import TrainOptions

    return TrainOptions(
        learning_rate=learning_rate, drop_factor=0.99, drop_period=100, gradient_threshold=1.0,
        threshold_method="l2norm", l2_regularization=1e-4, max_epochs=epochs, verbose_frequency=500,
    )


def setup(seed: int, realization: str = "balanced"):
    """The reference system, the computed weights, training and validation data."""
    system = reference_system(TS, realization=realization)  # a discrete StateSpace, dt = TS
    start = lstm_from_linear(system, scale=SCALE)
    u_train, y_train = linear_dataset(system, N_TRAIN, seed)
    u_val = np.random.default_rng(seed + 1000).standard_normal((N_VALIDATION, 1))
    return system, start, (u_train, y_train), u_val


def build_diagram(params: LSTMParams | None = None, seed: int = 0):
    """The LSTM diagram that the trained weights are loaded into (validation input)."""
    from lstmds_sim.core.diagram import lstm_diagram

    system, start, _, u_val = setup(seed)
    return lstm_diagram(params or start, u_val, Ts=TS, name="training_basin")[0]


def main(argv=None) -> dict:
    parser = lab_parser("training_basin", __doc__)
    parser.add_argument("--epochs", type=int, default=10_000, help="epochs per run (default: %(default)s)")
    parser.add_argument("--learning-rates", type=float, nargs="+", default=list(LEARNING_RATES))
    parser.add_argument("--realization", choices=("balanced", "canonical"), default="balanced",
                        help="state coordinates of the reference system (default: %(default)s)")
    args = parser.parse_args(argv)
    use_headless_backend()
    import matplotlib.pyplot as plt

    from lstmds_sim.drawing.plots import loss_curves, pzmap, stairs
    from lstmds_sim.learning.training import train

    out = OutputDir(args.out, lab="training_basin")
    system, start, (u_train, y_train), u_val = setup(args.seed, args.realization)
    true_info = describe(system)
    before = validation_errors(start, system, u_val)
    print(f"start: weights computed from (A, B, C, D), scale {SCALE:g}: validation norm of difference "
          f"{before['norm_difference']:.3e}")

    other = "canonical" if args.realization == "balanced" else "balanced"
    other_setup = setup(args.seed, other)
    plan = [(args.realization, lr, (system, start, (u_train, y_train), u_val)) for lr in args.learning_rates]
    plan.append((other, args.learning_rates[0], other_setup))
    runs = []
    for realization, lr, (system_, start_, (u_, y_), u_val_) in plan:
        result = train(start_, u_, y_, options(lr, args.epochs))
        trained = result.params
        run = {
            "realization": realization,
            "learning_rate": lr,
            **loss_summary(result.history),
            "elapsed_s": result.elapsed_s,
            "weight_changes": weight_changes(start_, trained),
            "validation_before": validation_errors(start_, system_, u_val_),
            "validation": validation_errors(trained, system_, u_val_),
            "extracted_system": extracted_system(trained, scale=SCALE, dt=system_.dt),
        }
        runs.append((run, result))
        moved = {k: v for k, v in run["weight_changes"].items() if v > 1e-6}
        print_kv(f"{realization} realisation, learning rate {lr:g}, {args.epochs} epochs ({result.elapsed_s:.1f} s):", {
            "initial -> final loss": f"{run['initial_loss']:.3e} -> {run['final_loss']:.3e}",
            "lowest loss at epoch": run["best_epoch"],
            "final / initial loss": run["final_over_initial"],
            "validation norm of difference": run["validation"]["norm_difference"],
            "3u test: error(3u) / error(u)": run["validation"]["ratio_3u"],
            "blocks that moved (> 1e-6)": ", ".join(f"{k} {v:.1e}" for k, v in moved.items()) or "none",
        })

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
    saved = first.params.save(out.path("trained_lr%g.npz" % args.learning_rates[0]), overwrite=True)
    reloaded = LSTMParams.load(saved)
    check = crosscheck(reloaded, u_val, Ts=TS)
    print_kv("trained weights reloaded into the block diagram:", {
        "file": saved.name, "largest diagram - matrix difference": check.worst[1]})

    fig, ax = plt.subplots(figsize=(8, 4.5))
    label = lambda run: f"{run['realization']}, lr {run['learning_rate']:g}"
    loss_curves(ax, {label(run): result.history for run, result in runs},
                styles={label(run): {"ls": "-" if run["realization"] == args.realization else ":"} for run, _ in runs},
                title="training from the computed weights: the loss leaves its starting value")
    out.savefig(fig, "training_basin_loss")
    plt.close(fig)

    from lstmds_sim.core.matrix import simulate

    t = np.arange(N_VALIDATION) * TS
    y_val = linear_response(system, u_val)
    main_runs = [(run, result) for run, result in runs if run["realization"] == args.realization]
    fig, axes = plt.subplots(len(main_runs), 1, figsize=(8, 2.6 * len(main_runs)), sharex=True, squeeze=False)
    for ax, (run, result) in zip(axes[:, 0], main_runs):
        stairs(ax, t, {"true": y_val[:, 0], "net": simulate(result.params, u_val).y[:, 0]},
               title=f"lr {run['learning_rate']:g}: validation norm of difference "
                     f"{run['validation']['norm_difference']:.3e}", ylabel="y")
    axes[-1, 0].set_xlabel("t [s]")
    out.savefig(fig, "training_basin_validation")
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(5.5, 5))
    zp = lambda d: ([complex(*z) for z in d["zeros"]], [complex(*p) for p in d["poles"]])
    pzmap(ax, {"true": zp(true_info), **{f"lr {r['learning_rate']:g}": zp(r["extracted_system"]) for r, _ in main_runs}},
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
    return results


if __name__ == "__main__":
    main()
