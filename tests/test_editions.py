"""The teacher's and the student's edition of every lab notebook, with nbgrader (docs/labs.md).

Fast, for every lab: the teacher's edition carries valid nbgrader metadata (nbgrader's own validator
and its CheckCellMetadata preprocessor), unique grade ids, a check for every answer, and a neutral first
line on every collapsed solution; the student's edition, built with nbgrader's preprocessors from the
unexecuted notebook, holds none of the teacher's solution text, regions or workings (compared with the
teacher's own cells). ``lstmds notebook --student`` refuses clearly and writes a valid notebook.
Slow, for every lab with autograded checks: the executed teacher's edition passes every check;
nbgrader's execution and grading give the student's edition no points unanswered and every
autograded point with the teacher's answers; its HTML has no solution sentence.
"""

import copy
import json
import re
import sys

import pytest

from lstmds_sim.io import cli

jupytext = pytest.importorskip("jupytext")
nbformat = pytest.importorskip("nbformat")

LABS = cli.lab_names()


def teacher(name):
    """The teacher's edition, unexecuted, with its nbgrader metadata."""
    from lstmds_sim.io.editions import mark_cells
    from lstmds_sim.io.notebook import lab_notebook

    nb = lab_notebook(name)
    mark_cells(nb)
    return nb


def tagged(nb, tag, cell_type=None):
    return [c for c in nb.cells if tag in c.metadata.get("tags", []) and cell_type in (None, c.cell_type)]


def solution_pieces(nb):
    """Every line of the teacher's solutions that the rest of the notebook does not also show: the
    written solutions below their headline, the code between BEGIN and END SOLUTION, the workings."""
    pieces, public = [], []
    for cell in nb.cells:
        tags = cell.metadata.get("tags", [])
        lines = cell.source.splitlines()
        if "solution" in tags:
            pieces += lines[1:] if cell.cell_type == "markdown" else lines
        elif "answer" in tags:
            inside = False
            for line in lines:
                inside = inside or "BEGIN SOLUTION" in line
                (pieces if inside else public).append(line)
                inside = inside and "END SOLUTION" not in line
        else:
            public += lines
    shown = "\n".join(public)
    return [p.strip() for p in pieces if len(p.strip()) >= 8 and p.strip() not in shown]


def solution_sentences(nb):
    """Runs of plain words (25 characters or more) from the written solutions, as they would read in HTML."""
    public = "\n".join(c.source for c in nb.cells if "solution" not in c.metadata.get("tags", []))
    runs = []
    for cell in tagged(nb, "solution", "markdown"):
        body = cell.source.split("\n", 1)[1] if "\n" in cell.source else ""
        plain = re.sub(r"\$[^$]*\$|`[^`]*`|\{\{[^}]*\}\}", "|", body)  # no mathematics, code or placeholders
        runs += re.findall(r"[A-Za-z][A-Za-z,]*(?: [A-Za-z][A-Za-z,]*)+", plain)
    return [r for r in runs if len(r) >= 25 and r not in public]


# ------------------------------------------------------------------ fast: every lab


@pytest.mark.parametrize("name", LABS)
def test_teacher_edition_has_valid_nbgrader_metadata_and_a_check_for_every_answer(name):
    from nbgrader.nbgraderformat import MetadataValidator
    from nbgrader.preprocessors import CheckCellMetadata

    nb = teacher(name)
    MetadataValidator().validate_nb(nb)  # what nbgrader generate_assignment runs first and last
    CheckCellMetadata().preprocess(copy.deepcopy(nb), {})
    marked = [c for c in nb.cells if "nbgrader" in c.metadata]
    for tag in ("answer", "check", "solution", "predict"):
        assert all("nbgrader" in c.metadata for c in tagged(nb, tag)), tag  # every tagged cell is marked
    assert all(c.metadata["nbgrader"]["schema_version"] == 3 for c in marked)
    ids = [c.metadata["nbgrader"]["grade_id"] for c in marked]
    assert len(ids) == len(set(ids)), ids
    # every answer has a check after it, by the variable's name in the sources
    for index, cell in enumerate(nb.cells):
        if "answer" in cell.metadata.get("tags", []):
            variable = re.search(r"^(ANSWER_\w+) = None$", cell.source, re.MULTILINE).group(1)
            later = [c for c in nb.cells[index + 1:] if c.metadata.get("nbgrader", {}).get("grade")
                     and c.cell_type == "code" and f'check_answer("{variable}", {variable}' in c.source]
            assert len(later) == 1, variable
            assert later[0].metadata["nbgrader"]["locked"] and later[0].metadata["nbgrader"]["points"] > 0
            assert cell.metadata["nbgrader"]["solution"] and not cell.metadata["nbgrader"]["grade"]


@pytest.mark.parametrize("name", LABS)
def test_every_collapsed_solution_shows_only_a_neutral_first_line(name):
    """JupyterLab shows a collapsed cell's first line: '**Solution n.**' alone, or '# Solution n: ...'
    with no number of its own or '=' after the colon."""
    from lstmds_sim.io.notebook import lab_notebook

    nb = lab_notebook(name)
    solutions = tagged(nb, "solution")
    assert solutions
    for cell in solutions:
        first, *rest = cell.source.splitlines()
        if cell.cell_type == "markdown":
            assert re.fullmatch(r"\*\*Solution \d+\.\*\*", first.rstrip()), first
            assert any(line.strip() for line in rest)  # the solution itself, below the headline
        else:
            number, _, words = first.partition(":")
            assert re.fullmatch(r"# Solution \d+", number) and words.strip(), first
            assert not re.search(r"=|(?<![\w-])\d+(?![\w-])", words), first  # "4-unit" is a word, "is 4" is not
        assert cell.metadata["jupyter"]["source_hidden"] is True


@pytest.mark.parametrize("name", LABS)
def test_student_edition_holds_none_of_the_teachers_solutions(name):
    from nbgrader.nbgraderformat import MetadataValidator

    from lstmds_sim.io.editions import CODE_STUB, student_edition

    source = teacher(name)
    before = nbformat.writes(source)
    student = student_edition(source)
    assert nbformat.writes(source) == before  # the teacher's edition is left as it was
    nbformat.validate(student)
    MetadataValidator().validate_nb(student)
    text = nbformat.writes(student)
    pieces = solution_pieces(source)
    assert pieces  # there is something to hide
    leaked = [p for p in pieces if p in text]
    assert not leaked, leaked[:3]
    assert "BEGIN SOLUTION" not in text and "BEGIN HIDDEN TESTS" not in text
    # unexecuted, only the text's own places are left (lstmds notebook --student fills them from the run)
    from lstmds_sim.io.exercise import PLACEHOLDER, prose_places

    assert [m.group(1) for m in PLACEHOLDER.finditer(text)] == prose_places(source)
    public = {c.source for c in source.cells if "solution" not in c.metadata.get("tags", [])}
    assert all(c.source in public for c in student.cells if re.search(r"\bkeep\(", c.source))  # no workings
    assert not tagged(student, "solution", "code")
    assert not any(c.get("outputs") or c.get("execution_count") for c in student.cells if c.cell_type == "code")
    written = tagged(student, "solution", "markdown")
    assert len(written) == len(tagged(source, "solution", "markdown"))
    assert all(c.source == "YOUR ANSWER HERE" and not c.metadata.get("jupyter", {}).get("source_hidden")
               for c in written)
    for cell in tagged(student, "answer"):  # unanswered, the answer stays None: its check says so in one line
        variable = re.search(r"^(ANSWER_\w+) = None$", cell.source, re.MULTILINE).group(1)
        assert cell.source.endswith(f"{variable} = None\n{CODE_STUB}")
    # every check is handed out, locked, as the teacher wrote it less its hidden tests (the expected value's
    # computation would give the answer away; nbgrader's autograder puts them back)
    hidden = re.compile(r"\n?### BEGIN HIDDEN TESTS\n.*?### END HIDDEN TESTS", re.DOTALL)
    checks = {c.metadata["nbgrader"]["grade_id"]: hidden.sub("", c.source).strip() for c in tagged(source, "check")}
    assert all("### BEGIN HIDDEN TESTS" in c.source for c in tagged(source, "check"))
    assert {c.metadata["nbgrader"]["grade_id"]: c.source.strip() for c in tagged(student, "check")} == checks
    assert all(re.fullmatch(r'answered\("(ANSWER_\w+)", \1\)', text) for text in checks.values())
    assert all(c.metadata["editable"] is False for c in tagged(student, "check"))


def test_student_edition_of_an_executed_notebook_keeps_no_output():
    """Whatever ran in the teacher's edition (kept values, printed answers), the student's has no output."""
    from lstmds_sim.io.editions import student_edition
    from lstmds_sim.io.exercise import VALUES_MIME

    source = teacher("lstm_layer")
    for index, cell in enumerate(source.cells):
        if cell.cell_type == "code":
            cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=f"the answer is {index}.25\n"),
                            nbformat.v4.new_output("display_data", data={VALUES_MIME: {"x": 1}, "text/plain": ""})]
            cell.execution_count = index
    text = nbformat.writes(student_edition(source))
    assert "the answer is" not in text and VALUES_MIME not in text and '"execution_count": null' in text


def cells(*specs):
    """A small notebook: (cell type, source, tags, extra metadata) for each cell."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    for kind, source, tags, *extra in specs:
        cell = nbformat.v4.new_markdown_cell(source) if kind == "markdown" else nbformat.v4.new_code_cell(source)
        cell.metadata.update({"tags": tags, **(extra[0] if extra else {})})
        nb.cells.append(cell)
    return nb


ANSWER = ("code", "ANSWER_1 = None\n### BEGIN SOLUTION\nANSWER_1 = 42\n### END SOLUTION", ["answer"])
CHECK = ("code", 'check_answer("ANSWER_1", ANSWER_1, 6 * 7)', ["check"])
TEXT = ("markdown", "**Solution 1.**\n\nIt is 42.", ["solution"], {"jupyter": {"source_hidden": True}})
WORK = ("code", "# Solution 1: the workings\nkeep(x=42)", ["solution"], {"jupyter": {"source_hidden": True}})


@pytest.mark.parametrize("specs, says", [
    ([ANSWER, CHECK, ("markdown", "**Solution 1.** It is 42.", ["solution"])], "'**Solution n.**' alone"),
    ([ANSWER, CHECK, ("code", "# Solution 1: x = 42\nkeep(x=42)", ["solution"])], "no number or '='"),
    ([ANSWER, CHECK, ("code", "keep(x=42)  # Solution 1", ["solution"])], "'# Solution n: what it computes'"),
    ([ANSWER, TEXT], "ANSWER_1 has no check cell"),
    ([CHECK, ANSWER], "no answer cell (tagged answer) above it"),
    ([ANSWER, CHECK, ANSWER], "a second cell with nbgrader id answer_1"),
    ([("code", "ANSWER_1 = 42", ["answer"]), CHECK], "'### BEGIN SOLUTION'"),
    ([ANSWER, CHECK, TEXT, TEXT], "a second cell with nbgrader id solution_1_text"),
])
def test_exercise_cells_that_break_the_convention_are_named_in_one_line(specs, says):
    from lstmds_sim.io.editions import EditionError, mark_cells

    with pytest.raises(EditionError) as caught:
        mark_cells(cells(*specs))
    assert says in str(caught.value) and "\n" not in str(caught.value)


def test_points_given_in_the_lab_file_are_kept():
    from lstmds_sim.io.editions import mark_cells

    nb = cells(ANSWER, (*CHECK, {"nbgrader": {"points": 3}}), TEXT, WORK)
    mark_cells(nb)
    assert [c.metadata["nbgrader"].get("points") for c in nb.cells] == [None, 3, 1, None]
    assert [c.metadata["nbgrader"]["grade_id"] for c in nb.cells] == ["answer_1", "check_1", "solution_1_text",
                                                                      "solution_1_code"]


def test_hidden_tests_of_a_check_are_left_out_of_the_students_edition():
    from lstmds_sim.io.editions import student_edition

    source = ('assert ANSWER_1 is not None\n### BEGIN HIDDEN TESTS\ncheck_answer("ANSWER_1", ANSWER_1, 6 * 7)\n'
              "### END HIDDEN TESTS")
    hidden = ("code", source, ["check"])
    nb = cells(ANSWER, hidden, TEXT)
    check = student_edition(nb).cells[1]
    assert check.source == "assert ANSWER_1 is not None" and "6 * 7" in nb.cells[1].source


def test_a_solution_region_outside_an_answer_cell_is_refused_by_nbgrader():
    from lstmds_sim.io.editions import EditionError, mark_cells, student_edition

    nb = cells(ANSWER, CHECK, TEXT, WORK, ("code", "### BEGIN SOLUTION\ny = 1\n### END SOLUTION", []))
    assert set(mark_cells(nb)) == {"answer_1", "check_1", "solution_1_text", "solution_1_code"}
    with pytest.raises(EditionError, match="ClearSolutions: Solution region detected in a non-solution cell"):
        student_edition(nb)


def test_notebook_command_writes_the_student_edition_without_executing(tmp_path, capsys):
    assert cli.main(["notebook", "lstm_layer", "--student", "--no-execute", "--out", str(tmp_path)]) == 0
    nb = nbformat.read(tmp_path / "lstm_layer.ipynb", as_version=4)
    nbformat.validate(nb)
    assert not tagged(nb, "solution", "code") and all(c.source == "YOUR ANSWER HERE"
                                                      for c in tagged(nb, "solution", "markdown"))
    assert not [p for p in solution_pieces(teacher("lstm_layer")) if p in nbformat.writes(nb)]
    record = json.loads((tmp_path / "lstm_layer.notebook.json").read_text())
    assert record["edition"] == "student" and record["executed"] is False and record["checked"] is False
    assert record["solution_cells"] == 3 and record["files"] == ["lstm_layer.ipynb"]
    captured = capsys.readouterr()
    assert captured.out.strip().endswith("(student's edition, unexecuted; not checked: --no-execute)")
    # nothing ran: the text's numbers stay places, and one line says so
    assert captured.err.count("\n") == 1
    assert "numbers its text quotes from the run are left as {{name}} places" in captured.err
    # the teacher's edition (the default) is an nbgrader source notebook, solutions and all
    teacher_dir = tmp_path / "teacher"
    assert cli.main(["notebook", "lstm_layer", "--no-execute", "--out", str(teacher_dir)]) == 0
    record = json.loads((teacher_dir / "lstm_layer.notebook.json").read_text())
    assert record["edition"] == "teacher" and record["solution_cells"] == 6
    source = nbformat.read(teacher_dir / "lstm_layer.ipynb", as_version=4)
    assert [c.metadata["nbgrader"]["grade_id"] for c in tagged(source, "check")] == ["check_1", "check_2"]
    assert any("### BEGIN SOLUTION" in c.source for c in tagged(source, "answer"))


def test_student_edition_of_an_unknown_lab_is_one_line(tmp_path, capsys):
    assert cli.main(["notebook", "nope", "--student", "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no lab named 'nope'; the labs are: lstm_layer" in err
    assert not (tmp_path / "out").exists()


def test_student_edition_without_nbgrader_says_what_to_install(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "nbgrader", None)  # import nbgrader now fails
    assert cli.main(["notebook", "lstm_layer", "--student", "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "needs nbgrader" in err and "pip install 'lstmds-sim[course]'" in err
    assert not (tmp_path / "out").exists()


def kept_names(source):
    """The names a code cell's ``keep(name=...)`` calls keep (read from its source with ``ast``)."""
    import ast

    return [kw.arg for node in ast.walk(ast.parse(source)) if isinstance(node, ast.Call)
            and getattr(node.func, "id", None) == "keep" for kw in node.keywords if kw.arg]


@pytest.mark.parametrize("name", LABS)
def test_the_texts_numbers_are_kept_by_a_cell_outside_the_solutions_above_them(name):
    """Every {{name}} place in a lab's own text (not a solution's) is a value a notebook cell above it keeps,
    and not a solution's cell: the student's edition has no solutions, yet fills the text the same."""
    from lstmds_sim.io.exercise import PLACEHOLDER
    from lstmds_sim.io.notebook import lab_notebook

    nb = lab_notebook(name)
    kept, places = set(), 0
    for index, cell in enumerate(nb.cells):
        in_solution = "solution" in cell.metadata.get("tags", [])
        if cell.cell_type == "code" and not in_solution:
            kept.update(kept_names(cell.source))
        elif cell.cell_type == "markdown" and not in_solution:
            for match in PLACEHOLDER.finditer(cell.source):
                places += 1
                assert match.group(1) in kept, f"{name}, cell {index + 1}: {match.group(0)} is kept by no cell above it"
    assert places  # can fail: every lab quotes its run


#: Decimal numbers and powers of ten a lab's own text may type: the settings it states and its code uses, the
#: example it follows, never a result of its run (those are {{name}} places). Each with its reason.
TYPED = {
    "lstm_layer": {"0.1": "the sample time, TS", "0.99": "exercise 1's threshold for f",
                   "10^{-7}": "MATLAB's example's difference (single precision), not this run's"},
    "lstm_stack": {},
    "lstm_vs_linear": {"10^{-3}": "the scale, SCALE", "5 \\cdot 10^5": "the reference system's gain",
                       "0.01": "its sample time",
                       "3 \\cdot 10^{-4}": "exercise 1's scale"},
    "training_basin": {"10^{-3}": "the scale, and a learning rate", "10^{-4}": "learning rate and L2 settings",
                       "10^{-2}": "a learning rate", "0.99": "the drop factor", "0.01": "the sample time",
                       "10^{-5}": "exercise 2's rate", "10^{-6}": "exercise 2's rate"},
    "training_random": {"0.04": "the learning rate", "0.979": "a drop factor", "0.98": "a drop factor",
                        "0.981": "a drop factor", "0.9801": "exercise 3's drop factor",
                        "1.0001": "exercise 3: the ratio of its two drop factors, 0.9801 / 0.98",
                        "0.01": "exercise 3: (0.9801 / 0.98) - 1, the rates' difference after one drop",
                        "0.03": "exercise 3: the same after three drops"},
    "ph_plant": {"12.5": "the titration curve's range", "15.55": "the nominal base flow", "0.5": "a step",
                 "1.45": "a step", "2.5": "the RK4 step, TS / SUBSTEPS", "0.01": "exercise 1's tolerance",
                 "16.0": "exercise 1's step", "0.1": "exercise 2's step", "16.5": "exercise 2's flow",
                 "10^{-6}": "exercise 3's tolerance"},
    "ph_identification": {"12.5": "the input's range", "0.9": "exercise 3's gain limit", "0.1": "exercise 3's margin",
                          "0.001": "the lab's margin"},
    "scenario_safety": {"10^{-2}": "the full run's epsilon", "10^{-6}": "the full run's beta",
                        "10^{-9}": "the diagram-matrix tolerance", "0.2": "the notebook's epsilon",
                        "0.1": "the notebook's beta", "10^{-3}": "exercise 1's epsilon",
                        "10^{-5}": "exercise 1's epsilon",
                        "0.01": "exercise 3's epsilon"},
}
NUMBER = re.compile(r"\d+\s*\\cdot\s*10\^\{?-?\d+\}?|10\^\{?-?\d+\}?|\d+\.\d+|\d[eE]-?\d+")


def typed_numbers(text):
    """The decimal numbers and powers of ten in ``text``, less code spans and {{places}}."""
    text = re.sub(r"`[^`]*`|\{\{[^}]*\}\}", " ", text)
    return [re.sub(r"\s+", " ", m.group(0)) for m in NUMBER.finditer(text)]


@pytest.mark.parametrize("name", LABS)
def test_the_labs_text_types_no_result_of_its_run(name):
    """A decimal number or a power of ten in a lab's own text (outside its solutions) is a setting named in
    TYPED with its reason; a result of the run is a {{name}} place, so a typed result cannot creep back."""
    from lstmds_sim.io.notebook import lab_notebook

    nb = lab_notebook(name)
    text = "\n".join(c.source for c in nb.cells
                     if c.cell_type == "markdown" and "solution" not in c.metadata.get("tags", []))
    typed = set(typed_numbers(text))
    assert typed <= set(TYPED[name]), f"{name}: typed {sorted(typed - set(TYPED[name]))}: keep them, or name them"
    assert set(TYPED[name]) <= typed, f"{name}: no longer typed, drop from TYPED: {sorted(set(TYPED[name]) - typed)}"


def test_typed_numbers_finds_what_a_result_looks_like():
    assert typed_numbers("between about 0.06 and 0.98, of the order of $10^{-16}$, $2 \\cdot 10^9$, 1e-6") == [
        "0.06", "0.98", "10^{-16}", "2 \\cdot 10^9", "1e-6"]
    assert typed_numbers("`lstm_layer 0.5` {{x:.2f}} 3 units, lab 7") == []


def fake_executed(nb, teacher_values, public_values):
    """``nb`` as if run: each code cell that calls keep() shows the values it keeps (a solution's, from
    ``teacher_values``) as keep() displays them."""
    from lstmds_sim.io.exercise import VALUES_MIME

    for cell in nb.cells:
        if cell.cell_type == "code" and re.search(r"\bkeep\(", cell.source):
            values = teacher_values if "solution" in cell.metadata.get("tags", []) else {
                n: public_values.get(n, 1.0) for n in kept_names(cell.source)}
            cell.outputs = [nbformat.v4.new_output("display_data", data={VALUES_MIME: values, "text/plain": ""})]
    return nb


def test_fill_writes_the_texts_numbers_in_both_editions_and_no_solutions_number():
    from lstmds_sim.io.editions import mark_cells, student_edition
    from lstmds_sim.io.exercise import SolutionTextError, fill, kept_values, prose_places

    source = cells(("code", "keep(x=1.25, word='rises')", []), ("markdown", "x is {{x:.1f}}; it {{word}}.", []),
                   ANSWER, CHECK, WORK, ("markdown", "**Solution 1.**\n\nIt is {{x}} and {{secret}}.", ["solution"],
                                         {"jupyter": {"source_hidden": True}}))
    mark_cells(source)
    assert prose_places(source) == ["x", "word"]
    teacher = fake_executed(copy.deepcopy(source), {"secret": 987654}, {"x": 1.25, "word": "rises"})
    values = kept_values(teacher)
    assert values == {"x": 1.25, "word": "rises"}  # the solution's secret is not among them
    assert fill(teacher) == 4
    assert teacher.cells[1].source == "x is 1.2; it rises." and "It is 1.25 and 987654." in teacher.cells[-1].source
    student = student_edition(source)
    assert fill(student, values=values) == 2
    text = nbformat.writes(student)
    assert student.cells[1].source == "x is 1.2; it rises." and "{{" not in text and "987654" not in text
    # a text that quotes a solution's number cannot be filled in the student's edition: one clear error
    leaky = copy.deepcopy(source)
    leaky.cells[1].source = "x is {{secret}}"
    with pytest.raises(SolutionTextError, match="secret"):
        fill(student_edition(leaky), values=values)


@pytest.mark.parametrize("name", LABS)
def test_student_edition_made_after_a_run_has_every_number_of_its_text(name, tmp_path, monkeypatch, capsys):
    """lstmds notebook --student, with the teacher's run faked (every keep() shows 1.0, or the value below):
    the student's text is filled from the cells outside the solutions, nothing is left as {{name}}."""
    from lstmds_sim.io import notebook
    from lstmds_sim.io.exercise import PLACEHOLDER

    solution_names = {m.group(1) for c in notebook.lab_notebook(name).cells if c.cell_type == "markdown"
                      for m in PLACEHOLDER.finditer(c.source)}

    def fake_run(nb, **_):
        fake_executed(nb, {n: 1.0 for n in solution_names}, {"worst_signal": "c", "meet": "never"})
        return 1.5

    monkeypatch.setattr(notebook, "run_notebook", fake_run)
    assert cli.main(["notebook", name, "--student", "--out", str(tmp_path)]) == 0
    captured = capsys.readouterr()
    assert captured.err == "" and "the teacher's passed every check" in captured.out
    text = nbformat.writes(nbformat.read(tmp_path / f"{name}.ipynb", as_version=4))
    assert "{{" not in text and "YOUR ANSWER HERE" in text


# ------------------------------------------------------------------ slow: the labs with autograded checks


def _has_checks(name):
    from lstmds_sim.io.notebook import lab_path

    return 'tags=["check"]' in lab_path(name).read_text()


GRADED_LABS = [name for name in LABS if _has_checks(name)]
#: The labs nbgrader grades end to end here (three runs of each notebook): the quick ones. Every lab's
#: teacher's edition runs with every check passing in tests/test_notebooks.py (a failing check raises), and the
#: student's edition of every lab is checked for leaks above, so the long labs add CI time and nothing more.
AUTOGRADED_LABS = [name for name in GRADED_LABS if name in ("lstm_layer", "lstm_stack", "lstm_vs_linear", "ph_plant")]


def autograde(student, source, folder):
    """nbgrader's autograding without a gradebook: the checks put back from the teacher's edition (as
    nbgrader's OverwriteCells does from its database), the notebook run with nbgrader's Execute, every
    grade cell scored by nbgrader's determine_grade. ``(points, autograded points out of, by grade id)``."""
    from nbgrader.preprocessors import Execute
    from nbgrader.utils import determine_grade

    nb = copy.deepcopy(student)
    originals = {c.metadata["nbgrader"]["grade_id"]: c.source for c in tagged(source, "check")}
    for cell in tagged(nb, "check"):
        cell.source = originals[cell.metadata["nbgrader"]["grade_id"]]
    Execute(timeout=900).preprocess(nb, {"metadata": {"path": str(folder)}})
    scores = {c.metadata["nbgrader"]["grade_id"]: determine_grade(c) for c in nb.cells
              if c.metadata.get("nbgrader", {}).get("grade")}
    auto = [score for gid, score in scores.items() if gid.startswith("check_")]
    return sum(s for s, _ in auto), sum(m for _, m in auto), scores, nb


@pytest.mark.slow
@pytest.mark.parametrize("name", AUTOGRADED_LABS)
def test_nbgrader_grades_the_student_edition_nothing_unanswered_everything_with_the_teachers_answers(
        name, tmp_path, monkeypatch):
    from lstmds_sim.io.editions import student_edition
    from lstmds_sim.io.notebook import lab_edition

    monkeypatch.setenv("LSTMDS_QUICK", "1")
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    # the teacher's edition, executed as lstmds notebook runs it: every check passes on its own answers
    executed, _ = lab_edition(name)
    for cell in tagged(executed, "check"):
        printed = "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")
        assert re.search(r"^ANSWER_\w+ = .*: right$", printed, re.MULTILINE), printed
        assert not [o for o in cell.outputs if o.output_type == "error"]
    source = teacher(name)
    student = student_edition(source)

    points, out_of, scores, graded = autograde(student, source, tmp_path)
    assert out_of == sum(c.metadata["nbgrader"]["points"] for c in tagged(source, "check")) > 0
    assert points == 0 and all(score == 0 for score, _ in scores.values())  # written answers left: 0 as well
    errors = [(c.metadata.get("nbgrader", {}).get("grade_id"), o.ename) for c in graded.cells
              if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert errors and all(gid and gid.startswith("check_") and ename == "AnswerError" for gid, ename in errors)
    said = [o.evalue for c in tagged(graded, "check") for o in c.outputs if o.output_type == "error"]
    assert all(re.fullmatch(r"ANSWER_\w+ is not set yet: write your answer in the cell above", s) for s in said)

    answers = {c.metadata["nbgrader"]["grade_id"]: c.source for c in tagged(source, "answer")}
    texts = {c.metadata["nbgrader"]["grade_id"]: c.source for c in tagged(source, "solution", "markdown")}
    for cell in student.cells:
        gid = cell.metadata.get("nbgrader", {}).get("grade_id")
        cell.source = answers.get(gid, texts.get(gid, cell.source))
    points, out_of, scores, graded = autograde(student, source, tmp_path)
    assert points == out_of  # every autograded point
    assert all(scores[gid] == (None, 1) for gid in texts)  # written answers: now for the teacher to grade
    assert not [o for c in graded.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]


@pytest.mark.slow
@pytest.mark.parametrize("name", GRADED_LABS)
def test_the_student_editions_html_has_no_solution_sentence(name):
    from nbconvert import HTMLExporter

    from lstmds_sim.io.editions import student_edition

    source = teacher(name)
    sentences = solution_sentences(source)
    assert sentences
    html, _ = HTMLExporter().from_notebook_node(source)
    assert all(s in html for s in sentences)  # the reference: the teacher's HTML shows every one of them
    html, _ = HTMLExporter().from_notebook_node(student_edition(source))
    assert "YOUR ANSWER HERE" in html
    assert not [s for s in sentences if s in html]


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore:Object of type:Warning")  # nbgrader's gradebook, to SQLAlchemy
def test_a_teachers_nbgrader_course_takes_the_teachers_edition_and_grades_the_students(tmp_path, monkeypatch):
    """The whole of nbgrader, with its gradebook: generate_assignment accepts the teacher's edition and
    releases what the student's edition is (less the workings' cells); autograde scores a student's
    edition with one answer filled in: that check's point, none for the other."""
    import os

    from nbgrader.api import Gradebook
    from nbgrader.apps import NbGraderAPI
    from traitlets.config import Config

    monkeypatch.setenv("LSTMDS_QUICK", "1")
    monkeypatch.setenv("PATH", f"{os.path.dirname(sys.executable)}{os.pathsep}{os.environ['PATH']}")  # alembic
    course = tmp_path / "course"
    (course / "source" / "lab1").mkdir(parents=True)
    assert cli.main(["notebook", "lstm_layer", "--no-execute", "--out", str(tmp_path / "teacher")]) == 0
    (course / "source" / "lab1" / "lstm_layer.ipynb").write_text((tmp_path / "teacher" / "lstm_layer.ipynb").read_text())
    assert cli.main(["notebook", "lstm_layer", "--student", "--no-execute", "--out", str(tmp_path / "student")]) == 0
    student = nbformat.read(tmp_path / "student" / "lstm_layer.ipynb", as_version=4)
    config = Config()
    config.CourseDirectory.root = str(course)
    config.CourseDirectory.course_id = "lstmds"
    config.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE"}
    config.Execute.timeout = 900
    api = NbGraderAPI(config=config)
    made = api.generate_assignment("lab1")
    assert made["success"], made["log"]

    released = nbformat.read(course / "release" / "lab1" / "lstm_layer.ipynb", as_version=4)

    def key(cell):
        return cell.cell_type, cell.source, cell.metadata.get("nbgrader", {}).get("grade_id")
    workings = [c for c in released.cells if re.fullmatch(r"solution_\w+_code",
                                                          c.metadata.get("nbgrader", {}).get("grade_id", ""))]
    assert workings and all(c.source == "# YOUR CODE HERE" for c in workings)
    assert [key(c) for c in released.cells if c not in workings] == [key(c) for c in student.cells]

    source = nbformat.read(course / "source" / "lab1" / "lstm_layer.ipynb", as_version=4)
    answer_1 = next(c.source for c in tagged(source, "answer") if c.metadata["nbgrader"]["grade_id"] == "answer_1")
    for cell in student.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == "answer_1":
            cell.source = answer_1
    (course / "submitted" / "s1" / "lab1").mkdir(parents=True)
    nbformat.write(student, course / "submitted" / "s1" / "lab1" / "lstm_layer.ipynb")
    graded = api.autograde("lab1", "s1", create=True)
    assert graded["success"], graded["log"]
    with Gradebook(api.coursedir.db_url, "lstmds") as book:
        scores = {g.name: (g.auto_score, g.max_score)
                  for g in book.find_submission_notebook("lstm_layer", "lab1", "s1").grades}
    assert scores["check_1"] == (1, 1) and scores["check_2"] == (0, 1)
    assert all(scores[f"solution_{n}_text"] == (0, 1) for n in (1, 2, 3))  # left unwritten


@pytest.mark.parametrize("name", LABS)
def test_no_cell_a_student_runs_needs_a_name_only_hidden_tests_define(name):
    """The student's edition leaves a check's hidden tests out: a later cell the student runs (not a solution,
    which the student's edition leaves out too) must not read a name only a hidden test defines."""
    import ast

    from lstmds_sim.io.notebook import lab_notebook

    hidden = re.compile(r"^### BEGIN HIDDEN TESTS\n(.*?)^### END HIDDEN TESTS", re.MULTILINE | re.DOTALL)

    def defined(source):
        names = set()
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                names.add(node.id)
            elif isinstance(node, (ast.Import, ast.ImportFrom)):
                names |= {(alias.asname or alias.name).split(".")[0] for alias in node.names}
            elif isinstance(node, (ast.FunctionDef, ast.ClassDef)):
                names.add(node.name)
        return names

    only_hidden, visible, found = set(), set(), []
    for cell in lab_notebook(name).cells:
        tags = cell.metadata.get("tags", [])
        if cell.cell_type != "code" or "solution" in tags:
            continue
        source = cell.source.replace("### BEGIN SOLUTION\n", "").replace("### END SOLUTION\n", "")
        public = hidden.sub("", source)
        read = {n.id for n in ast.walk(ast.parse(public)) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
        missing = read & only_hidden - visible - defined(public)
        found += [(cell.source.splitlines()[0], sorted(missing))] if missing else []
        visible |= defined(public)
        for region in hidden.findall(source):
            only_hidden |= defined(region) - visible
    assert not found, f"{name}: cells that read names only hidden tests define: {found}"


def test_the_course_errors_are_errors_of_lstmds_with_their_builtin_bases():
    from lstmds_sim.core.errors import LSTMDSError
    from lstmds_sim.io.editions import EditionError
    from lstmds_sim.io.exercise import AnswerError, SolutionTextError

    assert issubclass(EditionError, LSTMDSError) and issubclass(EditionError, ValueError)
    assert issubclass(SolutionTextError, LSTMDSError) and issubclass(SolutionTextError, ValueError)
    assert issubclass(AnswerError, LSTMDSError) and issubclass(AnswerError, AssertionError)  # nbgrader: a failed test
