"""The house: importing changes nothing process-wide, and blocks/ and diagrams/ are found however the checkout is used."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def python(code: str, cwd=None, env=None) -> str:
    result = subprocess.run([sys.executable, "-c", code], cwd=cwd, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_importing_the_package_and_every_module_changes_nothing_process_wide():
    code = """
import importlib, json, os, pkgutil, sys
import lstmds_sim
light = not any(name in sys.modules for name in ("jax", "bdsim", "matplotlib", "scipy"))
# third-party imports may set variables of their own (JAX sets TF_CPP_MIN_LOG_LEVEL): import them first
import bdsim, jax, matplotlib, networkx, optax, scipy.signal, tqdm
env = dict(os.environ)
umask = os.umask(0o027); os.umask(umask)
import lstmds_sim.blocks, lstmds_sim.diagrams
for package in (lstmds_sim, lstmds_sim.blocks, lstmds_sim.diagrams):
    for module in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
        importlib.import_module(module.name)
print(json.dumps({"light": light, "environ": dict(os.environ) == env, "x64": bool(jax.config.jax_enable_x64),
                  "umask": os.umask(umask) == umask, "modules": sorted(m for m in sys.modules if m.startswith("lstmds_sim."))}))
"""
    seen = json.loads(python(code, env={**os.environ, "JAX_ENABLE_X64": "0"}))
    assert seen["light"] and seen["environ"] and seen["umask"] and not seen["x64"]
    for module in ("core.engine", "learning.training", "io.cli", "blocks.plant", "diagrams.scenario_safety"):
        assert f"lstmds_sim.{module}" in seen["modules"]


def test_training_runs_in_float64_without_switching_jax_for_the_process():
    code = """
import jax, numpy as np
import lstmds_sim as L
p = L.LSTMParams.random(1, 2, 1, rng=0)
u = np.linspace(-1, 1, 20)[:, None]
r = L.train(p, u, np.sin(3 * u), L.TrainOptions(max_epochs=3, verbose_frequency=3), progress=False)
print(r.history.dtype, r.params.W.dtype, bool(jax.config.jax_enable_x64), jax.numpy.ones(1).dtype)
"""
    assert python(code).split() == ["float64", "float64", "False", "float32"]


def test_a_checkout_finds_its_blocks_and_labs_without_an_install(tmp_path):
    """A copy of the checkout, imported from its own folder with no installed copy of the two folders."""
    for name in ("lstmds_sim", "blocks", "diagrams"):
        shutil.copytree(ROOT / name, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__"))
    code = """
import sys
sys.meta_path[:] = [f for f in sys.meta_path if "editable" not in repr(f).lower()]  # hide an editable install
import lstmds_sim, lstmds_sim.blocks, lstmds_sim.diagrams.lstm_layer
print(lstmds_sim.__file__); print(lstmds_sim.blocks.__file__); print(lstmds_sim.diagrams.lstm_layer.__file__)
print(" ".join(sorted(lstmds_sim.block_classes())))
"""
    lines = python(code, cwd=tmp_path).splitlines()
    assert [Path(p).resolve().relative_to(tmp_path.resolve()).parts[0] for p in lines[:3]] == \
        ["lstmds_sim", "blocks", "diagrams"]
    assert "UNITDELAY" in lines[3].split() and "LSTM" in lines[3].split()
