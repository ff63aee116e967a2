"""Identification data for the pH plant (Bonassi et al. 2020, section 4; defaults from the spec).

The paper feeds the plant a multilevel pseudo-random signal (MPRS) on the base
flow ``q3``, samples every ``Ts = 10 s``, adds white noise to the input and to the
measured output, and records 4400 training and 2250 validation samples,
normalised with the mean and the maximum deviation over the whole data set.
Where the paper is silent, values from later work of the same group are
used: ``q3`` in [12.5, 17] ml/s, levels held 76-110 samples, output noise
sigma 0.01 pH, input jitter sigma 0.02 ml/s on the flow the plant receives.

Choices made here where the paper is not precise
------------------------------------------------
* Training and validation are **two separate experiments**: two independent
  MPRS realisations, each starting at rest (the steady state of its first
  level).  Validation therefore tests the model on an input it has never seen
  (not on the continuation of the training run).
* The recorded input ``u`` is the *nominal* MPRS; the jitter only perturbs the
  flow the plant actually receives (an unmeasured input disturbance).
* Random streams: one :class:`numpy.random.SeedSequence` per ``seed``, spawned into
  independent streams for the training input, validation input, jitter and
  output noise, so the same seed gives identical data and changing a noise level
  does not change the input.

What is here
------------
* :class:`IdentificationData` -- the data set, its normalisation, ``save``/``load``.
* :func:`generate_identification_data` -- the experiment.
"""

from __future__ import annotations

import csv
import io
import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..core.atomic import write_file
from ..core.validation import ShapeError, as_float_array, check_finite, positive_int
from ..systems.ph_plant import (
    DEFAULT_PARAMS,
    DEFAULT_SUBSTEPS,
    PHParams,
    simulate_plant,
)
from ..systems.signals import HOLD, Q3_RANGE, mprs

FORMAT_VERSION = 1


# --------------------------------------------------------------------------- the data set


def _centre_and_scale(x: np.ndarray, what: str) -> tuple[float, float]:
    """Mean and maximum absolute deviation from it (the paper's normalisation)."""
    mean = float(np.mean(x))
    scale = float(np.max(np.abs(x - mean)))
    if not scale > 0:
        raise ValueError(f"{what} is constant: it cannot be normalised by its maximum deviation")
    return mean, scale


def _one_d(value, what: str) -> np.ndarray:
    arr = check_finite(as_float_array(value, what), what)
    if arr.ndim != 1:
        raise ShapeError(f"{what} has shape {arr.shape}, expected (N,)")
    return arr


@dataclass
class IdentificationData:
    """Input/output data of the identification experiment, training part first.

    Attributes
    ----------
    u : ndarray (N,)
        Recorded (nominal) base flow q3 [ml/s], ``N = n_train + n_val``.
    y : ndarray (N,)
        Measured pH (with output noise).
    n_train : int
        The first ``n_train`` samples are the training experiment, the rest the
        validation experiment (an independent experiment, see the module notes).
    Ts : float
        Sampling period [s].
    seed : int or None
        Seed of the random streams (None for data not made here).
    input_jitter, output_noise : float
        Standard deviations of the input jitter [ml/s] and output noise [pH].
    q3_range : tuple of float
        MPRS level range [ml/s].
    hold : tuple of int
        MPRS hold range [samples].
    y_clean : ndarray (N,) or None
        Noise-free pH (the plant's output before the measurement noise).
    u_applied : ndarray (N,) or None
        The flow the plant received (``u`` plus the jitter).
    params : PHParams
        Plant parameters used.
    u_mean, u_scale, y_mean, y_scale : float
        Normalisation (not arguments; computed over the WHOLE data set): the
        mean and the maximum absolute deviation from it, so that the
        normalised ``u`` and ``y`` lie in [-1, 1] and each reaches +-1.
    """

    u: np.ndarray
    y: np.ndarray
    n_train: int
    Ts: float = 10.0
    seed: int | None = None
    input_jitter: float = 0.0
    output_noise: float = 0.0
    q3_range: tuple[float, float] = Q3_RANGE
    hold: tuple[int, int] = HOLD
    y_clean: np.ndarray | None = None
    u_applied: np.ndarray | None = None
    params: PHParams = DEFAULT_PARAMS
    u_mean: float = field(init=False)
    u_scale: float = field(init=False)
    y_mean: float = field(init=False)
    y_scale: float = field(init=False)

    def __post_init__(self) -> None:
        self.u = _one_d(self.u, "u")
        self.y = _one_d(self.y, "y")
        if self.u.shape != self.y.shape:
            raise ShapeError(f"u has {self.u.size} samples but y has {self.y.size}; they must match")
        for name in ("y_clean", "u_applied"):
            value = getattr(self, name)
            if value is not None:
                value = _one_d(value, name)
                if value.shape != self.u.shape:
                    raise ShapeError(f"{name} has {value.size} samples, expected {self.u.size}")
                setattr(self, name, value)
        self.n_train = positive_int(self.n_train, "n_train")
        if self.n_train >= self.u.size:
            raise ValueError(f"n_train ({self.n_train}) must leave validation samples (N = {self.u.size})")
        self.Ts = float(self.Ts)
        self.q3_range = tuple(float(v) for v in self.q3_range)
        self.hold = tuple(int(v) for v in self.hold)
        self.u_mean, self.u_scale = _centre_and_scale(self.u, "u")
        self.y_mean, self.y_scale = _centre_and_scale(self.y, "y")

    # ----- splits
    @property
    def n_val(self) -> int:
        """Number of validation samples."""
        return self.u.size - self.n_train

    @property
    def u_train(self) -> np.ndarray:
        return self.u[: self.n_train]

    @property
    def y_train(self) -> np.ndarray:
        return self.y[: self.n_train]

    @property
    def u_val(self) -> np.ndarray:
        return self.u[self.n_train :]

    @property
    def y_val(self) -> np.ndarray:
        return self.y[self.n_train :]

    @property
    def split(self) -> np.ndarray:
        """``"train"``/``"val"`` label of every sample."""
        return np.where(np.arange(self.u.size) < self.n_train, "train", "val")

    # ----- normalisation
    def normalise_u(self, u) -> np.ndarray:
        """``(u - u_mean) / u_scale``: flows [ml/s] to normalised units."""
        return (np.asarray(u, dtype=np.float64) - self.u_mean) / self.u_scale

    def denormalise_u(self, un) -> np.ndarray:
        """Inverse of :meth:`normalise_u`."""
        return np.asarray(un, dtype=np.float64) * self.u_scale + self.u_mean

    def normalise_y(self, y) -> np.ndarray:
        """``(y - y_mean) / y_scale``: pH to normalised units."""
        return (np.asarray(y, dtype=np.float64) - self.y_mean) / self.y_scale

    def denormalise_y(self, yn) -> np.ndarray:
        """Inverse of :meth:`normalise_y`: normalised outputs back to pH."""
        return np.asarray(yn, dtype=np.float64) * self.y_scale + self.y_mean

    # ----- files
    def _meta(self) -> dict:
        return {
            "format_version": FORMAT_VERSION,
            "description": "pH plant identification data (Bonassi et al. 2020, section 4); "
                           "training and validation are two independent experiments",
            "n_train": self.n_train, "Ts": self.Ts, "seed": self.seed,
            "input_jitter": self.input_jitter, "output_noise": self.output_noise,
            "q3_range": list(self.q3_range), "hold": list(self.hold),
            "params": self.params.as_dict(),
        }

    def _columns(self) -> dict[str, np.ndarray]:
        cols = {"u_q3_ml_s": self.u, "y_pH": self.y}
        if self.y_clean is not None:
            cols["y_clean_pH"] = self.y_clean
        if self.u_applied is not None:
            cols["u_applied_ml_s"] = self.u_applied
        return cols

    def save(self, path, *, overwrite: bool = False) -> tuple[Path, Path]:
        """Write the data to ``<path>.npz`` and ``<path>.csv`` (a suffix on ``path`` is replaced).

        The ``.npz`` holds the arrays and a JSON string ``meta``; the ``.csv`` has
        two comment lines (a title and ``# meta: {json}``), a header and one row per
        sample (``k, t_s, split`` and the data columns), floats written to full
        precision so that :meth:`load` round-trips exactly.

        Raises
        ------
        FileExistsError
            If either file exists and ``overwrite`` is False (nothing is written).
        """
        npz_path, csv_path = _paths(path)
        if not overwrite:
            for target in (npz_path, csv_path):
                if target.exists():
                    raise FileExistsError(
                        f"{target} already exists; not overwriting it. Pass overwrite=True to replace it, "
                        "or choose another path."
                    )
        meta = json.dumps(self._meta())
        cols = self._columns()
        archive = io.BytesIO()
        np.savez(archive, meta=np.array(meta), **cols)
        fh = io.StringIO(newline="")
        fh.write("# lstmds-sim identification data: pH plant driven by an MPRS on q3\n")
        fh.write(f"# meta: {meta}\n")
        writer = csv.writer(fh)
        writer.writerow(["k", "t_s", "split", *cols])
        split = self.split
        for k in range(self.u.size):
            writer.writerow([k, repr(k * self.Ts), split[k], *(repr(float(c[k])) for c in cols.values())])
        # each file written all at once (a full disk or an interrupt leaves no partial file)
        write_file(npz_path, archive.getbuffer(), overwrite=True)
        write_file(csv_path, fh.getvalue(), overwrite=True)
        return npz_path, csv_path

    @classmethod
    def load(cls, path) -> IdentificationData:
        """Read data written by :meth:`save` from a ``.npz`` or ``.csv`` file (no suffix: ``.npz``)."""
        path = Path(path)
        if path.suffix not in (".npz", ".csv"):
            path = path.with_suffix(".npz")
        if path.suffix == ".npz":
            with np.load(path, allow_pickle=False) as data:
                meta = json.loads(str(data["meta"]))
                cols = {name: np.array(data[name]) for name in data.files if name != "meta"}
        else:
            meta, cols = _read_csv(path)
        return cls(
            u=cols["u_q3_ml_s"], y=cols["y_pH"], n_train=meta["n_train"], Ts=meta["Ts"], seed=meta["seed"],
            input_jitter=meta["input_jitter"], output_noise=meta["output_noise"],
            q3_range=tuple(meta["q3_range"]), hold=tuple(meta["hold"]),
            y_clean=cols.get("y_clean_pH"), u_applied=cols.get("u_applied_ml_s"),
            params=PHParams(**meta["params"]),
        )


def _paths(path) -> tuple[Path, Path]:
    path = Path(path)
    if path.suffix in (".npz", ".csv"):
        path = path.with_suffix("")
    return path.with_name(path.name + ".npz"), path.with_name(path.name + ".csv")


def _read_csv(path: Path) -> tuple[dict, dict[str, np.ndarray]]:
    meta = None
    with open(path, newline="") as fh:
        lines = fh.readlines()
    body = []
    for line in lines:
        if line.startswith("# meta:"):
            meta = json.loads(line[len("# meta:"):])
        elif not line.startswith("#"):
            body.append(line)
    if meta is None:
        raise ValueError(f"{path} has no '# meta:' line; it was not written by IdentificationData.save")
    rows = list(csv.reader(body))
    header, rows = rows[0], rows[1:]
    data_names = header[3:]
    cols = {name: np.array([float(r[3 + i]) for r in rows]) for i, name in enumerate(data_names)}
    return meta, cols


# --------------------------------------------------------------------------- the experiment


def generate_identification_data(*, n_train: int = 4400, n_val: int = 2250, Ts: float = 10.0, seed: int = 0,
                                 q3_range: tuple[float, float] = Q3_RANGE, hold: tuple[int, int] = HOLD,
                                 input_jitter: float = 0.02, output_noise: float = 0.01,
                                 params: PHParams = DEFAULT_PARAMS,
                                 substeps: int = DEFAULT_SUBSTEPS) -> IdentificationData:
    """Run the identification experiments of Bonassi et al. (2020), section 4.

    Two independent experiments (training, validation), each an MPRS on ``q3``
    starting at the steady state of its first level.  The plant receives
    ``u + jitter`` (white, sigma ``input_jitter`` ml/s, one value per sample, held
    over the period); the recorded input is the nominal ``u``; the recorded output
    is the sampled pH plus white noise of sigma ``output_noise``.  The same
    ``seed`` gives identical data.

    Parameters
    ----------
    n_train, n_val : int
        Samples of the two experiments.
    Ts : float
        Sampling period [s].
    seed : int
        Seed of every random stream.
    q3_range : (float, float)
        MPRS level range [ml/s].
    hold : (int, int)
        MPRS hold range [samples].
    input_jitter, output_noise : float
        Noise standard deviations [ml/s], [pH] (>= 0).
    params : PHParams
        Plant parameters.
    substeps : int
        RK4 steps per sampling period (see :func:`~lstmds_sim.systems.ph_plant.simulate_plant`).

    Returns
    -------
    IdentificationData
    """
    n_train = positive_int(n_train, "n_train")
    n_val = positive_int(n_val, "n_val")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise TypeError(f"seed must be a non-negative integer, got {seed!r}")
    for name, value in (("input_jitter", input_jitter), ("output_noise", output_noise)):
        if not (math.isfinite(value) and value >= 0):
            raise ValueError(f"{name} is a standard deviation and must be finite and >= 0, got {value!r}")
    low, high = q3_range
    if low < 0:
        raise ValueError(f"q3_range must lie in [0, inf) ml/s (a flow), got {q3_range!r}")
    rng_u_train, rng_u_val, rng_jitter, rng_noise = (
        np.random.default_rng(s) for s in np.random.SeedSequence(int(seed)).spawn(4)
    )
    u_train = mprs(n_train, low=low, high=high, hold_min=hold[0], hold_max=hold[1], rng=rng_u_train)
    u_val = mprs(n_val, low=low, high=high, hold_min=hold[0], hold_max=hold[1], rng=rng_u_val)
    n = n_train + n_val
    jitter = rng_jitter.normal(0.0, input_jitter, n) if input_jitter > 0 else np.zeros(n)
    noise = rng_noise.normal(0.0, output_noise, n) if output_noise > 0 else np.zeros(n)

    # both experiments in one batch (padded to the longer one; the padding is dropped)
    length = max(n_train, n_val)
    u_batch = np.stack([np.pad(u_train, (0, length - n_train), mode="edge"),
                        np.pad(u_val, (0, length - n_val), mode="edge")])
    jitter_batch = np.stack([np.pad(jitter[:n_train], (0, length - n_train)),
                             np.pad(jitter[n_train:], (0, length - n_val))])
    response = simulate_plant(u_batch, Ts=Ts, params=params, q3_jitter=jitter_batch,
                              substeps=substeps, keep_states=False)
    y_clean = np.concatenate([response.y[0, :n_train], response.y[1, :n_val]])
    u = np.concatenate([u_train, u_val])
    return IdentificationData(
        u=u, y=y_clean + noise, n_train=n_train, Ts=Ts, seed=int(seed),
        input_jitter=float(input_jitter), output_noise=float(output_noise),
        q3_range=(float(low), float(high)), hold=(int(hold[0]), int(hold[1])),
        y_clean=y_clean, u_applied=u + jitter, params=params,
    )
