"""The student copies as a student meets them: run top to bottom with every blank left, each
exercise's check cell says in words that the answer is missing, and no cell fails with a raw
error (a TypeError on ``...``, a NameError, a NotImplementedError from deep inside)."""
import re
from pathlib import Path

import nbformat
import pytest

from lstm.exercises import answered

STUDENT = Path(__file__).resolve().parent.parent / "notebooks" / "student"
#: what a check cell says about a blank: lstm.exercises.answered / check, or the grader's table
MISSING = re.compile(r"not (answered|written) yet")


def run_all_cells(path, answer=None):
    """Execute the notebook at ``path`` top to bottom, going on after a failing cell (as a
    student does): its cells, with outputs. ``answer``: source text put in place of every
    ``...`` blank (a wrong answer)."""
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if answer is not None and cell.cell_type == "code":
            cell.source = cell.source.replace("= ...  # your answer here", f"= {answer}  # your answer here")
    NotebookClient(nb, timeout=120, kernel_name="python3", allow_errors=True,
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    return nb.cells


def check_cell(cells, k):
    """The index of the check cell of the exercise in code cell ``k``: the first code cell after
    it that uses a name the answer defines (a blanked ``name = ...`` or a function), or hands
    the grader ``globals()``."""
    names = set(re.findall(r"^\s*(\w+) = .*  # your answer here$", cells[k].source, re.M))
    names |= set(re.findall(r"^def (\w+)\(", cells[k].source, re.M))
    assert names, f"an exercise cell whose answer names nothing:\n{cells[k].source}"
    later = (j for j in range(k + 1, len(cells)) if "globals()" in cells[j].source     # the grader reads them all
             or any(re.search(rf"\b{n}\b", cells[j].source) for n in names))
    found = next(later, None)
    assert found is not None, f"no check cell uses {sorted(names)}"
    return found


def errors_of(cell):
    return [(out.ename, out.evalue) for out in cell.get("outputs", []) if out.output_type == "error"]


@pytest.mark.parametrize("path", sorted(STUDENT.glob("*.ipynb")), ids=lambda p: p.stem)
def test_each_check_cell_of_a_student_copy_says_the_answer_is_missing_and_nothing_else_fails(path):
    cells = [cell for cell in run_all_cells(path) if cell.cell_type == "code"]
    checks = {check_cell(cells, k) for k, cell in enumerate(cells) if "your answer here" in cell.source}
    assert checks, "a student copy without an exercise"
    for k, cell in enumerate(cells):
        errors = errors_of(cell)
        if k in checks:
            assert len(errors) == 1, f"check cell {k} did not stop on the blank:\n{cell.source}"
            ename, evalue = errors[0]
            assert ename == "AssertionError" and MISSING.search(evalue), (
                f"check cell {k} fails with {ename}: {evalue[:300]}\n{cell.source}")
        else:
            assert not errors, f"cell {k} (not a check cell) fails with {errors}\n{cell.source}"


def test_answered_says_a_blank_is_not_answered_and_passes_an_answer_on():
    assert answered("rate", 0.62) == 0.62
    with pytest.raises(AssertionError, match=r"^rate: not answered yet: replace the \.\.\. with your answer$"):
        answered("rate", ...)


def test_answered_says_a_function_still_blank_is_not_answered_and_lets_other_errors_through():
    def pipe_block(step):
        raise NotImplementedError("your answer here")

    def unfinished(step):
        raise NotImplementedError("only for 2-D steps")

    with pytest.raises(AssertionError, match=r"^pipe: not answered yet: write the body of pipe_block$"):
        answered("pipe", pipe_block)(None)
    with pytest.raises(NotImplementedError, match="only for 2-D steps"):
        answered("pipe", unfinished)(None)
    assert answered("twice", lambda x: 2 * x)(4) == 8


@pytest.mark.parametrize("path", sorted(STUDENT.glob("*.ipynb")), ids=lambda p: p.stem)
def test_each_check_cell_says_in_words_what_is_wrong_with_an_answer_of_the_wrong_kind(path):
    """Every ``...`` answered with a string: each check cell stops with an AssertionError that
    says what is wrong (the answer is a string where a number or a set belongs, or is not the
    answer), not with a TypeError from the arithmetic."""
    cells = [cell for cell in run_all_cells(path, answer='"wrong"') if cell.cell_type == "code"]
    valued = {check_cell(cells, k) for k, cell in enumerate(cells)
              if "= \"wrong\"  # your answer here" in cell.source}
    for k, cell in enumerate(cells):
        errors = errors_of(cell)
        if k in valued:
            assert [ename for ename, _ in errors] == ["AssertionError"], (errors, cell.source)
            assert not MISSING.search(errors[0][1]) and "'wrong'" in errors[0][1], errors[0][1][:300]
        else:
            assert all(ename == "AssertionError" and MISSING.search(evalue) for ename, evalue in errors), (
                f"cell {k} fails with {errors}\n{cell.source}")


def test_a_set_answer_of_the_wrong_kind_is_told_the_form_without_an_item_of_the_answer():
    from lstm.exercises import check

    with pytest.raises(AssertionError, match=r"give a set, written \{item, item, \.\.\.\}, not 'wrong'") as told:
        check("zero at t = 1", "wrong", {"F_bar_1", "W_fh"})
    assert "F_bar_1" not in str(told.value) and "W_fh" not in str(told.value)
