"""What autodiff says about a graph: every node's total gradient, and the part of it that
the consumers inside one time step sent (what a step "sends back" to an earlier one)."""
import re
from collections import defaultdict

import numpy as np

import tinygraph as tg


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
