"""Saving and loading ``.npz`` archives without losing or silently replacing a user's file."""

from __future__ import annotations

import io
import zipfile
import zlib
from pathlib import Path
from typing import Mapping

import numpy as np

from .atomic import write_file
from .errors import ArgumentError


def npz_path(path) -> Path:
    """``path`` with the suffix ``.npz`` (added when missing; ``.NPZ`` is kept as it is)."""
    path = Path(path)
    return path if path.suffix.lower() == ".npz" else path.with_name(path.name + ".npz")


def save_npz(path, arrays: Mapping[str, object], *, overwrite: bool = False) -> Path:
    """Write ``arrays`` to ``path`` (``.npz`` added); refuse to replace a file unless ``overwrite``.

    The archive is written all at once (:func:`~lstmds_sim.core.atomic.write_file`): a full disk or
    an interrupt leaves no partial file, and the file it replaces stays as it was until the new one
    is complete.
    """
    path = npz_path(path)
    if not overwrite and path.exists():  # before the work of building the archive
        raise FileExistsError(f"{path} exists; pass overwrite=True to replace it or choose another name")
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return write_file(path, buffer.getbuffer(), overwrite=overwrite)


def load_npz(path, what: str = "an .npz archive") -> dict[str, np.ndarray]:
    """Read every array of an ``.npz`` archive; a clear error for anything else (an ``.npy``, a text file)."""
    with open(path, "rb") as handle:  # FileNotFoundError names the path
        magic = handle.read(6)
    if magic == b"\x93NUMPY":
        raise ArgumentError(f"{path} is a single .npy array, not {what}: save with LSTMParams.save or np.savez")
    if not magic.startswith(b"PK"):
        raise ArgumentError(f"{path} is not {what}: it is not an .npz (zip) archive")
    try:
        with np.load(path, allow_pickle=False) as data:
            out = {}
            for key in data.files:
                try:
                    out[key] = data[key]
                except ValueError as err:
                    if "allow_pickle" not in str(err):
                        raise
                    raise ArgumentError(
                        f"{path}: key {key!r} holds Python objects (an object array), which lstmds does not load "
                        f"(unpickling can run code); save it as numbers: np.savez(..., {key}=np.asarray({key}, "
                        "dtype=float))") from None
            return out
    except ArgumentError:
        raise
    except (ValueError, OSError, EOFError, zipfile.BadZipFile, zlib.error) as err:
        raise ArgumentError(f"{path} is not {what}: the archive cannot be read ({type(err).__name__})") from None
