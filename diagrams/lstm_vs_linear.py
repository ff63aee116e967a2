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
from lstmds_sim.diagrams import print_files
from lstmds_sim.drawing.lstm_figures import accuracy_vs_scale, linear_imitation, systems_pzmap
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

# %% [markdown]
# The outputs cannot be told apart: the error, about $10^{-6}$ on an output of norm 50, shows only on
# the log scale of the bottom panel. With $3u$ it is 27 times larger: the cubic term of $\tanh$.
#
# ## Compare: the error against the scale, and the system read back from the weights

# %% active="ipynb"
# table = accuracy_table(u, system)
# print_accuracy(table)
# accuracy_vs_scale(table, n=info["n_states"], m=info["n_inputs"]);

# %% [markdown]
# Both constructions follow the $\mathrm{scale}^2$ line over five decades, until round-off (about
# $10^{-14}$) stops them. The $N_n = n$ row is measured against the system it really realises,
# $(A, B, C, C A^{-1} B)$.
#
# Reading the system back from the weights (the round trip system $\to$ weights $\to$ system):
# $A_{nn} = R_g$, $B_{nn} = W_g / \mathrm{scale}$, $C_{nn} = \mathrm{scale}\,F A_{nn}$,
# $D_{nn} = \mathrm{scale}\,F B_{nn}$. It has $n + m = 5$ states: the fifth is the unit that carries the
# input, and adds a pole and a zero at the origin that cancel. The zoomed inset separates the poles
# and the zero near $z = 0.9$ to $0.96$.

# %% active="ipynb"
# trip = round_trip(system, params, scale=SCALE)
# print_kv("round trip system -> weights -> system:", {
#     "extracted zpk": trip["extracted"]["zpk"],
#     "max |H_back - H| / max |H|": trip["max_relative_frequency_response_difference"]})
# systems_pzmap({"true": info, "from weights": trip["extracted"]},
#               title="true system vs system extracted from the weights");

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
    import matplotlib.pyplot as plt

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

    fig = linear_imitation(t, y_true, y_net, y3_true, y3_net, difference=difference, difference3=difference3)
    out.savefig(fig, "lstm_vs_linear_response")
    plt.close(fig)
    fig = accuracy_vs_scale(table, n=info["n_states"], m=info["n_inputs"])
    out.savefig(fig, "lstm_vs_linear_accuracy")
    plt.close(fig)
    fig = systems_pzmap({"true": info, "from weights": extracted},
                        title="true system vs system extracted from the weights")
    out.savefig(fig, "lstm_vs_linear_pzmap")
    plt.close(fig)
    out.render(build_diagram(u, params, system), "lstm_vs_linear_diagram",
               title="linear reference (DSS) and LSTM with computed weights, same input")
    out.write_inspector(build_diagram(u, params, system), stem="lstm_vs_linear_inspector", optional=True)

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
    print_files(out)
    return results


# %% [markdown]
# ## Exercises
#
# **1. Predict the error at scale $10^{-4}$** before running: the error at $10^{-3}$ is printed above.

# %% active="ipynb"
# SCALE_EXERCISE = 1e-4
#
# y_t, y_n = respond(u, lstm_from_linear(system, scale=SCALE_EXERCISE), system)
# print(f"scale {SCALE_EXERCISE:g}: norm of the difference {np.linalg.norm(y_n - y_t):.3e}")

# %% [markdown] tags=["solution"] jupyter={"source_hidden": true}
# **Solution 1.** The error falls like $\mathrm{scale}^2$: ten times smaller scale, a hundred times smaller
# error, $1.04 \cdot 10^{-6} \to 1.04 \cdot 10^{-8}$. It keeps doing so down to about $10^{-6}$; below, the
# round-off of the signals inside (about $10^{-16}$ relative), multiplied by output weights of order
# $1/\mathrm{scale}$, is larger than the $\tanh$ error.

# %% [markdown]
# **2. Open the forget gate.** Set the forget gate's bias from $-100$ to $0$, so that $f = \sigma(0) = 1/2$.
# Predict: does the LSTM still imitate the system? What does the cell state do now?

# %% active="ipynb"
# n_units = params.n_units
# b = params.b.copy()
# b[n_units:2 * n_units] = 0.0  # the forget gate's rows of the stacked bias [i; f; g; o]
# y_t, y_n = respond(u, params.replace(b=b), system)
# print(f"forget-gate bias 0: norm of the difference {np.linalg.norm(y_n - y_t):.3e} "
#       f"(output norm {np.linalg.norm(y_t):.1f})")

# %% [markdown] tags=["solution"] jupyter={"source_hidden": true}
# **Solution 2.** No, not at all: the error jumps from $10^{-6}$ to about $10^{8}$. With $f = 1/2$ the inner loop
# is back, $c(k) = \tfrac12 c(k-1) + g(k)$: a filter with its pole at $1/2$ and a gain of 2 at low
# frequencies, inside every unit of the outer loop. The outer loop carried $A$, whose poles lie at
# 0.98 and 0.91; with the extra gain it is **unstable**: the hidden state grows from about $10^{-3}$ until
# $\tanh$ saturates (near 0.96 after 50 steps), far outside the linear region, and the output weights
# (about $2 \cdot 10^9$ here: $1/\mathrm{scale}$ times the large $C$ of this realisation) turn that into
# an output of $10^8$. The computed weights work only because the forget gate is shut.

# %% [markdown]
# **3. Five times the input.** Predict the error for input $5u$ from the $1u$ error and the cubic term.

# %% active="ipynb"
# y_t, y_n = respond(5 * u, params, system)
# print(f"5u: norm of the difference {np.linalg.norm(y_n - y_t):.3e}")

# %% [markdown] tags=["solution"] jupyter={"source_hidden": true}
# **Solution 3.** The error comes from the $v^3/3$ term of $\tanh$: five times the input, $5^3 = 125$
# times the error, about $1.3 \cdot 10^{-4}$. (For much larger inputs the signals leave the region where
# the cubic term dominates and even this rule fails: that is where "linear region" ends.)

# %% active="py"
if __name__ == "__main__":
    main()
