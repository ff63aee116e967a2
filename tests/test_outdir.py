"""The output folder: locked for the whole run, replaced all at once, never losing a user's or a run's file."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import matplotlib.image
import pytest
from conftest import finish, start_in_subprocess

from lstmds_sim import __version__
from lstmds_sim.io import cli
from lstmds_sim.io.outdir import FolderBusyError, OutputDir


def refused(capsys, argv, pattern):
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("lstmds: error: ") and err.count("\n") == 1 and "Traceback" not in err, err
    assert pattern in err, err


def a_run(root, lab="a", content="1"):
    with OutputDir(root, lab=lab) as out:
        out.path("a.png").write_text(content)
        out.write_json("sub/data.json", {"content": content})
        out.write_results({"content": content})


def test_a_run_replaces_its_own_files_all_at_once(tmp_path):
    a_run(tmp_path, content="1")
    a_run(tmp_path, content="2")
    record = json.loads((tmp_path / "results.json").read_text())
    assert record["content"] == "2" and record["files"] == ["a.png", "sub/data.json"]
    assert (tmp_path / "a.png").read_text() == "2"
    assert json.loads((tmp_path / "sub" / "data.json").read_text()) == {"content": "2"}
    assert sorted(p.name for p in tmp_path.iterdir()) == [".lstmds.lock", "a.png", "results.json", "sub"]


def test_a_run_that_stops_leaves_the_previous_run_as_it_was(tmp_path):
    a_run(tmp_path, content="1")
    before = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    with pytest.raises(RuntimeError), OutputDir(tmp_path, lab="a") as out:
        out.path("a.png").write_text("half")
        raise RuntimeError("stopped")
    assert {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()} == before


def test_files_get_the_usual_mode(tmp_path):
    a_run(tmp_path)
    mask = os.umask(0o022)
    os.umask(mask)
    assert (tmp_path / "sub" / "data.json").stat().st_mode & 0o777 == 0o666 & ~mask


def test_a_second_run_into_a_busy_folder_is_refused_at_once(tmp_path):
    first = OutputDir(tmp_path, lab="a")
    with pytest.raises(FolderBusyError, match="another lstmds run is writing to"):
        OutputDir(tmp_path, lab="a")
    first.close()
    OutputDir(tmp_path, lab="a").close()  # free again


def test_another_labs_folder_is_refused_before_anything_is_computed(tmp_path, capsys):
    a_run(tmp_path, lab="lstm_layer")
    refused(capsys, ["run", "lstm_stack", "--out", str(tmp_path)],
            "holds the results of 'lstm_layer'; move it away or run 'lstm_stack' into its own folder")
    assert json.loads((tmp_path / "results.json").read_text())["lab"] == "lstm_layer"
    (tmp_path / "results.json").unlink()  # moved away: the folder is free for another lab
    with OutputDir(tmp_path, lab="c") as out:
        out.write_results({})
    assert json.loads((tmp_path / "results.json").read_text())["lab"] == "c"
    with pytest.raises(FileExistsError, match="a.png exists and was not written by an earlier 'c' run"):
        OutputDir(tmp_path, lab="c").path("a.png")  # the first lab's file stays its own


def test_foreign_files_are_never_replaced(tmp_path, capsys):
    (tmp_path / "lstm_layer_output.png").write_text("my own picture")
    refused(capsys, ["run", "lstm_layer", "--out", str(tmp_path)], "not written by an earlier 'lstm_layer' run")
    assert (tmp_path / "lstm_layer_output.png").read_text() == "my own picture"
    assert not (tmp_path / "results.json").exists()
    (tmp_path / "results.json").write_text('{"mine": true}')
    refused(capsys, ["run", "lstm_layer", "--out", str(tmp_path)], "was not written by lstmds")
    assert (tmp_path / "results.json").read_text() == '{"mine": true}'


def test_a_render_never_replaces_a_labs_file(tmp_path, capsys):
    (tmp_path / "results.json").write_text(json.dumps(
        {"lab": "ph_plant", "lstmds_sim_version": __version__, "files": ["ph_plant.png"]}))
    (tmp_path / "ph_plant.png").write_text("the lab's titration curve")
    refused(capsys, ["render", "ph_plant", "--out", str(tmp_path)], "not written by an earlier 'render ph_plant' run")
    assert (tmp_path / "ph_plant.png").read_text() == "the lab's titration curve"


def test_empty_out_is_a_clear_error(capsys):
    refused(capsys, ["run", "lstm_layer", "--out", ""], "--out is empty")


def _png_ok(path: Path) -> bool:
    return matplotlib.image.imread(path).size > 0


def test_ctrl_c_inside_an_extensions_start_up_is_still_an_interrupt(monkeypatch, capsys):
    """A compiled extension that is initialising when Ctrl-C lands raises ImportError, not KeyboardInterrupt
    (scipy's HiGHS does): the command still ends with the one interrupt line and 130, and Python's own
    SIGINT handler is back afterwards; without the signal the ImportError is no interrupt."""

    def extension_start_up(interrupt: bool):
        def command(args):
            try:
                if interrupt:
                    os.kill(os.getpid(), signal.SIGINT)
                    time.sleep(5)  # the KeyboardInterrupt arrives here
            except KeyboardInterrupt:
                pass
            raise ImportError("initialization failed")
        return command

    # Python's own handler to start from, as in a terminal: a shell's background job (`cmd &`) inherits SIGINT
    # ignored, and the command rightly leaves a handler someone else set alone
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    monkeypatch.setattr(cli, "cmd_list", extension_start_up(True))
    try:
        status = cli.main(["list"])
    finally:
        now = signal.signal(signal.SIGINT, previous)
    assert status == cli.INTERRUPTED == 130
    assert capsys.readouterr().err == "lstmds: interrupted; the output folder keeps the files of the previous run\n"
    assert now is signal.default_int_handler  # the command put Python's handler back
    monkeypatch.setattr(cli, "cmd_list", extension_start_up(False))
    with pytest.raises(ImportError):
        cli.main(["list"])


@pytest.mark.slow
@pytest.mark.parametrize("delay", [0.5, 1.5, 2.5, 3.5])
def test_ctrl_c_at_any_moment_keeps_a_consistent_folder(tmp_path, delay):
    """A run with another seed, stopped by SIGINT: one line, exit 130, and every listed file from one run."""
    out = tmp_path / "lab"
    reference = tmp_path / "seed1"
    command = [sys.executable, "-m", "lstmds_sim.io.cli", "run", "lstm_layer", "--out"]
    subprocess.run(command + [str(out)], check=True, capture_output=True)
    subprocess.run(command + [str(reference), "--seed", "1"], check=True, capture_output=True)
    seed0 = {p.name: p.read_bytes() for p in out.glob("*.png")}
    seed1 = {p.name: p.read_bytes() for p in reference.glob("*.png")}
    proc = subprocess.Popen(command + [str(out), "--seed", "1"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    time.sleep(delay)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    record = json.loads((out / "results.json").read_text())
    if proc.returncode == 130:
        assert err.decode().strip() == "lstmds: interrupted; the output folder keeps the files of the previous run"
    else:
        assert proc.returncode == 0, err
    expected = seed1 if record["sizes"]["seed"] == 1 else seed0
    for name in record["files"]:
        assert (out / name).stat().st_size > 0
        if name.endswith(".png"):
            assert (out / name).read_bytes() == expected[name] and _png_ok(out / name)
    assert not list(out.glob(".lstmds-staging-*"))


def test_a_run_in_another_process_holds_the_folder(tmp_path, capsys):
    """While a run in another process holds the folder, a lab run into it is refused at once (exit 2) and
    touches nothing; the first run then completes. (The run is a bare OutputDir, so this is quick; the
    same with a real lab run in the other process is the slow test below.)"""
    holder = """
import sys
from lstmds_sim.io.outdir import OutputDir
out = OutputDir(sys.argv[1], lab="lstm_layer")
out.path("lstm_layer_output.png").write_bytes(b"the first run's picture")
print("holding", flush=True)
sys.stdin.readline()  # until the test has tried its run
out.write_results({"sizes": {"seed": 0}})
"""
    proc = start_in_subprocess(["-c", holder, str(tmp_path)], stdin=subprocess.PIPE)
    try:
        assert proc.stdout.readline() == "holding\n", proc.stderr.read()
        staged = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
        refused(capsys, ["run", "lstm_layer", "--out", str(tmp_path), "--seed", "1"], "another lstmds run is writing")
        assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == staged  # refused before writing
    finally:
        proc.stdin.write("go on\n")
        proc.stdin.flush()
        finish(proc, timeout=60)
    record = json.loads((tmp_path / "results.json").read_text())
    assert record["lab"] == "lstm_layer" and record["sizes"]["seed"] == 0
    assert record["files"] == ["lstm_layer_output.png"]
    assert (tmp_path / "lstm_layer_output.png").read_bytes() == b"the first run's picture"
    assert not list(tmp_path.glob(".lstmds-staging-*"))


@pytest.mark.slow
def test_two_runs_of_one_lab_into_one_folder(tmp_path, capsys):
    """While one run holds the folder, a second is refused at once (exit 2); the first completes."""
    command = [sys.executable, "-m", "lstmds_sim.io.cli", "run", "lstm_layer", "--out", str(tmp_path)]
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while not list(tmp_path.glob(".lstmds-staging-*")) and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    if proc.poll() is None:
        refused(capsys, ["run", "lstm_layer", "--out", str(tmp_path), "--seed", "1"], "another lstmds run is writing")
    assert proc.wait(timeout=60) == 0
    record = json.loads((tmp_path / "results.json").read_text())
    assert record["sizes"]["seed"] == 0
    assert all(_png_ok(tmp_path / n) for n in record["files"] if n.endswith(".png"))
