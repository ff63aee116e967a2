"""The two diagrams a chunk of the scenario sweep runs, interpreted or compiled.

* the LSTM, batched over the scenarios (:func:`scenario_lstm_diagram`): one state-space LSTM layer
  fed the scenarios' inputs ``u (B, T, 1)`` from their initial states ``h0, c0 (B, n_units)``,
  recording ``y (B, T, 1)``;
* the plant (:func:`plant_diagram`): ``SEQUENCE q3 -> PHPLANT -> RECORDER``, batched over the same
  inputs, every tank starting from the steady state at the centre input, recording ``pH (B, T, 1)``.

With the interpreter (``backend="numpy"``) a chunk builds each diagram, runs it and releases it at
once (:func:`run_and_release`). With the compiled backend (``backend="jax"``) each diagram is compiled
once per process for chunks of one shape (:class:`CompiledStages`, :data:`COMPILED`) and re-run with
every chunk's data (:func:`lstm_compiled`, :func:`plant_compiled`).

A *model* here is anything with the attributes of
:class:`~lstmds_sim.learning.model.IdentifiedModel` (:class:`ScenarioModel`): the weights ``params``
(one input, one output), the normalisation ``u_mean, u_scale, y_mean, y_scale`` (``u_norm = (q3 -
u_mean) / u_scale``, ``pH = y_mean + y_scale * y_norm``) and the sample time ``Ts`` in seconds. The
safety layer never imports the learning layer.
"""

from __future__ import annotations

import gc
import hashlib
import pickle
import time
from collections.abc import Callable
from typing import Protocol

import numpy as np

from ..core.allocator import trim_heap
from ..core.bdsim_adapter import release_diagram
from ..core.diagram import lstm_diagram, lstm_layers
from ..core.engine import blockdiagram, run
from ..core.params import LSTMParams
from ..systems.ph_plant import simulate_plant, steady_state
from .scenario import Scenarios

__all__ = [
    "COMPILED", "STAGE_PARTS", "CompiledStages", "ScenarioModel", "lstm_compiled",
    "lstm_through_diagram", "model_digest", "padded_rows", "plant_compiled", "plant_diagram",
    "plant_simulator_check", "plant_through_diagram", "run_and_release", "scenario_lstm_diagram",
]

#: The state blocks of the LSTM layer of :func:`scenario_lstm_diagram` (the initial states of a compiled run).

#: ``--backend jax``: the parts a stage's compiled program cuts a chunk into, each on its own thread. The
#: sweep's parallelism is its chunks, one per worker; yet the plant runs faster in two parts, even with
#: two workers on two cores (measured, chunks of 512: 3.2 M against 2.8 M tank-samples per CPU second: the
#: pH solve's loop runs until its slowest tank is done, and XLA spreads one part's small loops over the
#: cores less well than two parts use them), the LSTM in one (7.4 M against 6.3 M per core).
STAGE_PARTS = {"lstm": 1, "plant": 2}


class ScenarioModel(Protocol):
    """What the sweep needs of a model (an :class:`~lstmds_sim.learning.model.IdentifiedModel` has it)."""

    params: LSTMParams  # one input, one output, state-space form
    u_mean: float
    u_scale: float
    y_mean: float
    y_scale: float
    Ts: float


# --------------------------------------------------------------------------- the diagrams
def scenario_lstm_diagram(model: ScenarioModel, scenarios: Scenarios):
    """The LSTM of the sweep: one state-space layer run on every scenario at once (a bdsim BlockDiagram).

    ``scenarios``: inputs ``u (B, T, 1)`` (normalised) and initial states ``h0, c0 (B, n_units)``;
    the diagram records the normalised output ``y (B, T, 1)``.
    """
    return lstm_diagram(model.params, scenarios.u, Ts=model.Ts, h0=scenarios.h0, c0=scenarios.c0,
                        form="statespace", name="scenario_lstm")[0]


def plant_diagram(model: ScenarioModel, u: np.ndarray | None, *, q3: np.ndarray | None = None):
    """SEQUENCE q3 -> PHPLANT -> RECORDER "pH", batched: the plant block fed the same (normalised) inputs.

    ``u (B, T, 1)``: normalised inputs, fed as the flows ``q3 = u * u_scale + u_mean`` (ml/s); or
    ``q3 (B, T, 1)``: the flows themselves. Every scenario starts from the steady state at the
    centre input ``u_mean``.
    """
    bd = blockdiagram("scenario_plant")
    clock = bd.clock(model.Ts, "s")
    q3 = bd.SEQUENCE(u * model.u_scale + model.u_mean if q3 is None else q3, clock, name="q3")
    plant = bd.PHPLANT(clock, x0=steady_state(model.u_mean).x, name="pH plant")
    bd.connect(q3, plant, name="q3")
    bd.connect(plant, bd.RECORDER(name="pH"), name="pH")
    return bd


# --------------------------------------------------------------------------- interpreted: run and release
def run_and_release(build: Callable[[], object], signal: str) -> np.ndarray:
    """Build a diagram for one chunk (``build()``), run it, return one recorder, and free the diagram at once.

    bdsim keeps every Clock it ever made in a module-level list (``bdsim.components.clocklist``)
    and a clock keeps its blocks and a name for every state, so each chunk's diagram, with its
    inputs and recordings, would stay in memory for good; emptying the clock's lists lets it go
    (:func:`~lstmds_sim.core.bdsim_adapter.release_diagram`). A diagram is a web of reference
    cycles (blocks, wires, the diagram), which only the cycle collector frees: run it now (nothing
    else holds the diagram), so that the chunk's next stage does not share memory with this one's
    leftovers.
    """
    bd = build()
    try:
        return run(bd).recorders[signal]
    finally:
        release_diagram(bd)
        del bd
        gc.collect()


def lstm_through_diagram(model: ScenarioModel, scenarios: Scenarios) -> np.ndarray:
    """The LSTM's batched diagram on the scenarios, interpreted: normalised y (B, T, 1)."""
    return run_and_release(lambda: scenario_lstm_diagram(model, scenarios), "y")


def plant_through_diagram(model: ScenarioModel, u: np.ndarray) -> np.ndarray:
    """The plant's diagram on the normalised inputs ``u (B, T, 1)``, interpreted: normalised pH (B, T, 1)."""
    ph = run_and_release(lambda: plant_diagram(model, u), "pH")
    if ph.ndim == 2:  # a run of one step records only the initial output, the same for every scenario (T, 1)
        ph = np.broadcast_to(ph[None], (u.shape[0],) + ph.shape).copy()
    ph -= model.y_mean  # in place: a chunk's signals are its memory
    ph /= model.y_scale
    return ph


def plant_simulator_check(model: ScenarioModel, u: np.ndarray, y_block: np.ndarray, count: int = 8) -> float:
    """Largest |block - simulate_plant| over the first ``count`` scenarios (normalised pH).

    ``u (B, T, 1)``: the normalised inputs; ``y_block (B, T, 1)``: the plant block's normalised pH.
    The block runs the simulator's own RK4 step, so the two agree to rounding.
    """
    q3 = u[:count, :, 0] * model.u_scale + model.u_mean
    ph = simulate_plant(q3, steady_state(model.u_mean).x, Ts=model.Ts, keep_states=False).y
    return float(np.max(np.abs(y_block[:count, :, 0] - (ph - model.y_mean) / model.y_scale)))


# --------------------------------------------------------------------------- compiled: once per process
def model_digest(model: ScenarioModel) -> str:
    """A digest of everything in the model (weights, normalisation, Ts): the same model gives the same digest."""
    return hashlib.sha256(pickle.dumps(model, protocol=5)).hexdigest()


class CompiledStages:
    """This process's compiled diagrams of the sweep (``--backend jax``), each compiled once and re-run.

    A stage (``"lstm"``: the batched LSTM diagram; ``"plant"``: the PHPLANT diagram) is
    compiled for chunks of ``batch`` scenarios of ``horizon`` steps of one model, from a
    diagram whose data has that shape and no memory (a broadcast zero); every chunk
    then runs the same program with its own inputs and initial states
    (:meth:`lstmds_sim.core.compiled.CompiledRun.run`). What determines the program is
    the model (its weights are constants of the program; its Ts the plant's step), the
    shape and the stage: that is the key. One program per stage is kept (about 80 MB
    each; the template's data is never copied): another model or
    shape replaces it, so a long-lived worker on a shared cluster does not grow.
    ``compilations`` and ``compile_s`` count what this process compiled. A stage runs
    its chunk in :data:`STAGE_PARTS` parts (``compile_run(threads=)``), a number fixed
    here, not taken from the machine's cores, so a chunk's bits do not depend on where it runs.
    """

    def __init__(self) -> None:
        self.programs: dict[str, tuple[tuple, object]] = {}
        self.compilations = 0
        self.compile_s = 0.0

    def get(self, stage: str, model: ScenarioModel, batch: int, horizon: int):
        """The stage's :class:`~lstmds_sim.core.compiled.CompiledRun` for (model, batch, horizon)."""
        key = (model_digest(model), batch, horizon)
        held = self.programs.get(stage)
        if held is not None and held[0] == key:
            return held[1]
        self.programs.pop(stage, None)  # the old program goes first: one per stage at a time
        gc.collect()
        from ..core.compiled import compile_run  # imports JAX: only when a compiled stage runs

        start = time.perf_counter()
        template = np.broadcast_to(np.float64(0.0), (batch, horizon, 1))  # the shape; no memory
        if stage == "lstm":
            zeros = np.zeros((batch, model.params.n_units))
            bd = scenario_lstm_diagram(model, Scenarios(template, zeros, zeros))
        elif stage == "plant":
            bd = plant_diagram(model, None, q3=template + model.u_mean)  # still a broadcast: no memory
        else:
            raise ValueError(f"no compiled stage {stage!r}; have 'lstm' and 'plant'")
        try:
            program = compile_run(bd, threads=STAGE_PARTS[stage])
            if stage == "lstm":  # the layer's two state blocks, as its handle names them (x0 of every run)
                (layer,) = lstm_layers(bd)
                program.layer_states = (layer.hidden.name, layer.cell.name)
                if set(program.states) != set(program.layer_states):
                    raise RuntimeError(f"the LSTM diagram's states are {sorted(program.states)}, expected "
                                       f"{program.layer_states}")
        finally:
            release_diagram(bd)  # the program keeps its own analysis; bdsim's clock list lets go of the blocks
            del bd
        self.programs[stage] = (key, program)
        gc.collect()
        trim_heap()  # compiling frees tens of MB in small pieces all over the heap: give them back
        self.compilations += 1
        self.compile_s += time.perf_counter() - start
        return program

    def clear(self) -> None:
        """Forget every program (the next chunk compiles again)."""
        self.programs.clear()
        gc.collect()


#: The compiled stages of this process (a Dask worker keeps them from chunk to chunk).
COMPILED = CompiledStages()


def padded_rows(a: np.ndarray, rows: int) -> np.ndarray:
    """``a`` with rows of zeros appended up to ``rows`` (``a`` itself when it has as many)."""
    if len(a) == rows:
        return a
    out = np.zeros((rows, *a.shape[1:]))
    out[:len(a)] = a
    return out


def lstm_compiled(program, scenarios: Scenarios) -> np.ndarray:
    """The compiled LSTM diagram on the scenarios (zero rows added up to its batch): y (batch, T, 1), read-only."""
    batch = program.inputs["u"][0]
    hidden, cell = program.layer_states
    result = program.run(inputs={"u": padded_rows(scenarios.u, batch)},
                         x0={hidden: padded_rows(scenarios.h0, batch), cell: padded_rows(scenarios.c0, batch)})
    return result.recorders["y"]


def plant_compiled(program, model: ScenarioModel, u: np.ndarray) -> np.ndarray:
    """The compiled plant diagram on the inputs u (B, T, 1), zero rows added up to its batch: normalised pH (B, T, 1)."""
    batch = program.inputs["q3"][0]
    q3 = padded_rows(u, batch) * model.u_scale  # a new array: the padding rows are q3 = u_mean
    q3 += model.u_mean
    ph = program.run(inputs={"q3": q3}, x0={"pH plant": steady_state(model.u_mean).x}).recorders["pH"]
    del q3
    y = np.subtract(ph[:len(u)], model.y_mean)  # the result is read-only (the device's buffer): a new array
    del ph
    y /= model.y_scale
    return y
