"""The teacher's and the student's edition of a lab notebook, in nbgrader's terms.

A lab's exercise cells carry tags (docs/labs.md): ``answer`` (the student's cell: ``ANSWER_n = None``
and an nbgrader ``### BEGIN SOLUTION`` region), ``check`` (the autograded test calling
``check_answer("ANSWER_n", ANSWER_n, ...)``), ``solution`` (a hidden code cell that computes what the
solution quotes, or the hidden markdown solution) and ``predict`` (run, its output shown only when
the student runs it). :func:`mark_cells` gives each such cell nbgrader's cell metadata (schema 3), so
the teacher's edition is an nbgrader *source* notebook a course can take in as it is, and checks the
convention on the way: every answer has its check, every grade id is unique, and a collapsed
solution shows only a neutral first line (``**Solution n.**`` alone, or a ``# Solution n: ...``
comment without a number in it).

:func:`student_edition` makes the student's edition from it with nbgrader's own preprocessors, in the
order of nbgrader's ``generate_assignment`` (without its gradebook database): solution regions become
``# YOUR CODE HERE`` (the answer stays ``None``, so its check fails with ``check_answer``'s one line),
written solutions ``YOUR ANSWER HERE``, hidden tests go, outputs are cleared and cells locked. The
solution *code* cells are left out first: they are the teacher's workings, not a place to answer.

nbgrader (the ``course`` extra) is imported only by :func:`student_edition`.
"""

from __future__ import annotations

import copy
import re

from ..core.errors import LSTMDSError

__all__ = ["CODE_STUB", "COURSE_HINT", "EditionError", "mark_cells", "student_edition"]

COURSE_HINT = "pip install 'lstmds-sim[course]'"

#: What replaces a solution region in the student's edition: a comment, so the answer stays ``None``.
CODE_STUB = "# YOUR CODE HERE"

#: Points of a check (autograded) and of a written solution (graded by hand) unless the cell says otherwise.
POINTS = 1

_ANSWER = re.compile(r"^ANSWER_(\w+)\s*=\s*None\s*$", re.MULTILINE)
_CHECK = re.compile(r"""check_answer\(\s*["']ANSWER_(\w+)["']\s*,\s*ANSWER_(\w+)\b""")
_TEXT_HEADLINE = re.compile(r"^\*\*Solution (\w+)\.\*\*$")
_CODE_HEADLINE = re.compile(r"^# Solution (\w+): (.{3,80})$")
#: What a code solution's headline may not hold: an '=' or a number of its own (one in "4-unit" is a word).
_GIVES_AWAY = re.compile(r"=|(?<![\w-])\d+(?:[.,]\d+)?(?![\w-])")
_TASK = re.compile(r"^\*\*(\d+)\. ", re.MULTILINE)


class EditionError(LSTMDSError, ValueError):
    """A lab's exercise cells that do not follow the convention (one line naming the cell)."""


def _tags(cell) -> list:
    return cell.metadata.get("tags", [])


def _meta(grade_id: str, *, solution: bool = False, grade: bool = False, locked: bool = False, points=None) -> dict:
    meta = {"grade": grade, "grade_id": grade_id, "locked": locked, "schema_version": 3, "solution": solution,
            "task": False}
    if grade:
        meta["points"] = points
    return meta


def mark_cells(nb) -> dict:
    """Give every tagged exercise cell of ``nb`` its nbgrader metadata, in place; ``{grade_id: cell index}``.

    ``answer`` -> an autograded answer (``answer_n``); ``check`` -> autograder tests, locked, with points
    (``check_n``); ``solution`` markdown -> a written answer graded by hand (``solution_n_text``);
    ``solution`` code -> a solution cell (``solution_n_code``), which the student's edition leaves out;
    ``predict`` -> read-only (``predict_n``). Points already in a cell's ``nbgrader`` metadata are kept.
    Raises :class:`EditionError` for a cell that breaks the convention.
    """
    ids: dict = {}
    answers: dict = {}
    exercise = None
    predicts = 0

    def where(index, what):
        return f"cell {index + 1} of {len(nb.cells)} ({what})"

    def add(grade_id, index, what):
        if grade_id in ids:
            raise EditionError(f"{where(index, what)}: a second cell with nbgrader id {grade_id} "
                               f"(the first is cell {ids[grade_id] + 1}); number each exercise's cells once")
        ids[grade_id] = index

    for index, cell in enumerate(nb.cells):
        tags = _tags(cell)
        source = cell.source
        first = source.split("\n", 1)[0].rstrip()
        points = cell.metadata.get("nbgrader", {}).get("points", POINTS)
        if cell.cell_type == "markdown" and "solution" not in tags:
            task = _TASK.search(source)
            exercise = task.group(1) if task else exercise
        if "answer" in tags:
            found = _ANSWER.search(source)
            if cell.cell_type != "code" or not found or "### BEGIN SOLUTION" not in source \
                    or "### END SOLUTION" not in source or source.index("### BEGIN SOLUTION") < found.start():
                raise EditionError(f"{where(index, 'tagged answer')}: an answer cell is code with 'ANSWER_n = None' "
                                   f"and then a '### BEGIN SOLUTION' ... '### END SOLUTION' region")
            n = found.group(1)
            add(f"answer_{n}", index, "tagged answer")
            answers[n] = index
            cell.metadata["nbgrader"] = _meta(f"answer_{n}", solution=True)
        elif "check" in tags:
            found = _CHECK.search(source)
            if cell.cell_type != "code" or not found or found.group(1) != found.group(2):
                raise EditionError(f"{where(index, 'tagged check')}: a check cell calls "
                                   f"check_answer(\"ANSWER_n\", ANSWER_n, expected, ...)")
            n = found.group(1)
            if n not in answers:
                raise EditionError(f"{where(index, 'tagged check')}: it checks ANSWER_{n}, but no answer cell "
                                   f"(tagged answer) above it sets ANSWER_{n}")
            add(f"check_{n}", index, "tagged check")
            cell.metadata["nbgrader"] = _meta(f"check_{n}", grade=True, locked=True, points=points)
        elif "solution" in tags and cell.cell_type == "markdown":
            found = _TEXT_HEADLINE.match(first)
            if not found:
                raise EditionError(f"{where(index, 'markdown tagged solution')}: its first line must be "
                                   f"'**Solution n.**' alone (a collapsed solution shows it), the text below it; "
                                   f"it is {first[:50]!r}")
            grade_id = f"solution_{found.group(1)}_text"
            add(grade_id, index, "markdown tagged solution")
            cell.metadata["nbgrader"] = _meta(grade_id, solution=True, grade=True, points=points)
        elif "solution" in tags and cell.cell_type == "code":
            found = _CODE_HEADLINE.match(first)
            if not found or _GIVES_AWAY.search(found.group(2)):
                raise EditionError(f"{where(index, 'code tagged solution')}: its first line must be a comment "
                                   f"'# Solution n: what it computes' with no number or '=' after the colon "
                                   f"(a collapsed solution shows it); it is {first[:50]!r}")
            grade_id, k = f"solution_{found.group(1)}_code", 2
            while grade_id in ids:  # an exercise may need several cells of workings
                grade_id, k = f"solution_{found.group(1)}_code_{k}", k + 1
            add(grade_id, index, "code tagged solution")
            cell.metadata["nbgrader"] = _meta(grade_id, solution=True)
        elif "predict" in tags and cell.cell_type == "code":
            predicts += 1
            grade_id, k = f"predict_{exercise or predicts}", 2
            while grade_id in ids:
                grade_id, k = f"predict_{exercise or predicts}_{k}", k + 1
            add(grade_id, index, "tagged predict")
            cell.metadata["nbgrader"] = _meta(grade_id, locked=True)
    unchecked = sorted(set(answers) - {gid[len("check_"):] for gid in ids if gid.startswith("check_")})
    if unchecked:
        n = unchecked[0]
        raise EditionError(f"{where(answers[n], 'tagged answer')}: ANSWER_{n} has no check cell (tagged check, "
                           f"calling check_answer(\"ANSWER_{n}\", ANSWER_{n}, ...)) below it")
    return ids


def _generate_assignment_preprocessors(config):
    """nbgrader's own ``generate_assignment`` preprocessors, in its order, less the one that needs its database."""
    from nbgrader.converters.generate_assignment import GenerateAssignment
    from nbgrader.preprocessors import SaveCells

    steps = GenerateAssignment.class_traits()["preprocessors"].default()
    return [step(config=config) for step in steps if step is not SaveCells]


def student_edition(teacher):
    """The student's edition of the teacher's notebook ``teacher`` (left as it is): a new notebook.

    No solution in it: the solution code cells are left out, and nbgrader's preprocessors (as
    ``nbgrader generate_assignment`` runs them) clear the solution regions and written solutions,
    remove hidden tests and mark schemes, clear every output, lock the checks and add nbgrader's
    checksums. The written solutions' cells are shown (not collapsed): the student answers there.
    Raises :class:`EditionError` where the convention is broken, ``ModuleNotFoundError`` without nbgrader.
    """
    from traitlets.config import Config

    nb = copy.deepcopy(teacher)
    mark_cells(nb)
    nb.cells = [cell for cell in nb.cells if not (cell.cell_type == "code" and "solution" in _tags(cell))]
    for cell in nb.cells:
        if "solution" in _tags(cell):
            jupyter = cell.metadata.get("jupyter", {})
            jupyter.pop("source_hidden", None)
            jupyter.pop("outputs_hidden", None)
            if not jupyter:
                cell.metadata.pop("jupyter", None)
    config = Config()
    config.ClearSolutions.code_stub = {"python": CODE_STUB}
    resources: dict = {}
    for step in _generate_assignment_preprocessors(config):
        try:
            nb, resources = step.preprocess(nb, resources)
        except Exception as err:  # noqa: BLE001  (nbgrader's word on a region outside its cells, on bad metadata)
            said = (str(err).splitlines() or [type(err).__name__])[0]
            raise EditionError(f"nbgrader's {type(step).__name__}: {said}") from None
    # (a keep() outside the solutions stays: it keeps a number that the lab's own text quotes)
    left = [i for i, cell in enumerate(nb.cells) if "BEGIN SOLUTION" in cell.source or cell.get("outputs")]
    if left:  # what nbgrader leaves is never handed out
        raise EditionError(f"cell {left[0] + 1} of {len(nb.cells)} of the student's edition still holds a "
                           f"solution or an output; tag it (answer, check, solution) as docs/labs.md says")
    return nb
