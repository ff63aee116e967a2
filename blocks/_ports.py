"""Shape checks shared by the blocks: errors name the block, the port and the expected shape."""

from __future__ import annotations

import numpy as np

from lstmds_sim.validation import NonFiniteError, ShapeError


def block_label(block) -> str:
    return f"{block.type.upper()} block '{block.name}'"


def check_width(block, port: int, value, width: int) -> np.ndarray:
    """Input ``port`` must be (width,) or batched (B, width)."""
    arr = np.asarray(value, dtype=float)
    if arr.ndim == 0 and width == 1:
        arr = arr.reshape(1)
    if arr.ndim not in (1, 2) or arr.shape[-1] != width:
        raise ShapeError(
            f"{block_label(block)}: input {port} has shape {arr.shape}, "
            f"expected ({width},) or (B, {width})"
        )
    return arr


def check_finite(block, what: str, arr: np.ndarray) -> np.ndarray:
    if not np.all(np.isfinite(arr)):
        raise NonFiniteError(
            f"{block_label(block)}: {what} contains NaN or inf; "
            "check the inputs and weights feeding this block"
        )
    return arr
