"""What autodiff says about a graph: every node's total gradient, and the part of it that
the consumers inside one time step sent (what a step "sends back" to an earlier one)."""
import re
from collections import defaultdict

import numpy as np

import tinygraph as tg
from lstm.losses import ce


def step_of(node):
    """The step t of the scope a node was built in ("t=3" -> 3), None outside the steps."""
    for part in node.scope:
        match = re.fullmatch(r"t=(\d+)", part)
        if match:
            return int(match.group(1))
    return None


def gradients(loss, tracked=()):
    """Run backward once (nothing is accumulated into ``.grad``). Returns ``full``: node ->
    ∂L/∂node for every node backward visits, and ``parts``: (node, t) -> the sum of what the
    consumers of ``node`` built in step t sent to it, for each node in ``tracked``."""
    tracked = set(tracked)
    full, parts = {}, defaultdict(lambda: 0.0)
    for step in tg.backward_steps(loss, accumulate=False):
        full[step.node] = np.asarray(step.grad)
        for parent, sent in zip(step.node.inputs, step.input_grads):
            if sent is not None and parent in tracked:
                key = (parent, step_of(step.node))
                parts[key] = parts[key] + sent          # a new array: never add into backward's own
    return full, parts


def part(parts, node, t):
    """What step t sent back to ``node`` (zeros of its shape when nothing)."""
    return np.asarray(parts.get((node, t), np.zeros(node.shape)), dtype=np.float64)


def random_run(cell_class, d, h, r, T, seed=0):
    """A run of ``cell_class(d, h)`` on random parameters, inputs, initial state and targets
    (a random state, so nothing is silenced at t = 1), loss L = cross-entropy of every
    output. Returns (cell, run, loss, initial-state nodes, input nodes), all of them
    parameters of the graph so that autodiff gives every gradient."""
    rng = np.random.default_rng([seed, d, h, r, T])
    cell = cell_class(d, h)
    cell.set_parameters({k: 0.6 * rng.standard_normal(p.shape) for k, p in cell.parameters().items()})
    xs = [tg.parameter(x, name=cell.INPUT) for x in rng.standard_normal((T, r, d))]
    init = {k: tg.parameter(0.5 * rng.standard_normal((r, h)), name=k) for k in cell.STATE}
    run = cell.unroll(xs, initial_state=init)
    return cell, run, ce(run, rng.integers(0, h, size=(T, r))), init, xs
