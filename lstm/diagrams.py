"""The texts' LSTM diagrams, drawn from a real executed graph with ``tinygraph.draw``.

Three views of every variant (blog, paper, peephole, rnn, gru), each a ``graphviz.Digraph``:

- ``ops``: every primitive op of one or more time steps, clustered per step and per
  gate network, parameters named as in the text (seed 001's computational graph), top to
  bottom, each step's gate networks one below the other in the pipe's order;
- ``cell``: one step, each gate network collapsed to one box (its activation, output and
  formula, e.g. σ(X W_fx + H W_fh + b_f)), the valves as × and + with seed 002's names
  (forget valve, new-memory valve, output valve): the memory pipe C_t-1 → × → + → C_t runs
  straight along the top row, the gate networks side by side below it in the order of the
  pipe (F, I, C_i, O), the hidden path H_t-1 → H_t straight along the bottom, X_t entering
  the gates from below them (seed 002);
- ``unrolled``: T cells, C and H handed from each step to the next; ``per_row`` wraps the
  steps into rows (a slide), and with ``grads`` each step is shaded by the norm of the
  gradient of L with respect to its state, so vanishing shows on the picture.

Every view draws the gates in one order, F, I, C_i, O (the order along the memory pipe):
left to right in the cell and unrolled views, one below the other in the ops view;
the memory path (C, or the paper's s) in green and the hidden path (H, z_h, the RNN's h)
in blue. ``grads=True`` overlays the backward pass of the loss L (cross-entropy of the
last step's output only, so every label along the pipe shows how much of ∂L/∂C_T is left
t steps back): each edge is labelled with ‖∂L/∂v‖, the norm of the gradient of L with
respect to the value v on that edge, and drawn thicker the larger it is; a caption under
the drawing says so. ``highlight``, ``visited`` and ``edge_grads`` are passed to
``tinygraph.draw`` (the notebook stepper's overlay). Every view takes a variant name (a
seeded random example is built and run) or an ``Example`` from ``example(...)``.

The layout is asked of Graphviz as relations (``_same_rank``: one column; ``_keep_in_line``:
an invisible edge heavy enough to straighten a row; ``_order``: an invisible chain that
orders boxes), and tests/test_diagrams.py checks the result as relations read back from
the rendered SVG: on the same row, left of, above, inside, not covered.

>>> from lstm import diagrams
>>> dot = diagrams.cell("blog", grads=True)            # a graphviz.Digraph
>>> paths = diagrams.render_all("out", fmt="svg")      # every variant's cell + unrolled view
"""
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

import tinygraph as tg
from lstm import losses, slide
from lstm.cells import VARIANTS, make_cell, variant_of
from tinygraph.draw import ROLE_COLORS, edge_gradients, escape_html as _h

MEMORY_COLOR = "#1A9850"
HIDDEN_COLOR = "#2166AC"
VIEWS = ("ops", "cell", "unrolled")
FORMATS = ("svg", "png", "pdf", "dot")
#: a font whose ι has a tail (in Helvetica/Arial ι looks like a dotless i)
FONT = "DejaVu Sans"
#: newrank lets the rows' rank=same constraints reach across the step clusters (the ops view
#: uses it only for its gate bands: it makes dot slower on large op graphs, 2.9 s against 0.5 s
#: for 20 BlogLSTM steps with gradients)
ROW_LAYOUT = {"newrank": "true", "fontname": FONT, "ranksep": "0.25", "nodesep": "0.18"}
#: the cell view has room to spare: wider spacing keeps every edge label clear of the arrows
CELL_LAYOUT = {**ROW_LAYOUT, "ranksep": "0.4", "nodesep": "0.25"}
PNG_DPI = 144
#: points of padding above and below each line of a gate box (two lines' glyphs then stay apart)
LINE_PAD = 1
#: what the numbers on the edges are, written under every drawing that shows them
GRADIENT_CAPTION = ("numbers on the edges: ‖∂L/∂v‖, the norm of the gradient of the loss L with respect to the "
                    "value v on that edge (thicker: larger)")
STEP_SHADE_CAPTION = "steps shaded by ‖∂L/∂state_t‖ (darker: larger; log scale)"
#: weights of the invisible layout edges: STRAIGHT keeps a row straight (heavier than any
#: drawn edge, whose weight is 1, or 20 along the pipe); ORDER only orders boxes of one row
STRAIGHT, ORDER = 100, 10


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
    valve_names: dict = field(default_factory=dict)   # op node name -> seed 002's name for it


_VALVES = {"F×C": "forget valve", "I×C_i": "new-memory valve", "H_t": "output valve"}
NOTATION = {
    "blog": Notation("C_t", "C0", "H_t", "H0", ("F×C", "I×C_i"),
                     {"C0": "C_t-1", "H0": "H_t-1", "X": "X_t"}, valve_names=_VALVES),
    "peephole": Notation("C_t", "C0", "H_t", "H0", ("F×C", "I×C_i"),
                         {"C0": "C_t-1", "H0": "H_t-1", "X": "X_t"}, valve_names=_VALVES),
    "paper": Notation("s", "s0", "z_h", "z_h0", ("g_φ s", "g_ι z_c"),
                      {"s0": "s(t-1)", "z_h0": "z_h(t-1)", "x": "x(t)", "s": "s(t)", "z_h": "z_h(t)"},
                      valve_names={"g_φ s": "forget valve", "g_ι z_c": "new-memory valve",
                                   "g_ω s": "output valve"}),
    # the GRU's H is its memory and its output at once: the pipe H_t-1 → × → + → H_t
    "gru": Notation("H_t", "H0", "H_t", "H0", ("Z×H", "(1−Z)×N"), {"H0": "H_t-1", "X": "X_t"},
                    valve_names={"Z×H": "update valve: keep", "(1−Z)×N": "update valve: let in",
                                 "R×(H W_nh + b_nh)": "reset valve"}),
    "rnn": Notation("", "", "h_t", "h0", (), {"h0": "h_t-1", "X": "X_t"},
                    hidden_path=("h W_h", "X W_x + h W_h", "X W_x + h W_h + b")),
}


@dataclass
class Example:
    """One executed graph to draw: the cell, its unrolled run and the loss L."""

    variant: str
    cell: object
    run: object
    loss: tg.Node
    given: bool = False             # the cell came from the caller (e.g. a PyTorch model), not a seed

    @property
    def title(self):
        """What the drawings are titled: the variant and its text, or "(given parameters)"."""
        return _TITLES[self.variant].split(" (")[0] + " (given parameters)" if self.given else _TITLES[self.variant]

    @property
    def notation(self):
        return NOTATION[self.variant]

    @property
    def notations(self):
        """One Notation per layer, bottom first, its node names as the run's step dicts key them
        ("layer2.C_t" in a stack; ``[self.notation]`` for one cell)."""
        if self.cell.num_layers == 1:
            return [self.notation]
        return [_prefixed(self.notation, f"layer{l}.") for l in range(1, self.cell.num_layers + 1)]


def _prefixed(n, prefix):
    def named(name):
        return prefix + name if name else name
    return Notation(named(n.memory), named(n.memory0), named(n.hidden), named(n.hidden0),
                    tuple(map(named, n.valves)), {named(k): v for k, v in n.shown.items()},
                    tuple(map(named, n.hidden_path)), {named(k): v for k, v in n.valve_names.items()})


def example(variant="blog", steps=1, input_size=3, hidden_size=4, batch=2, seed=0, loss="ce", num_layers=1,
            cell=None):
    """Build and run ``variant`` for ``steps`` steps on random inputs from a random state (as in
    the middle of a sequence; all seeded), with the loss L of the last step's output: ``"ce"``,
    the cross-entropy against random class targets, or ``"mse"``, the squared error against
    random targets. Sizes: d (paper N) = ``input_size``, h (paper D) = ``hidden_size``,
    ``batch`` rows (not for the paper's single sequence), ``num_layers`` stacked layers. A
    given ``cell`` (e.g. ``torch_bridge.from_torch(model)``) is drawn with its own numbers
    and sizes instead (``variant`` and the sizes are then read from it)."""
    if loss not in ("ce", "mse"):
        raise ValueError(f"diagrams: unknown loss {loss!r}; choose 'ce' or 'mse'")
    given = cell is not None
    if given:
        variant, input_size, hidden_size = variant_of(cell), cell.input_size, cell.hidden_size
    if variant not in VARIANTS:
        raise ValueError(f"diagrams: unknown variant {variant!r}; choose one of {list(VARIANTS)}")
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 1:
        raise ValueError(f"diagrams: steps must be a positive integer, got {steps!r}")
    if cell is None:
        cell = make_cell(variant, input_size, hidden_size, seed=seed, num_layers=num_layers)
    rng = np.random.default_rng(seed + 1)
    if variant == "paper":
        inputs = rng.normal(size=(steps, input_size))
        targets = rng.integers(0, hidden_size, size=(1,))
    else:
        inputs = rng.normal(size=(steps, batch, input_size))
        targets = rng.integers(0, hidden_size, size=(1, batch))
    # a random state, as in the middle of a sequence; parameters, so ∂L/∂C_t-1 and ∂L/∂H_t-1 are computed
    initial = {key: tg.parameter(rng.normal(scale=0.5, size=shape), name=key.rpartition(".")[2])
               for key, shape in cell.state_shapes(None if variant == "paper" else batch).items()}
    run = cell.unroll(inputs, initial_state=initial)
    if loss == "mse":
        return Example(variant, cell, run, losses.mse(run.outputs[-1:], rng.normal(size=(1,) + run.outputs[-1].shape)),
                       given)
    return Example(variant, cell, run, losses.ce(run.outputs[-1:], targets), given)


def _layers(ex):
    return f", {ex.cell.num_layers} layers" if ex.cell.num_layers > 1 else ""


def _example(source, steps):
    return source if isinstance(source, Example) else example(source, steps=steps)


def _path_colors(ex):
    """Node -> colour of the path it belongs to (memory green, hidden blue)."""
    colors = {}
    memories = {n.memory0 for n in ex.notations}
    for key, node in ex.run.initial_state.items():
        colors[node] = MEMORY_COLOR if key in memories else HIDDEN_COLOR
    for n in ex.notations:
        for step in ex.run.steps:
            for name in (n.memory,) + n.valves:
                if name in step:
                    colors[step[name]] = MEMORY_COLOR
            colors[step[n.hidden]] = HIDDEN_COLOR
    return colors


def _styles(ex, colors, pipe_group=True):
    """Hooks for tinygraph.draw: the diagrams' font, path colours on edges and valves; the
    memory pipe's nodes share a Graphviz group (drawn on one straight row), and so do the
    hidden path's."""
    pipe, hidden_row, group = set(), set(), {}
    for l, n in enumerate(ex.notations, start=1):
        mine = {ex.run.initial_state[n.memory0]} if n.memory0 else set()
        for step in ex.run.steps:
            mine |= {step[name] for name in (n.memory,) + n.valves[:1] if name in step}
        row = {ex.run.initial_state[n.hidden0]}
        for step in ex.run.steps:
            row |= {step[name] for name in (n.hidden,) + n.hidden_path}
        suffix = str(l) if len(ex.notations) > 1 else ""     # each layer's pipe on its own row
        group.update({node: "hidden" + suffix for node in row - mine})
        group.update({node: "memory" + suffix for node in mine})
        pipe |= mine
        hidden_row |= row

    states = set(ex.run.initial_state.values())

    def vertex_attrs(vertex):
        a = {"fontname": FONT}
        if vertex.kind == "data" and vertex.nodes[0] in states:
            a.update(fillcolor=ROLE_COLORS["input"][0], style="rounded,filled")   # a state handed in, not a weight
        if vertex.kind in ("op", "data") and vertex.nodes[0] in colors:
            a.update(color=colors[vertex.nodes[0]], penwidth="2")
        if pipe_group and vertex.kind in ("op", "data", "junction") and vertex.nodes[0] in group:
            a["group"] = group[vertex.nodes[0]]
        return a

    def edge_attrs(edge):
        color = colors.get(edge.node)
        a = {"fontname": FONT} if color is None else {"fontname": FONT, "color": color, "penwidth": "2"}
        for row in (pipe, hidden_row):
            if pipe_group and edge.node in row and edge.dst.kind != "group" and (
                    not edge.consumers or any(c in row for c in edge.consumers)):
                a["weight"] = "20"
        return a

    return vertex_attrs, edge_attrs


_ACTIVATIONS = ("σ", "tanh", "id", "relu")


def _gate_attrs(vertex, names, formula=True):
    """A gate network as the texts draw it: a box with its activation's symbol, its output's
    name, and (``formula``) what it computes, e.g. σ(X W_fx + H W_fh + b_f), and its name."""
    outputs = [node for node in vertex.nodes if node.name and node.op is not None
               and node.scope == vertex.scope + (vertex.name,) and node.op.symbol in _ACTIVATIONS]
    out = outputs[-1] if outputs else vertex.nodes[-1]
    shown = names.get(out, out.name or "")
    lines = [f'<FONT POINT-SIZE="16">{_h(out.op.symbol)}</FONT>', f"<B>{_h(shown)}</B>"]
    if formula:
        inner = out.inputs[0].name if out.inputs and out.inputs[0].name else "…"
        if out.op.symbol in _ACTIVATIONS:           # a sum (the GRU's H W_nh + b_nh) is its name already
            lines.append(f'<FONT POINT-SIZE="9">{_h(out.op.symbol)}({_h(inner)})</FONT>')
        lines.append(f'<FONT POINT-SIZE="9" COLOR="#555555">{_h(vertex.name)}</FONT>')
    # one table row per line, padded: lines joined by <BR/> touch (C_i's underscore on the formula below)
    rows = "".join(f'<TR><TD CELLPADDING="{LINE_PAD}">{line}</TD></TR>' for line in lines)
    return {"label": f'<<TABLE BORDER="0" CELLBORDER="0" CELLSPACING="0">{rows}</TABLE>>', "shape": "box",
            "style": "rounded,filled",
            "fillcolor": "#FFF5CC", "color": "#B38F00", "margin": "0.08,0.04"}


def _hide_in_cell_views(ex, shown=()):
    """The cell's parameters (shared by every step: one edge per step would hide the cell)
    and constants (the 1 of the paper's [x; z_h; s; 1]) are left out of the cell views,
    except the parameters ``shown``."""
    parameters = set(ex.cell.parameters().values()) - set(shown)
    return lambda node: node in parameters or (node.op is None and node.name is None)


def _overlay(grads, highlight, visited, edge_grads):
    """tinygraph.draw's backward overlay: ``grads=True`` computes every edge's gradient of L;
    ``edge_grads`` (a mapping, e.g. what a Stepper has sent so far) is drawn as given."""
    return {"edge_grads": edge_grads if edge_grads is not None else (True if grads else None),
            "highlight": highlight, "visited": visited}


def _label(title=None, caption=None, loc="t"):
    """Graph attributes for a title (bold) and a caption (small) in the diagrams' font."""
    if not (title or caption):
        return {}
    lines = ([f"<B>{_h(title)}</B>"] if title else []) + (
        [f'<FONT POINT-SIZE="10">{_h(caption)}</FONT>'] if caption else [])
    return {"label": "<" + "<BR/>".join(lines) + ">", "labelloc": loc, "fontsize": "14", "fontname": FONT}


def _valve_attrs(vertex, names, valve_names, roots):
    """The valves and other named ops of the cell views: the op's symbol in a circle, and
    under it, inside the node (so no arrow can cover it), seed 002's name for a valve or the
    op's own name (not for a root, whose record below says it, nor for f(name) ops)."""
    node = vertex.nodes[0]
    symbol = node.op.symbol
    small = len(symbol) <= 2
    name = valve_names.get(node.name)
    if name is None and node.name and node not in roots and not node.name.startswith(symbol + "("):
        name = names.get(node, node.name)
    label = f'<FONT POINT-SIZE="{16 if small else 13}">{_h(symbol)}</FONT>'
    if name:
        label += f'<BR/><FONT POINT-SIZE="8">{_h(name)}</FONT>'
    return {"label": f"<{label}>", "shape": "circle" if small and not name else "box",
            "style": "filled" if small and not name else "rounded,filled",
            "width": "0.36", "height": "0.36", "margin": "0.04,0.02"}


# --- layout relations (what Graphviz is asked for; tests/test_diagrams.py reads them back) ----

def _same_rank(dot, ids, ordered=False):
    """The vertices ``ids`` share one rank: one column in a left-to-right drawing (with
    ``ordered``, an invisible edge from each to the next asks for the order given, top to
    bottom; dot may still flip it, so the tests check the result)."""
    with dot.subgraph() as sub:
        sub.attr(rank="same")
        for vertex_id in ids:
            sub.node(vertex_id)
        if ordered:
            for a, b in zip(ids, ids[1:]):
                sub.edge(a, b, style="invis")


def _keep_in_line(dot, a, b, weight=STRAIGHT, **attrs):
    """An invisible edge from ``a`` to ``b``: ``b`` comes after ``a``, and the weight pulls
    them onto one straight row (the heavier, the stronger the pull)."""
    dot.edge(a, b, style="invis", weight=str(weight), **attrs)


def _order(dot, ids, weight=ORDER):
    """Boxes of one row in the order given, left to right."""
    for a, b in zip(ids, ids[1:]):
        _keep_in_line(dot, a, b, weight=weight)


def _gates_in_order(vertices):
    return sorted((v for v in vertices if v.kind == "group" and v.name in _GATE_ORDER),
                  key=lambda v: _GATE_ORDER.index(v.name))


# --- the views -------------------------------------------------------------------------------

def ops(source="blog", steps=1, grads=False, highlight=None, visited=None, edge_grads=None, rankdir="TB",
        legend=True):
    """Every primitive op of ``steps`` time steps (or of an ``Example``), clustered per step and
    gate network, with the parameters and the loss L; the state paths coloured. Each step's gate
    networks lie one below the other in the pipe's order, F, I, C_i, O (``rankdir="LR"``: one
    after the other, left to right, as in the cell view), the steps follow each other."""
    ex = _example(source, steps)
    colors = _path_colors(ex)
    vertex_attrs, edge_attrs = _styles(ex, colors, pipe_group=False)
    T = len(ex.run.steps)
    shows_grads = grads or edge_grads is not None
    dot = tg.draw(ex.loss, rankdir=rankdir, legend=legend, vertex_attrs=vertex_attrs, edge_attrs=edge_attrs,
                  graph_attrs={"newrank": "true",
                               **_label(f"{ex.title}{_layers(ex)}: every op, {T} step{'s' if T > 1 else ''}, "
                                        "loss L", GRADIENT_CAPTION if shows_grads else None)},
                  **_overlay(grads, highlight, visited, edge_grads))
    return _labels_clear(_gate_bands(dot))


def _labels_clear(dot):
    """``dot`` set to move every edge label an arrow covers beside its own edge when rendered
    (``tinygraph.labels``): only a drawing with edge labels pays the extra layout pass."""
    dot.clear_labels = any(" -> " in line and "label=" in line for line in dot.body)
    return dot


def _gate_bands(dot):
    """Each step's gate networks in bands of their own, in the pipe's order: an invisible edge
    from every vertex that ends a gate (no edge to another vertex of it) to every vertex that
    starts the next one. With ``newrank`` an edge is a hard rank constraint, so the order holds
    by construction. (Gate clusters sharing ranks are ordered by dot's crossing minimisation,
    which no attribute pins: the order changed with the labels.)"""
    gates = {}
    inside = (v for v in dot.vertices if v.scope and v.scope[-1] in _GATE_ORDER)
    for vertex in sorted(inside, key=lambda v: _GATE_ORDER.index(v.scope[-1])):
        gates.setdefault(vertex.scope[:-1], {}).setdefault(vertex.scope[-1], []).append(vertex)
    inner = [e for e in dot.edges if e.src.scope == e.dst.scope]
    feeds, fed = {e.src.id for e in inner}, {e.dst.id for e in inner}
    for bands in gates.values():
        members = list(bands.values())
        for above, below in zip(members, members[1:]):
            for a in (v.id for v in above if v.id not in feeds):
                for b in (v.id for v in below if v.id not in fed):
                    _keep_in_line(dot, a, b, weight=0)
    return dot


def cell(source="blog", grads=False, highlight=None, visited=None, edge_grads=None):
    """One cell (the first step of ``source``), each gate network collapsed to a box, the memory
    pipe along the top, the gates side by side below it, the hidden path along the bottom and
    X_t entering the gates from below (seed 002's picture). With ``grads`` the loss L
    (collapsed to one node) is drawn too, and a caption says what the edge numbers are."""
    ex = _example(source, 1)
    if ex.cell.num_layers > 1:
        raise ValueError(f"diagrams.cell: draws one cell; this model has {ex.cell.num_layers} layers (its unrolled "
                         f"view draws them as a grid, layers up and time across)")
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
            a.update(_valve_attrs(vertex, names, n.valve_names, roots))
        return a

    H0, first = ex.run.initial_state[n.hidden0], _first_on_hidden_row(ex)

    def eattrs(edge):
        a = edge_attrs(edge)
        if edge.src.nodes[0] is H0 and edge.dst.kind == "op" and edge.dst.nodes[0] is first:
            a.update(_ROW_PORTS)    # on top of _cell_rows's invisible edge, not bent beside it
        return a

    def cluster_attrs(scope):
        return ({"label": f"<<B>{_h(ex.title)}</B>: one cell>", "labelloc": "b", "fontname": FONT}
                if tg.step_of(scope) is not None else {})

    shows_grads = grads or edge_grads is not None
    dot = tg.draw(roots, collapse=[2, "loss"], records="ends", hide=_hide_in_cell_views(ex), values=False, grads="norm",
                  graph_attrs={**CELL_LAYOUT, **_label(caption=GRADIENT_CAPTION if shows_grads else None, loc="b")},
                  place_leaves=False,
                  names=names, vertex_attrs=vattrs, edge_attrs=eattrs, cluster_attrs=cluster_attrs,
                  **_overlay(grads, highlight, visited, edge_grads))
    return _labels_clear(_cell_rows(dot, ex))


#: the gate networks of a cell in the order along the memory pipe, as seed 002 draws them
_GATE_ORDER = ("forget gate", "input gate", "new memory", "input value", "output gate",
               "update gate", "reset gate", "hidden to candidate", "candidate")
_ROW_PORTS = {"tailport": "e", "headport": "w"}


def _first_on_hidden_row(ex):
    """The first op on the hidden row after H_t-1: the op making H_t (the RNN's h W_h)."""
    n = ex.notation
    return ex.run.steps[0][(n.hidden_path or (n.hidden,))[0]]


def _cell_rows(dot, ex):
    """The cell view's three rows (seed 002's picture): the memory pipe along the top, the gate
    networks side by side in the middle (forget, input, new memory, output), the hidden path
    H_t-1 → H_t straight along the bottom; X_t comes after H_t-1, below the gates, and its
    edges go up into them.

    The relations asked for: C_t-1 and H_t-1 in one column (the left edge); H_t-1 kept in line
    with the first op on the hidden row, two ranks on (without it the gates pull H_t-1 up);
    X_t after H_t-1 (and, with peepholes, after H_t-1's junction, else dot routes one of
    X_t's edges over the pipe); the gates ordered left to right."""
    n = ex.notation
    H0 = ex.run.initial_state[n.hidden0]
    h0 = dot.vertex_of(H0).id
    if n.memory0 == n.hidden0:
        return _one_state_rows(dot, ex)
    junctions = {v.nodes[0]: v.id for v in dot.vertices if v.kind == "junction"}
    peepholes = n.memory0 and ex.run.initial_state[n.memory0] in junctions
    first = _first_on_hidden_row(ex)
    first_id = next(v.id for v in dot.vertices if v.kind == "op" and v.nodes[0] is first)
    x = dot.vertex_of(ex.run.inputs[0]).id
    if n.memory0:
        _same_rank(dot, [dot.vertex_of(ex.run.initial_state[n.memory0]).id, h0], ordered=True)
    direct = any(e.src.nodes[0] is H0 and e.dst.id == first_id for e in dot.edges)   # the RNN's h → h W_h
    _keep_in_line(dot, h0, first_id, minlen="2", **(_ROW_PORTS if direct else {}))
    _keep_in_line(dot, h0, x, weight=1)
    if peepholes and H0 in junctions:
        _keep_in_line(dot, junctions[H0], x, weight=1)
    _order(dot, [v.id for v in _gates_in_order(dot.vertices)])
    return dot


def _one_state_rows(dot, ex):
    """The cell view of a GRU, whose H is memory and output at once: the pipe H_t-1 → × → +
    → H_t straight along the top, the gates below it in the pipe's order (update, reset,
    hidden to candidate, candidate), X_t below them. Relations asked for: X_t in the column
    of H_t-1's junction (asked in the order X_t, junction, which dot draws junction on top;
    the tests check the result), H_t-1, its junction, the keep valve, + and H_t in line, the
    gates ordered left to right."""
    n, step = ex.notation, ex.run.steps[0]
    h0 = dot.vertex_of(ex.run.initial_state[n.hidden0]).id
    ops = {v.nodes[0]: v.id for v in dot.vertices if v.kind == "op"}
    junction = next((v.id for v in dot.vertices if v.kind == "junction"
                     and v.nodes[0] is ex.run.initial_state[n.hidden0]), None)
    _same_rank(dot, [dot.vertex_of(ex.run.inputs[0]).id, junction or h0], ordered=True)
    pipe = [i for i in (h0, junction, ops[step[n.valves[0]]], ops[step[n.memory]], dot.vertex_of(step[n.memory]).id)
            if i]
    for a, b in zip(pipe, pipe[1:]):
        _keep_in_line(dot, a, b)
    _order(dot, [v.id for v in _gates_in_order(dot.vertices)])
    return dot


def _state_norms(ex):
    """‖∂L/∂state_t‖ by (layer, t), t = 1..T: every state node of the step (C_t and H_t) as one
    vector; the layer is None for one cell, 1, 2, ... for each layer of a stack."""
    names = list(ex.cell.STATE.values())
    nodes = [step[name] for step in ex.run.steps for name in names]
    squares = {}
    for node, g in zip(nodes, tg.grad(ex.loss, nodes)):
        key = (tg.layer_of(node), tg.step_of(node))
        squares[key] = squares.get(key, 0.0) + float(np.sum(np.square(g)))
    return {key: float(np.sqrt(value)) for key, value in squares.items()}


def _shade(value, low, high):
    """A fill from pale (``low``) to strong orange (``high``), on a log scale."""
    span = np.log10(high) - np.log10(low) if high > low > 0 else 0.0
    f = 1.0 if span == 0 else float(np.clip((np.log10(max(value, low)) - np.log10(low)) / span, 0, 1))
    pale, strong = np.array([255, 251, 242]), np.array([240, 140, 60])
    return "#" + "".join(f"{int(round(c)):02X}" for c in pale + f * (strong - pale))


def unrolled(source="blog", steps=4, grads=False, highlight=None, visited=None, edge_grads=None, per_row=None,
             shared=()):
    """``steps`` cells side by side (each gate network collapsed, in the pipe's order), C and H
    handed on from step to step. With ``grads`` the labels show ∂L/∂C_t and ∂L/∂H_t shrinking
    along the pipe and each step is shaded by ‖∂L/∂state_t‖. ``per_row`` lays the steps out
    for a slide: rows of that many steps (the one-row layout cut into rows, ``lstm.slide``:
    needs Graphviz to build), and only the gradients handed from step to step labelled;
    ``save(..., max_width=1920)`` then fits a PNG to a slide. A stacked model is a grid, a row
    per layer cut from the same kind of one-row layout, each layer's output rising into the
    next (also built with Graphviz). ``shared``: parameters drawn anyway, each once, with an
    edge into every step that uses it (a weight shared by the steps, e.g. with its per-step
    parts of the gradient as ``edge_grads``)."""
    ex = _example(source, steps)
    n = ex.notation
    T = len(ex.run.steps)
    if per_row is not None and (isinstance(per_row, bool) or not isinstance(per_row, (int, np.integer))
                                or per_row < 1):
        raise ValueError(f"diagrams.unrolled: per_row must be a positive integer, got {per_row!r}")
    for_slide = per_row is not None
    per_row = T if per_row is None else min(per_row, T)
    stacked = ex.cell.num_layers > 1
    if stacked and for_slide:
        raise ValueError("diagrams.unrolled: per_row lays out the steps of one cell; a stacked model is drawn "
                         "as a grid, layers up and time across")
    vertex_attrs, edge_attrs = _styles(ex, _path_colors(ex))
    roots = [ex.loss] + [ex.run.final_state[k] for n in ex.notations for k in (n.memory0, n.hidden0) if k]
    shade = None
    if grads and edge_grads is None:
        norms = _state_norms(ex)
        low, high = min(norms.values()), max(norms.values())
        shade = {key: (norm, _shade(norm, low, high)) for key, norm in norms.items()}
    if grads and edge_grads is None and for_slide:          # a slide labels only what is handed on
        states = set(ex.run.initial_state.values()) | {s[name] for s in ex.run.steps for name in ex.cell.STATE.values()}
        edge_grads = {(a, b): g for (a, b), g in edge_gradients(ex.loss)[0].items()   # what is handed on
                      if a in states and (tg.step_of(a) != tg.step_of(b) or b is ex.loss)}

    def vattrs(vertex):
        a = vertex_attrs(vertex)
        if vertex.kind == "group" and vertex.name != "loss":
            a.update(_gate_attrs(vertex, {}, formula=False))
        elif vertex.kind == "op" and vertex.nodes[0].name:
            a.update(_valve_attrs(vertex, {}, {}, roots + [s[k] for s in ex.run.steps for k in s]))
        return a

    def cluster_attrs(scope):
        if stacked and len(scope) == 1 and tg.layer_of(scope) is not None:      # a layer: one row of the grid
            return {"fontname": FONT, "label": f"<<B>layer {tg.layer_of(scope)}</B>>", "labeljust": "l"}
        if shade is None or len(scope) != 1 + stacked or tg.step_of(scope) is None:
            return {"fontname": FONT}
        norm, fill = shade[(tg.layer_of(scope), tg.step_of(scope))]
        return {"fontname": FONT, "style": "rounded,filled", "fillcolor": fill,
                "label": f"<{_h(scope[-1])}   <FONT POINT-SIZE='10'>‖∂L/∂state‖ {norm:.2g}</FONT>>"}

    title = f"{ex.title}{_layers(ex)} unrolled over {T} step{'s' if T > 1 else ''}"
    caption = None
    if grads or edge_grads is not None:
        caption = GRADIENT_CAPTION + ("; " + STEP_SHADE_CAPTION if shade else "") + (
            "; on an edge from a shared weight: the part of its gradient that step sends back" if shared else "")

    def draw(placed=None):
        placed = placed or slide.Placement()
        edge_ids = {(e.src.id, e.dst.id, e.node): f"e_{k}" for k, e in enumerate(one_row.edges)} if placed.edge else {}
        return tg.draw(roots, collapse=[2 + stacked, "loss"], records="ends", hide=_hide_in_cell_views(ex, shared),
                       values=False, grads="norm", graph_attrs={**ROW_LAYOUT, **_label(title, caption), **placed.graph},
                       place_leaves=False, repeat_leaves=not shared,
                       vertex_attrs=lambda v: {**vattrs(v), **placed.vertex.get(v.id, {})},
                       edge_attrs=lambda e: {**edge_attrs(e), **placed.edge.get(edge_ids.get((e.src.id, e.dst.id, e.node)),
                                                                            {})},
                       cluster_attrs=lambda scope: {**cluster_attrs(scope), **placed.cluster.get("/".join(scope), {})},
                       **_overlay(grads, highlight, visited, edge_grads))

    one_row = draw()
    if stacked:                         # each layer's steps after the layer below's, its inputs cut
        rising = [(f"e_{k}", e.src.id, e.dst.id, "/".join(e.src.scope[:2])) for k, e in enumerate(one_row.edges)
                  if tg.layer_of(e.src) and tg.layer_of(e.dst) and tg.layer_of(e.src) != tg.layer_of(e.dst)]
        cut = {edge_id for edge_id, *_ in rising}
        one_row.body = [line for line in one_row.body if not any(f"id={i} " in line or f"id={i}]" in line
                                                                 for i in cut)]
    one_row = _rows(one_row, ex)
    if not stacked and per_row >= T:
        return _labels_clear(one_row)
    if stacked:                         # a grid: the top layer's row first, step t of every layer in column t
        layers = len(ex.notations)
        placed = slide.place(one_row, lambda v: _part_of(one_row, v, lambda u: (
            layers - tg.layer_of(u), tg.step_of(u)) if tg.layer_of(u) and tg.step_of(u) else None), _upright(one_row, ex))
        slide.rise(placed, rising)
    else:
        placed = slide.place(one_row, lambda v: _part_of(one_row, v, lambda u: divmod(tg.step_of(u) - 1, per_row)
                                                         if tg.step_of(u) else None), _upright(one_row, ex))
    dot = draw(placed)
    dot.engine = "neato"                # every position given: drawn by neato -n2 as placed
    dot.comment = "every position is given: render with neato -n2 (e.g. neato -n2 -Tsvg)"
    return _labels_clear(dot)


def _inputs(dot, ex, layer):
    """The vertex taking each step's input in ``layer`` (0: the bottom one): X_t, or what takes
    the layer below's output."""
    if layer == 0:
        return [dot.vertex_of(x).id for x in ex.run.inputs]
    below = ex.notations[layer - 1].hidden
    return [next(e.dst.id for e in dot.edges if e.node is step[below] and tg.layer_of(e.dst) == layer + 1)
            for step in ex.run.steps]


def _upright(dot, ex):
    """Pairs (upper, lower) of vertex ids that say which way up a step is, as in the cell view:
    its forget valve above its input; the initial memory above the initial hidden state."""
    pairs = []
    for layer, n in enumerate(ex.notations):
        if n.memory and n.memory != n.hidden:
            pairs.append((dot.vertex_of(ex.run.initial_state[n.memory0]).id,
                          dot.vertex_of(ex.run.initial_state[n.hidden0]).id))
        for step, given in zip(ex.run.steps, _inputs(dot, ex, layer) if n.valves else ()):
            pairs.append((next(v.id for v in dot.vertices if v.kind == "op" and v.nodes[0] is step[n.valves[0]]),
                          given))
    return pairs


def _part_of(dot, vertex, part):
    """The (row, column) ``vertex`` is drawn in: ``part(vertex)``; a vertex outside the steps (a
    state handed in, the loss) goes in a column of its own just before the first part it feeds,
    else just after the last part feeding it."""
    if part(vertex) is not None:
        return part(vertex)
    fed = [part(e.dst) for e in dot.edges if e.src is vertex and part(e.dst) is not None]
    if fed:
        row, column = min(fed)
        return row, column - 0.5
    row, column = max((part(e.src) for e in dot.edges if e.dst is vertex and part(e.src) is not None),
                      default=(0, 0))
    return row, column + 0.5


def _rows(dot, ex):
    """The unrolled view's row: the memory pipe on top and the hidden path below it, each step
    after the previous one; in a stacked model each layer's steps after the layer below's
    (``unrolled`` then cuts the row into a grid, layer by layer).

    The relations asked for: the initial memory above the initial hidden state (one column);
    the hidden states kept in line from step to step, and each step's X_t after the previous
    hidden state (in a stack, what takes the layer below's output), so the steps follow each
    other from left to right instead of stacking in a staircase; a layer's initial states after
    the last hidden state of the layer below; each
    step's gates side by side in the pipe's order, as in the cell view."""
    last = None
    for layer, n in enumerate(ex.notations):
        inputs = _inputs(dot, ex, layer)
        firsts = [dot.vertex_of(ex.run.initial_state[k]).id for k in dict.fromkeys((n.memory0, n.hidden0)) if k]
        if len(firsts) > 1:
            _same_rank(dot, firsts, ordered=True)
        for first in firsts if last else ():
            _keep_in_line(dot, last, first, weight=0)
        h_ids = [dot.vertex_of(ex.run.initial_state[n.hidden0]).id]
        h_ids += [dot.vertex_of(step[n.hidden]).id for step in ex.run.steps]
        for k in range(1, len(h_ids)):                  # step k: from h_ids[k-1] to h_ids[k]
            _keep_in_line(dot, h_ids[k - 1], h_ids[k], weight=3)
            _keep_in_line(dot, h_ids[k - 1], inputs[k - 1], weight=1)
            if layer:                                   # the output on the level of the input from below
                _keep_in_line(dot, inputs[k - 1], h_ids[k], weight=20)
        last = h_ids[-1]
    by_step = {}
    for vertex in _gates_in_order(dot.vertices):
        by_step.setdefault((tg.layer_of(vertex), tg.step_of(vertex)), []).append(vertex.id)
    for ids in by_step.values():
        _order(dot, ids)
    return dot


_TITLES = {"blog": "BlogLSTM (seed 001)", "paper": "PaperLSTM (seed 000)",
           "peephole": "PeepholeLSTM (seed 002)", "rnn": "VanillaRNN", "gru": "GRU (PyTorch's convention)"}
_VIEW_FUNCTIONS = {"ops": ops, "cell": cell, "unrolled": unrolled}


def view(variant, name, steps=None, grads=False, num_layers=1, model=None, **overlay):
    """The drawing of ``variant`` in view ``name`` ("ops", "cell", "unrolled"); ``num_layers``
    stacks it, a given ``model`` cell (e.g. from ``torch_bridge.from_torch``) is drawn instead."""
    if name not in _VIEW_FUNCTIONS:
        raise ValueError(f"diagrams: unknown view {name!r}; choose one of {list(VIEWS)}")
    steps = 1 if name == "cell" else (4 if name == "unrolled" else 1) if steps is None else steps
    source = variant
    if num_layers > 1 or model is not None:
        source = example(variant, steps=steps, num_layers=num_layers, cell=model)
    if name == "cell":
        return cell(source, grads=grads, **overlay)
    return _VIEW_FUNCTIONS[name](source, steps=steps, grads=grads, **overlay)


def layout_size(dot):
    """(width, height) of the laid-out drawing in points (1/72 inch), from ``dot -Tjson``."""
    import json
    x0, y0, x1, y1 = (float(v) for v in json.loads(dot.pipe(format="json"))["bb"].split(","))
    return x1 - x0, y1 - y0


def save(dot, path, fmt, max_width=None):
    """Write ``dot`` to ``path`` as svg, png, pdf or dot (the DOT source); returns the path.
    A PNG is drawn at ``PNG_DPI``, or at the resolution that makes it ``max_width`` pixels
    wide (a slide: 1920) when that is smaller."""
    path = Path(path)
    if fmt not in FORMATS:
        raise ValueError(f"diagrams: unknown format {fmt!r}; choose one of {list(FORMATS)}")
    path.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "dot":
        path.write_text(dot.source, encoding="utf-8")
        return path
    if fmt == "png":            # sharp enough for a slide (Graphviz's default is 96 dpi)
        path.write_bytes(_png(dot, PNG_DPI if max_width is None else
                              min(PNG_DPI, 72 * max_width / layout_size(dot)[0]), max_width))
        return path
    path.write_bytes(dot.pipe(format=fmt))
    return path


def _png(dot, dpi, max_width=None, tries=4):
    """The PNG of ``dot`` at ``dpi``, lowered until it is at most ``max_width`` pixels wide
    (Graphviz's padding and font metrics change the width a little with the resolution)."""
    for _ in range(tries):
        drawing = dot.copy()
        drawing.attr("graph", dpi=f"{dpi:.2f}")
        png = drawing.pipe(format="png")
        width = int.from_bytes(png[16:20], "big")
        if max_width is None or width <= max_width:
            return png
        dpi *= max_width / width * 0.995
    return png


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
