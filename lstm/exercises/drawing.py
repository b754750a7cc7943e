"""The picture of a graded exercise: a cell's ops view (``lstm.diagrams``) with the node where
the first wrong quantity belongs highlighted in red, and a caption that says so."""
from functools import partial

from lstm import diagrams


def caption(dot, quantity):
    """Label a drawing with what its highlighted (red) node stands for."""
    text = ("every quantity is right" if quantity is None else
            f"red: where {quantity.symbol} belongs, the first wrong quantity ({quantity.meaning})")
    dot.attr(label=text, labelloc="t", fontsize="16")
    return dot


def ops_view(variant, quantity=None):
    """Every op of one step of ``variant``; ``quantity.node`` names the node to highlight (a
    node of the step, a parameter or an initial state)."""
    ex = diagrams.example(variant)
    node = None
    if quantity is not None:
        nodes = {**ex.run.steps[0], **ex.cell.parameters(), **ex.run.initial_state}
        node = nodes[quantity.node]
    return caption(diagrams.ops(ex, highlight=node), quantity)


def drawer(variant):
    """``ops_view`` for one variant, as an ``Exercise.draw``."""
    return partial(ops_view, variant)
