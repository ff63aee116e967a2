"""Element-wise function blocks: Hadamard product, sigmoid, tanh, matrix gain."""

from __future__ import annotations

from typing import Any

import numpy as np
from bdsim.components import FunctionBlock

from lstmds_sim.blocks._ports import block_label, check_width
from lstmds_sim.core.activations import sigmoid
from lstmds_sim.core.validation import ShapeError, as_float_array, matrix


class Hadamard(FunctionBlock):
    r"""
    :blockname:`HADAMARD`

    Element-wise (Hadamard) product of two or more signals.

    :inputs: N
    :outputs: 1
    :states: 0

    .. list-table::
        :header-rows: 1

        *   - Port type
            - Port number
            - Types
            - Description
        *   - Input
            - i
            - ndarray (n,) or (B, n)
            - :math:`x_i`, all of the same shape
        *   - Output
            - 0
            - ndarray (n,) or (B, n)
            - :math:`x_0 \odot x_1 \odot \cdots`

    bdsim's ``PROD`` multiplies ndarrays as matrices; this block multiplies
    element by element, as Simulink's Product block in element-wise mode.
    """

    nin = -1
    nout = 1
    jax_twin = "lstmds_sim.blocks._compiled:Hadamard"  # its compiled twin (backend="jax")

    def __init__(self, nin: int = 2, **blockargs: Any) -> None:
        """
        :param nin: number of inputs, at least 2, defaults to 2
        :type nin: int, optional
        :param blockargs: common block options
        :type blockargs: dict
        """
        if int(nin) < 2:
            raise ValueError(f"HADAMARD needs at least 2 inputs, got nin={nin}")
        super().__init__(nin=int(nin), **blockargs)

    def output(self, t: float, inputs: list[Any], x: Any) -> list[Any]:
        if len(inputs) == 2:  # the common case, two arrays of one shape: no checks to make
            a, b = inputs
            if type(a) is np.ndarray and type(b) is np.ndarray and a.shape == b.shape:
                return [a * b]
        out = np.asarray(inputs[0])
        for port, value in enumerate(inputs[1:], start=1):
            value = np.asarray(value)
            if value.shape != out.shape and value.ndim and out.ndim \
                    and not (value.ndim == 2 and out.shape == value.shape[1:]) \
                    and not (out.ndim == 2 and value.shape == out.shape[1:]):  # a scalar scales any shape
                raise ShapeError(
                    f"{block_label(self)}: input {port} has shape {value.shape}, "
                    f"expected {np.shape(inputs[0])} like input 0"
                )
            out = out * value
        return [out]


class Sigmoid(FunctionBlock):
    r"""
    :blockname:`SIGMOID`

    Logistic sigmoid, element-wise (MATLAB's ``logsig``).

    :inputs: 1
    :outputs: 1
    :states: 0

    .. list-table::
        :header-rows: 1

        *   - Port type
            - Port number
            - Types
            - Description
        *   - Input
            - 0
            - float, ndarray (any shape)
            - :math:`x`
        *   - Output
            - 0
            - same shape as the input
            - :math:`1 / (1 + e^{-x})`
    """

    nin = 1
    nout = 1
    jax_twin = "lstmds_sim.blocks._compiled:Sigmoid"  # its compiled twin (backend="jax")

    def __init__(self, **blockargs: Any) -> None:
        """
        :param blockargs: common block options
        :type blockargs: dict
        """
        super().__init__(**blockargs)

    def output(self, t: float, inputs: list[Any], x: Any) -> list[Any]:
        return [sigmoid(inputs[0])]


class Tanh(FunctionBlock):
    r"""
    :blockname:`TANH`

    Hyperbolic tangent, element-wise (MATLAB's ``tansig``).

    :inputs: 1
    :outputs: 1
    :states: 0

    .. list-table::
        :header-rows: 1

        *   - Port type
            - Port number
            - Types
            - Description
        *   - Input
            - 0
            - float, ndarray (any shape)
            - :math:`x`
        *   - Output
            - 0
            - same shape as the input
            - :math:`\tanh x`
    """

    nin = 1
    nout = 1
    jax_twin = "lstmds_sim.blocks._compiled:Tanh"  # its compiled twin (backend="jax")

    def __init__(self, **blockargs: Any) -> None:
        """
        :param blockargs: common block options
        :type blockargs: dict
        """
        super().__init__(**blockargs)

    def output(self, t: float, inputs: list[Any], x: Any) -> list[Any]:
        return [np.tanh(inputs[0])]


class MatGain(FunctionBlock):
    r"""
    :blockname:`MATGAIN`

    Matrix gain :math:`y = K u` (Simulink's Gain block in ``K*u`` mode), batched.

    :inputs: 1
    :outputs: 1
    :states: 0

    .. list-table::
        :header-rows: 1

        *   - Port type
            - Port number
            - Types
            - Description
        *   - Input
            - 0
            - ndarray (n,) or (B, n)
            - :math:`u`
        *   - Output
            - 0
            - ndarray (m,) or (B, m)
            - :math:`K u` (each batch row: ``u @ K.T``)

    ``K`` is an m x n matrix; a 1-D ``K`` of length n is a 1 x n row.
    """

    nin = 1
    nout = 1
    jax_twin = "lstmds_sim.blocks._compiled:MatGain"  # its compiled twin (backend="jax")

    def __init__(self, K: Any, **blockargs: Any) -> None:
        """
        :param K: gain matrix, m x n
        :type K: array_like
        :param blockargs: common block options
        :type blockargs: dict
        """
        super().__init__(**blockargs)
        K = as_float_array(K, f"MATGAIN block '{self.name}': gain K (an m x n matrix of numbers)")
        if K.ndim == 1:
            K = K.reshape(1, -1)
        self.K = matrix(K, (None, None), f"MATGAIN block '{self.name}': gain K")
        self._KT = np.ascontiguousarray(self.K.T)

    def output(self, t: float, inputs: list[Any], x: Any) -> list[Any]:
        u = inputs[0]
        if not (type(u) is np.ndarray and u.dtype == np.float64 and 1 <= u.ndim <= 2
                and u.shape[-1] == self._KT.shape[0]):  # anything but a float array of the right width: checked
            u = check_width(self, 0, u, self.K.shape[1])
        return [np.dot(u, self._KT)]
