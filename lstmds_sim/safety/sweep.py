"""Scenario sweeps in chunks: bounded memory, the same draws however the work is cut, serial or on Dask.

A sweep is a set of *parts* (e.g. the N scenarios of the bound for one rho_u,
and the fresh scenarios of its posterior check), each cut into *chunks* of at
most ``chunk`` scenarios (:func:`chunk_bounds`). A chunk is evaluated by a
function of the caller's (the lab's) that draws its scenarios with
:func:`~lstmds_sim.safety.scenario.draw_scenario_range` (so the draws do not
depend on the chunking), runs them and returns a :class:`ChunkResult`: per
scenario its running peak ``max_k |y(k)|`` (never the trajectories), the
largest value of a check over the chunk, the few trajectories to keep for a
figure, and the seconds each stage took. Memory is bounded by one chunk
(``chunk x horizon`` samples per signal) per worker, whatever N is.

:func:`evaluate_chunks` runs the chunks here, one after another, or on
``dask.distributed`` (a ``LocalCluster`` of ``workers`` processes, or an
existing cluster at ``scheduler``), yielding results as they arrive; a chunk
whose task raises is retried ``retries`` times, one whose worker dies is
rescheduled by Dask. :class:`Collector` puts the chunks of each part back
together in order and refuses a sweep with a chunk missing or given twice;
:func:`sweep_parts` does both and yields each part as soon as it is complete.
Same chunks, same numbers: the result is bit-for-bit the same serial or
distributed, and, with chunks of whole draw blocks run to the end of their
last block (:attr:`Chunk.padded_stop`), for any chunk size.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
import uuid
from collections.abc import Callable, Hashable, Iterable, Iterator
from dataclasses import dataclass, field

import numpy as np

from ..core.errors import IncompleteSweepError, add_note
from ..core.validation import positive_int
from .scenario import DRAW_BLOCK

__all__ = [
    "CHUNK_BUDGET", "CLUSTER_HINT", "MIN_CHUNK", "Chunk", "ChunkResult", "Collector", "IncompleteSweepError",
    "PartResult", "check_chunk", "check_sweep_size", "chunk_bounds", "default_chunk", "evaluate_chunks",
    "require_distributed", "sweep_parts", "worker_env",
]

CHUNK_BUDGET = 3 * 2**21
"""Scenario-steps per chunk by default (about 6.3 M: 48 MiB per float64 signal of the chunk; the
paper's N = 2964 scenarios of 2000 steps are one chunk, about 0.5 GB at the peak)."""

MIN_CHUNK = DRAW_BLOCK
"""The smallest chunk; every chunk size is a multiple of it (whole seeded draw blocks)."""

CLUSTER_HINT = "pip install 'lstmds-sim[cluster]'"


# --------------------------------------------------------------------------- cutting a part into chunks
def default_chunk(horizon: int, budget: int = CHUNK_BUDGET) -> int:
    """Scenarios per chunk: as many whole draw blocks as fit in ``budget`` scenario-steps, at least one.

    3136 for the 2000-step horizon. Beyond ``budget / DRAW_BLOCK`` steps (98,304 by default) a
    chunk is one draw block and memory grows with the horizon.
    """
    horizon = positive_int(horizon, "horizon")
    n = positive_int(budget, "budget") // horizon
    return max(DRAW_BLOCK, n - n % DRAW_BLOCK)


STEP_BYTES = 80
"""Bytes per scenario-step of a chunk at its peak (:data:`CHUNK_BUDGET`'s 6.3 M take about 0.5 GB)."""

PEAK_BYTES = 64
"""Bytes per scenario of the peaks a sweep gathers (a float64 per signal compared, a few signals)."""

STEPS_PER_CORE_S = 2e6
"""Scenario-steps a core runs in a second, roughly (the paper's sweep: 1.2e8 in about a minute on 2 cores)."""

LONGEST_S = 365 * 86400.0
"""The longest sweep started without question: a year of this machine's cores."""


def physical_memory() -> int | None:
    """Bytes of memory of this machine (None where the system does not say)."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return None


def check_sweep_size(scenarios: int, horizon: int, chunk: int, *, cores: int | None = None,
                     memory: int | None = None) -> None:
    """Refuse, before anything runs, a sweep that no machine could finish: one line with its size and cost.

    ``scenarios``: every scenario of the sweep (all parts); ``chunk``: scenarios per chunk. Refused:
    a chunk or the gathered peaks larger than this machine's memory (``memory``), or work beyond
    :data:`LONGEST_S` of its ``cores`` (what used to end in a MemoryError after a long wait).
    """
    memory = physical_memory() if memory is None else memory
    cores = cores or os.cpu_count() or 1
    steps = scenarios * horizon
    days = steps / (STEPS_PER_CORE_S * cores) / 86400
    cost = f"{scenarios:,} scenarios of {horizon:,} steps, {steps:.3g} scenario-steps (about {days:,.3g} days on {cores} cores)"
    need = [(scenarios * PEAK_BYTES, "the peaks of every scenario", "a larger --eps or --beta (fewer scenarios)"),
            (chunk * horizon * STEP_BYTES, f"a chunk of {chunk:,} scenarios of {horizon:,} steps",
             "a shorter --horizon" + (" or a smaller --chunk" if chunk > MIN_CHUNK else ""))]
    from ..core.atomic import human_bytes

    for size, what, todo in need:
        if memory is not None and size > memory:
            raise ValueError(f"the sweep is too large for this machine: {what} needs {human_bytes(size)} of memory "
                             f"and it has {human_bytes(memory)} ({cost}); give {todo}")
    if days * 86400 > LONGEST_S:
        raise ValueError(f"the sweep would take about {days / 365:,.3g} years ({cost}); give a larger --eps or "
                         "--beta, or a shorter --horizon")


def check_chunk(chunk: int) -> int:
    """A chunk size: a positive multiple of :data:`~lstmds_sim.safety.scenario.DRAW_BLOCK`."""
    chunk = positive_int(chunk, "chunk (scenarios per chunk)")
    if chunk % DRAW_BLOCK:
        raise ValueError(
            f"chunk must be a multiple of {DRAW_BLOCK} scenarios (whole seeded draw blocks), got {chunk}")
    return chunk


def chunk_bounds(n: int, chunk: int) -> list[tuple[int, int]]:
    """``[(0, chunk), (chunk, 2 chunk), ..., (., n)]``: they depend only on ``n`` and ``chunk``, never on
    the number of workers, and every chunk starts at a whole draw block."""
    n = positive_int(n, "n (scenarios)")
    chunk = check_chunk(chunk)
    return [(start, min(start + chunk, n)) for start in range(0, n, chunk)]


# --------------------------------------------------------------------------- what a chunk gives back
@dataclass(frozen=True)
class Chunk:
    """Scenarios ``start .. stop - 1`` of the part ``key`` (also the seed key of its draws)."""

    key: tuple
    start: int
    stop: int

    @property
    def size(self) -> int:
        return self.stop - self.start

    @property
    def padded_stop(self) -> int:
        """``stop`` rounded up to whole draw blocks: run the chunk's scenarios up to here, keep ``size``.

        numpy's BLAS (OpenBLAS) rounds a matrix product of a few columns (scenarios) differently
        from the same columns inside a wider product; products whose width is a multiple of the
        draw block give every scenario the same bits at any width (checked up to 8192), so a chunk
        padded to whole blocks gives the same numbers as one chunk of the whole part.
        """
        return -(-self.stop // DRAW_BLOCK) * DRAW_BLOCK


@dataclass
class ChunkResult:
    """What one chunk gives back: nothing of size ``chunk x horizon`` but the few kept trajectories.

    ``peaks``: per scenario of the chunk (shape ``(chunk.size,)``), e.g. ``max_k |y(k)|``;
    ``worst``: the largest value of a check over the chunk (a part keeps the largest over chunks);
    ``kept``: trajectories kept for a figure, first axis the chunk's kept scenarios (in order);
    ``seconds``: time by stage, summed over the chunks in the sweep's timing;
    ``wall_s``, ``cpu_s``: the whole chunk's wall and CPU time (in the process that ran it);
    ``counts``: events counted in the chunk (e.g. programs compiled), summed like ``seconds``.
    """

    chunk: Chunk
    peaks: dict[str, np.ndarray]
    worst: dict[str, float] = field(default_factory=dict)
    kept: dict[str, np.ndarray] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    wall_s: float = 0.0
    cpu_s: float = 0.0
    counts: dict[str, int] = field(default_factory=dict)


@dataclass
class PartResult:
    """A whole part, its chunks put back together in order."""

    key: tuple
    n: int
    peaks: dict[str, np.ndarray]
    worst: dict[str, float]
    kept: dict[str, np.ndarray]
    seconds: dict[str, float]
    evaluated: int  #: scenarios evaluated: n, or the collector would have refused the part
    wall_s: float = 0.0  #: summed over the chunks (over every worker that ran them)
    cpu_s: float = 0.0
    counts: dict[str, int] = field(default_factory=dict)  #: summed over the chunks


class Collector:
    """Gathers chunk results into parts; refuses unknown, repeated, misshapen or missing chunks.

    ``parts`` maps each part's key to its number of scenarios; ``chunk`` is the chunk size.
    """

    def __init__(self, parts: dict[Hashable, int], chunk: int):
        self.sizes = dict(parts)
        self.chunk = chunk
        self.expected = {key: chunk_bounds(n, chunk) for key, n in self.sizes.items()}
        self.got: dict[Hashable, dict[int, ChunkResult]] = {key: {} for key in self.sizes}
        self.complete: set = set()  # parts handed over (their chunks are no longer held here)

    def chunks(self) -> list[Chunk]:
        """Every chunk of the sweep, part by part in the order given."""
        return [Chunk(key, start, stop) for key, bounds in self.expected.items() for start, stop in bounds]

    def add(self, result: ChunkResult) -> PartResult | None:
        """Take one chunk's result; the whole part when this chunk completes it, else None."""
        c = result.chunk
        if c.key not in self.expected or (c.start, c.stop) not in self.expected[c.key]:
            raise IncompleteSweepError(f"a result for chunk {c} that is not in the sweep's plan")
        if c.key in self.complete or c.start in self.got[c.key]:
            raise IncompleteSweepError(f"chunk {c} came back twice")
        for name, values in result.peaks.items():
            if np.shape(values) != (c.size,):
                raise IncompleteSweepError(
                    f"chunk {c}: peaks {name!r} have shape {np.shape(values)}, expected ({c.size},): "
                    "one per scenario of the chunk")
        self.got[c.key][c.start] = result
        if len(self.got[c.key]) == len(self.expected[c.key]):
            return self._part(c.key)
        return None

    def missing(self) -> list[Chunk]:
        return [Chunk(key, start, stop) for key, bounds in self.expected.items() for start, stop in bounds
                if key not in self.complete and start not in self.got[key]]

    def finish(self) -> None:
        """Raise :class:`IncompleteSweepError` naming what is missing, if anything is."""
        missing = self.missing()
        if missing:
            lost = sum(c.size for c in missing)
            shown = ", ".join(f"{c.key} scenarios {c.start}-{c.stop - 1}" for c in missing[:5])
            more = f" and {len(missing) - 5} more" if len(missing) > 5 else ""
            raise IncompleteSweepError(
                f"the sweep is incomplete: {len(missing)} chunk(s), {lost} scenario(s), never came back "
                f"({shown}{more}); a bound from the others would not be the scenario bound of N scenarios")

    def _part(self, key) -> PartResult:
        results = [self.got[key].pop(start) for start, _ in self.expected[key]]
        self.complete.add(key)  # handed over: the part's peaks are not kept here as well
        evaluated = sum(r.chunk.size for r in results)
        if evaluated != self.sizes[key]:  # cannot happen with the plan's bounds; a last line of defence
            raise IncompleteSweepError(f"part {key}: {evaluated} scenarios evaluated, expected {self.sizes[key]}")
        names = results[0].peaks.keys()
        if any(r.peaks.keys() != names for r in results):
            raise IncompleteSweepError(f"part {key}: chunks disagree on which peaks they report")
        peaks = {name: np.concatenate([r.peaks[name] for r in results]) for name in names}
        worst: dict[str, float] = {}
        kept: dict[str, list] = {}
        seconds: dict[str, float] = {}
        counts: dict[str, int] = {}
        for r in results:
            for name, value in r.counts.items():
                counts[name] = counts.get(name, 0) + int(value)
            for name, value in r.worst.items():
                worst[name] = max(worst.get(name, -np.inf), float(value))
            for name, value in r.kept.items():
                kept.setdefault(name, []).append(value)
            for name, value in r.seconds.items():
                seconds[name] = seconds.get(name, 0.0) + float(value)
        return PartResult(key, self.sizes[key], peaks, worst,
                          {name: np.concatenate(v) for name, v in kept.items()}, seconds, evaluated,
                          sum(r.wall_s for r in results), sum(r.cpu_s for r in results), counts)


# --------------------------------------------------------------------------- running the chunks
def require_distributed():
    """Import ``dask.distributed``, or say in one line how to install it."""
    try:
        import distributed
    except ImportError:
        raise ImportError(f"running chunks on Dask needs dask.distributed: {CLUSTER_HINT}") from None
    return distributed


def worker_env() -> dict[str, str]:
    """Environment of the worker processes a local cluster starts: glibc's allocator settings, read
    when a process starts. Like the ``lstmds`` command (:mod:`lstmds_sim.core.allocator`), a step's
    temporaries (a few hundred kB) stay on the heap, without which batched steps pay for page faults
    and run several times slower; unlike it, arrays of 2 MiB and more (a chunk's signals) are
    mapped apart and given back when freed, the heap is trimmed above 32 MiB free, and the task
    thread shares the main heap (one arena, about 30 MB less per worker), so that several workers
    on one machine hold no freed chunk memory. 2 MiB is above a batched step's temporaries (0.5 MB
    for a chunk of 3136) and below a signal of the compiled sweep's chunks (512 x 2000 floats,
    8.2 MB, which the 8 MiB used before left on the heap: 40 MB more per worker, measured).
    ``LSTMDS_NO_MALLOPT=1``: glibc's defaults."""
    if os.environ.get("LSTMDS_NO_MALLOPT"):
        return {}
    return {"MALLOC_MMAP_THRESHOLD_": str(2 << 20), "MALLOC_TRIM_THRESHOLD_": str(32 << 20), "MALLOC_ARENA_MAX": "1"}


def evaluate_chunks(evaluate: Callable, jobs: Iterable, *, workers: int | None = None, scheduler: str | None = None,
                    retries: int = 2) -> Iterator[ChunkResult]:
    """``evaluate(job)`` for every job (each with a ``.chunk``), yielding the results as they come.

    Serial (neither ``workers`` nor ``scheduler``): in order, in this process. On Dask: a
    ``LocalCluster`` of ``workers`` single-threaded processes, or the cluster whose scheduler
    is at ``scheduler``; ``evaluate`` and the jobs must be importable there (lstmds-sim
    installed on every worker). A task that raises is retried ``retries`` times; a worker
    that dies has its tasks rescheduled by Dask (up to ``distributed.scheduler.allowed-failures``
    times), after which the chunk fails with an error naming it.
    """
    jobs = list(jobs)
    if workers is None and scheduler is None:
        for job in jobs:
            yield evaluate(job)
        return
    yield from _on_dask(evaluate, jobs, workers, scheduler, retries)


def sweep_parts(evaluate: Callable, jobs: Iterable, collector: Collector, *, workers: int | None = None,
                scheduler: str | None = None, retries: int = 2, progress=None,
                describe: Callable[[Chunk], str] | None = None,
                check: Callable[[ChunkResult], None] | None = None) -> Iterator[PartResult]:
    """Run the chunks (:func:`evaluate_chunks`) and yield each part as soon as all its chunks are in.

    ``check(result)`` sees every chunk as it arrives (to stop a sweep at its first bad chunk);
    ``progress`` (a :class:`~lstmds_sim.core.progress.Reporter` counting chunks) is shown
    each chunk, described by ``describe(chunk)`` and its wall time. At the end a chunk missing is
    an :class:`IncompleteSweepError`, never a smaller N.
    """
    describe = describe or (lambda c: f"{c.key} scenarios {c.start}-{c.stop - 1}")
    results = evaluate_chunks(evaluate, jobs, workers=workers, scheduler=scheduler, retries=retries)
    for done, result in enumerate(results, 1):
        if check is not None:
            check(result)
        if progress is not None:
            progress.show(done, text=f"{describe(result.chunk)} ({result.wall_s:.1f} s)")
        whole = collector.add(result)
        if whole is not None:
            yield whole
    collector.finish()


CONNECT_S = 10.0
"""Seconds a Dask scheduler has to accept the connection and to answer."""

WORKER_BYTES = 1 << 30
"""Memory a local worker may take (a default chunk at its peak, 0.5 GB, and the process itself)."""


def local_workers(workers: int) -> int:
    """``workers``, or as many as this machine can hold (one per core, 1 GiB each), with a note saying so."""
    cores = os.cpu_count() or 1
    memory = physical_memory()
    limit = max(1, min(cores, memory // WORKER_BYTES if memory else cores))
    if workers > limit:
        from ..core.atomic import human_bytes

        held = f"{cores} cores" + (f" and {human_bytes(memory)} of memory" if memory else "")
        print(f"note: --workers {workers}: this machine has {held}, enough for {limit} single-threaded workers; "
              f"starting {limit} (more would only wait for a core); use --scheduler for a cluster", file=sys.stderr)
    return min(workers, limit)


def connect_scheduler(distributed, address: str, timeout_s: float = CONNECT_S):
    """A ``distributed.Client`` of the scheduler at ``address``; one line when none answers there.

    What listens at the address is checked first: nothing (refused, unreachable), something that
    speaks first with anything but Dask's comm handshake (an SSH or mail server), or something that
    accepts but never answers as Dask does (an HTTP server): each is named, within ``timeout_s``.
    """
    import socket
    import threading
    from urllib.parse import urlsplit

    text = address.strip()
    parts = urlsplit(text if "://" in text else f"tcp://{text}")
    if parts.scheme == "tcp" and parts.hostname:
        try:
            port = parts.port or 8786
        except ValueError:
            raise ValueError(f"--scheduler {address!r}: the port is not a number; give tcp://host:8786") from None
        try:
            probe = socket.create_connection((parts.hostname, port), timeout=timeout_s)
        except OSError as err:
            raise OSError(f"no Dask scheduler answered at {address!r} ({err.strerror or err}); start one "
                          "(dask scheduler) or give its address, tcp://host:8786") from None
        with probe:
            probe.settimeout(0.5)
            try:
                greeting = probe.recv(256)
            except OSError:  # a timeout too: nothing said first
                greeting = None
        # a Dask scheduler greets too: its comm handshake, a framed msgpack message with its "compression"
        if greeting and b"compression" not in greeting:
            raise OSError(f"{address!r} is not a Dask scheduler: what answers there speaks first "
                          f"({greeting[:40]!r}); give the scheduler's address, tcp://host:8786")
    outcome: dict = {}

    def connect() -> None:
        try:
            outcome["client"] = distributed.Client(address, timeout=f"{timeout_s:g}s")
        except BaseException as err:  # noqa: BLE001  (handed to the caller, raised there)
            outcome["error"] = err

    thread = threading.Thread(target=connect, name="lstmds-dask-connect", daemon=True)
    thread.start()
    waited = timeout_s + min(5.0, timeout_s)  # the client's own timeout, and time to say so
    thread.join(waited)
    if thread.is_alive():
        raise OSError(f"{address!r} accepted the connection but did not answer as a Dask scheduler within "
                      f"{waited:g} s (an HTTP server there?); give the scheduler's address, tcp://host:8786")
    if "error" in outcome:
        err = outcome["error"]
        if isinstance(err, (OSError, TimeoutError)):
            raise OSError(f"no Dask scheduler answered at {address!r} ({err})") from None
        if isinstance(err, Exception):
            raise OSError(f"{address!r} did not answer as a Dask scheduler ({type(err).__name__}: "
                          f"{str(err)[:120]})") from None
        raise err
    return outcome["client"]


@contextlib.contextmanager
def _terminal_signals_blocked():
    """Block SIGINT and SIGHUP on this thread while a local cluster starts its processes.

    A Ctrl-C (or a closed terminal) reaches every process of the terminal's group: the workers
    would each print a traceback. Started with these signals blocked, they never see them; this
    process, which handles them (and closes the cluster), receives them as soon as the block ends.
    """
    blocked = {s for s in (getattr(signal, "SIGINT", None), getattr(signal, "SIGHUP", None)) if s is not None}
    if not hasattr(signal, "pthread_sigmask") or threading.current_thread() is not threading.main_thread():
        yield
        return
    from multiprocessing import resource_tracker

    resource_tracker.ensure_running()  # it unblocks SIGINT when it starts: let it start first
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, blocked)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def _on_dask(evaluate, jobs, workers, scheduler, retries) -> Iterator[ChunkResult]:
    import logging

    distributed = require_distributed()
    if scheduler is not None:
        client = connect_scheduler(distributed, scheduler)
        cluster = None
    else:
        workers = local_workers(positive_int(workers, "workers"))
        with _terminal_signals_blocked():  # the workers inherit it: Ctrl-C is this process's to handle
            cluster = distributed.LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                               dashboard_address=":0", silence_logs=logging.ERROR, env=worker_env())
            client = distributed.Client(cluster)
    futures: dict = {}
    try:
        token = uuid.uuid4().hex[:8]  # keys unique to this sweep on a shared scheduler
        for i, job in enumerate(jobs):
            c = job.chunk
            key = f"lstmds-chunk-{token}-{i}-{'.'.join(map(str, c.key))}-{c.start}"
            futures[client.submit(evaluate, job, key=key, retries=retries, pure=False)] = job
        for future in distributed.as_completed(futures):
            chunk = futures[future].chunk
            try:
                result = future.result()
            except distributed.KilledWorker as err:
                raise IncompleteSweepError(
                    f"chunk {chunk} was lost: the workers running it died too often ({err})") from None
            except Exception as err:
                add_note(err, f"(in chunk {chunk}, on Dask after {retries} retries)")
                raise
            future.release()
            yield result
    finally:
        for future in futures:
            future.release()
        client.close()
        if cluster is not None:
            cluster.close()
