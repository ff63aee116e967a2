"""Lab 1: the LSTM layer as a block diagram, next to the same network computed with matrices.

Section 1 of the "LSTM as a dynamical system" example: Nn = 3 units, Ni = 4
inputs, No = 2 outputs, Ts = 0.1 s, 51 samples; W, R, b, F, h0 and c0 uniform
in (0, 1); input randn. The diagram is drawn from primitive blocks (gains,
sums, sigmoid/tanh, Hadamard products, two unit delays) and cross-checked,
signal by signal and step by step, against the matrix implementation.

Run:  lstmds run lstm_layer --out out/lstm_layer
"""

from __future__ import annotations

import time

import numpy as np

from lstmds_sim import LSTMParams, run, simulate
from lstmds_sim.core.crosscheck import crosscheck
from lstmds_sim.core.diagram import lstm_diagram
from lstmds_sim.io.lab import lab_parser, print_kv, use_headless_backend
from lstmds_sim.io.outdir import OutputDir

N_UNITS, N_INPUTS, N_OUTPUTS = 3, 4, 2
TS = 0.1
N_SAMPLES = 51  # t = 0:Ts:50*Ts


def example(seed: int = 0):
    """The example's network, initial states and input (numpy's RNG, not MATLAB's: the numbers differ)."""
    rng = np.random.default_rng(seed)
    params = LSTMParams.random(N_INPUTS, N_UNITS, N_OUTPUTS, rng=rng)  # W, R, b, F ~ U(0, 1); bF = 0
    h0 = rng.uniform(size=N_UNITS)
    c0 = rng.uniform(size=N_UNITS)
    u = rng.standard_normal((N_SAMPLES, N_INPUTS))
    return params, h0, c0, u


def build_diagram(seed: int = 0):
    """The lab's diagram: SEQUENCE u -> LSTM layer (primitive blocks) -> RECORDER y."""
    params, h0, c0, u = example(seed)
    bd, _ = lstm_diagram(params, u, Ts=TS, h0=h0, c0=c0, name="lstm_layer")
    return bd


def main(argv=None) -> dict:
    args = lab_parser("lstm_layer", __doc__).parse_args(argv)
    use_headless_backend()
    import matplotlib.pyplot as plt

    out = OutputDir(args.out, lab="lstm_layer")
    params, h0, c0, u = example(args.seed)
    t = np.arange(N_SAMPLES) * TS

    bd = build_diagram(args.seed)
    start = time.perf_counter()
    y_diagram = run(bd).recorders["y"]
    diagram_s = time.perf_counter() - start
    start = time.perf_counter()
    y_matrix = simulate(params, u, h0, c0).y
    matrix_s = time.perf_counter() - start
    difference = float(np.linalg.norm(y_diagram - y_matrix))
    check = crosscheck(params, u, h0=h0, c0=c0, Ts=TS)

    print(f"LSTM layer: Nn = {N_UNITS} units, Ni = {N_INPUTS} inputs, No = {N_OUTPUTS} outputs, "
          f"{params.n_params} parameters, {len(bd.blocklist)} blocks, {N_SAMPLES} samples at Ts = {TS} s")
    print("first five output samples (y1, y2):")
    print("  k   block diagram             matrix implementation")
    for k in range(5):
        print(f"  {k}   {y_diagram[k, 0]: .12f} {y_diagram[k, 1]: .12f}   {y_matrix[k, 0]: .12f} {y_matrix[k, 1]: .12f}")
    name, worst = check.worst
    print_kv("comparison:", {
        "norm(y_diagram - y_matrix)": difference,
        f"largest step-by-step error ({name})": worst,
        "diagram run [ms]": diagram_s * 1e3,
        "matrix run [ms]": matrix_s * 1e3,
    })

    fig, axes = plt.subplots(N_OUTPUTS, 1, sharex=True, figsize=(8, 5))
    for j, ax in enumerate(axes):
        ax.step(t, y_matrix[:, j], where="post", color="tab:blue", lw=2.5, alpha=0.5, label="matrix implementation")
        ax.step(t, y_diagram[:, j], where="post", color="k", lw=1, ls="--", label="block diagram")
        ax.set_ylabel(f"y{j + 1}")
        ax.grid(alpha=0.3)
    axes[0].legend(loc="upper right")
    axes[0].set_title(f"LSTM layer output, diagram vs matrices: norm of difference {difference:.2e}")
    axes[-1].set_xlabel("t [s]")
    out.savefig(fig, "lstm_layer_output")
    plt.close(fig)

    out.render(bd, "lstm_layer_diagram", title="LSTM layer: inner loop (cell state) and outer loop (hidden state)")

    results = {
        "sizes": {"Nn": N_UNITS, "Ni": N_INPUTS, "No": N_OUTPUTS, "Ts": TS, "samples": N_SAMPLES, "seed": args.seed},
        "n_params": params.n_params,
        "n_blocks": len(bd.blocklist),
        "first_five_outputs": {"diagram": y_diagram[:5], "matrix": y_matrix[:5]},
        "norm_difference": difference,
        "crosscheck_max_abs_error": check.errors,
        "timing_s": {"diagram": diagram_s, "matrix": matrix_s},
    }
    path = out.write_results(results)
    print(f"figures and {path.name} written to {out.root}/")
    return results


if __name__ == "__main__":
    main()
