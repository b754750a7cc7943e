"""lstm.diagrams: the three views of every variant, read back from the rendered SVG."""
import functools
import re
import xml.etree.ElementTree as ET

import numpy as np
import pytest

import tinygraph as tg
from lstm import diagrams, slide
from lstm.cells import VARIANTS
from tinygraph.draw import grad_norm

SVG = "{http://www.w3.org/2000/svg}"
GATES = {"blog": ["F", "I", "C_i", "O"], "peephole": ["F", "I", "C_i", "O"],
         "paper": ["g_φ", "g_ι", "z_c", "g_ω"], "rnn": [], "gru": ["Z", "R", "H W_nh + b_nh", "N"]}
STATES = {"blog": ["C_t-1", "H_t-1", "X_t", "C_t", "H_t"], "peephole": ["C_t-1", "H_t-1", "X_t", "C_t", "H_t"],
          "paper": ["s(t-1)", "z_h(t-1)", "x(t)", "s(t)", "z_h(t)"], "rnn": ["h_t-1", "X_t", "h_t"],
          "gru": ["H_t-1", "X_t", "H_t"]}


class Svg:
    def __init__(self, dot):
        """``dot`` rendered to SVG, or an SVG already rendered (bytes)."""
        self.root = ET.fromstring(dot if isinstance(dot, bytes) else dot.pipe(format="svg"))
        self.groups = {}
        for g in self.root.iter(f"{SVG}g"):
            if g.get("class") in ("node", "edge", "cluster"):
                self.groups.setdefault(g.get("class"), {})[g.find(f"{SVG}title").text] = g

    def of(self, kind):
        return self.groups.get(kind, {})

    @staticmethod
    def texts(g):
        return [t.text.strip() for t in g.iter(f"{SVG}text") if t.text and t.text.strip()]

    def all_node_texts(self):
        return [t for g in self.of("node").values() for t in self.texts(g)]

    def cluster_labels(self):
        return [" ".join(self.texts(g)) for g in self.of("cluster").values()]

    def centre_y(self, vertex_id):
        g = self.of("node")[vertex_id]
        shape = next(e for e in g.iter() if e.tag in (f"{SVG}ellipse", f"{SVG}path", f"{SVG}polygon"))
        if shape.tag == f"{SVG}ellipse":
            return float(shape.get("cy"))
        ys = [float(v) for v in re.findall(r"-?\d+\.?\d*", shape.get("d") or shape.get("points"))][1::2]
        return (min(ys) + max(ys)) / 2


def edge_label(svg, edge):
    texts = Svg.texts(svg.of("edge")[f"{edge.src.id}->{edge.dst.id}"])
    return float(texts[-1].replace("−", "-"))


def hand_overs(dot, ex, name):
    """The drawn edges carrying step k's ``name`` (C_t, H_t ...) into step k+1."""
    found = []
    for k, step in enumerate(ex.run.steps[:-1], start=1):
        found += [e for e in dot.edges if e.node is step[name] and tg.step_of(e.src) == k and tg.step_of(e.dst) == k + 1]
    return found


@functools.cache
def rendered_cell(variant, grads):
    """The cell view of ``variant`` with its rendered SVG, drawn once for the tests that read it."""
    ex = diagrams.example(variant)
    dot = diagrams.cell(ex, grads=grads)
    return ex, dot, Svg(dot)


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_cell_view_names_gates_and_states_in_the_texts_notation(variant):
    svg = Svg(diagrams.cell(variant))
    texts = svg.all_node_texts()
    for name in GATES[variant] + STATES[variant]:
        assert name in texts, f"{variant}: {name} missing from the cell view"
    assert any("one cell" in label for label in svg.cluster_labels())
    symbols = [t for t in texts if t in ("×", "+", "σ", "tanh")]
    if variant == "gru":        # × valves Z×H, R×(H W_nh + b_nh), (1−Z)×N; + makes H_t and H W_nh + b_nh
        assert symbols.count("×") == 3 and symbols.count("+") == 2 and symbols.count("σ") == 2
    elif variant != "rnn":
        assert symbols.count("×") == 3 and symbols.count("+") == 1 and symbols.count("σ") == 3


@pytest.mark.parametrize("grads", [False, True])
@pytest.mark.parametrize("variant", ["blog", "peephole", "paper"])
def test_cell_view_memory_pipe_runs_straight_along_the_top_row(variant, grads):
    ex, dot, svg = rendered_cell(variant, grads)
    n, step = ex.notation, ex.run.steps[0]
    memory0 = ex.run.initial_state[n.memory0]
    pipe = [dot.vertex_of(memory0), next(v for v in dot.vertices if v.kind == "op" and v.nodes[0] is step[n.valves[0]]),
            next(v for v in dot.vertices if v.kind == "op" and v.nodes[0] is step[n.memory]), dot.vertex_of(step[n.memory])]
    ys = [svg.centre_y(v.id) for v in pipe]
    assert max(ys) - min(ys) < 1.0, ys
    others = [svg.centre_y(v.id) for v in dot.vertices if v.kind in ("op", "data", "group") and v not in pipe]
    assert min(ys) < min(others)                           # SVG y grows downwards: the pipe is on top
    for title, g in svg.of("edge").items():                # and no edge is routed over it
        path = g.find(f"{SVG}path").get("d")
        assert min(float(y) for y in re.findall(r"-?\d+\.?\d*", path)[1::2]) > min(ys) - 12, title


@pytest.mark.parametrize("grads", [False, True])
@pytest.mark.parametrize("variant", list(VARIANTS))
def test_cell_view_hidden_path_runs_straight_along_the_bottom_row(variant, grads):
    ex, dot, svg = rendered_cell(variant, grads)
    n = ex.notation
    ends = [dot.vertex_of(ex.run.initial_state[n.hidden0]), dot.vertex_of(ex.run.steps[0][n.hidden])]
    ys = [svg.centre_y(v.id) for v in ends]
    assert abs(ys[0] - ys[1]) <= 1.0, ys
    # the gates sit above the hidden row (the GRU's hidden path is its pipe, on top: tests/test_layers.py)
    if variant not in ("rnn", "gru"):
        gates = [svg.centre_y(v.id) for v in dot.vertices if v.kind == "group" and v.name != "loss"]
        assert len(gates) == len(GATES[variant]) and max(gates) < min(ys)


@pytest.mark.parametrize("grads", [False, True])
@pytest.mark.parametrize("variant", ["blog", "peephole", "paper"])
def test_cell_view_x_t_enters_from_below_the_gates(variant, grads):
    ex, dot, svg = rendered_cell(variant, grads)
    x = svg.centre_y(dot.vertex_of(ex.run.inputs[0]).id)
    gates = {v.name: svg.centre_y(v.id) for v in dot.vertices if v.kind == "group" and v.name != "loss"}
    assert len(gates) == 4
    assert all(x > y for y in gates.values()), (x, gates)  # SVG y grows downwards


def test_cell_view_colours_the_memory_and_hidden_paths():
    ex = diagrams.example("blog")
    dot = diagrams.cell(ex)
    svg = Svg(dot)
    edges = {f"{e.src.id}->{e.dst.id}": e for e in dot.edges}
    for title, g in svg.of("edge").items():
        if title not in edges:
            continue
        stroke = g.find(f"{SVG}path").get("stroke").upper()
        name = edges[title].node.name
        if name in ("C0", "F×C", "I×C_i", "C_t"):
            assert stroke == diagrams.MEMORY_COLOR, (title, name)
        elif name in ("H0", "H_t"):
            assert stroke == diagrams.HIDDEN_COLOR, (title, name)


def test_peephole_cell_shows_the_memory_entering_the_gates():
    ex = diagrams.example("peephole")
    dot = diagrams.cell(ex)
    C0, C_t = ex.run.initial_state["C0"], ex.run.steps[0]["C_t"]
    into = {e.dst.name for e in dot.edges if e.dst.kind == "group" and e.node is C0}
    assert into == {"input gate", "forget gate"}
    assert {e.dst.name for e in dot.edges if e.dst.kind == "group" and e.node is C_t} == {"output gate"}


def test_paper_cell_shows_scalar_gates_and_peepholes_on_s():
    ex = diagrams.example("paper")
    dot = diagrams.cell(ex)
    step = ex.run.steps[0]
    assert step["g_ι"].shape == step["g_φ"].shape == step["g_ω"].shape == ()
    s0, s = ex.run.initial_state["s0"], step["s"]
    assert any(e.node is s0 and e.dst.nodes[0] is step["[x; z_h; s; 1]"] for e in dot.edges)   # eqs 1, 5
    assert any(e.node is s and e.dst.name == "output gate" for e in dot.edges)                  # eq 8
    assert "[x; z_h; s; 1]" in Svg(dot).all_node_texts()


@pytest.mark.parametrize("variant", list(VARIANTS))
@pytest.mark.parametrize("T", [1, 3])
def test_unrolled_view_has_one_cluster_per_step_and_hands_c_and_h_on(variant, T):
    ex = diagrams.example(variant, steps=T)
    dot = diagrams.unrolled(ex)
    svg = Svg(dot)
    labels = svg.cluster_labels()
    assert sorted(label for label in labels if label.startswith("t=")) == sorted(f"t={k}" for k in range(1, T + 1))
    n = ex.notation
    for name in (n.memory, n.hidden):
        if not name:
            continue
        edges = hand_overs(dot, ex, name)
        assert len(edges) == T - 1, (variant, name, len(edges))
        for e in edges:
            assert f"{e.src.id}->{e.dst.id}" in svg.of("edge")


def test_unrolled_view_is_readable_at_twenty_steps():
    ex = diagrams.example("blog", steps=20)
    dot = diagrams.unrolled(ex)
    assert len(hand_overs(dot, ex, "C_t")) == 19 and len(hand_overs(dot, ex, "H_t")) == 19
    per_step = [v for v in dot.vertices if tg.step_of(v) == 7]
    assert len(per_step) <= 14          # gates collapsed: X, 4 gates, 3 valves, +, tanh, junctions


def test_unrolled_grads_label_the_pipe_with_the_gradient_it_carries_back():
    ex = diagrams.example("blog", steps=5)
    dot = diagrams.unrolled(ex, grads=True)
    svg = Svg(dot)
    for e in hand_overs(dot, ex, "C_t"):
        k = tg.step_of(e.src)
        nxt = ex.run.steps[k]                                     # step k+1
        # C_k+1 = F ⊙ C_k + ...: what flows back along the pipe is F_k+1 ⊙ ∂L/∂C_k+1
        expected = grad_norm(nxt["F"].value * tg.grad(ex.loss, nxt["C_t"]))
        assert edge_label(svg, e) == pytest.approx(expected, rel=5e-3)
    for e in hand_overs(dot, ex, "H_t"):
        H_k = ex.run.steps[tg.step_of(e.src) - 1]["H_t"]
        assert edge_label(svg, e) == pytest.approx(grad_norm(tg.grad(ex.loss, H_k)), rel=5e-3)


def test_rnn_gradient_vanishes_along_the_unrolled_hidden_path():
    ex = diagrams.example("rnn", steps=8)
    dot = diagrams.unrolled(ex, grads=True)
    svg = Svg(dot)
    norms = [edge_label(svg, e) for e in sorted(hand_overs(dot, ex, "h_t"), key=lambda e: e.src.scope)]
    exact = [grad_norm(tg.grad(ex.loss, step["h_t"])) for step in ex.run.steps[:-1]]
    np.testing.assert_allclose(norms, exact, rtol=5e-3)
    assert norms[0] < norms[-1] / 10                          # ∂L/∂h_1 is far smaller than ∂L/∂h_7


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_ops_view_shows_every_named_intermediate_and_parameter(variant):
    ex = diagrams.example(variant)
    svg = Svg(diagrams.ops(ex))
    texts = svg.all_node_texts()
    for name in ex.run.steps[0]:
        assert name in texts, f"{variant}: {name!r} missing from the ops view"
    for node in ex.cell.parameters().values():
        assert node.name in texts
    scopes = {"blog": ["input gate", "forget gate", "output gate", "new memory"],
              "peephole": ["input gate", "forget gate", "output gate", "new memory"],
              "paper": ["input gate", "forget gate", "output gate", "input value"], "rnn": [],
              "gru": ["update gate", "reset gate", "hidden to candidate", "candidate"]}[variant]
    assert set(scopes + ["t=1", "loss"]) <= set(svg.cluster_labels())


def test_ops_view_of_two_steps_clusters_each_step():
    labels = Svg(diagrams.ops("blog", steps=2)).cluster_labels()
    assert labels.count("forget gate") == 2 and {"t=1", "t=2"} <= set(labels)


@pytest.mark.parametrize("make", [diagrams.ops, diagrams.cell, diagrams.unrolled])
def test_every_view_takes_the_backward_overlay(make):
    ex = diagrams.example("blog", steps=1)
    steps = list(tg.backward_steps(ex.loss, accumulate=False))
    current = next(s for s in steps if s.node is ex.run.steps[0]["F×C"])
    dot = make(ex, highlight=current, visited=[s.node for s in steps[:current.index + 1]])
    svg = Svg(dot)
    strokes = [e.get("stroke", "").upper() for g in svg.of("node").values() for e in g.iter()]
    assert "#D62728" in strokes


def test_render_all_writes_the_cell_and_unrolled_view_of_every_variant(tmp_path):
    paths = diagrams.render_all(tmp_path, fmt="svg", steps=2)
    assert sorted(p.name for p in paths) == sorted(f"{v}_{view}.svg" for v in VARIANTS for view in ("cell", "unrolled"))
    for path in paths:
        ET.parse(path)


def test_bad_names_are_refused_with_the_choices():
    with pytest.raises(ValueError, match="unknown variant 'lstm'"):
        diagrams.example("lstm")
    with pytest.raises(ValueError, match="unknown view"):
        diagrams.view("blog", "pipe")
    with pytest.raises(ValueError, match="steps must be a positive integer"):
        diagrams.example("blog", steps=0)
    with pytest.raises(ValueError, match="draws one step"):
        diagrams.cell(diagrams.example("blog", steps=2))
    with pytest.raises(ValueError, match="unknown format"):
        diagrams.save(diagrams.cell("rnn"), "x.gif", "gif")


# --- layout read back as relations (positions from `dot -Tjson`, compared with each other) ---

GATE_NAMES = {"blog": ["forget gate", "input gate", "new memory", "output gate"],
              "peephole": ["forget gate", "input gate", "new memory", "output gate"],
              "paper": ["forget gate", "input gate", "input value", "output gate"],
              "gru": ["update gate", "reset gate", "hidden to candidate", "candidate"]}


def layout(dot):
    """vertex id -> (x, y) centre in points, y growing upwards, from dot -Tjson."""
    import json
    objects = json.loads(dot.pipe(format="json"))["objects"]
    return {o["name"]: tuple(float(v) for v in o["pos"].split(",")) for o in objects if "pos" in o}


def left_of(pos, a, b):
    return pos[a][0] < pos[b][0]


def above(pos, a, b):
    return pos[a][1] > pos[b][1]


def op_vertex(dot, node):
    return next(v for v in dot.vertices if v.kind == "op" and v.nodes[0] is node)


@pytest.mark.parametrize("grads", [False, True])
@pytest.mark.parametrize("variant", ["blog", "peephole", "paper", "gru"])
def test_cell_and_unrolled_views_draw_the_gates_in_the_pipes_order(variant, grads):
    ex, dot, _ = rendered_cell(variant, grads)
    pos = layout(dot)
    gates = {v.name: v.id for v in dot.vertices if v.kind == "group" and v.name != "loss"}
    order = [gates[name] for name in GATE_NAMES[variant]]
    assert all(left_of(pos, a, b) for a, b in zip(order, order[1:]))
    ex = diagrams.example(variant, steps=3)
    dot = diagrams.unrolled(ex, grads=grads)
    pos = layout(dot)
    for k in (1, 2, 3):
        gates = {v.name: v.id for v in dot.vertices if v.kind == "group" and tg.step_of(v) == k}
        order = [gates[name] for name in GATE_NAMES[variant]]
        assert all(left_of(pos, a, b) for a, b in zip(order, order[1:])), (variant, k)


def clusters(dot):
    """scope path of a cluster ("t=1/forget gate") -> its box (x0, y0, x1, y1) in points, from dot -Tjson."""
    import json
    objects = json.loads(dot.pipe(format="json"))["objects"]
    return {o["tooltip"]: tuple(float(v) for v in o["bb"].split(",")) for o in objects if "bb" in o and "nodes" in o}


def inside(pos, box, a):
    x, y = pos[a]
    return box[0] <= x <= box[2] and box[1] <= y <= box[3]


@pytest.mark.parametrize("grads", [False, True])
@pytest.mark.parametrize("steps", [1, 2, 3])
@pytest.mark.parametrize("variant", ["blog", "peephole", "paper", "gru"])
def test_ops_view_stacks_the_gates_in_the_pipes_order_each_output_inside_its_gate_and_step(variant, steps, grads):
    ex = diagrams.example(variant, steps=steps)
    dot = diagrams.ops(ex, grads=grads)
    pos, boxes = layout(dot), clusters(dot)
    for t, step in enumerate(ex.run.steps, start=1):
        bands = [boxes[f"t={t}/{gate}"] for gate in GATE_NAMES[variant]]
        for upper, lower in zip(bands, bands[1:]):             # (x0, y0, x1, y1), y growing upwards
            assert upper[1] > lower[3], f"{variant} t={t}: {GATE_NAMES[variant]} not one below the other"
        for name, gate in zip(GATES[variant], GATE_NAMES[variant]):
            vertex = dot.vertex_of(step[name]).id
            assert inside(pos, boxes[f"t={t}"], vertex), (name, t)
            assert inside(pos, boxes[f"t={t}/{gate}"], vertex), (name, t)


def test_ops_view_of_a_stack_stacks_each_layers_gates_in_the_pipes_order():
    ex = diagrams.example("blog", steps=2, num_layers=2)
    boxes = clusters(diagrams.ops(ex))
    for scope in ("layer=1/t=1", "layer=1/t=2", "layer=2/t=1", "layer=2/t=2"):
        bands = [boxes[f"{scope}/{gate}"] for gate in GATE_NAMES["blog"]]
        assert all(upper[1] > lower[3] for upper, lower in zip(bands, bands[1:])), scope


@pytest.mark.parametrize("variant", ["blog", "peephole", "paper"])
def test_cell_view_names_the_three_valves_as_seed_002_does(variant):
    ex, dot, svg = rendered_cell(variant, False)
    step = ex.run.steps[0]
    valves = dict(zip(("forget valve", "new-memory valve", "output valve"),
                      {"paper": ("g_φ s", "g_ι z_c", "g_ω s")}.get(variant, ("F×C", "I×C_i", "H_t"))))
    for name, node_name in valves.items():
        texts = Svg.texts(svg.of("node")[op_vertex(dot, step[node_name]).id])
        assert texts == ["×", name], (variant, texts)          # inside the node: no arrow can cover it


def test_gate_boxes_show_their_formula():
    _, _, svg = rendered_cell("blog", False)
    texts = svg.all_node_texts()
    for formula in ("σ(X W_fx + H W_fh + b_f)", "σ(X W_ix + H W_ih + b_i)", "tanh(X W_cx + H W_ch + b_c)",
                    "σ(X W_ox + H W_oh + b_o)"):
        assert formula in texts


def test_rnn_cell_view_names_its_matmuls_and_sums():
    texts = Svg(diagrams.cell("rnn")).all_node_texts()
    for name in ("X W_x", "h W_h", "X W_x + h W_h", "X W_x + h W_h + b"):
        assert name in texts


@pytest.mark.parametrize("make", [diagrams.cell, diagrams.unrolled, diagrams.ops])
def test_a_drawing_with_gradients_says_what_the_edge_numbers_are(make):
    def all_texts(dot):
        return " ".join(t.text for t in ET.fromstring(dot.pipe(format="svg")).iter(f"{SVG}text") if t.text)
    assert "the norm of the gradient of the loss L" in all_texts(make("blog", grads=True))
    assert "the norm of the gradient" not in all_texts(make("blog"))


def test_greek_names_are_set_in_a_font_whose_iota_has_a_tail():
    root = ET.fromstring(diagrams.cell("paper").pipe(format="svg"))
    greek = [t for t in root.iter(f"{SVG}text") if t.text and "ι" in t.text]
    assert greek and all(t.get("font-family") == diagrams.FONT for t in greek)
    # and the font is there for Graphviz's PNGs, with an ι unlike the dotless i it falls back to elsewhere
    font = _font(bold=False)
    assert font.getname()[0] == diagrams.FONT
    assert font.getmask("ι").getbbox() != font.getmask("ı").getbbox()


def _bezier_points(d):
    numbers = [float(v) for v in re.findall(r"-?\d+\.?\d*", d)]
    points = list(zip(numbers[::2], numbers[1::2]))
    out = []
    for i in range(0, len(points) - 3, 3):
        p0, p1, p2, p3 = (np.array(p) for p in points[i:i + 4])
        for s in np.linspace(0, 1, 25):
            out.append((1 - s) ** 3 * p0 + 3 * (1 - s) ** 2 * s * p1 + 3 * (1 - s) * s ** 2 * p2 + s ** 3 * p3)
    return out


#: every drawing with gradient labels the README and the gallery show, each variant in each view
LABELLED_VIEWS = {
    "cell": lambda v: diagrams.cell(v, grads=True),
    "unrolled": lambda v: diagrams.unrolled(v, steps=4, grads=True),
    "slide": lambda v: diagrams.unrolled(v, steps=6, grads=True, per_row=2),
    "ops": lambda v: diagrams.ops(v, grads=True),
    "stacked grid": lambda v: diagrams.unrolled(diagrams.example(v, steps=3, num_layers=2), grads=True),
}


def covered_labels(svg):
    """The edge labels an edge line runs through, its stroke's width counted: (label, its edge,
    the covering edge)."""
    edges = svg.of("edge")
    paths = {title: (_bezier_points(g.find(f"{SVG}path").get("d")),
                     float(g.find(f"{SVG}path").get("stroke-width", 1)) / 2) for title, g in edges.items()}
    covered = []
    for title, g in edges.items():
        for text in g.iter(f"{SVG}text"):
            x, y, size = float(text.get("x")), float(text.get("y")), float(text.get("font-size"))
            half = 0.3 * size * len(text.text)              # anchored in the middle
            x0, y0, x1, y1 = x - half + 1, y - 0.7 * size + 1, x + half - 1, y - 1
            covered += [(text.text, title, other) for other, (points, w) in paths.items()
                        if any(x0 - w < p[0] < x1 + w and y0 - w < p[1] < y1 + w for p in points)]
    return covered


@pytest.mark.parametrize("view", list(LABELLED_VIEWS))
@pytest.mark.parametrize("variant", list(VARIANTS))
def test_edge_labels_are_not_covered_by_edges(variant, view):
    svg = Svg(LABELLED_VIEWS[view](variant))
    assert any(Svg.texts(g) for g in svg.of("edge").values()), (variant, view)
    assert not covered_labels(svg), f"{variant} {view}: labels covered by edges {covered_labels(svg)}"


@pytest.mark.parametrize("variant", ["blog", "rnn"])
def test_edge_labels_of_twenty_steps_are_not_covered_by_edges(variant):
    assert not covered_labels(Svg(diagrams.unrolled(variant, steps=20, grads=True)))


def node_boxes(svg):
    """vertex id -> the box (x0, y0, x1, y1) of its drawn shape, in SVG units (y growing downwards)."""
    boxes = {}
    for title, g in svg.of("node").items():
        shape = next((e for e in g.iter() if e.tag in (f"{SVG}ellipse", f"{SVG}path", f"{SVG}polygon")), None)
        if shape is None:
            continue
        if shape.tag == f"{SVG}ellipse":
            cx, cy, rx, ry = (float(shape.get(k)) for k in ("cx", "cy", "rx", "ry"))
            boxes[title] = (cx - rx, cy - ry, cx + rx, cy + ry)
        else:
            numbers = [float(v) for v in re.findall(r"-?\d+\.?\d*", shape.get("d") or shape.get("points"))]
            boxes[title] = (min(numbers[::2]), min(numbers[1::2]), max(numbers[::2]), max(numbers[1::2]))
    return boxes


def cell_views():
    """Every cell view a person sees: each variant plain (README, gallery) and with gradients,
    and the grader's (a gate highlighted, the caption above)."""
    from types import SimpleNamespace

    from lstm.exercises.drawing import exercise_view

    views = {f"{variant} grads={grads}": rendered_cell(variant, grads)[2] for variant in VARIANTS
             for grads in (False, True)}
    wrong = SimpleNamespace(symbol="C̄_i", meaning="the gradient of L with respect to the new memory", node="C_i")
    views["grader blog C_i"] = Svg(exercise_view("blog", wrong, view="cell"))
    return views


def through_boxes(svg):
    """(edge, vertex) for each edge whose line runs through a vertex's box other than its ends."""
    boxes, found = node_boxes(svg), []
    for title, g in svg.of("edge").items():
        ends = {end.split(":")[0] for end in title.split("->")}
        points = _bezier_points(g.find(f"{SVG}path").get("d"))
        found += [(title, vertex) for vertex, (x0, y0, x1, y1) in boxes.items() if vertex not in ends
                  and any(x0 + 1 < x < x1 - 1 and y0 + 1 < y < y1 - 1 for x, y in points)]
    return found


def test_no_edge_runs_through_another_box_of_the_cell_views():
    """An arrow may touch only its own two ends: none runs through a gate box's text."""
    for name, svg in cell_views().items():
        assert not through_boxes(svg), name


@pytest.mark.parametrize("view", ["unrolled", "slide", "ops", "stacked grid"])
def test_no_edge_runs_through_another_box_of_the_other_views(view):
    """Nor in the other views: in the stacked grid a layer's output rising into a step whose
    input is not its lowest box comes in from the left (it ran through the box below)."""
    for variant in VARIANTS:
        assert not through_boxes(Svg(LABELLED_VIEWS[view](variant))), (variant, view)


@functools.cache
def _font(bold):
    from PIL import ImageFont
    return ImageFont.truetype("DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf", 1000)


def _ink(text):
    """(top, bottom) of an SVG text's glyphs (DejaVu Sans' outlines), y growing downwards."""
    size, y = float(text.get("font-size")), float(text.get("y"))
    _, top, _, bottom = _font(text.get("font-weight") == "bold").getbbox(text.text, anchor="ls")
    return y + top * size / 1000, y + bottom * size / 1000


def test_gate_box_lines_do_not_touch_each_other():
    """In every gate box the lines stand at least a point apart, glyph to glyph: the bold name's
    underscore (C_i, z_c) clear of the formula below it, the formula's clear of the gate's name."""
    assert diagrams.FONT == "DejaVu Sans"           # the outlines measured below
    for name, svg in cell_views().items():
        gates = [g for g in svg.of("node").values() if any(t.get("font-weight") == "bold" for t in g.iter(f"{SVG}text"))
                 and len({t.get("y") for t in g.iter(f"{SVG}text")}) >= 3]
        assert gates or name.startswith("rnn"), name
        for g in gates:
            lines = {}
            for text in g.iter(f"{SVG}text"):
                if text.text and text.text.strip():
                    lines.setdefault(float(text.get("y")), []).append(_ink(text))
            ys = sorted(lines)
            for upper, lower in zip(ys, ys[1:]):
                gap = min(top for top, _ in lines[lower]) - max(bottom for _, bottom in lines[upper])
                assert gap >= 1.0, f"{name}: lines {Svg.texts(g)} only {gap:.2f} pt apart"


def laid_out(dot):
    """(cluster boxes by scope path, edge routes by id as lists of points), from the drawing's JSON."""
    import json
    laid = json.loads(dot.pipe(format="json"))
    boxes = {o["tooltip"]: tuple(float(v) for v in o["bb"].split(","))
             for o in laid["objects"] if "bb" in o and "nodes" in o}
    routes = {e["id"]: [tuple(float(v) for v in p.split(",")[-2:]) for p in e["pos"].split() if p[:2] not in ("e,", "s,")]
              for e in laid["edges"] if e.get("id", "").startswith("e_")}
    return boxes, routes


def crosses(a, b):
    """Whether polylines ``a`` and ``b`` cross (two of their pieces cross properly)."""
    def side(p, q, r):
        return np.sign((q[0] - p[0]) * (r[1] - p[1]) - (q[1] - p[1]) * (r[0] - p[0]))
    return any(side(p, q, r) * side(p, q, t) < 0 and side(r, t, p) * side(r, t, q) < 0
               for p, q in zip(a, a[1:]) for r, t in zip(b, b[1:]))


def check_slide(variant, T, per_row, grads=True):
    """The slide's rows as relations: steps of a row side by side on one line, each row wholly
    below the one above, its first step under the first step above, each step's pipe above its
    hidden path; the C and H handed from a row to the next routed outside every step and not
    crossing each other. Returns the layout's width."""
    ex = diagrams.example(variant, steps=T)
    dot = diagrams.unrolled(ex, grads=grads, per_row=per_row)
    boxes, routes = laid_out(dot)
    step = [boxes[f"t={t}"] for t in range(1, T + 1)]          # (x0, y0, x1, y1), y growing upwards
    for t in range(1, T):
        a, b = step[t - 1], step[t]
        if t % per_row:                                           # the next step in the same row
            assert a[2] < b[0] and a[1] < (b[1] + b[3]) / 2 < a[3], f"{variant} T={T}: step {t + 1} not right of {t}"
        else:                                                     # the first step of the next row
            assert b[3] < min(s[1] for s in step[t - per_row:t]), f"{variant} T={T}: row of step {t + 1} not below"
            assert abs(b[0] - step[0][0]) < 1.0, f"{variant} T={T}: step {t + 1} not under step 1"
    n = ex.notation
    if n.memory and n.memory != n.hidden:
        pos = layout(dot)
        for k, s in enumerate(ex.run.steps):
            assert above(pos, op_vertex(dot, s[n.valves[0]]).id, op_vertex(dot, s[n.hidden]).id), (variant, T, k + 1)
    wrapped = [f"e_{k}" for k, e in enumerate(dot.edges)
               if tg.step_of(e.src) and tg.step_of(e.dst) and tg.step_of(e.src) % per_row == 0
               and tg.step_of(e.dst) == tg.step_of(e.src) + 1]
    assert len(wrapped) == (T - 1) // per_row * len(ex.cell.STATE)
    for k in wrapped:
        edge = dot.edges[int(k[2:])]
        own = {f"t={tg.step_of(edge.src)}", f"t={tg.step_of(edge.dst)}"}
        for scope, (x0, y0, x1, y1) in boxes.items():
            if scope not in own:
                assert not any(x0 < x < x1 and y0 < y < y1 for x, y in routes[k]), f"{variant} T={T}: {k} over {scope}"
        assert not any(crosses(routes[k], routes[other]) for other in wrapped if other != k), (variant, T, k)
    return diagrams.layout_size(dot)[0]


def test_slide_wraps_any_number_of_steps_into_rows_no_wider_than_one_row_of_them():
    one_row = diagrams.layout_size(diagrams.unrolled("blog", steps=2, grads=True, per_row=2))[0]
    for T in range(1, 13):
        assert check_slide("blog", T, 2) <= one_row + 4 * slide.LANE, T


@pytest.mark.parametrize("variant, T, per_row, grads", [("peephole", 5, 2, True), ("paper", 7, 2, True),
                                                        ("rnn", 12, 3, True), ("gru", 8, 3, True), ("blog", 9, 4, True),
                                                        ("blog", 4, 3, False), ("paper", 6, 2, False)])
def test_slide_rows_hold_for_every_variant(variant, T, per_row, grads):
    check_slide(variant, T, per_row, grads)


def test_slide_png_is_at_most_1920_pixels_wide(tmp_path):
    dot = diagrams.unrolled("paper", steps=12, grads=True, per_row=2)
    png = diagrams.save(dot, tmp_path / "slide.png", "png", max_width=1920)
    assert int.from_bytes(png.read_bytes()[16:20], "big") <= 1920


def test_unrolled_grads_shade_each_step_by_its_state_gradient():
    ex = diagrams.example("rnn", steps=5)
    svg = Svg(diagrams.unrolled(ex, grads=True))
    norms = [grad_norm(tg.grad(ex.loss, step["h_t"])) for step in ex.run.steps]
    fills = {}
    for g in svg.of("cluster").values():
        label = " ".join(Svg.texts(g))
        if label.startswith("t="):
            k = int(label.split()[0][2:])
            assert f"{norms[k - 1]:.2g}" in label
            shape = next(e for e in g.iter() if e.tag in (f"{SVG}path", f"{SVG}polygon"))
            fills[k] = sum(int(shape.get("fill")[i:i + 2], 16) for i in (1, 3, 5))
    darker_first = sorted(fills, key=fills.get)          # the smaller the sum of RGB, the darker
    assert darker_first == sorted(fills, key=lambda k: -norms[k - 1])


def test_render_slide_writes_rows_of_two_at_most_1920_pixels_wide(tmp_path, capsys):
    from lstm.__main__ import main
    out = tmp_path / "slide.png"
    assert main(["render", "--view", "unrolled", "--steps", "6", "--grads", "--slide", "-o", str(out)]) == 0
    assert int.from_bytes(out.read_bytes()[16:20], "big") <= 1920
    assert main(["render", "--view", "cell", "--slide", "-o", str(tmp_path / "c.png")]) == 2
    assert "--slide lays out the unrolled view" in capsys.readouterr().err


def test_a_given_cell_is_titled_by_its_variant_not_by_a_seed():
    from lstm.cells import make_cell

    given = diagrams.example(cell=make_cell("gru", 3, 4, seed=5), steps=2)
    assert given.title == "GRU (given parameters)"
    for dot in (diagrams.unrolled(given), diagrams.ops(given)):
        assert "GRU (given parameters)" in dot.source and "convention" not in dot.source
    assert diagrams.example("blog").title == "BlogLSTM (seed 001)"


def test_fused_ops_draw_their_gates_in_the_pipes_order():
    """The fused LSTM step and sequence draw their gate rows one below the other as F, I, C_i, O,
    read from the rendered SVG (the y of each gate's name), as every other view orders them."""
    from lstm.fused_cell import FusedBlogLSTM

    cell = FusedBlogLSTM(3, 4, seed=0)
    inputs = np.random.default_rng(1).standard_normal((2, 2, 3))
    for out, symbol in ((tg.stack(cell.unroll(inputs).outputs).sum(), "LSTM step"), (cell.sequence(inputs).H.sum(),
                                                                                     "LSTM × T")):
        tg.backward(out)
        svg = Svg(tg.draw(out, values=False, grads="norm"))
        fused = [g for g in svg.of("node").values() if symbol in Svg.texts(g)]
        assert fused, symbol
        for g in fused:
            y = {t.text.strip(): float(t.get("y")) for t in g.iter(f"{SVG}text") if t.text}
            order = [y[gate] for gate in GATES["blog"]]
            assert order == sorted(order) and len(set(order)) == 4, (symbol, y)
