"""Input-to-state stability (ISS) of an LSTM: the certificate of Theorem 4.

Bonassi, Terzi, Farina, Scattolini (L4DC 2020), Theorem 4, for the LSTM in
state-space form (eq. 2; ``x`` cell state, ``xi`` hidden state)::

    x+  = sigmoid(Wf u + Uf xi + bf) * x + sigmoid(Wi u + Ui xi + bi) * tanh(Wc u + Uc xi + bc)
    xi+ = sigmoid(Wo u + Uo xi + bo) * tanh(x+)
    y   = C xi + by

In this package's notation (:class:`~lstmds_sim.core.params.LSTMParams`) the gate
``g`` of ``params.gate(g)`` is ``(W_g, U_g, b_g)`` with ``U = R`` rows,
the candidate gate ``c`` of the paper is ``"g"``, ``C = F`` and ``by = bF``.

**Inputs are assumed normalised to** ``[-1, 1]`` (the paper's (3a)).  The gate
bounds ``sigma_g = sigmoid(|| [W_g U_g b_g] ||_inf)`` are the largest value the
gate can take over the whole set ``|u| <= 1``, ``|xi| <= 1`` (the hidden state
always lies in ``(-1, 1)``), so the conditions certify ISS for every input in
that set, not only for the data the network was trained on.  With inputs in a
smaller box ``|u| <= rho`` the same proof holds with the tighter
``sigmoid(|| [rho W_g  U_g  b_g] ||_inf)`` (argument ``input_bound``).

Contents
--------
:func:`gate_sigma`, :func:`iss_check` (Theorem 4 and the later single
condition), :func:`iss_check_layers` (Remark 6). Guaranteed bounds on the
reachable set, beyond the paper, are in :mod:`lstmds_sim.safety.bounds`.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Sequence

import numpy as np

from ..core.activations import sigmoid
from ..core.params import LSTMParams, as_layers
from ..core.validation import nonnegative

CONDITIONS = ("theorem4", "single")
_NORM_NAMES = {1: "1", 2: "2", math.inf: "inf"}


# --------------------------------------------------------------------------- norms
def _norm_order(ord) -> float:
    """Accept 1, 2, inf (or "inf") as the order of an induced matrix norm."""
    if isinstance(ord, str) and ord.lower() == "inf":
        return math.inf
    if ord in (1, 2) or ord == math.inf:
        return math.inf if ord == math.inf else int(ord)
    raise ValueError(f"uc_norm must be 1, 2 or 'inf' (induced matrix norm), got {ord!r}")


def induced_norm(A, ord=1) -> float:
    """Induced matrix norm: 1 = max column sum of |A|, inf = max row sum, 2 = largest singular value."""
    A = np.atleast_2d(np.asarray(A, dtype=float))
    return float(np.linalg.norm(A, _norm_order(ord)))


def gate_norm(params: LSTMParams, gate: str, input_bound: float = 1.0) -> float:
    """``|| [rho W_g  U_g  b_g] ||_inf``: the largest ``|W_g u + U_g xi + b_g|_inf`` over the box.

    The maximum of row ``j`` of ``W u + U xi + b`` over ``|u| <= rho``,
    ``|xi| <= 1`` is ``rho |W_j|_1 + |U_j|_1 + b_j`` (``|W_j| rho`` for one bound per input); the paper bounds the bias
    entry by ``|b_j|`` (it stacks ``zeta = [u; xi; 1]`` and maximises over
    ``zeta`` in ``[-1, 1]``), which gives the induced inf-norm of the stacked
    matrix.  ``input_bound = 1`` is the paper's ``|| [W_g U_g b_g] ||_inf``.
    """
    W, U, b = params.gate(gate)
    rho = np.broadcast_to(np.asarray(input_bound, dtype=float), W.shape[1:])
    rows = np.abs(W) @ rho + np.abs(U).sum(axis=1) + np.abs(b)
    return float(rows.max())


def gate_sigma(params: LSTMParams, gate: str, input_bound: float = 1.0) -> float:
    """``sigma_g = sigmoid(|| [W_g U_g b_g] ||_inf)``: an upper bound on every entry of gate ``g``.

    Parameters
    ----------
    params : LSTMParams
    gate : ``"i"``, ``"f"`` or ``"o"`` (``"g"`` is accepted but is a tanh, not a sigmoid, in the LSTM)
    input_bound : rho, the bound on ``|u|_inf`` (1 for inputs normalised to [-1, 1]), or one
        bound per input
    """
    return float(sigmoid(gate_norm(params, gate, input_bound)))


# --------------------------------------------------------------------------- Theorem 4
@dataclass(frozen=True)
class ISSReport:
    """Outcome of :func:`iss_check` for one layer.

    Attributes
    ----------
    condition : ``"theorem4"`` (the paper's pair (7)) or ``"single"``
    sigma_i, sigma_f, sigma_o : gate bounds ``sigmoid(|| [W_g U_g b_g] ||_inf)``
    uc_norm : the induced norm of ``U_c`` used in the condition (order ``uc_ord``)
    uc_norm_1, uc_norm_2 : ``||U_c||_1`` (max column sum) and ``||U_c||_2`` (spectral), for reference
    inequalities : the conditions as text, each ``... < 1``
    lhs : their left-hand sides
    margins : ``1 - lhs`` (positive where the inequality holds)
    satisfied : every inequality holds
    input_bound : rho, the bound on ``|u|_inf`` the sigmas were computed for
    """

    condition: str
    sigma_i: float
    sigma_f: float
    sigma_o: float
    uc_ord: str
    uc_norm: float
    uc_norm_1: float
    uc_norm_2: float
    inequalities: tuple[str, ...]
    lhs: tuple[float, ...]
    margins: tuple[float, ...]
    satisfied: bool
    input_bound: float = 1.0

    @property
    def margin(self) -> float:
        """The smallest margin: positive iff the condition holds."""
        return min(self.margins)

    def as_dict(self) -> dict:
        """Plain floats, strings, lists and a bool (``json.dumps`` ready)."""
        out = asdict(self)
        for key in ("inequalities", "lhs", "margins"):
            out[key] = list(out[key])
        out["margin"] = self.margin
        return out


def iss_check(
    params: LSTMParams,
    *,
    condition: str = "theorem4",
    uc_norm=None,
    input_bound: float = 1.0,
) -> ISSReport:
    """Check the sufficient ISS condition of one LSTM layer.

    ``condition="theorem4"`` is the paper's pair (7)::

        (1 + sigma_o) sigma_f          < 1
        (1 + sigma_o) sigma_i ||U_c||_1 < 1

    proved with the ISS-Lyapunov function ``V = |x|_1 + |xi|_1``.

    ``condition="single"`` is the less conservative condition of later work by
    the same group::

        sigma_f + sigma_o sigma_i ||U_c||_2 < 1

    Sketch of why it suffices (for any induced norm p): elementwise
    ``|x+| <= sigma_f |x| + sigma_i |U_c xi + W_c u + b_c|`` and
    ``|xi| <= sigma_o |x|`` (from the previous step), so
    ``||x+|| <= (sigma_f + sigma_o sigma_i ||U_c||) ||x|| + (input and bias terms)``:
    a contraction with an input gain.  The pair implies the single condition
    for the *same* norm: ``sigma_f < 1/(1+sigma_o)`` and
    ``sigma_i ||U_c|| < 1/(1+sigma_o)`` give
    ``sigma_f + sigma_o sigma_i ||U_c|| < (1 + sigma_o)/(1 + sigma_o) = 1``.
    With the default norms (1 for the pair, 2 for the single condition) neither
    implies the other, since ``||U_c||_2`` may exceed ``||U_c||_1``.

    Parameters
    ----------
    params : LSTMParams (one layer; for layers in series use :func:`iss_check_layers`)
    condition : ``"theorem4"`` or ``"single"``
    uc_norm : order of the induced norm of ``U_c`` (1, 2 or ``"inf"``); default 1
        for ``"theorem4"`` (the paper) and 2 for ``"single"``
    input_bound : rho with ``|u|_inf <= rho``; 1 for inputs normalised to [-1, 1]

    Returns
    -------
    ISSReport
    """
    if not isinstance(params, LSTMParams):
        raise TypeError(
            f"iss_check takes one LSTMParams layer, got {type(params).__name__}; "
            "use iss_check_layers for layers in series"
        )
    if condition not in CONDITIONS:
        raise ValueError(f"condition must be one of {CONDITIONS}, got {condition!r}")
    rho = nonnegative(input_bound, "input_bound")
    ord_ = _norm_order(uc_norm if uc_norm is not None else (1 if condition == "theorem4" else 2))
    s_i, s_f, s_o = (gate_sigma(params, g, rho) for g in "ifo")
    Uc = params.gate("g")[1]
    n_uc = induced_norm(Uc, ord_)
    p = _NORM_NAMES[ord_]
    if condition == "theorem4":
        inequalities = ("(1 + sigma_o) sigma_f < 1", f"(1 + sigma_o) sigma_i ||U_c||_{p} < 1")
        lhs = ((1.0 + s_o) * s_f, (1.0 + s_o) * s_i * n_uc)
    else:
        inequalities = (f"sigma_f + sigma_o sigma_i ||U_c||_{p} < 1",)
        lhs = (s_f + s_o * s_i * n_uc,)
    margins = tuple(1.0 - v for v in lhs)
    return ISSReport(
        condition=condition,
        sigma_i=s_i,
        sigma_f=s_f,
        sigma_o=s_o,
        uc_ord=p,
        uc_norm=n_uc,
        uc_norm_1=induced_norm(Uc, 1),
        uc_norm_2=induced_norm(Uc, 2),
        inequalities=inequalities,
        lhs=lhs,
        margins=margins,
        satisfied=all(v < 1.0 for v in lhs),
        input_bound=rho,
    )


@dataclass(frozen=True)
class LayersISSReport:
    """Outcome of :func:`iss_check_layers`: one report per layer; ``satisfied`` iff all layers satisfy."""

    reports: tuple[ISSReport, ...]
    satisfied: bool

    def as_dict(self) -> dict:
        return {"satisfied": self.satisfied, "layers": [r.as_dict() for r in self.reports]}


def layer_input_bounds(layers: Sequence[LSTMParams], input_bound: float = 1.0) -> list[float]:
    """Bound on ``|input|_inf`` of each layer in series.

    Layer 0 gets ``input_bound``.  A later layer gets the previous layer's
    hidden state, which lies in ``(-1, 1)`` (``xi = o * tanh(x)`` with
    ``0 < o < 1``), so its bound is 1; when the previous layer has an output
    layer its signal is ``F xi + bF`` with ``|F xi + bF|_inf <= || [F bF] ||_inf``.
    """
    layers = as_layers(layers)
    bounds = [nonnegative(input_bound, "input_bound")]
    for prev in layers[:-1]:
        if prev.F is None:
            bounds.append(1.0)
        else:
            bounds.append(float((np.abs(prev.F).sum(axis=1) + np.abs(prev.bF)).max()))
    return bounds


def iss_check_layers(
    layers: LSTMParams | Sequence[LSTMParams],
    *,
    condition: str = "theorem4",
    uc_norm=None,
    input_bound: float = 1.0,
) -> LayersISSReport:
    """Remark 6: layers in series are ISS if every layer satisfies the condition.

    Why the single-layer condition applies to a deeper layer: Theorem 4 needs
    only that the layer's input lies in the unit box (the sigma's bound the
    gates over ``|u| <= 1``).  A deeper layer's input is the previous layer's
    hidden state ``xi = o * tanh(x)``, which always lies in ``(-1, 1)`` - the
    same bound as a normalised input - so each layer is ISS with respect to its
    own input, and a cascade of ISS systems is ISS.  If a layer passes on
    ``F xi + bF`` instead (it has an output layer), the next layer is checked
    for inputs bounded by ``|| [F bF] ||_inf`` (see :func:`layer_input_bounds`),
    which may exceed 1.

    Returns
    -------
    LayersISSReport
    """
    layers = as_layers(layers)
    bounds = layer_input_bounds(layers, input_bound)
    reports = tuple(
        iss_check(layer, condition=condition, uc_norm=uc_norm, input_bound=rho)
        for layer, rho in zip(layers, bounds, strict=True)
    )
    return LayersISSReport(reports=reports, satisfied=all(r.satisfied for r in reports))
