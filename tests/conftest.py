import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

#: The checkout's top folder. Child processes start there, so ``python -c`` finds this checkout's
#: lstmds_sim whether or not it is installed (as ``python -m pytest`` from the checkout does).
ROOT = Path(__file__).resolve().parent.parent

#: Two different string-hash seeds: set and dict-of-set iteration order differs between processes
#: started with them, so anything that leaks that order into a result shows up as a difference.
HASH_SEEDS = ("1", "2654435761")


@pytest.fixture
def rng():
    return np.random.default_rng(20261122)


def start_in_subprocess(code_or_argv, env_extra=None, *, cwd=ROOT, stdin=None) -> subprocess.Popen:
    """Start a fresh Python: ``python -c CODE`` for a str, ``python ARG...`` for a list.

    ``env_extra`` is laid over this process's environment (a value of None removes the
    variable). stdout and stderr are captured as text; collect them with :func:`finish`.
    """
    argv = [sys.executable, "-c", code_or_argv] if isinstance(code_or_argv, str) else [sys.executable, *code_or_argv]
    env = dict(os.environ)
    for key, value in (env_extra or {}).items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = str(value)
    return subprocess.Popen(argv, cwd=cwd, env=env, stdin=stdin, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def finish(proc: subprocess.Popen, timeout: float = 600) -> str:
    """Wait for a process from :func:`start_in_subprocess`; its stdout, after asserting it exited 0."""
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        raise
    assert proc.returncode == 0, f"{proc.args!r} exited {proc.returncode}:\n{err}"
    return out


def run_in_subprocess(code_or_argv, env_extra=None, *, cwd=ROOT, timeout: float = 600) -> str:
    """Run ``code_or_argv`` in a fresh Python (see :func:`start_in_subprocess`); its stdout."""
    return finish(start_in_subprocess(code_or_argv, env_extra, cwd=cwd), timeout)


def start_with_hash_seeds(code_or_argv, env_extra=None, *, envs=None, cwd=ROOT) -> list[subprocess.Popen]:
    """Start the same code in one fresh Python per seed of :data:`HASH_SEEDS`, all at once.

    ``envs`` optionally gives each process its own extra variables (one dict per seed), on top
    of ``env_extra``. Collect the outputs with :func:`finish`.
    """
    envs = envs or [{} for _ in HASH_SEEDS]
    assert len(envs) == len(HASH_SEEDS)
    return [start_in_subprocess(code_or_argv, {**(env_extra or {}), **own, "PYTHONHASHSEED": seed}, cwd=cwd)
            for seed, own in zip(HASH_SEEDS, envs)]


def run_with_hash_seeds(code_or_argv, env_extra=None, *, envs=None, cwd=ROOT, timeout: float = 600) -> list[str]:
    """Run the same code in one fresh Python per seed of :data:`HASH_SEEDS`, at the same time; their stdouts
    in the order of the seeds (see :func:`start_with_hash_seeds`)."""
    return [finish(proc, timeout) for proc in start_with_hash_seeds(code_or_argv, env_extra, envs=envs, cwd=cwd)]


# --------------------------------------------------------------------------- two fresh processes
# tests/fresh_process.py, run in two fresh Pythons, serves test_house and test_determinism. It takes
# seconds (importing JAX, bdsim, scipy and matplotlib, compiling a training loop), mostly on one core,
# so when tests that read it are selected the two processes start as soon as collection is done and
# those tests run last: the processes then work beside the rest of the suite (under pytest-xdist each
# worker starts them when a test first needs them).
_FRESH: dict[str, list[subprocess.Popen]] = {}


def _start_fresh_processes() -> list[subprocess.Popen]:
    return start_with_hash_seeds((ROOT / "tests" / "fresh_process.py").read_text(), {"JAX_ENABLE_X64": "0"},
                                 envs=[{"PROBE_PROGRESS": "lines"}, {"PROBE_PROGRESS": "callback"}])


def _reads_fresh_processes(item) -> bool:
    return "fresh_processes" in getattr(item, "fixturenames", ())


@pytest.hookimpl(trylast=True)  # after -m and -k have deselected
def pytest_collection_modifyitems(config, items):
    items.sort(key=_reads_fresh_processes)  # stable: the order is kept otherwise


def pytest_collection_finish(session):
    wanted = any(_reads_fresh_processes(item) for item in session.items)
    if wanted and not session.config.option.collectonly and "PYTEST_XDIST_WORKER" not in os.environ:
        _FRESH["procs"] = _start_fresh_processes()


def pytest_sessionfinish(session):
    for proc in _FRESH.pop("procs", []):  # started, but no test read them (stopped early with -x, say)
        proc.kill()
        proc.communicate()


@pytest.fixture(scope="session")
def fresh_processes():
    """What tests/fresh_process.py saw in two fresh Pythons, one per seed of HASH_SEEDS (JAX_ENABLE_X64=0;
    the first shows training progress as lines, the second through a callback)."""
    procs = _FRESH.pop("procs", None) or _start_fresh_processes()
    return [json.loads(finish(proc).splitlines()[-1]) for proc in procs]
