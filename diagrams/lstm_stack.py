# %% [markdown]
# # Lab 2: two LSTM layers in series
#
# Deep LSTM networks stack layers: the hidden state $h_1(k)$ of the first layer is the input of the
# second, whose output layer gives $y$. In the diagram each layer is a **subsystem block** with
# primitive blocks inside (the diagram of lab 1); the second subsystem reads the first one's output.
#
# Each layer keeps its own two loops (the cell state inside, the hidden state around the gates). No
# loop runs from the second layer back into the first: between the layers the signal only flows
# forward. So a stack is a *cascade* of two dynamical systems, and what holds for each layer
# separately (for instance the stability conditions of lab 7, one layer at a time) carries over to the
# stack.
#
# The price of width: one layer with $N_i$ inputs and $N_n$ units has
#
# $$ \underbrace{4 N_n N_i}_{W} + \underbrace{4 N_n^2}_{R} + \underbrace{4 N_n}_{b} $$
#
# parameters: quadratic in the number of units, because every unit feeds its hidden state back to
# all four gates of every unit. Two layers of 100 units hold 40,000 recurrent weights each, and the
# second layer's 40,000 input weights: 120,000 before the first layer's input weights and the biases.
#
# *This file is a notebook and a script:* `lstmds notebook lstm_stack --out DIR`, or
# `lstmds run lstm_stack --out DIR`.

# %%
"""Lab 2: two LSTM layers in series as subsystem blocks, and how the parameter count grows.

Each layer is an LSTM subsystem block (primitive blocks inside); the second
layer reads the first layer's hidden state. The diagram is cross-checked
against the matrix implementation, and the parameter-count table shows the
quadratic growth with the number of units: 4 Nn Ni + 4 Nn^2 + 4 Nn per layer.
Two layers of 100 units hold 40,000 weights in each R and another 40,000 in
the second layer's W: 120,000.

Run:  lstmds run lstm_stack --out out/lstm_stack
"""

import numpy as np

from lstmds_sim import LSTMParams, count_params, run, simulate
from lstmds_sim.core.crosscheck import crosscheck
from lstmds_sim.core.diagram import lstm_diagram
from lstmds_sim.diagrams import print_files
from lstmds_sim.drawing.lstm_figures import diagram_vs_matrices
from lstmds_sim.io.lab import lab_parser, print_kv, use_headless_backend
from lstmds_sim.io.outdir import OutputDir

TS = 0.1
N_SAMPLES = 51
SIZES = {"Ni": 4, "Nn1": 5, "Nn2": 3, "No": 2}


def lab_options():
    """The lab's options (``--out``, ``--seed``); ``lab_options().parse_args([])`` gives the defaults."""
    return lab_parser("lstm_stack", __doc__)


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


def print_table(table: list[dict]) -> None:
    print("parameters of one LSTM layer (4 Nn Ni + 4 Nn^2 + 4 Nn):")
    print(f"  {'Ni':>4} {'Nn':>4} {'W':>8} {'R':>8} {'b':>6} {'total':>8}")
    for row in table:
        print(f"  {row['Ni']:>4} {row['Nn']:>4} {row['W']:>8,} {row['R']:>8,} {row['b']:>6,} {row['total']:>8,}")


# %% [markdown]
# ## Build the diagram and look at it
#
# `lstm_diagram(layers, u, subsystems=True)` draws each layer as a subsystem; the engine flattens
# them into one diagram to run it, with the block names prefixed `lstm1/` and `lstm2/`.

# %% active="ipynb"
# from lstmds_sim.drawing.inline import picture
#
# args = lab_options().parse_args([])
# layers, u = example(args.seed)
# diagram = build_diagram(args.seed)
# picture(diagram, "two LSTM layers in series: each layer has its own two loops")

# %% [markdown]
# ## Run it and compare with the matrices
#
# The matrix implementation runs the two layers one after the other; the cross-check compares every
# signal inside both layers at every step.

# %% active="ipynb"
# t = np.arange(N_SAMPLES) * TS
# y_diagram = run(diagram).recorders["y"]
# y_matrix = simulate(layers, u).y
# diagram_vs_matrices(t, y_matrix, y_diagram, title="two stacked LSTM layers: diagram vs matrices");
# check = crosscheck(layers, u, Ts=TS, subsystems=True)
# print(f"{len(diagram.blocklist)} blocks after flattening; largest step-by-step error "
#       f"{check.worst[1]:.1e} ({check.worst[0]})")

# %% [markdown]
# ## How the parameter count grows

# %% active="ipynb"
# print_table(parameter_table())

# %% [markdown]
# ## Inspect the run
#
# The signal inspector shows this run as one page: click a wire to plot its signal (Shift+click
# adds another, to overlay them), drag the step slider to watch every wire's value, and read the
# loops and each layer's Theorem 4 gains on its two loops; collapse a layer to see its gains on
# its box (docs/inspector.md; `lstmds inspect lstm_stack` writes the same page from a terminal).

# %% active="ipynb"
# from lstmds_sim import inspect
#
# inspect(diagram)

# %% [markdown]
# ## The lab as a script

# %%
def main(argv=None) -> dict:
    args = lab_options().parse_args(argv)
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
    print_table(table)
    two_layer_100 = 2 * 4 * 100 * 100 + 4 * 100 * 100
    print(f"two layers of 100 units: R1 + R2 + W2 = {two_layer_100:,} weights "
          f"(plus W1 and the biases: {count_params(1, 100) + count_params(100, 100):,} for a scalar input)")
    name, worst = check.worst
    print_kv(f"stacked diagram ({len(bd.blocklist)} blocks after flattening the two subsystems):", {
        "norm(y_diagram - y_matrix)": difference,
        f"largest step-by-step error ({name})": worst,
        "parameters (both layers + output)": sum(layer.n_params for layer in layers),
    })

    t = np.arange(N_SAMPLES) * TS
    fig = diagram_vs_matrices(t, y_matrix, y_diagram,
                              title=f"two stacked LSTM layers: norm of difference {difference:.2e}")
    out.savefig(fig, "lstm_stack_output")
    plt.close(fig)
    out.render(bd, "lstm_stack_diagram", title="two LSTM layers in series: each layer has its own two loops")
    out.write_inspector(bd, stem="lstm_stack_inspector", optional=True)  # click a wire, scrub the steps

    results = {
        "sizes": SIZES,
        "norm_difference": difference,
        "crosscheck_max_abs_error": check.errors,
        "parameter_table": table,
        "two_layer_100_unit_R_and_W2": two_layer_100,
        "n_blocks": len(bd.blocklist),
    }
    out.write_results(results)
    print_files(out)
    return results


# %% [markdown]
# ## Exercises
#
# **1. Count before you compute.** A network of three layers of 64 units reads 10 inputs. How many
# parameters do its LSTM layers have? Predict, then check with `count_params(Ni, Nn)`.

# %% active="ipynb"
# print(count_params(10, 64) + 2 * count_params(64, 64))

# %% [markdown] tags=["solution"] jupyter={"source_hidden": true}
# **Solution 1.** First layer: $4 \cdot 64 \cdot 10 + 4 \cdot 64^2 + 4 \cdot 64 = 2560 + 16384 + 256 = 19{,}200$.
# The next two read 64 inputs each: $4 \cdot 64 \cdot 64 + 16384 + 256 = 33{,}024$ each. In all
# $19{,}200 + 2 \cdot 33{,}024 = 85{,}248$; the recurrent weights alone are $3 \cdot 16{,}384 = 49{,}152$.

# %% [markdown]
# **2. Where are the loops?** Find the feedback loops of the stacked diagram (each closed by a unit
# delay). How many do you expect, and does any loop contain blocks of both layers?

# %% active="ipynb"
# from lstmds_sim.drawing.graph import find_feedback_loops, graph_from_blockdiagram
#
# loops = find_feedback_loops(graph_from_blockdiagram(diagram))
# for loop in loops:
#     layers_in_loop = sorted({name.split("/")[0] for name in loop.nodes})
#     print(f"closed by {loop.delay!r}: {len(loop.nodes)} blocks, layers {layers_in_loop}")

# %% [markdown] tags=["solution"] jupyter={"source_hidden": true}
# **Solution 2.** Four loops: the cell-state loop and the hidden-state loop of each layer. None
# spans the two layers: layer 2 never feeds back into layer 1. This is why the stack is a cascade, and
# why a stability condition checked layer by layer is enough for the whole stack.

# %% [markdown]
# **3. Wider layer, bigger picture?** Make the second layer 10 units wide instead of 3. Predict: how
# many blocks does the flattened diagram have now, and how many parameters?

# %% active="ipynb"
# wide = [layers[0], LSTMParams.random(SIZES["Nn1"], 10, SIZES["No"], rng=1)]
# wide_diagram = lstm_diagram(wide, u, Ts=TS, subsystems=True)[0]
# wide_result = run(wide_diagram)  # running it flattens the subsystems
# print(f"blocks: {len(wide_diagram.blocklist)} (3 units: {len(diagram.blocklist)}); "
#       f"parameters: {sum(p.n_params for p in wide)} (3 units: {sum(p.n_params for p in layers)})")

# %% [markdown] tags=["solution"] jupyter={"source_hidden": true}
# **Solution 3.** The same number of blocks: each block carries a whole vector signal and each gain a
# whole matrix, so the picture does not grow with the number of units. The parameters do: the second
# layer goes from $4 \cdot 3 \cdot 5 + 4 \cdot 9 + 12 + 2 \cdot 3 + 2 = 116$ to
# $4 \cdot 10 \cdot 5 + 4 \cdot 100 + 40 + 2 \cdot 10 + 2 = 662$. A diagram shows the structure;
# the weights hold the size.

# %% active="py"
if __name__ == "__main__":
    main()
