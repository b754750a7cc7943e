"""Build the teaching notebooks, and their student copies, from the sources in notebooks/src/.

Each source is a Python file in the "percent" format that Jupytext and VS Code use:
``# %%`` starts a code cell, ``# %% [markdown]`` a Markdown cell whose lines start with
``# ``. The .ipynb files are written with no outputs, so git holds only what a person
wrote. Edit the source, then run::

    .venv/bin/python notebooks/build.py            # rewrite notebooks/*.ipynb and notebooks/student/*.ipynb
    .venv/bin/python notebooks/build.py --check    # exit 1 if a notebook or a student copy is out of date

Exercises. Inside a cell, the lines between ``### BEGIN SOLUTION`` and ``### END SOLUTION``
are the answer. ``notebooks/NN_name.ipynb`` keeps them (the test suite runs it with the
answers filled in); ``notebooks/student/NN_name.ipynb`` gets a blank instead: in a code cell
``name = ...`` when the answer only assigns values to names, else
``raise NotImplementedError("your answer here")``; in a Markdown cell *Your answer here.*
The committed notebook keeps the markers of a code cell (they are comments) and drops those
of a Markdown cell (they would render as headings).

tests/test_notebooks_clean.py runs the check.
"""
import argparse
import re
import sys
from pathlib import Path

import nbformat

from lstm.exercises.blanks import BEGIN, END, solution_blocks, student_body, teacher_body  # noqa: F401

HERE = Path(__file__).resolve().parent
SOURCES = HERE / "src"
STUDENT = HERE / "student"
METADATA = {
    "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
    "language_info": {"name": "python"},
}
STUDENT_NOTE = ("> **Student copy.** Each cell that says *your answer here* is an exercise: fill it in, "
                "then run the check cell after it, which says in words what is still wrong.")


def cells_of(text):
    """Split a percent-format source into (kind, source) pairs."""
    cells, kind, lines = [], None, []

    def close():
        body = "\n".join(lines).strip("\n")
        if kind is not None and body:
            cells.append((kind, body))

    for line in text.splitlines():
        marker = re.match(r"^# %%( \[markdown\])?\s*$", line)
        if marker:
            close()
            kind, lines = ("markdown" if marker.group(1) else "code"), []
        elif kind == "markdown":
            if line and not line.startswith("#"):
                raise ValueError(f"a Markdown cell line must start with '#': {line!r}")
            lines.append(line[2:] if line.startswith("# ") else line[1:])
        elif kind == "code":
            lines.append(line)
        elif line.strip():
            raise ValueError(f"text before the first '# %%' cell marker: {line!r}")
    close()
    return cells


def notebook_of(source, student=False):
    """The notebook (nbformat v4, no outputs, stable cell ids) built from one source file;
    ``student``: the copy with every solution blanked."""
    nb = nbformat.v4.new_notebook(metadata=METADATA)
    cells = cells_of(source.read_text(encoding="utf-8"))
    exercises = False
    for k, (kind, body) in enumerate(cells):
        text = student_body(body, kind) if student else teacher_body(body, kind)
        exercises |= len(solution_blocks(body)) > 1
        make = nbformat.v4.new_markdown_cell if kind == "markdown" else nbformat.v4.new_code_cell
        nb.cells.append(make(text, id=f"{source.stem[:3]}{k:03d}"))
    if student and exercises and nb.cells and nb.cells[0].cell_type == "markdown":
        nb.cells[0].source += "\n\n" + STUDENT_NOTE
    nbformat.validate(nb)
    return nb


def target_of(source, student=False):
    return (STUDENT if student else HERE) / f"{source.stem}.ipynb"


def render(nb):
    return nbformat.writes(nb) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true",
                        help="only check that every notebook and student copy is up to date")
    args = parser.parse_args(argv)
    stale = []
    for source in sorted(SOURCES.glob("*.py")):
        for student in (False, True):
            text, target = render(notebook_of(source, student)), target_of(source, student)
            if target.exists() and target.read_text(encoding="utf-8") == text:
                continue
            stale.append(str(target.relative_to(HERE)))
            if not args.check:
                target.parent.mkdir(exist_ok=True)
                target.write_text(text, encoding="utf-8")
    verb = "out of date" if args.check else "written"
    print(f"{len(stale)} notebook(s) {verb}" + (": " + ", ".join(stale) if stale else ""))
    return 1 if args.check and stale else 0


if __name__ == "__main__":
    sys.exit(main())
