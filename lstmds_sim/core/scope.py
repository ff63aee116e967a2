"""bdsim's ``SCOPE``, ``SCOPEXY`` and ``SCOPEXY1`` blocks under :func:`lstmds_sim.run`: their plots.

bdsim's own scope needs bdsim's runner (its ``start`` reads the runner's state).
Here the engine hands each step's inputs to a :class:`ScopeView`, which keeps
them and draws the figure the block describes (its ``labels``, ``styles``,
``title``, ``grid``, ``stairs``, ``scale``, ``vector``):

* headless (Agg, a file backend, or a notebook's inline backend) the figure is
  drawn once, at the end of the run, and returned in ``RunResult.figures``;
* with an interactive backend (TkAgg, QtAgg, ...) the figure opens at the start
  and its lines follow the run, redrawn about ten times a second.

A batch ``(B, n)`` is drawn as B thin lines per channel in the channel's colour.
"""

from __future__ import annotations

import time

import numpy as np

__all__ = ["GraphicsView", "ScopeView", "XYView", "interactive_backend"]

_FILE_BACKENDS = {"agg", "cairo", "pdf", "pgf", "ps", "svg", "template"}
_REDRAW_S = 0.1


def interactive_backend() -> bool:
    """Whether matplotlib's backend shows windows that can follow a run."""
    import matplotlib

    backend = matplotlib.get_backend().lower()
    return backend not in _FILE_BACKENDS and "inline" not in backend


class ScopeView:
    """The data and figure of one SCOPE block during a run."""

    def __init__(self, block, tf: float, live: bool | None = None) -> None:
        self.block = block
        self.tf = tf
        self.live = interactive_backend() if live is None else live
        self.t: list[float] = []
        self.values: list[list[np.ndarray]] = []
        self.fig = None
        self._lines: list = []
        self._drawn = 0.0

    def add(self, t: float, inputs) -> None:
        """Keep the inputs at time ``t`` (and redraw, when live)."""
        self.t.append(t)
        self.values.append([np.array(u, dtype=float) for u in inputs])
        if self.live:
            if self.fig is None:
                self._draw()
            elif time.monotonic() - self._drawn > _REDRAW_S:
                self._update()

    def finish(self):
        """The finished figure."""
        if self.fig is None:
            self._draw()
        else:
            self._update()
        return self.fig

    # ------------------------------------------------------------------ drawing
    def channels(self) -> list[tuple[str, np.ndarray]]:
        """``(label, data)`` per plotted line; data (T,) or, batched, (T, B)."""
        b = self.block
        if not self.values:
            return []
        out = []
        for port in range(b.nin):
            data = np.stack([np.broadcast_to(v[port], self.values[-1][port].shape) for v in self.values])
            if data.ndim == 1:
                data = data[:, None]
            if data.ndim == 3:  # (T, B, n): one channel per column, B rows each
                cols = [data[:, :, j] for j in range(data.shape[2])]
            else:  # (T, n)
                cols = [data[:, j] for j in range(data.shape[1])]
            if b.vector is not None:
                picks = range(b.vector) if isinstance(b.vector, int) else b.vector
                cols = [cols[j] for j in picks]
            out.extend((f"{b.name}[{port}]" if len(cols) == 1 else f"{b.name}[{port}][{j}]", c)
                       for j, c in enumerate(cols))
        labels = b.labels if b.labels is not None and len(b.labels) == len(out) else [label for label, _ in out]
        return [(label, data) for label, (_, data) in zip(labels, out)]

    def _draw(self) -> None:
        import matplotlib.pyplot as plt

        b = self.block
        self.fig, ax = plt.subplots(figsize=(7, 3.8))
        self.fig.canvas.manager.set_window_title(f"SCOPE {b.name}") if self.live else None
        styles = b.styles if b.styles is not None else [None] * b.nplots
        self._lines = []
        for i, (label, data) in enumerate(self.channels()):
            style = styles[i] if i < len(styles) else None
            args, kwargs = ([style], {}) if isinstance(style, str) else ([], dict(style or {}))
            if b.stairs:
                kwargs["drawstyle"] = "steps-post"
            color = kwargs.pop("color", None) or f"C{i % 10}"
            batched = data.ndim == 2
            lines = ax.plot(self.t, data, *args, color=color, linewidth=0.8 if batched else 1.6,
                            alpha=0.5 if batched else 1.0, **kwargs)
            lines[0].set_label(label + (f" ({data.shape[1]} rows)" if batched else ""))
            self._lines.append(lines)
        ax.set_xlabel("time (s)")
        ax.set_xlim(0, max(self.tf, self.t[-1] if self.t else 0.0) or 1.0)
        if b.scale != "auto":
            ax.set_ylim(*b.scale)
        ax.set_title(b.title if b.title is not None else b.name)
        if b.grid:
            ax.grid(True, alpha=0.4)
        if self._lines:
            ax.legend(loc=b.loc if b.loc != "best" else "best", fontsize="small")
        self.fig.tight_layout()
        self._show()

    def _update(self) -> None:
        channels = self.channels()
        if len(channels) != len(self._lines):
            import matplotlib.pyplot as plt

            plt.close(self.fig)
            self._draw()
            return
        for lines, (_, data) in zip(self._lines, channels):
            cols = data[:, None] if data.ndim == 1 else data
            for j, line in enumerate(lines):
                line.set_data(self.t, cols[:, j])
        ax = self.fig.axes[0]
        if self.block.scale == "auto":
            ax.relim()
            ax.autoscale_view(scalex=False)
        self._show()

    def _show(self) -> None:
        self._drawn = time.monotonic()
        if self.live:
            import matplotlib.pyplot as plt

            self.fig.canvas.draw_idle()
            plt.pause(0.001)


class XYView:
    """The data and figure of one SCOPEXY (inputs x, y, or one input [x, y]) or SCOPEXY1 (one vector input,
    the block's ``indices`` picking x and y) block: y against x, drawn at the end of the run (headless or not).

    The figure follows the block's ``style``, ``labels``, ``scale`` and ``aspect``; a batch
    ``(B, n)`` is drawn as B thin lines.
    """

    def __init__(self, block, tf: float, live: bool | None = None) -> None:
        self.block = block
        self.x: list[np.ndarray] = []
        self.y: list[np.ndarray] = []

    def add(self, t: float, inputs) -> None:
        b = self.block
        if getattr(b, "indices", None) is not None:  # SCOPEXY1: one vector, two of its elements
            value = np.asarray(inputs[0], dtype=float)
            if value.ndim == 0 or value.shape[-1] <= max(b.indices):
                from .errors import ShapeError

                raise ShapeError(f"SCOPEXY1 block '{b.name}': input 0 has shape {value.shape}; it plots elements "
                                 f"{list(b.indices)} of a vector (its indices=): give it a vector that has them")
            x, y = value[..., b.indices[0]], value[..., b.indices[1]]
        elif len(inputs) == 1:  # SCOPEXY with one input [x, y]
            value = np.asarray(inputs[0], dtype=float)
            x, y = value[..., 0], value[..., 1]
        else:
            x, y = np.asarray(inputs[0], dtype=float), np.asarray(inputs[1], dtype=float)
        self.x.append(np.array(x, dtype=float))
        self.y.append(np.array(y, dtype=float))

    def finish(self):
        """The finished figure: y against x."""
        import matplotlib.pyplot as plt

        b = self.block
        fig, ax = plt.subplots(figsize=(5.5, 4.5))
        shape = self.x[-1].shape if self.x else ()
        x = np.stack([np.broadcast_to(v, shape).reshape(-1) for v in self.x]) if self.x else np.empty((0, 1))
        y = np.stack([np.broadcast_to(v, shape).reshape(-1) for v in self.y]) if self.y else np.empty((0, 1))
        style = b.styles if isinstance(b.styles, (str, dict)) else None
        args, kwargs = ([style], {}) if isinstance(style, str) else ([], dict(style or {}))
        batched = x.shape[1] > 1 if x.ndim == 2 else False
        ax.plot(x, y, *args, linewidth=0.8 if batched else 1.6, alpha=0.6 if batched else 1.0, **kwargs)
        labels = list(b.labels) if getattr(b, "labels", None) else ["X", "Y"]
        ax.set_xlabel(labels[0])
        ax.set_ylabel(labels[1] if len(labels) > 1 else "Y")
        scale = getattr(b, "scale", "auto")
        if not (isinstance(scale, str) and scale == "auto"):
            ax.set_xlim(*scale[0:2])
            ax.set_ylim(*scale[2:4])
        aspect = getattr(b, "aspect", "equal")
        if aspect is not None:
            ax.set_aspect(aspect, adjustable="datalim")
        ax.grid(True, alpha=0.4)
        ax.set_title(b.name or b.type.upper())
        fig.tight_layout()
        return fig


class GraphicsView:
    """Any other bdsim graphics block (ANIMATION, a toolbox's VEHICLEPLOT, ...): run through its own
    ``start(state)`` and ``step(t, inputs)``, with graphics on and animation off, so it draws into its own
    figure, which the run returns at the end (its ``done``, which would show the figure, is not called)."""

    def __init__(self, block, tf: float, live: bool | None = None) -> None:
        self.block = block
        self.tf = tf
        self.started = False

    def add(self, t: float, inputs) -> None:
        if not self.started:
            import contextlib
            import io

            from .bdsim_adapter import graphics_state

            with contextlib.redirect_stdout(io.StringIO()):
                self.block.start(graphics_state(self.tf))
            self.started = True
        self.block.step(t, list(inputs))

    def finish(self):
        """The block's figure."""
        return getattr(self.block, "fig", None)
