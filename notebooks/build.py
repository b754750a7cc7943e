"""Build the teaching notebooks from their sources in notebooks/src/.

Each source is a Python file in the "percent" format that Jupytext and VS Code use:
``# %%`` starts a code cell, ``# %% [markdown]`` a Markdown cell whose lines start with
``# ``. The .ipynb files are written with no outputs, so git holds only what a person
wrote. Edit the source, then run::

    .venv/bin/python notebooks/build.py            # rewrite notebooks/*.ipynb
    .venv/bin/python notebooks/build.py --check    # exit 1 if a notebook is out of date

tests/test_notebooks_clean.py runs the check.
"""
import argparse
import re
import sys
from pathlib import Path

import nbformat

HERE = Path(__file__).resolve().parent
SOURCES = HERE / "src"
METADATA = {
    "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
    "language_info": {"name": "python"},
}


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


def notebook_of(source):
    """The notebook (nbformat v4, no outputs, stable cell ids) built from one source file."""
    nb = nbformat.v4.new_notebook(metadata=METADATA)
    for k, (kind, body) in enumerate(cells_of(source.read_text(encoding="utf-8"))):
        make = nbformat.v4.new_markdown_cell if kind == "markdown" else nbformat.v4.new_code_cell
        nb.cells.append(make(body, id=f"{source.stem[:3]}{k:03d}"))
    nbformat.validate(nb)
    return nb


def target_of(source):
    return HERE / f"{source.stem}.ipynb"


def render(nb):
    return nbformat.writes(nb) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only check that every notebook is up to date")
    args = parser.parse_args(argv)
    stale = []
    for source in sorted(SOURCES.glob("*.py")):
        text, target = render(notebook_of(source)), target_of(source)
        if target.exists() and target.read_text(encoding="utf-8") == text:
            continue
        stale.append(target.name)
        if not args.check:
            target.write_text(text, encoding="utf-8")
    verb = "out of date" if args.check else "written"
    print(f"{len(stale)} notebook(s) {verb}" + (": " + ", ".join(stale) if stale else ""))
    return 1 if args.check and stale else 0


if __name__ == "__main__":
    sys.exit(main())
