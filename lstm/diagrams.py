"""The texts' LSTM diagrams, drawn from a real executed graph with ``tinygraph.draw``.

Three views of every variant (blog, paper, peephole, rnn), each a ``graphviz.Digraph``:

- ``ops``: every primitive op of one or more time steps, clustered per step and per
  gate network, parameters named as in the text (seed 001's computational graph);
- ``cell``: one step, each gate network collapsed to one box (σ, tanh ...), the valves
  as × and +: the memory pipe C_t-1 → × → + → C_t runs straight along the top row,
  the gate networks side by side below it, the hidden path H_t-1 → H_t straight along
  the bottom, X_t entering the gates from below them (seed 002);
- ``unrolled``: T cells side by side, C and H handed from each step to the next.

The memory path (C, or the paper's s) is drawn in green and the hidden path (H, z_h,
the RNN's h) in blue in every view. ``grads=True`` overlays the backward pass of the
loss L (cross-entropy of the last step's output only, so every label along the pipe
shows how much of ∂L/∂C_T is left t steps back): each edge is labelled with the norm
of the gradient flowing back along it and drawn thicker the larger it is. ``highlight``,
``visited`` and ``edge_grads`` are passed to ``tinygraph.draw`` (the notebook stepper's
overlay). Every view takes a variant name (a seeded random example is built and run) or
an ``Example`` from ``example(...)``.

>>> from lstm import diagrams
>>> dot = diagrams.cell("blog", grads=True)            # a graphviz.Digraph
>>> paths = diagrams.render_all("out", fmt="svg")      # every variant's cell + unrolled view
"""
from dataclasses import dataclass
from pathlib import Path

import numpy as np

import tinygraph as tg
from lstm import losses
from lstm.cells import VARIANTS, make_cell
from tinygraph.draw import ROLE_COLORS, escape_html as _h

MEMORY_COLOR = "#1A9850"
HIDDEN_COLOR = "#2166AC"
VIEWS = ("ops", "cell", "unrolled")
FORMATS = ("svg", "png", "pdf", "dot")
#: newrank lets the rows' rank=same constraints reach across the step clusters (cell views
#: only: it makes dot far slower on the large op graphs)
ROW_LAYOUT = {"newrank": "true"}
PNG_DPI = 144


@dataclass(frozen=True)
class Notation:
    """How a variant names its state: the memory (C / s) and hidden (H / z_h / h) values,
    their initial nodes, and the valves on the memory pipe."""

    memory: str             # the memory after a step ("C_t", "s"); "" for the RNN
    memory0: str            # its initial node
    hidden: str             # the hidden output of a step
    hidden0: str
    valves: tuple           # the memory's valves: the forget valve (on the pipe), the input valve
    shown: dict             # node name -> name shown in the cell view
    hidden_path: tuple = () # ops between the hidden states, drawn on the hidden row
    name_valves: bool = True  # write each valve's name beside it in the cell view


NOTATION = {
    "blog": Notation("C_t", "C0", "H_t", "H0", ("F×C", "I×C_i"),
                     {"C0": "C_t-1", "H0": "H_t-1", "X": "X_t"}),
    "peephole": Notation("C_t", "C0", "H_t", "H0", ("F×C", "I×C_i"),
                         {"C0": "C_t-1", "H0": "H_t-1", "X": "X_t"}),
    "paper": Notation("s", "s0", "z_h", "z_h0", ("g_φ s", "g_ι z_c"),
                      {"s0": "s(t-1)", "z_h0": "z_h(t-1)", "x": "x(t)", "s": "s(t)", "z_h": "z_h(t)"}),
    # the GRU's H is its memory and its output at once: the pipe H_t-1 → × → + → H_t
    "gru": Notation("H_t", "H0", "H_t", "H0", ("Z×H", "(1−Z)×N"), {"H0": "H_t-1", "X": "X_t"}),
    "rnn": Notation("", "", "h_t", "h0", (), {"h0": "h_t-1", "X": "X_t"},
                    hidden_path=("h W_h", "X W_x + h W_h", "X W_x + h W_h + b"), name_valves=False),
}


@dataclass
class Example:
    """One executed graph to draw: the cell, its unrolled run and the loss L."""

    variant: str
    cell: object
    run: object
    loss: tg.Node

    @property
    def notation(self):
        return NOTATION[self.variant]


def example(variant="blog", steps=1, input_size=3, hidden_size=4, batch=2, seed=0, loss="ce"):
    """Build and run ``variant`` for ``steps`` steps on random inputs from a random state (as in
    the middle of a sequence; all seeded), with the loss L of the last step's output: ``"ce"``,
    the cross-entropy against random class targets, or ``"mse"``, the squared error against
    random targets. Sizes: d (paper N) = ``input_size``, h (paper D) = ``hidden_size``,
    ``batch`` rows (not for the paper's single sequence)."""
    if loss not in ("ce", "mse"):
        raise ValueError(f"diagrams: unknown loss {loss!r}; choose 'ce' or 'mse'")
    if variant not in VARIANTS:
        raise ValueError(f"diagrams: unknown variant {variant!r}; choose one of {list(VARIANTS)}")
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 1:
        raise ValueError(f"diagrams: steps must be a positive integer, got {steps!r}")
    cell = make_cell(variant, input_size, hidden_size, seed=seed)
    rng = np.random.default_rng(seed + 1)
    if variant == "paper":
        inputs = rng.normal(size=(steps, input_size))
        targets = rng.integers(0, hidden_size, size=(1,))
    else:
        inputs = rng.normal(size=(steps, batch, input_size))
        targets = rng.integers(0, hidden_size, size=(1, batch))
    # a random state, as in the middle of a sequence; parameters, so ∂L/∂C_t-1 and ∂L/∂H_t-1 are computed
    shape = cell.state_shape(batch)
    initial = {key: tg.parameter(rng.normal(scale=0.5, size=shape), name=key) for key in cell.STATE}
    run = cell.unroll(inputs, initial_state=initial)
    if loss == "mse":
        return Example(variant, cell, run, losses.mse(run.outputs[-1:], rng.normal(size=(1,) + run.outputs[-1].shape)))
    return Example(variant, cell, run, losses.ce(run.outputs[-1:], targets))


def _example(source, steps):
    return source if isinstance(source, Example) else example(source, steps=steps)


def _path_colors(ex):
    """Node -> colour of the path it belongs to (memory green, hidden blue)."""
    n = ex.notation
    colors = {}
    for key, node in ex.run.initial_state.items():
        colors[node] = MEMORY_COLOR if key == n.memory0 else HIDDEN_COLOR
    for step in ex.run.steps:
        for name in (n.memory,) + n.valves:
            if name in step:
                colors[step[name]] = MEMORY_COLOR
        colors[step[n.hidden]] = HIDDEN_COLOR
    return colors


def _styles(ex, colors, pipe_group=True):
    """Hooks for tinygraph.draw: path colours on edges and valves; the memory pipe's nodes
    share a Graphviz group (drawn on one straight row), and so do the hidden path's."""
    n = ex.notation
    pipe = {ex.run.initial_state[n.memory0]} if n.memory0 else set()
    for step in ex.run.steps:
        pipe |= {step[name] for name in (n.memory,) + n.valves[:1] if name in step}
    hidden_row = {ex.run.initial_state[n.hidden0]}
    for step in ex.run.steps:
        hidden_row |= {step[name] for name in (n.hidden,) + n.hidden_path}

    states = set(ex.run.initial_state.values())

    def vertex_attrs(vertex):
        a = {}
        if vertex.kind == "data" and vertex.nodes[0] in states:
            a.update(fillcolor=ROLE_COLORS["input"][0], style="rounded,filled")   # a state handed in, not a weight
        if vertex.kind in ("op", "data") and vertex.nodes[0] in colors:
            a.update(color=colors[vertex.nodes[0]], penwidth="2")
        if pipe_group and vertex.kind in ("op", "data", "junction"):
            if vertex.nodes[0] in pipe:
                a["group"] = "memory"
            elif vertex.nodes[0] in hidden_row:
                a["group"] = "hidden"
        return a

    def edge_attrs(edge):
        color = colors.get(edge.node)
        a = {} if color is None else {"color": color, "penwidth": "2"}
        for row in (pipe, hidden_row):
            if pipe_group and edge.node in row and edge.dst.kind != "group" and (
                    not edge.consumers or any(c in row for c in edge.consumers)):
                a["weight"] = "20"
        return a

    return vertex_attrs, edge_attrs


def _gate_attrs(vertex, names):
    """A gate network as the texts draw it: a box with its activation's symbol and output."""
    outputs = [node for node in vertex.nodes if node.name and node.op is not None
               and node.scope == vertex.scope + (vertex.name,) and node.op.symbol in ("σ", "tanh", "id", "relu")]
    out = outputs[-1] if outputs else vertex.nodes[-1]
    shown = names.get(out, out.name or "")
    label = (f'<<FONT POINT-SIZE="16">{_h(out.op.symbol)}</FONT>'
             f'<BR/><B>{_h(shown)}</B><BR/><FONT POINT-SIZE="9" COLOR="#555555">{_h(vertex.name)}</FONT>>')
    return {"label": label, "shape": "box", "style": "rounded,filled", "fillcolor": "#FFF5CC",
            "color": "#B38F00", "margin": "0.08,0.04"}


def _hide_in_cell_views(ex):
    """The cell's parameters (shared by every step: one edge per step would hide the cell)
    and constants (the 1 of the paper's [x; z_h; s; 1]) are left out of the cell views."""
    parameters = set(ex.cell.parameters().values())
    return lambda node: node in parameters or (node.op is None and node.name is None)


def _overlay(grads, highlight, visited, edge_grads):
    """tinygraph.draw's backward overlay: ``grads=True`` computes every edge's gradient of L;
    ``edge_grads`` (a mapping, e.g. what a Stepper has sent so far) is drawn as given."""
    return {"edge_grads": edge_grads if edge_grads is not None else (True if grads else None),
            "highlight": highlight, "visited": visited}


def _rows(dot, ex):
    """Put the memory pipe on the top row and the hidden path on the bottom row: the initial
    memory sits above the initial hidden state, and an invisible, heavy edge runs along the
    hidden states so dot lines them up (the pipe is lined up by its Graphviz group). Each
    step's X_t comes after the previous hidden state, so the steps' boxes follow each other
    from left to right instead of stacking up in a staircase."""
    n = ex.notation
    h_ids = [dot.vertex_of(ex.run.initial_state[n.hidden0]).id]
    h_ids += [dot.vertex_of(step[n.hidden]).id for step in ex.run.steps]
    if n.memory0:
        c0 = dot.vertex_of(ex.run.initial_state[n.memory0]).id
        dot.body.append(f"\t{{rank=same; {c0} -> {h_ids[0]} [style=invis]}}\n")
    for a, b in zip(h_ids, h_ids[1:]):
        dot.body.append(f"\t{a} -> {b} [style=invis weight=3]\n")
    for h_before, x in zip(h_ids, ex.run.inputs):
        dot.body.append(f"\t{h_before} -> {dot.vertex_of(x).id} [style=invis]\n")
    return dot


def _valve_attrs(vertex, names, roots, show_name=True):
    """Valves and other named ops of the cell views: the op's symbol, its name beside it."""
    node = vertex.nodes[0]
    small = len(node.op.symbol) <= 2
    a = {"label": f'<<FONT POINT-SIZE="{16 if small else 13}">{_h(node.op.symbol)}</FONT>>',
         "shape": "circle" if small else "box", "style": "filled" if small else "rounded,filled",
         "width": "0.36", "height": "0.36"}
    if node.name and node not in roots and show_name:
        a["xlabel"] = f'<<FONT POINT-SIZE="10">{_h(names.get(node, node.name))}</FONT>>'
    return a


def ops(source="blog", steps=1, grads=False, highlight=None, visited=None, edge_grads=None, rankdir="LR",
        legend=True):
    """Every primitive op of ``steps`` time steps (or of an ``Example``), clustered per step and
    gate network, with the parameters and the loss L; the state paths coloured."""
    ex = _example(source, steps)
    colors = _path_colors(ex)
    vertex_attrs, edge_attrs = _styles(ex, colors, pipe_group=False)
    T = len(ex.run.steps)
    return tg.draw(ex.loss, rankdir=rankdir, legend=legend, vertex_attrs=vertex_attrs, edge_attrs=edge_attrs,
                   title=f"{_TITLES[ex.variant]}: every op, {T} step{'s' if T > 1 else ''}, loss L",
                   **_overlay(grads, highlight, visited, edge_grads))


def cell(source="blog", grads=False, highlight=None, visited=None, edge_grads=None):
    """One cell (the first step of ``source``), each gate network collapsed to a box, the memory
    pipe along the top, the gates side by side below it, the hidden path along the bottom and
    X_t entering the gates from below (seed 002's picture). With ``grads`` the loss L
    (collapsed to one node) is drawn too."""
    ex = _example(source, 1)
    if len(ex.run.steps) != 1:
        raise ValueError(f"diagrams.cell: draws one step; got an example of {len(ex.run.steps)} steps "
                         f"(make it with example({ex.variant!r}, steps=1), or use the unrolled view)")
    n = ex.notation
    step = ex.run.steps[0]
    names = {ex.run.initial_state[k]: n.shown[k] for k in ex.run.initial_state}
    names[ex.run.inputs[0]] = n.shown[ex.run.inputs[0].name]
    names.update({step[k]: v for k, v in n.shown.items() if k in step and step[k] not in names})
    vertex_attrs, edge_attrs = _styles(ex, _path_colors(ex))
    roots = [step[k] for k in (n.memory, n.hidden) if k]
    if grads or highlight is not None or visited is not None or edge_grads is not None:
        roots.insert(0, ex.loss)

    def vattrs(vertex):
        a = vertex_attrs(vertex)
        if vertex.kind == "group" and vertex.name != "loss":
            a.update(_gate_attrs(vertex, names), group="gates")
        elif vertex.kind == "op" and vertex.nodes[0].name:
            a.update(_valve_attrs(vertex, names, roots, n.name_valves))
        return a

    H0, first = ex.run.initial_state[n.hidden0], _first_on_hidden_row(ex)

    def eattrs(edge):
        a = edge_attrs(edge)
        if edge.src.nodes[0] is H0 and edge.dst.kind == "op" and edge.dst.nodes[0] is first:
            a.update(_ROW_PORTS)    # on top of _cell_rows's invisible edge, not bent beside it
        return a

    def cluster_attrs(scope):
        return ({"label": f"<<B>{_h(_TITLES[ex.variant])}</B>: one cell>", "labelloc": "b"}
                if scope[0].startswith("t=") else {})

    dot = tg.draw(roots, collapse=[2, "loss"], records="ends", hide=_hide_in_cell_views(ex), values=False, grads="norm",
                  graph_attrs=ROW_LAYOUT,
                  place_leaves=False,
                  names=names, vertex_attrs=vattrs, edge_attrs=eattrs, cluster_attrs=cluster_attrs,
                  **_overlay(grads, highlight, visited, edge_grads))
    return _cell_rows(dot, ex)


#: the gate networks of a cell from left to right, as seed 002 draws them
_GATE_ORDER = ("forget gate", "input gate", "new memory", "input value", "output gate",
               "update gate", "reset gate", "candidate")
_ROW_PORTS = {"tailport": "e", "headport": "w"}


def _first_on_hidden_row(ex):
    """The first op on the hidden row after H_t-1: the op making H_t (the RNN's h W_h)."""
    n = ex.notation
    return ex.run.steps[0][(n.hidden_path or (n.hidden,))[0]]


def _cell_rows(dot, ex):
    """The cell view's three rows (seed 002's picture): the memory pipe along the top, the gate
    networks side by side in the middle (a Graphviz group and an invisible chain: forget,
    input, new memory, output), the hidden path H_t-1 → H_t straight along the bottom; X_t
    comes after H_t-1, below the gates, and its edges go up into them.

    The hidden row is held by an invisible, heavy edge from H_t-1 to the first op on it:
    without it the gates pull H_t-1 up, and an edge label (``grads=True``) shifts it by a few
    points. With peepholes (the memory feeds the gates too) X_t also follows H_t-1's
    junction, else dot routes one of X_t's edges over the pipe; without peepholes that same
    edge lifts X_t above the gates (tests/test_diagrams.py checks every variant, with and
    without ``grads``)."""
    n = ex.notation
    H0 = ex.run.initial_state[n.hidden0]
    h0 = dot.vertex_of(H0).id
    junctions = {v.nodes[0]: v.id for v in dot.vertices if v.kind == "junction"}
    peepholes = n.memory0 and ex.run.initial_state[n.memory0] in junctions
    first = _first_on_hidden_row(ex)
    first_id = next(v.id for v in dot.vertices if v.kind == "op" and v.nodes[0] is first)
    x = dot.vertex_of(ex.run.inputs[0]).id
    gates = sorted((v for v in dot.vertices if v.kind == "group" and v.name in _GATE_ORDER),
                   key=lambda v: _GATE_ORDER.index(v.name))
    if n.memory0:
        c0 = dot.vertex_of(ex.run.initial_state[n.memory0]).id
        dot.body.append(f"\t{{rank=same; {c0} -> {h0} [style=invis]}}\n")
    direct = any(e.src.nodes[0] is H0 and e.dst.id == first_id for e in dot.edges)   # the RNN's h → h W_h
    ports = "".join(f" {k}={v}" for k, v in _ROW_PORTS.items()) if direct else ""
    dot.body.append(f"\t{h0} -> {first_id} [style=invis weight=100 minlen=2{ports}]\n")
    dot.body.append(f"\t{h0} -> {x} [style=invis]\n")
    if peepholes and H0 in junctions:
        dot.body.append(f"\t{junctions[H0]} -> {x} [style=invis]\n")
    if len(gates) > 1:
        dot.body.append("\t" + " -> ".join(v.id for v in gates) + " [style=invis weight=10]\n")
    return dot


def unrolled(source="blog", steps=4, grads=False, highlight=None, visited=None, edge_grads=None):
    """``steps`` cells side by side (each gate network collapsed), C and H handed on from step
    to step; with ``grads`` the labels along the pipe show ∂L/∂C_t and ∂L/∂H_t shrinking."""
    ex = _example(source, steps)
    n = ex.notation
    vertex_attrs, edge_attrs = _styles(ex, _path_colors(ex))
    roots = [ex.loss] + [ex.run.final_state[k] for k in (n.memory0, n.hidden0) if k]

    def vattrs(vertex):
        a = vertex_attrs(vertex)
        if vertex.kind == "group" and vertex.name != "loss":
            a.update(_gate_attrs(vertex, {}))
        elif vertex.kind == "op" and vertex.nodes[0].name:
            a.update(_valve_attrs(vertex, {}, roots))
            a.pop("xlabel", None)
        return a

    T = len(ex.run.steps)
    dot = tg.draw(roots, collapse=[2, "loss"], records="ends", hide=_hide_in_cell_views(ex), values=False, grads="norm",
                  graph_attrs=ROW_LAYOUT,
                  place_leaves=False,
                  vertex_attrs=vattrs, edge_attrs=edge_attrs,
                  title=f"{_TITLES[ex.variant]} unrolled over {T} step{'s' if T > 1 else ''}"
                        + (": gradient norms of L on the edges" if grads else ""),
                  **_overlay(grads, highlight, visited, edge_grads))
    return _rows(dot, ex)


_TITLES = {"blog": "BlogLSTM (seed 001)", "paper": "PaperLSTM (seed 000)",
           "peephole": "PeepholeLSTM (seed 002)", "rnn": "VanillaRNN", "gru": "GRU (PyTorch's convention)"}
_VIEW_FUNCTIONS = {"ops": ops, "cell": cell, "unrolled": unrolled}


def view(variant, name, steps=None, grads=False, **overlay):
    """The drawing of ``variant`` in view ``name`` ("ops", "cell", "unrolled")."""
    if name not in _VIEW_FUNCTIONS:
        raise ValueError(f"diagrams: unknown view {name!r}; choose one of {list(VIEWS)}")
    if name == "cell":
        return cell(variant, grads=grads, **overlay)
    default = 1 if name == "ops" else 4
    return _VIEW_FUNCTIONS[name](variant, steps=default if steps is None else steps, grads=grads, **overlay)


def save(dot, path, fmt):
    """Write ``dot`` to ``path`` as svg, png, pdf or dot (the DOT source); returns the path."""
    path = Path(path)
    if fmt not in FORMATS:
        raise ValueError(f"diagrams: unknown format {fmt!r}; choose one of {list(FORMATS)}")
    path.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "dot":
        path.write_text(dot.source, encoding="utf-8")
        return path
    if fmt == "png":            # sharp enough for a slide (Graphviz's default is 96 dpi)
        dot = dot.copy()
        dot.attr("graph", dpi=str(PNG_DPI))
    path.write_bytes(dot.pipe(format=fmt))
    return path


def render_all(out_dir, fmt="svg", steps=4, grads=True, save=save):
    """Render the cell view (plain, as on a slide) and the unrolled view over ``steps`` steps
    (with the gradient overlay unless ``grads=False``) of every variant into ``out_dir``;
    returns the paths ``{variant}_cell.{fmt}`` and ``{variant}_unrolled.{fmt}``. Each file
    is written by ``save(dot, path, fmt)`` (the command line passes one that checks paths)."""
    out_dir = Path(out_dir)
    paths = []
    for variant in VARIANTS:
        paths.append(save(cell(variant), out_dir / f"{variant}_cell.{fmt}", fmt))
        paths.append(save(unrolled(variant, steps=steps, grads=grads), out_dir / f"{variant}_unrolled.{fmt}", fmt))
    return paths
