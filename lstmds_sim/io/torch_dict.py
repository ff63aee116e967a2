"""PyTorch ``nn.LSTM`` state dicts read strictly: what cannot be represented is refused by name.

A state dict of ``nn.LSTM(input_size, hidden_size, num_layers)`` holds, per layer k::

    weight_ih_l{k}  (4 H, Ni)    -> W     gates [i; f; g; o], as ours
    weight_hh_l{k}  (4 H, H)     -> R
    bias_ih_l{k}, bias_hh_l{k}   -> b = bias_ih + bias_hh

Refused, each with one line naming the key: a bidirectional LSTM (``*_reverse``
keys), a projected one (``proj_size > 0``: ``weight_hr_l{k}``), one bias of a
pair without the other. A dict with neither bias of the layer is an LSTM built
with ``bias=False``: b is zero. torch is not needed: the values may be tensors
or arrays.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import numpy as np

from ..core.errors import StateDictKeyError
__all__ = ["StateDictKeyError", "lstm_layers_in", "params_from_state_dict"]


def _array(state_dict: Mapping, key: str) -> np.ndarray:
    value = state_dict[key]
    if hasattr(value, "detach"):  # a torch tensor (any dtype, any device)
        value = value.detach().cpu()
        if hasattr(value, "double"):
            value = value.double()
        value = value.numpy()
    return np.asarray(value, dtype=float)


def lstm_layers_in(state_dict: Mapping, prefix: str = "") -> list[int]:
    """The layer numbers k of the ``{prefix}weight_ih_l{k}`` keys, in order."""
    pattern = re.compile(re.escape(prefix) + r"weight_ih_l(\d+)$")
    return sorted(int(m.group(1)) for m in map(pattern.match, map(str, state_dict)) if m)


def params_from_state_dict(state_dict: Mapping, *, layer: int = 0, output_prefix: str | None = None,
                           prefix: str = ""):
    """One layer of an ``nn.LSTM`` state dict as :class:`~lstmds_sim.core.params.LSTMParams`.

    ``prefix`` is the LSTM's name in a model's state dict (``"lstm."`` for
    ``model.lstm``); ``output_prefix`` (say ``"fc."``) reads an ``nn.Linear``'s
    ``weight``/``bias`` as F and bF.
    """
    from ..core.errors import ArgumentTypeError
    from ..core.params import LSTMParams

    if not isinstance(state_dict, Mapping):
        if callable(getattr(state_dict, "state_dict", None)):  # the nn.LSTM (or model) itself
            raise ArgumentTypeError(f"from_torch takes the module's state dict, not the {type(state_dict).__name__} "
                                    "itself: LSTMParams.from_torch(lstm.state_dict())")
        raise ArgumentTypeError(f"from_torch takes a PyTorch state dict (a mapping of names to tensors or arrays), "
                                f"got {type(state_dict).__name__}: LSTMParams.from_torch(lstm.state_dict())")
    keys = [str(k) for k in state_dict]
    reverse = [k for k in keys if k.startswith(prefix) and k.endswith("_reverse")]
    if reverse:
        raise ValueError(
            f"state dict holds a bidirectional LSTM ({', '.join(sorted(reverse)[:2])}, ...): lstmds models a "
            "forward-in-time dynamical system; import a unidirectional nn.LSTM (bidirectional=False)"
        )
    projection = [k for k in keys if re.fullmatch(re.escape(prefix) + r"weight_hr_l\d+", k)]
    if projection:
        raise ValueError(
            f"state dict holds {projection[0]}: an nn.LSTM with proj_size > 0 (a projected hidden state) is not "
            "an LSTM lstmds represents; train it with proj_size=0, or add the projection as a layer of its own"
        )
    present = lstm_layers_in(state_dict, prefix)
    w_key, r_key = f"{prefix}weight_ih_l{layer}", f"{prefix}weight_hh_l{layer}"
    if w_key not in state_dict:
        if present:
            raise StateDictKeyError(
                f"state dict has no layer {layer} ({w_key}): the layers present are "
                f"{', '.join(map(str, present))}; pass layer= one of them"
            )
        found = sorted({m.group(1) for m in (re.fullmatch(r"(.*)weight_ih_l\d+", k) for k in keys) if m})
        if found:
            raise StateDictKeyError(
                f"state dict lacks {w_key!r} but holds an LSTM under prefix {found[0]!r}: pass prefix={found[0]!r}"
            )
        sample = ", ".join(sorted(keys)[:6]) + (", ..." if len(keys) > 6 else "")
        raise StateDictKeyError(
            f"state dict lacks {w_key!r} (keys: {sample}); pass an nn.LSTM's state_dict(), or prefix= the "
            "LSTM's name in a model's state dict (e.g. prefix='lstm.')"
        )
    if r_key not in state_dict:
        raise StateDictKeyError(f"state dict lacks {r_key!r} (the recurrent weights of layer {layer})")
    W, R = _array(state_dict, w_key), _array(state_dict, r_key)
    bias_keys = (f"{prefix}bias_ih_l{layer}", f"{prefix}bias_hh_l{layer}")
    have = [k for k in bias_keys if k in state_dict]
    if len(have) == 1:
        missing = bias_keys[1 - bias_keys.index(have[0])]
        raise StateDictKeyError(
            f"state dict has {have[0]} but lacks {missing}: the bias of layer {layer} is bias_ih + bias_hh; "
            "pass the complete state dict"
        )
    # neither bias: an nn.LSTM(..., bias=False), whose gates have no bias at all
    b = _array(state_dict, have[0]) + _array(state_dict, have[1]) if have else np.zeros(np.shape(R)[0])
    F = bF = None
    if output_prefix is not None:
        if output_prefix + "weight" not in state_dict:
            raise StateDictKeyError(f"state dict lacks {output_prefix + 'weight'!r} (the output layer's weights)")
        F = _array(state_dict, output_prefix + "weight")
        bF = _array(state_dict, output_prefix + "bias") if output_prefix + "bias" in state_dict else None
    return LSTMParams(W, R, b, F, bF)
