"""Every lab is a notebook as well as a script (docs/labs.md).

Fast: each lab file reads as a jupytext percent-format notebook with text, the experiment's cells, 2-4
exercises and their solutions in hidden cells; every cell compiles; importing a lab computes nothing and
reads no command line; ``lstmds notebook`` refuses clearly and writes a valid notebook. Slow (CI): every
lab's notebook executes in a fresh kernel with the small settings of ``LSTMDS_QUICK=1``, with no error
output and with its figures.
"""

import importlib
import json
import re
import sys

import pytest

from lstmds_sim.io import cli

#: The labs: every one is a notebook.
NOTEBOOK_LABS = ("lstm_layer", "lstm_stack", "lstm_vs_linear", "training_basin", "training_random",
                 "ph_plant", "ph_identification", "scenario_safety")

jupytext = pytest.importorskip("jupytext")


def read_lab(name):
    from lstmds_sim.io.notebook import lab_path

    return jupytext.read(lab_path(name), fmt="py:percent")


def exercises(nb):
    """(exercise markdown cells, solution cells) after the '## Exercises' heading."""
    start = next(i for i, c in enumerate(nb.cells) if c.cell_type == "markdown" and "## Exercises" in c.source)
    tasks = [c for c in nb.cells[start:] if c.cell_type == "markdown" and re.search(r"\*\*\d\. ", c.source)
             and "solution" not in c.metadata.get("tags", [])]
    solutions = [c for c in nb.cells[start:] if "solution" in c.metadata.get("tags", [])]
    return tasks, solutions


@pytest.mark.parametrize("name", NOTEBOOK_LABS)
def test_each_lab_reads_as_a_notebook_with_text_exercises_and_hidden_solutions(name):
    nb = read_lab(name)
    markdown = [c for c in nb.cells if c.cell_type == "markdown"]
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert markdown[0].source.startswith("# Lab ") and len(markdown[0].source) > 500  # the idea, in words
    assert len(markdown) >= 8 and len(code) >= 6
    # the experiment: build the diagram and look at it, run, look, compare, then the script's main()
    sources = "\n".join(c.source for c in code)
    assert "picture(" in sources and "def build_diagram(" in sources and "def main(argv=None)" in sources
    headings = [line for c in markdown for line in c.source.splitlines() if line.startswith("## ")]
    assert any("diagram" in h.lower() for h in headings) and "## The lab as a script" in headings
    tasks, solutions = exercises(nb)
    assert 2 <= len(tasks) <= 4, [t.source[:40] for t in tasks]
    solution_text = [c for c in solutions if c.cell_type == "markdown"]
    assert len(solution_text) == len(tasks)  # one written solution per exercise, each right below its task
    for cell in solutions:
        assert cell.metadata["jupyter"]["source_hidden"] is True
        if cell.cell_type == "code":
            assert cell.metadata["jupyter"]["outputs_hidden"] is True
            assert cell.metadata.get("active") == "ipynb"  # a solution never runs on import
    # every cell compiles, the notebook-only ones included (jupytext comments them out in the .py)
    for index, cell in enumerate(code):
        compile(cell.source, f"{name} cell {index}", "exec")
    # the script's own cell is the last: it runs main() only as a script (in a notebook it is a raw cell)
    last = nb.cells[-1]
    assert last.cell_type == "raw" and last.metadata.get("active") == "py" and "main()" in last.source


@pytest.mark.parametrize("name", NOTEBOOK_LABS)
def test_importing_a_lab_computes_nothing_and_reads_no_command_line(name, tmp_path, monkeypatch):
    """lstmds render and inspect import a lab for its build_diagram(): that must not run it."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "argv", ["lab", "--no-such-option", "--out", str(tmp_path / "never")])
    module = importlib.import_module(f"lstmds_sim.diagrams.{name}")
    importlib.reload(module)  # run the module's top level again, here
    assert list(tmp_path.iterdir()) == []  # no output folder, no file
    assert callable(module.build_diagram) and callable(module.main) and callable(module.lab_options)
    assert module.__doc__.startswith("Lab ")  # lstmds list shows its first line


def test_the_notebook_leaves_out_the_script_cell_and_names_its_kernel():
    from lstmds_sim.io.notebook import lab_notebook

    nb = lab_notebook("lstm_layer")
    assert nb.metadata["kernelspec"]["name"] == "python3" and "jupytext" not in nb.metadata
    assert not any("active" in c.metadata for c in nb.cells)
    assert not any(c.cell_type == "raw" or "__main__" in c.source for c in nb.cells)
    assert any(c.cell_type == "code" and c.source.startswith("result = run(diagram") for c in nb.cells)


def test_notebook_command_writes_a_valid_notebook_without_executing(tmp_path, capsys):
    nbformat = pytest.importorskip("nbformat")
    assert cli.main(["notebook", "lstm_vs_linear", "--out", str(tmp_path), "--no-execute"]) == 0
    nb = nbformat.read(tmp_path / "lstm_vs_linear.ipynb", as_version=4)
    nbformat.validate(nb)
    record = json.loads((tmp_path / "lstm_vs_linear.notebook.json").read_text())
    assert record["owner"] == "notebook lstm_vs_linear" and record["files"] == ["lstm_vs_linear.ipynb"]
    assert record["executed"] is False and record["solution_cells"] >= 2
    assert capsys.readouterr().out.strip().endswith("lstm_vs_linear.notebook.json (not executed)")
    # another lab's notebook shares the folder
    assert cli.main(["notebook", "lstm_layer", "--out", str(tmp_path), "--no-execute"]) == 0
    assert (tmp_path / "lstm_vs_linear.ipynb").exists() and (tmp_path / "lstm_layer.ipynb").exists()


def test_notebook_command_refuses_an_unknown_lab_in_one_line(capsys):
    assert cli.main(["notebook", "nope"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no lab named 'nope'; the labs are: lstm_layer" in err


def test_notebook_command_without_the_extra_says_what_to_install(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "nbclient", None)  # import nbclient now fails
    assert cli.main(["notebook", "lstm_layer", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "pip install 'lstmds-sim[notebook]'" in err
    assert not (tmp_path / "lstm_layer.ipynb").exists()


@pytest.mark.slow
@pytest.mark.parametrize("name", NOTEBOOK_LABS)
def test_every_lab_notebook_executes_with_figures_and_no_error(name, tmp_path, monkeypatch, capsys):
    """What CI runs: each notebook in a fresh python3 kernel, with LSTMDS_QUICK=1 (docs/labs.md)."""
    nbformat = pytest.importorskip("nbformat")
    monkeypatch.setenv("LSTMDS_QUICK", "1")
    assert cli.main(["notebook", name, "--out", str(tmp_path)]) == 0
    nb = nbformat.read(tmp_path / f"{name}.ipynb", as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    predict = [c for c in code if "predict" in c.metadata.get("tags", [])]
    assert all(c.execution_count is not None for c in code if c not in predict)
    assert not [c for c in predict if c.outputs or c.execution_count is not None]  # run, then shown empty
    outputs = [o for c in code for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    images = [o for o in outputs if "image/png" in o.get("data", {})]
    assert len(images) >= 2  # the diagram's picture and the lab's figures
    record = json.loads((tmp_path / f"{name}.notebook.json").read_text())
    assert record["executed"] and record["quick"] and record["error_outputs"] == 0
    printed = capsys.readouterr().out
    assert f"files in {tmp_path}: {name}.ipynb, {name}.notebook.json (executed in" in printed
