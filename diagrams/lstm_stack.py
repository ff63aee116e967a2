"""Lab 1b: two LSTM layers in series as subsystem blocks, and how the parameter count grows.

Each layer is an LSTM subsystem block (primitive blocks inside); the second
layer reads the first layer's hidden state. The diagram is cross-checked
against the matrix implementation, and the parameter-count table shows the
quadratic growth with the number of units: 4 Nn Ni + 4 Nn^2 + 4 Nn per layer.
Two layers of 100 units hold 40,000 weights in each R and another 40,000 in
the second layer's W: 120,000.

Run:  lstmds run lstm_stack --out out/lstm_stack
"""

from __future__ import annotations

import numpy as np

from lstmds_sim import LSTMParams, count_params, run, simulate
from lstmds_sim.core.crosscheck import crosscheck
from lstmds_sim.core.diagram import lstm_diagram
from lstmds_sim.io.lab import lab_parser, print_kv, use_headless_backend
from lstmds_sim.io.outdir import OutputDir

TS = 0.1
N_SAMPLES = 51
SIZES = {"Ni": 4, "Nn1": 5, "Nn2": 3, "No": 2}


def example(seed: int = 0):
    rng = np.random.default_rng(seed)
    first = LSTMParams.random(SIZES["Ni"], SIZES["Nn1"], rng=rng)  # passes h on: no output layer
    second = LSTMParams.random(SIZES["Nn1"], SIZES["Nn2"], SIZES["No"], rng=rng)
    u = rng.standard_normal((N_SAMPLES, SIZES["Ni"]))
    return [first, second], u


def build_diagram(seed: int = 0):
    layers, u = example(seed)
    bd, _ = lstm_diagram(layers, u, Ts=TS, subsystems=True, name="lstm_stack")
    return bd


def parameter_table(rows=((1, 5), (4, 3), (1, 10), (1, 100), (100, 100))) -> list[dict]:
    """Parameters of one layer for some (Ni, Nn): input weights, recurrent weights, biases, total."""
    return [
        {"Ni": ni, "Nn": nn, "W": 4 * nn * ni, "R": 4 * nn * nn, "b": 4 * nn, "total": count_params(ni, nn)}
        for ni, nn in rows
    ]


def main(argv=None) -> dict:
    args = lab_parser("lstm_stack", __doc__).parse_args(argv)
    use_headless_backend()
    import matplotlib.pyplot as plt

    out = OutputDir(args.out, lab="lstm_stack")
    layers, u = example(args.seed)
    bd = build_diagram(args.seed)
    y_diagram = run(bd).recorders["y"]
    y_matrix = simulate(layers, u).y
    difference = float(np.linalg.norm(y_diagram - y_matrix))
    check = crosscheck(layers, u, Ts=TS, subsystems=True)

    table = parameter_table()
    print("parameters of one LSTM layer (4 Nn Ni + 4 Nn^2 + 4 Nn):")
    print(f"  {'Ni':>4} {'Nn':>4} {'W':>8} {'R':>8} {'b':>6} {'total':>8}")
    for row in table:
        print(f"  {row['Ni']:>4} {row['Nn']:>4} {row['W']:>8,} {row['R']:>8,} {row['b']:>6,} {row['total']:>8,}")
    two_layer_100 = 2 * 4 * 100 * 100 + 4 * 100 * 100
    print(f"two layers of 100 units: R1 + R2 + W2 = {two_layer_100:,} weights "
          f"(plus W1 and the biases: {count_params(1, 100) + count_params(100, 100):,} for a scalar input)")
    name, worst = check.worst
    print_kv(f"stacked diagram ({len(bd.blocklist)} blocks after flattening the two subsystems):", {
        "norm(y_diagram - y_matrix)": difference,
        f"largest step-by-step error ({name})": worst,
        "parameters (both layers + output)": sum(L.n_params for L in layers),
    })

    fig, ax = plt.subplots(figsize=(8, 3.5))
    t = np.arange(N_SAMPLES) * TS
    for j in range(SIZES["No"]):
        ax.step(t, y_matrix[:, j], where="post", lw=2.5, alpha=0.5, label=f"y{j + 1} matrices")
        ax.step(t, y_diagram[:, j], where="post", color="k", lw=1, ls="--", label=f"y{j + 1} diagram")
    ax.set_title(f"two stacked LSTM layers: norm of difference {difference:.2e}")
    ax.set_xlabel("t [s]")
    ax.legend(ncol=2, fontsize=8)
    ax.grid(alpha=0.3)
    out.savefig(fig, "lstm_stack_output")
    plt.close(fig)
    out.render(bd, "lstm_stack_diagram", title="two LSTM layers in series: each layer has its own two loops")

    results = {
        "sizes": SIZES,
        "norm_difference": difference,
        "crosscheck_max_abs_error": check.errors,
        "parameter_table": table,
        "two_layer_100_unit_R_and_W2": two_layer_100,
    }
    out.write_results(results)
    return results


if __name__ == "__main__":
    main()
