"""The compiled backend (run(..., backend="jax")) against the numpy interpreter, the reference.

Every comparison runs the same diagram twice, once per backend, and asks for
the same arrays (recorders, every named signal, final states) with the same
shapes, equal to 1e-12 (relative to the value where it is larger than 1: the
tank's volume A h is about 3e3). The lab diagrams compile in a second or
three each, so they are `slow`; the fast tests use small diagrams.
"""

from __future__ import annotations

import numpy as np
import pytest
from test_hybrid import TWO_RATE_Y
from test_hybrid import two_rate_diagram as two_rate  # the two-rate diagram of the hybrid engine tests

from lstmds_sim import LSTMParams, blockdiagram, run
from lstmds_sim.core.diagram import lstm_diagram
from lstmds_sim.core.engine import DiagramError
from lstmds_sim.core.validation import NonFiniteError, ShapeError

TOL = 1e-12


def assert_same(ref, res, tol=TOL):
    """Same keys, same shapes, values within ``tol`` (relative above 1) in recorders, signals and final states."""
    for what in ("recorders", "signals", "final_states"):
        a, b = getattr(ref, what), getattr(res, what)
        assert sorted(a) == sorted(b), what
        for name in a:
            assert np.shape(a[name]) == np.shape(b[name]), (what, name, np.shape(a[name]), np.shape(b[name]))
            err = np.max(np.abs(np.asarray(a[name]) - b[name]) / np.maximum(1.0, np.abs(a[name])), initial=0.0)
            assert err <= tol, (what, name, err)
    np.testing.assert_array_equal(ref.t, res.t)


def both(make, *args, **kwargs):
    """Run a fresh diagram from ``make()`` with each backend; return (numpy result, jax result)."""
    ref = run(make(), *args, **kwargs)
    res = run(make(), *args, backend="jax", **kwargs)
    assert set(res.timing) == {"compile_s", "run_s"}
    return ref, res


# ----------------------------------------------------------------------- small diagrams (fast)


def test_two_clocks_hold_and_tick_as_in_the_interpreter():
    ref, res = both(two_rate, probes=["*"])
    np.testing.assert_array_equal(np.ravel(res["y"]), TWO_RATE_Y)
    assert_same(ref, res, tol=0.0)


def lag(batch: int | None = None):
    """SEQUENCE u (0.1 s) -> ZOH-held into LTI_SISO 1/(s+1) -> integrator -> RECORDERs: a hybrid diagram."""
    u = np.sin(np.arange(40) * 0.3)
    data = u[:, None] if batch is None else np.stack([(r + 1) * u for r in range(batch)])[..., None]
    bd = blockdiagram()
    clock = bd.clock(0.1)
    src = bd.SEQUENCE(data, clock, name="u")
    plant = bd.LTI_SISO(1, [1, 1], name="lag")
    integ = bd.INTEGRATOR(x0=0.5, name="int")
    gain = bd.GAIN(2.0, name="twice")
    bd.connect(src, plant, name="u")
    bd.connect(plant, gain, name="y")
    bd.connect(gain, integ, name="2y")
    bd.connect(plant, bd.RECORDER(name="y"))
    bd.connect(integ, bd.RECORDER(name="integral"), name="integral")
    return bd


@pytest.mark.parametrize("batch", [None, 3])
def test_hybrid_rk4_equals_the_interpreter_batched_and_not(batch):
    ref, res = both(lambda: lag(batch), probes=["*"], substeps=3)
    assert_same(ref, res)
    # a one-state INTEGRATOR outputs a float unbatched (as bdsim's does): recorded as (T,)
    assert res["integral"].shape == ((40,) if batch is None else (batch, 40, 1))


def test_a_compiled_run_reruns_with_new_inputs_and_states_without_recompiling(rng):
    from lstmds_sim.core.compiled import compile_run

    params = LSTMParams.random(2, 3, 1, rng=rng, low=-1, high=1)
    u, u2 = rng.uniform(-1, 1, (2, 4, 30, 2))
    h0 = rng.uniform(-1, 1, (4, 3))
    bd = lstm_diagram(params, u, h0=h0)[0]
    compiled = compile_run(bd, probes=["c"])
    assert compiled.inputs == {"u": (4, 30, 2)} and compiled.states["hidden state"] == (4, 3)
    c0 = rng.uniform(-1, 1, (4, 3))
    again = compiled.run(inputs={"u": u2}, x0={"cell state": c0})
    assert_same(run(lstm_diagram(params, u2, h0=h0, c0=c0)[0], probes=["c"]), again)
    # given its inputs, a run copies none of the diagram's own data (a sweep's template stays a broadcast)
    (source,) = [b for b in bd.blocklist if b.name == "u"]
    assert compiled._data0 == {} and source._steps is None
    first = compiled.run()  # the diagram's own data
    assert first.timing["compile_s"] == again.timing["compile_s"]  # the same compiled program
    assert_same(run(lstm_diagram(params, u, h0=h0)[0], probes=["c"]), first)
    with pytest.raises(ShapeError, match=r"compiled for \(4, 30, 2\)"):
        compiled.run(inputs={"u": u2[:2]})
    with pytest.raises(KeyError, match="no block named 'nope'"):
        compiled.run(x0={"nope": c0})


def test_a_state_meeting_a_batch_grows_as_in_the_interpreter_also_for_one_step(rng):
    """A delay with an unbatched x0 fed a batch: its output is unbatched at step 0, batched after."""
    data = rng.uniform(size=(3, 4, 2))

    def make(steps):
        bd = blockdiagram()
        clock = bd.clock(1.0)
        src = bd.SEQUENCE(data[:, :steps], clock, name="u")
        first, second = bd.UNITDELAY(clock, x0=[1.0, 2.0], name="z1"), bd.UNITDELAY(clock, x0=[0.0, 0.0], name="z2")
        bd.connect(src, first, name="u")
        bd.connect(first, second, name="z1")
        bd.connect(second, bd.RECORDER(name="y"), name="z2")
        return bd

    for steps in (1, 3):
        ref, res = both(lambda n=steps: make(n), probes=["*"])
        assert_same(ref, res, tol=0.0)


def test_gain_follows_bdsims_post_multiply_rule(rng):
    K = rng.uniform(size=(2, 3))

    data = rng.uniform(size=(5, 2))

    def make():
        bd = blockdiagram()
        clock = bd.clock(1.0)
        src = bd.SEQUENCE(data, clock, name="u")
        post, pre = bd.GAIN(K, name="u K"), bd.GAIN(K.T, premul=True, name="K' u")
        scalar = bd.GAIN(1.5, name="1.5 u")
        for g in (post, pre, scalar):
            bd.connect(src, g)
            bd.connect(g, bd.RECORDER(name="rec " + g.name))
        watch = bd.WATCH(name="watch")
        bd.connect(scalar, watch)
        return bd

    ref, res = both(make)
    assert_same(ref, res)
    assert res.recorders["watch"].shape == (5, 2)
    np.testing.assert_allclose(res["rec u K"], res["rec K' u"], rtol=1e-15)


def test_a_sequence_too_short_for_the_steps_is_refused_before_compiling():
    from lstmds_sim.blocks.sources import SequenceEndError

    with pytest.raises(SequenceEndError, match="SEQUENCE block 'u': step 40 .* past the end of its 40 samples"):
        run(lag(), 50, backend="jax")


def test_unsupported_block_is_refused_in_one_line_before_running():
    """A user's block without a jax_twin (every stock source runs compiled now: tests/test_compiled_stock.py)."""
    from bdsim.components import FunctionBlock

    class Halve(FunctionBlock):
        nin, nout = 1, 1

        def output(self, t, inputs, x):
            return [0.5 * inputs[0]]

    bd = blockdiagram()
    halve = Halve(bd=bd, name="halve")
    bd.connect(bd.WAVEFORM("sine", name="wave"), halve)
    bd.connect(halve, bd.RECORDER(name="y"))
    with pytest.raises(DiagramError, match="HALVE block 'halve' has no JAX function") as err:
        run(bd, 5, dt=0.1, backend="jax")
    assert "\n" not in str(err.value) and "backend='numpy'" in str(err.value)


def test_scope_and_solve_ivp_and_progress_are_refused_in_one_line():
    bd = lag()
    with pytest.raises(ValueError, match="solve_ivp.*backend='numpy' only") as err:
        run(bd, backend="jax", solver="solve_ivp")
    assert "\n" not in str(err.value)
    with pytest.raises(ValueError, match="progress"):
        run(bd, backend="jax", progress=print)
    bd = blockdiagram()
    c = bd.CONSTANT(1.0, name="one")
    bd.connect(c, bd.SCOPE(name="scope"))
    with pytest.raises(DiagramError, match="SCOPE block 'scope' cannot run with backend='jax'") as err:
        run(bd, 3, backend="jax")
    assert "\n" not in str(err.value)


def test_function_that_jax_cannot_trace_is_refused_at_compile_time_naming_it():
    calls = []

    def numpy_only(x):
        calls.append(1)
        return 2.0 * np.asarray(x)

    bd = blockdiagram()
    c = bd.CONSTANT(1.0, name="one")
    f = bd.FUNCTION(numpy_only, name="numpy only")
    bd.connect(c, f)
    bd.connect(f, bd.RECORDER(name="y"))
    with pytest.raises(DiagramError, match="FUNCTION block 'numpy only': its function numpy_only cannot run on "
                                           "JAX arrays") as err:
        run(bd, 3, backend="jax")
    assert "\n" not in str(err.value) and "register_function" in str(err.value)

    from lstmds_sim.core.compiled import register_function

    register_function(numpy_only, lambda x: 2.0 * x)
    ref = run(bd, 3)
    assert_same(ref, run(bd, 3, backend="jax"))


def test_a_state_turning_non_finite_names_the_block_and_the_step():
    bd = blockdiagram()
    integ = bd.INTEGRATOR(x0=1.0, name="blow up")
    square = bd.FUNCTION(lambda x: 1e3 * x**2, name="square")
    bd.connect(integ, square)
    bd.connect(square, integ)
    with pytest.raises(NonFiniteError, match=r"INTEGRATOR block 'blow up': its state became non-finite.*at step \d+"):
        run(bd, 50, dt=0.1, substeps=1, backend="jax")


def test_jax_float64_is_scoped_not_set_process_wide():
    import jax

    before = jax.config.jax_enable_x64
    res = run(two_rate(), backend="jax")
    assert jax.config.jax_enable_x64 == before
    assert res["y"].dtype == np.float64


# ----------------------------------------------------------------------- a batch in parts, on threads


def lstm_batch(rng, batch=7, steps=30):
    params = LSTMParams.random(2, 3, 1, rng=rng, low=-1, high=1)
    u = rng.uniform(-1, 1, (batch, steps, 2))
    h0 = rng.uniform(-1, 1, (batch, 3))
    return lambda: lstm_diagram(params, u, h0=h0)[0]


@pytest.mark.parametrize("diagram, threads", [("lstm", 3), ("lstm", 7), ("hybrid", 2), ("two clocks", 3)])
def test_a_batch_run_in_parts_on_threads_equals_the_interpreter(rng, diagram, threads):
    """7 rows cut into parts of 3, 1 or 4 rows (the last part padded): every array as the interpreter's.

    The LSTM's initial hidden state has the batch's rows (cut with the data), the hybrid
    diagram's integrator starts unbatched and grows to the batch, the two-clock diagram
    holds a slow block's batched output between its ticks.
    """
    from lstmds_sim.core.compiled import compile_run

    if diagram == "lstm":
        make, kwargs = lstm_batch(rng), {}
    elif diagram == "hybrid":
        make, kwargs = (lambda: lag(7)), {"substeps": 3}
    else:
        data = rng.uniform(-1, 1, (7, 20, 1))
        make, kwargs = (lambda: two_rate(data)), {}
    ref = run(make(), probes=["*"], **kwargs)
    compiled = compile_run(make(), probes=["*"], threads=threads, **kwargs)
    assert compiled.threads == threads and compiled.batch == 7
    assert_same(ref, compiled.run())


def test_a_run_in_parts_reruns_with_new_inputs_and_states(rng):
    from lstmds_sim.core.compiled import compile_run

    params = LSTMParams.random(2, 3, 1, rng=rng, low=-1, high=1)
    u, u2 = rng.uniform(-1, 1, (2, 5, 30, 2))
    h0, c0 = rng.uniform(-1, 1, (2, 5, 3))
    compiled = compile_run(lstm_diagram(params, u)[0], probes=["c"], threads=2)
    again = compiled.run(inputs={"u": u2}, x0={"cell state": c0, "hidden state": h0})
    assert_same(run(lstm_diagram(params, u2, h0=h0, c0=c0)[0], probes=["c"]), again)
    assert_same(run(lstm_diagram(params, u)[0], probes=["c"]), compiled.run())


def test_the_first_failure_over_all_parts_is_reported():
    """Row 1 (first part) overflows at step 9, row 4 (second part) at step 6: the error says step 6."""
    from lstmds_sim.core.compiled import compile_run

    data = np.ones((5, 12, 1))
    data[1, 9], data[4, 6] = 1e10, 1e10
    bd = blockdiagram()
    clock = bd.clock(1.0)
    src = bd.SEQUENCE(data, clock, name="u")
    big = bd.GAIN(1e300, name="big")
    delay = bd.UNITDELAY(clock, x0=[0.0], name="hold")
    bd.connect(src, big)
    bd.connect(big, delay)
    bd.connect(delay, bd.RECORDER(name="y"))
    compiled = compile_run(bd, threads=2)
    assert compiled.threads == 2
    with pytest.raises(NonFiniteError, match=r"UNITDELAY block 'hold': its state became non-finite.*at step 6,"):
        compiled.run()


def test_default_parts_one_per_core_of_at_least_part_rows_rows():
    import os

    from lstmds_sim.core.compiled import PART_ROWS, default_threads

    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    assert default_threads(None) == 1 and default_threads(PART_ROWS) == 1
    assert default_threads(2964) == min(cores, 2964 // PART_ROWS)
    with pytest.raises(ValueError, match="threads must be a positive integer"):
        run(lag(3), backend="jax", threads=0)


# ----------------------------------------------------------------------- the pH plant's JAX maths


def test_jax_ph_solver_equals_the_numpy_solver():
    import jax

    from lstmds_sim.core.jax_x64 import enable_x64
    from lstmds_sim.systems.ph_jax import ph_from_invariants_jax
    from lstmds_sim.systems.ph_plant import ph_from_invariants, steady_state

    grid_rng = np.random.default_rng(3)
    plant = steady_state(np.linspace(0.0, 40.0, 200))
    wa = np.concatenate([grid_rng.uniform(-1e-2, 1e-2, 2000), plant.Wa4, [0.0, 1e-9, -1e-9, 1e-3]])
    wb = np.concatenate([grid_rng.uniform(0.0, 1e-2, 2000), plant.Wb4, [0.0, 0.0, 1e-4, -1e-3]])
    with enable_x64(True):
        pH, ok = jax.jit(ph_from_invariants_jax)(wa, wb)
    pH, ok = np.asarray(pH), np.asarray(ok)
    assert np.all(ok[:-1]) and not ok[-1]  # the last one has Wb4 < 0: refused, as by the numpy solver
    assert np.max(np.abs(pH[:-1] - ph_from_invariants(wa[:-1], wb[:-1]))) <= 1e-12


def test_jax_plant_step_equals_step_plant(rng):
    import jax

    from lstmds_sim.core.jax_x64 import enable_x64
    from lstmds_sim.systems.ph_jax import plant_step_jax
    from lstmds_sim.systems.ph_plant import steady_state, step_plant

    x = steady_state(rng.uniform(13.0, 16.0, 50)).x  # (50, 3)
    q3 = rng.uniform(12.5, 17.0, 50)
    with enable_x64(True):
        step = jax.jit(lambda x, q3: plant_step_jax(x, q3, 10.0, substeps=4))
        x1, ok = step(x, q3)
        _, bad = step(x, np.where(np.arange(50) == 7, -1.0, q3))  # one negative flow: refused
        one = jax.eval_shape(lambda x, q3: plant_step_jax(x, q3, 10.0), x[0], q3[:1])[0]
    assert bool(ok) and not bool(bad)
    np.testing.assert_allclose(np.asarray(x1), step_plant(x, q3, Ts=10.0, substeps=4), rtol=1e-13, atol=0)
    assert one.shape == (3,)  # one tank stays (3,), as in step_plant


def test_jax_log_and_power_agree_with_numpy_to_an_ulp():
    """The fdlibm log behind the plant's power and the pH solve's asinh: <= 1 ulp (log), a few (the rest)."""
    import jax

    from lstmds_sim.core.jax_x64 import enable_x64
    from lstmds_sim.systems.ph_jax import _asinh, _log, _log1p, _power

    grid_rng = np.random.default_rng(5)
    x = np.concatenate([np.exp(grid_rng.uniform(-700.0, 700.0, 20000)), grid_rng.uniform(0.5, 2.0, 20000),
                        1.0 + grid_rng.uniform(-1e-8, 1e-8, 2000), [1.0, 2.0, np.sqrt(2.0), np.sqrt(0.5)]])
    u = np.concatenate([np.exp(grid_rng.uniform(-60.0, 60.0, 20000)), [0.0, 1e-300, 1e-17, 1.0]])
    y = np.concatenate([-u, u])
    special = np.array([0.0, -1.0, np.inf, -np.inf, np.nan])
    with enable_x64(True):
        log, log1p, asinh = (np.asarray(jax.jit(f)(v)) for f, v in ((_log, x), (_log1p, u), (_asinh, y)))
        h_z = grid_rng.uniform(11.5, 100.0, 20000)  # the plant's h + z
        power = np.asarray(jax.jit(lambda h: _power(h, 0.607))(h_z))
        log_special = np.asarray(jax.jit(_log)(special))
    assert np.all(np.abs(log - np.log(x)) <= np.spacing(np.abs(np.log(x))))
    assert np.all(np.abs(log1p - np.log1p(u)) <= 2 * np.spacing(np.log1p(u)))
    assert np.all(np.abs(asinh - np.arcsinh(y)) <= 4e-16 * np.abs(np.arcsinh(y)))
    ref = h_z**0.607
    assert np.all(np.abs(power - ref) <= 7e-16 * ref)
    with np.errstate(divide="ignore", invalid="ignore"):  # numpy's log of 0 and of a negative number
        expected = np.log(special[:3]).tolist() + [np.nan, np.nan]
    np.testing.assert_array_equal(log_special, expected)


@pytest.mark.parametrize("tanks", [300, 1001])
def test_jax_plant_step_in_chunks_equals_step_plant_and_refuses_as_it(rng, tanks):
    """A batch larger than ``chunk`` is integrated in padded chunks: the same states, the same refusals."""
    import jax

    from lstmds_sim.core.jax_x64 import enable_x64
    from lstmds_sim.systems.ph_jax import plant_step_jax
    from lstmds_sim.systems.ph_plant import steady_state, step_plant

    x = steady_state(rng.uniform(13.0, 16.0, tanks)).x
    q3 = rng.uniform(12.5, 17.0, tanks)
    with enable_x64(True):
        for chunk in (64, None):
            step = jax.jit(lambda x, q3, chunk=chunk: plant_step_jax(x, q3, 10.0, substeps=4, chunk=chunk))
            x1, ok = step(x, q3)
            _, bad = step(x, np.where(np.arange(tanks) == tanks - 1, -1.0, q3))  # in the last, padded chunk
            assert bool(ok) and not bool(bad)
            np.testing.assert_allclose(np.asarray(x1), step_plant(x, q3, Ts=10.0, substeps=4), rtol=1e-13, atol=0)


# ----------------------------------------------------------------------- every lab's diagram (slow)


def lstm_layer_batched():
    from lstmds_sim.diagrams.lstm_layer import TS, example

    params, h0, c0, u = example(0)
    u = np.stack([u * (1 + 0.2 * r) for r in range(3)])
    return lstm_diagram(params, u, Ts=TS, h0=h0, c0=c0, name="lstm_layer")[0]


def lstm_stack_batched():
    from lstmds_sim.diagrams.lstm_stack import TS, example

    layers, u = example(0)
    return lstm_diagram(layers, np.stack([u, -u, 0.5 * u]), Ts=TS, subsystems=True, name="lstm_stack")[0]


def batch_of(q3, rows=3):
    q3 = np.ravel(q3)
    return np.stack([q3 + 0.3 * r for r in range(rows)])[..., None]


LABS = {
    "lstm_layer": lambda: __import__("lstmds_sim.diagrams.lstm_layer", fromlist=["x"]).build_diagram(),
    "lstm_layer batched": lstm_layer_batched,
    "lstm_stack": lambda: __import__("lstmds_sim.diagrams.lstm_stack", fromlist=["x"]).build_diagram(),
    "lstm_stack batched": lstm_stack_batched,
    "lstm_vs_linear": lambda: __import__("lstmds_sim.diagrams.lstm_vs_linear", fromlist=["x"]).build_diagram(),
    "lstm_vs_linear batched": lambda: __import__("lstmds_sim.diagrams.lstm_vs_linear", fromlist=["x"]).build_diagram(
        u=np.random.default_rng(1).standard_normal((3, 51, 1))),
}


def _ph_plant(batched: bool, sealed: bool):
    from lstmds_sim.diagrams import ph_plant

    q3 = ph_plant.step_input()
    return ph_plant.build_diagram(q3 if batched else q3[2, :, 0], sealed=sealed)


def _ph_identification(batched: bool):
    from lstmds_sim.diagrams import ph_identification

    q3 = 15.55 + 1.5 * np.sin(np.arange(40) / 4.0)
    return ph_identification.build_diagram(q3=batch_of(q3) if batched else q3)


for _batched in (False, True):
    _tag = " batched" if _batched else ""
    LABS[f"ph_plant tank{_tag}"] = lambda b=_batched: _ph_plant(b, sealed=False)
    LABS[f"ph_plant PHPLANT{_tag}"] = lambda b=_batched: _ph_plant(b, sealed=True)
    LABS[f"ph_identification{_tag}"] = lambda b=_batched: _ph_identification(b)


def _scenario_safety():
    """The sweep's LSTM diagram on four scenarios of 50 steps, with a small untrained model (no training here)."""
    from lstmds_sim import IdentifiedModel, LSTMParams
    from lstmds_sim.diagrams import scenario_safety

    model = IdentifiedModel(LSTMParams.random(1, 5, 1, rng=0, low=-0.1, high=0.1), 15.0, 2.0, 7.0, 2.0, 10.0)
    return scenario_safety.build_diagram(model, horizon=50)


LABS["scenario_safety batched"] = _scenario_safety


@pytest.mark.slow
def test_a_flow_the_plant_block_refuses_is_reported_after_the_run_naming_it():
    from lstmds_sim.diagrams import ph_plant

    q3 = ph_plant.step_input()[:2]
    q3[1, 30:, 0] = -1.0  # a negative base flow from step 30 in the second tank
    with pytest.raises(ValueError, match=r"PHPLANT block 'pH tank': its base flow q3 is negative.*at step 30"):
        run(ph_plant.build_diagram(q3, sealed=True), backend="jax", substeps=4)


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(LABS))
def test_every_lab_diagram_equals_the_interpreter(name):
    kwargs = {"substeps": 4} if name.startswith("ph_") else {}
    ref, res = both(LABS[name], probes=["*"], **kwargs)
    assert ref.recorders and ref.signals
    assert_same(ref, res)
    if "batched" in name:
        assert all(v.ndim == 3 and v.shape[0] > 1 for v in res.recorders.values())  # (B, T, n)
