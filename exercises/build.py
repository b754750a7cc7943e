"""Write the students' templates (exercises/templates/NAME.py) from the reference solutions
(exercises/solutions/NAME.py): every answer between ``### BEGIN SOLUTION`` and
``### END SOLUTION`` becomes a blank (``lstm.exercises.blanks``, the same mechanism that
makes the notebooks' student copies).

    .venv/bin/python exercises/build.py            # rewrite the templates
    .venv/bin/python exercises/build.py --check    # exit 1 if a template is out of date

tests/test_exercises.py runs the check.
"""
import argparse
import sys
from pathlib import Path

from lstm.exercises.blanks import template_of

HERE = Path(__file__).resolve().parent


def targets():
    """(solution, template path, template text) for every reference solution."""
    for solution in sorted((HERE / "solutions").glob("*.py")):
        yield solution, HERE / "templates" / solution.name, template_of(solution.read_text(encoding="utf-8"))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only check that every template is up to date")
    args = parser.parse_args(argv)
    stale = []
    for _, path, text in targets():
        if path.exists() and path.read_text(encoding="utf-8") == text:
            continue
        stale.append(path.name)
        if not args.check:
            path.parent.mkdir(exist_ok=True)
            path.write_text(text, encoding="utf-8")
    print(f"{len(stale)} template(s) {'out of date' if args.check else 'written'}"
          + (": " + ", ".join(stale) if stale else ""))
    return 1 if args.check and stale else 0


if __name__ == "__main__":
    sys.exit(main())
