"""Exercise ``op_vjp``: the student writes ``backward`` for a new op, the valve y = σ(a) × b.

Three checks, each a row of the report, for three shape pairs (the same shapes, b
broadcast over rows, a broadcast over rows):

- the op's ``backward`` on its own, given g, against central finite differences of the
  op's definition σ(a) × b built from tinygraph's own ops (not the student's ``forward``);
- ``tg.gradcheck`` of the op inside a graph (the engine calls the student's backward);
- the backward stepper: what ``Stepper`` records the op sending to a and b, against finite
  differences of the graph's loss, and that the step can be shown (``str``).
"""
from functools import wraps

import numpy as np

import tinygraph as tg
from tinygraph.notebook import Stepper

from .drawing import caption
from .exercise import Exercise
from .grader import Case, Function, Quantity

EPS = 1e-6
TOLERANCE = 1e-6
"""Finite differences in float64 agree to about 1e-9 here; 1e-6 still catches every wrong formula."""
SHAPES = (((3, 4), (3, 4), "the same shapes"), ((3, 4), (4,), "b broadcast over rows"),
          ((4,), (3, 4), "a broadcast over rows"))
A_BAR = Quantity("a_bar", "ā", "∂L/∂a returned by backward (shape of a)", "a")
B_BAR = Quantity("b_bar", "b̄", "∂L/∂b returned by backward (shape of b)", "b")
GRADCHECK = Quantity("gradcheck", "gradcheck", "tg.gradcheck of the op in a graph: largest relative error",
                     "valve")
STEPPER = Quantity("stepper", "stepper", "what the stepper records the op sending, against finite differences",
                   "valve")


def _defined(a, b):
    """The op's definition from tinygraph's own ops: what finite differences differentiate."""
    return tg.sigmoid(a) * b


def _loss(y):
    return tg.sum(tg.tanh(y))                   # a non-linear loss, so g is not all ones


def adapt(module):
    """The functions the grader calls, each running the student's ``Valve``."""
    Valve = getattr(module, "Valve", None)
    if Valve is None:
        return object()

    @wraps(Valve.backward)
    def backward(g, out, a, b):
        return Valve().backward(g, out, a, b)

    @wraps(Valve.backward)
    def gradcheck(a, b):
        report = tg.gradcheck(lambda a, b: _loss(tg.apply(Valve(), (a, b))), [a, b], names=["a", "b"])
        return max(row.max_rel_error for row in report.rows)

    @wraps(Valve.backward)
    def stepper(a, b):
        A, B = tg.parameter(a, name="a"), tg.parameter(b, name="b")
        y = tg.apply(Valve(), (A, B), "y")
        steps = Stepper(_loss(y))
        view = steps[steps.index_of(y)]
        str(view)                               # the step can be shown
        sent = dict(view.details.outgoing)
        truth = tg.numerical_gradient(lambda a, b: _loss(_defined(a, b)), [a, b], eps=EPS)
        return max(float(np.max(np.abs(sent[n] - t)) / np.max(np.abs(t))) for n, t in zip((A, B), truth))

    return type("Adapted", (), {"backward": staticmethod(backward), "gradcheck": staticmethod(gradcheck),
                                "stepper": staticmethod(stepper)})()


def _unpack(result):
    if not isinstance(result, (tuple, list)) or len(result) != 2:
        return None, f"must return a tuple (∂L/∂a, ∂L/∂b), got {type(result).__name__}" + (
            f" of length {len(result)}" if isinstance(result, (tuple, list)) else "")
    return {"a_bar": result[0], "b_bar": result[1]}, ""


FUNCTIONS = (Function("backward", ("g", "out", "a", "b"), (A_BAR, B_BAR), _unpack,
                      "Valve.backward(g, out, a, b)"),
             Function("gradcheck", ("a", "b"), (GRADCHECK,), label="Valve.backward (called by tg.gradcheck)"),
             Function("stepper", ("a", "b"), (STEPPER,), label="Valve.backward (called by the stepper)"))


def cases(seed=0):
    rng = np.random.default_rng(seed)
    out = []
    for a_shape, b_shape, words in SHAPES:
        a, b = rng.standard_normal(a_shape), rng.standard_normal(b_shape)
        y = _defined(tg.tensor(a), tg.tensor(b)).value
        g = rng.standard_normal(y.shape)
        a_bar, b_bar = tg.numerical_gradient(_defined, [a, b], eps=EPS, projection=g)
        out.append(Case({"g": g, "out": y, "a": a, "b": b},
                        {"a_bar": a_bar, "b_bar": b_bar, "gradcheck": 0.0, "stepper": 0.0},
                        f"a {a_shape}, b {b_shape} ({words})"))
    return out


def draw(quantity=None, view=None):
    """The valve in a small graph, L = Σ tanh(σ(a) × b), the valve's product in red when wrong
    (one view: the op's own graph)."""
    if view is not None:
        raise ValueError(f"op_vjp draws the op's own graph; there is no {view} view")
    a, b = tg.parameter(np.zeros((3, 4)), name="a"), tg.parameter(np.ones(4), name="b")
    y = tg.mul(tg.sigmoid(a, name="σ(a)"), b, name="y = σ(a) × b")
    return caption(tg.draw(_loss(y), highlight=y if quantity is not None else None), quantity)


EXERCISE = Exercise("op_vjp", "The backward of a new op: the valve y = σ(a) × b", FUNCTIONS, cases,
                    "three shape pairs: the same shapes, b broadcast over rows, a broadcast over rows "
                    "(finite differences)", draw, adapt=adapt, tolerance=TOLERANCE, views=())
