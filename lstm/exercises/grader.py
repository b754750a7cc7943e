"""Grade a student's file: call each of its functions on the TRUE inputs (from autodiff)
and compare what it returns with the TRUE value of the quantity it computes.

Every function gets the true upstream gradients, never the student's own earlier results,
so one wrong line is reported as that one quantity, not as everything computed after it
(the way ``lstm check`` holds the paper's equations one at a time). An exercise is a list
of ``Function``s, each computing one ``Quantity`` (or several, returned as a dict), and a
list of cases: for each case, the keyword arguments of every function and the true value
of every quantity.
"""
import importlib.util
import signal
import sys
import textwrap
import threading
import traceback
import unicodedata
import warnings
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

TOLERANCE = 1e-8
"""Largest relative error (float64) at which a quantity counts as right."""

TIME_LIMIT = 10.0
"""Seconds a student's function may take on one case before the grader stops it (a loop
that never ends); the exercises' reference solutions take milliseconds."""


class GradeError(Exception):
    """The grader cannot run at all (no such exercise, no such file): one line, exit 2."""


@dataclass(frozen=True)
class Quantity:
    """One graded quantity: ``key`` (how the function or the dict it returns names it),
    ``symbol`` in the text's notation, ``meaning`` in words, ``node``: what to highlight
    in the drawing (the exercise's ``node_of`` reads it)."""

    key: str
    symbol: str
    meaning: str
    node: str = ""


@dataclass(frozen=True)
class Function:
    """A function the student writes: its name, its arguments, and what it returns: one
    quantity, or several as a dict keyed by ``Quantity.key``."""

    name: str
    args: tuple
    returns: tuple
    unpack: object = None     # result -> (dict key -> value, problem or ""), when not one dict entry per key
    label: str = ""           # how messages name it, when the student's function is called through another
    sources: tuple = ()       # the case inputs its arguments are read from, when named otherwise than ``args``

    def signature(self):
        return self.label or f"{self.name}({', '.join(self.args)})"

    def called(self):
        """How a message names a call of it: ``F_bar()``, or its label."""
        return self.label or f"{self.name}()"


@dataclass
class Row:
    """One line of the report: ``status`` is "ok", "wrong", "shape", "error", "missing",
    "todo" or "slow"; ``error`` the largest relative error over every case (None if not computed)."""

    quantity: Quantity
    status: str = "ok"
    error: float = 0.0
    message: str = ""
    where: str = ""

    tolerance: float = TOLERANCE

    def explain(self):
        """What is wrong, in words."""
        if self.message:
            return self.message
        return f"largest relative error {self.error:.1e} (tolerance {self.tolerance:.0e}); first wrong at {self.where}"

    @property
    def ok(self):
        return self.status == "ok"


STATUS_WORDS = {"ok": "ok", "wrong": "wrong", "shape": "wrong shape", "error": "raised", "missing": "missing",
                "todo": "not written", "not run": "not run", "slow": "too slow"}


@dataclass
class Report:
    """What the grader found: a row per quantity in the exercise's order; ``problem``: why
    the file could not be graded at all (it does not load), else ""."""

    exercise: object
    path: Path
    rows: list
    problem: str = ""

    @property
    def ok(self):
        return not self.problem and all(row.ok for row in self.rows)

    @property
    def first_wrong(self):
        """The first row that is not right, in the exercise's order (None when all are)."""
        return next((row for row in self.rows if not row.ok), None)

    def row(self, key):
        return next(row for row in self.rows if row.quantity.key == key)

    def format_table(self):
        """The report as text: the table, what is wrong with each wrong row, the verdict."""
        lines = [f"{self.exercise.title}: {self.path or 'the functions of this notebook'}"]
        if self.problem:
            return "\n".join(lines + [self.problem, "FAILED: the file could not be graded."])
        lines += textwrap.wrap(f"Each function gets the true inputs; its result is compared with "
                               f"the true value: relative error = max|yours − truth| / max|truth| over "
                               f"{self.exercise.cases_text}.", width=100)
        width = max([12] + [_width(row.quantity.symbol) + 2 for row in self.rows])
        lines += ["", f"{'quantity':<{width}}{'result':<13}{'rel. error':>10}  what it is",
                  f"{'-' * (width - 1)} {'-' * 12} {'-' * 10}  {'-' * 40}"]
        for row in self.rows:
            error = "—" if row.error is None else f"{row.error:.1e}"
            lines.append(f"{_pad(row.quantity.symbol, width)}{STATUS_WORDS[row.status]:<13}{error:>10}  "
                         f"{row.quantity.meaning}")
        wrong = [row for row in self.rows if not row.ok]
        explained = {}                              # one line per distinct problem
        for row in wrong:
            explained.setdefault(row.explain(), []).append(row.quantity.symbol)
        if wrong:
            lines.append("")
        for text, symbols in explained.items():
            lines += textwrap.wrap(f"{', '.join(symbols)}: {text}", width=100, subsequent_indent="    ",
                                   break_long_words=False, break_on_hyphens=False)
        if not wrong:
            lines += ["", f"OK: all {len(self.rows)} quantities are right (tolerance {self.exercise.tolerance:.0e})."]
        else:
            first = wrong[0]
            lines += ["", f"FAILED: {len(wrong)} of {len(self.rows)} wrong. The first wrong quantity is "
                          f"{first.quantity.symbol} ({first.quantity.meaning})."]
        return "\n".join(lines)

    def __str__(self):
        return self.format_table()

    def check(self):
        """Raise AssertionError with the table unless every quantity is right (a notebook's
        check cell: the notebook stops at the first wrong answer)."""
        if not self.ok:
            raise AssertionError("\n" + self.format_table())
        print(self.format_table())

    def _repr_pretty_(self, printer, cycle):      # IPython shows the table, not a dataclass
        printer.text(self.format_table())

    def drawing(self, view=None):
        """The exercise's graph with the first wrong quantity's node highlighted (red), as a
        graphviz.Digraph (shows inline in Jupyter); the plain graph when all are right.
        ``view``: "cell" or "ops" (None: the cell view when the quantity is a box of its own
        there, a gate, a valve or a state; else the ops view, which draws every op)."""
        first = self.first_wrong
        return self.exercise.draw(first.quantity if first else None, view)


def _width(text):
    """Columns ``text`` takes on a terminal (C̄ is one column, two characters)."""
    return sum(not unicodedata.combining(c) for c in text)


def _pad(text, width):
    return text + " " * max(width - _width(text), 1)


def load(path, exercise):
    """The student's module from ``path``, or a one-line reason it cannot be loaded
    (a syntax error or an exception while importing it: the file's line)."""
    path = Path(path)
    if not path.is_file():
        raise GradeError(f"grade: {path} is not a file")
    if path.suffix != ".py":
        raise GradeError(f"grade: {path} is not a Python file (.py)")
    name = f"_student_{exercise.name}_{abs(hash(str(path.resolve())))}"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except SyntaxError as err:
        return None, f"{path}, line {err.lineno}: {err.msg} (a syntax error: the file could not be loaded)"
    except Exception as err:                        # the student's module-level code raised
        return None, f"loading {path} raised {_where(err, path)}"
    finally:
        sys.modules.pop(name, None)
    return module, ""


def _frames(err, path):
    """The traceback's frames in the student's file ``path``."""
    return [f for f in traceback.extract_tb(err.__traceback__) if Path(f.filename).resolve() == path.resolve()]


def _where(err, path):
    """``ValueError: message (file, line N: code)`` for the innermost frame in the student's file."""
    frames = _frames(err, path)
    text = f"{type(err).__name__}: {err}"
    if frames:
        f = frames[-1]
        text += f" ({path.name}, line {f.lineno}: {(f.line or '').strip()})"
    return text


def call(module, function, kwargs, path):
    """Call the student's ``function`` on copies of ``kwargs`` (so it cannot change the
    true values); returns (result, None) or (None, (status, message))."""
    f = getattr(module, function.name, None)
    if f is None or not callable(f):
        return None, ("missing", f"{path.name or 'the notebook'} has no function {function.signature()}")
    copies = {k: _copy(v) for k, v in kwargs.items()}
    try:
        with _time_limit(TIME_LIMIT), warnings.catch_warnings(), np.errstate(all="raise"):
            warnings.simplefilter("error")
            return f(**copies), None
    except _TooSlow:
        return None, ("slow", f"{function.called()} did not return within {TIME_LIMIT:g} s; it was stopped "
                              f"(a loop that never ends?)")
    except NotImplementedError:
        return None, ("todo", f"{function.signature()} is not written yet (it raises NotImplementedError)")
    except Exception as err:
        code = getattr(getattr(f, "__wrapped__", f), "__code__", None)
        path = Path(code.co_filename) if code is not None else path             # a notebook cell's too
        if not _frames(err, path) and isinstance(err, TypeError):
            return None, ("error", f"could not be called as {function.signature()}: {err}")
        return None, ("error", f"{function.called()} raised {_where(err, path)}")


class _TooSlow(BaseException):
    """Raised into a student's function at the time limit (a BaseException, so that an
    ``except Exception`` in the student's code does not swallow it)."""


@contextmanager
def _time_limit(seconds):
    """Stop the code inside after ``seconds`` (with SIGALRM: only in the main thread of a
    Unix process, which is where the command line and a notebook kernel run; elsewhere no limit)."""
    if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "setitimer"):
        yield
        return

    def stop(signum, frame):
        raise _TooSlow

    previous = signal.signal(signal.SIGALRM, stop)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _copy(value):
    if isinstance(value, np.ndarray):
        return value.copy()
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy(v) for v in value]
    return value


def relative_error(value, truth):
    """max|value − truth| / max|truth| (the absolute error when the truth is all zero)."""
    error = float(np.max(np.abs(value - truth))) if truth.size else 0.0
    scale = float(np.max(np.abs(truth))) if truth.size else 0.0
    return error / scale if scale > 0 else error


def compare(value, truth, function, tolerance=TOLERANCE):
    """(status, relative error, message) of one returned value against the truth."""
    truth = np.asarray(truth, dtype=np.float64)
    if value is None:
        return "wrong", None, f"{function.called()} returned None: return an array of shape {truth.shape}"
    try:
        value = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        return "wrong", None, f"{function.called()} returned {type(value).__name__}, not an array of numbers"
    if value.shape != truth.shape:
        return "shape", None, f"{function.called()} returned shape {value.shape}, expected {truth.shape}"
    if not np.all(np.isfinite(value)):
        return "wrong", None, f"{function.called()} returned NaN or Inf"
    error = relative_error(value, truth)
    return ("ok" if error <= tolerance else "wrong"), error, ""


def _record(row, status, error, message, where):
    """Fold one case's result into the row: the worst error; the first problem's message."""
    if error is not None and (row.error is not None):
        row.error = max(row.error, error)
    elif status != "ok":
        row.error = None
    if status != "ok" and row.ok:
        if message and status in ("shape", "wrong") and where:
            message = f"{message} (at {where})"
        row.status, row.message, row.where = status, message, where


def grade_module(exercise, module, path):
    """Run every function of ``exercise`` on every case; returns a ``Report``."""
    rows = {q.key: Row(q, tolerance=exercise.tolerance) for f in exercise.functions for q in f.returns}
    if exercise.adapt is not None:
        module = exercise.adapt(module)
    for case in exercise.cases():
        for function in exercise.functions:
            sources = function.sources or function.args
            if not all(source in case.inputs for source in sources):
                continue                            # this case is not about this function
            kwargs = {arg: case.inputs[source] for arg, source in zip(function.args, sources)}
            result, problem = call(module, function, kwargs, path)
            for q in function.returns:
                row = rows[q.key]
                if problem is not None:
                    _record(row, problem[0], None, problem[1], case.where)
                    continue
                value = result
                if function.unpack is not None:
                    unpacked, why = function.unpack(result)
                    if why:
                        _record(row, "wrong", None, f"{function.called()} {why}", case.where)
                        continue
                    value = unpacked[q.key]
                elif len(function.returns) > 1:
                    if not isinstance(result, dict) or q.key not in result:
                        got = sorted(result) if isinstance(result, dict) else type(result).__name__
                        _record(row, "wrong", None, f"{function.called()} must return a dict with key {q.key!r} "
                                                    f"(got {got})", case.where)
                        continue
                    value = result[q.key]
                _record(row, *compare(value, case.truths[q.key], function, exercise.tolerance), case.where)
    return Report(exercise, Path(path), list(rows.values()))


def grade_namespace(exercise, namespace):
    """Grade functions defined in a notebook: ``namespace`` is a dict such as ``globals()``."""
    module = type("Functions", (), {})()
    for function in exercise.functions:
        if function.name in namespace:
            setattr(module, function.name, namespace[function.name])
    report = grade_module(exercise, module, Path(""))
    report.path = ""
    return report


def grade(exercise, path):
    """Grade the student's file ``path`` for ``exercise``: a ``Report``."""
    module, problem = load(path, exercise)
    if module is None:
        rows = [Row(q, "not run", None, "") for f in exercise.functions for q in f.returns]
        return Report(exercise, Path(path), rows, problem)
    return grade_module(exercise, module, Path(path))


@dataclass
class Case:
    """One graded situation (e.g. one time step of one random run): the keyword arguments
    every function may ask for, the true value of every quantity, and where it is."""

    inputs: dict
    truths: dict
    where: str = ""
