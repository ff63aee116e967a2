"""Saving and loading ``.npz`` archives without losing or silently replacing a user's file."""

from __future__ import annotations

import zipfile
import zlib
from pathlib import Path
from typing import Mapping

import numpy as np

from .errors import ArgumentError


def npz_path(path) -> Path:
    """``path`` with the suffix ``.npz`` (added when missing; ``.NPZ`` is kept as it is)."""
    path = Path(path)
    return path if path.suffix.lower() == ".npz" else path.with_name(path.name + ".npz")


def save_npz(path, arrays: Mapping[str, object], *, overwrite: bool = False) -> Path:
    """Write ``arrays`` to ``path`` (``.npz`` added); refuse to replace a file unless ``overwrite``."""
    path = npz_path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        with open(path, "wb" if overwrite else "xb") as handle:  # "xb": never replaces a file
            np.savez(handle, **arrays)
    except FileExistsError:
        raise FileExistsError(f"{path} exists; pass overwrite=True to replace it or choose another name") from None
    return path


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
            return {k: data[k] for k in data.files}
    except (ValueError, OSError, EOFError, zipfile.BadZipFile, zlib.error) as err:
        raise ArgumentError(f"{path} is not {what}: the archive cannot be read ({type(err).__name__})") from None
