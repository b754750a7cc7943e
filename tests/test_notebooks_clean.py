"""The teaching notebooks as committed: outputs stripped, built from their sources, complete;
and their student copies: the same notebooks with every exercise's answer blanked.

(Running them is the job of ``pytest --nbmake notebooks``.)"""
import ast
import importlib.util
import json
import re
from pathlib import Path

import nbformat
import pytest

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
EXPECTED = ["01_autodiff_from_scratch", "02_lstm_cell_as_a_graph", "03_stepping_through_backprop", "04_derive_bptt",
            "05_vanishing_gradients", "06_paper_errata", "07_beyond_first_order"]


def build_module():
    spec = importlib.util.spec_from_file_location("notebooks_build", NOTEBOOKS / "build.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def committed():
    return sorted(NOTEBOOKS.glob("*.ipynb"))


def student_copies():
    return sorted((NOTEBOOKS / "student").glob("*.ipynb"))


def sources():
    return sorted((NOTEBOOKS / "src").glob("*.py"))


def test_the_teaching_notebooks_their_sources_and_student_copies_are_there():
    stems = [p.stem for p in committed()]
    assert set(EXPECTED) <= set(stems)
    assert set(EXPECTED) <= {p.stem for p in sources()}
    assert {p.stem for p in sources()} <= set(stems), "a source whose notebook was not built"
    assert {p.stem for p in sources()} == {p.stem for p in student_copies()}, "a student copy missing or left over"


@pytest.mark.parametrize("path", committed() + student_copies(), ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_notebook_is_valid_and_has_no_outputs(path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    assert nb.metadata.kernelspec.name == "python3"
    assert "widgets" not in nb.metadata                 # no saved widget state
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, cell.source[:60]
        assert "attachments" not in cell


@pytest.mark.parametrize("source", sources(), ids=lambda p: p.stem)
def test_notebook_and_student_copy_are_what_the_source_builds(source):
    build = build_module()
    for student in (False, True):
        path = build.target_of(source, student)
        assert path.read_text(encoding="utf-8") == build.render(build.notebook_of(source, student)), (
            f"{path.relative_to(NOTEBOOKS)} differs from notebooks/src/{source.name}; edit the source and run "
            f"`.venv/bin/python notebooks/build.py`")


@pytest.mark.parametrize("path", committed(), ids=lambda p: p.stem)
def test_notebook_opens_with_a_title_and_ends_with_a_summary(path):
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    assert cells[0]["cell_type"] == "markdown" and "".join(cells[0]["source"]).startswith("# ")
    assert cells[-1]["cell_type"] == "markdown"


@pytest.mark.parametrize("source", sources(), ids=lambda p: p.stem)
def test_student_copy_has_a_blank_for_every_answer_and_no_answer(source):
    build = build_module()
    teacher, student = build.notebook_of(source), build.notebook_of(source, student=True)
    blocks = 0
    for (kind, body), cell in zip(build.cells_of(source.read_text(encoding="utf-8")), student.cells):
        solutions = [lines for is_solution, lines, _ in build.solution_blocks(body) if is_solution]
        blocks += len(solutions)
        assert build.BEGIN not in cell.source and build.END not in cell.source
        if solutions:
            assert "your answer here" in cell.source.lower()
        if kind == "code":
            ast.parse(cell.source)                  # still Python: the student can run the cell
            for lines in solutions:                 # each answer's statements are gone
                for line in lines:
                    if line.strip() and not line.strip().startswith("#"):
                        assert line not in cell.source.split("\n"), line
    assert len(student.cells) == len(teacher.cells)
    if blocks:
        assert "Student copy" in student.cells[0].source
    else:
        assert student == teacher


def test_markdown_cells_are_split_from_code_by_the_percent_markers():
    build = build_module()
    cells = build.cells_of("# %% [markdown]\n# # Title\n#\n# text\n\n# %%\nx = 1\n\n# %%\ny = 2\n")
    assert cells == [("markdown", "# Title\n\ntext"), ("code", "x = 1"), ("code", "y = 2")]
    with pytest.raises(ValueError, match="must start with '#'"):
        build.cells_of("# %% [markdown]\nnot a comment\n")


def test_an_answer_that_only_assigns_values_becomes_ellipses():
    build = build_module()
    body = "x = 1\n### BEGIN SOLUTION\nzero = {'F', 'W_fh'}  # F̄ = C̄ × C_0\nrate = 0.5\n### END SOLUTION\nprint(zero)"
    assert build.student_body(body, "code") == (
        "x = 1\nzero = ...  # your answer here\nrate = ...  # your answer here\nprint(zero)")
    assert build.teacher_body(body, "code") == body


def test_an_answer_that_computes_becomes_a_raise_at_its_indentation():
    build = build_module()
    body = "def f(x):\n    ### BEGIN SOLUTION\n    y = x * 2\n    return y\n    ### END SOLUTION"
    assert build.student_body(body, "code") == 'def f(x):\n    raise NotImplementedError("your answer here")'


def test_a_markdown_answer_loses_its_markers_in_the_notebook_and_its_text_in_the_student_copy():
    build = build_module()
    body = "Why?\n\n### BEGIN SOLUTION\nBecause C_0 = 0.\n### END SOLUTION"
    assert build.teacher_body(body, "markdown") == "Why?\n\nBecause C_0 = 0."
    assert build.student_body(body, "markdown") == "Why?\n\n*Your answer here.*"


def test_a_marker_without_its_partner_is_refused():
    build = build_module()
    with pytest.raises(ValueError, match="without"):
        build.solution_blocks("### BEGIN SOLUTION\nx = 1")
    with pytest.raises(ValueError, match="outside a solution block"):
        build.solution_blocks("x = 1\n### END SOLUTION")
    with pytest.raises(ValueError, match="inside a solution block"):
        build.solution_blocks("### BEGIN SOLUTION\n### BEGIN SOLUTION\n### END SOLUTION")


@pytest.mark.parametrize("stem", EXPECTED)
def test_each_course_notebook_has_at_least_three_exercises(stem):
    build = build_module()
    cells = build.cells_of((NOTEBOOKS / "src" / f"{stem}.py").read_text(encoding="utf-8"))
    answers = sum(is_solution for _, body in cells for is_solution, _, _ in build.solution_blocks(body))
    assert answers >= 3, f"{stem} has {answers} exercise(s)"


#: LaTeX commands whose backslash a Python string escape eats: "\t" + "imes" is a TAB then
#: "imes", "\b" + "ar" a backspace then "ar", "\f" + "rac" a form feed, "\r" + "ight" a carriage return
ESCAPED_COMMANDS = ("times", "tanh", "text", "top", "bar", "begin", "big", "beta", "frac", "right", "rho",
                    "alpha", "approx", "aligned", "vec", "varepsilon", "nabla", "neq")


def markdown_damage(text):
    """What in a Markdown cell's ``text`` looks like a LaTeX command hit by a Python escape: a
    control character, or a command's tail without its backslash and first letter."""
    found = [f"control character {ch!r}" for ch in sorted(set(text)) if ord(ch) < 32 and ch != "\n" or ch == "\x7f"]
    for math in re.findall(r"\$\$?(.+?)\$\$?", text, re.S):
        found += [f"'{name[1:]}' without '\\{name[0]}' in ${math}$" for name in ESCAPED_COMMANDS
                  if re.search(rf"(?<![A-Za-z\\]){name[1:]}\b", math)]
    return found


@pytest.mark.parametrize("source", sources(), ids=lambda p: p.stem)
def test_markdown_has_no_control_character_where_a_latex_command_was_meant(source):
    build = build_module()
    for kind, body in build.cells_of(source.read_text(encoding="utf-8")):
        if kind == "markdown":
            assert not markdown_damage(body), (markdown_damage(body), body[:200])


def test_markdown_damage_finds_an_escaped_command():
    assert markdown_damage("$W_h \\times 4$, $\\bar h$ and $\\frac{a}{b}$") == []
    assert markdown_damage("$W_h \times 4$")        # "\t": a TAB, then "imes"
    assert markdown_damage("$\\frac{a}{b} \x08ar h$")
    assert markdown_damage("$W_h imes 4$")          # the TAB gone too
