# %% [markdown]
# # Lab 1: the LSTM layer as a block diagram
#
# An LSTM layer is a nonlinear discrete-time dynamical system. At every step $k$ it reads an input
# $u(k)$ (here $N_i = 4$ numbers) and its own two states from the step before, the hidden state
# $h(k-1)$ and the cell state $c(k-1)$ ($N_n = 3$ numbers each, one per unit), and computes
#
# $$
# \begin{aligned}
# z(k) &= W\,u(k) + R\,h(k-1) + b &&\text{four gate inputs, stacked } [z_i;\ z_f;\ z_g;\ z_o]\\
# i &= \sigma(z_i),\ f = \sigma(z_f),\ g = \tanh(z_g),\ o = \sigma(z_o) &&\text{input, forget, candidate, output}\\
# c(k) &= f \odot c(k-1) + i \odot g &&\text{the cell state}\\
# h(k) &= o \odot \tanh(c(k)) &&\text{the hidden state}\\
# y(k) &= F\,h(k) + b_F &&\text{the output layer}
# \end{aligned}
# $$
#
# with $\sigma(x) = 1/(1 + e^{-x})$, a number between 0 and 1, and $\odot$ the element-wise product.
# The gates are soft switches: $f$ says how much of the old cell state to keep, $i$ how much of the
# candidate $g$ to write, $o$ how much of the cell to show.
#
# Drawn as a block diagram (gains, sums, sigmoid and tanh blocks, products and two unit delays), the
# layer has **two feedback loops**:
#
# * the **inner loop**, through the delay *cell state*: $c(k-1) \to \times f \to + \to c(k)$. Its gain is
#   the forget gate $f$, always between 0 and 1: the loop contracts and old content fades, the
#   faster the smaller $f$. With $f$ close to 1 it is an integrator: it remembers.
# * the **outer loop**, through the delay *hidden state*: $h(k-1) \to R \to$ every gate $\to c \to \tanh
#   \to \times o \to h(k)$. Its gain runs through the recurrent weights $R$.
#
# This lab draws the layer of the MATLAB example "LSTM as a dynamical system" (Campa, section 1):
# $N_n = 3$ units, $N_i = 4$ inputs, $N_o = 2$ outputs, sample time 0.1 s, 51 samples, every weight and
# both initial states uniform in (0, 1), a random normal input. We build the diagram, look at it, run
# it, look at the two loops at work, and compare the diagram, signal by signal and step by step, with
# the same network computed with matrices.
#
# *This file is a notebook and a script.* `lstmds notebook lstm_layer --out DIR` writes it as an
# executed notebook; `lstmds run lstm_layer --out DIR` (or `python diagrams/lstm_layer.py`) runs
# `main()` below and writes the figures and `results.json`.

# %%
"""Lab 1: the LSTM layer as a block diagram, next to the same network computed with matrices.

Section 1 of the "LSTM as a dynamical system" example: Nn = 3 units, Ni = 4
inputs, No = 2 outputs, Ts = 0.1 s, 51 samples; W, R, b, F, h0 and c0 uniform
in (0, 1); input randn. The diagram is drawn from primitive blocks (gains,
sums, sigmoid/tanh, Hadamard products, two unit delays) and cross-checked,
signal by signal and step by step, against the matrix implementation.

Run:  lstmds run lstm_layer --out out/lstm_layer
"""

import time

import numpy as np

from lstmds_sim import LSTMParams, run, simulate
from lstmds_sim.core.crosscheck import crosscheck
from lstmds_sim.core.diagram import lstm_diagram
from lstmds_sim.core.progress import task
from lstmds_sim.diagrams import print_files
from lstmds_sim.drawing.lstm_figures import diagram_vs_matrices, loop_signals
from lstmds_sim.io.exercise import answered, check_answer, keep, sci  # noqa: F401  (the notebook's exercises and text)
from lstmds_sim.io.lab import lab_parser, print_kv, use_headless_backend
from lstmds_sim.io.outdir import OutputDir

N_UNITS, N_INPUTS, N_OUTPUTS = 3, 4, 2
TS = 0.1
N_SAMPLES = 51  # t = 0:Ts:50*Ts
PROBES = ("c", "h", "f")  # the two states and the inner loop's gain


def lab_options():
    """The lab's options (``--out``, ``--seed``); ``lab_options().parse_args([])`` gives the defaults."""
    return lab_parser("lstm_layer", __doc__)


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


def live_params(bd):
    """The sliders of the live page (``lstmds live lstm_layer``, ``lstmds_sim.live(bd, params=live_params(bd))``):
    offsets added to the forget- and input-gate biases, a scale of the recurrent weights R, the input's amplitude."""
    from lstmds_sim.drawing.live import gate_bias, input_amplitude, recurrent_scale

    return [gate_bias(bd, "f", name="forget_bias", start=-6.0, end=10.0), gate_bias(bd, "i", name="input_bias"),
            recurrent_scale(bd), input_amplitude(bd)]


# %% [markdown]
# ## Build the diagram and look at it
#
# `build_diagram()` draws the layer from primitive blocks: a gain per weight matrix and gate, a sum
# per gate, the activations, the three element-wise products, the sum that makes the new cell state,
# and the two unit delays whose names, *cell state* and *hidden state*, name the two loops. The
# picture colours each feedback loop; its legend names the delay that closes it.

# %% active="ipynb"
# from lstmds_sim.drawing.inline import picture
#
# args = lab_options().parse_args([])  # the script's defaults
# params, h0, c0, u = example(args.seed)
# diagram = build_diagram(args.seed)
# t = np.arange(N_SAMPLES) * TS
# print(f"{len(diagram.blocklist)} blocks, {params.n_params} parameters")
# picture(diagram, "LSTM layer: inner loop (cell state) and outer loop (hidden state)")

# %% [markdown]
# ## Run it
#
# `run` steps the diagram exactly like a Simulink model with a fixed step: at every sample it
# computes every block's output, then the delays take their new state. Every wire has a name, so
# any signal can be recorded ("probed"): here the cell state `c`, the hidden state `h` and the forget
# gate `f`, the inner loop's gain.

# %% active="ipynb"
# result = run(diagram, probes=PROBES)
# y_diagram = result.recorders["y"]
# loop_signals(t, result["c"], result["h"], result["f"], title="the two loops at work, unit by unit");
# keep(f_min=result["f"].min(), f_max=result["f"].max())  # for the text below

# %% [markdown]
# Look at the middle panel: the forget gate moves between about {{f_min:.2f}} and {{f_max:.2f}}. The inner loop
# always contracts, sometimes hard (the cell forgets nearly everything in one step), sometimes
# hardly at all; so the cell state follows the input without piling it up. The hidden state
# $h = o \odot \tanh(c)$ is squeezed into (-1, 1); it is mostly positive here because every weight is.
#
# ## Compare with the matrices
#
# The same network computed with matrices (`simulate`, plain numpy, written independently of the
# diagram) must give the same output. `crosscheck` goes further: it compares every signal inside
# the layer (gate inputs, gates, products, states) at every step.

# %% active="ipynb"
# y_matrix = simulate(params, u, h0, c0).y
# diagram_vs_matrices(t, y_matrix, y_diagram, title="LSTM layer output: diagram vs matrices");
# check = crosscheck(params, u, h0=h0, c0=c0, Ts=TS)
# print(check.table())
# signal, worst = check.worst
# keep(worst=sci(worst, 1), worst_signal=signal,
#      agree="the two computations agree to the last bits of double precision" if worst < 1e-12 else
#      "more than round-off: the table names the signal where the two computations part")

# %% [markdown]
# The largest difference, over every signal and step, is ${{worst}}$ (in `{{worst_signal}}`): {{agree}}.
# (MATLAB's example shows about $10^{-7}$ only because its toolbox computes in single precision.)

# %% [markdown]
# ## Inspect the run
#
# The signal inspector shows this run as one page: click a wire to plot its signal (Shift+click
# adds another, to overlay them), drag the step slider to watch every wire's value, and read the
# loops and each loop's Theorem 4 gain on its lane (docs/inspector.md; `lstmds inspect lstm_layer`
# writes the same page from a terminal).

# %% active="ipynb"
# from lstmds_sim import inspect, live
#
# inspect(diagram)

# %% [markdown]
# **Live parameters.** The sliders move the forget- and input-gate biases (an offset added to
# $b_f$, $b_i$), scale the recurrent weights $R$ (the outer loop) and the input's amplitude. Push
# the forget-gate bias up, as in exercise 1, and watch $f$, the cell state and the inner loop's
# gain. Each move simulates the whole run again (the diagram was compiled once; a move is one call
# of the compiled program) and the traces, the values on the wires and the loops' gains follow.
# The page is served by this kernel on localhost, so it is live while the kernel runs, in a
# browser on the same machine; `lstmds live lstm_layer` serves it from a terminal.

# %% active="ipynb"
# live(diagram, params=live_params(diagram))

# %% [markdown]
# ## The lab as a script
#
# `main()` does all of the above and writes the figures and `results.json` into its output folder.

# %%
def main(argv=None) -> dict:
    args = lab_options().parse_args(argv)
    use_headless_backend()

    out = OutputDir(args.out, lab="lstm_layer")
    params, h0, c0, u = example(args.seed)
    t = np.arange(N_SAMPLES) * TS

    bd = build_diagram(args.seed)
    start = time.perf_counter()
    result = run(bd, probes=PROBES)
    diagram_s = time.perf_counter() - start
    y_diagram = result.recorders["y"]
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
        print(f"  {k}   {y_diagram[k, 0]: .12f} {y_diagram[k, 1]: .12f}"
              f"   {y_matrix[k, 0]: .12f} {y_matrix[k, 1]: .12f}")
    name, worst = check.worst
    print_kv("comparison:", {
        "norm(y_diagram - y_matrix)": difference,
        f"largest step-by-step error ({name})": worst,
        "diagram run [ms]": diagram_s * 1e3,
        "matrix run [ms]": matrix_s * 1e3,
    })

    with task("writing the figures", 4, unit="figure") as progress:
        import matplotlib.pyplot as plt  # a second or more: part of the figures' step

        fig = diagram_vs_matrices(t, y_matrix, y_diagram,
                                  title=f"LSTM layer output, diagram vs matrices: norm of difference {difference:.2e}")
        out.savefig(fig, "lstm_layer_output")
        plt.close(fig)
        progress.show(1)
        fig = loop_signals(t, result["c"], result["h"], result["f"], title="the two loops at work, unit by unit")
        out.savefig(fig, "lstm_layer_loops")
        plt.close(fig)
        progress.show(2)
        out.render(bd, "lstm_layer_diagram",
                   title="LSTM layer: inner loop (cell state) and outer loop (hidden state)")
        progress.show(3)
        out.write_inspector(bd, stem="lstm_layer_inspector", optional=True)  # click a wire, scrub the steps
        progress.show(4)

    results = {
        "sizes": {"Nn": N_UNITS, "Ni": N_INPUTS, "No": N_OUTPUTS, "Ts": TS, "samples": N_SAMPLES, "seed": args.seed},
        "n_params": params.n_params,
        "n_blocks": len(bd.blocklist),
        "first_five_outputs": {"diagram": y_diagram[:5], "matrix": y_matrix[:5]},
        "norm_difference": difference,
        "crosscheck_max_abs_error": check.errors,
        "timing_s": {"diagram": diagram_s, "matrix": matrix_s},
        "forget_gate_range": [float(result["f"].min()), float(result["f"].max())],
    }
    out.write_results(results)
    print_files(out)
    return results


# %% [markdown]
# ## Exercises
#
# Each exercise changes a few values in the cell below it. Predict first, then run the cell. Where the
# answer is a number, write it in the answer cell; the cell after it takes it down, and nbgrader's
# autograder checks the value (the teacher's edition shows the check). The solutions are in the teacher's
# edition (`lstmds notebook lstm_layer`), collapsed; the student's edition (`lstmds notebook lstm_layer
# --student`) has none.
#
# **1. Stop the inner loop from contracting.** Add a constant to the forget gate's bias $b_f$ (rows
# $N_n \ldots 2N_n - 1$ of `b`) and run again. How large must the extra bias be before $f > 0.99$ at
# every step? What does the cell state do then, and why?

# %% active="ipynb"
# EXTRA_FORGET_BIAS = 0.0  # try 2, 5, 10
#
# b = params.b.copy()
# b[N_UNITS:2 * N_UNITS] += EXTRA_FORGET_BIAS
# changed = run(lstm_diagram(params.replace(b=b), u, Ts=TS, h0=h0, c0=c0)[0], probes=PROBES)
# print(f"smallest forget gate {changed['f'].min():.4f}, largest |c| {np.abs(changed['c']).max():.2f}")
# loop_signals(t, changed["c"], changed["h"], changed["f"], title=f"forget-gate bias + {EXTRA_FORGET_BIAS:g}");

# %% active="ipynb" tags=["answer"]
# # The smallest extra forget-gate bias that makes f > 0.99 at every step (to one decimal):
# ANSWER_1 = None
# ### BEGIN SOLUTION
# z_f = np.log(result["f"] / (1 - result["f"]))  # the gate's input is logit(f)
# ANSWER_1 = round(float(np.log(99) - z_f.min()), 1)
# ### END SOLUTION

# %% active="ipynb" tags=["check"]
# answered("ANSWER_1", ANSWER_1)
# ### BEGIN HIDDEN TESTS
# z_f_min = float(np.log(result["f"] / (1 - result["f"])).min())
# check_answer("ANSWER_1", ANSWER_1, np.log(99) - z_f_min, atol=0.1)
# ### END HIDDEN TESTS

# %% tags=["solution"] jupyter={"source_hidden": true, "outputs_hidden": true} active="ipynb"
# # Solution 1: the runs behind it
# ends = {}
# for extra in (0, 2, 5, 10):
#     b = params.b.copy()
#     b[N_UNITS:2 * N_UNITS] += extra
#     r = run(lstm_diagram(params.replace(b=b), u, Ts=TS, h0=h0, c0=c0)[0], probes=PROBES)
#     ends[extra] = r
#     print(f"extra bias {extra:>2}: smallest f {r['f'].min():.4f}, c at the end {np.round(r['c'][-1], 2)}")
# keep(ln99=np.log(99), z_f_min=z_f_min, needed=np.log(99) - z_f_min,
#      f_min_5=ends[5]["f"].min(), f_min_10=ends[10]["f"].min(),
#      c_end_10=np.abs(ends[10]["c"]).max(), c_max_0=np.abs(ends[0]["c"]).max())

# %% [markdown] tags=["solution"] jupyter={"source_hidden": true}
# **Solution 1.**
#
# $f = \sigma(z_f)$, and $\sigma(x) > 0.99$ needs $x > \ln 99 \approx {{ln99:.2f}}$. The smallest $z_f$ of
# the original run is {{z_f_min:.2f}} (the input is random normal and can push a gate input below zero),
# so the extra bias must be about {{needed:.1f}} before $f > 0.99$ at every step: at +5 the smallest $f$
# is still {{f_min_5:.2f}}, at +10 it is {{f_min_10:.4f}}. Then $c(k) \approx c(k-1) + i \odot g$: the inner
# loop is (almost) an integrator with its pole at 1, and the cell state **adds up** $i \odot g$ instead
# of forgetting it. Here $g$ is mostly positive (positive weights), so $c$ climbs step after step, to
# {{c_end_10:.0f}} at +10 instead of staying below {{c_max_0:.1f}}; $h = o \odot \tanh(c)$ saturates at $o$
# and the output stops following the input. A forget gate near 1 is how an LSTM remembers for a long
# time, and also why its cell state can drift.

# %% [markdown]
# **2. Count before you compute.** The printout above counts the parameters of this layer with its
# output layer, for $N_n = 3$. How many has the same layer with twice as many units, $N_n = 6$?
# Predict the number, write it in the answer cell, then run the cell below it to see.

# %% active="ipynb" tags=["answer"]
# # The number of parameters for Nn = 6 (with the output layer):
# ANSWER_2 = None
# ### BEGIN SOLUTION
# UNITS = 2 * N_UNITS
# ANSWER_2 = 4 * UNITS * N_INPUTS + 4 * UNITS**2 + 4 * UNITS + N_OUTPUTS * UNITS + N_OUTPUTS
# ### END SOLUTION

# %% active="ipynb" tags=["check"]
# answered("ANSWER_2", ANSWER_2)
# ### BEGIN HIDDEN TESTS
# check_answer("ANSWER_2", ANSWER_2, LSTMParams.random(N_INPUTS, 2 * N_UNITS, N_OUTPUTS, rng=0).n_params, rtol=0)
# ### END HIDDEN TESTS

# %% tags=["solution"] jupyter={"source_hidden": true, "outputs_hidden": true} active="ipynb"
# # Solution 2: the terms of the count
# def terms(n):
#     return 4 * n * N_INPUTS, 4 * n**2, 4 * n, N_OUTPUTS * n + N_OUTPUTS
# keep(**{f"{k}{n}": v for n in (3, 6) for k, v in zip(("W", "R", "b", "F"), terms(n))},
#      n3=params.n_params, n6=LSTMParams.random(N_INPUTS, 6, N_OUTPUTS, rng=0).n_params)

# %% [markdown] tags=["solution"] jupyter={"source_hidden": true}
# **Solution 2.**
#
# Per layer $4 N_n N_i$ (W) $+ 4 N_n^2$ (R) $+ 4 N_n$ (b), plus the output layer $N_o N_n + N_o$: for
# $N_n = 3$: ${{W3}} + {{R3}} + {{b3}} + {{F3}} = {{n3}}$. For $N_n = 6$: ${{W6}} + {{R6}} + {{b6}} + {{F6}} = {{n6}}$.
# Doubling the units almost triples the count: the recurrent weights grow with $N_n^2$ (lab 2,
# `lstm_stack`, follows this up).

# %% [markdown]
# **3. Open the outer loop.** Set the recurrent weights to zero, `R = 0`. Which loop is left? Does
# the output change much? Predict first, then run the cell.

# %% active="ipynb" tags=["predict"]
# open_outer = run(lstm_diagram(params.replace(R=np.zeros_like(params.R)), u, Ts=TS, h0=h0, c0=c0)[0])
# change = np.linalg.norm(open_outer.recorders["y"] - y_diagram)
# print(f"norm of the change of y: {change:.3f} (norm of y: {np.linalg.norm(y_diagram):.3f})")

# %% tags=["solution"] jupyter={"source_hidden": true, "outputs_hidden": true} active="ipynb"
# # Solution 3: the numbers it quotes
# z_gates = params.R @ np.asarray(result["h"]).T  # what R h added to every gate input, step by step
# keep(change=change, y_norm=np.linalg.norm(y_diagram), share=100 * change / np.linalg.norm(y_diagram),
#      rh_max=z_gates.max())

# %% [markdown] tags=["solution"] jupyter={"source_hidden": true}
# **Solution 3.**
#
# With $R = 0$ the gates see only the input: $h(k-1)$ no longer feeds anything inside the layer, so
# the outer loop's gain is zero (the diagram still draws its wires: the R gains are there, with zeros
# in them). The inner loop remains: $c(k) = f(u(k)) \odot c(k-1) + \ldots$ still remembers. The output
# changes a lot, by {{share:.0f}} % of its norm ({{change:.1f}} against {{y_norm:.1f}}): with positive weights and
# $h$ mostly positive, $R\,h$ had raised every gate input by up to {{rh_max:.1f}}.

# %% active="py"
if __name__ == "__main__":
    main()
