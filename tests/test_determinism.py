"""Determinism across processes: the same inputs give bit-for-bit the same outputs in two fresh Pythons.

The two processes (conftest.fresh_processes, running tests/fresh_process.py) run with different
PYTHONHASHSEED values, so string hashes, and with them the iteration order of sets and of dicts built
from sets, differ between them: a result that leaks that order (a layout, a loop list, a file's bytes)
differs too. The probes digest arrays and files byte for byte and also digest a run with another seed
or input, which must differ. The labs' end-to-end runs are compared the same way in test_slow.py.
Slow: the two fresh Pythons import everything and train (about 20 s of CPU between them).
"""

import pytest

pytestmark = pytest.mark.slow


def same_in_both(fresh_processes, name):
    """The probe's result, after checking that both processes computed it and agree bit for bit."""
    first, second = (seen[name] for seen in fresh_processes)
    for seen in (first, second):
        assert "error" not in seen, seen.get("error")
    for key in sorted(set(first) | set(second)):
        if key not in ("calls", "lines"):  # how progress was shown is the one thing meant to differ
            assert first.get(key) == second.get(key), f"{name}: {key} differs between the two processes"
    if "other_sha256" in first:
        assert first["sha256"] != first["other_sha256"]  # the digest sees the data
    return first, second


def test_diagram_graph_loops_and_layout_do_not_depend_on_the_hash_seed(fresh_processes):
    graphs = same_in_both(fresh_processes, "diagram_graphs")[0]
    layer, stack = graphs["lstm_layer"], graphs["lstm_stack"]
    assert layer["layout"] == layer["layout_again"] and stack["layout"] == stack["layout_again"]
    assert [delay for delay, _ in layer["loops"]] == ["cell state", "hidden state"]
    assert len(stack["loops"]) == 4 and len(stack["layout"]) == len(stack["nodes"]) > len(layer["nodes"])


def test_rendered_files_are_the_same_bytes_in_every_process(fresh_processes):
    files = same_in_both(fresh_processes, "rendered_lstm_layer")[0]
    assert sorted(files) == ["again.png", "again.svg", "lstm_layer.png", "lstm_layer.svg"]
    for fmt in ("png", "svg"):  # and rendering again in the same process gives the same bytes
        assert files[f"again.{fmt}"]["sha256"] == files[f"lstm_layer.{fmt}"]["sha256"]
    assert min(f["size"] for f in files.values()) > 10_000


def test_training_is_bitwise_identical_in_every_process_whatever_the_progress_display(fresh_processes):
    lines, callback = same_in_both(fresh_processes, "training")
    assert lines["sha256"] == lines["again_sha256"]  # and a second run in the same process is the same too
    assert lines["final_loss"] < 0.2 * lines["initial_loss"]  # it trained
    assert lines["best_loss"] <= lines["final_loss"]
    assert [line.split()[2] for line in lines["lines"]] == ["100/300", "200/300", "300/300"] and not lines["calls"]
    assert lines["lines"][-1] == f"training: epoch 300/300  loss {lines['final_loss']:.3e}  lr {0.01:.1e}"
    assert [c[0] for c in callback["calls"]] == [100, 200, 300] and not callback["lines"]
    assert callback["calls"][-1][1] == callback["final_loss"]  # the callback gets the loss after the epochs


def test_identification_data_depends_on_its_seed_only(fresh_processes):
    assert same_in_both(fresh_processes, "identification_data")[0]["n"] == 500


def test_scenarios_depend_on_their_seed_only(fresh_processes):
    assert same_in_both(fresh_processes, "scenarios")[0]["shape"] == [50, 600, 1]
