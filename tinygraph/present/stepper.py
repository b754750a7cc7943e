"""Step through backward one node at a time: in Jupyter, in a saved HTML page, anywhere.

>>> import tinygraph as tg
>>> from tinygraph.present import Stepper
>>> a = tg.parameter(2.0, name="a"); b = tg.parameter(3.0, name="b")
>>> y = (a * b + a).named("y")
>>> stepper = Stepper(y)
>>> [view.node.label() for view in stepper]          # backward order, root first
['y', 'mul', 'b', 'a']
>>> stepper.gradient(a)                                # ∂y/∂a = b + 1
array(4.)

``stepper.save_html("backprop.html")`` writes one self-contained page that steps forward
and backward (buttons, a slider, the arrow keys, play/pause) through the drawing with the
current node highlighted, a legible close-up of the node with its inputs and consumers,
the step's numbers and its rule written out (MathML: nothing is fetched). In Jupyter a
cell ending in ``stepper`` (or ``stepper[i]``, opened at step ``i``) shows that same page,
so it keeps working without a kernel: after saving and reopening, in exported HTML and on
nbviewer. ``stepper.svg(i)`` is step ``i``'s drawing, ``stepper.details(i)`` its numbers,
``str(stepper[i])`` a text summary.

Going back does not add gradients twice: the stepper runs ``backward_steps`` once,
up front, with ``accumulate=False``. It records every step and never writes ``.grad``;
moving between steps only shows recorded numbers. The gradients it records are the
ones ``tg.backward(root)`` would accumulate into ``.grad`` on a fresh graph (the same
generator computes both), and ``stepper.gradient(node)`` returns them.

Notation: ``\\bar v`` is ∂L/∂v, the gradient of the loss with respect to ``v``
(the adjoint). An op's ``rule`` is written for inputs ``a, b`` (or ``x``) and
output ``y``; the stepper writes it out with the graph's own node names.
"""
import html
from dataclasses import dataclass

import numpy as np

from ..backprop import BackwardStep, backward_steps
from ..draw import draw
from ..node import Node
from .latex import bar, format_array, located_name, node_name, operand, plain_rule, shape_text, written_rule
from .mathml import math, math_lines

__all__ = ["StepDetails", "StepView", "Stepper"]


# --- one step, as data -----------------------------------------------------------

@dataclass(frozen=True)
class StepDetails:
    """Everything a step shows, as plain data.

    ``incoming`` lists the parts of ``grad`` sent by each consumer of the node, as
    ``(consumer, argument position, gradient)``; they add up to ``grad`` (the root has
    none: its gradient is the seed). ``outgoing`` pairs each input with the gradient the
    op sends it (None for an input that needs no gradient; empty for a leaf).
    """

    index: int
    total: int
    node: Node
    grad: np.ndarray
    incoming: tuple
    rule: str
    written_rule: str
    outgoing: tuple

    @property
    def kind(self):
        node = self.node
        if node.op is not None:
            return f"computed by {node.op.describe()} ({node.op.symbol})"
        return "parameter (a leaf: its gradient is final)" if node.requires_grad else "constant"

    def text(self):
        """A plain-text summary (for terminals and logs)."""
        def numbers(g, indent):                  # a matrix's later rows under its first
            return format_array(g).replace("\n", "\n" + " " * indent)

        head = f"  gradient flowing in  {plain_rule(bar(self.node))} = "
        lines = [f"step {self.index + 1}/{self.total}: {located_name(self.node)} ({shape_text(self.node)}), {self.kind}",
                 head + numbers(self.grad, len(head))]
        for consumer, position, g in self.incoming:
            head = f"    from {located_name(consumer)} (argument {position + 1}): "
            lines.append(head + numbers(g, len(head)))
        if self.rule:
            lines.append(f"  rule: {plain_rule(self.written_rule)}")
        for parent, g in self.outgoing:
            head = f"  sends to {located_name(parent)} ({shape_text(parent)}): "
            lines.append(head + ("no gradient (constant)" if g is None else numbers(g, len(head))))
        return "\n".join(line.rstrip() for line in "\n".join(lines).splitlines())

    def html(self):
        """The numbers as HTML, the maths as MathML (shown without fetching anything)."""
        e = html.escape
        flowing = bar(self.node) + r" = \partial L / \partial " + operand(self.node)
        parts = [f"<p class='kind'><code>{e(located_name(self.node))}</code> {shape_text(self.node)}, "
                 f"{e(self.kind)}</p>",
                 f"<p><b>gradient flowing in</b> {math(flowing)}"
                 f"</p><pre>{e(format_array(self.grad))}</pre>"]
        if not self.incoming:
            parts.append("<p><i>the root: backward starts here with the seed gradient ∂L/∂L</i></p>")
        elif len(self.incoming) > 1:
            parts.append(f"<p>the sum of {len(self.incoming)} parts, one per use:</p><ul>")
            for consumer, position, g in self.incoming:
                parts.append(f"<li>from <code>{e(located_name(consumer))}</code> (argument {position + 1}): "
                             f"<pre>{e(format_array(g))}</pre></li>")
            parts.append("</ul>")
        if self.rule:
            parts.append(f"<p><b>rule</b> of {e(self.node.op.describe())}:</p>{math_lines(self.rule)}"
                         f"<p>written out:</p>{math_lines(self.written_rule)}")
            parts.append("<p><b>gradients sent to the inputs</b></p><ul>")
            for parent, g in self.outgoing:
                sent = ("<i>nothing: a constant needs no gradient</i>" if g is None
                        else f"<pre>{e(format_array(g))}</pre>")
                where = f" <small>[{e('/'.join(parent.scope))}]</small>" if parent.scope else ""
                parts.append(f"<li>{math(bar(parent))}{where} <small>{shape_text(parent)}</small>: {sent}</li>")
            parts.append("</ul>")
        elif self.node.requires_grad:
            parts.append(f"<p><i>a parameter: nothing to send on; {math(bar(self.node))} is its final "
                         f"gradient.</i></p>")
        return "\n".join(parts)


class StepView:
    """One step of a ``Stepper``: ``details``, the drawing (``drawing``, ``svg``), and a rich
    display (the SVG beside the numbers) for Jupyter."""

    def __init__(self, stepper, index):
        self.stepper, self.index = stepper, index

    @property
    def step(self):
        return self.stepper.steps[self.index]

    @property
    def node(self):
        return self.step.node

    @property
    def details(self):
        return self.stepper.details(self.index)

    @property
    def drawing(self):
        return self.stepper.drawing(self.index)

    @property
    def svg(self):
        return self.stepper.svg(self.index)

    def _repr_html_(self):
        """In Jupyter: the stepper's page, opened at this step."""
        from .page import inline_frame

        return inline_frame(self.stepper.page(self.index))

    def __str__(self):
        return self.details.text()

    def __repr__(self):
        return f"<StepView {self.index + 1}/{len(self.stepper)}: {node_name(self.node)}>"


# --- the stepper ------------------------------------------------------------------

class Stepper:
    """Backward of ``root`` recorded step by step, to be drawn and read one node at a time.

    ``grad`` seeds ∂L/∂root (needed when root is not a scalar). ``create_graph=True`` walks
    the backward pass as a graph: the page draws the graph backward builds (its adjoints
    F̄, W̄ ... linked to their forward values) beside the forward one, and each step shows
    the node and the adjoint node it completes, the backward nodes appearing as they are built. ``draw`` makes the drawing
    of a step: it is called as ``draw(root, highlight=step, visited=nodes, edge_grads=grads,
    **draw_options)`` and returns a ``graphviz.Digraph``; the default is ``tinygraph.draw``
    (any function with that signature, e.g. one of ``lstm.diagrams``' views, works).

    ``len(stepper)`` steps; ``stepper[i]`` is a ``StepView``; iterating yields them in
    backward order. ``details(i)``, ``drawing(i)`` and ``svg(i)`` compute what step ``i``
    shows; ``page()`` and ``save_html(path)`` put every step in one HTML page.
    """

    def __init__(self, root, grad=None, draw=None, create_graph=False, **draw_options):
        if not isinstance(root, Node):
            raise TypeError(f"Stepper: expects the Node to run backward from, got {type(root).__name__}")
        if create_graph and draw is not None:
            raise ValueError("Stepper: create_graph=True draws the forward and the backward graph with "
                             "tinygraph.draw; it takes no draw= function")
        self.root = root
        self.adjoints, self.built_at = {}, {}
        if create_graph:
            self.steps = self._walk_backward_graph(root, grad)
        else:
            self.steps = tuple(backward_steps(root, grad, accumulate=False))
        self.draw_function = draw
        self.draw_options = draw_options
        self._index = {step.node: i for i, step in enumerate(self.steps)}
        self._incoming = {}
        for step in self.steps:
            for position, (parent, g) in enumerate(zip(step.node.inputs, step.input_grads)):
                if g is not None:
                    self._incoming.setdefault(parent, []).append((step.node, position, g))
        self._svgs = {}
        self._final = None
        self._scale = None

    def _walk_backward_graph(self, root, grad):
        """Backward with create_graph: record each node's adjoint (a Node) and the step at which
        every node of the backward graph is built; the steps keep the numbers."""
        steps = []
        for step in backward_steps(root, grad, accumulate=False, create_graph=True):
            self.adjoints[step.node] = step.grad
            for made in (step.grad, *step.input_grads):
                self._mark_built(made, len(steps))
            numbers = tuple(None if g is None else g.value for g in step.input_grads)
            steps.append(BackwardStep(step.index, step.node, step.grad.value, numbers))
        return tuple(steps)

    def _mark_built(self, node, i):
        todo = [node]
        while todo:
            n = todo.pop()
            if n is None or n in self.built_at or n.scope[:1] != ("backward",):
                continue
            self.built_at[n] = i
            todo.extend(n.inputs)

    def reached_at(self, node):
        """The step at which backward reaches ``node`` (gives it its gradient, or, in the
        backward graph, builds it); None if it never does."""
        return self._index.get(node, self.built_at.get(node))

    # --- a sequence of steps
    def __len__(self):
        return len(self.steps)

    def __getitem__(self, i):
        if isinstance(i, slice):
            return [StepView(self, j) for j in range(len(self))[i]]
        return StepView(self, self._position(i))

    def __iter__(self):
        return (StepView(self, i) for i in range(len(self)))

    def _position(self, i):
        n = len(self.steps)
        if not isinstance(i, (int, np.integer)) or isinstance(i, bool):
            raise TypeError(f"Stepper: steps are numbered 0..{n - 1}; got {i!r} (use stepper.index_of(node))")
        if not -n <= i < n:
            raise IndexError(f"Stepper: step {i} does not exist; backward of {node_name(self.root)!r} has {n} steps "
                             f"(0..{n - 1})")
        return int(i) % n

    def index_of(self, node_or_name):
        """The step at which ``node`` (or the node named so) gets its gradient."""
        if isinstance(node_or_name, Node):
            if node_or_name not in self._index:
                raise KeyError(f"Stepper: {node_or_name.label()!r} gets no gradient from {node_name(self.root)!r} "
                               f"(not in its graph, or a constant)")
            return self._index[node_or_name]
        found = [i for i, step in enumerate(self.steps) if step.node.name == node_or_name]
        if not found:
            names = sorted({s.node.name for s in self.steps if s.node.name})
            raise KeyError(f"Stepper: no step has a node named {node_or_name!r}; named nodes: {', '.join(names)}")
        if len(found) > 1:
            raise KeyError(f"Stepper: {len(found)} steps have a node named {node_or_name!r} (one per time step?); "
                           f"pass the Node itself, e.g. run.steps[0][{node_or_name!r}]")
        return found[0]

    def gradient(self, node):
        """∂L/∂node as recorded (what ``tg.backward(root)`` accumulates into ``node.grad``)."""
        return np.asarray(self.steps[self.index_of(node)].grad)

    @property
    def gradients(self):
        """``{node: ∂L/∂node}`` for every node that backward visits."""
        return {step.node: np.asarray(step.grad) for step in self.steps}

    # --- what step i shows
    def details(self, i):
        """The numbers of step ``i`` as a ``StepDetails``."""
        i = self._position(i)
        step = self.steps[i]
        node = step.node
        rule = node.op.rule if node.op is not None else ""
        return StepDetails(
            index=i, total=len(self.steps), node=node, grad=step.grad,
            incoming=tuple(self._incoming.get(node, ())),
            rule=rule, written_rule=written_rule(node) if rule else "",
            outgoing=tuple(zip(node.inputs, step.input_grads)) if node.op is not None else (),
        )

    def visited(self, i):
        """The nodes whose gradients are complete at step ``i``: those of the steps before it
        and the current node (a node's turn comes once all its consumers have sent theirs)."""
        return [step.node for step in self.steps[:self._position(i) + 1]]

    def edge_grads(self, i):
        """``{(input, consumer): gradient}`` for every edge backward has sent along up to and
        including step ``i``."""
        sent = {}
        for step in self.steps[:self._position(i) + 1]:
            for parent, g in zip(step.node.inputs, step.input_grads):
                if g is not None:
                    key = (parent, step.node)
                    sent[key] = g if key not in sent else sent[key] + g      # x * x: both arguments
        return sent

    def drawing(self, i):
        """The graph drawn for step ``i``: the step highlighted, processed nodes marked and the
        gradients sent so far written on the edges (a ``graphviz.Digraph``).

        With the default ``tinygraph.draw``, every edge that will carry a gradient already
        holds its label, invisible until backward reaches it, and records leave out their
        gradient row (the numbers beside the drawing show it; ``grads=True`` puts it back):
        Graphviz then lays out every step alike, and the graph does not jump while stepping.
        """
        i = self._position(i)
        sent = self.edge_grads(i)
        if self.draw_function is not None:
            return self.draw_function(self.root, highlight=self.steps[i], visited=self.visited(i),
                                      edge_grads=sent, **self.draw_options)
        options = {"grads": False, "edge_scale": self.width_scale(), **self.draw_options}
        options["edge_attrs"] = self._reserve_labels(sent, options.get("edge_attrs"))
        return draw(self.root, highlight=self.steps[i], visited=self.visited(i), edge_grads=sent, **options)

    def width_scale(self):
        """``(smallest, largest)``: the nonzero ‖gradient‖ norms any edge of the overview shows at
        any step, drawn thinnest and thickest: one scale of edge widths for the whole walk, the
        page's, which ``drawing(i)`` uses too (its widths compare between steps)."""
        if self._scale is None:
            from .page import edges_sent

            overview = self.overview()
            scale = edges_sent(self, overview, {id(e): f"e_{k}" for k, e in enumerate(overview.edges)})[1]
            self._scale = (scale["low"], scale["high"])
        return self._scale

    def _reserve_labels(self, sent, user_hook):
        """An ``edge_attrs`` hook for tinygraph.draw: an edge backward has not reached yet gets
        its final label in transparent ink, so it takes the same room at every step."""
        if self._final is None:
            self._final = self.edge_grads(len(self.steps) - 1)

        def edge_attrs(edge):
            attrs = dict(user_hook(edge) or {}) if user_hook is not None else {}
            keys = [(edge.node, c) for c in edge.consumers]
            if "label" in attrs or any(key in sent for key in keys):
                return attrs
            grads = [self._final[key] for key in keys if key in self._final]
            if grads:
                norm = float(np.sqrt(np.sum(np.square(sum(grads[1:], grads[0])))))
                used = f"×{edge.count} " if edge.count > 1 and edge.dst.kind != "junction" else ""
                attrs["label"] = f'<{html.escape(used)}<FONT COLOR="transparent">{norm:.3g}</FONT>>'
            return attrs

        return edge_attrs

    def overview(self):
        """The drawing the page restyles at every step: the whole graph, the gradient norms of
        the whole backward pass on its edges, nothing highlighted (the page highlights)."""
        final = self.edge_grads(len(self.steps) - 1)
        if self.adjoints:                 # create_graph: the backward graph beside the forward one
            leaves = [self.adjoints[s.node] for s in self.steps if s.node.op is None]
            return draw([self.root, *leaves], edge_grads=final, **{"grads": False, **self.draw_options})
        if self.draw_function is not None:
            return self.draw_function(self.root, highlight=None, visited=None, edge_grads=final, **self.draw_options)
        return draw(self.root, edge_grads=final, **{"grads": False, **self.draw_options})

    def svg(self, i):
        """The drawing of step ``i`` as an SVG string (rendered once, then cached)."""
        i = self._position(i)
        if i not in self._svgs:
            svg = self.drawing(i).pipe(format="svg", encoding="utf-8")
            svg = svg[svg.find("<svg"):]                    # drop the XML prologue to inline it in HTML
            self._svgs[i] = svg.replace("<svg", '<svg style="max-width:100%; height:auto"', 1)
        return self._svgs[i]

    # --- the page
    def page(self, start=0, title=None):
        """A self-contained HTML page that steps through backward without a kernel: buttons, a
        slider, the arrow keys and play/pause over the drawing, the numbers and the rule."""
        from .page import stepper_page

        return stepper_page(self, self._position(start), title=title)

    def save_html(self, path, start=0, title=None):
        """Write ``page()`` to ``path`` (one file: it works from file:// with the network off)."""
        from pathlib import Path

        Path(path).write_text(self.page(start, title=title), encoding="utf-8")
        return Path(path)

    def _repr_html_(self):
        from .page import inline_frame

        return inline_frame(self.page(0))

    def __repr__(self):
        return f"<Stepper: backward of {node_name(self.root)!r} in {len(self.steps)} steps>"
