"""What a lab's exercises use inside its notebook: numbers kept for the solution text, answers checked.

A solution's prose never types a result. The solution's code cell computes it and hands it over with
:func:`keep`; the markdown cell below writes ``{{name}}`` or ``{{name:.3f}}`` where the number goes, and
``lstmds notebook`` fills it in from the executed values (:func:`fill`), so the text and the run agree
on every machine. The lab's own text does the same: a number it quotes from the run is a ``{{name}}``
place filled from a :func:`keep` in a notebook-only cell above it (never in a solution's cell, so that
the student's edition, which has no solutions, can fill it too: :func:`kept_values`). An exercise whose
answer is a number has an answer cell (the student's, an nbgrader
solution region in the teacher's edition) and an autograded cell that calls :func:`check_answer` against a
value the notebook computes itself.

The kernel side (``keep``, ``check_answer``) needs IPython only when it displays; ``fill`` is the writer's side.
"""

from __future__ import annotations

import math
import re

from ..core.errors import LSTMDSError

__all__ = ["VALUES_MIME", "AnswerError", "SolutionTextError", "answered", "check_answer", "fill", "keep",
           "kept_values", "prose_places", "sci"]

#: The output type that carries kept values from the kernel to the writer (removed from the notebook it writes).
VALUES_MIME = "application/vnd.lstmds.values+json"

#: A place for a kept number in a solution's markdown: ``{{name}}`` or ``{{name:format}}``.
PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*(?::([^}]*))?\}\}")


class AnswerError(LSTMDSError, AssertionError):
    """An answer that is not the expected one (what nbgrader's autograder counts as a failed check)."""


class SolutionTextError(LSTMDSError, ValueError):
    """A solution's text asks for a number that no cell above it kept."""


def _plain(value):
    """``value`` as JSON: numpy scalars and arrays become Python numbers and lists."""
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return value


def keep(**values) -> None:
    """Keep ``values`` (numbers, strings, lists) for the solution text below this cell.

    Displayed as an output of type :data:`VALUES_MIME` with an empty text part, so a notebook
    front end shows nothing; ``lstmds notebook`` reads it, fills ``{{name}}`` places in the markdown
    cells after it, and drops the output.
    """
    from IPython.display import display

    display({VALUES_MIME: {name: _plain(value) for name, value in values.items()}, "text/plain": ""}, raw=True)


def _written(name: str, answer) -> str:
    """The student's ``answer`` as the check lines show it (a number to 6 digits); an unset one (None or
    ``...``) raises :class:`AnswerError`."""
    if answer is None or answer is Ellipsis:
        raise AnswerError(f"{name} is not set yet: write your answer in the cell above")
    try:
        return f"{float(answer):.6g}"
    except (TypeError, ValueError):
        return repr(answer)


def answered(name: str, answer) -> None:
    """The visible half of an autograded check: the student's ``answer`` (the variable ``name``) is written down.

    The value itself is checked by :func:`check_answer` in the check cell's hidden tests (nbgrader's
    ``### BEGIN HIDDEN TESTS`` region): the student's edition leaves it out, since the expected value's
    computation would give the answer away, and nbgrader's autograder puts it back. An unset answer
    raises :class:`AnswerError` (nbgrader: no points).
    """
    print(f"{name} = {_written(name, answer)}: written down; the grader checks it against the run")


def check_answer(name: str, answer, expected, *, rtol: float = 1e-6, atol: float = 0.0) -> None:
    """Check the student's ``answer`` (the variable ``name``) against ``expected``; one line either way.

    Numbers compare with ``math.isclose(answer, expected, rel_tol=rtol, abs_tol=atol)``; anything else
    with ``==``. A wrong or missing answer raises :class:`AnswerError` (nbgrader: no points).
    """
    shown = _written(name, answer)
    try:
        right = math.isclose(float(answer), float(expected), rel_tol=rtol, abs_tol=atol)
    except (TypeError, ValueError):
        right = answer == expected
    if not right:
        within = f" (within {rtol:g} relative{f', {atol:g} absolute' if atol else ''})" if rtol or atol else ""
        raise AnswerError(f"{name} = {shown} is not the answer{within}: look again at the cells above")
    print(f"{name} = {shown}: right")


def sci(value, digits: int = 2) -> str:
    """``value`` in scientific notation for a solution's LaTeX (between ``$`` signs): ``1.04 \\cdot 10^{-6}``.

    Keep the string (``keep(error=sci(error))``) and write ``${{error}}$``: a tiny or huge result then
    reads as it would in a textbook, not as ``1.04e-06``. With ``digits=0`` a mantissa of 1 is left
    out (``10^{-6}``), for an order of magnitude.
    """
    mantissa, exponent = f"{float(value):.{digits}e}".split("e")
    if digits == 0 and mantissa in ("1", "-1"):
        return f"{mantissa[:-1]}10^{{{int(exponent)}}}"
    return f"{mantissa} \\cdot 10^{{{int(exponent)}}}" if int(exponent) else mantissa


def _format(value, spec: str | None) -> str:
    return str(value) if not spec else format(value, spec)


def _in_solution(cell) -> bool:
    return "solution" in cell.metadata.get("tags", [])


def kept_values(nb) -> dict:
    """The values that ``nb``'s code cells outside the solutions kept (read from an executed notebook,
    before :func:`fill` removes them): what the lab's own text may quote, in either edition."""
    values: dict = {}
    for cell in nb.cells:
        if cell.cell_type == "code" and not _in_solution(cell):
            for output in cell.get("outputs", []):
                if output.get("output_type") == "display_data" and VALUES_MIME in output.get("data", {}):
                    values.update(output["data"][VALUES_MIME])
    return values


def prose_places(nb) -> list[str]:
    """The names of the ``{{name}}`` places in ``nb``'s markdown outside the solutions, in order."""
    return [match.group(1) for cell in nb.cells if cell.cell_type == "markdown" and not _in_solution(cell)
            for match in PLACEHOLDER.finditer(cell.source)]


def fill(nb, values: dict | None = None) -> int:
    """Fill every ``{{name[:format]}}`` in ``nb``'s markdown cells from the values kept above them.

    Walks the cells in order; a code cell's :data:`VALUES_MIME` outputs add to the values (a later
    :func:`keep` of the same name wins) and are removed. ``values``, if given, are known from the
    start: the student's edition, which is not executed, is filled with the teacher's run's
    :func:`kept_values`. Returns how many places were filled; a place whose name nothing above kept,
    or whose format does not fit the value, raises :class:`SolutionTextError` naming the cell.
    """
    values = dict(values or {})
    filled = 0
    for index, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            kept = []
            for output in cell.get("outputs", []):
                data = output.get("data", {}) if output.get("output_type") == "display_data" else {}
                if VALUES_MIME in data:
                    values.update(data[VALUES_MIME])
                else:
                    kept.append(output)
            cell["outputs"] = kept
        elif cell.cell_type == "markdown" and "{{" in cell.source:
            def place(match, index=index):
                name, spec = match.group(1), match.group(2)
                if name not in values:
                    raise SolutionTextError(
                        f"cell {index + 1} of {len(nb.cells)}: {{{{{name}}}}} is not a value kept above it "
                        f"(keep({name}=...) in a code cell before it; kept so far: {', '.join(sorted(values)) or 'none'})")
                try:
                    return _format(values[name], spec)
                except (TypeError, ValueError):
                    raise SolutionTextError(f"cell {index + 1} of {len(nb.cells)}: format {spec!r} does not fit "
                                            f"{name} = {values[name]!r}") from None

            source, count = PLACEHOLDER.subn(place, cell.source)
            cell.source = source
            filled += count
    return filled
