"""Exercises for students, and the grader that checks them.

- ``check(name, answer, truth)``: the check cell of a predict-then-check exercise in a notebook.
- ``grade(exercise, path)``: grade a student's file (``python -m lstm grade EXERCISE FILE``).
  Every function of the file gets the TRUE inputs from autodiff, so one wrong line is
  reported as that one quantity; ``report.drawing()`` highlights it on the graph.
- ``EXERCISES``: name -> ``Exercise``; its reference solution and its template (the
  functions with blanks) are ``exercises/solutions/NAME.py`` and ``exercises/templates/NAME.py``.
"""
from . import blog_bptt, blog_step, rnn_step
from .grader import TOLERANCE, GradeError, Report
from .predict import check

EXERCISES = {exercise.name: exercise for exercise in (blog_step.EXERCISE, rnn_step.EXERCISE, blog_bptt.EXERCISE)}


def grade(exercise, path):
    """Grade the student's file ``path`` for the exercise named ``exercise``: a ``Report``
    (``.ok``, ``.first_wrong``, ``.format_table()``, ``.drawing()``)."""
    from .grader import grade as run

    if exercise not in EXERCISES:
        raise GradeError(f"grade: unknown exercise {exercise!r}; choose one of {', '.join(EXERCISES)}")
    return run(EXERCISES[exercise], path)


__all__ = ["EXERCISES", "GradeError", "Report", "TOLERANCE", "check", "grade"]
