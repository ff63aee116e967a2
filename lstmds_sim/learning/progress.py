"""Progress of long work: a labelled tqdm bar on a terminal, a plain line at each report otherwise."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable

__all__ = ["ProgressCallback", "Reporter", "in_ci"]

ProgressCallback = Callable[[int, float, float], None]


def in_ci() -> bool:
    """Whether the ``CI`` environment variable says this is a CI run (read, never written)."""
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


class Reporter:
    """Progress between chunks of work: a tqdm bar on a terminal, plain lines otherwise.

    ``progress``: None/True (auto: a bar when stderr is a terminal and this is
    not CI, else lines), False (silent), ``"bar"``, ``"lines"``, or a callable
    ``progress(done, loss, lr)``. ``label`` names the work on the bar and on
    every line, so that a lab running several trainings says which one is
    running.
    """

    def __init__(self, progress, total: int, *, label: str = "training", unit: str = "epoch"):
        self.total = total
        self.label = label
        self.unit = unit
        self.callback: ProgressCallback | None = None
        self.bar = None
        self.lines = False
        if callable(progress):
            self.callback = progress
            return
        if progress is False:
            return
        if progress in (None, True):
            progress = "bar" if sys.stderr.isatty() and not in_ci() else "lines"
        if progress == "bar":
            from tqdm.auto import tqdm

            self.bar = tqdm(total=total, desc=label, unit=unit, file=sys.stderr, dynamic_ncols=True)
        elif progress == "lines":
            self.lines = True
        else:
            raise ValueError(f"progress must be None, True, False, 'bar', 'lines' or a callable, got {progress!r}")

    def update(self, done_total: int, done: int, loss: float, lr: float) -> None:
        """``done`` more units finished, ``done_total`` in all; the loss and rate at that point."""
        if self.callback is not None:
            self.callback(done_total, loss, lr)
        if self.bar is not None:
            self.bar.set_postfix_str(f"loss {loss:.3e}  lr {lr:.1e}", refresh=False)
            self.bar.update(done)  # redraws, postfix included
        if self.lines:
            width = len(str(self.total))
            print(f"{self.label}: {self.unit} {done_total:>{width}}/{self.total}  loss {loss:.3e}  lr {lr:.1e}",
                  flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
