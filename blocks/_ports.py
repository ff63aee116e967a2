"""What the blocks share: shape checks whose errors name the block, the port and the expected shape,
and the batched state of the sampled blocks (UNITDELAY, DSS, PHPLANT).

(bdsim's block discovery skips modules whose name starts with ``_``: nothing here is a block.)
"""

from __future__ import annotations

import numpy as np

from lstmds_sim.core.validation import NonFiniteError, port_width


def creation_label(kind: str, blockargs: dict) -> str:
    """How errors name a block while it is being created (its name may not be given)."""
    name = blockargs.get("name")
    return f"{kind} block '{name}'" if name else f"{kind} block"


class BatchedState:
    """Mixin for a sampled block whose state ``x0`` is a vector (n,) or a batch of vectors (B, n).

    bdsim keeps the state flat; :func:`lstmds_sim.run` keeps its shape. List it
    before ``SampledBlock`` among the bases so that its ``getstate0`` is used.
    """

    x0: np.ndarray

    def getstate0(self) -> np.ndarray:
        return self.x0.copy()

    def shaped(self, x: np.ndarray) -> np.ndarray:
        """The state ``x`` in the shape of ``x0`` (bdsim's own runner passes it flattened)."""
        if x.shape != self.x0.shape and x.size == self.x0.size:
            return x.reshape(self.x0.shape)
        return x


def block_label(block) -> str:
    return f"{block.type.upper()} block '{block.name}'"


def check_width(block, port: int, value, width: int) -> np.ndarray:
    """Input ``port`` must be (width,) or batched (B, width) (:func:`lstmds_sim.core.validation.port_width`)."""
    return port_width(np.asarray(value, dtype=float), width, lambda: block_label(block), port)


def check_block_finite(block, what: str, arr: np.ndarray) -> np.ndarray:
    if not np.all(np.isfinite(arr)):
        raise NonFiniteError(
            f"{block_label(block)}: {what} contains NaN or inf; "
            "check the inputs and weights feeding this block"
        )
    return arr
