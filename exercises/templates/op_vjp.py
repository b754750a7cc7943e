r"""Exercise ``op_vjp``: the backward (vector-Jacobian product) of a new tinygraph op.

The op is a valve of the memory pipe in one piece: y = σ(a) × b, the gate's pre-activation
a squashed to (0, 1) and multiplied element-wise by the value b it lets through. a and b
broadcast against each other like numpy arrays (a bias-like (h,) against a batch (r, h)).

Write ``backward(self, g, out, a, b)``: given g = ∂L/∂y (shape of y) and the forward's
arrays, return (∂L/∂a, ∂L/∂b), each with the shape of its own input. The grader checks it
against central finite differences for three shape pairs, then with ``tg.gradcheck`` inside
a graph, then through the backward stepper (``tinygraph.notebook.Stepper``):
``python -m lstm grade op_vjp THIS_FILE`` (exercises/templates/op_vjp.py has the body
blank; exercises/solutions/op_vjp.py the answer).
"""
import numpy as np

import tinygraph as tg


def sigmoid(a):
    """σ(a) = 1 / (1 + e^-a), computed without overflow for large |a|."""
    e = np.exp(-np.abs(a))
    return np.where(a >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


class Valve(tg.Op):
    """y = σ(a) × b, element-wise with broadcasting."""

    __slots__ = ()
    name, symbol = "valve", "σ×"
    operands, output = ("a", "b"), "y"
    rule = r"\bar a = \bar y \odot b \odot \sigma(a)(1 - \sigma(a)),\quad \bar b = \bar y \odot \sigma(a)"

    def forward(self, a, b):
        return sigmoid(a) * b

    def backward(self, g, out, a, b):
        """Each input's gradient, summed back to that input's shape where it was broadcast."""
        raise NotImplementedError("your answer here")


def valve(a, b, name=None):
    """The op in a graph: ``valve(A_f, C)`` is the forget valve F × C."""
    return tg.apply(Valve(), (a, b), name)
