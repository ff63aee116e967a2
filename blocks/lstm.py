"""The LSTM layer as one subsystem block."""

from __future__ import annotations

from typing import Any

from bdsim.components import Clock, SubsystemBlock

from lstmds_sim.core.diagram import LSTMLayer, lstm_layers, lstm_subsystem


class LSTM(SubsystemBlock):
    r"""
    :blockname:`LSTM`

    One LSTM layer, drawn inside from primitive blocks (a bdsim subsystem).

    :inputs: 1
    :outputs: 1
    :states: two unit delays (cell state, hidden state)

    .. list-table::
        :header-rows: 1

        *   - Port type
            - Port number
            - Types
            - Description
        *   - Input
            - 0
            - ndarray (Ni,) or (B, Ni)
            - :math:`u(k)`
        *   - Output
            - 0
            - ndarray (No,) or (B, No)
            - :math:`y(k) = F h(k) + b_F` (direct) or :math:`F h(k-1) + b_F` (statespace)

    Inside: W/R gains, bias constants, sums and activations per gate, three
    Hadamard products, the new-cell sum, tanh, the delays ``cell state`` and
    ``hidden state`` and the output gain, with every wire named. After
    compilation the blocks are named ``<name>/<block>`` (e.g. ``lstm1/Wi``).
    Layers stack in series by wiring one LSTM block into the next.

    The layer inside is :attr:`layer`, an
    :class:`~lstmds_sim.core.diagram.LSTMLayer`; ``lstm_layers(bd)`` finds it
    in the diagram that holds the block.
    """

    def __init__(self, params: Any, clock: Clock, h0: Any = None, c0: Any = None,
                 form: str = "direct", batch: Any = None, **blockargs: Any) -> None:
        """
        :param params: the layer's weights
        :type params: LSTMParams
        :param clock: clock that sets the sample time
        :type clock: Clock
        :param h0: initial hidden state, (Nn,) or (B, Nn), defaults to zeros
        :type h0: array_like, optional
        :param c0: initial cell state, (Nn,) or (B, Nn), defaults to zeros
        :type c0: array_like, optional
        :param form: "direct" or "statespace", defaults to "direct"
        :type form: str, optional
        :param batch: number of sequences in a batched input (states are broadcast to it), defaults to None
        :type batch: int, optional
        :param blockargs: common block options
        :type blockargs: dict
        """
        name = blockargs.get("name") or "lstm"
        inner = lstm_subsystem(params, clock, h0=h0, c0=c0, form=form, name=name, batch=batch)
        super().__init__(inner, **blockargs)
        self.params = params

    @property
    def layer(self) -> LSTMLayer:
        """The LSTM layer drawn inside this block: its weights, form and blocks."""
        (layer,) = lstm_layers(self.subsystem)
        return layer
