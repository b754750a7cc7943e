"""Reverse mode: the topological order, and backward as a generator of steps.

``backward_steps(root)`` yields one ``BackwardStep`` per node, from the root back to
the parameters, so a notebook can pause after each node. ``backward(root)`` is that
generator run to the end: there is one code path.

Gradients accumulate, as in PyTorch: a node used twice receives the sum of both
contributions, and calling ``backward`` twice adds the second gradient to the first.
Call ``zero_grad`` between training steps.
"""
import gc
from collections import deque
from contextlib import contextmanager
from typing import NamedTuple

import numpy as np

from .errors import AnomalyError, GraphError, ShapeError
from .modes import modes
from .node import Node, as_float_array
from .ops import describe_nodes


class BackwardStep(NamedTuple):
    """One node's turn in backward.

    ``index`` counts the steps from 0; ``grad`` is ∂L/∂node (complete: every consumer
    has already sent its part); ``input_grads[i]`` is what the node's op sends to
    ``node.inputs[i]`` (None for an input that needs no gradient, and ``()`` for a leaf).
    """

    index: int
    node: Node
    grad: np.ndarray
    input_grads: tuple


new_step = tuple.__new__      # BackwardStep(...) without the keyword handling: one per node


def topological_order(roots, needs_grad_only=True):
    """Nodes reachable from ``roots``, every node after all of its inputs.

    Iterative depth-first search: a chain of 100,000 ops needs no recursion.
    With ``needs_grad_only`` only nodes that require a gradient are followed.
    """
    if isinstance(roots, Node):
        roots = (roots,)
    order, seen = [], set()
    for root in roots:
        if root in seen:
            continue
        seen.add(root)
        stack = [(root, iter(root.inputs))]
        while stack:
            node, parents = stack[-1]
            for parent in parents:
                if parent not in seen and (parent.requires_grad or not needs_grad_only):
                    seen.add(parent)
                    stack.append((parent, iter(parent.inputs)))
                    break
            else:
                stack.pop()
                order.append(node)
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


def _fit(node, parent, g):
    """A gradient of the wrong shape is a bug in the op; of another float dtype (a float32
    node used in a float64 op), it is cast to the node's dtype."""
    if g.shape != parent.value.shape:
        raise GraphError(
            f"backward of {node.op.describe()} (output {node.label()!r}) sent a gradient of shape {g.shape} "
            f"to {parent.label()!r} of shape {parent.shape}; an op's backward must return one gradient "
            f"per input, shaped like that input"
        )
    if g.dtype != parent.value.dtype:
        g = g.astype(parent.value.dtype)
    return g


def _check_finite(node, parent, g):
    if not np.isfinite(g).all():
        raise AnomalyError(
            f"anomaly: backward of {node.op.describe()} (output {node.describe()}) sent a NaN/Inf gradient "
            f"to {parent.label()!r} {parent.shape}; its inputs are {describe_nodes(node.inputs)}"
        )


def _wrong_count(node, raw):
    return GraphError(f"backward of {node.op.describe()} (output {node.label()!r}) returned "
                      f"{'None' if raw is None else len(raw)} gradients for {len(node.inputs)} inputs")


def _check_unchanged(node):
    """Refuse to backpropagate through ``node`` when one of its inputs was given a new
    value (``assign``) after ``node`` was computed from the old one."""
    for parent in node.inputs:
        if parent.stamp > node.stamp:
            raise GraphError(
                f"backward: {parent.label()!r} {parent.shape} was given a new value (assign) after "
                f"{node.describe()} was computed from it by {node.op.describe()}; its gradient would mix "
                f"the new value with a result of the old one. Build the graph again after assigning")


def _missing(node, parent):
    return GraphError(f"backward of {node.op.describe()} (output {node.label()!r}) returned no "
                      f"gradient for input {parent.label()!r}, which needs one")


def backward_steps(root, grad=None, retain_grads=True, accumulate=True):
    """Run backward from ``root`` one node at a time, yielding a ``BackwardStep`` each.

    Every node that takes a gradient (parameters and what is computed from them) gets
    exactly one step, after all the nodes that consume it; tensors and constants get
    none. ``grad`` seeds ∂L/∂root (needed when root is not a scalar). With ``accumulate``
    each node's gradient is added to ``node.grad`` when its step is yielded; with
    ``retain_grads=False`` only leaves keep theirs (less memory during training).
    Gradients (``step.grad``, ``step.input_grads``, ``node.grad``) are read-only arrays,
    like values.
    """
    seed = _seed(root, grad)
    order = topological_order(root)
    pending = {root: seed}
    owned = set()           # ids of pending sums made here: no one else sees them, add in place
    anomaly = modes.anomaly
    assigned = modes.assignments
    index = 0
    for node in reversed(order):
        g = pending.pop(node, None)
        if g is None:
            continue
        if owned:
            owned.discard(id(g))
        op = node.op
        if op is None:
            input_grads = ()
        else:
            if node.stamp < assigned:       # something was assigned since node was built
                _check_unchanged(node)
            inputs = node.inputs
            if anomaly:
                with np.errstate(all="ignore"):
                    raw = op.backward(g, node.value, *[parent.value for parent in inputs])
            elif len(inputs) == 1:
                raw = op.backward(g, node.value, inputs[0].value)
            elif len(inputs) == 2:
                raw = op.backward(g, node.value, inputs[0].value, inputs[1].value)
            else:
                raw = op.backward(g, node.value, *[parent.value for parent in inputs])
            if raw is None or len(raw) != len(inputs):
                raise _wrong_count(node, raw)
            sent = []                   # what this node sends to each input, as the step shows it
            for parent, gi in zip(inputs, raw):
                if not parent.requires_grad:
                    sent.append(None)
                    continue
                if gi is None:
                    raise _missing(node, parent)
                if type(gi) is not np.ndarray:      # numpy turns 0-d results into scalars
                    gi = np.asarray(gi)
                value = parent.value
                if gi.dtype is not value.dtype or gi.shape != value.shape:
                    gi = _fit(node, parent, gi)
                if anomaly:
                    _check_finite(node, parent, gi)
                gi.setflags(write=False)
                sent.append(gi)
                previous = pending.get(parent)
                if previous is None:
                    pending[parent] = gi
                elif id(previous) in owned:
                    previous += gi
                else:
                    total = previous + gi
                    if type(total) is not np.ndarray:   # a sum of 0-d arrays is a numpy scalar
                        total = np.asarray(total)
                    owned.add(id(total))
                    pending[parent] = total
            input_grads = tuple(sent)
        g.setflags(write=False)
        if accumulate and (op is None or retain_grads):
            if node.grad is None:
                node.grad = g
            else:
                total = np.asarray(node.grad + g)
                total.setflags(write=False)
                node.grad = total
        yield new_step(BackwardStep, (index, node, g, input_grads))
        index += 1


def backward(root, grad=None, retain_grads=True):
    """Compute ∂root/∂node for every node that requires a gradient, adding it to ``node.grad``.

    >>> import tinygraph as tg
    >>> x = tg.parameter(3.0)
    >>> tg.backward(x * x)
    >>> x.grad
    array(6.)

    Gradients accumulate: a second call adds to ``.grad`` (call ``zero_grad`` first to
    start over). ``retain_grads=False`` keeps the gradients of leaves only.
    """
    with _collector_paused():
        deque(backward_steps(root, grad, retain_grads), maxlen=0)


@contextmanager
def _collector_paused():
    """Everything backward allocates is freed by reference counting (the graph has no
    cycles), so the cyclic garbage collector would only rescan the graph again and
    again: on a 100,000-node graph that doubles the time. It is paused for the run."""
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if collecting:
            gc.enable()


def grad(root, wrt, grad=None):
    """The gradients of ``root`` with respect to the nodes ``wrt`` (leaves or intermediates),
    returned as a list of arrays (one array for a single node), without touching any
    ``.grad``. A node that ``root`` does not depend on gets zeros; a node that takes no
    gradient (a ``tg.tensor`` or anything computed from tensors only) is refused, since
    its gradient is not tracked."""
    single = isinstance(wrt, Node)
    targets = [wrt] if single else list(wrt)
    for n in targets:
        if not isinstance(n, Node):
            raise TypeError(f"grad: wrt must be Nodes, got {type(n).__name__}")
        if not n.requires_grad:
            raise GraphError(f"grad: {n.label()!r} {n.shape} takes no gradient (requires_grad is False); "
                             f"make it a tg.parameter(...) to differentiate with respect to it")
    found = {}
    wanted = set(targets)
    with _collector_paused():
        for step in backward_steps(root, grad, accumulate=False):
            if step.node in wanted:
                found[step.node] = step.grad
    result = [found[n] if n in found else np.zeros_like(n.value) for n in targets]
    return result[0] if single else result


def zero_grad(nodes):
    """Clear ``.grad``: of every node in the graph of a root Node, or of each node in a list."""
    if isinstance(nodes, Node):
        nodes = topological_order(nodes, needs_grad_only=False)
    for node in nodes:
        node.grad = None
