"""Compiled programs that take block parameters as arguments, and re-runs that do not compile again.

`compile_run(bd, params=[names])` makes the named blocks' parameters (a CONSTANT's value, a MATGAIN's or
GAIN's K) arguments of the program; `.run(params={name: value})` must equal the numpy matrices of the
network with those values (an independent implementation). `run(bd, backend="jax")` on a diagram it has
compiled, unchanged, reuses the program; a changed block parameter or data compiles again.
"""

import numpy as np
import pytest

from lstmds_sim import LSTMParams, lstm_diagram, run, simulate
from lstmds_sim.core.compiled import compile_run
from lstmds_sim.core.errors import ArgumentError, UnknownNameError

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.fixture(scope="module")
def network():
    rng = np.random.default_rng(0)
    params = LSTMParams.random(1, 3, 1, rng=rng)
    u = rng.uniform(-1, 1, (60, 1))
    return params, u


def with_gate(params: LSTMParams, gate: str, *, R=None, b=None) -> LSTMParams:
    """``params`` with the rows of one gate's R (and b) replaced."""
    rows = slice("ifgo".index(gate) * params.n_units, ("ifgo".index(gate) + 1) * params.n_units)
    R_all, b_all = np.array(params.R), np.array(params.b)
    if R is not None:
        R_all[rows] = R
    if b is not None:
        b_all[rows] = b
    return LSTMParams(params.W, R_all, b_all, params.F, params.bF)


def test_a_matgain_parameter_changes_without_compiling_again(network):
    params, u = network
    program = compile_run(lstm_diagram(params, u)[0], params=["Rf", "Ri"])
    assert program.params == {"Rf": (3, 3), "Ri": (3, 3)}
    compiled = program._compiled
    for scale in (0.0, 0.5, 2.0):
        Rf = params.gate("f")[1] * scale
        got = program.run(params={"Rf": Rf})["y"]
        want = simulate(with_gate(params, "f", R=Rf), u).y
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-12)
    assert program._compiled is compiled  # the same executable every time
    # a parameter not given keeps the diagram's value
    np.testing.assert_allclose(program.run()["y"], simulate(params, u).y, rtol=0, atol=1e-12)


def test_bad_params_are_one_line(network):
    params, u = network
    with pytest.raises(ArgumentError, match="SEQUENCE block 'u' has no parameter a run can replace") as err:
        compile_run(lstm_diagram(params, u)[0], params=["u"])
    assert "\n" not in str(err.value) and "'Wi'" in str(err.value)
    with pytest.raises(ArgumentError, match="no block is named 'nope'"):
        compile_run(lstm_diagram(params, u)[0], params=["nope"])
    program = compile_run(lstm_diagram(params, u)[0], params=["Wf"])
    with pytest.raises(UnknownNameError, match="no block named 'Wi' takes a parameter"):
        program.run(params={"Wi": np.zeros((3, 1))})
    with pytest.raises(ValueError, match=r"params\['Wf'\] has shape \(3, 2\)"):
        program.run(params={"Wf": np.zeros((3, 2))})


def test_running_a_compiled_diagram_again_reuses_its_program(network):
    params, u = network
    bd, _ = lstm_diagram(params, u.copy())
    first = run(bd, backend="jax", probes=["c"])
    again = run(bd, backend="jax", probes=["c"])
    assert first.timing["compile_s"] > 0 and again.timing["compile_s"] == 0.0
    np.testing.assert_array_equal(first["y"], again["y"])
    np.testing.assert_array_equal(first["c"], again["c"])
    other = run(bd, backend="jax", probes=["h"])  # other probes: another program
    assert other.timing["compile_s"] > 0


def test_a_changed_block_compiles_again_and_follows_the_change(network):
    params, u = network
    bd, _ = lstm_diagram(params, u.copy())
    run(bd, backend="jax")
    source = next(b for b in bd.blocklist if b.type == "sequence")
    source.data[...] = 0.5 * source.data  # the user changes the input in place
    changed = run(bd, backend="jax")
    assert changed.timing["compile_s"] > 0
    np.testing.assert_allclose(changed["y"], simulate(params, 0.5 * u).y, rtol=0, atol=1e-12)
