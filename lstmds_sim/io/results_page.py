"""``lstmds results``: the page of every number the labs measure, made from their ``results.json``, never typed.

    lstmds results --run --out docs/results.md          (runs the eight labs at their settings, minutes)
    lstmds results --from out/results --out results.md  (labs run before: DIR/NAME/results.json)
    lstmds results --from docs/results --out docs/results.md   (re-render from the committed snapshots)

The page is a template (``results_template.md``, package data beside this module) whose numbers are
placeholders: ``{{training_basin.runs.0.final_over_initial:.0f}}`` is the value at that dotted path in
lab ``training_basin``'s record (dict keys by name, list items by index), written with that Python
format spec. A ``*`` in the path stands for every item of a list, written one after another with
`` | `` between them (the cells of a table row), or what follows a ``|`` in the spec
(``{{training_random.drop_factors.*:g| / }}``). Beyond Python's specs: a number's exponent is
written short (``1.0e-2``, not ``1.0e-02``); ``time`` writes seconds as ``45 s`` or ``2.5 min``;
``roots`` writes a list of ``[re, im]`` pairs (poles, zeros) as ``0.961, -4.72 ± 4.5j``; ``join``
writes a list of names as ``W_g, R_g``; true and false are written as results.json writes them. A
placeholder whose path is not in the record is one line naming it, its line in the template and the lab.

With ``--run`` or ``--from`` lab folders, each lab's record is also written as a snapshot,
``SNAPSHOTS/NAME.json`` (default: ``results/`` beside the page): the record without the moment and the
command line that made it, plus ``snapshot``: the lab's run time (``--run`` only), the cores and the
versions of the libraries that decide the numbers. The committed snapshots are what
tests/test_results_page.py renders (the page must be exactly that: nobody edits it by hand) and what
CI's fresh install is compared against (tests/test_slow.py).
"""

from __future__ import annotations

import difflib
import json
import math
import os
import platform
import re
import subprocess
import sys
import time
from pathlib import Path

from ..core.errors import LSTMDSError

__all__ = ["ABS_TOL", "REL_TOL", "TEMPLATE", "ResultsError", "differences", "library_versions", "load_records",
           "register", "render", "snapshot_of"]

#: The page's template, package data beside this module (so the command works installed).
TEMPLATE = "results_template.md"
#: What a record holds that says when and how it was run, not what it measured: left out of a snapshot.
NOT_SNAPSHOTTED = ("created", "command")
#: The libraries whose versions decide the numbers (the lecturer's drift came from jax and numpy).
LIBRARIES = ("numpy", "scipy", "jax", "jaxlib", "optax", "bdsim", "matplotlib")

PLACEHOLDER = re.compile(r"\{\{\s*([^{}:\s]+)\s*(?::([^{}]*))?\}\}")


class ResultsError(LSTMDSError, ValueError):
    """A template or a record that does not fit: one line naming the placeholder, the file or the lab."""


# --------------------------------------------------------------------------- the records
def lab_names() -> list[str]:
    """The labs, in teaching order (the page has a section for each)."""
    from .cli import lab_names as names

    return names()


def load_records(folder, names=None) -> tuple[dict[str, dict], bool]:
    """Every lab's record from ``folder``: ``folder/NAME/results.json`` (a lab's own output folder) or
    ``folder/NAME.json`` (a snapshot); also whether they are snapshots."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ResultsError(f"--from {folder}: no such folder; give the folder holding NAME/results.json "
                           "(lstmds run NAME --out DIR/NAME) or the snapshots NAME.json")
    records, snapshots = {}, []
    for name in names or lab_names():
        for path, is_snapshot in ((folder / name / "results.json", False), (folder / f"{name}.json", True)):
            if path.is_file():
                break
        else:
            raise ResultsError(f"--from {folder}: no results of lab {name!r} there (neither {name}/results.json "
                               f"nor {name}.json); run it: lstmds run {name} --out {folder / name}")
        try:
            record = json.loads(path.read_text())
        except (OSError, ValueError) as err:
            raise ResultsError(f"{path}: not a results file lstmds wrote ({err})") from None
        if not isinstance(record, dict) or record.get("lab") != name:
            raise ResultsError(f"{path} holds no results of lab {name!r}; run it: lstmds run {name} --out "
                               f"{path.parent}")
        records[name] = record
        snapshots.append(is_snapshot)
    return records, all(snapshots)


def library_versions() -> dict[str, str]:
    """Python's and the number-deciding libraries' versions in this environment."""
    from importlib.metadata import PackageNotFoundError, version

    from .. import __version__

    found = {"python": platform.python_version(), "lstmds_sim": __version__}
    for name in LIBRARIES:
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            found[name] = "not installed"
    return found


def snapshot_of(record: dict, run_s: float | None) -> dict:
    """A lab's record as its committed snapshot: without the moment and command that made it, with
    ``snapshot`` saying how long the run took (None when not run by this command), on how many cores and
    with which libraries."""
    kept = {key: value for key, value in record.items() if key not in NOT_SNAPSHOTTED}
    kept["snapshot"] = {"run_s": run_s, "cpu_count": os.cpu_count(), "machine": platform.machine(),
                        "versions": library_versions()}
    return kept


def run_labs(names, folder: Path) -> dict[str, float]:
    """Run each lab at its settings in a fresh Python (``lstmds run NAME --out folder/NAME``), one after
    another, its output shown as it comes; the seconds each took. A lab that fails stops the command."""
    seconds = {}
    for number, name in enumerate(names, 1):
        print(f"lstmds results: lab {number} of {len(names)}: {name}", flush=True)
        start = time.perf_counter()
        status = subprocess.call([sys.executable, "-m", "lstmds_sim.io.cli", "run", name,
                                  "--out", str(folder / name)])
        if status != 0:
            if status in (-2, 130):
                raise KeyboardInterrupt
            raise ResultsError(f"lab {name!r} failed (exit status {status}; its output is above): no page and "
                               "no snapshot written")
        seconds[name] = time.perf_counter() - start
    return seconds


#: How far a record may be from its snapshot (:func:`differences`): floats within a relative 1e-6 (the page
#: prints at most 4 significant digits, so within it every digit on the page is the same, while a
#: library that rounds differently moves trained numbers by far more: x115 against x37) or within 1e-12
#: absolute (round-off: the cross-checks measure differences of 1e-16 to 1e-14, which differ in their last
#: digits from one CPU to another); counts, flags, names and settings exactly.
REL_TOL, ABS_TOL = 1e-6, 1e-12
#: Keys that say when, how fast or where a run was made, not what it measured: never compared.
UNCOMPARED = ("created", "command", "snapshot", "timing", "files", "lstmds_sim_version")


def differences(record, snapshot, *, path: str = "", rel_tol: float = REL_TOL, abs_tol: float = ABS_TOL) -> list[str]:
    """Where ``record`` differs from ``snapshot``, one line per difference (empty: they agree).

    Keys in :data:`UNCOMPARED` and keys ending in ``_s`` (seconds) are left out; floats agree within
    ``rel_tol`` or ``abs_tol``; everything else (ints, booleans, strings, null, the shapes of lists and
    the keys of dicts) exactly.
    """
    where = path or "the record"
    if isinstance(record, dict) and isinstance(snapshot, dict):
        keys = [k for k in {**snapshot, **record} if k not in UNCOMPARED and not str(k).endswith("_s")]
        found = []
        for key in keys:
            if key not in record or key not in snapshot:
                found.append(f"{path}.{key}: only in the {'snapshot' if key in snapshot else 'new record'}")
            else:
                found += differences(record[key], snapshot[key], path=f"{path}.{key}".lstrip("."),
                                     rel_tol=rel_tol, abs_tol=abs_tol)
        return found
    if isinstance(record, list) and isinstance(snapshot, list):
        if len(record) != len(snapshot):
            return [f"{where}: {len(record)} items, the snapshot {len(snapshot)}"]
        return [line for k, (a, b) in enumerate(zip(record, snapshot))
                for line in differences(a, b, path=f"{path}.{k}", rel_tol=rel_tol, abs_tol=abs_tol)]
    numbers = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (record, snapshot))
    if numbers and (isinstance(record, float) or isinstance(snapshot, float)):
        if math.isclose(record, snapshot, rel_tol=rel_tol, abs_tol=abs_tol) or (
                math.isnan(record) and math.isnan(snapshot)):
            return []
        return [f"{where}: {record!r}, the snapshot {snapshot!r}"]
    if type(record) is not type(snapshot) or record != snapshot:
        return [f"{where}: {record!r}, the snapshot {snapshot!r}"]
    return []


# --------------------------------------------------------------------------- the template
def template_text(path=None) -> tuple[str, str]:
    """The template's text and the name errors give it: ``path``, or the package's own."""
    if path is not None:
        try:
            return Path(path).read_text(), str(path)
        except OSError as err:
            raise ResultsError(f"--template {path}: {err.strerror}") from None
    from importlib.resources import files

    resource = files(__package__).joinpath(TEMPLATE)
    return resource.read_text(), f"lstmds_sim/io/{TEMPLATE}"


def render(template: str, records: dict[str, dict], *, source: str = TEMPLATE) -> str:
    """``template`` with every placeholder replaced by its value from ``records`` (lab name -> record)."""

    def replace(match: re.Match) -> str:
        line = template.count("\n", 0, match.start()) + 1
        where = f"{source} line {line}: {match.group(0)}"
        try:
            return _formatted(_lookup(records, match.group(1)), match.group(2))
        except ResultsError as err:
            raise ResultsError(f"{where}: {err}") from None
        except (ValueError, TypeError) as err:
            raise ResultsError(f"{where}: cannot write its value with that format ({err})") from None

    page = PLACEHOLDER.sub(replace, template)
    left = re.search(r"\{\{.*?\}\}", page)
    if left:
        line = page.count("\n", 0, left.start()) + 1
        raise ResultsError(f"{source}: {left.group(0)} (about line {line}) is not a placeholder: write "
                           "{{lab.key.0.key:format}}, with no spaces in the path")
    return page


def placeholders(template: str) -> list[str]:
    """The paths of every placeholder in ``template``, in order."""
    return [m.group(1) for m in PLACEHOLDER.finditer(template)]


_EACH = object()  # a marker: the values of a ``*`` path


def _lookup(records: dict, path: str):
    lab, *keys = path.split(".")
    if lab not in records:
        raise ResultsError(f"no lab named {lab!r} (the labs: {', '.join(records)})")
    values, each = [records[lab]], False
    for depth, key in enumerate(keys):
        at = ".".join([lab, *keys[:depth]])
        if key == "*":
            if not all(isinstance(v, list) for v in values):
                raise ResultsError(f"{at} is not a list, so '*' has nothing to go through")
            values, each = [item for v in values for item in v], True
            continue
        found = []
        for value in values:
            if isinstance(value, dict):
                if key not in value:
                    near = difflib.get_close_matches(key, [str(k) for k in value], n=1)
                    hint = f" (did you mean {near[0]!r}?)" if near else ""
                    raise ResultsError(f"{lab}'s results have no {key!r} at {at}{hint}")
                found.append(value[key])
            elif isinstance(value, list) and re.fullmatch(r"-?\d+", key):
                if not -len(value) <= int(key) < len(value):
                    raise ResultsError(f"{at} has {len(value)} items, so no item {key}")
                found.append(value[int(key)])
            else:
                raise ResultsError(f"{lab}'s results have no {key!r} at {at} (it is a {type(value).__name__})")
        values = found
    return (_EACH, values) if each else values[0]


def _formatted(value, spec: str | None) -> str:
    spec, _, separator = (spec or "").partition("|")
    spec = spec.strip()
    if isinstance(value, tuple) and value and value[0] is _EACH:
        return (separator or " | ").join(_formatted(v, spec) for v in value[1])
    if separator:
        raise ResultsError("a separator (after '|') is for a path with '*'")
    if spec == "time":
        return _seconds(value)
    if spec.endswith("roots"):
        return _roots(value, spec[:-len("roots")] or ".3g")
    if spec == "join":
        if not isinstance(value, list):
            raise ResultsError(f"'join' writes a list, and this is a {type(value).__name__}")
        return ", ".join(str(v) for v in value)
    if isinstance(value, (list, dict)):
        raise ResultsError(f"the value is a {type(value).__name__}: name one item (.0) or all of them (.*)")
    if value is None:
        raise ResultsError("the value is null (the lab recorded none)")
    if isinstance(value, bool):
        if spec:
            raise ResultsError("the value is true or false: write it without a format")
        return json.dumps(value)  # as results.json says it
    text = format(value, spec)
    if isinstance(value, (int, float)):  # 1.0e-02 -> 1.0e-2, 2.6e+12 -> 2.6e12 (e and g formats alike)
        text = re.sub(r"([eE])([+-]?)0*(\d)", lambda m: m.group(1) + m.group(2).replace("+", "") + m.group(3), text)
    return text


def _seconds(value) -> str:
    """Seconds as a reader says them: ``3 s``, ``85 s``, ``2.5 min``; ``not timed`` for None."""
    if value is None:
        return "not timed"
    if value < 90:
        return f"{value:.0f} s"
    return f"{value / 60:.1f} min"


def _roots(value, spec: str) -> str:
    """``[[re, im], ...]`` as ``0.961, -4.72 ± 4.5j`` (a conjugate pair once); a part below 1e-9 in size, which
    is round-off of a root at the origin or on the real axis, as ``0``."""
    if not isinstance(value, list) or not all(isinstance(r, list) and len(r) == 2 for r in value):
        raise ResultsError("'roots' writes a list of [re, im] pairs")
    words, seen = [], []
    for re_, im in ([0.0 if abs(part) < 1e-9 else part for part in root] for root in value):
        if im < 0 and any(math.isclose(re_, r, rel_tol=1e-9, abs_tol=1e-12) and math.isclose(-im, i, rel_tol=1e-9)
                          for r, i in seen):
            continue  # the conjugate of one written already
        seen.append((re_, im))
        words.append(format(re_, spec) if im == 0 else f"{format(re_, spec)} ± {format(abs(im), spec)}j")
    return ", ".join(words)


# --------------------------------------------------------------------------- the command
def register(sub) -> None:
    """Add ``lstmds results`` to the CLI's subparsers ``sub`` (imports nothing heavy)."""
    parser = sub.add_parser(
        "results", help="write the page of every number the labs measure (docs/results.md) from their results",
        description="Write the results page from the labs' results.json: --run runs the eight labs at their "
                    "settings (LSTMDS_QUICK=1 makes them small) and keeps each record as a snapshot; --from DIR "
                    "takes DIR/NAME/results.json (labs run before) or DIR/NAME.json (snapshots).")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--run", action="store_true", help="run the eight labs, one after another (minutes)")
    source.add_argument("--from", dest="source", metavar="DIR", help="take the records from DIR")
    parser.add_argument("--out", default="docs/results.md", help="the page to write (default: %(default)s)")
    parser.add_argument("--runs", default="out/results", metavar="DIR",
                        help="with --run: where the labs write, DIR/NAME (default: %(default)s)")
    parser.add_argument("--snapshots", default=None, metavar="DIR",
                        help="where to write each lab's record as NAME.json (default: results/ beside --out); "
                             "not written when --from gives snapshots")
    parser.add_argument("--template", default=None, metavar="FILE",
                        help=f"the page's template (default: the package's {TEMPLATE})")
    parser.set_defaults(func=cmd_results)


def cmd_results(args) -> int:
    from ..core.atomic import write_file

    out = Path(args.out)
    if out.is_dir():
        raise ResultsError(f"--out {out} is a folder; give the page's file name, e.g. --out {out / 'results.md'}")
    template, source = template_text(args.template)  # a missing template is refused before any lab runs
    snapshots = Path(args.snapshots) if args.snapshots else out.parent / "results"
    started = time.perf_counter()
    if args.run:
        seconds = run_labs(lab_names(), Path(args.runs))
        records, given_snapshots = load_records(args.runs)
    else:
        seconds = {}
        records, given_snapshots = load_records(args.source)
    if not given_snapshots:
        records = {name: snapshot_of(record, seconds.get(name)) for name, record in records.items()}
    page = render(template, records, source=source)  # every placeholder resolved before anything is written
    if not given_snapshots:
        for name, record in records.items():
            write_file(snapshots / f"{name}.json", json.dumps(record, indent=1) + "\n", overwrite=True)
        print(f"snapshots: {', '.join(str(snapshots / f'{name}.json') for name in records)}")
    write_file(out, page, overwrite=True)
    took = f" in {_seconds(time.perf_counter() - started)}" if args.run else ""
    print(f"written: {out} ({len(placeholders(template))} numbers from {len(records)} labs){took}")
    return 0
