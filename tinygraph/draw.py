"""Graphviz drawings of any tinygraph graph.

``draw(root)`` returns a ``graphviz.Digraph``: it shows inline in Jupyter, and
``.render()``, ``.pipe()`` and ``.source`` work as users of the graphviz package expect.

>>> import tinygraph as tg
>>> W = tg.parameter([[0.5, -1.0]], name="W")
>>> x = tg.tensor([[2.0], [3.0]], name="x")
>>> y = tg.sigmoid(W @ x, name="y")
>>> dot = tg.draw(y)                       # LR, clusters from scopes, values shown
>>> svg = dot.pipe(format="svg")           # needs Graphviz's `dot` program
>>> dot.source.startswith("digraph")       # the DOT text always works, even without `dot`
True

What is drawn:

- every value is a *record* (a small table: name, shape, value summary, gradient
  summary once backward ran), coloured by role: parameter (square corners), input,
  constant, intermediate, output (a root). ``records="named"`` keeps records only for
  leaves, roots and named values; ``"ends"`` only for leaves and roots. A weight made
  outside any scope is drawn inside the cluster that uses it, and once per time step
  when every step uses it.
- every op is a small shape labelled with its ``symbol`` (×, +, σ, tanh, @, [;] ...),
  placed between its inputs' records and its result's record.
- an op that computes several named parts in one node (a fused op) draws as its parts
  when it says how: a ``parts()`` method returning ``{name: array}`` and a
  ``part_symbols`` mapping ``{name: symbol}`` (the parts drawn, in order), optionally
  ``part_equations`` (lines of text saying how the parts combine) and
  ``part_grads(g, out, *inputs) -> {name: array}`` (the gradient reaching each part,
  given the gradient ``g`` of the op's result). The op is then a small table: its
  symbol, one row per part (symbol, name, value and gradient summaries as in records),
  and the equations. ``parts=False`` draws it as its symbol only.
- scopes (``with tg.scope("t=2"): with tg.scope("forget gate"): ...``) become nested
  clusters. ``collapse=`` turns scopes into single nodes: a depth (``collapse=2``), a
  scope name or glob (``"forget gate"``, ``"t=*"``), a path (``"t=2/forget gate"``) or
  a list of these. A value that enters a cluster and is used there several times goes
  in through one junction point, so a cluster has one entry per value.

The backward overlay (what the notebook stepper redraws at every step):

- ``highlight=`` a ``tg.BackwardStep`` or a Node: that node (its op and its record)
  and its incoming and outgoing edges are drawn in red and thick. For a BackwardStep
  the gradients the step sends to its inputs label the incoming edges.
- ``visited=`` the nodes backward has already processed: they keep their colours;
  nodes that need a gradient but are not visited yet are drawn faded and dashed.
- ``edge_grads=`` a mapping ``{(input_node, consumer_node): gradient array}`` or
  ``True`` (computed from the first root, a scalar loss, with
  ``tg.backward_steps(root, accumulate=False)``; ``.grad`` is not touched). Each edge
  is labelled with the norm of the gradient flowing back along it, and its pen width
  grows with the magnitude (log scale), so vanishing gradients are visible.

The backward pass as a graph: after ``tg.backward(L, create_graph=True)`` the gradients are
Nodes; ``draw([L, W.grad, ...])`` draws them beside the forward graph, the nodes backward built
in clusters under "backward" (purple), each adjoint named in the texts' notation (F̄, C̄_t)
and linked to the forward value it is the gradient of by a dotted purple line.

A drawing with ``clear_labels = True`` (what ``lstm.diagrams`` returns when it has edge
labels) moves, when rendered (``pipe``, ``render``), each edge label an arrow covers beside
its own edge (``tinygraph.labels``).

Without Graphviz's ``dot`` program ``.source`` still works, and rendering raises
``GraphvizNotFound`` (a ``graphviz.ExecutableNotFound``) saying how to install it.
"""
import fnmatch
import html
import json
import math
import re
from dataclasses import dataclass, field
from importlib import resources

import graphviz
import numpy as np

from . import labels
from .backprop import BackwardStep, backward_steps, topological_order
from .node import Node

INSTALL_HINT = (
    "Graphviz's `dot` program was not found on PATH; drawings need it to render (the DOT "
    "source is still available as .source). Install Graphviz: `sudo apt-get install graphviz` "
    "(Debian/Ubuntu), `brew install graphviz` (macOS), `conda install -c conda-forge graphviz`, "
    "or see https://graphviz.org/download/"
)

FONT = "Helvetica,Arial,sans-serif"

#: fill and border colour of each role (colour-blind safe pairs, light fills for print)
ROLE_COLORS = {
    "parameter": ("#FDE3C8", "#D9730D"),
    "input": ("#D6E6F5", "#2B6CB0"),
    "constant": ("#EEEEEE", "#8C8C8C"),
    "intermediate": ("#FFFFFF", "#6B6B6B"),
    "output": ("#D5EFD5", "#2F8132"),
}
OP_COLORS = ("#FFF5CC", "#B38F00")
GROUP_COLORS = ("#ECE6F6", "#6A51A3")
HIGHLIGHT = "#D62728"
GRAD_FONT = "#B2182B"
FADED = "#B0B0B0"
ADJOINT = "#7B3294"          # the link from an adjoint (create_graph) to its forward value
BACKWARD_FILL = "#F6EEF9"    # the clusters of nodes built by backward


class GraphvizNotFound(graphviz.ExecutableNotFound):
    """Rendering needs Graphviz's ``dot`` program, which is not installed (or not on PATH)."""

    def __init__(self):
        RuntimeError.__init__(self, INSTALL_HINT)


#: what pipe(format=...) returns as laid out, labels not moved (the layout read by programs)
_LAYOUT_FORMATS = (None, "json", "dot", "gv", "canon")


class Drawing(graphviz.Digraph):
    """A ``graphviz.Digraph`` whose rendering explains how to install Graphviz when
    ``dot`` is missing, and which knows the vertices it was drawn from
    (``vertices``, ``vertex_of(node)``)."""

    vertices = ()
    edges = ()
    _where = None
    #: pipe() and render() move each edge label an arrow covers beside its edge (``tinygraph.labels``)
    clear_labels = False

    def pipe(self, format=None, *args, **kwargs):
        if self.engine == "neato":      # every position given (pos=): neato -n2 draws them as they are
            kwargs.setdefault("neato_no_op", 2)
        try:
            settled = self._settled(kwargs.get("neato_no_op")) if format not in _LAYOUT_FORMATS else None
            if settled is not None:
                return settled.pipe(format, *args, **{**kwargs, "neato_no_op": 2})
            return super().pipe(format, *args, **kwargs)
        except graphviz.ExecutableNotFound:
            raise GraphvizNotFound() from None

    def render(self, *args, **kwargs):
        if self.engine == "neato":
            kwargs.setdefault("neato_no_op", 2)
        try:
            settled = self._settled(kwargs.get("neato_no_op")) if kwargs.get("format") not in _LAYOUT_FORMATS else None
            if settled is not None:
                return settled.render(*args, **{**kwargs, "neato_no_op": 2})
            return super().render(*args, **kwargs)
        except graphviz.ExecutableNotFound:
            raise GraphvizNotFound() from None

    def _settled(self, neato_no_op):
        """With ``clear_labels``, when an arrow covers an edge label: the laid-out drawing with
        the label moved beside its edge, to be drawn as it is by neato -n2 (two more Graphviz
        runs); else None (the drawing is rendered as usual)."""
        if not self.clear_labels:
            return None
        moved = labels.clear_positions(json.loads(super().pipe("json", neato_no_op=neato_no_op)))
        if not moved:
            return None
        laid = super().pipe("dot", neato_no_op=neato_no_op, encoding="utf-8")
        return graphviz.Source(labels.patch(laid, moved), filename=self.filename, directory=self.directory,
                               format=self.format, engine="neato")

    def copy(self):
        twin = super().copy()
        twin.vertices, twin.edges, twin._where, twin.clear_labels = (self.vertices, self.edges, self._where,
                                                                     self.clear_labels)
        return twin

    def _repr_mimebundle_(self, include=None, exclude=None, **_):
        """In Jupyter: the SVG fits the output's width; a click zooms in to a legible size
        around the point clicked, a drag moves, another click shows the whole again."""
        return {"text/html": zoomable_html(self.pipe(format="svg", encoding="utf-8"))}

    def vertex_of(self, node):
        """The vertex showing ``node``'s value (its record, its op, its group or None if hidden)."""
        return (self._where or {}).get(node)


def zoom_script():
    """The JavaScript behind zoomable drawings (``window.tgZoom(box)``), shared with the stepper page."""
    return (resources.files(__package__) / "assets" / "zoom.js").read_text(encoding="utf-8")


def zoomable_html(svg, max_height=None):
    """An SVG as HTML that fits its container's width, with click-to-zoom and drag-to-move;
    without JavaScript (a sanitised viewer) it still shows, fitted to the width. The box is at
    most ``max_height`` pixels tall: by default 640, up to 2.2 times that for a drawing taller
    than wide (a tall one would else show as a thin strip)."""
    if max_height is None:
        box = re.search(r'viewBox="[-\d.]+ [-\d.]+ ([\d.]+) ([\d.]+)"', svg)
        aspect = float(box.group(2)) / max(float(box.group(1)), 1.0) if box else 1.0
        max_height = round(640 * min(max(aspect, 1.0), 2.2))
    svg = svg[svg.find("<svg"):].replace("<svg", '<svg style="display:block; width:100%; height:auto"', 1)
    return (f'<div class="tg-zoom" data-max-height="{max_height}" style="border:1px solid #ddd; '
            f'border-radius:6px; overflow:hidden; cursor:zoom-in" title="click to zoom in, drag to move, '
            f'click again to see the whole">{svg}</div>'
            f"<script>{zoom_script()}\nwindow.tgZoom(document.currentScript.previousElementSibling);</script>")


@dataclass(eq=False)
class Vertex:
    """One drawn node. ``kind`` is "data" (a record), "op", "group" (a collapsed scope)
    or "junction"; ``nodes`` are the tinygraph nodes it stands for; ``scope`` is the
    cluster it sits in; ``role`` is parameter/input/constant/intermediate/output/op/group."""

    id: str
    kind: str
    nodes: list
    scope: tuple
    role: str
    name: str = ""
    copy_of: object = None      # for a repeated leaf: the vertex it stands in for


@dataclass(eq=False)
class Edge:
    """One drawn edge carrying the value of ``node`` from ``src`` to ``dst``; ``consumers``
    are the nodes in ``dst`` that use it (empty for an op's edge to its own record)."""

    src: Vertex
    dst: Vertex
    node: Node
    consumers: list = field(default_factory=list)
    count: int = 1
    grad: object = None


# --- text --------------------------------------------------------------------

def escape_html(text):
    """Any text as it must be written inside an HTML-like label (<, >, &, quotes, backslashes,
    control characters escaped), so Graphviz shows it as written."""
    text = "".join(ch if ch.isprintable() or ch == "\n" else f"\\x{ord(ch):02x}" for ch in str(text))
    # Graphviz expands escapes like \N (the node's id) even in HTML-like labels: double backslashes.
    # Its label parser also rejects "]]" just before a tag, so "]" is written as a character reference.
    text = html.escape(text.replace("\\", "\\\\"), quote=True).replace("]", "&#93;")
    return text.replace("\n", "<BR/>")


def _plain(text):
    """A quoted-string label that DOT shows as written: backslashes doubled, never HTML-like."""
    text = "".join(ch if ch.isprintable() else " " for ch in str(text))
    return graphviz.nohtml(text.replace("\\", "\\\\"))


def _tooltip(text):
    """A tooltip: Graphviz expands escapes in tooltips twice (\\N becomes the node id), so a
    backslash is shown as the look-alike ⧵ there."""
    text = "".join(ch if ch.isprintable() else " " for ch in str(text))
    return graphviz.nohtml(text.replace("\\", "\u29f5"))


def _num(v):
    if not np.isfinite(v):
        return str(v)
    return f"{v:.3g}".replace("-", "−")


def summarize(arr):
    """A short text for an array: the number, the tiny array, or min/mean/max."""
    arr = np.asarray(arr)
    if arr.size == 0:
        return "empty"
    if arr.size == 1:
        return _num(float(arr.reshape(-1)[0]))
    if arr.size <= 4:
        return np.array2string(arr, separator=", ", formatter={"float_kind": _num}).replace("\n", "")
    finite = arr[np.isfinite(arr)]
    bad = arr.size - finite.size
    text = "no finite values" if finite.size == 0 else (
        f"{_num(finite.min())} … {_num(finite.mean())} … {_num(finite.max())}")
    return text + (f"  ({bad} NaN/Inf)" if bad else "")


def edge_text(edge, norm):
    """An edge's label: the norm of the gradient it carries (None: not known) and, for a value
    an op uses several times, the count: ``0.25 (×2)``."""
    used = f"(×{edge.count})" if edge.count > 1 and edge.dst.kind != "junction" else ""
    if norm is None:
        return used
    return (_num(norm) if norm else "0") + (f" {used}" if used else "")


def grad_norm(g):
    """The Euclidean (Frobenius) norm of a gradient, as a float."""
    g = np.asarray(g, dtype=np.float64)
    return float(np.sqrt(np.sum(g * g)))


def _shape_text(node):
    text = "scalar" if node.ndim == 0 else "×".join(str(n) for n in node.shape)
    return text if node.dtype == np.float64 else f"{text} {node.dtype}"


# --- which vertex a node belongs to --------------------------------------------

def _collapse_rule(collapse):
    """A function scope -> the collapsed prefix it belongs to (or None). ``collapse`` is a
    depth, a name or glob (matches at any depth), a path "a/b" or tuple (matches from the
    outermost scope), or a list of these; the outermost match wins."""
    if collapse is None or collapse is False:
        return lambda scope: None
    specs = list(collapse) if isinstance(collapse, (list, set, frozenset)) else [collapse]
    rules = []
    for spec in specs:
        if isinstance(spec, bool) or (isinstance(spec, int) and spec < 1):
            raise ValueError(f"draw: collapse depth must be an integer >= 1, got {spec!r}")
        if isinstance(spec, int):
            rules.append(lambda scope, d=spec: scope[:d] if len(scope) >= d else None)
            continue
        parts = tuple(spec.split("/")) if isinstance(spec, str) else spec
        if not isinstance(parts, tuple) or not parts or not all(isinstance(p, str) and p for p in parts):
            raise ValueError(f"draw: collapse= takes scope names, paths like 't=2/forget gate', "
                             f"globs like 't=*', tuples of names, depths, or a list of these; got {spec!r}")
        rules.append(lambda scope, parts=parts: _match(scope, parts))

    def rule(scope):
        keys = [key for key in (r(scope) for r in rules) if key is not None]
        return min(keys, key=len) if keys else None

    return rule


def _match(scope, parts):
    if len(parts) == 1:           # a name or glob: matches at any depth
        hits = [i for i, s in enumerate(scope) if fnmatch.fnmatchcase(s, parts[0])]
        return scope[:hits[0] + 1] if hits else None
    ok = len(scope) >= len(parts) and all(fnmatch.fnmatchcase(s, p) for s, p in zip(scope, parts))
    return scope[:len(parts)] if ok else None


def _role(node, roots):
    if node in roots:
        return "output"
    if node.op is None:
        if node.requires_grad:
            return "parameter"
        return "input" if node.name is not None else "constant"
    return "intermediate"


def _roots(roots):
    if isinstance(roots, Node):
        return [roots]
    try:
        roots = list(roots)
    except TypeError:
        raise TypeError(f"draw: expects a Node or an iterable of Nodes, got {type(roots).__name__}") from None
    bad = [r for r in roots if not isinstance(r, Node)]
    if bad or not roots:
        raise TypeError(f"draw: expects a Node or a non-empty iterable of Nodes; got "
                        f"{', '.join(type(b).__name__ for b in bad) or 'nothing'}")
    return roots


def edge_gradients(loss):
    """``({(input, consumer): gradient}, {node: ∂L/∂node})`` from one backward pass of the
    scalar ``loss`` (``.grad`` is not touched). What ``draw(..., edge_grads=True)`` uses."""
    edges, node_grads = {}, {}
    for step in backward_steps(loss, accumulate=False):
        node_grads[step.node] = step.grad
        for parent, g in zip(step.node.inputs, step.input_grads):
            if g is not None:
                key = (parent, step.node)
                edges[key] = g if key not in edges else edges[key] + g
    return edges, node_grads


class _Builder:
    """Turns nodes into vertices and edges (collapse, records, junctions)."""

    def __init__(self, roots, collapse, records, hide):
        self.roots = set(roots)
        self.nodes = [n for n in topological_order(roots, needs_grad_only=False) if not (hide and hide(n))]
        shown = set(self.nodes)
        rule = _collapse_rule(collapse)
        self.vertices, self.edges = [], []
        self.inlet, self.outlet = {}, {}      # node -> vertex taking it in / giving its value out
        groups = {}
        for i, node in enumerate(self.nodes):
            key = rule(node.scope)
            if key is not None:
                group = groups.get(key)
                if group is None:
                    group = groups[key] = self._vertex(f"g{len(groups)}", "group", [], key[:-1], "group", key[-1])
                group.nodes.append(node)
                self.inlet[node] = self.outlet[node] = group
                continue
            role = _role(node, self.roots)
            if node.op is None:
                self.inlet[node] = self.outlet[node] = self._vertex(f"n{i}", "data", [node], node.scope, role)
                continue
            op = self._vertex(f"o{i}", "op", [node], node.scope, "op")
            self.inlet[node] = op
            keep = (records == "all" or role == "output"
                    or (records == "named" and node.name is not None))
            if keep:
                data = self._vertex(f"n{i}", "data", [node], node.scope, role)
                self.outlet[node] = data
                self.edges.append(Edge(op, data, node))
            else:
                self.outlet[node] = op
        for group in groups.values():
            if any(n in self.roots for n in group.nodes):
                group.role = "output"
        by_key = {}
        for node in self.nodes:
            for parent in node.inputs:
                if parent not in shown:
                    continue
                src, dst = self.outlet[parent], self.inlet[node]
                if src is dst:
                    continue
                key = (src, dst, parent)
                edge = by_key.get(key)
                if edge is None:
                    edge = by_key[key] = Edge(src, dst, parent, [node], 0)
                    self.edges.append(edge)
                elif node not in edge.consumers:
                    edge.consumers.append(node)
                edge.count += 1

    def repeat_leaves(self):
        """Draw a leaf made outside any scope and used in several top-level clusters (a weight
        shared by every time step) once in each of them, so no edge crosses the whole picture."""
        uses = {}
        for edge in self.edges:
            if edge.consumers and edge.src.kind == "data" and edge.src.nodes[0].op is None and not edge.src.scope:
                site = edge.dst.scope[:1] or (edge.dst.id,)
                uses.setdefault(edge.src, {}).setdefault(site, []).append(edge)
        for vertex, sites in uses.items():
            if len(sites) < 2:
                continue
            self.vertices.remove(vertex)
            for k, edges in enumerate(sites.values()):
                copy = self._vertex(f"{vertex.id}_{k}", "data", vertex.nodes, (), vertex.role)
                copy.copy_of = vertex
                for edge in edges:
                    edge.src = copy
                if k == 0:
                    self.outlet[vertex.nodes[0]] = self.inlet[vertex.nodes[0]] = copy

    def place_leaves(self):
        """Draw a leaf made outside any scope (a parameter, an input) inside the innermost
        cluster that holds all of its uses, next to them."""
        uses = {}
        for edge in self.edges:
            if edge.consumers:
                uses.setdefault(edge.src, []).append(edge.dst.scope)
        for vertex in self.vertices:
            if vertex.kind == "data" and vertex.nodes[0].op is None and not vertex.scope and vertex in uses:
                scopes = uses[vertex]
                vertex.scope = scopes[0][:min(_common(scopes[0], other) for other in scopes)]

    def _vertex(self, vid, kind, nodes, scope, role, name=""):
        v = Vertex(vid, kind, nodes, tuple(scope), role, name)
        self.vertices.append(v)
        return v

    def add_junctions(self):
        """Route a value used several times inside a cluster it comes from outside of
        through one junction point in that cluster."""
        fans = {}
        for edge in self.edges:
            if edge.consumers:
                fans.setdefault((edge.src, edge.node), []).append(edge)
        for (src, node), edges in fans.items():
            entered = {}
            for edge in edges:
                depth = _common(src.scope, edge.dst.scope)
                if len(edge.dst.scope) > depth:
                    entered.setdefault(edge.dst.scope[:depth + 1], []).append(edge)
            for outer, group in entered.items():
                if len(group) < 2:
                    continue
                scope = group[0].dst.scope
                for edge in group[1:]:
                    scope = scope[:_common(scope, edge.dst.scope)]
                junction = self._vertex(f"j{len(self.vertices)}", "junction", [node], scope, "junction")
                consumers = [c for e in group for c in e.consumers]
                self.edges.append(Edge(src, junction, node, consumers, sum(e.count for e in group)))
                for edge in group:
                    edge.src = junction


def _common(a, b):
    n = 0
    for x, y in zip(a, b):
        if x != y:
            break
        n += 1
    return n


# --- the drawing -------------------------------------------------------------

def draw(roots, *, rankdir="LR", values=True, grads=True, records="all", collapse=None, hide=None,
         junctions=True, place_leaves=True, repeat_leaves=True,
         highlight=None, visited=None, edge_grads=None, edge_scale=None,
         legend=False, title=None, names=None, parts=True,
         vertex_attrs=None, edge_attrs=None, cluster_attrs=None, graph_attrs=None):
    """Draw the graph that computed ``roots`` (a Node or several) as a ``graphviz.Digraph``.

    Layout: ``rankdir`` "LR" (default) or "TB". ``values``/``grads``: show value and
    gradient summaries in records (a gradient shows once backward ran, or from
    ``edge_grads=True`` or a highlighted BackwardStep); ``grads="norm"`` shows only the
    gradient's norm. ``records``: "all", "named" or "ends" (see the module docstring).
    ``collapse``: scopes drawn as one node each.
    ``hide(node) -> bool``: leave nodes out (e.g. parameters). ``junctions``: one entry
    point per value and cluster. ``place_leaves``: a leaf made outside any scope is drawn
    in the innermost cluster holding all its uses (W_fx inside "forget gate").
    ``repeat_leaves``: such a leaf used in several top-level clusters (a weight shared by
    every time step) is drawn once in each instead of with long edges into all of them:
    readable, and Graphviz lays out long unrolled graphs in seconds instead of minutes.
    Overlay: ``highlight``, ``visited``, ``edge_grads``; ``edge_scale=(smallest, largest)``
    fixes the norms drawn thinnest and thickest (default: those on this drawing's edges), so
    that drawings of several backward steps share one scale.
    ``legend=True`` adds a legend of the roles. ``title`` is shown on top. ``names``
    maps nodes to the names shown for them (e.g. {C0: "C_t-1"}). ``parts``: an op that
    declares its parts (a fused op, see the module docstring) is drawn as a table of them.

    Hooks for drawings built on top (lstm.diagrams): ``vertex_attrs(vertex) -> dict``,
    ``edge_attrs(edge) -> dict`` and ``cluster_attrs(scope) -> dict`` return Graphviz
    attributes that replace the defaults (``label`` included: an HTML-like label is
    written ``<...>``, any other label is shown as written); ``graph_attrs`` is merged
    into the graph's attributes. The overlay (highlight, fading, gradient labels and
    widths) is applied on top of what the hooks return.
    """
    roots = _roots(roots)
    if rankdir not in ("LR", "TB", "RL", "BT"):
        raise ValueError(f"draw: rankdir must be 'LR' or 'TB' (or 'RL', 'BT'), got {rankdir!r}")
    if records not in ("all", "named", "ends"):
        raise ValueError(f"draw: records must be 'all', 'named' or 'ends', got {records!r}")
    builder = build(roots, collapse, records, hide, repeat_leaves, place_leaves, junctions)
    overlay = Overlay.of(roots, highlight, visited, edge_grads, builder, edge_scale)
    style = Style(builder, overlay, values, grads, records, dict(names or {}), parts, vertex_attrs)
    dot = _new_drawing(rankdir, title, graph_attrs)
    by_scope = {}
    for vertex in builder.vertices:
        by_scope.setdefault(vertex.scope, []).append(vertex)
    _emit_clusters(dot, by_scope, style.attrs, cluster_attrs)
    _emit_edges(dot, builder, overlay, edge_attrs)
    _adjoint_links(dot, builder)
    if legend:
        _legend(dot, builder)
    dot.vertices, dot.edges = builder.vertices, builder.edges
    dot._where = {n: builder.outlet[n] for n in builder.nodes}
    return dot


# --- the core: which vertices and edges --------------------------------------------

def build(roots, collapse=None, records="all", hide=None, repeat_leaves=True, place_leaves=True, junctions=True):
    """The vertices and edges a drawing of ``roots`` is made of (before any styling)."""
    builder = _Builder(roots, collapse, records, hide)
    if repeat_leaves:
        builder.repeat_leaves()
    if place_leaves:
        builder.place_leaves()
    if junctions:
        builder.add_junctions()
    return builder


def _new_drawing(rankdir, title, graph_attrs):
    dot = Drawing(name="tinygraph", format="svg", encoding="utf-8")
    dot.attr("graph", rankdir=rankdir, fontname=FONT, fontsize="12", nodesep="0.25", ranksep="0.35",
             bgcolor="white", pad="0.2")
    dot.attr("node", fontname=FONT, fontsize="11", margin="0.04")
    dot.attr("edge", fontname=FONT, fontsize="9", color="#555555", arrowsize="0.6")
    if title:
        dot.attr("graph", label=f"<<B>{escape_html(title)}</B>>", labelloc="t", fontsize="14")
    if graph_attrs:
        dot.attr("graph", **graph_attrs)
    return dot


# --- the backward overlay ------------------------------------------------------------

@dataclass
class Overlay:
    """What backward adds to a drawing: the highlighted node and its vertices, the nodes
    visited so far (None: no fading), the gradients on the edges (``edge.grad`` is set to
    their norm) and the gradients shown in records (``node_grads``)."""

    node: object = None
    lit: set = field(default_factory=set)
    visited: object = None
    node_grads: dict = field(default_factory=dict)
    scale: tuple = (0.0, 0.0)

    @classmethod
    def of(cls, roots, highlight, visited, edge_grads, builder, edge_scale=None):
        edge_grads, node_grads = _given_grads(roots, edge_grads)
        step = highlight if isinstance(highlight, BackwardStep) else None
        node = highlight.node if step is not None else highlight
        if node is not None and not isinstance(node, Node):
            raise TypeError(f"draw: highlight must be a BackwardStep or a Node, got {type(highlight).__name__}")
        if step is not None:
            node_grads[step.node] = step.grad
            for parent, g in zip(step.node.inputs, step.input_grads):
                if g is not None and (parent, step.node) not in edge_grads:
                    edge_grads[(parent, step.node)] = g
        for edge in builder.edges:
            gs = [edge_grads[(edge.node, c)] for c in edge.consumers if (edge.node, c) in edge_grads]
            if gs:
                edge.grad = grad_norm(sum(gs[1:], gs[0]))
        norms = list(edge_scale or (e.grad for e in builder.edges if e.grad is not None and e.grad > 0))
        scale = (math.log10(min(norms)), math.log10(max(norms))) if norms else (0.0, 0.0)
        lit = set() if node is None else {v for v in builder.vertices if v.kind != "junction" and node in v.nodes}
        return cls(node, lit, None if visited is None else set(visited), node_grads, scale)

    def faded(self, vertex):
        """A vertex backward has not reached yet (drawn grey and dashed)."""
        if self.visited is None or vertex.kind == "junction":
            return False
        need = [n for n in vertex.nodes if n.requires_grad]
        return bool(need) and not any(n in self.visited for n in need)

    def edge_faded(self, edge):
        return (self.visited is not None and edge.node.requires_grad and edge.node not in self.visited
                and not any(c in self.visited for c in edge.consumers))

    def edge_lit(self, edge):
        return self.node is not None and (edge.src in self.lit or edge.dst in self.lit
                                          or (edge.dst.kind == "junction" and edge.node is self.node))

    def width(self, norm):
        """Pen width for a gradient norm: log scale between the smallest and largest drawn."""
        lo, hi = self.scale
        if not norm:
            return 0.6
        return 1.0 if hi == lo else 0.6 + 4.4 * (math.log10(max(norm, 10 ** lo)) - lo) / (hi - lo)


def _given_grads(roots, edge_grads):
    """``edge_grads`` as a dict (computed from the first root for True) and the node gradients."""
    if edge_grads is True:
        loss = roots[0]
        if loss.size != 1 or not loss.requires_grad:
            raise ValueError(f"draw: edge_grads=True computes gradients of the first root, which must be a "
                             f"scalar loss depending on parameters; {loss.label()!r} has shape {loss.shape}"
                             f"{'' if loss.requires_grad else ' and needs no gradient'}. Pass a mapping "
                             f"{{(input, consumer): grad}} instead")
        return edge_gradients(loss)
    if edge_grads is not None and not hasattr(edge_grads, "items"):
        raise TypeError(f"draw: edge_grads must be True or a mapping {{(input_node, consumer_node): grad}}, "
                        f"got {type(edge_grads).__name__}")
    return dict(edge_grads or {}), {}


# --- styles ---------------------------------------------------------------------------

@dataclass
class Style:
    """How each vertex looks: its kind's default attributes, the caller's hook on top, then
    the overlay (faded, highlighted) and a stable SVG id."""

    builder: object
    overlay: Overlay
    values: bool
    grads: object
    records: str
    names: dict
    parts: bool
    hook: object = None

    def attrs(self, vertex):
        faded, lit = self.overlay.faded(vertex), vertex in self.overlay.lit
        a = self.defaults(vertex, faded)
        if self.hook:
            a.update(self.hook(vertex) or {})
        if faded:
            a.update(style=(a.get("style", "") + ",dashed").strip(","), fontcolor=FADED, color=FADED)
        if lit:
            a.update(color=HIGHLIGHT, penwidth="3")
        a["id"] = f"v_{vertex.id}"          # stable ids in the SVG, for pages that restyle it
        return a

    def defaults(self, vertex, faded):
        if vertex.kind == "junction":
            return {"shape": "point", "width": "0.06", "color": "#555555", "label": ""}
        if vertex.kind == "op":
            if self.parts and _has_parts(vertex.nodes[0].op):
                return _parts_attrs(vertex.nodes[0], self.records, self.names, self.values, self.grads,
                                    self.overlay.node_grads)
            return _op_attrs(vertex, self.records, self.names)
        if vertex.kind == "group":
            return _group_attrs(vertex, self.builder, self.names)
        return _data_attrs(vertex.nodes[0], vertex.role, self.values, self.grads, self.overlay.node_grads, faded,
                           self.names)


def _emit_edges(dot, builder, overlay, edge_attrs):
    for k, edge in enumerate(builder.edges):
        a = dict(edge_attrs(edge) or {}) if edge_attrs else {}
        given = str(a.get("label", ""))
        used = edge_text(edge, edge.grad)
        if edge.grad is not None:
            a.update(fontcolor=GRAD_FONT, penwidth=f"{overlay.width(edge.grad):.2f}")
            if not edge.grad:
                a["style"] = "dashed"
        if used and not given.startswith("<"):
            a["label"] = f"{given} {used}".strip()
        if overlay.edge_lit(edge):
            a.update(color=HIGHLIGHT, penwidth=str(max(3.0, float(a.get("penwidth", 1)))))
        elif overlay.edge_faded(edge):
            a.update(color=FADED, style="dashed")
        if "label" in a and not str(a["label"]).startswith("<"):
            a["label"] = _plain(a["label"])
        dot.edge(edge.src.id, edge.dst.id, id=f"e_{k}", **a)


def _adjoint_links(dot, builder):
    """With ``create_graph=True`` the gradients are Nodes: link each drawn adjoint (F̄) to the
    forward value it is the gradient of, by a dotted purple line that does not steer the layout."""
    for node in builder.nodes:
        forward = getattr(node, "adjoint_of", None)
        if forward is None or forward not in builder.outlet or node not in builder.outlet:
            continue
        src, dst = builder.outlet[node], builder.outlet[forward]
        if src is not dst:
            dot.edge(src.id, dst.id, style="dotted", color=ADJOINT, penwidth="1.6", arrowhead="none",
                     constraint="false", tooltip=_tooltip(f"{node.label()} = ∂L/∂{forward.label()}"))


def _emit_clusters(dot, by_scope, attrs_of, cluster_attrs):
    """Each scope prefix becomes a cluster nested in its parent's; vertices go in theirs."""
    children = {}
    for scope in by_scope:
        for depth in range(1, len(scope) + 1):
            children.setdefault(scope[:depth - 1], set()).add(scope[:depth])
    counter = iter(range(10 ** 9))

    def fill(graph, scope):
        for vertex in by_scope.get(scope, ()):
            graph.node(vertex.id, **_finish(attrs_of(vertex)))
        for child in sorted(children.get(scope, ()), key=_scope_sort_key):
            depth = len(child)
            with graph.subgraph(name=f"cluster_{next(counter)}") as sub:
                backward = child[0].startswith("backward")        # built by backward(create_graph=True)
                sub.attr(label=f"<<B>{escape_html(child[-1])}</B>>" if depth == 1 else f"<{escape_html(child[-1])}>",
                         style="rounded,filled" if depth == 1 else "rounded,dashed",
                         fillcolor=BACKWARD_FILL if backward else "#F7F7F7",
                         color=ADJOINT if backward else "#9A9A9A", fontcolor="#444444",
                         fontsize="13" if depth == 1 else "11", labeljust="l",
                         tooltip=_tooltip("/".join(child)))
                if cluster_attrs:
                    sub.attr(**_finish(cluster_attrs(child) or {}))
                fill(sub, child)

    fill(dot, ())


def _scope_sort_key(scope):
    """t=2 before t=10: compare numbers in scope names as numbers."""
    last = scope[-1]
    head, _, num = last.rpartition("=")
    return (head, int(num), "") if num.isdigit() else (last, -1, last)


def _finish(attrs):
    """Attribute values as DOT strings; a tooltip is always plain text, never HTML-like."""
    out = {}
    for k, v in attrs.items():
        if k == "tooltip" and not isinstance(v, graphviz.quoting.NoHtml):
            v = _tooltip(v)
        out[k] = v if isinstance(v, str) else str(v)
    return out


def _data_attrs(node, role, values, grads, node_grads, faded, names):
    fill, border = ROLE_COLORS[role]
    if faded:
        fill = "#FAFAFA"
    name = names.get(node, node.name)
    named = name is not None
    if not named:
        name = node.op.name if node.op is not None else "?"
    tooltip = f"{node.label()} {_shape_text(node)} {role}" + (f" in {'/'.join(node.scope)}" if node.scope else "")
    if role == "constant":
        return {"shape": "box", "style": "rounded,filled", "fillcolor": fill, "color": border,
                "fontsize": "9", "height": "0.2", "label": f"<{escape_html(summarize(node.value))}>",
                "tooltip": tooltip}
    title = f"<B>{escape_html(name)}</B>" if named else f'<I><FONT COLOR="#666666">{escape_html(name)}</FONT></I>'
    rows = [f'<TR><TD>{title} <FONT POINT-SIZE="9">{escape_html(_shape_text(node))}</FONT></TD></TR>']
    if values:
        rows.append(f'<TR><TD><FONT POINT-SIZE="9">{escape_html(summarize(node.value))}</FONT></TD></TR>')
    g = _array(node_grads.get(node, node.grad)) if grads else None
    if g is not None:
        text = f"‖grad‖ {_num(grad_norm(g))}" if grads == "norm" else f"grad {summarize(g)}"
        rows.append(f'<TR><TD><FONT POINT-SIZE="9" COLOR="{GRAD_FONT}">{escape_html(text)}</FONT></TD></TR>')
    label = ('<<TABLE BORDER="0" CELLBORDER="0" CELLSPACING="0" CELLPADDING="2">'
             + "".join(rows) + "</TABLE>>")
    # the shape tells parameters (square corners, like a weight matrix) from values (rounded)
    style = "filled" if role == "parameter" else "rounded,filled"
    return {"shape": "box", "style": style, "fillcolor": fill, "color": border,
            "penwidth": "1.2", "label": label, "tooltip": tooltip}


def _op_attrs(vertex, records, names):
    node = vertex.nodes[0]
    symbol = node.op.symbol
    tip = f"{node.op.describe()} → {node.label()} {_shape_text(node)}"
    a = {"style": "filled", "fillcolor": OP_COLORS[0], "color": OP_COLORS[1], "tooltip": tip}
    named = node.name is not None and records == "ends"
    if len(symbol) <= 2 and not named:
        a.update(shape="circle", width="0.3", height="0.3", fixedsize="false", margin="0.02",
                 label=f"<{escape_html(symbol)}>", fontsize="13")
    else:
        text = f"<{escape_html(symbol)}"
        if named:
            text += f'<BR/><FONT POINT-SIZE="9">{escape_html(names.get(node, node.name))}</FONT>'
        a.update(shape="ellipse", height="0.3", margin="0.03,0.01", label=text + ">")
    return a


def _array(g):
    """A gradient as numbers: with create_graph=True ``.grad`` is a Node (its value is shown)."""
    return g.value if isinstance(g, Node) else g


def _has_parts(op):
    return callable(getattr(op, "parts", None)) and bool(getattr(op, "part_symbols", None))


def _parts_attrs(node, records, names, values, grads, node_grads):
    """A fused op as a table of its parts: the op's symbol on top, then one row per part
    (symbol, name, value summary, gradient summary), then the op's equations."""
    op = node.op
    got = op.parts()
    g = _array(node_grads.get(node, node.grad)) if grads else None
    part_grads = {}
    if g is not None and callable(getattr(op, "part_grads", None)):
        part_grads = op.part_grads(np.asarray(g), node.value, *(p.value for p in node.inputs)) or {}
    shown = [name for name in op.part_symbols if name in got]
    columns = 2 + bool(values) + bool(part_grads)
    small = '<FONT POINT-SIZE="9">{}</FONT>'
    head = f"<B>{escape_html(op.symbol)}</B>"
    if node.name is not None and records == "ends":
        head += " " + small.format(escape_html(names.get(node, node.name)))
    rows = [f'<TR><TD COLSPAN="{columns}" BORDER="1" SIDES="B">{head}</TD></TR>']
    for name in shown:
        cells = [f'<TD ALIGN="RIGHT">{escape_html(op.part_symbols[name])}</TD>',
                 f'<TD ALIGN="LEFT"><B>{escape_html(name)}</B></TD>']
        if values:
            cells.append(f'<TD ALIGN="LEFT">{small.format(escape_html(summarize(got[name])))}</TD>')
        if part_grads:
            pg = part_grads.get(name)
            text = "" if pg is None else (f"‖grad‖ {_num(grad_norm(pg))}" if grads == "norm"
                                          else f"grad {summarize(pg)}")
            cells.append(f'<TD ALIGN="LEFT"><FONT POINT-SIZE="9" COLOR="{GRAD_FONT}">{escape_html(text)}</FONT></TD>')
        rows.append("<TR>" + "".join(cells) + "</TR>")
    equations = list(getattr(op, "part_equations", ()) or ())
    for k, line in enumerate(equations):
        rule = ' BORDER="1" SIDES="T"' if k == 0 else ""
        rows.append(f'<TR><TD COLSPAN="{columns}" ALIGN="LEFT"{rule}>{escape_html(line)}</TD></TR>')
    label = ('<<TABLE BORDER="0" CELLBORDER="0" CELLSPACING="0" CELLPADDING="2" COLOR="'
             + OP_COLORS[1] + '">' + "".join(rows) + "</TABLE>>")
    tip = f"{op.describe()} → {node.label()} {_shape_text(node)}"
    return {"shape": "box", "style": "rounded,filled", "fillcolor": OP_COLORS[0], "color": OP_COLORS[1],
            "penwidth": "1.2", "margin": "0.05,0.03", "label": label, "tooltip": tip}


def _group_attrs(vertex, builder, names):
    members = set(vertex.nodes)
    outputs = [n for n in vertex.nodes if n in builder.roots
               or any(e.node is n for e in builder.edges if e.src is vertex)]
    shown = ", ".join(dict.fromkeys(names.get(n, n.label()) for n in outputs))
    label = f"<<B>{escape_html(vertex.name)}</B>"
    if shown:
        label += f'<BR/><FONT POINT-SIZE="9">→ {escape_html(shown)}</FONT>'
    label += f'<BR/><FONT POINT-SIZE="8" COLOR="#666666">{sum(1 for n in members if n.op)} ops</FONT>>'
    fill, border = GROUP_COLORS if vertex.role != "output" else ROLE_COLORS["output"]
    return {"shape": "box", "style": "rounded,filled", "fillcolor": fill, "color": border,
            "penwidth": "1.4", "label": label, "tooltip": "/".join(vertex.scope + (vertex.name,))}


def _legend(dot, builder):
    """One node with a table of the roles' colours (and ops, collapsed scopes)."""
    cells = [(role, *ROLE_COLORS[role]) for role in ROLE_COLORS]
    cells.append(("op (×, +, σ …)", *OP_COLORS))
    if any(v.kind == "group" for v in builder.vertices):
        cells.append(("collapsed scope", *GROUP_COLORS))
    rows = ""
    for text, fill, border in cells:
        corners = "" if text == "parameter" else ' STYLE="rounded"'
        rows += f'<TR><TD BGCOLOR="{fill}" COLOR="{border}" BORDER="1"{corners}>{escape_html(text)}</TD></TR>'

    with dot.subgraph() as sink:        # after the last rank: right of the graph (below it in TB)
        sink.attr(rank="sink")
        sink.node("legend", label=f'<<TABLE BORDER="0" CELLSPACING="3" CELLPADDING="3">'
                                 f'<TR><TD><B>legend</B></TD></TR>{rows}</TABLE>>',
                  shape="plain", fontsize="10")
