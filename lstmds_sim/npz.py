"""Saving and loading ``.npz`` archives without losing or silently replacing a user's file."""

from __future__ import annotations

from pathlib import Path
from typing import Mapping

import numpy as np


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
    try:
        data = np.load(path, allow_pickle=False)
    except ValueError as err:
        raise ValueError(f"{path} is not {what} ({err})") from None
    if not isinstance(data, np.lib.npyio.NpzFile):
        raise ValueError(f"{path} is a single .npy array, not {what}: save with LSTMParams.save or np.savez")
    with data:
        return {k: data[k] for k in data.files}
