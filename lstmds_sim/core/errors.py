"""The errors lstmds-sim raises: one base class, a subclass per kind of mistake.

Every error is an :class:`LSTMDSError`, so ``except lstmds_sim.LSTMDSError``
catches anything the package refuses; each also keeps the builtin base that
describes it (a :class:`ShapeError` is a ``ValueError``, a
:class:`SequenceEndError` an ``IndexError``), so code written against those
keeps working. Messages name the thing that is wrong (a block and port, a
file, an option) and say what to do.
"""

from __future__ import annotations

__all__ = [
    "ArgumentError", "ArgumentTypeError", "DiagramError", "FolderBusyError", "IncompleteSweepError", "LSTMDSError",
    "NonFiniteError", "SequenceEndError", "ShapeError", "StateDictKeyError", "Terminated", "UnknownNameError",
    "WriteError", "add_note",
]


class LSTMDSError(Exception):
    """The base of every error lstmds-sim raises on purpose."""


class ArgumentError(LSTMDSError, ValueError):
    """An argument's value cannot be used (a negative period, an unknown option, a bad count)."""


class ArgumentTypeError(LSTMDSError, TypeError):
    """An argument is of a type that cannot be used (a dict where LSTMParams is needed, say)."""


class UnknownNameError(LSTMDSError, KeyError):
    """A name (a signal, a block, a recorder) that the diagram or result does not have."""

    def __str__(self) -> str:  # KeyError quotes its message; this one is a sentence
        return str(self.args[0]) if self.args else ""


class ShapeError(LSTMDSError, ValueError):
    """An array or signal has the wrong shape."""


class NonFiniteError(LSTMDSError, ValueError):
    """An array or signal holds NaN or infinity."""


class DiagramError(LSTMDSError, RuntimeError):
    """A diagram could not be compiled or run; the message names the block."""


class SequenceEndError(LSTMDSError, IndexError):
    """A SEQUENCE block was asked for a sample past the end of its data."""


class IncompleteSweepError(LSTMDSError, RuntimeError):
    """A scenario sweep's chunks did not cover every scenario exactly once."""


class FolderBusyError(LSTMDSError, OSError):
    """An output folder is in use by another run (its lock is held)."""


class WriteError(LSTMDSError, OSError):
    """A file could not be written (a full disk, a read-only or removed folder, a file-size limit).

    The message names the file and, for a full disk, the bytes needed and free; ``errno`` is the
    system's. Nothing is left behind: the file it would have replaced is as it was.
    """


class Terminated(KeyboardInterrupt):
    """SIGTERM or SIGHUP (``signum`` says which), raised by the ``lstmds`` command as Ctrl-C raises
    KeyboardInterrupt, so every clean-up a Ctrl-C runs runs for them too. Not an :class:`LSTMDSError`:
    like KeyboardInterrupt it is no mistake, and ``except Exception`` does not catch it."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum


class StateDictKeyError(LSTMDSError, KeyError, ValueError):
    """A PyTorch state dict lacks a key, has one too many, or one of the wrong shape."""

    def __str__(self) -> str:  # KeyError quotes its message; this one is a sentence
        return str(self.args[0]) if self.args else ""


def add_note(err: BaseException, note: str) -> None:
    """Append ``note`` to an exception's message (``BaseException.add_note`` exists only from Python 3.11)."""
    if hasattr(err, "add_note"):
        err.add_note(note)
    elif err.args:
        err.args = (f"{err.args[0]} {note}",) + tuple(err.args[1:])
    else:
        err.args = (note,)
