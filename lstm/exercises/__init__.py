"""Exercises for students, and the grader that checks them.

- ``check(name, answer, truth)``: the check cell of a predict-then-check exercise in a notebook;
  ``answered(name, answer)``: the answer for a check cell that computes with it (a blank says
  "not answered yet").
- ``grade(exercise, path)``: grade a student's file (``python -m lstm grade EXERCISE FILE``).
  Every function of the file gets the TRUE inputs from autodiff, so one wrong line is
  reported as that one quantity; ``report.drawing()`` highlights it on the graph.
- ``grade_here(exercise, globals())``: the same for functions written in a notebook.
- ``EXERCISES``: name -> ``Exercise``; its reference solution and its template (the
  functions with blanks) are ``exercises/solutions/NAME.py`` and ``exercises/templates/NAME.py``.
"""
from . import blog_bptt, blog_step, op_vjp, paper_step, rnn_step
from .grader import TOLERANCE, GradeError, Report
from .predict import answered, check

EXERCISES = {exercise.name: exercise for exercise in (blog_step.EXERCISE, rnn_step.EXERCISE, blog_bptt.EXERCISE,
                                                           op_vjp.EXERCISE, paper_step.EXERCISE)}


def grade(exercise, path):
    """Grade the student's file ``path`` for the exercise named ``exercise``: a ``Report``
    (``.ok``, ``.first_wrong``, ``.format_table()``, ``.drawing()``)."""
    from .grader import grade as run

    return run(_exercise(exercise), path)


def grade_here(exercise, namespace):
    """Grade the functions a notebook defined (pass ``globals()``): a ``Report``, whose
    ``.check()`` raises AssertionError with the table unless every quantity is right."""
    from .grader import grade_namespace

    return grade_namespace(_exercise(exercise), namespace)


def _exercise(name):
    if name not in EXERCISES:
        raise GradeError(f"grade: unknown exercise {name!r}; choose one of {', '.join(EXERCISES)}")
    return EXERCISES[name]


__all__ = ["EXERCISES", "answered", "GradeError", "Report", "TOLERANCE", "check", "grade", "grade_here"]
