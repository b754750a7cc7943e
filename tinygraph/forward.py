"""Forward mode: ``jvp(fn, inputs, tangents) -> (outputs, output_tangents)``, as torch.func.jvp.

Each op pushes a tangent (∂value along a direction) forward as it runs, with its own
``Op.jvp`` rule, right beside its VJP. No graph is kept: a tangent lives as long as its
value, so memory is that of the forward pass itself. One pass gives J v for one direction v;
reverse mode gives uᵀ J for one u. A full Jacobian of ℝⁿ → ℝᵐ takes n forward passes or
m reverse passes (notebook 07 measures both).

>>> import numpy as np, tinygraph as tg
>>> y, dy = tg.jvp(lambda x: tg.tanh(x) * x, [np.array([0.0, 1.0])], [np.array([1.0, 1.0])])
>>> dy                    # d/dx (x tanh x) = tanh x + x (1 − tanh² x), at 0 and 1
array([0.       , 1.1815685])
"""
import weakref

import numpy as np

from .errors import GraphError, ShapeError
from .modes import modes, no_grad
from .node import Node, owned, tensor


def jvp(fn, inputs, tangents):
    """Run ``fn`` on ``inputs`` (arrays or Nodes, whose values are used) and push
    ``tangents`` (one array per input, shaped like it) through it.

    Returns ``(outputs, output_tangents)``: ``fn``'s result (a Node, or a tuple of Nodes,
    with no graph behind them) and the tangent array of each output, J v.
    """
    if len(inputs) != len(tangents):
        raise ValueError(f"jvp: {len(inputs)} inputs but {len(tangents)} tangents; give one tangent per input")
    nodes = [tensor(x.value if isinstance(x, Node) else x, name=getattr(x, "name", None)) for x in inputs]
    table = weakref.WeakKeyDictionary()
    for k, (node, t) in enumerate(zip(nodes, tangents)):
        t = owned(t.value if isinstance(t, Node) else t, node.dtype, what=f"jvp: tangent {k}")
        if t.shape != node.shape:
            raise ShapeError(f"jvp: tangent {k} has shape {t.shape} but input {node.describe()} has shape {node.shape}")
        table[node] = t
    previous, modes.tangents = modes.tangents, table
    try:
        with no_grad():
            outputs = fn(*nodes)
    finally:
        modes.tangents = previous
    single = isinstance(outputs, Node)
    found = [table.get(out) for out in ([outputs] if single else outputs)]
    result = [t if t is not None else np.zeros_like(out.value)
              for t, out in zip(found, [outputs] if single else outputs)]
    return (outputs, result[0]) if single else (tuple(outputs), tuple(result))


def push_tangent(op, inputs, node):
    """Give ``node`` (just computed by ``op`` from ``inputs``) its tangent, by ``op.jvp``."""
    table = modes.tangents
    given = [table.get(n) for n in inputs]
    if all(t is None for t in given):                  # a constant: no tangent
        return
    tangents = [t if t is not None else np.broadcast_to(np.zeros((), n.dtype), n.shape)
                for t, n in zip(given, inputs)]
    t = np.asarray(op.jvp(tangents, node.value, *[n.value for n in inputs]))
    if t.shape != node.shape:
        raise GraphError(f"jvp of {op.describe()} (output {node.describe()}) gave a tangent of shape {t.shape}; "
                         f"a jvp must return one array shaped like the output")
    t = t.astype(node.dtype, copy=False)
    t.setflags(write=False)
    table[node] = t
