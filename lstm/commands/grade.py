"""Grade a student's answer to an exercise: each quantity checked in isolation.

Every function of FILE gets the TRUE inputs (from autodiff), and its result is compared
with the TRUE value of what it computes, so one wrong line shows as that one quantity.
Prints a table (quantity, ok or wrong, relative error, what the quantity is), what is
wrong with each wrong one (wrong shape, missing function, an exception with its line)
and the first wrong quantity.

  python -m lstm grade --list                     one exercise per line: name, reference solution
  python -m lstm grade blog_step my_step.py       grade my_step.py (start from exercises/templates/)

Exit status 0 when every quantity is right, 1 otherwise, 2 when FILE or EXERCISE is not
there.
"""
import sys

HELP = "grade a student's answer to an exercise (each quantity in isolation, against autodiff)"


def add_arguments(parser):
    parser.add_argument("exercise", nargs="?", metavar="EXERCISE", help="the exercise's name (see --list)")
    parser.add_argument("file", nargs="?", metavar="FILE", help="the student's Python file")
    parser.add_argument("--list", action="store_true", help="list the exercises and their reference solutions")


def run(args):
    from lstm import exercises

    if args.list:
        width = max(len(name) for name in exercises.EXERCISES)
        for name, exercise in exercises.EXERCISES.items():
            print(f"{name:<{width}}  {exercise.solution.as_posix()}")
        return 0
    if args.exercise is None or args.file is None:
        return _fail("give an EXERCISE and a FILE (python -m lstm grade EXERCISE FILE), or --list")
    try:
        report = exercises.grade(args.exercise, args.file)
    except exercises.GradeError as err:
        return _fail(str(err).removeprefix("grade: "))
    print(report.format_table())
    return 0 if report.ok else 1


def _fail(message):
    print(f"error: {message}", file=sys.stderr)
    return 2
