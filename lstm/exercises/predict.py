"""The check cell of a predict-then-check exercise: the student's answer against the number
the notebook measured, with a message that says in words what is wrong.

>>> check("ā", 4.0, 4.0)
ok: ā = 4.0
>>> check("zero at t = 1", {"F"}, {"F", "W_fh"})
Traceback (most recent call last):
...
AssertionError: zero at t = 1: missing 'W_fh' (you have 'F'; the answer is 'F', 'W_fh')

A check cell that computes with the answer first passes it through ``answered``, so a blank
says so instead of failing with a TypeError on ``...``:

>>> abs(answered("decay", ...) - 0.95) < 0.04
Traceback (most recent call last):
...
AssertionError: decay: not answered yet: replace the ... with your answer
"""
import functools

import numpy as np

NOT_ANSWERED = "not answered yet"
BLANK_LEFT = f"{NOT_ANSWERED}: replace the ... with your answer"


def answered(name, answer):
    """The student's ``answer`` to exercise ``name``, for a check cell to compute with. Raises
    AssertionError "name: not answered yet: ..." while it is still the student copy's blank:
    ``...``; a function is returned wrapped, so calling it while its body is still the blank
    (``raise NotImplementedError("your answer here")``) says the same."""
    if answer is Ellipsis:
        raise AssertionError(f"{name}: {BLANK_LEFT}")
    if not callable(answer):
        return answer

    @functools.wraps(answer)
    def called(*args, **kwargs):
        try:
            return answer(*args, **kwargs)
        except NotImplementedError as error:
            if "your answer here" not in str(error):
                raise
            raise AssertionError(f"{name}: {NOT_ANSWERED}: write the body of {answer.__name__}") from None
    return called


def _listed(items):
    return ", ".join(repr(item) for item in sorted(items, key=str)) or "nothing"


def _problem(answer, truth, rtol, atol):
    """What is wrong with ``answer``, in words (None when it is right)."""
    if answer is Ellipsis:
        return BLANK_LEFT
    if isinstance(truth, (set, frozenset)):
        answer = set(answer) if isinstance(answer, (set, frozenset, list, tuple)) else answer
        if not isinstance(answer, set):
            return f"give a set, written {{item, item, ...}}, not {answer!r}"     # no item of the answer
        missing, extra = truth - answer, answer - truth
        parts = ([f"missing {_listed(missing)}"] if missing else []) + ([f"{_listed(extra)} should not be there"]
                                                                         if extra else [])
        return f"{' and '.join(parts)} (you have {_listed(answer)}; the answer is {_listed(truth)})" if parts else None
    if isinstance(truth, (str, bool)) or truth is None:
        same = (answer.strip().lower() == truth.lower()) if isinstance(answer, str) and isinstance(truth, str) \
            else answer is truth
        return None if same else f"you answered {answer!r}, the answer is {truth!r}"
    try:
        answer_array = np.asarray(answer, dtype=float)
    except (TypeError, ValueError):
        return f"give a number or an array, not {answer!r}"
    truth_array = np.asarray(truth, dtype=float)
    if answer_array.shape != truth_array.shape:
        return f"your answer has shape {answer_array.shape}, the answer has shape {truth_array.shape}"
    if np.allclose(answer_array, truth_array, rtol=rtol, atol=atol):
        return None
    return f"you answered {np.round(answer_array, 6).tolist()}, the measured value is {np.round(truth_array, 6).tolist()}"


def check(name, answer, truth, rtol=1e-6, atol=1e-12, hint=""):
    """Assert that ``answer`` equals ``truth``: numbers and arrays to ``rtol``/``atol``, sets
    exactly (naming what is missing and what should not be there), strings ignoring case and
    surrounding spaces. Prints ``ok: name = answer`` when it does (and returns nothing, so a
    notebook cell ending with it shows only that line); else raises AssertionError naming
    ``name``, what is wrong and ``hint``."""
    problem = _problem(answer, truth, rtol, atol)
    if problem is not None:
        raise AssertionError(f"{name}: {problem}" + (f". Hint: {hint}" if hint else ""))
    shown = _listed(answer) if isinstance(answer, (set, frozenset)) else answer
    print(f"ok: {name} = {shown}")
