"""Reverse mode: the topological order, and backward as a generator of steps.

``backward_steps(root)`` yields one ``BackwardStep`` per node, from the root back to
the parameters, so a notebook can pause after each node. ``backward(root)`` is that
generator run to the end: there is one code path.

Gradients accumulate, as in PyTorch: a node used twice receives the sum of both
contributions, and calling ``backward`` twice adds the second gradient to the first.
Call ``zero_grad`` between training steps.
"""
from collections import deque
from dataclasses import dataclass

import numpy as np

from .errors import AnomalyError, GraphError, ShapeError
from .modes import modes
from .node import Node, as_float_array, freeze
from .ops import describe_nodes


@dataclass(frozen=True, slots=True)
class BackwardStep:
    """One node's turn in backward.

    ``grad`` is ∂L/∂node (complete: every consumer has already sent its part);
    ``input_grads[i]`` is what the node's op sends to ``node.inputs[i]`` (None for an
    input that needs no gradient, and ``()`` for a leaf).
    """

    index: int
    node: Node
    grad: np.ndarray
    input_grads: tuple


def topological_order(roots, needs_grad_only=True):
    """Nodes reachable from ``roots``, every node after all of its inputs.

    Iterative depth-first search: a chain of 100,000 ops needs no recursion.
    With ``needs_grad_only`` only nodes that require a gradient are followed.
    """
    if isinstance(roots, Node):
        roots = [roots]
    order, seen = [], set()
    stack = [(root, False) for root in reversed(list(roots))]
    while stack:
        node, inputs_done = stack.pop()
        if inputs_done:
            order.append(node)
            continue
        if node in seen:
            continue
        seen.add(node)
        stack.append((node, True))
        for parent in reversed(node.inputs):
            if parent not in seen and (parent.requires_grad or not needs_grad_only):
                stack.append((parent, False))
    return order


def _seed(root, grad):
    if not isinstance(root, Node):
        raise TypeError(f"backward: expects a Node, got {type(root).__name__}")
    if not root.requires_grad:
        raise GraphError(
            f"backward: {root.label()!r} does not depend on any parameter (requires_grad is False); "
            f"make the leaves you want gradients for with tg.parameter(...)"
        )
    if grad is None:
        if root.size != 1:
            raise GraphError(
                f"backward: {root.label()!r} has shape {root.shape}; backward from a non-scalar needs "
                f"an explicit seed gradient of that shape, e.g. backward(y, grad=np.ones({root.shape}))"
            )
        return np.ones_like(root.value)
    seed = np.array(as_float_array(grad, what="seed gradient"), dtype=root.dtype)
    if seed.shape != root.shape:
        raise ShapeError(f"backward: seed gradient has shape {seed.shape} but {root.label()!r} has shape {root.shape}")
    return seed


def _check_finite(node, parent, g):
    if not np.isfinite(g).all():
        raise AnomalyError(
            f"anomaly: backward of {node.op.describe()} (output {node.label()!r}) sent a NaN/Inf gradient "
            f"to {parent.label()!r} {parent.shape}; its inputs are {describe_nodes(node.inputs)}"
        )


def backward_steps(root, grad=None, retain_grads=True, accumulate=True):
    """Run backward from ``root`` one node at a time, yielding a ``BackwardStep`` each.

    ``grad`` seeds ∂L/∂root (needed when root is not a scalar). With ``accumulate``
    each node's gradient is added to ``node.grad`` when its step is yielded; with
    ``retain_grads=False`` only leaves keep theirs (less memory during training).
    """
    seed = _seed(root, grad)
    pending = {root: seed}
    anomaly = modes.anomaly
    for index, node in enumerate(reversed(topological_order(root))):
        g = pending.pop(node, None)
        if g is None:
            continue
        op = node.op
        if op is None:
            input_grads = ()
        else:
            raw = op.backward(g, node.value, *[parent.value for parent in node.inputs])
            input_grads = tuple(gi if parent.requires_grad else None for parent, gi in zip(node.inputs, raw))
            for parent, gi in zip(node.inputs, input_grads):
                if gi is None:
                    continue
                if type(gi) is not np.ndarray:      # numpy turns 0-d results into scalars
                    gi = np.asarray(gi)
                if anomaly:
                    _check_finite(node, parent, gi)
                previous = pending.get(parent)
                pending[parent] = gi if previous is None else previous + gi
        if accumulate and (op is None or retain_grads):
            node.grad = freeze(g) if node.grad is None else freeze(node.grad + g)
        yield BackwardStep(index, node, g, input_grads)


def backward(root, grad=None, retain_grads=True):
    """Compute ∂root/∂node for every node that requires a gradient, adding it to ``node.grad``.

    >>> x = tg.parameter(3.0); y = x * x; backward(y); x.grad
    array(6.)
    """
    deque(backward_steps(root, grad, retain_grads), maxlen=0)


def grad(root, wrt, grad=None):
    """The gradients of ``root`` with respect to the nodes ``wrt`` (leaves or intermediates),
    returned as a list of arrays, without touching any ``.grad``. A node that ``root``
    does not depend on gets zeros."""
    single = isinstance(wrt, Node)
    targets = [wrt] if single else list(wrt)
    found = {}
    wanted = set(targets)
    for step in backward_steps(root, grad, accumulate=False):
        if step.node in wanted:
            found[step.node] = step.grad
    result = [np.asarray(found[n]) if n in found else np.zeros_like(n.value) for n in targets]
    return result[0] if single else result


def zero_grad(nodes):
    """Clear ``.grad``: of every node in the graph of a root Node, or of each node in a list."""
    if isinstance(nodes, Node):
        nodes = topological_order(nodes, needs_grad_only=False)
    for node in nodes:
        node.grad = None
