"""tinygraph.draw: render to SVG and read the drawing back with xml.etree."""
import re
import xml.etree.ElementTree as ET

import graphviz
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygraph as tg
from tinygraph.draw import ROLE_COLORS, GraphvizNotFound, edge_gradients, grad_norm, summarize

SVG = "{http://www.w3.org/2000/svg}"


class Svg:
    """The nodes, edges and clusters of a rendered drawing, by their texts."""

    def __init__(self, dot):
        self.root = ET.fromstring(dot.pipe(format="svg"))
        self.nodes, self.edges, self.clusters = {}, {}, {}
        for g in self.root.iter(f"{SVG}g"):
            kind = g.get("class")
            if kind not in ("node", "edge", "cluster"):
                continue
            title = g.find(f"{SVG}title").text
            getattr(self, kind + "s" if kind != "cluster" else "clusters")[title] = g

    @staticmethod
    def texts(g):
        return [t.text for t in g.iter(f"{SVG}text") if t.text and t.text.strip()]

    def node_with(self, text):
        found = [g for g in self.nodes.values() if text in self.texts(g)]
        assert len(found) == 1, f"{len(found)} nodes show {text!r}"
        return found[0]

    def cluster(self, label):
        found = [g for g in self.clusters.values() if label in self.texts(g)]
        assert len(found) == 1, f"{len(found)} clusters labelled {label!r}"
        return found[0]

    def edge_labels(self):
        return {title: self.texts(g) for title, g in self.edges.items()}


def outline(g):
    """The shape drawn for a node or cluster (path or polygon element)."""
    return next(e for e in g.iter() if e.tag in (f"{SVG}path", f"{SVG}polygon", f"{SVG}ellipse"))


def bbox(g):
    el = outline(g)
    nums = [float(v) for v in re.findall(r"-?\d+\.?\d*", el.get("d") or el.get("points"))]
    xs, ys = nums[0::2], nums[1::2]
    return min(xs), min(ys), max(xs), max(ys)


def small_graph():
    W = tg.parameter([[0.5, -1.0, 0.25], [0.3, 0.2, -0.7]], name="W")
    x = tg.tensor([[1.0], [2.0], [-1.0]], name="x")
    with tg.scope("t=1"):
        with tg.scope("forget gate"):
            F = tg.sigmoid(W @ x + 1.0, name="F")
        y = tg.sum(F * F, name="y")
    loss = tg.mul(y, 2.0, name="L")
    return W, x, F, y, loss


def stepped_graph(steps=3):
    """h_t = σ(W h_t-1) × x_t for t = 1..steps, each step a scope with a "gate" scope inside."""
    W = tg.parameter(np.full((2, 2), 0.4), name="W")
    h = tg.tensor(np.ones((2, 1)), name="h0")
    xs = [tg.tensor(np.full((2, 1), 0.5 + t), name=f"x{t}") for t in range(1, steps + 1)]
    for t in range(1, steps + 1):
        with tg.scope(f"t={t}"):
            with tg.scope("gate"):
                g = tg.sigmoid(W @ h, name="g")
            h = tg.mul(g, xs[t - 1], name="h")
    return W, xs, h, tg.sum(h, name="L")


def test_records_show_name_shape_value_and_grad_after_backward():
    W, x, F, y, loss = small_graph()
    tg.backward(loss)
    svg = Svg(tg.draw(loss))
    texts = svg.texts(svg.node_with("W"))
    assert "2×3" in texts and summarize(W.value) in texts
    assert f"grad {summarize(W.grad)}" in texts
    assert "grad 1" in svg.texts(svg.node_with("L"))
    assert not any(t.startswith("grad") for t in svg.texts(svg.node_with("x")))   # x needs no gradient


def test_values_and_grads_can_be_left_out():
    W, x, F, y, loss = small_graph()
    tg.backward(loss)
    svg = Svg(tg.draw(loss, values=False, grads=False))
    assert svg.texts(svg.node_with("W")) == ["W", "2×3"]


def test_names_replace_the_shown_names_and_grads_can_show_only_the_norm():
    W, x, F, y, loss = small_graph()
    tg.backward(loss)
    svg = Svg(tg.draw(loss, names={x: "x_t", F: "forget"}, grads="norm", values=False))
    assert "x_t" in svg.texts(svg.node_with("x_t")) and svg.node_with("forget") is not None
    assert f"‖grad‖ {grad_norm(W.grad):.3g}" in svg.texts(svg.node_with("W"))


def test_a_value_used_twice_by_one_op_is_one_edge_marked_with_the_count():
    a = tg.parameter([1.0, 2.0], name="a")
    sq = tg.mul(a, a, name="sq")
    dot = tg.draw(tg.sum(sq, name="L"), edge_grads=True)
    (edge,) = [e for e in dot.edges if e.node is a]
    label = Svg(dot).edge_labels()[f"{edge.src.id}->{edge.dst.id}"]
    assert label == [f"{grad_norm(2 * a.value):.3g} (×2)"]


def test_op_nodes_show_the_op_symbols():
    *_, loss = small_graph()
    svg = Svg(tg.draw(loss))
    op_texts = [svg.texts(g) for title, g in svg.nodes.items() if title.startswith("o")]
    assert sorted(t[0] for t in op_texts) == sorted(["@", "+", "σ", "×", "Σ", "×"])


def test_roles_are_told_apart_by_fill_colour():
    W, x, F, y, loss = small_graph()
    svg = Svg(tg.draw(loss))
    assert outline(svg.node_with("W")).tag == f"{SVG}polygon"        # square corners: a parameter
    assert outline(svg.node_with("x")).tag == f"{SVG}path"           # rounded: a value
    fill = {name: outline(svg.node_with(name)).get("fill").upper() for name in ("W", "x", "F", "L")}
    assert fill == {"W": ROLE_COLORS["parameter"][0], "x": ROLE_COLORS["input"][0],
                    "F": ROLE_COLORS["intermediate"][0], "L": ROLE_COLORS["output"][0]}
    constants = [g for g in svg.nodes.values()
                 if outline(g).get("fill", "").upper() == ROLE_COLORS["constant"][0]]
    assert sorted(svg.texts(g)[0] for g in constants) == ["1", "2"]


def test_legend_names_every_role():
    *_, loss = small_graph()
    svg = Svg(tg.draw(loss, legend=True))
    texts = svg.texts(svg.nodes["legend"])
    for role in ROLE_COLORS:
        assert role in texts


def test_scopes_become_nested_clusters():
    *_, loss = small_graph()
    svg = Svg(tg.draw(loss))
    outer, inner = bbox(svg.cluster("t=1")), bbox(svg.cluster("forget gate"))
    assert outer[0] <= inner[0] and outer[1] <= inner[1] and inner[2] <= outer[2] and inner[3] <= outer[3]
    f_box, outer_box = bbox(svg.node_with("F")), outer
    assert outer_box[0] <= f_box[0] and f_box[2] <= outer_box[2]
    l_box = bbox(svg.node_with("L"))
    assert l_box[0] > outer[2] or l_box[2] < outer[0] or l_box[1] > outer[3] or l_box[3] < outer[1]


def test_several_roots_are_drawn_together():
    W, xs, h, loss = stepped_graph(2)
    other = tg.tanh(h, name="other")
    svg = Svg(tg.draw([loss, other]))
    for name in ("L", "other"):
        assert outline(svg.node_with(name)).get("fill").upper() == ROLE_COLORS["output"][0]


SPECIAL = ['a<b>c', 'x & y', 'say "hi"', "it's", "{braces}", "a|b", "ι φ ω", "back\\slash", "<>", "\\N", "x[i]]", "]]"]


@pytest.mark.parametrize("name", SPECIAL)
def test_any_characters_in_names_render_as_written(name):
    p = tg.parameter([1.0, 2.0], name=name)
    with tg.scope(name):
        y = tg.tanh(p, name=name + "!")
    dot = tg.draw(tg.sum(y, name="L"))
    svg = Svg(dot)
    assert name in svg.texts(svg.node_with(name))
    assert name + "!" in svg.texts(svg.node_with(name + "!"))
    svg.cluster(name)


def test_collapse_turns_scopes_into_single_nodes():
    W, xs, h, loss = stepped_graph(3)
    count = lambda **kw: len(Svg(tg.draw(loss, junctions=False, repeat_leaves=False, **kw)).nodes)
    # 5 leaves, 10 ops each with a record: 25 drawn nodes
    assert count() == 25
    assert count(collapse=2) == 25 - 3 * 3              # per step: @, σ and their records -> 1
    assert count(collapse="gate") == 25 - 3 * 3
    assert count(collapse="t=*") == 25 - 3 * 5          # per step: 3 ops, 3 records -> 1
    assert count(collapse=1) == 25 - 3 * 5
    assert count(collapse="t=2") == 25 - 5
    assert count(collapse="t=2/gate") == 25 - 3
    assert count(collapse=("t=2", "gate")) == 25 - 3
    assert count(collapse=["t=1", "t=3/gate"]) == 25 - 5 - 3


def test_collapse_takes_a_mix_of_depths_and_names():
    W, xs, h, loss = stepped_graph(2)
    with tg.scope("loss"):
        total = tg.mul(loss, 3.0, name="total")
    dot = tg.draw(total, collapse=[2, "loss"], repeat_leaves=False)
    assert sorted(v.name for v in dot.vertices if v.kind == "group") == ["gate", "gate", "loss"]
    assert [v.role for v in dot.vertices if v.name == "loss"] == ["output"]


def test_collapsed_scope_is_labelled_and_hands_its_output_on():
    W, xs, h, loss = stepped_graph(3)
    dot = tg.draw(loss, collapse="t=*")
    svg = Svg(dot)
    groups = {v.name: v for v in dot.vertices if v.kind == "group"}
    assert sorted(groups) == ["t=1", "t=2", "t=3"]
    assert "→ h" in svg.texts(svg.nodes[groups["t=1"].id])
    assert f"{groups['t=1'].id}->{groups['t=2'].id}" in svg.edges
    assert f"{groups['t=2'].id}->{groups['t=3'].id}" in svg.edges


def test_records_option_keeps_only_named_values():
    *_, loss = small_graph()
    named = Svg(tg.draw(loss, records="named"))
    assert len(Svg(tg.draw(loss)).nodes) - len(named.nodes) == 3     # unnamed @, + and × results
    ends = Svg(tg.draw(loss, records="ends"))
    assert ["σ", "F"] in [ends.texts(g) for g in ends.nodes.values()]


def test_a_value_entering_a_cluster_twice_goes_through_one_junction():
    x = tg.parameter([1.0, -2.0], name="x")
    with tg.scope("block"):
        y = tg.add(tg.tanh(x), tg.sigmoid(x), name="y")
    dot = tg.draw(tg.sum(y, name="L"), place_leaves=False)
    svg = Svg(dot)
    x_id = dot.vertex_of(x).id
    out_of_x = [t for t in svg.edges if t.startswith(x_id + "->")]
    assert len(out_of_x) == 1 and out_of_x[0].split("->")[1].startswith("j")
    assert len(Svg(tg.draw(tg.sum(y), junctions=False, place_leaves=False)).edges) == len(svg.edges) - 1


def test_leaves_are_drawn_in_the_cluster_of_their_uses():
    W, xs, h, loss = stepped_graph(2)
    dot = tg.draw(loss, repeat_leaves=False)
    assert dot.vertex_of(W).scope == ()                  # used in both steps: stays outside
    assert dot.vertex_of(xs[1]).scope == ("t=2",)        # x2 is used by "h" of step 2 only
    assert tg.draw(loss, place_leaves=False).vertex_of(xs[1]).scope == ()


def test_a_leaf_shared_by_several_steps_is_repeated_in_each():
    W, xs, h, loss = stepped_graph(3)
    dot = tg.draw(loss, highlight=W)
    copies = [v for v in dot.vertices if W in v.nodes]
    assert sorted(v.scope for v in copies) == [("t=1", "gate"), ("t=2", "gate"), ("t=3", "gate")]
    svg = Svg(dot)
    for v in copies:
        assert "W" in svg.texts(svg.nodes[v.id])
        assert outline(svg.nodes[v.id]).get("stroke").upper() == "#D62728"     # all copies highlighted
    assert not any(e.src.id == e.dst.id for e in dot.edges)
    collapsed = tg.draw(loss, collapse="t=*")                                  # one W per step box
    assert sum(1 for v in collapsed.vertices if W in v.nodes and v.kind == "data") == 3


def test_edge_grads_label_each_edge_with_the_norm_of_the_gradient_it_carries():
    W, x, F, y, loss = small_graph()
    dot = tg.draw(loss, edge_grads=True)
    labels = Svg(dot).edge_labels()
    # an independent reference: central differences of the loss with respect to W
    numeric = tg.numerical_gradient(lambda w: 2.0 * tg.sum(tg.sigmoid(w @ x + 1.0) ** 2), [np.array(W.value)])[0]
    shown = float(labels[next(t for t in labels if t.startswith(dot.vertex_of(W).id + "->"))][0].replace("−", "-"))
    assert shown == pytest.approx(grad_norm(numeric), rel=2e-3)
    assert W.grad is None                      # edge_grads=True does not touch .grad


def test_pen_width_grows_with_the_gradient_norm():
    W, xs, h, loss = stepped_graph(3)
    dot = tg.draw(loss, edge_grads=True)
    widths = {}
    for edge in dot.edges:
        if edge.grad:
            widths[edge.grad] = float(re.search(rf'{edge.src.id} -> {edge.dst.id} \[.*?penwidth=([\d.]+)',
                                                dot.source).group(1))
    ordered = [widths[g] for g in sorted(widths)]
    assert ordered == sorted(ordered) and ordered[0] < ordered[-1]


def test_edge_grads_mapping_is_used_as_given():
    a = tg.parameter([3.0, 4.0], name="a")
    y = tg.tanh(a, name="y")
    dot = tg.draw(y, edge_grads={(a, y): np.array([0.0, 5.0])})
    assert "5" in Svg(dot).edge_labels()[f"{dot.vertex_of(a).id}->{dot.vertex_of(y).id.replace('n', 'o')}"]


def test_highlighted_backward_step_stands_out_with_its_input_gradients():
    W, x, F, y, loss = small_graph()
    steps = list(tg.backward_steps(loss))
    step = next(s for s in steps if s.node is F)
    visited = [s.node for s in steps[:step.index + 1]]
    dot = tg.draw(loss, highlight=step, visited=visited)
    svg = Svg(dot)
    assert outline(svg.node_with("F")).get("stroke").upper() == "#D62728"
    sigma = svg.nodes[dot.vertex_of(F).id.replace("n", "o")]
    assert outline(sigma).get("stroke").upper() == "#D62728"
    into_sigma = [g for t, g in svg.edges.items() if t.endswith("->" + dot.vertex_of(F).id.replace("n", "o"))]
    assert len(into_sigma) == 1
    label = float(svg.texts(into_sigma[0])[0].replace("−", "-"))
    assert label == pytest.approx(grad_norm(step.input_grads[0]), rel=1e-2)
    assert into_sigma[0].find(f"{SVG}path").get("stroke").upper() == "#D62728"


def test_nodes_not_yet_visited_are_faded_and_visited_ones_are_not():
    W, x, F, y, loss = small_graph()
    steps = list(tg.backward_steps(loss, accumulate=False))
    dot = tg.draw(loss, visited=[s.node for s in steps[:3]], highlight=steps[2].node)
    svg = Svg(dot)
    assert outline(svg.node_with("W")).get("stroke-dasharray")        # still to come
    assert not outline(svg.node_with("L")).get("stroke-dasharray")    # visited
    assert not outline(svg.node_with("x")).get("stroke-dasharray")    # needs no gradient


def test_layout_is_left_to_right_by_default_and_top_to_bottom_on_request():
    *_, loss = small_graph()
    lr, tb = Svg(tg.draw(loss)), Svg(tg.draw(loss, rankdir="TB"))
    (wx, wy, *_), (lx, ly, *_) = bbox(lr.node_with("W")), bbox(lr.node_with("L"))
    assert lx > wx
    (wx, wy, *_), (lx, ly, *_) = bbox(tb.node_with("W")), bbox(tb.node_with("L"))
    assert ly > wy


def test_drawing_is_a_graphviz_digraph_that_displays_in_jupyter():
    *_, loss = small_graph()
    dot = tg.draw(loss, title="a <title>")
    assert isinstance(dot, graphviz.Digraph)
    shown = dot._repr_mimebundle_()["text/html"]
    assert shown.startswith('<div class="tg-zoom"') and shown.count("<svg") == 1 and "window.tgZoom(" in shown
    assert '<svg style="display:block; width:100%; height:auto"' in shown      # fits the output's width
    assert "<?xml" not in shown and "a &lt;title&gt;" in shown


def test_a_drawing_taller_than_wide_gets_a_taller_box_in_jupyter():
    x = tg.tensor(np.ones(2), name="x")
    for k in range(12):
        x = tg.tanh(x, name=f"h{k}")
    def box_height(rankdir):
        shown = tg.draw(x, rankdir=rankdir)._repr_mimebundle_()["text/html"]
        return int(shown.split('data-max-height="')[1].split('"')[0])
    assert box_height("LR") == 640
    assert 640 < box_height("TB") <= 1408


def test_every_drawn_vertex_and_edge_has_a_stable_id_in_the_svg():
    *_, loss = small_graph()
    dot = tg.draw(loss)
    svg = dot.pipe(format="svg", encoding="utf-8")
    for vertex in dot.vertices:
        assert f'<g id="v_{vertex.id}" class="node">' in svg
    for k in range(len(dot.edges)):
        assert f'<g id="e_{k}" class="edge">' in svg


def test_without_dot_source_works_and_rendering_says_how_to_install(monkeypatch, tmp_path):
    *_, loss = small_graph()
    monkeypatch.setenv("PATH", str(tmp_path))
    dot = tg.draw(loss)
    assert "digraph" in dot.source
    for render in (lambda: dot.pipe(format="svg"), lambda: dot.render(tmp_path / "g", format="png")):
        with pytest.raises(GraphvizNotFound) as info:
            render()
        message = str(info.value)
        assert "apt-get install graphviz" in message and "brew install graphviz" in message
        assert isinstance(info.value, graphviz.ExecutableNotFound)
        assert info.value.__suppress_context__


def test_bad_arguments_are_refused_clearly():
    *_, loss = small_graph()
    with pytest.raises(TypeError, match="draw: expects a Node"):
        tg.draw(3.0)
    with pytest.raises(ValueError, match="collapse depth"):
        tg.draw(loss, collapse=0)
    with pytest.raises(ValueError, match="rankdir"):
        tg.draw(loss, rankdir="XY")
    with pytest.raises(TypeError, match="highlight"):
        tg.draw(loss, highlight="F")
    W = tg.parameter(np.ones(3), name="W")
    with pytest.raises(ValueError, match="scalar loss"):
        tg.draw(tg.tanh(W), edge_grads=True)


def test_edge_gradients_sum_over_repeated_use():
    a = tg.parameter([1.0, 2.0], name="a")
    y = (a * a).sum()
    edges, nodes = edge_gradients(y)
    (key,) = [k for k in edges if k[0] is a]
    np.testing.assert_allclose(edges[key], 2 * a.value)


names = st.text(alphabet=st.sampled_from(list("aZ_ <>&'\"{}|\\ιφω×σ;[]0-")), min_size=1, max_size=6)


@st.composite
def random_graphs(draw_value):
    """A random expression graph over 2-3 parameters, with reuse, random names and scopes."""
    leaves = [tg.parameter(np.linspace(-1, 1, 3) + k, name=draw_value(names)) for k in range(draw_value(st.integers(2, 3)))]
    nodes = list(leaves)
    for _ in range(draw_value(st.integers(1, 7))):
        a, b = (nodes[draw_value(st.integers(0, len(nodes) - 1))] for _ in range(2))
        op = draw_value(st.sampled_from([tg.add, tg.mul, lambda x, y, name: tg.tanh(x, name=name)]))
        scope = draw_value(st.sampled_from([None, "s1", "s2"]))
        name = draw_value(st.one_of(st.none(), names))
        if scope:
            with tg.scope(scope):
                nodes.append(op(a, b, name=name))
        else:
            nodes.append(op(a, b, name=name))
    return tg.sum(nodes[-1], name="L")


@settings(max_examples=25)
@given(random_graphs(), st.booleans())
def test_any_graph_draws_every_node_and_edge(loss, with_grads):
    dot = tg.draw(loss, edge_grads=True if with_grads else None, repeat_leaves=False, junctions=False)
    svg = Svg(dot)
    nodes = tg.topological_order(loss, needs_grad_only=False)
    assert sum(1 for t in svg.nodes if t.startswith("o")) == sum(1 for n in nodes if n.op is not None)
    texts = [t for g in svg.nodes.values() for t in svg.texts(g)]
    for node in nodes:
        if node.name:
            assert node.name.strip() in " ".join(texts) or not node.name.strip()
        for parent in node.inputs:                         # each input edge is drawn
            assert f"{dot.vertex_of(parent).id}->o{nodes.index(node)}" in svg.edges


# --- ops that draw as their parts -------------------------------------------------------

class TanhSquare(tg.Op):
    """y = tanh(x)², one op with one named part z = tanh(x): a small fused op."""

    __slots__ = ("z",)
    name, symbol = "tanh_square", "tanh²"
    part_symbols = {"z": "tanh"}
    part_equations = ("y = z×z", "0 <= y < 1")

    def parts(self):
        return {"z": self.z}

    def part_grads(self, g, out, x):
        return {"z": 2 * self.z * g}

    def forward(self, x):
        self.z = np.tanh(x)
        return self.z * self.z

    def backward(self, g, out, x):
        return (2 * self.z * (1 - self.z ** 2) * g,)


def fused_and_plain(x_value):
    """L = Σ 3·tanh(x)² built with the fused op and with primitive ops (z = tanh(x) a node)."""
    x = tg.parameter(x_value, name="x")
    y = tg.apply(TanhSquare(), (x,), "y")
    z = tg.tanh(tg.parameter(x_value, name="x"), name="z")
    return x, tg.sum(y * 3.0, name="L"), z, tg.sum(z * z * 3.0, name="L")


def test_an_op_with_parts_draws_as_a_table_of_its_parts_values_grads_and_equations():
    x, loss, z, plain_loss = fused_and_plain(np.array([0.5, -1.0, 2.0]))
    tg.backward(loss)
    tg.backward(plain_loss)
    svg = Svg(tg.draw(loss))
    (op,) = [g for title, g in svg.nodes.items() if title.startswith("o") and "tanh²" in svg.texts(g)]
    texts = svg.texts(op)
    assert texts[:3] == ["tanh²", "tanh", "z"]                  # the op, then each part: symbol, name
    assert summarize(z.value) in texts                          # the part's value ...
    assert f"grad {summarize(z.grad)}" in texts                 # ... and the gradient reaching it
    assert texts[-2:] == ["y = z×z", "0 <= y < 1"]              # the equations, escaped, as written
    assert outline(op).tag == f"{SVG}path"                      # a rounded box, not an ellipse


def test_parts_show_without_values_and_with_grad_norms_only():
    x, loss, z, plain_loss = fused_and_plain(np.array([0.5, -1.0, 2.0, 0.1, 0.3]))
    tg.backward(plain_loss)
    svg = Svg(tg.draw(loss, values=False, grads="norm", edge_grads=True))
    texts = svg.texts(svg.node_with("tanh²"))
    assert texts[:3] == ["tanh²", "tanh", "z"] and summarize(z.value) not in texts
    assert f"‖grad‖ {grad_norm(z.grad):.3g}" in texts


def test_parts_false_or_an_op_without_part_symbols_draws_as_its_symbol():
    x, loss, *_ = fused_and_plain(np.array([0.5, -1.0]))
    svg = Svg(tg.draw(loss, parts=False))
    assert svg.texts(svg.node_with("tanh²")) == ["tanh²"]
    assert outline(svg.node_with("tanh²")).tag == f"{SVG}ellipse"

    class Unlabelled(TanhSquare):
        part_symbols = {}

    y = tg.apply(Unlabelled(), (x,), "y")
    svg = Svg(tg.draw(y))
    assert svg.texts(svg.node_with("tanh²")) == ["tanh²"]


def test_the_backward_graph_is_drawn_beside_the_forward_one_each_adjoint_linked_to_its_value():
    W = tg.parameter(np.array([[0.5, -1.0], [2.0, 0.3]]), name="W")
    x = tg.tensor(np.array([[1.0, 2.0]]), name="x")
    with tg.scope("t=1"):
        F = tg.sigmoid(x @ W, name="F")
    L = (F * F).sum().named("L")
    tg.backward(L, create_graph=True)
    dot = tg.draw([L, W.grad, F.grad])
    source = dot.source
    for forward, adjoint in ((W, W.grad), (F, F.grad)):
        assert adjoint.adjoint_of is forward and adjoint.name == forward.name[0] + "\u0304" + forward.name[1:]
        link = f'{dot.vertex_of(adjoint).id} -> {dot.vertex_of(forward).id} [arrowhead=none color="#7B3294" constraint=false'
        assert link in source
        assert f"<B>{forward.name}\u0304" in source or f"<B>{forward.name[0]}\u0304" in source    # W̄, F̄ as written
    backward_vertices = [v for v in dot.vertices if v.scope[:1] == ("backward",) and v.kind != "junction"]
    assert backward_vertices and all(n.scope[:1] == ("backward",) for v in backward_vertices for n in v.nodes
                                     if n.op is not None)            # (a constant backward made is placed there too)
    assert 'fillcolor="#F6EEF9"' in source                          # the backward clusters stand apart
    svg = dot.pipe(format="svg", encoding="utf-8")
    assert svg.count('stroke="#7b3294"') >= 2                        # both links drawn


def test_a_drawing_without_adjoints_has_no_adjoint_links():
    *_, loss = small_graph()
    tg.backward(loss)
    assert "#7B3294" not in tg.draw(loss).source


def test_a_label_an_edge_runs_through_is_moved_beside_its_own_edge():
    """clear_labels: a label laid out across another edge is drawn beside its own edge; every
    other position stays as laid out."""
    from tests.test_diagrams import Svg, covered_labels
    from tinygraph.draw import Drawing

    def drawn(clear):
        d = Drawing(engine="neato")             # positions given: the crossing is built in
        d.clear_labels = clear
        d.attr("node", shape="circle", width="0.3", fixedsize="true", label="")
        for name, pos in {"a": "0,100", "b": "200,100", "c": "100,20", "d": "100,180"}.items():
            d.node(name, pos=pos)
        d.edge("a", "b", id="e_0", label="0.123", fontsize="9", lp="100,104",
               pos="e,189,100 11,100 70,100 130,100 189,100")
        d.edge("c", "d", id="e_1", pos="e,100,169 100,31 100,80 100,120 100,169")
        return Svg(d)

    before, after = drawn(False), drawn(True)
    assert covered_labels(before) == [("0.123", "a->b", "c->d")]
    assert covered_labels(after) == []
    text = next(after.of("edge")["a->b"].iter(f"{SVG}text"))
    assert abs(float(text.get("y")) - float(next(before.of("edge")["a->b"].iter(f"{SVG}text")).get("y"))) < 20
    for vertex in "abcd":
        assert ET.tostring(before.of("node")[vertex]) == ET.tostring(after.of("node")[vertex])


def test_render_moves_covered_labels_as_pipe_does(tmp_path):
    from pathlib import Path

    from lstm import diagrams
    from tests.test_diagrams import Svg, covered_labels

    dot = diagrams.unrolled("paper", steps=4, grads=True)
    path = dot.render(tmp_path / "paper", format="svg")
    assert not covered_labels(Svg(Path(path).read_bytes()))
    dot.clear_labels = False                    # the same drawing, labels where dot put them
    assert covered_labels(Svg(dot))
