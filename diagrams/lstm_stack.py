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
# all four gates of every unit. Two layers of 100 units already hold more than a hundred thousand
# weights (the table below counts them).
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
from lstmds_sim.core.progress import task
from lstmds_sim.diagrams import print_files
from lstmds_sim.drawing.lstm_figures import diagram_vs_matrices
from lstmds_sim.io.exercise import answered, check_answer, keep  # noqa: F401  (the notebook's exercises)
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
# table = parameter_table()
# print_table(table)
# row100 = next(row for row in table if row["Ni"] == row["Nn"] == 100)  # the second of two 100-unit layers
# keep(R100=row100["R"], W100=row100["W"], two_layers=2 * row100["R"] + row100["W"])

# %% [markdown]
# Two layers of 100 units hold {{R100:,}} recurrent weights each, and the second layer's {{W100:,}} input
# weights: {{two_layers:,}} before the first layer's input weights and the biases.

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
    with task("writing the figures", 3, unit="figure") as progress:
        import matplotlib.pyplot as plt  # a second or more: part of the figures' step

        fig = diagram_vs_matrices(t, y_matrix, y_diagram,
                                  title=f"two stacked LSTM layers: norm of difference {difference:.2e}")
        out.savefig(fig, "lstm_stack_output")
        plt.close(fig)
        progress.show(1)
        out.render(bd, "lstm_stack_diagram", title="two LSTM layers in series: each layer has its own two loops")
        progress.show(2)
        out.write_inspector(bd, stem="lstm_stack_inspector", optional=True)  # click a wire, scrub the steps
        progress.show(3)

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
# Predict first, then run the cell. Where the answer is a number, write it in the answer cell; the cell
# after it takes it down, and nbgrader's autograder checks the value (the teacher's edition shows the
# check). The solutions are in the teacher's edition (`lstmds notebook lstm_stack`), collapsed; the
# student's edition (`lstmds notebook lstm_stack --student`) has none.
#
# **1. Count before you compute.** A network of three LSTM layers of 64 units reads 10 inputs. How many
# parameters do its LSTM layers have (without an output layer)? Write your count in the answer cell;
# then check your count with `count_params(Ni, Nn)`.

# %% active="ipynb" tags=["answer"]
# # The parameters of the three LSTM layers (64 units each, 10 inputs):
# ANSWER_1 = None
# ### BEGIN SOLUTION
# first_layer = 4 * 64 * 10 + 4 * 64**2 + 4 * 64
# next_layer = 4 * 64 * 64 + 4 * 64**2 + 4 * 64
# ANSWER_1 = first_layer + 2 * next_layer
# ### END SOLUTION

# %% active="ipynb" tags=["check"]
# answered("ANSWER_1", ANSWER_1)
# ### BEGIN HIDDEN TESTS
# check_answer("ANSWER_1", ANSWER_1, count_params(10, 64) + 2 * count_params(64, 64), rtol=0)
# ### END HIDDEN TESTS

# %% tags=["solution"] jupyter={"source_hidden": true, "outputs_hidden": true} active="ipynb"
# # Solution 1: the terms of the count
# def layer_terms(ni, nn):
#     return {"W": 4 * nn * ni, "R": 4 * nn**2, "b": 4 * nn, "total": count_params(ni, nn)}
# keep(**{f"{key}_first": value for key, value in layer_terms(10, 64).items()},
#      **{f"{key}_next": value for key, value in layer_terms(64, 64).items()},
#      total=count_params(10, 64) + 2 * count_params(64, 64), recurrent=3 * layer_terms(64, 64)["R"])

# %% [markdown] tags=["solution"] jupyter={"source_hidden": true}
# **Solution 1.**
#
# The first layer reads the 10 inputs: $4 \cdot 64 \cdot 10 + 4 \cdot 64^2 + 4 \cdot 64 = {{W_first}} + {{R_first}} +
# {{b_first}} = {{total_first}}$. The next two read the 64 hidden states of the layer before them:
# ${{W_next}} + {{R_next}} + {{b_next}} = {{total_next}}$ each. In all {{total:,}} parameters; the recurrent
# weights alone are {{recurrent:,}} of them. Only the first layer's input weights depend on the number
# of inputs: the rest grows with the square of the width.

# %% [markdown]
# **2. Where are the loops?** Every feedback loop of a diagram is closed by a unit delay. How many loops
# would a stack of **three** layers have? Write the number in the answer cell; the check builds that
# stack and counts them. Then predict: does any loop of our two-layer stack contain blocks of both
# layers? The cell after the check lists its loops.

# %% active="ipynb" tags=["answer"]
# # The number of feedback loops of a stack of three LSTM layers:
# ANSWER_2 = None
# ### BEGIN SOLUTION
# ANSWER_2 = 2 * 3  # two per layer (cell state, hidden state), none from a layer back to the one before
# ### END SOLUTION

# %% active="ipynb" tags=["check"]
# answered("ANSWER_2", ANSWER_2)
# ### BEGIN HIDDEN TESTS
# from lstmds_sim.drawing.graph import find_feedback_loops, graph_from_blockdiagram
#
# three = [layers[0], LSTMParams.random(SIZES["Nn1"], SIZES["Nn1"], rng=2), layers[1]]  # a middle layer of 5 units
# three_loops = find_feedback_loops(graph_from_blockdiagram(lstm_diagram(three, u, Ts=TS, subsystems=True)[0]))
# check_answer("ANSWER_2", ANSWER_2, len(three_loops), rtol=0)
# ### END HIDDEN TESTS

# %% active="ipynb" tags=["predict"]
# from lstmds_sim.drawing.graph import find_feedback_loops, graph_from_blockdiagram
#
# loops = find_feedback_loops(graph_from_blockdiagram(diagram))
# for loop in loops:
#     layers_in_loop = sorted({name.split("/")[0] for name in loop.nodes})
#     print(f"closed by {loop.delay!r}: {len(loop.nodes)} blocks, layers {layers_in_loop}")

# %% tags=["solution"] jupyter={"source_hidden": true, "outputs_hidden": true} active="ipynb"
# # Solution 2: the two kinds of loop
# sizes = {loop.delay.split("/")[1]: len(loop.nodes) for loop in loops}
# spanning = [loop.delay for loop in loops + three_loops if len({name.split("/")[0] for name in loop.nodes}) > 1]
# assert not spanning, f"the text below says no loop spans two layers; these do: {spanning}"
# keep(n_loops=len(loops), n_loops3=len(three_loops), cell_blocks=sizes["cell state"],
#      hidden_blocks=sizes["hidden state"])

# %% [markdown] tags=["solution"] jupyter={"source_hidden": true}
# **Solution 2.**
#
# Two per layer: {{n_loops3}} for three layers, {{n_loops}} for our two. Each layer has its cell-state loop
# ({{cell_blocks}} blocks: the delay, the product with $f$ and the sum that makes the new cell state) and its
# hidden-state loop ({{hidden_blocks}} blocks, through $R$ and every gate). None of them contains blocks of
# two layers: a layer reads the hidden state of the layer before it but never feeds back into it. This is
# why the stack is a cascade, and why a stability condition checked layer by layer is enough for the
# whole stack.

# %% [markdown]
# **3. Wider layer, bigger picture?** Make the second layer 10 units wide instead of 3. How many blocks
# does the flattened diagram have now? Write the number in the answer cell. Then predict how many
# parameters the second layer (with its output layer) has, and run the cell after the check.

# %% active="ipynb" tags=["answer"]
# # The number of blocks of the flattened diagram with a second layer of 10 units:
# ANSWER_3 = None
# ### BEGIN SOLUTION
# ANSWER_3 = len(diagram.blocklist)  # as many as with 3 units: a block carries a vector, a gain a matrix
# ### END SOLUTION

# %% active="ipynb" tags=["check"]
# answered("ANSWER_3", ANSWER_3)
# ### BEGIN HIDDEN TESTS
# wide = [layers[0], LSTMParams.random(SIZES["Nn1"], 10, SIZES["No"], rng=1)]
# wide_diagram = lstm_diagram(wide, u, Ts=TS, subsystems=True)[0]
# run(wide_diagram)  # running it flattens the subsystems
# check_answer("ANSWER_3", ANSWER_3, len(wide_diagram.blocklist), rtol=0)
# ### END HIDDEN TESTS

# %% active="ipynb" tags=["predict"]
# wide = [layers[0], LSTMParams.random(SIZES["Nn1"], 10, SIZES["No"], rng=1)]  # the second layer 10 units wide
# wide_diagram = lstm_diagram(wide, u, Ts=TS, subsystems=True)[0]
# run(wide_diagram)  # running it flattens the subsystems
# print(f"second layer: {wide[1].n_params} parameters with 10 units, {layers[1].n_params} with 3; "
#       f"blocks: {len(wide_diagram.blocklist)} and {len(diagram.blocklist)}")

# %% tags=["solution"] jupyter={"source_hidden": true, "outputs_hidden": true} active="ipynb"
# # Solution 3: the terms of the second layer's count
# def second_layer_terms(nn, ni=SIZES["Nn1"], no=SIZES["No"]):
#     return 4 * nn * ni, 4 * nn**2, 4 * nn, no * nn + no
# keep(**{f"{key}{nn}": value for nn in (3, 10) for key, value in zip(("W", "R", "b", "F"), second_layer_terms(nn))},
#      n3=layers[1].n_params, n10=wide[1].n_params, blocks=len(wide_diagram.blocklist),
#      ratio=wide[1].n_params / layers[1].n_params)

# %% [markdown] tags=["solution"] jupyter={"source_hidden": true}
# **Solution 3.**
#
# The same number of blocks, {{blocks}}: each block carries a whole vector signal and each gain a whole
# matrix, so the picture does not grow with the number of units. The parameters do: the second layer
# (its $W$, $R$, $b$ and the output layer) goes from ${{W3}} + {{R3}} + {{b3}} + {{F3}} = {{n3}}$ to
# ${{W10}} + {{R10}} + {{b10}} + {{F10}} = {{n10}}$: {{ratio:.1f}} times as many for a little more than three
# times the width, because the recurrent weights grow with its square. A diagram shows the structure;
# the weights hold the size.

# %% active="py"
if __name__ == "__main__":
    main()
