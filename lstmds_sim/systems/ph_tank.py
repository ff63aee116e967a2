"""The pH neutralisation tank drawn from primitive blocks: the Simulink-style twin of ``PHPLANT``.

The sealed ``PHPLANT`` block integrates the tank inside one block
(:mod:`lstmds_sim.systems.ph_plant`). Here the same equations are drawn as a
bdsim block diagram, one block per operation, as one would draw them in
Simulink, so that every term of the balances is a wire that can be probed::

    A dh/dt     = q1 + q2 + q3 - q4,              q4 = Cv4 (h + z)^n
    A h dWa4/dt = q1 (Wa1 - Wa4) + q2 (Wa2 - Wa4) + q3 (Wa3 - Wa4)
    A h dWb4/dt = q1 (Wb1 - Wb4) + q2 (Wb2 - Wb4) + q3 (Wb3 - Wb4)
    0 = Wa4 + 10^(pH-14) - 10^(-pH) + Wb4 (1 + 2 10^(pH-pK2)) / (1 + 10^(pK1-pH) + 10^(pH-pK2))

(flows in ml/s, ``A`` in cm^2, levels in cm, invariants in mol/L, time in s;
see :mod:`lstmds_sim.systems.ph_plant`). The invariant balances are drawn in
their equivalent "inflow minus dilution" form, with ``q_in = q1 + q2 + q3``::

    dWa4/dt = (q1 Wa1 + q2 Wa2 + q3 Wa3 - q_in Wa4) / (A h)        (likewise Wb4)

The blocks
----------
Names as drawn (``add_ph_tank(prefix=...)`` puts a prefix before each), with
the wire each one drives::

    block           type             computes                                    output wire
    q1, q2          CONSTANT         the acid and buffer streams (params.q1, q2)  q1, q2
    (input)         INPORT / caller  the base stream, the manipulated input       q3
    sum q_in        SUM "+++"        q_in = q1 + q2 + q3                          q_in
    valve q4        FUNCTION         q4 = Cv4 (h + z)^n, the outflow              q4
    sum dh          SUM "+-"         A dh/dt = q_in - q4, the net flow            A*dh/dt
    divide by A     GAIN 1/A         dh/dt                                        dh/dt
    h               INTEGRATOR       the level h                                  h
    A*h             GAIN A           the liquid volume A h                        A*h
    reciprocal      POW -1           1 / (A h)                                    1/(A*h)
    Wa1, Wa2, Wa3   GAIN Wai         the streams' charge qi Wai                   Wa1*q1, Wa2*q2, Wa3*q3
    sum Wa_in       SUM "+++"        Wa_in = q1 Wa1 + q2 Wa2 + q3 Wa3             Wa_in
    q_in*Wa4        HADAMARD         the dilution term q_in Wa4                   q_in*Wa4
    sum dWa4        SUM "+-"         A h dWa4/dt = Wa_in - q_in Wa4               A*h*dWa4/dt
    Wa4 rate        HADAMARD         dWa4/dt = (A h dWa4/dt) * 1/(A h)            dWa4/dt
    Wa4             INTEGRATOR       the charge invariant Wa4                     Wa4
    Wb1 ... Wb4     the same eight blocks for the carbonate invariant Wb4         Wb1*q1 ... Wb4
    pH              FUNCTION, 2 in   the charge balance solved for the pH         pH
                                     (ph_plant.ph_from_invariants)

That is 3 INTEGRATOR, 8 GAIN, 6 SUM, 4 HADAMARD, 1 POW, 2 FUNCTION and 2
CONSTANT blocks; :func:`ph_tank_subsystem` adds the INPORT ``q3`` and the
OUTPORT ``out``.

The loops. The *level loop* runs ``h -> valve q4 -> sum dh -> divide by A -> h``:
the valve drains more as the level rises (self-regulation, time constant about
265 s). The two *invariant loops* run through the dilution terms,
``Wa4 -> q_in*Wa4 -> sum dWa4 -> Wa4 rate -> Wa4`` (likewise ``Wb4``): the
inflow replaces the tank's content (residence time about 88 s). The level
feeds the invariant loops through ``A*h -> reciprocal`` (a bigger tank mixes
more slowly); nothing feeds back from the invariants to the level, and the pH
is an algebraic read-out that closes no loop.

Signals and batching
--------------------
Every signal is a scalar per tank: ``(1,)``, or ``(B, 1)`` for a batch of B
tanks (a Python float works too). Every block works elementwise: ``SUM``,
scalar ``GAIN`` and ``POW`` use numpy broadcasting, ``HADAMARD`` multiplies
element by element (accepting a ``(1,)`` operand beside a ``(B, 1)`` one), and
the two ``FUNCTION`` blocks call numpy functions (:func:`valve_flow`,
:func:`effluent_ph`) that keep the shape of their inputs. The loads ``q1``,
``q2`` are plain floats, which broadcast against any of these shapes. Each
``INTEGRATOR`` holds a flat ``(1,)`` state per tank (``x0`` is the tank's
``(3,)`` initial state split in three); a batch of B tanks starting from the
same state is the engine's business (it broadcasts the state to ``(B, 1)``).

The diagram has continuous states: bdsim's stock ``INTEGRATOR`` returns a
one-element state as a float and its ``deriv`` wants a vector, so batched
runs need the engine's own integrator kernel (which keeps the state shaped).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ..core.engine import blockdiagram
from ..core.validation import ShapeError, as_float_array, check_finite
from .ph_plant import DEFAULT_PARAMS, PHParams, ph_from_invariants, steady_state

TANK_SIGNALS = (
    "q1", "q2", "q3", "q_in", "q4", "A*dh/dt", "dh/dt", "h", "A*h", "1/(A*h)",
    "Wa1*q1", "Wa2*q2", "Wa3*q3", "Wa_in", "q_in*Wa4", "A*h*dWa4/dt", "dWa4/dt", "Wa4",
    "Wb1*q1", "Wb2*q2", "Wb3*q3", "Wb_in", "q_in*Wb4", "A*h*dWb4/dt", "dWb4/dt", "Wb4",
    "pH",
)
"""The named wires of the tank (``pH`` is named where it leaves: the subsystem's OUTPORT, or the caller's wire)."""


class TankBlocks(NamedTuple):
    """What :func:`add_ph_tank` returns: the pH read-out and the three integrators (the state)."""

    pH: object
    h: object
    Wa4: object
    Wb4: object


def valve_flow(h, params: PHParams = DEFAULT_PARAMS):
    """The valve's outflow ``q4 = Cv4 (h + z)^n`` [ml/s], elementwise (the ``valve q4`` block).

    Written with numpy so that a (1,) or (B, 1) level gives the same shape
    (a float gives a float); below the valve (``h + z < 0``) it is NaN.
    """
    return params.Cv4 * np.power(np.add(h, params.z), params.n)


def effluent_ph(Wa4, Wb4, params: PHParams = DEFAULT_PARAMS):
    """The pH from the invariants (the ``pH`` block): :func:`ph_from_invariants`, at least (1,).

    Two floats (bdsim's stock ``INTEGRATOR`` outputs a one-element state as a
    float) give (1,), the shape of the sealed ``PHPLANT`` block's output;
    arrays give the broadcast shape of the inputs.
    """
    return np.atleast_1d(ph_from_invariants(Wa4, Wb4, params))


# the compiled backend runs these FUNCTION blocks with their jax.numpy twins (imported when compiling)
valve_flow.jax_twin = "lstmds_sim.systems.ph_jax:valve_flow_jax"
effluent_ph.jax_twin = "lstmds_sim.systems.ph_jax:effluent_ph_jax"


def tank_state(x0, q3_0: float = 15.55, params: PHParams = DEFAULT_PARAMS, what: str = "ph_tank") -> np.ndarray:
    """The tank's initial state ``(h, Wa4, Wb4)``, shape (3,): ``x0``, or the steady state at ``q3_0``."""
    if x0 is None:
        return np.asarray(steady_state(q3_0, params).x, dtype=np.float64).reshape(3)
    x = check_finite(as_float_array(x0, f"{what}: x0"), f"{what}: x0")
    if x.shape != (3,):
        raise ShapeError(
            f"{what}: x0 has shape {x.shape}, expected (3,) = (h, Wa4, Wb4), one tank "
            "(a batch of tanks starting from the same state takes the (3,) state; the engine broadcasts it)"
        )
    if not x[0] > 0:
        raise ValueError(f"{what}: x0: the initial level h must be positive (cm), got {x[0]!r}")
    if x[2] < 0:
        raise ValueError(f"{what}: x0: the carbonate invariant Wb4 must be >= 0 (mol/L), got {x[2]!r}")
    return x


def add_ph_tank(bd, q3, *, params: PHParams = DEFAULT_PARAMS, x0=None, q3_0: float = 15.55,
                prefix: str = "") -> TankBlocks:
    """Draw the pH tank into ``bd``, driven by the base flow ``q3`` (a block or a plug); return its blocks.

    ``x0`` is the initial state ``(h [cm], Wa4, Wb4 [mol/L])``, shape (3,),
    defaulting to the steady state at the base flow ``q3_0`` [ml/s] (as
    ``PHPLANT``). ``prefix`` (e.g. ``"tank/"``) is put before every block name so
    that several tanks can share one diagram. Returns :class:`TankBlocks`: connect
    ``.pH`` to what reads the effluent pH; ``.h``, ``.Wa4``, ``.Wb4`` are the
    integrators (the state). The blocks are listed in the module docstring.
    """
    p = prefix
    tank = f"pH tank '{p.rstrip('/') or bd.name}'"
    if not isinstance(params, PHParams):
        raise TypeError(f"{tank}: params must be a PHParams (e.g. PHParams()), got {type(params).__name__}")
    x = tank_state(x0, q3_0, params, tank)

    # the level: A dh/dt = q1 + q2 + q3 - q4
    q1 = bd.CONSTANT(float(params.q1), name=f"{p}q1")
    q2 = bd.CONSTANT(float(params.q2), name=f"{p}q2")
    q_in = bd.SUM("+++", name=f"{p}sum q_in")
    valve = bd.FUNCTION(valve_flow, nin=1, fkwargs={"params": params}, name=f"{p}valve q4")
    net = bd.SUM("+-", name=f"{p}sum dh")
    per_area = bd.GAIN(1.0 / params.A, name=f"{p}divide by A")
    h = bd.INTEGRATOR(x0=x[0:1], name=f"{p}h")
    bd.connect(q1, q_in[0], name="q1")
    bd.connect(q2, q_in[1], name="q2")
    bd.connect(q3, q_in[2], name="q3")
    bd.connect(q_in, net[0], name="q_in")
    bd.connect(valve, net[1], name="q4")
    bd.connect(net, per_area, name="A*dh/dt")
    bd.connect(per_area, h, name="dh/dt")

    # the volume A h and its reciprocal, shared by both invariant balances
    volume = bd.GAIN(float(params.A), name=f"{p}A*h")
    reciprocal = bd.POW(-1.0, name=f"{p}reciprocal")
    bd.connect(h, valve, volume, name="h")
    bd.connect(volume, reciprocal, name="A*h")

    # the invariants: A h dW4/dt = q1 W1 + q2 W2 + q3 W3 - q_in W4, for W = Wa, Wb
    states = {}
    for w, start in (("Wa", 1), ("Wb", 2)):
        inflow = bd.SUM("+++", name=f"{p}sum {w}_in")
        for i, (flow, name) in enumerate(((q1, "q1"), (q2, "q2"), (q3, "q3")), start=1):
            concentration = bd.GAIN(float(getattr(params, f"{w}{i}")), name=f"{p}{w}{i}")
            bd.connect(flow, concentration, name=name)
            bd.connect(concentration, inflow[i - 1], name=f"{w}{i}*{name}")
        dilution = bd.HADAMARD(name=f"{p}q_in*{w}4")
        balance = bd.SUM("+-", name=f"{p}sum d{w}4")
        rate = bd.HADAMARD(name=f"{p}{w}4 rate")
        state = bd.INTEGRATOR(x0=x[start:start + 1], name=f"{p}{w}4")
        bd.connect(q_in, dilution[0], name="q_in")
        bd.connect(state, dilution[1], name=f"{w}4")
        bd.connect(inflow, balance[0], name=f"{w}_in")
        bd.connect(dilution, balance[1], name=f"q_in*{w}4")
        bd.connect(balance, rate[0], name=f"A*h*d{w}4/dt")
        bd.connect(reciprocal, rate[1], name="1/(A*h)")
        bd.connect(rate, state, name=f"d{w}4/dt")
        states[w] = state

    # the effluent pH: the charge balance, an algebraic read-out of the invariants
    ph = bd.FUNCTION(effluent_ph, nin=2, fkwargs={"params": params}, name=f"{p}pH")
    bd.connect(states["Wa"], ph[0], name="Wa4")
    bd.connect(states["Wb"], ph[1], name="Wb4")
    return TankBlocks(ph, h, states["Wa"], states["Wb"])


def ph_tank_subsystem(*, params: PHParams = DEFAULT_PARAMS, x0=None, q3_0: float = 15.55,
                      name: str = "ph_tank", level: bool = False):
    """The pH tank as a bdsim subsystem diagram: INPORT ``q3`` -> ... -> OUTPORT ``out`` (the pH).

    Use it as ``bd.SUBSYSTEM(ph_tank_subsystem(...), name="ph_tank")``, fed with
    the base flow q3 [ml/s]; output port 0 is the effluent pH, like ``PHPLANT``.
    With ``level=True`` the subsystem has a second output port, the level h [cm].
    ``params``, ``x0`` and ``q3_0`` are as in :func:`add_ph_tank`.
    """
    inner = blockdiagram(name)
    inport = inner.INPORT(1, name="q3")
    outport = inner.OUTPORT(2 if level else 1, name="out")
    tank = add_ph_tank(inner, inport[0], params=params, x0=x0, q3_0=q3_0)
    inner.connect(tank.pH, outport[0], name="pH")
    if level:
        inner.connect(tank.h, outport[1], name="h")
    return inner
