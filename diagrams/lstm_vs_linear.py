"""Lab 2: how well can an LSTM imitate a linear system? Weights computed from (A, B, C, D).

Sections 2 and 3 of the "LSTM as a dynamical system" example. The reference
system (zero -4; poles -9+-5j, -2+-50j; gain 5e5; zero-order hold at
Ts = 0.01 s) and an LSTM whose weights are computed from its matrices
(Nn = n + m units, scale 1e-3, gate bias 100) sit in ONE diagram, driven by
the same input (51 randn samples, zero initial state). Shown: the two outputs
and the norm of their difference, the linearity test (3u against 3y), the
error shrinking like scale^2 (scale 1e-1 ... 1e-5, and on to 1e-7 where round-off takes over) for both constructions
(Nn = n + m, and Nn = n which replaces D by C A^-1 B), and the round trip
system -> weights -> system.

Run:  lstmds run lstm_vs_linear --out out/lstm_vs_linear
"""

from __future__ import annotations

import numpy as np

from lstmds_sim import run
from lstmds_sim.core.diagram import add_lstm_layer
from lstmds_sim.core.engine import blockdiagram
from lstmds_sim.io.lab import lab_parser, print_kv, use_headless_backend
from lstmds_sim.io.outdir import OutputDir
from lstmds_sim.systems.lstm_linear import (
    linear_from_lstm,
    lstm_from_linear,
    reproduced_system,
)
from lstmds_sim.systems.lti import describe, frequency_response
from lstmds_sim.systems.reference import reference_system

TS = 0.01
N_SAMPLES = 51  # t = 0:Ts:50*Ts
SCALE = 1e-3
SCALES = (1e-1, 1e-2, 1e-3, 1e-4, 1e-5, 1e-6, 1e-7)


def build_diagram(u=None, params=None, system=None):
    """u -> [linear system (DSS)] -> "true";  u -> [LSTM from primitive blocks] -> "net".

    ``system`` is a discrete ``scipy.signal.StateSpace`` (default: the reference
    plant at ``TS``); the diagram's clock runs at its sample time ``system.dt``.
    """
    if system is None:
        system = reference_system(TS)
    if params is None:
        params = lstm_from_linear(system, scale=SCALE)
    if u is None:
        u = np.random.default_rng(0).standard_normal((N_SAMPLES, system.B.shape[1]))
    bd = blockdiagram("lstm_vs_linear")
    clock = bd.clock(system.dt, "s")
    source = bd.SEQUENCE(u, clock, name="u")
    plant = bd.DSS(system, clock=clock, name="linear system")
    bd.connect(source, plant, name="u")
    bd.connect(plant, bd.RECORDER(name="true"), name="y_true")
    net = add_lstm_layer(bd, params, source, clock, prefix="lstm/")
    bd.connect(net, bd.RECORDER(name="net"), name="y_net")
    return bd


def respond(u, params, system):
    """Run the one diagram; return (y_true, y_net)."""
    result = run(build_diagram(u, params, system))
    return result.recorders["true"], result.recorders["net"]


def accuracy_table(u, system) -> list[dict]:
    """Difference norms between the LSTM and the system it imitates, per scale and construction."""
    rows = []
    for scale in SCALES:
        row = {"scale": scale}
        for units in ("n+m", "n"):
            target = reproduced_system(system, units=units)
            y_true, y_net = respond(u, lstm_from_linear(system, scale=scale, units=units), target)
            row[f"error_{units}"] = float(np.linalg.norm(y_net - y_true))
        rows.append(row)
    for previous, row in zip(rows, rows[1:]):
        for units in ("n+m", "n"):
            row[f"ratio_{units}"] = previous[f"error_{units}"] / row[f"error_{units}"]
    return rows


def round_trip(system, params, scale) -> dict:
    """system -> weights -> system: compare the frequency responses of the two."""
    extracted = linear_from_lstm(params, scale=scale, dt=system.dt)  # the LSTM runs at the system's dt
    w = np.logspace(-1, np.log10(np.pi / system.dt), 200)
    H = frequency_response(system, w)
    H_back = frequency_response(extracted, w)
    return {
        "extracted": describe(extracted),
        "max_relative_frequency_response_difference": float(np.max(np.abs(H_back - H)) / np.max(np.abs(H))),
    }


def main(argv=None) -> dict:
    args = lab_parser("lstm_vs_linear", __doc__).parse_args(argv)
    use_headless_backend()
    import matplotlib.pyplot as plt

    from lstmds_sim.drawing.plots import pzmap, stairs

    out = OutputDir(args.out, lab="lstm_vs_linear")
    system = reference_system(TS)  # a discrete StateSpace, dt = TS
    info = describe(system)
    params = lstm_from_linear(system, scale=SCALE)
    u = np.random.default_rng(args.seed).standard_normal((N_SAMPLES, 1))
    t = np.arange(N_SAMPLES) * TS

    y_true, y_net = respond(u, params, system)
    difference = float(np.linalg.norm(y_net - y_true))
    y3_true, y3_net = respond(3 * u, params, system)
    difference3 = float(np.linalg.norm(y3_net - y3_true))
    table = accuracy_table(u, system)
    trip = round_trip(system, params, SCALE)

    print("reference system (zero-order hold, Ts = 0.01 s):")
    print_kv(f"  {info['zpk']}", {
        "D": info["D"][0][0], "steady-state gain C (I-A)^-1 B + D": info["steady_state_gain"][0][0],
        "LSTM units (n + m)": params.n_units,
    })
    print_kv(f"LSTM with weights from (A, B, C, D), scale {SCALE:g}:", {
        "norm(y_net - y_true)": difference, "norm(y_true)": float(np.linalg.norm(y_true)),
        "linearity test: norm(net(3u) - 3 y)": difference3, "ratio to the 1u error": difference3 / difference,
    })
    print("error against scale (the LSTM reproduces the system to any accuracy, like scale^2):")
    print(f"  {'scale':>7}  {'Nn = n+m':>10} {'ratio':>7}  {'Nn = n':>10} {'ratio':>7}")
    for row in table:
        print(f"  {row['scale']:7.0e}  {row['error_n+m']:10.3e} {row.get('ratio_n+m', float('nan')):7.1f}"
              f"  {row['error_n']:10.3e} {row.get('ratio_n', float('nan')):7.1f}")
    extracted = trip["extracted"]
    print_kv("round trip system -> weights -> system:", {
        "extracted order": extracted["n_states"],
        "extracted zpk": extracted["zpk"],
        "extracted D": extracted["D"][0][0],
        "extracted steady-state gain": extracted["steady_state_gain"][0][0],
        "max |H_back - H| / max |H|": trip["max_relative_frequency_response_difference"],
    })

    fig, axes = plt.subplots(2, 1, figsize=(8, 6), sharex=True)
    stairs(axes[0], t, {"true": y_true[:, 0], "net": y_net[:, 0]},
           title=f"linear system vs LSTM with computed weights: norm of difference {difference:.2e}", ylabel="y")
    stairs(axes[1], t, {"3 y (true)": y3_true[:, 0], "net(3u)": y3_net[:, 0]},
           title=f"linearity test, input 3u: norm of difference {difference3:.2e}", ylabel="y")
    axes[1].set_xlabel("t [s]")
    out.savefig(fig, "lstm_vs_linear_response")
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(6, 4.5))
    scales = np.array([row["scale"] for row in table])
    for units, marker in (("n+m", "o"), ("n", "s")):
        ax.loglog(scales, [row[f"error_{units}"] for row in table], marker=marker, label=f"Nn = {units}")
    ax.loglog(scales, table[2]["error_n+m"] * (scales / scales[2]) ** 2, "k:", label="slope 2 (scale$^2$)")
    ax.set_xlabel("scale")
    ax.set_ylabel("norm(y_net - y_true)")
    ax.set_title("LSTM imitating a linear system: error vs scale", fontsize=10)
    ax.grid(alpha=0.3, which="both")
    ax.legend()
    out.savefig(fig, "lstm_vs_linear_accuracy")
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(5.5, 5))
    zp = lambda d: ([complex(*z) for z in d["zeros"]], [complex(*p) for p in d["poles"]])
    pzmap(ax, {"true": zp(info), "from weights": zp(extracted)}, title="true system vs system extracted from the weights")
    out.savefig(fig, "lstm_vs_linear_pzmap")
    plt.close(fig)

    out.render(build_diagram(u, params, system), "lstm_vs_linear_diagram",
               title="linear reference (DSS) and LSTM with computed weights, same input")

    results = {
        "Ts": TS, "samples": N_SAMPLES, "scale": SCALE, "seed": args.seed,
        "reference_system": info,
        "norm_difference": difference,
        "norm_y_true": float(np.linalg.norm(y_true)),
        "linearity_test": {"norm_difference_3u": difference3, "ratio": difference3 / difference},
        "accuracy_table": table,
        "round_trip": trip,
    }
    out.write_results(results)
    return results


if __name__ == "__main__":
    main()
