"""The linear reference diagram: discrete state-space blocks against scipy.signal.dlsim (<= 1e-12).

The DSS block takes a discrete ``scipy.signal.StateSpace`` carrying its sample
time, ``bd.DSS(system, clock=...)``, or its matrices, ``bd.DSS(A, B, C, D, clock=...)``
(Simulink's form); both are tested.
"""

import numpy as np
import pytest
from scipy import signal

import lstmds_sim as L


TS = 0.01


def stable_system(rng, n, m, p, dt=TS):
    """A random stable discrete ``scipy.signal.StateSpace`` with sample time ``dt``."""
    A = rng.standard_normal((n, n))
    A *= 0.9 / max(abs(np.linalg.eigvals(A)))
    return signal.StateSpace(A, rng.standard_normal((n, m)), rng.standard_normal((p, n)), rng.standard_normal((p, m)),
                             dt=dt)


def abcd(system):
    return system.A, system.B, system.C, system.D


def dss_diagram(system, u, x0=None, Ts=TS, block="DSS"):
    """u -> plant -> y; ``system`` is a StateSpace (DSS(system)) or the matrices (DSS(A, B, C, D))."""
    bd = L.blockdiagram()
    clock = bd.clock(Ts, "s")
    src = bd.SEQUENCE(u, clock, name="u")
    if block == "DSS":
        args = (system,) if isinstance(system, signal.StateSpace) else tuple(system)
        plant = bd.DSS(*args, clock=clock, x0=x0, name="plant")
    else:  # bdsim's own sampled state-space block, run by our runner
        plant = bd.LTI_SS_S(clock, *abcd(system), x0=x0, name="plant")
    bd.connect(src, plant, name="u")
    bd.connect(plant, bd.RECORDER(name="y"), name="y")
    return bd


@pytest.mark.parametrize("form", ["statespace", "matrices"])
@pytest.mark.parametrize("n, m, p", [(2, 1, 1), (4, 1, 1), (3, 2, 3), (6, 3, 2), (5, 3, 1)])
def test_dss_block_matches_dlsim(rng, n, m, p, form):
    system = stable_system(rng, n, m, p)
    u = rng.standard_normal((60, m))
    x0 = rng.standard_normal(n)
    _, y_ref, _ = signal.dlsim(system, u, x0=x0)
    y = L.run(dss_diagram(system if form == "statespace" else abcd(system), u, x0)).recorders["y"]
    np.testing.assert_allclose(y, y_ref.reshape(60, p), rtol=0, atol=1e-12 * max(1.0, np.abs(y_ref).max()))


def test_batched_dss_equals_one_sequence_at_a_time(rng):
    system = stable_system(rng, 4, 2, 2)
    u = rng.standard_normal((9, 30, 2))
    x0 = rng.standard_normal((9, 4))
    y = L.run(dss_diagram(system, u, x0)).recorders["y"]
    assert y.shape == (9, 30, 2)
    for k in range(9):
        _, y_ref, _ = signal.dlsim(system, u[k], x0=x0[k])
        np.testing.assert_allclose(y[k], y_ref, rtol=0, atol=1e-12 * np.abs(y_ref).max())


def test_strictly_proper_dss_with_unbatched_x0_on_a_batched_input(rng):
    """D = 0: the output at step 0 is C x0, unbatched until the batched input arrives; recorded as (B, T, p)."""
    A, B, C, _ = abcd(stable_system(rng, 3, 1, 2))
    system = signal.StateSpace(A, B, C, np.zeros((2, 1)), dt=TS)
    u = rng.standard_normal((4, 10, 1))
    y = L.run(dss_diagram(system, u)).recorders["y"]
    assert y.shape == (4, 10, 2)
    for b in range(4):
        _, y_ref, _ = signal.dlsim(system, u[b])
        np.testing.assert_allclose(y[b], y_ref, rtol=0, atol=1e-12)


def test_bdsims_sampled_state_space_block_runs_exactly_too(rng):
    system = stable_system(rng, 3, 1, 1)
    u = rng.standard_normal((40, 1))
    _, y_ref, _ = signal.dlsim(system, u)
    y = L.run(dss_diagram(system, u, x0=np.zeros(3), block="LTI_SS_S")).recorders["y"]
    np.testing.assert_allclose(np.ravel(y), np.ravel(y_ref), rtol=0, atol=1e-12 * np.abs(y_ref).max())


def test_dss_shape_errors_name_the_matrix():
    bd = L.blockdiagram()
    clock = bd.clock(0.01, "s")
    with pytest.raises(L.ShapeError, match=r"DSS block 'plant': B \(n = 2 states\) has shape \(3, 1\), expected \(2, any\)"):
        bd.DSS(np.eye(2), np.ones((3, 1)), np.ones((1, 2)), clock=clock, name="plant")
    with pytest.raises(L.ShapeError, match=r"D \(p = 1 outputs, m = 1 inputs\) has shape \(2, 2\)"):
        bd.DSS(np.eye(2), np.ones((2, 1)), np.ones((1, 2)), np.ones((2, 2)), clock=clock, name="plant2")
    with pytest.raises(ValueError, match="give the clock"):
        bd.DSS(np.eye(2), np.ones((2, 1)), np.ones((1, 2)), name="plant3")
    with pytest.raises(L.ShapeError, match=r"DSS block 'plant4': B \(n = 3 states\) has shape \(2,\)"):
        bd.DSS(np.eye(3), [1.0, 2.0], np.ones(3), clock=clock, name="plant4")
    with pytest.raises(L.ShapeError, match=r"DSS block 'plant5': A has shape \(2, 3\), expected a square"):
        bd.DSS(np.ones((2, 3)), [1.0, 2.0], np.ones(2), clock=clock, name="plant5")


def test_one_dimensional_b_and_c_are_a_column_and_a_row(rng):
    A, B, C, _ = abcd(stable_system(rng, 3, 1, 1))
    u = rng.standard_normal((20, 1))
    y = L.run(dss_diagram((A, B.ravel(), C.ravel(), 0.0), u)).recorders["y"]
    _, y_ref, _ = signal.dlsim((A, B, C, np.zeros((1, 1)), TS), u)
    np.testing.assert_allclose(y, y_ref, rtol=0, atol=1e-12)


def test_scalar_and_one_state_systems_like_matlab_ss(rng):
    """A scalar B or C is 1 x 1; with one state, vectors are B's row and C's column."""
    u = rng.standard_normal((15, 2))
    y = L.run(dss_diagram((0.9, [1.0, -2.0], [1.0, 3.0], 0.0), u)).recorders["y"]
    _, y_ref, _ = signal.dlsim(([[0.9]], [[1.0, -2.0]], [[1.0], [3.0]], np.zeros((2, 2)), TS), u)
    np.testing.assert_allclose(y, y_ref, rtol=0, atol=1e-12)
    y = L.run(dss_diagram((0.9, [1.0, -2.0], [1.0, 3.0], np.zeros((1, 1))), u)).recorders["y"]  # loadmat's D = 0
    np.testing.assert_allclose(y, y_ref, rtol=0, atol=1e-12)
    y = L.run(dss_diagram((0.5, 1, 2, 0), u[:, :1])).recorders["y"]
    _, y_ref, _ = signal.dlsim(([[0.5]], [[1.0]], [[2.0]], [[0.0]], TS), u[:, :1])
    np.testing.assert_allclose(y, y_ref, rtol=0, atol=1e-12)


def test_dss_refuses_a_system_whose_dt_is_not_the_clocks(rng):
    bd = L.blockdiagram()
    clock = bd.clock(TS, "s")
    system = stable_system(rng, 2, 1, 1, dt=0.02)
    with pytest.raises(ValueError, match=r"DSS block 'plant': the system's sample time dt = 0.02 differs from "
                                         r"the clock's period 0.01"):
        bd.DSS(system, clock=clock, name="plant")
    continuous = signal.StateSpace(-np.eye(2), np.ones((2, 1)), np.ones((1, 2)), np.zeros((1, 1)))
    with pytest.raises(ValueError, match=r"DSS block 'plant2': the system is continuous-time.*to_discrete\(Ts\)"):
        bd.DSS(continuous, clock=clock, name="plant2")
    with pytest.raises(ValueError, match=r"DSS block 'plant3': a StateSpace holds B, C and D already"):
        bd.DSS(stable_system(rng, 2, 1, 1), np.ones((2, 1)), clock=clock, name="plant3")
    with pytest.raises(ValueError, match=r"DSS block 'plant4': give the system as a discrete scipy.signal.StateSpace"):
        bd.DSS(np.eye(2), clock=clock, name="plant4")
    bd.DSS(stable_system(rng, 2, 1, 1, dt=TS), clock=clock, name="plant5")  # the same dt is fine


def test_dss_docstring_pairs_every_param_with_a_type():
    """bdsim reads the block's parameters from ``:param x:`` / ``:type x:`` pairs."""
    import re

    from lstmds_sim.blocks.linear import DSS

    doc = DSS.__init__.__doc__
    params = re.findall(r":param (\w+):", doc)
    types = re.findall(r":type (\w+):", doc)
    assert params[:2] == ["A", "B"] and params == types
