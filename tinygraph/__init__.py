"""tinygraph: a small reverse-mode autodiff engine on numpy, made to be read and drawn.

>>> import tinygraph as tg
>>> w = tg.parameter([0.5, -1.0], name="w")
>>> x = tg.tensor([2.0, 3.0], name="x")
>>> loss = tg.sigmoid(w @ x)
>>> tg.backward(loss)
>>> w.grad            # σ'(w·x) x
array([0.20998717, 0.31498076])
"""
from .backprop import (BackwardStep, backward, backward_steps, fast_steps, grad, hvp, textbook_steps,
                       topological_order, zero_grad)
from .check import GradReport, check_directions, gradcheck, numerical_gradient
from .errors import AnomalyError, DtypeError, GraphError, ShapeError, TinygraphError
from .forward import jvp
from .modes import anomaly_mode, no_grad
from .node import Node, detach, parameter, tensor
from .ops import (Op, add, apply, broadcast_to, concat, cross_entropy, describe_nodes, div, exp, getitem, log, matmul, mean, mul, neg,
                  power, relu, reshape, sigmoid, stack, sub, sum, tanh, transpose, unbroadcast)
from .scope import layer_of, layer_scope, scope, scope_path, step_of, step_scope
from .tape import compile  # noqa: A004 - tg.compile(fn): trace once, replay (tinygraph/tape.py)
from . import io, optim  # tg.optim.SGD / Adam / clip_grad_norm, tg.io.save_arrays / load_arrays
from .draw import draw  # tg.draw(root, ...) -> graphviz.Digraph; see tinygraph/draw.py

__all__ = [
    "AnomalyError", "BackwardStep", "DtypeError", "GradReport", "GraphError", "Node", "Op", "ShapeError",
    "TinygraphError", "add", "anomaly_mode", "apply", "backward", "broadcast_to", "backward_steps", "check_directions",
    "concat", "cross_entropy", "describe_nodes", "detach", "div", "draw", "exp", "fast_steps", "getitem", "grad", "gradcheck", "hvp", "io", "jvp", "layer_of", "layer_scope", "log", "matmul",
    "mean", "mul", "neg", "no_grad", "numerical_gradient", "optim", "parameter", "power", "relu", "reshape",
    "scope", "scope_path", "sigmoid", "stack", "step_of", "step_scope", "sub", "sum", "tanh", "tensor", "textbook_steps", "topological_order",
    "transpose", "unbroadcast", "zero_grad",
]
