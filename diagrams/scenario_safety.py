"""Lab 7: probabilistic safety verification by the scenario approach (the paper's Figure 3b).

Bonassi et al., Section 3. For each input amplitude rho_u, N scenarios are
drawn (MPRS inputs with levels uniform in [-rho_u, rho_u], holds of 300-2000
s, 2000 steps; initial LSTM states uniform in [-0.1, 0.1]); the ISS-certified
LSTM of lab 6 is run on all of them at once through the batched block
diagram AND the matrix implementation (they must agree to 1e-9), and the
plant block (PHPLANT, batched in its own diagram) is fed the same inputs. rho_y* = max |y| over scenarios and time is,
with confidence 1 - beta, a bound that a new scenario exceeds with
probability at most eps (N from the paper's bound (11): 2964 for eps = 1e-2,
beta = 1e-6). A posterior check on fresh scenarios estimates the violation
probability; two analytic bounds (the paper's ISS-Lyapunov bound and an interval
bound) are drawn beside the scenario bounds.

Run:  lstmds run scenario_safety --out out/scenario_safety [--model out/ph_identification/lstm_iss_model.npz]
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np

from lstmds_sim import blockdiagram, run, simulate
from lstmds_sim.core.diagram import lstm_diagram
from lstmds_sim.io.lab import lab_parser, positive_int, print_kv, use_headless_backend
from lstmds_sim.io.outdir import OutputDir
from lstmds_sim.learning.model import IdentifiedModel
from lstmds_sim.safety.bounds import reachable_set_bound, trivial_output_bound
from lstmds_sim.safety.scenario import (
    ScenarioClass,
    consistent_with_eps,
    count_violations,
    draw_scenarios,
    sample_size,
    scenario_bound,
    violation_probability_estimate,
)
from lstmds_sim.systems.ph_plant import simulate_plant, steady_state

RHO_U = tuple(np.round(np.arange(1, 11) / 10, 1))
TRANSIENT = 50  # steps after which the random initial state no longer shows (reported separately)
RHO_U_MAX = 1.0  # inputs are normalised by their largest deviation in the training data: |u| <= 1 was seen
STATE_BOX = (ScenarioClass.state_half_width,) * 2  # |x0|, |xi0| of the scenarios: the analytic bounds hold from k = 0
AGREEMENT = 1e-9  # the batched diagram and the matrices must agree to this (issue requirement)
PLANT_AGREEMENT = 1e-12  # the plant block runs step_plant, the simulator's own RK4 step


def amplitude(text: str) -> float:
    """argparse type of --rho-u: a normalised input amplitude in (0, RHO_U_MAX]."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not 0 < value <= RHO_U_MAX:
        raise argparse.ArgumentTypeError(
            f"must be a normalised input amplitude in (0, {RHO_U_MAX:g}] (1 = the largest input deviation in the "
            f"model's training data, so q3 = u_mean +- rho_u * u_scale), got {text}"
        )
    return value


def after_transient(y: np.ndarray) -> float | None:
    """rho_y* over the steps k >= TRANSIENT; None when the horizon is not longer than the transient."""
    return scenario_bound(y[:, TRANSIENT:]) if y.shape[1] > TRANSIENT else None


def check_plant_flows(model: IdentifiedModel, rho_u, source: str) -> None:
    """The plant is fed q3 = u_mean + u * u_scale with |u| <= rho_u: refuse negative flows before running."""
    low = model.u_mean - max(rho_u) * model.u_scale
    if low < 0:
        raise ValueError(
            f"--rho-u {max(rho_u):g}: the plant would get base flows down to q3 = u_mean - rho_u * u_scale = "
            f"{low:.4g} ml/s < 0 with the normalisation of the model {source} (u_mean {model.u_mean:g}, "
            f"u_scale {model.u_scale:g}); give a --rho-u below {model.u_mean / model.u_scale:.3g} "
            "or a model trained on the plant's flows"
        )


def identified_model(path, max_iter: int, seed: int, out: OutputDir) -> tuple[IdentifiedModel, str]:
    """Load the model of lab 6, or train one the same way (ISS-constrained SLSQP) and save it."""
    if path:
        return IdentifiedModel.load(path), str(path)
    from lstmds_sim.learning.dataset import generate_identification_data
    from lstmds_sim.learning.iss_training import ISSTrainOptions, train_iss

    print(f"no --model given: training an ISS-certified LSTM on the pH data first ({max_iter} SLSQP iterations)")
    data = generate_identification_data(seed=seed)
    result = train_iss(data.normalise_u(data.u_train), data.normalise_y(data.y_train),
                       ISSTrainOptions(max_iter=max_iter, seed=seed))
    model = IdentifiedModel(result.params, data.u_mean, data.u_scale, data.y_mean, data.y_scale, data.Ts)
    saved = model.save(out.path("lstm_iss_model.npz"), overwrite=True)
    return model, saved.name


def lstm_through_diagram(model: IdentifiedModel, scenarios) -> np.ndarray:
    bd, _ = lstm_diagram(model.params, scenarios.u, Ts=model.Ts, h0=scenarios.h0, c0=scenarios.c0,
                         form="statespace", name="scenario_lstm")
    return run(bd).recorders["y"]


def plant_through_diagram(model: IdentifiedModel, u: np.ndarray) -> np.ndarray:
    """SEQUENCE q3 -> PHPLANT -> RECORDER, batched: the plant block fed the same (normalised) inputs.

    Every scenario starts from the steady state at the centre input; returns normalised pH (B, T, 1).
    """
    bd = blockdiagram("scenario_plant")
    clock = bd.clock(model.Ts, "s")
    q3 = bd.SEQUENCE(u * model.u_scale + model.u_mean, clock, name="q3")
    plant = bd.PHPLANT(clock, x0=steady_state(model.u_mean).x, name="pH plant")
    bd.connect(q3, plant, name="q3")
    bd.connect(plant, bd.RECORDER(name="pH"), name="pH")
    return (run(bd).recorders["pH"] - model.y_mean) / model.y_scale


def plant_simulator_check(model: IdentifiedModel, u: np.ndarray, y_block: np.ndarray, count: int = 8) -> float:
    """Largest |block - simulate_plant| over the first scenarios (normalised pH): the block is the simulator."""
    q3 = u[:count, :, 0] * model.u_scale + model.u_mean
    ph = simulate_plant(q3, steady_state(model.u_mean).x, Ts=model.Ts, keep_states=False).y
    return float(np.max(np.abs(y_block[:count, :, 0] - (ph - model.y_mean) / model.y_scale)))


def build_diagram():
    """The batched LSTM diagram of the sweep (a small batch, for rendering)."""
    from lstmds_sim import LSTMParams

    model = IdentifiedModel(LSTMParams.random(1, 5, 1, rng=0, low=-0.1, high=0.1), 15.0, 2.0, 7.0, 2.0, 10.0)
    scenarios = draw_scenarios(4, ScenarioClass(1.0, horizon=50), 5, rng=0)
    return lstm_diagram(model.params, scenarios.u, Ts=10.0, h0=scenarios.h0, c0=scenarios.c0,
                        form="statespace", name="scenario_lstm")[0]


def _progress(total: int):
    if sys.stderr.isatty():
        from tqdm import tqdm

        return tqdm(total=total, desc="scenario batches", unit="batch")
    return None


def main(argv=None) -> dict:
    parser = lab_parser("scenario_safety", __doc__)
    parser.add_argument("--model", default=None, help="IdentifiedModel .npz (default: train one first)")
    parser.add_argument("--eps", type=float, default=1e-2, help="violation probability (default: %(default)s)")
    parser.add_argument("--beta", type=float, default=1e-6, help="confidence parameter (default: %(default)s)")
    parser.add_argument("--d", type=int, default=1, help="decision variables (default: %(default)s)")
    parser.add_argument("--bound", choices=("paper", "exact"), default="paper",
                        help="sample-size bound: the paper's (11) or Campi & Garatti's exact one")
    parser.add_argument("--rho-u", type=amplitude, nargs="+", default=list(RHO_U),
                        help=f"normalised input amplitudes, each in (0, {RHO_U_MAX:g}] (default: 0.1 ... 1.0)")
    parser.add_argument("--horizon", type=positive_int, default=2000,
                        help=f"steps per scenario, >= 1 (default: %(default)s; rho_y* after the first {TRANSIENT} "
                             f"steps is reported only for a horizon > {TRANSIENT})")
    parser.add_argument("--posterior", type=positive_int, default=None,
                        help="fresh scenarios for the check, >= 1 (default: N)")
    parser.add_argument("--max-iter", type=int, default=1500, help="SLSQP iterations if a model is trained")
    args = parser.parse_args(argv)
    use_headless_backend()
    import matplotlib.pyplot as plt

    out = OutputDir(args.out, lab="scenario_safety")
    n = sample_size(args.eps, args.beta, args.d, method=args.bound)
    n_exact = sample_size(args.eps, args.beta, args.d, method="exact")
    n_post = n if args.posterior is None else args.posterior
    model, model_source = identified_model(args.model, args.max_iter, args.seed, out)
    check_plant_flows(model, args.rho_u, model_source)
    if args.horizon <= TRANSIENT:
        print(f"note: --horizon {args.horizon} <= {TRANSIENT}: rho_y* after the first {TRANSIENT} steps "
              "is not computed (null in results.json)")
    nx = model.params.n_units
    print_kv("scenario approach:", {
        "eps, beta, d": f"{args.eps:g}, {args.beta:g}, {args.d}",
        f"N ({args.bound} bound)": n, "N (exact binomial bound)": n_exact,
        "horizon [steps]": args.horizon, "model": model_source,
    })

    rng = np.random.default_rng(args.seed)
    rows, timing = [], {"lstm_diagram_s": 0.0, "lstm_matrix_s": 0.0, "plant_diagram_s": 0.0, "posterior_s": 0.0}
    bar = _progress(len(args.rho_u))
    example = None
    start_all = time.perf_counter()
    for rho in args.rho_u:
        cls = ScenarioClass(rho, horizon=args.horizon)
        scenarios = draw_scenarios(n, cls, nx, rng)
        t0 = time.perf_counter()
        y_diagram = lstm_through_diagram(model, scenarios)
        t1 = time.perf_counter()
        y_matrix = simulate(model.params, scenarios.u, scenarios.h0, scenarios.c0, form="statespace").y
        t2 = time.perf_counter()
        y_plant = plant_through_diagram(model, scenarios.u)
        t3 = time.perf_counter()
        rho_y = scenario_bound(y_diagram)
        fresh = draw_scenarios(n_post, cls, nx, rng)
        y_fresh = simulate(model.params, fresh.u, fresh.h0, fresh.c0, form="statespace").y
        violations = count_violations(y_fresh, rho_y)
        estimate = violation_probability_estimate(violations, n_post)
        t4 = time.perf_counter()
        for key, dt in zip(timing, (t1 - t0, t2 - t1, t3 - t2, t4 - t3)):
            timing[key] += dt
        row = {
            "rho_u": rho, "rho_y_lstm": rho_y, "rho_y_lstm_matrix": scenario_bound(y_matrix),
            "rho_y_lstm_after_transient": after_transient(y_diagram),
            "diagram_vs_matrix_max_abs": float(np.max(np.abs(y_diagram - y_matrix))),
            "rho_y_plant": scenario_bound(y_plant),
            "plant_block_vs_simulator_max_abs": plant_simulator_check(model, scenarios.u, y_plant),
            "analytic_iss_bound": float(reachable_set_bound(model.params, rho, state_box=STATE_BOX)),
            "lyapunov_bound": float(reachable_set_bound(model.params, rho, state_box=STATE_BOX, method="lyapunov")),
            "posterior": {"fresh_scenarios": n_post, "violations": violations, "p_hat": estimate.p_hat,
                          "ci99": [estimate.lower, estimate.upper],
                          "consistent_with_eps": consistent_with_eps(violations, n_post, args.eps)},
        }
        rows.append(row)
        if row["diagram_vs_matrix_max_abs"] > AGREEMENT:
            raise RuntimeError(
                f"rho_u {rho}: the batched diagram and the matrix implementation differ by "
                f"{row['diagram_vs_matrix_max_abs']:.2e} (> {AGREEMENT:g}); the diagram is wrong"
            )
        if row["plant_block_vs_simulator_max_abs"] > PLANT_AGREEMENT:
            raise RuntimeError(
                f"rho_u {rho}: the PHPLANT block and simulate_plant differ by "
                f"{row['plant_block_vs_simulator_max_abs']:.2e} (> {PLANT_AGREEMENT:g}); the plant block is wrong"
            )
        if rho == max(args.rho_u):
            example = (scenarios.u[:4, :, 0], y_diagram[:4, :, 0], y_plant[:4, :, 0])
        if bar is not None:
            bar.set_postfix(rho_u=rho, rho_y=f"{rho_y:.3f}")
            bar.update()
        else:
            print(f"  rho_u {rho:.1f}: rho_y* LSTM {rho_y:.4f}, plant {row['rho_y_plant']:.4f}, "
                  f"analytic {row['analytic_iss_bound']:.3f}, diagram-matrix {row['diagram_vs_matrix_max_abs']:.1e}, "
                  f"posterior {violations}/{n_post} violations")
    if bar is not None:
        bar.close()
    timing["total_s"] = time.perf_counter() - start_all
    timing["lstm_diagram_share"] = timing["lstm_diagram_s"] / timing["total_s"]
    timing["diagrams_share"] = (timing["lstm_diagram_s"] + timing["plant_diagram_s"]) / timing["total_s"]

    print(f"  {'rho_u':>5}  {'LSTM':>8}  {'k>=50':>8}  {'plant':>8}  {'interval':>8}  {'Lyapunov':>8}"
          f"  {'diag-mat':>8}  violations")
    for r in rows:
        late = r["rho_y_lstm_after_transient"]
        print(f"  {r['rho_u']:5.1f}  {r['rho_y_lstm']:8.4f}  {'n/a' if late is None else f'{late:8.4f}':>8}"
              f"  {r['rho_y_plant']:8.4f}  {r['analytic_iss_bound']:8.3f}  {r['lyapunov_bound']:8.3f}"
              f"  {r['diagram_vs_matrix_max_abs']:8.1e}  {r['posterior']['violations']}/{n_post}")
    print_kv("timing:", {k: (f"{v:.1f}" if k.endswith("_s") else f"{v:.0%}") for k, v in timing.items()})

    rho_u = np.array([r["rho_u"] for r in rows])
    fig, ax = plt.subplots(figsize=(6.5, 4.5))
    ax.plot(rho_u, [r["rho_y_lstm"] for r in rows], "o-", color="tab:red", label="LSTM (scenario bound)")
    if args.horizon > TRANSIENT:
        ax.plot(rho_u, [r["rho_y_lstm_after_transient"] for r in rows], "o:", color="tab:red", alpha=0.6,
                label=f"LSTM after the first {TRANSIENT} steps")
    ax.plot(rho_u, [r["rho_y_plant"] for r in rows], "s-", color="tab:blue", label="plant (same scenarios)")
    ax.plot(rho_u, [r["analytic_iss_bound"] for r in rows], "k--", label="analytic interval bound (LSTM, guaranteed)")
    ax.plot(rho_u, [r["lyapunov_bound"] for r in rows], "-.", color="tab:purple",
            label="ISS-Lyapunov bound, V = |x|_1 + |xi|_1 (paper's proof)")
    ax.axhline(trivial_output_bound(model.params), color="0.6", ls=":", label="trivial bound |C| + |b_y|")
    ax.set_xlabel(r"$\rho_u$ (input amplitude, normalised)")
    ax.set_ylabel(r"$\rho_y^*$ (output bound, normalised)")
    ax.set_title(f"output reachable set, N = {n} scenarios (eps = {args.eps:g}, beta = {args.beta:g})", fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    out.savefig(fig, "scenario_safety_fig3b")
    plt.close(fig)

    u_ex, y_ex, p_ex = example
    t = np.arange(u_ex.shape[1]) * model.Ts
    fig, axes = plt.subplots(2, 1, figsize=(9, 5), sharex=True)
    for k in range(u_ex.shape[0]):
        axes[0].step(t, u_ex[k], where="post", lw=0.8)
        axes[1].plot(t, y_ex[k], lw=0.8, color=f"C{k}")
        axes[1].plot(t, p_ex[k], lw=0.6, ls=":", color=f"C{k}")
    axes[0].set_ylabel("u (normalised)")
    axes[0].set_title(f"example scenarios, rho_u = {max(args.rho_u):g} (solid: LSTM, dotted: plant)", fontsize=10)
    axes[1].set_ylabel("y (normalised)")
    axes[1].set_xlabel("t [s]")
    for ax in axes:
        ax.grid(alpha=0.3)
    out.savefig(fig, "scenario_safety_fig3a")
    plt.close(fig)

    results = {
        "eps": args.eps, "beta": args.beta, "d": args.d, "bound": args.bound, "N": n, "N_exact": n_exact,
        "horizon": args.horizon, "seed": args.seed, "model": model_source,
        "sweep": rows, "timing": timing,
        "trivial_output_bound": float(trivial_output_bound(model.params)),
    }
    out.write_results(results)
    return results


if __name__ == "__main__":
    main()
