"""Reverse mode: the topological order, and backward as a generator of steps.

``backward_steps(root)`` yields one ``BackwardStep`` per node, from the root back to
the parameters, so a notebook can pause after each node. ``backward(root)`` is that
generator run to the end. The algorithm is ``textbook_steps`` (read it first);
``fast_steps`` is the same algorithm with the speed-ups, and the one that runs for
first-order gradients (a test checks the two agree bit for bit). With
``create_graph=True`` the textbook algorithm runs on Nodes: every gradient is built from
tinygraph ops (``Op.backward_graph``), so it can be differentiated again.

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
from .node import Node, as_float_array, parameter, tensor
from .ops import add, describe_nodes
from .scope import scopes


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
        if getattr(parent, "stamp", 0) > node.stamp:        # a leaf has a stamp once assigned
            raise GraphError(
                f"backward: {parent.label()!r} {parent.shape} was given a new value (assign) after "
                f"{node.describe()} was computed from it by {node.op.describe()}; its gradient would mix "
                f"the new value with a result of the old one. Build the graph again after assigning")


def _missing(node, parent):
    return GraphError(f"backward of {node.op.describe()} (output {node.label()!r}) returned no "
                      f"gradient for input {parent.label()!r}, which needs one")


def backward_steps(root, grad=None, retain_grads=True, accumulate=True, create_graph=False, steps=True):
    """Run backward from ``root`` one node at a time, yielding a ``BackwardStep`` each.

    Every node that takes a gradient (parameters and what is computed from them) gets
    exactly one step, after all the nodes that consume it; tensors and constants get
    none. ``grad`` seeds ∂L/∂root (needed when root is not a scalar). With ``accumulate``
    each node's gradient is added to ``node.grad`` when its step is yielded; with
    ``retain_grads=False`` only leaves keep theirs (less memory during training).
    Gradients (``step.grad``, ``step.input_grads``, ``node.grad``) are read-only arrays,
    like values. With ``create_graph`` they are Nodes instead (see ``textbook_steps``).
    ``steps=False`` runs the same backward without yielding the steps (``backward`` does).
    """
    if create_graph:
        return textbook_steps(root, _seed_node(root, grad), GRAPH, retain_grads, accumulate)
    if modes.anomaly:               # checking every gradient for NaN/Inf: speed does not matter
        return textbook_steps(root, _seed(root, grad), ARRAYS, retain_grads, accumulate)
    return fast_steps(root, _seed(root, grad), retain_grads, accumulate, steps)


def textbook_steps(root, seed, arithmetic=None, retain_grads=True, accumulate=True):
    """Reverse mode as the textbook writes it: visit the nodes from the root back, each
    after every node that uses it; its gradient is then complete; send each input its
    vector-Jacobian product, adding up what a node receives from all its uses.

    ``arithmetic`` says what gradients are: ``ARRAYS`` (numpy, the default) or ``GRAPH``
    (Nodes built from tinygraph ops, for create_graph).
    """
    arithmetic = arithmetic or ARRAYS
    pending = {root: seed}                      # node -> the sum of what its consumers sent so far
    index = 0
    for node in reversed(topological_order(root)):
        if node not in pending:                 # no path from root: nothing to do
            continue
        g = arithmetic.complete(node, pending.pop(node))
        sent = () if node.op is None else arithmetic.vjp(node, g)
        for parent, gi in zip(node.inputs, sent):
            if gi is not None:
                pending[parent] = gi if parent not in pending else arithmetic.add(pending[parent], gi, parent)
        if accumulate and (node.op is None or retain_grads):
            node.grad = g if node.grad is None else arithmetic.add(node.grad, g, node)
        yield BackwardStep(index, node, g, sent)
        index += 1


class Arrays:
    """First-order gradients as read-only numpy arrays, checked as they are received."""

    @staticmethod
    def complete(node, g):
        g.setflags(write=False)
        return g

    @staticmethod
    def vjp(node, g):
        if node.stamp < modes.assignments:
            _check_unchanged(node)
        values = [parent.value for parent in node.inputs]
        if modes.anomaly:
            with np.errstate(all="ignore"):
                raw = node.op.backward(g, node.value, *values)
        else:
            raw = node.op.backward(g, node.value, *values)
        return _received(node, raw)

    @staticmethod
    def add(a, b, node):
        if isinstance(a, Node):
            raise GraphError(f"backward: {node.describe()} holds a gradient Node from create_graph=True; "
                             f"call tg.zero_grad before a backward without create_graph")
        total = np.asarray(a + b)
        total.setflags(write=False)
        return total


def _received(node, raw):
    """What an op's backward returned, checked: one read-only gradient per input that
    needs one (None for the others), each shaped and typed like its input."""
    if raw is None or len(raw) != len(node.inputs):
        raise _wrong_count(node, raw)
    sent = []
    for parent, gi in zip(node.inputs, raw):
        if not parent.requires_grad:
            sent.append(None)
            continue
        if gi is None:
            raise _missing(node, parent)
        gi = _fit(node, parent, np.asarray(gi))
        if modes.anomaly:
            _check_finite(node, parent, gi)
        gi.setflags(write=False)
        sent.append(gi)
    return tuple(sent)


class Graph:
    """Gradients as Nodes (create_graph): each op's ``backward_graph`` builds its VJP from
    tinygraph ops, in the scope "backward/<the node's scope>"; each node's total gradient
    is named after it (F -> F̄) and has ``adjoint_of`` = the node."""

    @staticmethod
    def complete(node, g):
        if g.adjoint_of is None:        # a gradient passed on unchanged (by add) keeps its first node
            g._adjoint_of = node
        if g.name is None:
            g.name = _bar_name(node)
        return g

    @staticmethod
    def vjp(node, g):
        if node.stamp < modes.assignments:
            _check_unchanged(node)
        with _backward_scope(node):
            raw = node.op.backward_graph(g, node, *node.inputs)
        if raw is None or len(raw) != len(node.inputs):
            raise _wrong_count(node, raw)
        return tuple(_fit_node(node, parent, gi) if parent.requires_grad else None
                     for parent, gi in zip(node.inputs, raw))

    @staticmethod
    def add(a, b, node):
        with _backward_scope(node):
            return add(a, b)


ARRAYS, GRAPH = Arrays(), Graph()


@contextmanager
def _backward_scope(node):
    """Nodes built for ``node``'s gradient sit in scope ("backward",) + the scope ``node``
    was built in (the adjoint of a node of step t=3 in "backward/t=3")."""
    previous = scopes.current
    scopes.current = ("backward",) + node.scope
    try:
        yield
    finally:
        scopes.current = previous


def _bar_name(node):
    """The adjoint's name in the texts' notation: F -> F̄, C_t -> C̄_t, (H, C) -> ∂L/∂(H, C);
    None for a node without a name (its adjoint is then shown by its op)."""
    label = node.name
    if not label:
        return None
    return label[0] + "\u0304" + label[1:] if label[:1].isalpha() else f"∂L/∂{label}"


def _fit_node(node, parent, gi):
    if not isinstance(gi, Node):
        raise GraphError(f"backward_graph of {node.op.describe()} (output {node.describe()}) returned "
                         f"{type(gi).__name__} for {parent.describe()}; it must build Nodes with tinygraph ops")
    if gi.shape != parent.shape:
        raise GraphError(f"backward_graph of {node.op.describe()} (output {node.describe()}) sent a gradient "
                         f"of shape {gi.shape} to {parent.describe()}")
    return gi


def _seed_node(root, grad):
    """The seed ∂L/∂root as a Node (a given Node is used as it is: a gradient of a gradient)."""
    if isinstance(grad, Node):
        _seed(root, np.zeros(root.shape))           # the same checks on root
        if grad.shape != root.shape:
            raise ShapeError(f"backward: seed gradient has shape {grad.shape} but {root.label()!r} "
                             f"has shape {root.shape}")
        return grad
    with _backward_scope(root):
        return tensor(_seed(root, grad), name=_bar_name(root))


def fast_steps(root, seed, retain_grads=True, accumulate=True, steps=True):
    """``textbook_steps`` on numpy arrays, made fast; the same steps, bit for bit.

    The speed-ups, all here and in ``_send_fast``: the gradient routing inlined; one- and
    two-input backward calls spelled out; no anomaly checks (anomaly mode takes the textbook
    path); sums of three or more contributions added in place into an array only this loop
    holds (``owned``: ids of the sums made here); steps built with ``tuple.__new__``. With
    ``steps=False`` (what ``backward`` asks for) no steps are built, and only the gradients
    kept in ``.grad`` are made read-only: the others are seen by no one. ``backward`` pauses
    the cyclic garbage collector around it.
    """
    pending = {root: seed}
    owned = set()           # ids of pending sums made here: no one else sees them, add in place
    index = 0
    for node in reversed(topological_order(root)):
        g = pending.pop(node, None)
        if g is None:
            continue
        if owned:
            owned.discard(id(g))            # complete now: no more adding in place
        op = node.op
        keep = accumulate and (op is None or retain_grads)
        if steps or keep:                   # handed out: read-only, like every value
            g.setflags(write=False)
        input_grads = () if op is None else _send_fast(node, op, g, pending, owned, steps)
        if keep:
            node.grad = g if node.grad is None else ARRAYS.add(node.grad, g, node)
        if steps:
            yield new_step(BackwardStep, (index, node, g, input_grads))
            index += 1


def _send_fast(node, op, g, pending, owned, steps):
    """One node's turn on the fast path: its op's VJP, each input's part checked and added
    to what that input has received so far. With ``steps`` the parts are returned for the
    step to show, read-only; without, no one sees them."""
    if node.stamp < modes.assignments:      # something was assigned since node was built
        _check_unchanged(node)
    inputs = node.inputs
    if len(inputs) == 1:
        raw = op.backward(g, node.value, inputs[0].value)
    elif len(inputs) == 2:
        raw = op.backward(g, node.value, inputs[0].value, inputs[1].value)
    else:
        raw = op.backward(g, node.value, *[parent.value for parent in inputs])
    if raw is None or len(raw) != len(inputs):
        raise _wrong_count(node, raw)
    sent = []                               # what this node sends to each input, as the step shows it
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
        if steps:
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
    return tuple(sent)


def backward(root, grad=None, retain_grads=True, create_graph=False):
    """Compute ∂root/∂node for every node that requires a gradient, adding it to ``node.grad``.

    >>> import tinygraph as tg
    >>> x = tg.parameter(3.0)
    >>> tg.backward(x * x)
    >>> x.grad
    array(6.)

    Gradients accumulate: a second call adds to ``.grad`` (call ``zero_grad`` first to
    start over). ``retain_grads=False`` keeps the gradients of leaves only. With
    ``create_graph=True`` each ``.grad`` is a Node built from tinygraph ops, which can be
    differentiated again.
    """
    with _collector_paused():
        deque(backward_steps(root, grad, retain_grads, create_graph=create_graph, steps=False), maxlen=0)


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


def grad(root, wrt, grad=None, create_graph=False):
    """The gradients of ``root`` with respect to the nodes ``wrt`` (leaves or intermediates),
    returned as a list of arrays (one array for a single node), without touching any
    ``.grad``. A node that ``root`` does not depend on gets zeros; a node that takes no
    gradient (a ``tg.tensor`` or anything computed from tensors only) is refused, since
    its gradient is not tracked. With ``create_graph=True`` the gradients are Nodes built
    from tinygraph ops: ``tg.grad(tg.grad(f, x, create_graph=True).sum(), x)`` is a second
    derivative. ``grad`` (the seed) may then be a Node too.

    >>> import tinygraph as tg
    >>> x = tg.parameter(3.0)
    >>> dy = tg.grad(x ** 3, x, create_graph=True)        # 3x² as a Node
    >>> float(dy), float(tg.grad(dy, x))                  # and 6x
    (27.0, 18.0)
    """
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
        for step in backward_steps(root, grad, accumulate=False, create_graph=create_graph):
            if step.node in wanted:
                found[step.node] = step.grad
    zero = (lambda n: tensor(np.zeros_like(n.value))) if create_graph else (lambda n: np.zeros_like(n.value))
    result = [found[n] if n in found else zero(n) for n in targets]
    return result[0] if single else result


def hvp(f, inputs, v):
    """The Hessian of the scalar ``f(*inputs)`` times ``v``, per input (double backward).

    ``inputs`` and ``v`` are lists of arrays (or Nodes, whose values are used); returns a
    list of arrays H v, one per input: ∂/∂x ⟨∇f(x), v⟩.

    >>> import numpy as np, tinygraph as tg
    >>> tg.hvp(lambda x: (x ** 3).sum(), [np.array([1.0, 2.0])], [np.array([1.0, 1.0])])
    [array([ 6., 12.])]
    """
    params = [parameter(x.value if isinstance(x, Node) else x) for x in inputs]
    out = f(*params)
    grads = grad(out, params, create_graph=True)
    inner = None
    for g, direction in zip(grads, v):
        term = (g * np.asarray(direction.value if isinstance(direction, Node) else direction, float)).sum()
        inner = term if inner is None else inner + term
    if not inner.requires_grad:                         # f is at most linear: its Hessian is 0
        return [np.zeros_like(p.value) for p in params]
    return grad(inner, params)


def zero_grad(nodes):
    """Clear ``.grad``: of every node in the graph of a root Node, or of each node in a list."""
    if isinstance(nodes, Node):
        nodes = topological_order(nodes, needs_grad_only=False)
    for node in nodes:
        node.grad = None
