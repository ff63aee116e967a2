"""The house: importing changes nothing process-wide, and blocks/ and diagrams/ are found however the checkout is used.

The first two tests read what tests/fresh_process.py saw in two fresh Pythons (conftest.fresh_processes,
JAX_ENABLE_X64=0): it imports lstmds_sim, then the heavy third-party packages, then every module of the
package, and later trains a small network.
"""

import shutil
from pathlib import Path

import pytest
from conftest import ROOT, run_in_subprocess


def seen_by_both(fresh_processes, name):
    for seen in fresh_processes:
        assert "error" not in seen[name], seen[name]["error"]
        yield seen[name]


@pytest.mark.slow  # the two fresh Pythons (about 20 s of CPU between them)
def test_importing_the_package_and_every_module_changes_nothing_process_wide(fresh_processes):
    for seen in seen_by_both(fresh_processes, "imports"):
        assert seen["light"] and seen["environ"] and seen["umask"] and not seen["x64"]
        assert seen["jax_default_float"] == "float32"
        for module in ("core.engine", "learning.training", "io.cli", "blocks.plant", "diagrams.scenario_safety"):
            assert f"lstmds_sim.{module}" in seen["modules"]


@pytest.mark.slow
def test_training_runs_in_float64_without_switching_jax_for_the_process(fresh_processes):
    for seen in seen_by_both(fresh_processes, "training"):
        assert seen["dtypes"] == ["float64"]  # the loss history and every trained array
        after = seen["after"]
        assert not after["x64"] and after["jax_default_float"] == "float32"
        assert after["environ"] and after["umask"]


@pytest.mark.slow  # end to end, several seconds
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
    lines = run_in_subprocess(code, cwd=tmp_path).splitlines()
    assert [Path(p).resolve().relative_to(tmp_path.resolve()).parts[0] for p in lines[:3]] == \
        ["lstmds_sim", "blocks", "diagrams"]
    assert "UNITDELAY" in lines[3].split() and "LSTM" in lines[3].split()


def test_a_plain_install_carries_every_package_folder():
    """`pip install .` copies only the packages pyproject lists: every folder with an __init__.py must be there."""
    import tomllib

    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    found = {".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "lstmds_sim").rglob("__init__.py")}
    found |= {f"lstmds_sim.{p.parent.relative_to(ROOT).as_posix().replace('/', '.')}"
              for top in ("blocks", "diagrams") for p in (ROOT / top).rglob("__init__.py")}
    assert found == listed, f"pyproject [tool.setuptools] packages: add {sorted(found - listed)}, drop {sorted(listed - found)}"
