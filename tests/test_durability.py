"""Nothing lost on a full disk or a signal: every file lstmds writes is whole or not there.

The guarantees (docs/durability.md): every file goes to a temporary file beside it and is renamed
into place only when complete (``lstmds_sim.core.atomic.write_file``), so a good file is never
replaced by a part of one; a run's output folder commits as a journal (the next run finishes a
commit that a SIGKILL cut); SIGTERM and SIGHUP are treated as Ctrl-C is (one line, exit 143 / 129,
the previous files kept); a full disk is one line naming the file and the space it needed.

Signals are sent to real processes; a full disk is simulated by a file-size limit
(``RLIMIT_FSIZE``: the write fails with EFBIG, as on a small full file system) or by a writer that
fails with ENOSPC.
"""

import errno
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import ROOT

import lstmds_sim as L
from lstmds_sim.core import atomic
from lstmds_sim.core.atomic import PARTIAL, write_file
from lstmds_sim.core.errors import WriteError
from lstmds_sim.io import cli, outdir
from lstmds_sim.io.outdir import OutputDir

posix_only = pytest.mark.skipif(os.name != "posix", reason="POSIX signals and resource limits")


def _leftovers(folder: Path) -> list[str]:
    """Temporary files and staging folders left in ``folder``."""
    return sorted(p.name for p in folder.rglob("*") if p.name.endswith(PARTIAL) or ".lstmds-staging-" in p.name)


def _snapshot(folder: Path) -> dict:
    return {p.relative_to(folder): p.read_bytes() for p in folder.rglob("*") if p.is_file() and p.name != ".lstmds.lock"}


@pytest.fixture
def file_size_limit():
    """Set RLIMIT_FSIZE (a file may grow to so many bytes: a write past it fails with EFBIG, as a full disk
    fails with ENOSPC; Python ignores SIGXFSZ), restored afterwards."""
    resource = pytest.importorskip("resource")
    before = resource.getrlimit(resource.RLIMIT_FSIZE)

    def limit(size: int) -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (size, before[1]))

    yield limit
    resource.setrlimit(resource.RLIMIT_FSIZE, before)


def _fail_writes(monkeypatch, code: int, after: int = 0):
    """``os.write`` fails with ``code`` after ``after`` bytes have been written (a disk that fills up)."""
    real = os.write
    written = [0]

    def write(fd, data):
        if written[0] + len(data) > after:
            raise OSError(code, os.strerror(code))
        written[0] += len(data)
        return real(fd, data)

    monkeypatch.setattr(atomic.os, "write", write)


# --------------------------------------------------------------------------- one file, all at once

def test_a_file_is_written_whole_with_the_usual_mode(tmp_path):
    target = write_file(tmp_path / "sub" / "a.bin", b"x" * 10_000)
    assert target.read_bytes() == b"x" * 10_000 and _leftovers(tmp_path) == []
    mask = os.umask(0o022)
    os.umask(mask)
    assert target.stat().st_mode & 0o777 == 0o666 & ~mask
    with pytest.raises(FileExistsError, match="a.bin exists; pass overwrite=True"):
        write_file(target, b"other")
    write_file(target, "replaced", overwrite=True)
    assert target.read_text() == "replaced"


def test_a_full_disk_leaves_the_old_file_and_names_the_space(tmp_path, monkeypatch):
    target = tmp_path / "net.npz"
    target.write_bytes(b"the good file")
    _fail_writes(monkeypatch, errno.ENOSPC, after=100)
    with pytest.raises(WriteError) as caught:
        write_file(target, b"y" * 5000, overwrite=True)
    message = str(caught.value)
    assert str(target) in message and "disk is full" in message and "5.0 kB" in message and "free" in message
    assert caught.value.errno == errno.ENOSPC and "\n" not in message
    assert target.read_bytes() == b"the good file" and _leftovers(tmp_path) == []


def test_an_interrupt_while_writing_leaves_nothing(tmp_path, monkeypatch):
    target = tmp_path / "net.onnx"
    target.write_bytes(b"the good file")
    real = os.write

    def write(fd, data):
        real(fd, bytes(data[:10]))
        raise KeyboardInterrupt

    monkeypatch.setattr(atomic.os, "write", write)
    with pytest.raises(KeyboardInterrupt):
        write_file(target, b"z" * 1000, overwrite=True)
    assert target.read_bytes() == b"the good file" and _leftovers(tmp_path) == []


def test_a_killed_writers_partial_file_is_removed_by_the_next_write(tmp_path):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True,
                          check=True)
    stale = tmp_path / f".net.npz.{dead.stdout.strip()}-0000{PARTIAL}"
    stale.write_bytes(b"half")
    alive = tmp_path / f".net.npz.{os.getppid()}-0000{PARTIAL}"  # a writer that still runs: left alone
    alive.write_bytes(b"being written")
    write_file(tmp_path / "net.npz", b"whole")
    assert not stale.exists() and alive.exists()


@posix_only
def test_save_on_a_full_disk_leaves_no_corrupt_file(tmp_path, file_size_limit):
    """LSTMParams.save (and IdentifiedModel.save, which writes through the same function) past the limit."""
    params = L.LSTMParams.random(4, 200, 2, rng=0)
    good = params.save(tmp_path / "net.npz")
    before = good.read_bytes()
    file_size_limit(len(before) // 2)
    with pytest.raises(WriteError, match=r"net\.npz: .* more than the file-size limit"):
        L.LSTMParams.random(4, 300, 2, rng=1).save(good, overwrite=True)
    with pytest.raises(WriteError, match=r"new\.npz"):
        params.save(tmp_path / "new.npz")
    assert good.read_bytes() == before and not (tmp_path / "new.npz").exists() and _leftovers(tmp_path) == []


@posix_only
@pytest.mark.parametrize("suffix", [".npz", ".onnx", ".mat"])
def test_convert_on_a_full_disk(tmp_path, capsys, file_size_limit, suffix):
    """``lstmds convert`` to a new OUT leaves nothing; with --force the good OUT stays as it was; one line."""
    if suffix == ".onnx":
        pytest.importorskip("onnx")
    source = L.LSTMParams.random(4, 150, 2, rng=0).save(tmp_path / "in.npz")
    good = tmp_path / f"good{suffix}"
    assert cli.main(["convert", str(source), str(good)]) == 0
    before = good.read_bytes()
    capsys.readouterr()
    file_size_limit(1000)
    for argv, out in ((["convert", str(source), str(tmp_path / f"new{suffix}")], tmp_path / f"new{suffix}"),
                      (["convert", str(source), str(good), "--force"], good)):
        assert cli.main(argv) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and str(out) in err and "file-size limit" in err and "Traceback" not in err, err
    assert not (tmp_path / f"new{suffix}").exists() and good.read_bytes() == before
    assert _leftovers(tmp_path) == []


def test_an_inspector_page_is_not_written_over_a_file(tmp_path):
    pytest.importorskip("bokeh")
    bd, _ = L.lstm_diagram(L.LSTMParams.random(2, 2, 1, rng=0), np.zeros((5, 2)))
    page = L.inspect(bd)
    precious = tmp_path / "precious.html"
    precious.write_text("mine")
    with pytest.raises(FileExistsError, match="precious.html exists; pass overwrite=True"):
        page.save(precious)
    with pytest.raises(ValueError, match="an inspector page is an HTML file"):
        page.save(tmp_path / "precious.npz")
    assert precious.read_text() == "mine"
    assert page.save(precious, overwrite=True).read_text().startswith("<!DOCTYPE html>")


# --------------------------------------------------------------------------- a run's folder

def a_run(root, content, lab="a"):
    with OutputDir(root, lab=lab) as out:
        out.write_file("a.png", content)
        out.write_json("sub/data.json", {"content": content})
        out.write_results({"content": content})


def test_a_full_disk_during_a_run_keeps_the_previous_run(tmp_path, monkeypatch):
    a_run(tmp_path, "1")
    before = _snapshot(tmp_path)
    _fail_writes(monkeypatch, errno.ENOSPC)
    with pytest.raises(WriteError) as caught, OutputDir(tmp_path, lab="a") as out:
        out.write_file("a.png", "2" * 3000)
    assert f"cannot write {tmp_path / 'a.png'}: the disk is full (it needs 3.0 kB" in str(caught.value)
    assert ".lstmds-staging" not in str(caught.value)
    assert _snapshot(tmp_path) == before and _leftovers(tmp_path) == []


def _commit_killed_after(root: Path, moves: int) -> subprocess.CompletedProcess:
    """A run of lab "a" (content "2") into ``root``, killed by SIGKILL after ``moves`` files moved into place."""
    code = f"""
import os, signal, sys
from lstmds_sim.io import outdir
real, done = os.replace, [0]
def replace(src, dst):
    into_place = ".lstmds-staging-" in str(src) and ".lstmds-staging-" not in str(dst)
    if into_place and done[0] == {moves}:
        os.kill(os.getpid(), signal.SIGKILL)
    real(src, dst)
    done[0] += into_place
outdir.os.replace = replace
with outdir.OutputDir(sys.argv[1], lab="a") as out:
    out.write_file("a.png", "2")
    out.write_json("sub/data.json", {{"content": "2"}})
    out.write_results({{"content": "2"}})
"""
    return subprocess.run([sys.executable, "-c", code, str(root)], cwd=ROOT, capture_output=True, text=True,
                          timeout=120, check=False)


@posix_only
@pytest.mark.parametrize("moves", [0, 1, 2])
def test_a_commit_cut_by_sigkill_is_finished_by_the_next_run(tmp_path, capsys, moves):
    """The old record is gone, some files moved: the next run into the folder completes the commit first."""
    a_run(tmp_path, "1")
    proc = _commit_killed_after(tmp_path, moves)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    assert list(tmp_path.glob(".lstmds-staging-*"))  # the journal is there
    with OutputDir(tmp_path, lab="a") as out:  # the next run: recovers, then runs as usual
        assert out.previous == {"a.png", "sub/data.json"}
    assert "finished moving the files of a run" in capsys.readouterr().err
    record = json.loads((tmp_path / "results.json").read_text())
    assert record["content"] == "2" and (tmp_path / "a.png").read_text() == "2"
    assert json.loads((tmp_path / "sub" / "data.json").read_text()) == {"content": "2"}
    assert _leftovers(tmp_path) == []


def test_a_folder_blocked_by_an_older_lstmds_is_recovered(tmp_path, capsys):
    """What SIGTERM during a commit left before the journal: no record, a new image in the folder unlisted, the
    rest (record included) in a staging folder. Re-running used to be refused; now it finishes that commit."""
    from lstmds_sim import __version__

    staging = tmp_path / ".lstmds-staging-old1"
    staging.mkdir()
    (tmp_path / "lstm_layer_output.png").write_text("new picture")  # moved before the kill
    (staging / "lstm_layer_loops.png").write_text("new loops")
    (staging / "results.json").write_text(json.dumps({
        "lab": "lstm_layer", "lstmds_sim_version": __version__, "files": ["lstm_layer_loops.png",
                                                                          "lstm_layer_output.png"]}))
    with OutputDir(tmp_path, lab="lstm_layer") as out:
        out.path("lstm_layer_output.png")  # no longer "not written by an earlier 'lstm_layer' run"
    assert (tmp_path / "lstm_layer_loops.png").read_text() == "new loops"
    assert json.loads((tmp_path / "results.json").read_text())["files"] == ["lstm_layer_loops.png",
                                                                            "lstm_layer_output.png"]
    assert _leftovers(tmp_path) == []


def test_a_stale_staging_folder_without_a_record_is_removed(tmp_path):
    a_run(tmp_path, "1")
    (tmp_path / ".lstmds-staging-dead").mkdir()
    (tmp_path / ".lstmds-staging-dead" / "a.png").write_text("half")
    a_run(tmp_path, "2")
    assert (tmp_path / "a.png").read_text() == "2" and _leftovers(tmp_path) == []


def test_a_truncated_record_of_lstmds_is_named_as_such(tmp_path, capsys):
    a_run(tmp_path, "1")
    record = tmp_path / "results.json"
    record.write_text(record.read_text()[:60])
    assert cli.main(["run", "lstm_layer", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "was written by lstmds but is cut short" in err and "not written by lstmds" not in err, err


def test_a_folder_removed_while_the_run_writes(tmp_path):
    import shutil

    root = tmp_path / "out"
    with pytest.raises(WriteError, match=r"the output folder .*out was removed .* run again"), \
            OutputDir(root, lab="a") as out:
        out.write_file("a.png", "1")
        shutil.rmtree(root)
        out.write_file("b.png", "2")
    assert not root.exists()


def test_a_read_only_folder_holding_a_previous_run(tmp_path, capsys, monkeypatch):
    """The staging folder cannot be made: one line naming the folder (not a .lstmds-staging path), what it holds."""
    a_run(tmp_path, "1")

    def read_only(*args, **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied", str(tmp_path / ".lstmds-staging-x1"))

    monkeypatch.setattr(outdir.tempfile, "mkdtemp", read_only)
    assert cli.main(["render", "lstm_layer", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and ".lstmds-staging" not in err, err
    assert f"cannot write to the output folder {tmp_path}" in err and "chmod u+w" in err, err
    assert (tmp_path / "results.json").exists()


@posix_only
def test_a_real_read_only_folder(tmp_path, capsys):
    if os.geteuid() == 0:
        pytest.skip("root writes into read-only folders")
    a_run(tmp_path, "1")
    os.chmod(tmp_path, 0o555)
    try:
        assert cli.main(["render", "lstm_layer", "--out", str(tmp_path)]) == 2
    finally:
        os.chmod(tmp_path, 0o755)
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and ".lstmds-staging" not in err and "cannot write to the output folder" in err


@posix_only
def test_out_a_dangling_symlink(tmp_path, capsys):
    (tmp_path / "link").symlink_to(tmp_path / "nowhere")
    assert cli.main(["render", "lstm_layer", "--out", str(tmp_path / "link")]) == 2
    err = capsys.readouterr().err
    assert "is a symbolic link to" in err and "which does not exist" in err and err.count("\n") == 1, err


# --------------------------------------------------------------------------- signals, in real processes

#: First in every child: SIGINT, SIGTERM and SIGHUP as a terminal gives them to a fresh Python (the test
#: runner's worker may ignore some, and a child inherits that).
DEFAULT_SIGNALS = """
import signal
signal.signal(signal.SIGINT, signal.default_int_handler)
signal.signal(signal.SIGTERM, signal.SIG_DFL)
signal.signal(signal.SIGHUP, signal.SIG_DFL)
"""


def _start(code: str, *args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", DEFAULT_SIGNALS + code, *args], cwd=ROOT, stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={k: v for k, v in os.environ.items() if k != "LSTMDS_TRACEBACK"})


INTERRUPTED_LINE = "lstmds: interrupted; the output folder keeps the files of the previous run\n"

#: A command that stages a file, says "staged" and waits: the signal arrives while it runs.
WAITING_RUN = """
import sys, time
from lstmds_sim.io import cli, outdir
def command(args):
    out = outdir.OutputDir(sys.argv[1], lab="a")
    out.write_file("a.png", "2")
    print("staged", flush=True)
    for _ in range(600):  # short sleeps: a signal landing just before a long sleep began would wait for its end
        time.sleep(0.1)
    out.write_results({"content": "2"})
    return 0
cli.cmd_list = command
sys.exit(cli.main(["list"]))
"""


@posix_only
@pytest.mark.parametrize(("sig", "status", "said"), [
    (signal.SIGINT, 130, "lstmds: interrupted;"), (signal.SIGTERM, 143, "lstmds: stopped by SIGTERM;"),
    (signal.SIGHUP, 129, "lstmds: stopped by SIGHUP;")])
def test_a_signal_during_a_run_is_one_line_and_keeps_the_folder(tmp_path, sig, status, said):
    a_run(tmp_path, "1")
    before = _snapshot(tmp_path)
    proc = _start(WAITING_RUN, str(tmp_path))
    assert proc.stdout.readline() == "staged\n", proc.stderr.read()
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == status, err
    assert err == f"{said} the output folder keeps the files of the previous run\n", err
    assert _snapshot(tmp_path) == before and _leftovers(tmp_path) == []


@posix_only
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_during_the_commit_waits_for_it(tmp_path, sig):
    """The signal lands while the files move into place: the commit completes, then the signal acts (exit
    128 + n), and the line says the run was complete."""
    code = f"""
import os, sys
from lstmds_sim.io import cli, outdir
real = outdir._move_into_place
def move(*args):
    os.kill(os.getpid(), {int(sig)})
    real(*args)
outdir._move_into_place = move
def command(args):
    with outdir.OutputDir(sys.argv[1], lab="a") as out:
        out.write_file("a.png", "2")
        out.write_results({{"content": "2"}})
    print("not reached: the deferred signal acts as the commit ends")
    return 0
cli.cmd_list = command
sys.exit(cli.main(["list"]))
"""
    a_run(tmp_path, "1")
    proc = _start(code, str(tmp_path))
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 128 + sig, err
    assert err.startswith(f"lstmds: {'interrupted' if sig == signal.SIGINT else 'stopped by SIGTERM'} after the "
                          f"run was complete: its files are in {tmp_path}") and err.count("\n") == 1, err
    assert "not reached" not in out
    assert json.loads((tmp_path / "results.json").read_text())["content"] == "2"
    assert (tmp_path / "a.png").read_text() == "2" and _leftovers(tmp_path) == []


def test_an_interrupt_in_the_guards_exit_is_one_line(tmp_path, capsys, monkeypatch):
    """Ctrl-C just after the commit, as the interrupt guard is taken down: no traceback, the line says so."""
    def command(args):
        a_run(tmp_path, "2")
        return 0

    real_exit = cli._InterruptWatch.__exit__

    def exit_interrupted(self, *exc):
        real_exit(self, *exc)
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "cmd_list", command)
    monkeypatch.setattr(cli._InterruptWatch, "__exit__", exit_interrupted)
    assert cli.main(["list"]) == 130
    assert capsys.readouterr().err == f"lstmds: interrupted after the run was complete: its files are in {tmp_path}\n"


@posix_only
@pytest.mark.parametrize("force", [False, True])
def test_sigterm_while_convert_writes(tmp_path, force):
    """SIGTERM lands in the middle of writing OUT: OUT is not there (or, with --force, as it was), exit 143."""
    source = L.LSTMParams.random(4, 100, 2, rng=0).save(tmp_path / "in.npz")
    out = tmp_path / "out.npz"
    if force:
        out.write_bytes(b"the good file")
    code = """
import os, signal, sys
from lstmds_sim.core import atomic
from lstmds_sim.io import cli
real = os.write
def write(fd, data):
    real(fd, bytes(data[:100]))
    os.kill(os.getpid(), signal.SIGTERM)
    return 100
atomic.os.write = write
sys.exit(cli.main(sys.argv[1:]))
"""
    proc = _start(code, "convert", str(source), str(out), *(["--force"] if force else []))
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 143, err
    expected = f"lstmds: stopped by SIGTERM; {out} was not written" + (" (the file there is as it was)" if force else "")
    assert err == expected + "\n", err
    assert (out.read_bytes() == b"the good file") if force else not out.exists()
    assert _leftovers(tmp_path) == []


@posix_only
def test_nohup_leaves_sighup_ignored(tmp_path):
    """Started with SIGHUP ignored (nohup), the command leaves it so: a closed terminal does not stop it."""
    code = """
import signal, sys
signal.signal(signal.SIGHUP, signal.SIG_IGN)
from lstmds_sim.io import cli
def command(args):
    print(signal.getsignal(signal.SIGHUP) == signal.SIG_IGN, signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL)
    return 0
cli.cmd_list = command
sys.exit(cli.main(["list"]))
"""
    proc = _start(code)
    out, err = proc.communicate(timeout=60)
    assert (proc.returncode, out) == (0, "True True\n"), err


def _lstmds(*argv) -> list[str]:
    """The ``lstmds`` program in a fresh Python, its signals as a terminal gives them."""
    return [sys.executable, "-c", DEFAULT_SIGNALS + "import sys\nfrom lstmds_sim.io.cli import entry\n"
            "sys.argv[0] = 'lstmds'\nentry()", *argv]


@pytest.mark.slow
@posix_only
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP])
@pytest.mark.parametrize("delay", [1.0, 2.5, 4.0, 6.0])
def test_a_signal_at_any_moment_of_a_lab_run(tmp_path, sig, delay):
    """``lstmds run lstm_layer`` with another seed, stopped by SIGTERM or SIGHUP: one line, 128 + n, and every
    listed file from one run; never a staging folder or an unlisted file."""
    out = tmp_path / "lab"
    subprocess.run(_lstmds("run", "lstm_layer", "--out", str(out)), check=True, capture_output=True, cwd=ROOT)
    listed = set(json.loads((out / "results.json").read_text())["files"])
    proc = subprocess.Popen(_lstmds("run", "lstm_layer", "--out", str(out), "--seed", "1"), cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    time.sleep(delay)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=120)
    record = json.loads((out / "results.json").read_text())
    assert proc.returncode in (0, 128 + sig), err
    if proc.returncode:
        assert err.count("\n") == 1 and f"stopped by {signal.Signals(sig).name}" in err, err
    assert set(record["files"]) == listed and _leftovers(out) == []
    assert {p.name for p in out.iterdir()} == listed | {"results.json", ".lstmds.lock"}
    subprocess.run(_lstmds("run", "lstm_layer", "--out", str(out)), check=True, capture_output=True, cwd=ROOT)


@pytest.mark.slow
@posix_only
@pytest.mark.parametrize("command", [("render", "lstm_layer"), ("inspect", "lstm_layer")])
def test_sigterm_during_render_and_inspect(tmp_path, command):
    if command[0] == "inspect":
        pytest.importorskip("bokeh")
    out = tmp_path / "out"
    subprocess.run(_lstmds(*command, "--out", str(out)), check=True, capture_output=True, cwd=ROOT)
    before = _snapshot(out)
    for delay in (1.0, 2.0, 3.0):
        proc = subprocess.Popen(_lstmds(*command, "--out", str(out)), cwd=ROOT, stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, text=True)
        time.sleep(delay)
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=120)
        assert proc.returncode in (0, 143), err
        assert _leftovers(out) == [] and set(_snapshot(out)) == set(before)  # the same files, each whole


@pytest.mark.slow
@posix_only
def test_ctrl_c_during_a_notebook_is_one_line(tmp_path):
    """Ctrl-C in the terminal (SIGINT to the whole process group, the kernel too) while cells run."""
    for module in ("jupytext", "nbclient", "ipykernel"):
        pytest.importorskip(module)
    proc = subprocess.Popen(_lstmds("notebook", "lstm_layer", "--out", str(tmp_path)), cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
                            env={**os.environ, "LSTMDS_QUICK": "1"})
    for line in proc.stdout:  # a cell is running
        if "running:" in line:
            break
    time.sleep(1.0)
    os.killpg(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert (proc.returncode, err) == (130, INTERRUPTED_LINE)
    assert _leftovers(tmp_path) == [] and not (tmp_path / "lstm_layer.ipynb").exists()


@pytest.mark.slow
@posix_only
def test_ctrl_c_with_dask_workers_is_one_line(tmp_path):
    """``--workers 2`` and Ctrl-C in the terminal: the workers stay quiet, the command says one line."""
    pytest.importorskip("distributed")
    model = L.LSTMParams.random(1, 3, 1, rng=0, low=-0.1, high=0.1)
    from lstmds_sim.learning.model import IdentifiedModel

    path = IdentifiedModel(model, u_mean=15.0, u_scale=2.0, y_mean=7.0, y_scale=2.0, Ts=10.0).save(tmp_path / "m.npz")
    proc = subprocess.Popen(_lstmds("scenario", "--model", str(path), "--workers", "2", "--out", str(tmp_path / "o")),
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    for line in proc.stdout:
        if "chunks ..." in line:  # the cluster is up, the sweep has started
            break
    time.sleep(3.0)
    os.killpg(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert (proc.returncode, err) == (130, INTERRUPTED_LINE)
    assert _leftovers(tmp_path) == []
