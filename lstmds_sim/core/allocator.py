"""Keep large numpy temporaries on the heap (glibc only).

A batched step allocates arrays of a few hundred kB (e.g. 20 x 2964 floats).
glibc serves allocations above its mmap threshold (128 KiB at first) with fresh
mmap'd pages and trims freed heap memory back to the OS, so every step pays
for page faults: measured on a 2-core VM, one 2964-sequence LSTM step took
830 us this way and 177 us with the thresholds raised.

The setting is process-wide, so importing lstmds_sim never makes it: the
``lstmds`` command and the benchmarks call :func:`tune_allocator`, and a
notebook or script may call it too. ``LSTMDS_NO_MALLOPT=1`` makes the call do
nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys

M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3


def _glibc(name: str):
    """The C library's function ``name`` on Linux, or None (another system, or a libc without it: musl, ...)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        return getattr(ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6"), name)
    except (OSError, AttributeError):
        return None


def tune_allocator(mmap_threshold: int = 64 << 20, trim_threshold: int = 256 << 20) -> bool:
    """Raise glibc's mmap and trim thresholds for this process; return whether it was done."""
    mallopt = None if os.environ.get("LSTMDS_NO_MALLOPT") else _glibc("mallopt")
    if mallopt is None:
        return False
    return bool(mallopt(M_MMAP_THRESHOLD, mmap_threshold)) and bool(mallopt(M_TRIM_THRESHOLD, trim_threshold))


def trim_heap() -> bool:
    """Give the heap's free pages back to the OS (glibc's ``malloc_trim(0)``); whether it was done.

    Compiling a program (XLA, LLVM) frees tens of MB in small pieces scattered over
    the heap, which the trim threshold never returns because they are not at its
    top; ``malloc_trim`` returns the free pages wherever they are. A long-lived
    worker calls it after compiling. Does nothing (False) off glibc.
    """
    malloc_trim = _glibc("malloc_trim")
    if malloc_trim is None:
        return False
    malloc_trim(0)
    return True
