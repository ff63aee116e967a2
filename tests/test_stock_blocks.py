"""Every stock bdsim block of the source, sink, function, continuous, discrete and graphics classes
either runs under lstmds_sim.run or is refused before the run with one line naming it."""

from __future__ import annotations

import io

import matplotlib
import numpy as np
import pytest
from spatialmath import SE3

from lstmds_sim import blockdiagram, run
from lstmds_sim.core.engine import DiagramError, stock_blocks
from lstmds_sim.core.kernels import REFUSED

CLASSES = ("source", "sink", "function", "continuous", "sampled", "graphics")
DT = 0.1
MATRIX = np.array([[2.0, 1.0], [1.0, 3.0]])

# name -> (make(bd, clock) -> block, input values). Inputs default to one scalar 1.0 per port.
TABLE = {
    "ITEM": (lambda bd, c: bd.ITEM("a"), [{"a": 2.0}]),
    "DICT": (lambda bd, c: bd.DICT(["a", "b"]), [1.0, 2.0]),
    "MUX": (lambda bd, c: bd.MUX(2), [1.0, np.array([2.0, 3.0])]),
    "DEMUX": (lambda bd, c: bd.DEMUX(2), [np.array([1.0, 2.0])]),
    "INDEX": (lambda bd, c: bd.INDEX([1]), [np.array([1.0, 2.0])]),
    "SUM": (lambda bd, c: bd.SUM("+-"), [1.0, 0.25]),
    "PROD": (lambda bd, c: bd.PROD("**"), [2.0, 3.0]),
    "FUNCTION": (lambda bd, c: bd.FUNCTION(lambda x: 2 * x), [1.0]),
    "INTERPOLATE": (lambda bd, c: bd.INTERPOLATE(x=[0, 1], y=[0, 2], time=True), []),
    "INVERSE": (lambda bd, c: bd.INVERSE(), [MATRIX]),
    "TRANSPOSE": (lambda bd, c: bd.TRANSPOSE(), [MATRIX]),
    "NORM": (lambda bd, c: bd.NORM(), [np.array([3.0, 4.0])]),
    "FLATTEN": (lambda bd, c: bd.FLATTEN(), [MATRIX]),
    "SLICE2": (lambda bd, c: bd.SLICE2(rows=[0], cols=[1]), [MATRIX]),
    "SLICE1": (lambda bd, c: bd.SLICE1([1]), [np.array([1.0, 2.0])]),
    "DET": (lambda bd, c: bd.DET(), [MATRIX]),
    "COND": (lambda bd, c: bd.COND(), [MATRIX]),
    "POSE_POSTMUL": (lambda bd, c: bd.POSE_POSTMUL(SE3.Rx(0.1)), [SE3.Tx(1.0)]),
    "POSE_PREMUL": (lambda bd, c: bd.POSE_PREMUL(SE3.Rx(0.1)), [SE3.Tx(1.0)]),
    "TRANSFORM_VECTOR": (lambda bd, c: bd.TRANSFORM_VECTOR(), [SE3.Tx(1.0), np.array([1.0, 2.0, 3.0])]),
    "POSE_INVERSE": (lambda bd, c: bd.POSE_INVERSE(), [SE3.Tx(1.0)]),
    "LTI_SS": (lambda bd, c: bd.LTI_SS(A=np.array([[-1.0]]), B=np.array([[1.0]]), C=np.array([[1.0]])), [1.0]),
    "LTI_SISO": (lambda bd, c: bd.LTI_SISO(1, [1, 1]), [1.0]),
    "DERIV2": (lambda bd, c: bd.DERIV2(wn=10.0), [1.0]),
    "POSEINTEGRATOR": (lambda bd, c: bd.POSEINTEGRATOR(), [np.array([0.1, 0, 0, 0, 0, 0.2])]),
    "ZOH": (lambda bd, c: bd.ZOH(c), [1.0]),
    "INTEGRATOR_S": (lambda bd, c: bd.INTEGRATOR_S(c), [1.0]),
    "DERIV_S": (lambda bd, c: bd.DERIV_S(c), [1.0]),
    "LTI_SS_S": (lambda bd, c: bd.LTI_SS_S(c, A=np.array([[0.5]]), B=np.array([[1.0]]), C=np.array([[1.0]])),
                 [1.0]),
    "LTI_SISO_S": (lambda bd, c: bd.LTI_SISO_S(c, 1, [1, -0.5]), [1.0]),
    "DINTEGRATOR": (lambda bd, c: bd.DINTEGRATOR(c), [1.0]),
    "POSEINTEGRATOR_S": (lambda bd, c: bd.POSEINTEGRATOR_S(c), [np.array([0.1, 0, 0, 0, 0, 0.2])]),
    "DPOSEINTEGRATOR": (lambda bd, c: bd.DPOSEINTEGRATOR(c), [np.array([0.1, 0, 0, 0, 0, 0.2])]),
    "PRINT": (lambda bd, c: bd.PRINT(file=io.StringIO()), [1.0]),
    "STOP": (lambda bd, c: bd.STOP(), [0.0]),
    "EVENT": (lambda bd, c: bd.EVENT(direction="+", func=lambda x: x), [1.0]),
    "NULL": (lambda bd, c: bd.NULL(2), [1.0, 2.0]),
    "SCOPE": (lambda bd, c: bd.SCOPE(nin=2), [1.0, 2.0]),
    "SCOPEXY": (lambda bd, c: bd.SCOPEXY(), [1.0, 2.0]),
    "SCOPEXY1": (lambda bd, c: bd.SCOPEXY1(), [np.array([1.0, 2.0])]),
    "ANIMATION": (lambda bd, c: bd.ANIMATION(init=lambda block, fig, ax: None, update=lambda *a: None), [1.0]),
    "PIECEWISE": (lambda bd, c: bd.PIECEWISE((0, 0), (0.2, 1)), []),
}
# INPORT and OUTPORT exist only inside a subsystem: test_subsystem_ports runs them.
PORTS = {"INPORT", "OUTPORT"}

STOCK = {name: kind for name, (_, kind) in stock_blocks().items() if kind in CLASSES and name not in PORTS}


def test_the_enumeration_covers_every_class():
    kinds = set(STOCK.values())
    assert kinds == set(CLASSES)
    assert {"INTEGRATOR", "LTI_SS", "LTI_SISO", "ZOH", "SCOPE", "STEP", "GAIN", "SUM"} <= set(STOCK)


def build(name: str):
    bd = blockdiagram(f"stock {name}")
    clock = bd.clock(DT)
    make, inputs = TABLE.get(name, (lambda bd, c, n=name: getattr(bd, n)(), None))
    block = make(bd, clock)
    block.name = f"the {name.lower()}"
    if inputs is None:
        inputs = [1.0] * block.nin
    assert len(inputs) == block.nin, f"table gives {len(inputs)} inputs for {block.nin} ports"
    for port, value in enumerate(inputs):
        bd.connect(bd.CONSTANT(value), block[port])
    if block.nout:
        sink = bd.NULL(block.nout, name="outputs")
        for port in range(block.nout):
            bd.connect(block[port], sink[port])
    calls = []  # a witness block: it is evaluated at every step that runs
    witness = bd.FUNCTION(lambda t: calls.append(t) or t, name="witness")
    bd.connect(bd.TIME(), witness)
    bd.connect(witness, bd.NULL())
    return bd, block, calls


@pytest.mark.filterwarnings("ignore:.*is deprecated; use:FutureWarning")  # bdsim's DINTEGRATOR, DPOSEINTEGRATOR
@pytest.mark.parametrize("name", sorted(STOCK))
def test_stock_block_runs_or_is_refused_in_one_line(name, monkeypatch):
    monkeypatch.setattr(matplotlib, "get_backend", lambda: "agg")
    bd, block, calls = build(name)
    if block.type in REFUSED:
        with pytest.raises(DiagramError) as err:
            run(bd, 5, dt=DT)
        message = str(err.value)
        assert "\n" not in message and f"'{block.name}'" in message and "not supported" in message
        assert calls == []  # refused before the run, not during it
        return
    result = run(bd, 5, dt=DT)
    assert len(result.t) == 5
    np.testing.assert_allclose(calls, result.t)


def test_stock_values_under_exact_discrete_semantics():
    """A few stock blocks whose outputs are known exactly: ZOH (samples at its tick and holds: y(k) = u(k)),
    the discrete integrator, the sampled first-order system, and a continuous integrator fed a constant."""
    bd = blockdiagram()
    clock = bd.clock(1.0)
    u = bd.SEQUENCE([1.0, 2.0, 3.0, 4.0], clock, name="u")
    blocks = {
        "zoh": bd.ZOH(clock, name="zoh"),
        "dint": bd.INTEGRATOR_S(clock, name="dint"),
        "lti": bd.LTI_SISO_S(clock, 1, [1, -0.5], name="lti"),
        "int": bd.INTEGRATOR(name="int"),
    }
    recs = {}
    for key, b in blocks.items():
        bd.connect(u, b)
        recs[key] = bd.RECORDER(name=f"rec {key}")
        bd.connect(b, recs[key])
    res = run(bd)
    np.testing.assert_array_equal(np.ravel(res["rec zoh"]), [1, 2, 3, 4])
    np.testing.assert_array_equal(np.ravel(res["rec dint"]), [0, 1, 3, 6])  # x(k+1) = x(k) + T u(k)
    # 1/(z - 0.5): y(k) = 0.5 y(k-1) + u(k-1)
    np.testing.assert_allclose(np.ravel(res["rec lti"]), [0, 1, 2.5, 4.25], atol=1e-12)
    np.testing.assert_allclose(np.ravel(res["rec int"]), [0, 1, 3, 6], atol=1e-12)


def test_subsystem_ports():
    inner = blockdiagram("inner")
    port_in, port_out = inner.INPORT(1, name="in"), inner.OUTPORT(1, name="out")
    gain = inner.GAIN(3.0, name="triple")
    inner.connect(port_in, gain)
    inner.connect(gain, port_out)
    bd = blockdiagram()
    sub = bd.SUBSYSTEM(inner, name="sub")
    bd.connect(bd.CONSTANT(2.0), sub)
    rec = bd.RECORDER(name="y")
    bd.connect(sub, rec)
    np.testing.assert_array_equal(np.ravel(run(bd, 2)["y"]), [6.0, 6.0])


def test_stop_ends_the_run_at_the_first_true_input():
    bd = blockdiagram()
    t = bd.TIME(name="t")
    stop = bd.STOP(lambda t: t > 0.45, name="stop")
    bd.connect(t, stop)
    rec = bd.RECORDER(name="t rec")
    bd.connect(t, rec)
    res = run(bd, 100, dt=0.1)
    np.testing.assert_allclose(res.t, [0, 0.1, 0.2, 0.3, 0.4, 0.5])
    np.testing.assert_allclose(np.ravel(res["t rec"]), res.t)


def test_watch_returns_the_watched_signal():
    bd = blockdiagram()
    ramp = bd.RAMP(T=0.0, name="ramp")
    watch = bd.WATCH(name="watched")
    bd.connect(ramp, watch)
    res = run(bd, 4, dt=0.5)
    np.testing.assert_allclose(np.ravel(res["watched"]), [0.0, 0.5, 1.0, 1.5])


def test_scope_draws_its_figure_headless(monkeypatch):
    monkeypatch.setattr(matplotlib, "get_backend", lambda: "agg")
    bd = blockdiagram()
    wave = bd.WAVEFORM("sine", freq=0.5, name="wave")
    integ = bd.INTEGRATOR(name="integral")
    scope = bd.SCOPE(nin=2, labels=["sine", "its integral"], name="scope")
    bd.connect(wave, integ, scope[0])
    bd.connect(integ, scope[1])
    res = run(bd, 41, dt=0.1)
    fig = res.figures["scope"]
    lines = fig.axes[0].get_lines()
    assert [line.get_label() for line in lines] == ["sine", "its integral"]
    x, y = lines[1].get_data()
    np.testing.assert_allclose(x, res.t)
    # the integral of sin(pi t) is (1 - cos(pi t)) / pi
    np.testing.assert_allclose(y, (1 - np.cos(np.pi * res.t)) / np.pi, atol=1e-6)


def test_scope_follows_the_run_live_with_an_interactive_backend(monkeypatch):
    import matplotlib.pyplot as plt

    from lstmds_sim.core import scope as scope_module

    seen = []  # points on the scope's line at each redraw
    monkeypatch.setattr(scope_module, "interactive_backend", lambda: True)
    monkeypatch.setattr(scope_module, "_REDRAW_S", 0.0)  # redraw at every step
    monkeypatch.setattr(plt, "pause", lambda interval: seen.append(len(plt.gcf().axes[0].get_lines()[0].get_xdata())))
    bd = blockdiagram()
    ramp = bd.RAMP(T=0.0, name="ramp")
    bd.connect(ramp, bd.SCOPE(name="live scope"))
    res = run(bd, 6, dt=1.0)
    assert seen[:6] == [1, 2, 3, 4, 5, 6]  # drawn at the first step, then updated at each step
    np.testing.assert_allclose(res.figures["live scope"].axes[0].get_lines()[0].get_ydata(), np.arange(6.0))
