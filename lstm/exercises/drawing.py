"""The picture of a graded exercise: a cell's cell view or ops view (``lstm.diagrams``) with
the node where the first wrong quantity belongs highlighted in red, and a caption that says so.

The cell view draws each gate network as one box, so it shows a gate (F, I, C_i, O), a valve
or a state (C_t, H_t, C_t-1, H_t-1, X_t) as a box of its own; a pre-activation or a weight
sits inside a gate's box, and only the ops view draws it alone. ``view=None`` picks the cell
view when the quantity has a box of its own there, the ops view otherwise."""
from functools import partial

from lstm import diagrams

VIEWS = ("cell", "ops")


def caption(dot, quantity, holder=None, view=None):
    """Label a drawing with what its highlighted (red) node stands for; ``holder`` names the
    node drawn inside the red box when the quantity's own node is not drawn alone. The drawing
    keeps its ``view`` ("cell", "ops"; None: the exercise's own graph) as ``dot.exercise_view``."""
    if quantity is None:
        text = "every quantity is right"
    elif holder is None:
        text = f"red: where {quantity.symbol} belongs, the first wrong quantity ({quantity.meaning})"
    else:
        text = (f"red: the box that holds {holder}, where {quantity.symbol} belongs, the first wrong quantity "
                f"({quantity.meaning}); the ops view draws it alone")
    dot.attr(label=text, labelloc="t", fontsize="16")
    dot.exercise_view = view
    return dot


def exercise_view(variant, quantity=None, view=None):
    """One step of ``variant`` drawn in ``view`` ("cell" or "ops"; None: the cell view when the
    quantity's node is a box of its own there, else the ops view), with ``quantity.node`` (a
    node of the step, a parameter or an initial state) highlighted."""
    if view not in (None, *VIEWS):
        raise ValueError(f"drawing: view must be one of {', '.join(VIEWS)}, got {view!r}")
    ex = diagrams.example(variant)
    node = None
    if quantity is not None:
        nodes = {**ex.run.steps[0], **ex.cell.parameters(), **ex.run.initial_state}
        node = nodes[quantity.node]
    cell = diagrams.cell(ex) if view != "ops" else None
    if view is None:
        view = "cell" if node is not None and own_box(cell, node) else "ops"
    if view == "ops":
        return caption(diagrams.ops(ex, highlight=node), quantity, view="ops")
    if node is None or own_box(cell, node):
        return caption(diagrams.cell(ex, highlight=node), quantity, view="cell")
    drawn = any(node in v.nodes for v in cell.vertices)          # inside a gate's box, or not drawn
    return caption(diagrams.cell(ex, highlight=node if drawn else _holder(cell, node)), quantity, node.label(), "cell")


def own_box(drawing, node):
    """Whether ``drawing`` draws ``node`` as a box of its own: a record or an op for it alone,
    or a collapsed scope (a gate's box) whose output it is."""
    return (any(v.kind in ("data", "op") and v.nodes == [node] for v in drawing.vertices)
            or any(e.src.kind == "group" and e.node is node for e in drawing.edges))


def _holder(drawing, node):
    """A drawn node that uses ``node`` (a weight inside a gate's box): it lights that box."""
    return next((n for v in drawing.vertices if v.kind != "junction" for n in v.nodes if node in n.inputs), node)


def drawer(variant):
    """``exercise_view`` for one variant, as an ``Exercise.draw``: (quantity, view) -> drawing."""
    return partial(exercise_view, variant)
