"""The house: importing changes nothing process-wide, and blocks/ and diagrams/ are found however the checkout is used.

The first two tests read what tests/fresh_process.py saw in two fresh Pythons (conftest.fresh_processes,
JAX_ENABLE_X64=0): it imports lstmds_sim, then the heavy third-party packages, then every module of the
package, and later trains a small network.
"""

import os
import shutil
import subprocess
import sys
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
    try:
        import tomllib  # Python >= 3.11
    except ModuleNotFoundError:  # Python 3.10: the same parser as the tomli package (the test extra's marker)
        tomllib = pytest.importorskip("tomli", reason="Python 3.10 has no tomllib; install tomli (the test extra)")

    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    found = {".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "lstmds_sim").rglob("__init__.py")}
    found |= {f"lstmds_sim.{p.parent.relative_to(ROOT).as_posix().replace('/', '.')}"
              for top in ("blocks", "diagrams") for p in (ROOT / top).rglob("__init__.py")}
    found.add("lstmds_sim.docs")  # docs/, data only (lstmds book reads theory.md from it): mapped in package-dir
    assert (ROOT / "docs" / "theory.md").is_file()
    assert found == listed, f"pyproject [tool.setuptools] packages: add {sorted(found - listed)}, drop {sorted(listed - found)}"


def installed_layout(root: Path) -> Path:
    """The package as `pip install .` lays it out (blocks/ and diagrams/ inside lstmds_sim/), under ``root``."""
    shutil.copytree(ROOT / "lstmds_sim", root / "lstmds_sim", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("blocks", "diagrams"):
        shutil.copytree(ROOT / name, root / "lstmds_sim" / name, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", root / "pyproject.toml")
    return root


def lint_imports(root: Path) -> subprocess.CompletedProcess:
    """import-linter's `lint-imports` on the package under ``root`` with pyproject's contracts."""
    command = shutil.which("lint-imports", path=str(Path(sys.executable).parent)) or shutil.which("lint-imports")
    if command is None:
        pytest.skip("import-linter is not installed (it is in the test extra)")
    env = dict(os.environ, PYTHONPATH=str(root))
    return subprocess.run([command, "--no-cache"], cwd=root, env=env, capture_output=True, text=True, timeout=120)


def test_the_layers_hold(tmp_path):
    """core <- blocks, systems <- safety <- learning <- drawing <- io <- labs, as pyproject's contracts state."""
    done = lint_imports(installed_layout(tmp_path))
    assert done.returncode == 0 and "0 broken" in done.stdout, done.stdout[-3000:] + done.stderr[-2000:]


def test_the_layer_check_catches_an_import_reaching_up(tmp_path):
    """The check can fail: core importing io (a module-level import, one line) breaks the layers contract."""
    root = installed_layout(tmp_path)
    schedule = root / "lstmds_sim" / "core" / "schedule.py"
    schedule.write_text(schedule.read_text() + "\nfrom ..io import outdir  # noqa: E402,F401\n")
    done = lint_imports(root)
    assert done.returncode != 0
    assert "lstmds_sim.core.schedule -> lstmds_sim.io.outdir" in done.stdout


#: bdsim's private names; only core/bdsim_adapter.py may use them (pyproject pins bdsim to the range checked)
BDSIM_PRIVATE = ("._blocklibrary", "._clock", "._inport_slots", "._outport_slots", "._output_values",
                 "._publish_output_values")


def test_only_the_adapter_touches_bdsims_private_names():
    offenders = []
    for folder in ("lstmds_sim", "blocks", "diagrams"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            if path.name == "bdsim_adapter.py":
                continue
            for n, line in enumerate(path.read_text().splitlines(), start=1):
                uses = [name for name in BDSIM_PRIVATE if name in line]
                # a block may set bdsim's own attribute for subclasses (self._feedthrough); nothing else may
                if uses or ("._feedthrough" in line and "self._feedthrough" not in line):
                    offenders.append(f"{path.relative_to(ROOT)}:{n}: {line.strip()}")
    assert not offenders, "bdsim's private names outside core/bdsim_adapter.py:\n" + "\n".join(offenders)
