"""Grade a student's answer to an exercise: each quantity checked in isolation.

Every function of FILE gets the TRUE inputs (from autodiff), and its result is compared
with the TRUE value of what it computes, so one wrong line shows as that one quantity.
Prints a table (quantity, ok or wrong, relative error, what the quantity is), what is
wrong with each wrong one (wrong shape, missing function, an exception with its line)
and the first wrong quantity.

  python -m lstm grade --list                     one exercise per line: name, reference solution
  python -m lstm grade blog_step my_step.py       grade my_step.py (start from exercises/templates/)
  python -m lstm grade blog_step my_step.py --draw wrong.png
                                                  also draw the step, the first wrong quantity's
                                                  node in red (.svg, .png, .pdf or .dot): in the
                                                  cell view when it is a box there (a gate, a
                                                  valve, a state), else in the ops view
  python -m lstm grade blog_step my_step.py --draw wrong.png --view ops
                                                  choose the view: cell or ops

Exit status 0 when every quantity is right, 1 otherwise, 2 when FILE or EXERCISE is not
there or the drawing's path is refused (checked before grading; --force replaces a file).
"""
import sys
from pathlib import Path

from lstm.commands import files

DRAW_FORMATS = ("svg", "png", "pdf", "dot")

HELP = "grade a student's answer to an exercise (each quantity in isolation, against autodiff)"


def add_arguments(parser):
    parser.add_argument("exercise", nargs="?", metavar="EXERCISE", help="the exercise's name (see --list)")
    parser.add_argument("file", nargs="?", metavar="FILE", help="the student's Python file")
    parser.add_argument("--list", action="store_true", help="list the exercises and their reference solutions")
    parser.add_argument("--draw", type=Path, metavar="PICTURE",
                        help="write the graph with the first wrong quantity's node in red (.svg, .png, .pdf, .dot)")
    parser.add_argument("--view", choices=["cell", "ops"],
                        help="--draw's view: cell (each gate network one box) or ops (every op); default: the cell "
                             "view when the wrong quantity is a gate, valve or state box there, else ops")
    files.add_force(parser)


def run(args):
    from lstm import exercises

    if args.list:
        width = max(len(name) for name in exercises.EXERCISES)
        for name, exercise in exercises.EXERCISES.items():
            print(f"{name:<{width}}  {exercise.solution.as_posix()}")
        return 0
    if args.exercise is None or args.file is None:
        return _fail("give an EXERCISE and a FILE (python -m lstm grade EXERCISE FILE), or --list")
    picture = None
    if args.view is not None and args.draw is None:
        return _fail(f"--view {args.view} chooses the view of --draw's picture; add --draw PICTURE")
    exercise = exercises.EXERCISES.get(args.exercise)
    if args.view is not None and exercise is not None and args.view not in exercise.views:
        return _fail(f"{args.exercise} draws the op's own graph; --view is for the exercises on a cell")
    if args.draw is not None:
        fmt = args.draw.suffix.lstrip(".").lower()
        if fmt not in DRAW_FORMATS:
            return _fail(f"--draw {args.draw}: the picture's name must end in one of "
                         f"{', '.join('.' + f for f in DRAW_FORMATS)}")
        picture = files.output(args.draw, force=args.force, inputs={"FILE": args.file})
    try:
        report = exercises.grade(args.exercise, args.file)
    except exercises.GradeError as err:
        return _fail(str(err).removeprefix("grade: "))
    print(report.format_table())
    if picture is not None:
        dot = report.drawing(args.view)
        if fmt == "dot":
            picture.write_text(dot.source)
        else:
            picture.write_bytes(dot.pipe(format=fmt))
        view = f" ({dot.exercise_view} view)" if getattr(dot, "exercise_view", None) else ""
        print(f"wrote {picture}{view}" + (f": {report.first_wrong.quantity.symbol}'s node in red"
                                          if report.first_wrong else ""))
    return 0 if report.ok else 1


def _fail(message):
    print(f"error: {message}", file=sys.stderr)
    return 2
