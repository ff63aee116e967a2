# %% [markdown]
# # Lab 8: probabilistic safety verification by the scenario approach
#
# Lab 7 (`ph_identification`) gave an LSTM model of the pH plant that is certified input-to-state stable (ISS): whatever
# bounded input it gets, its state and output stay bounded. ISS says *that* the output is bounded,
# not *how large* it gets. For a safety argument we want a number: the largest output $\rho_y$ the
# model reaches for inputs of amplitude at most $\rho_u$.
#
# The **scenario approach** gets that number from simulations, with a guarantee of its own. Draw
# $N$ random input sequences (scenarios) from the class of inputs we care about, here multilevel
# pseudo-random signals with levels in $[-\rho_u, \rho_u]$ and random initial states, simulate the
# model on each and take the largest output seen, $\rho_y^* = \max_{i,k} |y_i(k)|$. Then, with
# confidence $1 - \beta$, a *new* scenario exceeds $\rho_y^*$ with probability at most $\varepsilon$,
# provided
#
# $$N \ge \frac{2}{\varepsilon}\left(\ln\frac{1}{\beta} + d\right)$$
#
# (the paper's bound (11), with $d = 1$ decision variable, the bound itself). For $\varepsilon = 10^{-2}$,
# $\beta = 10^{-6}$ (the full run's) that is a few thousand scenarios (computed below). The guarantee
# is about the *class* of scenarios, not every
# input: it is a statement of probability, checked afterwards on fresh scenarios (the posterior check).
#
# The lab runs the LSTM on the scenarios through its block diagram (batched: thousands of
# sequences in one run) and through the matrices (they must agree to $10^{-9}$), and the plant
# (`PHPLANT`) on the same inputs, for ten values of $\rho_u$: the paper's Figure 3(b). Beside the
# scenario bounds it draws two *guaranteed* bounds: the paper's ISS-Lyapunov bound and an interval
# bound propagated through the gates.
#
# *This file is a notebook and a script:* `lstmds notebook scenario_safety --out DIR`, or
# `lstmds run scenario_safety --out DIR` (also `lstmds scenario ...`).

# %%
"""Lab 8: probabilistic safety verification by the scenario approach (the paper's Figure 3b).

Bonassi et al., Section 3. For each input amplitude rho_u, N scenarios are
drawn (MPRS inputs with levels uniform in [-rho_u, rho_u], holds of 300-2000
s, 2000 steps; initial LSTM states uniform in [-0.1, 0.1]); the ISS-certified
LSTM of lab 7 is run on them, a chunk of scenarios at a time, through the
batched block diagram AND the matrix implementation (they must agree to
1e-9), and the plant block (PHPLANT, batched in its own diagram) is fed the
same inputs. rho_y* = max |y| over scenarios and time is,
with confidence 1 - beta, a bound that a new scenario exceeds with
probability at most eps (N from the paper's bound (11): 2964 for eps = 1e-2,
beta = 1e-6). A posterior check on fresh scenarios estimates the violation
probability; guaranteed bounds (the paper's ISS-Lyapunov bound, an interval bound,
and a certified bound by linear relaxations through the unrolled network) are drawn
beside the scenario bounds, with the worst case a gradient search finds below them:
the truth lies between that worst case and the certified bound.

The sweep streams: scenarios are drawn from seeded blocks and run in chunks (--chunk), each keeping
per scenario only its peak, here or on Dask (--workers, --scheduler) with the same result bit for
bit; --backend jax runs the two diagrams compiled once per process (docs/scaling.md). The
pipeline is library code: lstmds_sim.safety.scenario_diagrams (the diagrams), scenario_chunk (one
chunk, what a worker runs), scenario_sweep (the sweep and its rows); the figures are
lstmds_sim.drawing.scenario_figures.

Run:  lstmds run scenario_safety --out out/scenario_safety [--model out/ph_identification/lstm_iss_model.npz]
      lstmds scenario --eps 1e-3 --model FILE --workers 2
"""

from __future__ import annotations

import argparse
import importlib.util
import os

from lstmds_sim.core.engine import BACKENDS
from lstmds_sim.diagrams import print_files, setting
from lstmds_sim.drawing.scenario_figures import example_scenarios, reachable_set
from lstmds_sim.io.exercise import answered, check_answer, keep, sci  # noqa: F401  (the notebook's exercises and text)
from lstmds_sim.io.lab import lab_parser, positive_int, print_kv, use_headless_backend
from lstmds_sim.io.outdir import OutputDir
from lstmds_sim.learning.experiments import train_iss_model
from lstmds_sim.learning.model import IdentifiedModel
from lstmds_sim.safety.bounds import trivial_output_bound
from lstmds_sim.safety.scenario import DRAW_BLOCK, ScenarioClass, draw_scenario_range, sample_size
from lstmds_sim.safety.scenario_chunk import BOUND, TRANSIENT
from lstmds_sim.safety.scenario_diagrams import scenario_lstm_diagram
from lstmds_sim.safety.scenario_sweep import (
    EXAMPLES,
    RHO_U,
    RHO_U_MAX,
    check_plant_flows,
    plan_chunks,
    run_sweep,
    sweep_table,
)
from lstmds_sim.safety.sweep import CHUNK_BUDGET, CLUSTER_HINT, check_sweep_size

HORIZON = 2000  # steps per scenario (Ts = 10 s: 20,000 s)
MAX_ITER = 1500  # SLSQP iterations when the lab trains its model (lab 7's)
QUICK_MAX_ITER = 60  # ... with LSTMDS_QUICK=1 (build_diagram) and in the notebook's small sweep


def identified_model(path, max_iter: int, seed: int, out: OutputDir) -> tuple[IdentifiedModel, str]:
    """Load the model of lab 7, or train one the same way (:func:`train_iss_model`) and save it."""
    if path:
        return IdentifiedModel.load(path), str(path)
    print(f"no --model given: training an ISS-certified LSTM on the pH data first ({max_iter} SLSQP iterations)")
    model = train_iss_model(max_iter, seed, progress=True)
    saved = model.save(out.path("lstm_iss_model.npz"), overwrite=True)
    return model, saved.name


def build_diagram(model: IdentifiedModel | str | os.PathLike | None = None, *, rho_u: float = RHO_U_MAX,
                  scenarios: int = EXAMPLES, horizon: int = HORIZON, seed: int = 0):
    """The LSTM diagram the sweep runs: the model's state-space layer on a batch of scenarios at once.

    ``model``: an :class:`IdentifiedModel` (or any object with its attributes) or its ``.npz`` file;
    None trains one as ``main`` does without ``--model`` (``MAX_ITER`` SLSQP iterations,
    ``QUICK_MAX_ITER`` with LSTMDS_QUICK=1). The batch: the first ``scenarios`` scenarios of amplitude
    ``rho_u`` that the default sweep draws for its bound (those of Figure 3a for ``rho_u = 1``),
    ``horizon`` steps each.
    """
    if model is None:
        max_iter = setting(MAX_ITER, QUICK_MAX_ITER)
        print(f"scenario_safety: training the lab's ISS-certified LSTM first ({max_iter} SLSQP iterations)")
        model = train_iss_model(max_iter, seed, progress=True)
    elif isinstance(model, (str, os.PathLike)):
        model = IdentifiedModel.load(model)
    key = (RHO_U.index(rho_u) if rho_u in RHO_U else 0, BOUND)  # the set's branch of the sweep's seed tree
    batch = draw_scenario_range(ScenarioClass(rho_u, horizon=horizon), model.params.n_units, 0, scenarios,
                                seed=seed, key=key)
    return scenario_lstm_diagram(model, batch)


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


def chunk_size(text: str) -> int:
    """argparse type of --chunk: scenarios per chunk, a positive multiple of DRAW_BLOCK."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
    if value < DRAW_BLOCK or value % DRAW_BLOCK:
        raise argparse.ArgumentTypeError(
            f"must be a positive multiple of {DRAW_BLOCK} (scenarios per chunk, whole seeded draw blocks), "
            f"got {value}")
    return value


def lab_options():
    """The lab's options (its command line); ``lab_options().parse_args([])`` gives the defaults."""
    parser = lab_parser("scenario_safety", __doc__)
    parser.add_argument("--model", default=None, help="IdentifiedModel .npz (default: train one first)")
    parser.add_argument("--eps", type=float, default=1e-2, help="violation probability (default: %(default)s)")
    parser.add_argument("--beta", type=float, default=1e-6, help="confidence parameter (default: %(default)s)")
    parser.add_argument("--d", type=int, default=1, help="decision variables (default: %(default)s)")
    parser.add_argument("--bound", choices=("paper", "exact"), default="paper",
                        help="sample-size bound: the paper's (11) or Campi & Garatti's exact one")
    parser.add_argument("--rho-u", type=amplitude, nargs="+", default=list(RHO_U),
                        help=f"normalised input amplitudes, each in (0, {RHO_U_MAX:g}] (default: 0.1 ... 1.0)")
    parser.add_argument("--horizon", type=positive_int, default=HORIZON,
                        help=f"steps per scenario, >= 1 (default: %(default)s; rho_y* after the first {TRANSIENT} "
                             f"steps is reported only for a horizon > {TRANSIENT})")
    parser.add_argument("--posterior", type=positive_int, default=None,
                        help="fresh scenarios for the check, >= 1 (default: N)")
    parser.add_argument("--max-iter", type=int, default=MAX_ITER, help="SLSQP iterations if a model is trained")
    parser.add_argument("--chunk", type=chunk_size, default=None,
                        help=f"scenarios per chunk, a multiple of {DRAW_BLOCK} (default: as many as fit in {CHUNK_BUDGET:,} "
                             "scenario-steps, 3136 for 2000 steps; with --backend jax 512: see docs/scaling.md); "
                             "memory grows with it, the results do not change")
    parser.add_argument("--backend", choices=BACKENDS, default="numpy",
                        help="how the diagrams run: 'numpy', the interpreter (the reference; default), or 'jax', "
                             "compiled once per worker process and re-run for every chunk (about twice as "
                             "fast in all; peaks equal to 1e-12; docs/scaling.md)")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--workers", type=positive_int, default=None,
                       help="run the chunks on a local Dask cluster of this many processes (needs "
                            f"{CLUSTER_HINT}); same results as serial, bit for bit")
    where.add_argument("--scheduler", default=None, metavar="ADDRESS",
                       help="run the chunks on the Dask cluster whose scheduler is at ADDRESS (tcp://host:8786)")
    return parser


# %% [markdown]
# ## Build the diagram the sweep runs, and look at it
#
# The sweep runs one trained model: the ISS-certified LSTM of lab 7 (`--model`), or one trained the
# same way. The notebook trains it briefly (60 SLSQP iterations instead of 1500: the numbers are
# rough, the figures have the full run's shape) and runs a small sweep: $\varepsilon = 0.2$,
# $\beta = 0.1$, scenarios of 300 steps, for three amplitudes.
#
# The LSTM of the sweep is that model's state-space layer fed a whole batch of scenarios at once:
# each wire carries one value per scenario, each delay one state per scenario. Here it runs the
# first four scenarios of the largest amplitude; a sweep feeds it a chunk of thousands. The plant
# runs in its own diagram (`PHPLANT`, batched over the same inputs).

# %% active="ipynb"
# from lstmds_sim.drawing.inline import picture
#
# args = lab_options().parse_args(["--eps", "0.2", "--beta", "0.1", "--rho-u", "0.2", "0.6", "1.0",
#                                  "--horizon", "300", "--max-iter", str(QUICK_MAX_ITER)])
# model = train_iss_model(args.max_iter, args.seed, progress=True)
# picture(build_diagram(model, horizon=args.horizon), "the LSTM of the scenario sweep (a batch of scenarios at once)")
# full = lab_options().parse_args([])  # the full run's settings
# keep(n_small=sample_size(args.eps, args.beta, args.d, method=args.bound),  # for the text below
#      n_full=sample_size(full.eps, full.beta, full.d, method=full.bound),
#      eps_full=sci(full.eps, 0), beta_full=sci(full.beta, 0))

# %% [markdown]
# Bound (11) asks for $N = {{n_small}}$ scenarios per amplitude for this small sweep, and $N = {{n_full}}$ for the full
# run's $\varepsilon = {{eps_full}}$, $\beta = {{beta_full}}$.

# %% [markdown]
# ## Run a small sweep
#
# For each amplitude: $N$ scenarios through the LSTM's diagram and through the matrices (compared at
# every step), the plant's diagram on the same inputs, and $N$ fresh scenarios for the posterior check.

# %% active="ipynb"
# n = sample_size(args.eps, args.beta, args.d, method=args.bound)
# chunk, batch = plan_chunks(args.horizon, args.backend, n)
# sweep = run_sweep(model, args.rho_u, n=n, n_posterior=n, horizon=args.horizon, eps=args.eps, seed=args.seed,
#                   chunk=chunk, backend=args.backend, batch=batch)
# print(sweep_table(sweep.rows, n))

# %% [markdown]
# ## Look: Figure 3(b) and 3(a)

# %% active="ipynb"
# reachable_set(sweep.rows, trivial_bound=trivial_output_bound(model.params), n=n, eps=args.eps, beta=args.beta);
# example_scenarios(sweep.example, Ts=model.Ts, rho_u=max(args.rho_u));
# rows = sorted(sweep.rows, key=lambda r: r["rho_u"])
# meet = next((r["rho_u"] for r in rows if r["rho_y_plant"] >= r["rho_y_lstm"]), None)
# guaranteed = all(min(r["analytic_iss_bound"], r["lyapunov_bound"]) >= max(r["rho_y_lstm"], r["worst_case_found"])
#                  for r in rows)
# keep(meet=(f"the plant's bound first reaches the LSTM's at $\\rho_u = {meet:g}$" if meet is not None else  # the text
#            f"the plant's bound stays below the LSTM's at all {len(rows)} amplitudes"),                  # below
#      guaranteed=("lie above every scenario bound, as they must" if guaranteed else
#                  "do not all lie above the scenario bounds: the table above shows where, and that is a fault"))

# %% [markdown]
# ## Compare
#
# Read Figure 3(b) from left to right: at small $\rho_u$ the LSTM's bound is set by its random
# initial state (it decays within the first 50 steps: the dotted line leaves it out), while the
# plant's grows with the input. In this small sweep {{meet}} (the full run's ten amplitudes, and
# where the two meet there: docs/results.md). The guaranteed bounds {{guaranteed}}; the Lyapunov one
# is too loose to be useful.

# %% [markdown]
# ## Inspect the run
#
# The signal inspector shows the sweep's LSTM on its first four scenarios (pick one with the
# sequence selector) as one page: click a wire to plot its signal (Shift+click adds another, to
# overlay them), drag the step slider to watch every wire's value, and read the loops and the
# model's Theorem 4 gains (docs/inspector.md; `lstmds inspect scenario_safety` writes the same
# page from a terminal).

# %% active="ipynb"
# from lstmds_sim import inspect
#
# inspect(build_diagram(model, horizon=args.horizon))

# %% [markdown]
# ## The lab as a script
#
# `main()` runs the full sweep (10 values of $\rho_u$, $N = {{n_full}}$ scenarios of 2000 steps, a posterior
# check on as many fresh ones; its time and numbers: docs/results.md), in chunks, here or on Dask, and writes
# the two figures and `results.json`.

# %%
def main(argv=None) -> dict:
    parser = lab_options()
    args = parser.parse_args(argv)
    if (args.workers or args.scheduler is not None) and importlib.util.find_spec("distributed") is None:
        parser.error(f"--{'workers' if args.workers else 'scheduler'} needs dask.distributed: {CLUSTER_HINT}")
    if args.model is not None and not args.model.strip():  # --model "$MODEL" with MODEL unset: never train silently
        parser.error("--model is empty (an unset shell variable?): give the model file, e.g. "
                     "--model out/ph_identification/lstm_iss_model.npz, or leave --model out to train one")
    if args.scheduler is not None and not args.scheduler.strip():
        parser.error("--scheduler is empty: give the scheduler's address, e.g. tcp://10.0.0.5:8786")
    use_headless_backend()

    out = OutputDir(args.out, lab="scenario_safety")
    n = sample_size(args.eps, args.beta, args.d, method=args.bound)
    n_exact = sample_size(args.eps, args.beta, args.d, method="exact")
    n_post = n if args.posterior is None else args.posterior
    chunk, batch = plan_chunks(args.horizon, args.backend, max(n, n_post), args.chunk)
    check_sweep_size((n + n_post) * len(args.rho_u), args.horizon, chunk)  # what no machine could finish: now
    model, model_source = identified_model(args.model, args.max_iter, args.seed, out)
    check_plant_flows(model, args.rho_u, model_source)
    if args.horizon <= TRANSIENT:
        print(f"note: --horizon {args.horizon} <= {TRANSIENT}: rho_y* after the first {TRANSIENT} steps "
              "is not computed (null in results.json)")
    runs_on = (f"Dask, {args.workers} local workers" if args.workers else
               f"Dask scheduler {args.scheduler}" if args.scheduler else "this process")
    print_kv("scenario approach:", {
        "eps, beta, d": f"{args.eps:g}, {args.beta:g}, {args.d}",
        f"N ({args.bound} bound)": n, "N (exact binomial bound)": n_exact,
        "horizon [steps]": args.horizon, "model": model_source,
        "chunks": f"{chunk} scenarios, on {runs_on}",
        "backend": args.backend + (f" (compiled for {batch} x {args.horizon} per process)" if batch else ""),
    })

    sweep = run_sweep(model, args.rho_u, n=n, n_posterior=n_post, horizon=args.horizon, eps=args.eps,
                      seed=args.seed, chunk=chunk, backend=args.backend, batch=batch, workers=args.workers,
                      scheduler=args.scheduler)
    print(sweep_table(sweep.rows, n_post))
    print_kv("timing:", {**{k: (f"{v:.1f}" if k.endswith("_s") else f"{v:.0%}") for k, v in sweep.timing.items()},
                         "compilations": sweep.counts["compilations"]})

    import matplotlib.pyplot as plt  # after the sweep: 27 MB less in this process while the workers run

    fig = reachable_set(sweep.rows, trivial_bound=trivial_output_bound(model.params), n=n, eps=args.eps,
                        beta=args.beta)
    out.savefig(fig, "scenario_safety_fig3b")
    plt.close(fig)
    fig = example_scenarios(sweep.example, Ts=model.Ts, rho_u=max(args.rho_u))
    out.savefig(fig, "scenario_safety_fig3a")
    plt.close(fig)

    rows = sweep.rows
    results = {
        "eps": args.eps, "beta": args.beta, "d": args.d, "bound": args.bound, "N": n, "N_exact": n_exact,
        "horizon": args.horizon, "seed": args.seed, "model": model_source,
        "sweep": rows, "timing": sweep.timing,
        "scenarios_evaluated": sum(r["scenarios_evaluated"] + r["posterior"]["fresh_scenarios"] for r in rows),
        "chunk": chunk, "workers": args.workers, "scheduler": args.scheduler,
        "backend": args.backend, "compiled_batch": batch or None, "compilations": sweep.counts["compilations"],
        "trivial_output_bound": float(trivial_output_bound(model.params)),
        "transient": TRANSIENT, "initial_state_half_width": ScenarioClass.state_half_width,
        "diagram_vs_matrix_max_abs": max(r["diagram_vs_matrix_max_abs"] for r in rows),
        "most_violations": max(r["posterior"]["violations"] for r in rows),
        "all_consistent_with_eps": all(r["posterior"]["consistent_with_eps"] for r in rows),
        "interval_over_scenario_bound": [r["analytic_iss_bound"] / r["rho_y_lstm"] for r in rows],
        "certified_over_worst_found": [r["certified_bound"] / r["worst_case_found"] for r in rows],
    }
    out.write_results(results)
    print_files(out)
    return results


# %% [markdown]
# ## Exercises
#
# Each exercise asks you to predict, compute or read something before you run the cell below it. Where the
# answer is a number, write it in the answer cell; the cell after it takes it down, and nbgrader's
# autograder checks the value (the teacher's edition shows the check). The solutions are in the teacher's
# edition (`lstmds notebook scenario_safety`), collapsed; the student's edition (`lstmds notebook
# scenario_safety --student`) has none.
#
# **1. How many scenarios?** Compute $N$ from bound (11) for $\varepsilon = 10^{-3}$ ($\beta = 10^{-6}$,
# $d = 1$) and write it in the answer cell. Predict how $N$ grows as $\varepsilon$ shrinks to $10^{-5}$, and
# how it compares with Campi and Garatti's exact bound; then run the cell below the check.

# %% active="ipynb" tags=["answer"]
# import math
#
# # N from bound (11) for eps = 1e-3, beta = 1e-6, d = 1:
# ANSWER_1 = None
# ### BEGIN SOLUTION
# ANSWER_1 = math.ceil(2 / 1e-3 * (math.log(1 / 1e-6) + 1))
# ### END SOLUTION

# %% active="ipynb" tags=["check"]
# answered("ANSWER_1", ANSWER_1)
# ### BEGIN HIDDEN TESTS
# check_answer("ANSWER_1", ANSWER_1, sample_size(1e-3, 1e-6, 1), rtol=0)
# ### END HIDDEN TESTS

# %% active="ipynb" tags=["predict"]
# for eps in (1e-2, 1e-3, 1e-5):
#     print(f"eps = {eps:g}: N = {sample_size(eps, 1e-6, 1)} (bound 11), "
#           f"{sample_size(eps, 1e-6, 1, method='exact')} (exact)")

# %% tags=["solution"] jupyter={"source_hidden": true, "outputs_hidden": true} active="ipynb"
# # Solution 1: the three sample sizes, both bounds
# paper = {eps: sample_size(eps, 1e-6, 1) for eps in (1e-2, 1e-3, 1e-5)}
# exact = {eps: sample_size(eps, 1e-6, 1, method="exact") for eps in (1e-2, 1e-3, 1e-5)}
# keep(n_2=paper[1e-2], n_3=paper[1e-3], n_5=paper[1e-5], exact_2=exact[1e-2], exact_5=exact[1e-5],
#      share=100 * min(exact[e] / paper[e] for e in paper), share_max=100 * max(exact[e] / paper[e] for e in paper),
#      billions_5=paper[1e-5] * HORIZON / 1e9, horizon=HORIZON)

# %% [markdown] tags=["solution"] jupyter={"source_hidden": true}
# **Solution 1.**
#
# Bound (11) is $N = \lceil (2/\varepsilon)(\ln 10^6 + 1) \rceil$: {{n_2:,}}, {{n_3:,}} and {{n_5:,}} scenarios for
# $\varepsilon = 10^{-2}, 10^{-3}, 10^{-5}$. It grows like $1/\varepsilon$. The exact bound (the smallest $N$ with
# $(1-\varepsilon)^N \le \beta$ for $d = 1$) needs {{share:.0f}} to {{share_max:.0f}} % of that ({{exact_2:,}} and
# {{exact_5:,}} at the two ends). At $\varepsilon = 10^{-5}$ and {{horizon:,}} steps a scenario, that is about
# {{billions_5:.1f}} billion scenario-steps per $\rho_u$: the reason the sweep streams in chunks and can run on a Dask cluster
# (`--workers`, `--scheduler`).

# %% [markdown]
# **2. Is the model a safe stand-in for the plant?** A bound verified on the model is useful for the
# plant only if the model's bound is not below the plant's. From the small sweep's rows, by how many
# percent (of the plant's bound) does the LSTM's bound after the transient fall short of the plant's,
# at worst? Write it in the answer cell (0 if it never does).

# %% active="ipynb"
# for row in sweep.rows:
#     print(f"rho_u = {row['rho_u']:.1f}: LSTM {row['rho_y_lstm']:.3f} "
#           f"(after {TRANSIENT} steps {row['rho_y_lstm_after_transient']:.3f}), plant {row['rho_y_plant']:.3f}")

# %% active="ipynb" tags=["answer"]
# # At worst, by how many percent of the plant's bound the LSTM's bound after the transient is below it:
# ANSWER_2 = None
# ### BEGIN SOLUTION
# ANSWER_2 = max(0.0, max(100 * (1 - r["rho_y_lstm_after_transient"] / r["rho_y_plant"]) for r in sweep.rows))
# ### END SOLUTION

# %% active="ipynb" tags=["check"]
# answered("ANSWER_2", ANSWER_2)
# ### BEGIN HIDDEN TESTS
# shortfalls = [100 * (row["rho_y_plant"] - row["rho_y_lstm_after_transient"]) / row["rho_y_plant"] for row in sweep.rows]
# check_answer("ANSWER_2", ANSWER_2, max([0.0, *shortfalls]), atol=0.5)
# ### END HIDDEN TESTS

# %% tags=["solution"] jupyter={"source_hidden": true, "outputs_hidden": true} active="ipynb"
# # Solution 2: the rows it quotes
# first, worst = sweep.rows[0], max(sweep.rows, key=lambda r: 1 - r["rho_y_lstm_after_transient"] / r["rho_y_plant"])
# keep(rho_first=first["rho_u"], lstm_first=first["rho_y_lstm"], late_first=first["rho_y_lstm_after_transient"],
#      plant_first=first["rho_y_plant"], transient=TRANSIENT, rows=len(sweep.rows),
#      below=sum(r["rho_y_lstm_after_transient"] < r["rho_y_plant"] for r in sweep.rows),
#      rho_worst=worst["rho_u"], short=100 * (1 - worst["rho_y_lstm_after_transient"] / worst["rho_y_plant"]),
#      n=n, horizon=args.horizon, iterations=args.max_iter)

# %% [markdown] tags=["solution"] jupyter={"source_hidden": true}
# **Solution 2.**
#
# At small $\rho_u$ the LSTM's bound is far above the plant's ({{lstm_first:.3f}} against {{plant_first:.3f}} at
# $\rho_u = {{rho_first}}$): that is its random initial state, which the bound after the first {{transient}}
# steps leaves out ({{late_first:.3f}}). After the transient the model's bound is below the plant's at
# {{below}} of the {{rows}} amplitudes, by {{short:.1f}} % at worst ($\rho_u = {{rho_worst}}$). Where the model's bound is
# below the plant's, the model is not a safe stand-in: a margin verified on the model would be
# optimistic for the plant. This sweep is small ({{n}} scenarios of {{horizon}} steps, a model fitted in
# {{iterations}} SLSQP iterations): `lstmds run scenario_safety` runs the full one, and the answer should
# be read there.

# %% [markdown]
# **3. Trust, but check.** The posterior check counts, on $N$ fresh scenarios, how many exceed
# $\rho_y^*$. With $\varepsilon = 0.01$ and $N = 2964$: if the violation probability were exactly
# $\varepsilon$, how many violations would lie three standard deviations above the mean count? Write it
# in the answer cell: more than that would make you doubt the guarantee.

# %% active="ipynb" tags=["answer"]
# # The mean count of violations plus three standard deviations (N = 2964, probability 0.01 each):
# ANSWER_3 = None
# ### BEGIN SOLUTION
# ANSWER_3 = 2964 * 0.01 + 3 * math.sqrt(2964 * 0.01 * 0.99)
# ### END SOLUTION

# %% active="ipynb" tags=["check"]
# answered("ANSWER_3", ANSWER_3)
# ### BEGIN HIDDEN TESTS
# from scipy.stats import binom
#
# count = binom(2964, 0.01)
# check_answer("ANSWER_3", ANSWER_3, count.mean() + 3 * count.std(), rtol=1e-3)
# ### END HIDDEN TESTS

# %% tags=["solution"] jupyter={"source_hidden": true, "outputs_hidden": true} active="ipynb"
# # Solution 3: the count, and what the small sweep saw
# keep(mean=count.mean(), std=count.std(), threshold=count.mean() + 3 * count.std(),
#      beyond=count.sf(int(count.mean() + 3 * count.std())),
#      worst=max(r["posterior"]["violations"] for r in sweep.rows), n_small=n, eps_small=args.eps,
#      allowed=args.eps * n)

# %% [markdown] tags=["solution"] jupyter={"source_hidden": true}
# **Solution 3.**
#
# With violation probability $\varepsilon = 0.01$ the count is binomial, with mean {{mean:.1f}} and standard
# deviation {{std:.1f}}: more than about {{threshold:.0f}} violations would be surprising (a count above that
# comes with probability {{beyond:.1e}}). Fewer is no contradiction: the guarantee says the violation
# probability is *at most* $\varepsilon$. The notebook's small sweep ($\varepsilon = {{eps_small}}$, $N = {{n_small}}$) sees
# at most {{worst}} of {{n_small}} fresh scenarios above $\rho_y^*$ per amplitude, where $\varepsilon N = {{allowed:.1f}}$
# would be expected at the limit: the bound (11) is conservative.

# %% active="py"
if __name__ == "__main__":
    main()
