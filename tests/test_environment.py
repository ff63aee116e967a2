"""The lock file agrees with pyproject.toml, and every install the project documents or runs goes through it.

requirements/lock.txt is a universal pip constraints file made by ``uv pip compile`` (docs/environment.md): one
exact pin per package and Python version, with environment markers where Python 3.10 needs older releases than
3.11 and later. These tests read the three files only (no install, no network): pyproject's requirements and its
extras, each checked against the pin that applies on each Python the project supports (3.10 to 3.13, on Linux,
macOS and Windows), with ``packaging``, the same library pip uses to read them; and the README's two set-up
commands and .ci/run, which must each install with ``-c requirements/lock.txt``.
"""

import re

import pytest
from conftest import ROOT
from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

#: The lock, relative to the checkout's top folder (where the README's commands and .ci/run install from)
LOCK = "requirements/lock.txt"

#: The Pythons the lock must serve: pyproject's requires-python (>= 3.10) up to the newest CI runs
PYTHONS = ("3.10", "3.11", "3.12", "3.13")

#: (sys_platform, os_name, platform_system, platform_machine) of the platforms a universal lock covers
PLATFORMS = (("linux", "posix", "Linux", "x86_64"), ("darwin", "posix", "Darwin", "arm64"),
             ("win32", "nt", "Windows", "AMD64"))

#: The project's own name: an extra that names it (``lstmds-sim[notebook,inspect]``) pulls in other extras
PROJECT = "lstmds-sim"


def read_pyproject() -> dict:
    try:
        import tomllib  # Python >= 3.11
    except ModuleNotFoundError:  # Python 3.10: the same parser as the tomli package (the test extra's marker)
        tomllib = pytest.importorskip("tomli", reason="Python 3.10 has no tomllib; install tomli (the test extra)")
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def project_requirements(pyproject: dict) -> dict[str, list[Requirement]]:
    """pyproject's requirements by group: ``"dependencies"`` and one entry per extra (self-references left out)."""
    project = pyproject["project"]
    groups = {"dependencies": project["dependencies"], **project.get("optional-dependencies", {})}
    found = {}
    for group, lines in groups.items():
        requirements = [Requirement(line) for line in lines]
        for req in requirements:
            if canonicalize_name(req.name) == PROJECT:
                missing = req.extras - set(groups)
                assert not missing, f"pyproject extra {group!r} names extras that do not exist: {sorted(missing)}"
        found[group] = [req for req in requirements if canonicalize_name(req.name) != PROJECT]
    return found


def lock_pins(text: str) -> list[Requirement]:
    """The lock's pins (``name==version ; marker``), one per line that is neither a comment nor a ``# via`` note."""
    pins = []
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        pin = Requirement(line.split(" #")[0])
        assert len(pin.specifier) == 1 and next(iter(pin.specifier)).operator == "==" and not pin.extras, \
            f"{LOCK}: {line!r} is not one exact pin (name==version)"
        pins.append(pin)
    return pins


def marker_environments(python: str):
    """Marker environments for CPython ``python`` (its first and a late patch release) on each platform."""
    for patch in ("0", "99"):
        for sys_platform, os_name, system, machine in PLATFORMS:
            env = default_environment()
            env.update(python_version=python, python_full_version=f"{python}.{patch}", implementation_name="cpython",
                       platform_python_implementation="CPython", sys_platform=sys_platform, os_name=os_name,
                       platform_system=system, platform_machine=machine, extra="")
            yield env


def applies(req: Requirement, env: dict) -> bool:
    return req.marker is None or req.marker.evaluate(env)


def lock_problems(lock_text: str, pyproject: dict, python: str) -> list[str]:
    """Each way the lock fails pyproject on CPython ``python``, in words; an empty list when it agrees.

    A package pinned twice for the same environment, a requirement of the project or of any extra with no pin
    that applies, or a pin outside the requirement's range.
    """
    pins = lock_pins(lock_text)
    problems = []
    for env in marker_environments(python):
        where = f"Python {env['python_full_version']} on {env['sys_platform']}"
        chosen = {}
        for pin in pins:
            if applies(pin, env):
                name = canonicalize_name(pin.name)
                if name in chosen:
                    problems.append(f"{where}: {pin.name} pinned twice ({chosen[name].specifier}, {pin.specifier})")
                chosen[name] = pin
        for group, requirements in project_requirements(pyproject).items():
            for req in requirements:
                if not applies(req, env):
                    continue
                pin = chosen.get(canonicalize_name(req.name))
                if pin is None:
                    problems.append(f"{where}: {req.name} ({group}) is not pinned in {LOCK}")
                    continue
                version = next(iter(pin.specifier)).version
                if not req.specifier.contains(version, prereleases=True):
                    problems.append(f"{where}: {pin.name}=={version} in {LOCK} is outside {req} ({group})")
    return sorted(set(problems))


@pytest.mark.parametrize("python", PYTHONS)
def test_the_lock_pins_every_requirement_of_the_project_and_its_extras_within_range(python):
    problems = lock_problems((ROOT / LOCK).read_text(), read_pyproject(), python)
    assert not problems, "\n".join(problems[:20]) + "\nupdate the lock: docs/environment.md"


def test_the_check_catches_a_pin_out_of_range_a_missing_pin_and_a_double_pin():
    """The check can fail: the real lock doctored three ways, each named in its own words."""
    text = (ROOT / LOCK).read_text()
    text = re.sub(r"^optax==\S+", "optax==0.1.7", text, count=1, flags=re.MULTILINE)   # below optax>=0.2
    text = re.sub(r"^tqdm==\S+\n", "", text, count=1, flags=re.MULTILINE)             # tqdm not pinned
    text += "bdsim==1.4.0 ; python_full_version >= '3.13'\n"                           # a second pin on 3.13
    problems = lock_problems(text, read_pyproject(), "3.13")
    assert any("optax==0.1.7" in p and "outside optax>=0.2" in p for p in problems), problems
    assert any("tqdm (dependencies) is not pinned" in p for p in problems), problems
    assert any("bdsim pinned twice" in p for p in problems), problems
    assert not any("3.13" not in p for p in problems), problems


def test_python_310_gets_its_own_pins_where_the_newest_releases_left_it():
    """The lock is universal: it has markers, and Python 3.10 gets a jax that supports it (0.6.x, not 0.10.x)."""
    pins = lock_pins((ROOT / LOCK).read_text())
    jax = {python: [str(next(iter(p.specifier)).version) for p in pins if p.name == "jax"
                    and applies(p, next(marker_environments(python)))] for python in PYTHONS}
    assert all(len(versions) == 1 for versions in jax.values()), jax
    assert jax["3.10"] != jax["3.11"], jax


def test_the_lock_was_compiled_for_every_extra_from_the_oldest_python():
    """uv's header records the command: universal, every extra, from requires-python's lower bound."""
    header = (ROOT / LOCK).read_text().splitlines()[:2]
    assert header[0].startswith("# This file was autogenerated by uv"), header
    command = header[1].lstrip("# ").split()
    oldest = re.fullmatch(r">=\s*(3\.\d+)", read_pyproject()["project"]["requires-python"]).group(1)
    assert command[:4] == ["uv", "pip", "compile", "pyproject.toml"], command
    for option in ("--universal", "--all-extras", "--no-config"):
        assert option in command, f"{LOCK} was not made with {option}: {header[1]}"
    assert command[command.index("--python-version") + 1] == oldest, header[1]
    assert command[command.index("-o") + 1] == LOCK, header[1]


def readme_command(marker: str) -> str:
    """The command after ``<!-- MARKER -->`` in the README's ```sh block, as .ci/run extracts it."""
    readme = (ROOT / "README.md").read_text()
    found = re.search(rf"<!-- {marker} -->\n```sh\n(.*?)\n```", readme, re.DOTALL)
    assert found, f"README.md has no ```sh block after <!-- {marker} -->"
    return found.group(1)


def pip_installs(text: str) -> list[str]:
    """Each pip install in ``text`` (a shell command or script, comments left out), up to the next && or line end."""
    lines = [line for line in text.splitlines() if not line.lstrip().startswith("#")]
    return re.findall(r"pip\"? install\b[^&\n]*", "\n".join(lines))


@pytest.mark.parametrize("marker", ["main-command", "test-command"])
def test_the_readme_commands_install_from_the_lock(marker):
    installs = pip_installs(readme_command(marker))
    assert installs, readme_command(marker)
    for install in installs:
        assert f" -c {LOCK} " in install, f"README.md {marker}: {install!r} does not install with -c {LOCK}"


def test_ci_installs_from_the_lock():
    """.ci/run: the README's test command (checked above) and each extra Python's install use the lock."""
    installs = pip_installs((ROOT / ".ci" / "run").read_text())
    assert len(installs) >= 2, installs  # the install and the line that echoes it
    for install in installs:
        assert f" -c {LOCK} " in install, f".ci/run: {install!r} does not install with -c {LOCK}"
