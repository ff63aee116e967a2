"""Every remaining probe of issue 21 answered in one clear line (docs/durability.md lists them).

From the API: an error of lstmds (an ``LSTMDSError``, keeping its builtin base) whose message names the
argument and says what to do. From the command line: exit status 2 and one line on stderr, no traceback.
"""

import math
import socket
import threading
import time

import numpy as np
import pytest

import lstmds_sim as L
from lstmds_sim import LSTMParams
from lstmds_sim.core.errors import ArgumentError, ArgumentTypeError, DiagramError, LSTMDSError, ShapeError
from lstmds_sim.io import cli
from lstmds_sim.learning.model import IdentifiedModel


@pytest.fixture(autouse=True)
def _no_traceback_env(monkeypatch):
    monkeypatch.delenv("LSTMDS_TRACEBACK", raising=False)


def one_line(capsys, argv) -> str:
    """``lstmds ARGV`` ends with exit status 2 and one line on stderr; that line."""
    try:
        status = cli.main(argv)
    except SystemExit as stop:  # argparse's (and a lab parser's) errors
        status = stop.code
    err = capsys.readouterr().err
    assert status == 2, (status, err)
    assert err.count("\n") == 1 and err.strip() and "Traceback" not in err, err
    return err.strip()


@pytest.fixture
def params():
    return LSTMParams.random(4, 3, 2, rng=0)


@pytest.fixture(scope="module")
def model_file(tmp_path_factory):
    params = LSTMParams.random(1, 3, 1, rng=0, low=-0.1, high=0.1)
    model = IdentifiedModel(params, u_mean=15.0, u_scale=2.0, y_mean=7.0, y_scale=2.0, Ts=10.0)
    return model.save(tmp_path_factory.mktemp("model") / "tiny_model.npz")


# --------------------------------------------------------------------------- the API

@pytest.mark.parametrize(("call", "named"), [
    (lambda: L.count_params(-4, 3), "n_inputs (Ni, the input width) must be a positive integer, got -4"),
    (lambda: L.count_params(4, 2.5), "n_units (Nn, the hidden units) must be a positive integer, got 2.5"),
    (lambda: LSTMParams.random(-1, 3, 2), "n_inputs (Ni, the input width) must be a positive integer, got -1"),
    (lambda: LSTMParams.random(4.5, 3, 2), "n_inputs (Ni, the input width) must be a positive integer, got 4.5"),
    (lambda: LSTMParams.random(4, 3, 0), "n_outputs (No, the output width) must be a positive integer, got 0"),
])
def test_sizes(call, named):
    with pytest.raises(ArgumentError, match=named.replace("(", r"\(").replace(")", r"\)")):
        call()


def test_an_object_array_holding_none(params):
    W = params.W.astype(object)
    W[1, 2] = None
    with pytest.raises(ArgumentTypeError, match=r"W \(input weights, Nn=3\) is an object array holding None at "
                                                r"index \(1, 2\); give an array of numbers"):
        LSTMParams(W, params.R, params.b)


@pytest.mark.parametrize("use", ["simulate", "lstm_diagram"])
def test_a_dict_of_weights(params, use):
    with pytest.raises(ArgumentTypeError, match=r"a dict of weights \(W, R, b, F, bF\) .* use LSTMParams\(\*\*d\)"):
        getattr(L, use)(params.arrays(), np.zeros((5, 4)))


def test_from_matlab_given_a_number():
    with pytest.raises(ArgumentTypeError, match="from_matlab takes a .mat file's path or a dict .* got int: 123"):
        LSTMParams.from_matlab(123)


def test_from_torch_given_the_module():
    try:
        from torch import nn

        module = nn.LSTM(4, 3)
    except ImportError:  # what matters is the module's state_dict method
        class LSTM:
            def state_dict(self):
                return {}

        module = LSTM()
    with pytest.raises(ArgumentTypeError, match=r"the module's state dict, not the LSTM itself: "
                                                r"LSTMParams.from_torch\(lstm.state_dict\(\)\)"):
        LSTMParams.from_torch(module)


def test_matgain_of_a_string():
    bd = L.blockdiagram()
    with pytest.raises(ArgumentTypeError, match=r"MATGAIN block '.*': gain K .* must be numeric, got str"):
        bd.MATGAIN("abc")


def test_a_scalar_constant_into_a_unit_delay():
    bd = L.blockdiagram()
    clock = bd.clock(1.0)
    delay = bd.UNITDELAY(clock, x0=0.0)
    bd.connect(bd.CONSTANT(1.0), delay)
    bd.connect(delay, bd.RECORDER(name="r"))
    with pytest.raises(ShapeError, match=r"input 0 has shape \(\), expected \(1,\) .* give its source a "
                                         r"1-element vector \(e.g. CONSTANT\(\[1.0\]\)\)"):
        L.run(bd, 3)


@pytest.mark.parametrize(("args", "kwargs", "error", "named"), [
    ((2.7,), {}, ArgumentError, "steps must be a positive integer .* got 2.7"),
    ((math.nan,), {}, ArgumentError, "steps must be a positive integer .* got nan"),
    ((math.inf,), {}, ArgumentError, "steps must be a positive integer .* got inf"),
    ((), {"probes": "h_prev"}, ArgumentTypeError, r"probes must be a list of signal names, e.g. probes=\['h_prev'\]"),
])
def test_run_arguments(params, args, kwargs, error, named):
    bd, _ = L.lstm_diagram(params, np.zeros((5, 4)))
    with pytest.raises(error, match=named):
        L.run(bd, *args, **kwargs)


@pytest.mark.parametrize("bd", [None, "bd"])
def test_run_of_no_diagram(bd):
    with pytest.raises(ArgumentTypeError, match="bd must be a bdsim BlockDiagram"):
        L.run(bd, 5)


def test_a_block_added_after_a_run(params):
    bd, _ = L.lstm_diagram(params, np.zeros((5, 4)))
    L.run(bd)
    bd.CONSTANT(1.0)
    with pytest.raises(DiagramError, match="changed after it was compiled .* build a new diagram"):
        L.run(bd)


def test_a_model_file_of_the_wrong_form(model_file, tmp_path):
    data = dict(np.load(model_file))
    data["form"] = np.array("direct")
    np.savez(tmp_path / "direct.npz", **data)
    with pytest.raises(ValueError, match="key 'form' is 'direct'; an identified model is the state-space form"):
        IdentifiedModel.load(tmp_path / "direct.npz")


def test_a_horizon_of_one_step(model_file):
    """``--horizon 1``, which the help allows: the plant's diagram records one (unbatched) output."""
    from lstmds_sim.safety.scenario_diagrams import plant_simulator_check, plant_through_diagram

    model = IdentifiedModel.load(model_file)
    u = np.zeros((4, 1, 1))
    ph = plant_through_diagram(model, u)
    assert ph.shape == (4, 1, 1)
    assert plant_simulator_check(model, u, ph) < 1e-12


# --------------------------------------------------------------------------- the scenario sweep's size, workers, scheduler

def test_a_sweep_no_machine_could_finish_is_refused_up_front():
    from lstmds_sim.safety.scenario import sample_size
    from lstmds_sim.safety.sweep import check_sweep_size, default_chunk

    n = sample_size(1e-12, 1e-6, 1)
    with pytest.raises(ValueError, match=r"too large for this machine: the peaks of every scenario needs .* TB .*"
                                         r"give a larger --eps or --beta"):
        check_sweep_size(2 * n * 10, 2000, default_chunk(2000), memory=16 << 30)
    with pytest.raises(ValueError, match=r"a chunk of 64 scenarios of 1,000,000,000 steps needs 5.1 TB .* "
                                         r"a shorter --horizon"):
        check_sweep_size(2 * 2964, 10**9, default_chunk(10**9), memory=16 << 30)
    with pytest.raises(ValueError, match=r"would take about .* years"):
        check_sweep_size(10**9, 10**6, 64, memory=1 << 60, cores=2)
    check_sweep_size(2 * 2964 * 10, 2000, default_chunk(2000), memory=4 << 30, cores=2)  # the paper's: fine


def test_workers_beyond_the_machine_are_capped(monkeypatch, capsys):
    from lstmds_sim.safety import sweep

    monkeypatch.setattr(sweep.os, "cpu_count", lambda: 2)
    monkeypatch.setattr(sweep, "physical_memory", lambda: 64 << 30)
    assert sweep.local_workers(500) == 2
    assert "--workers 500: this machine has 2 cores" in capsys.readouterr().err
    assert sweep.local_workers(2) == 2 and capsys.readouterr().err == ""


def _serve(behaviour):
    """A local server that ``behaviour(connection)`` answers; its address."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    held = []

    def accept():
        while True:
            try:
                connection, _ = server.accept()
            except OSError:
                return
            held.append(connection)
            behaviour(connection)

    threading.Thread(target=accept, daemon=True).start()
    return f"tcp://127.0.0.1:{server.getsockname()[1]}", server


class _HangingDask:
    """``distributed`` whose Client never returns (a server that accepts and never answers)."""

    @staticmethod
    def Client(address, timeout=None):  # distributed's name
        time.sleep(3600)


def test_a_scheduler_address_where_something_else_answers():
    from lstmds_sim.safety.sweep import connect_scheduler

    address, server = _serve(lambda c: c.sendall(b"SSH-2.0-OpenSSH_9.6\r\n"))
    with server, pytest.raises(OSError, match=r"is not a Dask scheduler: what answers there speaks first "
                                              r"\(b'SSH-2.0"):
        connect_scheduler(_HangingDask, address, timeout_s=1.0)
    address, server = _serve(lambda c: None)  # accepts, says nothing: an HTTP server waiting for a request
    start = time.monotonic()
    with server, pytest.raises(OSError, match="accepted the connection but did not answer as a Dask scheduler"):
        connect_scheduler(_HangingDask, address, timeout_s=0.5)
    assert time.monotonic() - start < 30
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    with pytest.raises(OSError, match="no Dask scheduler answered at"):
        connect_scheduler(_HangingDask, f"tcp://127.0.0.1:{port}", timeout_s=1.0)


# --------------------------------------------------------------------------- the command line

def test_options_before_the_labs_name(capsys, tmp_path):
    line = one_line(capsys, ["run", "--out", str(tmp_path), "lstm_layer"])
    assert f"a lab's options go after it: lstmds run lstm_layer --out {tmp_path}" in line, line
    assert not list(tmp_path.iterdir())


def test_inspect_past_the_input(capsys, tmp_path):
    pytest.importorskip("bokeh")
    line = one_line(capsys, ["inspect", "lstm_layer", "--steps", "100000", "--out", str(tmp_path)])
    assert "--steps 100000 runs past the end of the input of lab 'lstm_layer' (51 samples)" in line, line
    assert not (tmp_path / "lstm_layer.html").exists()


def test_convert_an_object_array_npz(capsys, tmp_path):
    np.savez(tmp_path / "obj.npz", W=np.array([None, 1.0], dtype=object), R=np.zeros((4, 1)), b=np.zeros(4))
    line = one_line(capsys, ["convert", str(tmp_path / "obj.npz"), str(tmp_path / "out.npz")])
    assert "key 'W' holds Python objects (an object array)" in line and "dtype=float" in line, line


def test_convert_a_mat_with_two_structs(capsys, tmp_path):
    scipy_io = pytest.importorskip("scipy.io")
    p = LSTMParams.random(2, 3, 1, rng=0)
    layer = {"InputWeights": p.W, "RecurrentWeights": p.R, "Bias": p.b[:, None]}
    scipy_io.savemat(tmp_path / "two.mat", {"a": layer, "b": layer})
    line = one_line(capsys, ["convert", str(tmp_path / "two.mat"), str(tmp_path / "out.npz")])
    assert "several structs with LSTM weights (a, b)" in line and "--variable a to lstmds convert" in line, line


def test_convert_to_a_folder_that_is_a_file(capsys, tmp_path):
    source = LSTMParams.random(2, 3, 1, rng=0).save(tmp_path / "in.npz")
    (tmp_path / "afile").write_text("")
    line = one_line(capsys, ["convert", str(source), str(tmp_path / "afile" / "out.npz")])
    assert f"{tmp_path / 'afile'} is a file, not a folder" in line, line


@pytest.fixture
def no_training(monkeypatch):
    from lstmds_sim.diagrams import scenario_safety

    def trained(*args, **kwargs):
        raise AssertionError("the scenario lab started training")

    monkeypatch.setattr(scenario_safety, "train_iss_model", trained)


def test_scenario_with_an_empty_model(capsys, tmp_path, no_training):
    line = one_line(capsys, ["scenario", "--model", "", "--out", str(tmp_path)])
    assert "--model is empty (an unset shell variable?)" in line, line
    assert not list(tmp_path.iterdir())


def test_scenario_with_a_model_of_the_wrong_form(capsys, tmp_path, model_file, no_training):
    data = dict(np.load(model_file))
    data["form"] = np.array("direct")
    np.savez(tmp_path / "direct.npz", **data)
    line = one_line(capsys, ["scenario", "--model", str(tmp_path / "direct.npz"), "--out", str(tmp_path / "o")])
    assert "key 'form' is 'direct'" in line, line


@pytest.mark.parametrize(("option", "said"), [(["--eps", "1e-12"], "the peaks of every scenario"),
                                              (["--horizon", "1000000000"], "a chunk of 64 scenarios")])
def test_scenario_beyond_any_machine(capsys, tmp_path, model_file, no_training, option, said):
    start = time.monotonic()
    line = one_line(capsys, ["scenario", "--model", str(model_file), "--out", str(tmp_path), *option])
    assert "too large for this machine" in line and said in line, line
    assert time.monotonic() - start < 60  # refused before any work, not a MemoryError after a long wait
    assert not (tmp_path / "results.json").exists()


def test_every_error_of_lstmds_is_one_line_at_the_cli(capsys, monkeypatch):
    """An LSTMDSError of any builtin base (a SequenceEndError is an IndexError) is a mistake named in one line."""
    from lstmds_sim.core.errors import SequenceEndError

    def command(args):
        raise SequenceEndError("SEQUENCE block 'u': step 51 is past the end of its 51 samples")

    monkeypatch.setattr(cli, "cmd_list", command)
    assert one_line(capsys, ["list"]) == "lstmds: error: SEQUENCE block 'u': step 51 is past the end of its 51 samples"
    assert issubclass(SequenceEndError, LSTMDSError)
