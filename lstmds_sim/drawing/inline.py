"""A diagram's picture inside a notebook: the render (:mod:`lstmds_sim.drawing.render`) as an inline image."""

from __future__ import annotations

import struct
import tempfile
from pathlib import Path

__all__ = ["picture"]


def picture(diagram, title: str | None = None, *, max_width: int = 1100):
    """The picture of ``diagram`` (a bdsim BlockDiagram or a DiagramGraph) with its loops coloured,
    as an ``IPython.display.Image`` (the last expression of a cell shows it).

    It is drawn by the same renderer as ``lstmds render``, into a temporary folder that is removed
    again; wider pictures are shown at ``max_width`` pixels (open the PNG of ``lstmds render`` for
    the full size).
    """
    from IPython.display import Image

    from .render import render

    with tempfile.TemporaryDirectory() as folder:
        path = render(diagram, Path(folder) / "diagram", title=title, formats=("png",))[0]
        data = path.read_bytes()
    width = struct.unpack(">I", data[16:20])[0]  # the PNG header's IHDR width
    return Image(data=data, format="png", width=min(width, max_width))
