"""What every lab (diagram script) shares: its command-line options, printing and the figure backend."""

from __future__ import annotations

import argparse
import sys
from typing import Any, NoReturn

__all__ = ["LabParser", "lab_parser", "nonnegative_int", "positive_int", "print_kv", "use_headless_backend"]


class LabParser(argparse.ArgumentParser):
    """An argument parser whose mistakes are one line on stderr and exit status 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def _integer(text: str, minimum: int) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
    if value < minimum:
        raise argparse.ArgumentTypeError(f"must be an integer >= {minimum}, got {value}")
    return value


def nonnegative_int(text: str) -> int:
    """argparse type: an integer >= 0 (e.g. a seed)."""
    return _integer(text, 0)


def positive_int(text: str) -> int:
    """argparse type: an integer >= 1 (a count)."""
    return _integer(text, 1)


def lab_parser(name: str, doc: str | None) -> LabParser:
    """Common lab options: ``--out DIR`` and ``--seed``."""
    parser = LabParser(prog=f"lstmds run {name}", description=(doc or "").strip().splitlines()[0] if doc else None)
    parser.add_argument("--out", default=f"out/{name}", help="folder for figures and results.json (default: %(default)s)")
    parser.add_argument("--seed", type=nonnegative_int, default=0, help="random seed, >= 0 (default: %(default)s)")
    return parser


def use_headless_backend() -> None:
    """Figures are written to files; never open a window (works without a display)."""
    import matplotlib

    if "matplotlib.pyplot" not in sys.modules:
        matplotlib.use("Agg")


def print_kv(title: str, rows: dict[str, Any]) -> None:
    """Print a small aligned table of key numbers."""
    print(title)
    width = max(len(k) for k in rows)
    for k, v in rows.items():
        text = f"{v:.6g}" if isinstance(v, float) else str(v)
        print(f"  {k:<{width}}  {text}")
