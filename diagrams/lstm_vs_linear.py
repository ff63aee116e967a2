# %% [markdown]
# # Lab 3: how well can an LSTM imitate a linear system?
#
# Take a linear discrete-time system $x(k+1) = A x(k) + B u(k)$, $y(k) = C x(k) + D u(k)$ with $n$ states and
# $m$ inputs. Section 2 and 3 of Campa's "LSTM as a dynamical system" compute, from $(A, B, C, D)$ alone,
# the weights of an LSTM with $N_n = n + m$ units that behaves like the system, as closely as we like.
#
# **Why it works.** Three choices turn the LSTM into a linear recursion:
#
# 1. *Pin the gates.* Biases of $+100$ on the input and output gates and $-100$ on the forget gate
#    make $i = \sigma(100) \approx 1$, $o \approx 1$ and $f = \sigma(-100) \approx 0$, whatever the input.
#    The cell forgets everything at every step: $c(k) = g(k) = \tanh(z_g(k))$, and $h(k) = \tanh(c(k))$.
#    The inner loop is cut; only the outer loop, through the $g$ gate, remains.
# 2. *Put the system in the $g$ gate.* $z_g(k) = \mathrm{scale}\,[B;\ I]\,u(k) + [A\ 0;\ 0\ 0]\,h(k-1)$.
#    If $\tanh$ were the identity, the first $n$ entries of $h$ would follow
#    $h_x(k) = A\,h_x(k-1) + \mathrm{scale}\,B\,u(k)$, that is $h_x(k) = \mathrm{scale}\cdot x(k+1)$: the state
#    update itself, one step ahead; the last $m$ entries carry $\mathrm{scale}\cdot u(k)$.
# 3. *Stay where $\tanh$ is linear.* $\tanh(v) = v - v^3/3 + \dots$: with a small scale ($10^{-3}$) every
#    signal inside is small and $\tanh(v) \approx v$. The output layer scales back and recovers
#    $y(k)$: $F = [C A^{-1},\ D - C A^{-1} B] / \mathrm{scale}$ gives
#    $F h = C A^{-1} x(k+1) + (D - C A^{-1} B) u(k) = C x(k) + D u(k)$ ($A$ must be invertible).
#
# The leftover is the cubic term of $\tanh$: relative to the signal it is of order $\mathrm{scale}^2$, so
# the error falls like $\mathrm{scale}^2$ (a hundred times smaller for every factor 10), until
# double-precision round-off, amplified by the output weights $\propto 1/\mathrm{scale}$, takes over. And
# tripling the input multiplies a cubic error by 27, not 3: the *linearity test*.
#
# With only $N_n = n$ units there is no unit to carry $u(k)$: then $F = C A^{-1} / \mathrm{scale}$, and the
# network realises $(A, B, C, C A^{-1} B)$: it replaces $D$ by $C A^{-1} B$.
#
# The reference system: a zero at $-4$, poles $-9 \pm 5j$ and $-2 \pm 50j$, gain $5 \cdot 10^5$, sampled with a
# zero-order hold every 0.01 s; 51 samples of random normal input, zero initial state. The linear
# system (a `DSS` block) and the LSTM (primitive blocks) sit in **one** diagram, driven by the same input.
#
# *This file is a notebook and a script:* `lstmds notebook lstm_vs_linear --out DIR`, or
# `lstmds run lstm_vs_linear --out DIR`.

# %%
"""Lab 3: how well can an LSTM imitate a linear system? Weights computed from (A, B, C, D).

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

import numpy as np

from lstmds_sim import run
from lstmds_sim.core.diagram import add_lstm_layer
from lstmds_sim.core.engine import blockdiagram
from lstmds_sim.core.progress import task
from lstmds_sim.diagrams import print_files
from lstmds_sim.drawing.lstm_figures import accuracy_vs_scale, linear_imitation, systems_pzmap
from lstmds_sim.io.exercise import answered, check_answer, keep, sci  # noqa: F401  (the notebook's exercises)
from lstmds_sim.io.lab import lab_parser, print_kv, use_headless_backend
from lstmds_sim.io.outdir import OutputDir
from lstmds_sim.learning.experiments import round_trip
from lstmds_sim.systems.lstm_linear import lstm_from_linear, reproduced_system
from lstmds_sim.systems.lti import describe
from lstmds_sim.systems.reference import reference_system

TS = 0.01
N_SAMPLES = 51  # t = 0:Ts:50*Ts
SCALE = 1e-3
SCALES = (1e-1, 1e-2, 1e-3, 1e-4, 1e-5, 1e-6, 1e-7)


def lab_options():
    """The lab's options (``--out``, ``--seed``); ``lab_options().parse_args([])`` gives the defaults."""
    return lab_parser("lstm_vs_linear", __doc__)


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


def live_params(bd, system=None):
    """The sliders of the live page (``lstmds live lstm_vs_linear``): the scale of the computed weights, as a
    power of 10 (every weight recomputed from the system's matrices, the error growing like scale^2), and the
    input's amplitude (a cubic error: 3u gives 27 times the error)."""
    import functools

    from lstmds_sim.drawing.live import Slider, input_amplitude, layer_blocks

    system = system if system is not None else reference_system(TS)
    blocks = layer_blocks(bd)

    @functools.lru_cache(maxsize=4)
    def weights(log_scale):
        return lstm_from_linear(system, scale=10.0 ** log_scale)

    moved = [(blocks[f"{key}_{g}"], lambda v, _, g=g, k=k: weights(v).gate(g)[k])
             for g in "ifgo" for k, key in enumerate("WRb")]
    moved += [(blocks[key], lambda v, _, key=key: getattr(weights(v), key)) for key in ("F", "bF") if key in blocks]
    scale = Slider("log10_scale", "scale of the computed weights, log10 (the error grows like scale\u00b2)",
                   -6.0, -0.5, float(np.log10(SCALE)), 0.1, blocks=tuple(moved))
    return [scale, input_amplitude(bd, end=5.0)]


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


def other_constructions(u, system) -> dict:
    """What the construction gives beside the lab's own (docs/results.md quotes it): with Nn = n units, the D it
    puts in place of the system's (C A^-1 B) and its error against the original system; in the balanced
    realisation (the training labs'), the error at the same scale."""
    nn = lstm_from_linear(system, scale=SCALE, units="n")
    y_true, y_net = respond(u, nn, system)
    balanced = reference_system(system.dt, realization="balanced")
    y_bal, y_bal_net = respond(u, lstm_from_linear(balanced, scale=SCALE), balanced)
    return {
        "nn_equals_n": {"D_in_place_of_D": float(reproduced_system(system, units="n").D[0, 0]),
                        "norm_difference_vs_original": float(np.linalg.norm(y_net - y_true))},
        "balanced_norm_difference": float(np.linalg.norm(y_bal_net - y_bal)),
    }


def print_accuracy(table: list[dict]) -> None:
    print("error against scale (the LSTM reproduces the system to any accuracy, like scale^2):")
    print(f"  {'scale':>7}  {'Nn = n+m':>10} {'ratio':>7}  {'Nn = n':>10} {'ratio':>7}")
    for row in table:
        print(f"  {row['scale']:7.0e}  {row['error_n+m']:10.3e} {row.get('ratio_n+m', float('nan')):7.1f}"
              f"  {row['error_n']:10.3e} {row.get('ratio_n', float('nan')):7.1f}")


# %% [markdown]
# ## Build the diagram and look at it
#
# Top: the input, the linear system as one `DSS` block (discrete state space), its recorder. Below:
# the LSTM drawn from primitive blocks, with the computed weights in its gains. In the picture the
# LSTM keeps both its loops: the inner loop is still drawn, its gain (the forget gate) is just
# $\approx 0$.

# %% active="ipynb"
# from lstmds_sim.drawing.inline import picture
#
# args = lab_options().parse_args([])
# system = reference_system(TS)  # a discrete StateSpace, dt = TS
# info = describe(system)
# params = lstm_from_linear(system, scale=SCALE)
# u = np.random.default_rng(args.seed).standard_normal((N_SAMPLES, 1))
# t = np.arange(N_SAMPLES) * TS
# print(f"reference system: {info['zpk']}; LSTM units: {params.n_units}")
# picture(build_diagram(u, params, system), "linear reference (DSS) and LSTM with computed weights, same input")

# %% [markdown]
# ## Run it, for u and for 3u

# %% active="ipynb"
# y_true, y_net = respond(u, params, system)
# y3_true, y3_net = respond(3 * u, params, system)
# difference, difference3 = np.linalg.norm(y_net - y_true), np.linalg.norm(y3_net - y3_true)
# linear_imitation(t, y_true, y_net, y3_true, y3_net, difference=difference, difference3=difference3);
# print(f"error {difference:.3e}, output norm {np.linalg.norm(y_true):.1f}; with 3u the error is "
#       f"{difference3 / difference:.1f} times larger")
# keep(error=sci(difference, 1), y_norm=np.linalg.norm(y_true), ratio3=difference3 / difference)  # for the text below

# %% [markdown]
# The outputs cannot be told apart: the error, ${{error}}$ on an output of norm {{y_norm:.0f}}, shows only on
# the log scale of the bottom panel. With $3u$ it is {{ratio3:.1f}} times larger, against the $3^3 = 27$ of
# a purely cubic error: the cubic term of $\tanh$.
#
# ## Compare: the error against the scale, and the system read back from the weights

# %% active="ipynb"
# table = accuracy_table(u, system)
# print_accuracy(table)
# accuracy_vs_scale(table, n=info["n_states"], m=info["n_inputs"]);
# on_the_line = [row for row in table[1:]  # a factor 100 per decade, within 5 %, for both constructions
#                if all(abs(row[f"ratio_{units}"] / 100 - 1) < 0.05 for units in ("n+m", "n"))]
# keep(decades=len(on_the_line), round_off=sci(table[-1]["error_n+m"], 0))  # for the text below

# %% [markdown]
# Both constructions follow the $\mathrm{scale}^2$ line (within 5 % of a factor 100 per decade) over
# {{decades}} decades, until round-off (${{round_off}}$ at the smallest scale) stops them. The $N_n = n$
# row is measured against the system it really realises, $(A, B, C, C A^{-1} B)$.
#
# Reading the system back from the weights (the round trip system $\to$ weights $\to$ system):
# $A_{nn} = R_g$, $B_{nn} = W_g / \mathrm{scale}$, $C_{nn} = \mathrm{scale}\,F A_{nn}$,
# $D_{nn} = \mathrm{scale}\,F B_{nn}$. It has $n + m = 5$ states: the fifth is the unit that carries the
# input, and adds a pole and a zero at the origin that cancel. The zoomed inset separates the poles
# and the zero that crowd near $z = 1$.

# %% active="ipynb"
# trip = round_trip(system, params, scale=SCALE)
# print_kv("round trip system -> weights -> system:", {
#     "extracted zpk": trip["extracted"]["zpk"],
#     "max |H_back - H| / max |H|": trip["max_relative_frequency_response_difference"]})
# systems_pzmap({"true": info, "from weights": trip["extracted"]},
#               title="true system vs system extracted from the weights");
# zero_near = max(re for re, im in info["zeros"] if abs(im) < 1e-12 and abs(re) < 1)  # the zero nearest 1
# pole_near = min(info["poles"], key=lambda pole: abs(complex(*pole) - zero_near))  # the poles beside it
# keep(zero_near=zero_near, pole_re=pole_near[0], pole_im=abs(pole_near[1]))  # for the text below

# %% [markdown]
# In the inset: the true system's zero at $z = {{zero_near:.3f}}$ and its poles at
# ${{pole_re:.3f}} \pm {{pole_im:.3f}}j$ (the extracted system's zeros and poles are printed above).

# %% [markdown]
# ## Inspect the run
#
# The signal inspector shows the linear system and the LSTM side by side (their outputs overlaid)
# as one page: click a wire to plot its signal (Shift+click adds another, to overlay them), drag
# the step slider to watch every wire's value, and read the loops (docs/inspector.md; `lstmds
# inspect lstm_vs_linear` writes the same page from a terminal).

# %% active="ipynb"
# from lstmds_sim import inspect, live
#
# diagram = build_diagram(u, params, system)
# inspect(diagram)

# %% [markdown]
# **Live parameters.** The slider sets the scale of the computed weights (as a power of 10; every
# weight is recomputed from $(A, B, C, D)$), a second one the input's amplitude: watch the two
# outputs part as the scale grows (the cubic term of $\tanh$), and the same with a larger input.
# Each move simulates the whole run again (the diagram was compiled once; a move is one call of
# the compiled program) and the traces, the values on the wires and the loops' gains follow. The
# page is served by this kernel on localhost, so it is live while the kernel runs, in a browser on
# the same machine; `lstmds live lstm_vs_linear` serves it from a terminal.

# %% active="ipynb"
# live(diagram, params=live_params(diagram))

# %% [markdown]
# ## The lab as a script

# %%
def main(argv=None) -> dict:
    args = lab_options().parse_args(argv)
    use_headless_backend()

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
    trip = round_trip(system, params, scale=SCALE)

    print("reference system (zero-order hold, Ts = 0.01 s):")
    print_kv(f"  {info['zpk']}", {
        "D": info["D"][0][0], "steady-state gain C (I-A)^-1 B + D": info["steady_state_gain"][0][0],
        "LSTM units (n + m)": params.n_units,
    })
    print_kv(f"LSTM with weights from (A, B, C, D), scale {SCALE:g}:", {
        "norm(y_net - y_true)": difference, "norm(y_true)": float(np.linalg.norm(y_true)),
        "linearity test: norm(net(3u) - 3 y)": difference3, "ratio to the 1u error": difference3 / difference,
    })
    print_accuracy(table)
    extracted = trip["extracted"]
    print_kv("round trip system -> weights -> system:", {
        "extracted order": extracted["n_states"],
        "extracted zpk": extracted["zpk"],
        "extracted D": extracted["D"][0][0],
        "extracted steady-state gain": extracted["steady_state_gain"][0][0],
        "max |H_back - H| / max |H|": trip["max_relative_frequency_response_difference"],
    })

    with task("writing the figures", 5, unit="figure") as progress:
        import matplotlib.pyplot as plt  # a second or more: part of the figures' step

        fig = linear_imitation(t, y_true, y_net, y3_true, y3_net, difference=difference, difference3=difference3)
        out.savefig(fig, "lstm_vs_linear_response")
        plt.close(fig)
        progress.show(1)
        fig = accuracy_vs_scale(table, n=info["n_states"], m=info["n_inputs"])
        out.savefig(fig, "lstm_vs_linear_accuracy")
        plt.close(fig)
        progress.show(2)
        fig = systems_pzmap({"true": info, "from weights": extracted},
                            title="true system vs system extracted from the weights")
        out.savefig(fig, "lstm_vs_linear_pzmap")
        plt.close(fig)
        progress.show(3)
        out.render(build_diagram(u, params, system), "lstm_vs_linear_diagram",
                   title="linear reference (DSS) and LSTM with computed weights, same input")
        progress.show(4)
        out.write_inspector(build_diagram(u, params, system), stem="lstm_vs_linear_inspector", optional=True)
        progress.show(5)

    results = {
        "Ts": TS, "samples": N_SAMPLES, "scale": SCALE, "seed": args.seed,
        "reference_system": info,
        "norm_difference": difference,
        "norm_y_true": float(np.linalg.norm(y_true)),
        "linearity_test": {"norm_difference_3u": difference3, "ratio": difference3 / difference},
        "accuracy_table": table,
        "round_trip": trip,
        "n_units": params.n_units,
        **other_constructions(u, system),
    }
    out.write_results(results)
    print_files(out)
    return results


# %% [markdown]
# ## Exercises
#
# Predict first, then run the cell. Where the answer is a number, write it in the answer cell; the cell
# after it takes it down, and nbgrader's autograder checks the value (the teacher's edition shows the
# check). The solutions are in the teacher's edition (`lstmds notebook lstm_vs_linear`), collapsed; the
# student's edition (`lstmds notebook lstm_vs_linear --student`) has none.
#
# **1. Predict the error at scale $3 \cdot 10^{-4}$,** a scale the table above does not list, from the
# error at $10^{-3}$ (printed above) and the rule the table follows. Write it in the answer cell; the
# check compares it with a run at that scale, within 2 %. The cell after the check tries any scale.

# %% active="ipynb" tags=["answer"]
# # The norm of the difference at scale 3e-4 (Nn = n + m units, input u):
# ANSWER_1 = None
# ### BEGIN SOLUTION
# ANSWER_1 = difference * (3e-4 / SCALE) ** 2  # the error falls like scale^2
# ### END SOLUTION

# %% active="ipynb" tags=["check"]
# answered("ANSWER_1", ANSWER_1)
# ### BEGIN HIDDEN TESTS
# y_t, y_n = respond(u, lstm_from_linear(system, scale=3e-4), system)
# error_3e4 = np.linalg.norm(y_n - y_t)
# check_answer("ANSWER_1", ANSWER_1, error_3e4, rtol=0.02)
# ### END HIDDEN TESTS

# %% active="ipynb" tags=["predict"]
# SCALE_EXERCISE = 3e-4  # try 3e-2, 3e-6, 3e-8
#
# y_t, y_n = respond(u, lstm_from_linear(system, scale=SCALE_EXERCISE), system)
# print(f"scale {SCALE_EXERCISE:g}: norm of the difference {np.linalg.norm(y_n - y_t):.3e} "
#       f"({np.linalg.norm(y_n - y_t) / difference:.4f} times the error at scale {SCALE:g})")

# %% tags=["solution"] jupyter={"source_hidden": true, "outputs_hidden": true} active="ipynb"
# # Solution 1: the rule, the run, and where the rule ends
# square_law = [row["scale"] for row in table[1:] if abs(row["ratio_n+m"] / 100 - 1) < 0.05]
# keep(error_1e3=sci(difference), factor=(3e-4 / SCALE) ** 2, predicted=sci(difference * (3e-4 / SCALE) ** 2),
#      measured=sci(error_3e4), ratio=error_3e4 / difference, last_square=sci(min(square_law), 0),
#      eps=sci(np.finfo(float).eps, 1), floor=sci(table[-1]["error_n+m"], 1))

# %% [markdown] tags=["solution"] jupyter={"source_hidden": true}
# **Solution 1.**
#
# The error falls like $\mathrm{scale}^2$: a scale $0.3$ times as large gives $0.3^2 = {{factor:.2f}}$ times the
# error, ${{error_1e3}} \to {{predicted}}$. The run gives ${{measured}}$, {{ratio:.4f}} times the error at
# $10^{-3}$. The rule holds down to a scale of about ${{last_square}}$ (the table's ratio of 100 from one
# row to the next); below it the round-off of the signals inside (${{eps}}$ relative, per operation),
# multiplied by output weights of order $1/\mathrm{scale}$, is larger than the $\tanh$ error, and the
# error stops falling, at ${{floor}}$ for $10^{-7}$.

# %% [markdown]
# **2. Open the forget gate.** Set the forget gate's bias from $-100$ to $0$, so that $f = \sigma(0) = 1/2$.
# Predict: does the LSTM still imitate the system? What does the cell state do now? Then run the cell.

# %% active="ipynb" tags=["predict"]
# n_units = params.n_units
# b = params.b.copy()
# b[n_units:2 * n_units] = 0.0  # the forget gate's rows of the stacked bias [i; f; g; o]
# opened = run(build_diagram(u, params.replace(b=b), system), probes=["lstm/h"])
# error_open = np.linalg.norm(opened.recorders["net"] - opened.recorders["true"])
# print(f"forget-gate bias 0: norm of the difference {error_open:.3e} "
#       f"(output norm {np.linalg.norm(opened.recorders['true']):.1f})")

# %% tags=["solution"] jupyter={"source_hidden": true, "outputs_hidden": true} active="ipynb"
# # Solution 2: the two loops, shut and open
# shut = run(build_diagram(u, params, system), probes=["lstm/h"])
# h_shut = np.abs(np.asarray(shut["lstm/h"])).max()
# h_open = np.abs(np.asarray(opened["lstm/h"])).max(axis=1)  # the largest unit, step by step
# A_g = params.gate("g")[1]  # the g gate's recurrent weights: A, padded with zeros
# rho_open = np.abs(np.linalg.eigvals(A_g + np.eye(n_units) / 2)).max()  # the two loops together, linearised
# assert rho_open > 1, "the text below says the network is unstable"
# k_half = next(k for k in range(len(h_open)) if (h_open[k:] > 0.5).all())
# keep(error_shut=sci(difference), error_open=sci(error_open, 1), y_norm=np.linalg.norm(y_true),
#      poles_A=np.abs(np.linalg.eigvals(A_g)).max(), rho_open=rho_open,
#      h_shut=h_shut, k_half=k_half, h_last=h_open[-1], F_max=sci(np.abs(params.F).max(), 0))

# %% [markdown] tags=["solution"] jupyter={"source_hidden": true}
# **Solution 2.**
#
# No, not at all: the error jumps from ${{error_shut}}$ to ${{error_open}}$, on an output of norm
# {{y_norm:.0f}}. With $f = 1/2$ the inner loop is back: $c(k) = \tfrac12\,c(k-1) + i \odot g(k)$. While the
# signals are small ($h \approx c$, $i \approx o \approx 1$) the two loops add up:
# $h(k) \approx (A + \tfrac12 I)\,h(k-1) + \mathrm{scale}\,B\,u(k)$ in the first $n$ units. The outer loop
# carried $A$, whose poles have a modulus of at most {{poles_A:.2f}}; the eigenvalues of $A + \tfrac12 I$ reach
# {{rho_open:.2f}}, outside the unit circle: the network is **unstable**. Its hidden state, never above
# {{h_shut:.4f}} with the gate shut, grows step after step (above 0.5 from step {{k_half}} on) until $\tanh$
# saturates, at {{h_last:.2f}} in the last step: far outside the linear region. The output weights (up to
# ${{F_max}}$ here: $1/\mathrm{scale}$ times the large $C A^{-1}$ of this realisation) turn that into the
# huge error. The computed weights work only because the forget gate is shut.

# %% [markdown]
# **3. Five times the input.** Predict the error for the input $5u$ from the $1u$ error (printed above)
# and the cubic term of $\tanh$. Write it in the answer cell; the check compares it with a run, within 2 %.

# %% active="ipynb" tags=["answer"]
# # The norm of the difference for the input 5u (scale 1e-3):
# ANSWER_3 = None
# ### BEGIN SOLUTION
# ANSWER_3 = 5**3 * difference  # a cubic error: 5 times the input, 125 times the error
# ### END SOLUTION

# %% active="ipynb" tags=["check"]
# answered("ANSWER_3", ANSWER_3)
# ### BEGIN HIDDEN TESTS
# y_t, y_n = respond(5 * u, params, system)
# error_5u = np.linalg.norm(y_n - y_t)
# check_answer("ANSWER_3", ANSWER_3, error_5u, rtol=0.02)
# ### END HIDDEN TESTS

# %% active="ipynb" tags=["predict"]
# AMPLITUDE = 5  # try 10, 30, 100
#
# y_t, y_n = respond(AMPLITUDE * u, params, system)
# print(f"{AMPLITUDE}u: norm of the difference {np.linalg.norm(y_n - y_t):.3e}, "
#       f"{np.linalg.norm(y_n - y_t) / difference:,.1f} times the 1u error")

# %% tags=["solution"] jupyter={"source_hidden": true, "outputs_hidden": true} active="ipynb"
# # Solution 3: the cubic rule, and a much larger input
# y_t, y_n = respond(100 * u, params, system)
# assert np.linalg.norm(y_n - y_t) / difference < 100**3, "the text below says the fifth-order term pulls the other way"
# keep(predicted=sci(125 * difference), measured=sci(error_5u), ratio5=error_5u / difference,
#      ratio100=np.linalg.norm(y_n - y_t) / difference)

# %% [markdown] tags=["solution"] jupyter={"source_hidden": true}
# **Solution 3.**
#
# The error comes from the $v^3/3$ term of $\tanh$: five times the input, $5^3 = 125$ times the error,
# ${{predicted}}$. The run gives ${{measured}}$, {{ratio5:.1f}} times the $1u$ error. For much larger
# inputs the signals leave the region where the cubic term is all that counts: with $100u$ the error is
# {{ratio100:,.0f}} times the $1u$ error, not $100^3 = 1{,}000{,}000$ times, because the next term of
# $\tanh$, $+2v^5/15$, pulls the other way. That is where the "linear region" ends.

# %% active="py"
if __name__ == "__main__":
    main()
