"""The backward stepper: its gradients are backward()'s, going back adds nothing, and
everything its page shows comes from plain functions that work headless."""

import graphviz
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinygraph as tg
from lstm.cells import BlogLSTM, PaperLSTM
from tinygraph.notebook import Stepper, format_array, latex_name, plain_rule, written_rule
from tinygraph.present.mathml import to_mathml


def blog_loss(T=2, seed=0):
    """Cross-entropy of the last H_t of a BlogLSTM unrolled over T steps (the blog's loss)."""
    rng = np.random.default_rng(seed)
    cell = BlogLSTM(3, 4, seed=seed)
    run = cell.unroll(rng.normal(size=(T, 2, 3)))
    loss = tg.cross_entropy(run.outputs[-1], np.array([1, 3]), name="L")
    return cell, run, loss


def diamond():
    a = tg.parameter(2.0, name="a")
    b = tg.parameter(3.0, name="b")
    return a, b, (a * b + a).named("y")


class RecordingDraw:
    """A stand-in for tinygraph.draw that records what the stepper asks it to draw."""

    def __init__(self):
        self.calls = []

    def __call__(self, root, highlight, visited, edge_grads, **options):
        self.calls.append(dict(root=root, highlight=highlight, visited=visited, edge_grads=edge_grads, **options))
        graph = graphviz.Digraph()
        graph.node("n", label=highlight.node.label())
        return graph


# --- the gradients ------------------------------------------------------------------

@pytest.mark.parametrize("T", [1, 2])
def test_stepping_gives_exactly_the_gradients_backward_accumulates(T):
    _, run, loss = blog_loss(T)
    stepper = Stepper(loss)
    tg.backward(loss)
    graph = tg.topological_order(loss)
    assert set(stepper.gradients) == set(graph)
    for node in graph:
        assert np.array_equal(stepper.gradient(node), node.grad), node.label()
        assert stepper.gradient(node).shape == node.shape


def test_stepper_leaves_grad_untouched_and_going_back_adds_nothing():
    cell, run, loss = blog_loss(2)
    stepper = Stepper(loss)
    first = [stepper.details(i).grad.copy() for i in range(len(stepper))]
    for i in list(range(len(stepper))) + list(reversed(range(len(stepper)))) + [3, 0, 3]:
        stepper.details(i)
        stepper.edge_grads(i)
    assert all(node.grad is None for node in tg.topological_order(loss, needs_grad_only=False))
    for i, g in enumerate(first):
        assert np.array_equal(stepper.details(i).grad, g)
    again = Stepper(loss)          # a second stepper on the same graph records the same numbers
    for i, g in enumerate(first):
        assert np.array_equal(again.details(i).grad, g)


def test_stepper_gradients_agree_with_finite_differences():
    rng = np.random.default_rng(1)
    W, b, x = rng.normal(size=(3, 2)), rng.normal(size=2), rng.normal(size=(4, 3))

    def f(W, b):
        h = tg.tanh(tg.tensor(x, name="x") @ W + b)
        return (h * h).sum() + tg.sigmoid(h).mean()

    nodes = [tg.parameter(W, name="W"), tg.parameter(b, name="b")]
    stepper = Stepper(f(*nodes))
    numeric = tg.numerical_gradient(f, [W, b])
    for node, expected in zip(nodes, numeric):
        np.testing.assert_allclose(stepper.gradient(node), expected, rtol=1e-6, atol=1e-9)


def test_a_node_used_twice_shows_both_parts_of_its_gradient():
    a, b, y = diamond()
    stepper = Stepper(y)
    details = stepper.details(stepper.index_of(a))
    parts = {(c.label(), position): float(g) for c, position, g in details.incoming}
    assert parts == {("y", 1): 1.0, ("mul", 0): 3.0}         # ∂y/∂a = 1 + b
    assert float(details.grad) == 4.0
    assert stepper.details(0).incoming == ()                   # the root only has its seed


@st.composite
def random_graphs(draw):
    """A random expression over two vectors and a scalar, with reuse (diamonds) and broadcasting."""
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    nodes = [tg.parameter(rng.normal(size=3), name="u"), tg.parameter(rng.normal(size=3), name="v"),
             tg.parameter(rng.normal(), name="k")]
    for _ in range(draw(st.integers(1, 8))):
        op = draw(st.sampled_from(["add", "sub", "mul", "tanh", "sigmoid", "concat_sum"]))
        a, b = (nodes[draw(st.integers(0, len(nodes) - 1))] for _ in range(2))
        if op in ("tanh", "sigmoid"):
            nodes.append(getattr(tg, op)(a))
        elif op == "concat_sum":
            nodes.append(tg.concat([tg.reshape(a, (-1,)) if a.ndim else a, 1.0]).sum() * b)
        else:
            nodes.append(getattr(tg, op)(a, b))
    return nodes, tg.sum(nodes[-1] * nodes[0])


@given(random_graphs())
def test_the_parts_flowing_into_a_node_add_up_to_its_gradient(graph):
    _, root = graph
    stepper = Stepper(root)
    grads = {}
    tg.backward(root)
    for view in stepper:
        details = view.details
        if details.incoming:
            total = sum(g for _, _, g in details.incoming)
            np.testing.assert_allclose(total, details.grad, rtol=1e-12, atol=1e-15)
        for parent, g in details.outgoing:
            if g is not None:
                assert np.shape(g) == parent.shape
        grads[view.node] = details.grad
        assert np.array_equal(stepper.gradient(view.node), view.node.grad)
    assert len(grads) == len(stepper)


# --- the step's numbers -----------------------------------------------------------

def test_rule_of_a_product_is_written_with_the_graph_names():
    F = tg.parameter(np.ones(3), name="F")
    C = tg.tensor(np.ones(3), name="C0")
    FC = (F * C).named("F×C")
    assert written_rule(FC) == (r"\overline{F} = \overline{F\times C} \odot {C_{0}},\quad "
                                r"\overline{C_{0}} = \overline{F\times C} \odot {F}")


def test_every_op_of_an_lstm_step_has_its_rule_written_with_its_own_names():
    _, run, loss = blog_loss(1)
    cell = PaperLSTM(2, 3, seed=0)
    paper_run = cell.unroll(np.ones((1, 2)))
    for root in (loss, tg.sum(paper_run.outputs[-1])):
        for node in tg.topological_order(root):
            if node.op is None:
                assert written_rule(node) == ""
                continue
            text = written_rule(node)
            assert r"\bar " not in text, (node.label(), text)       # every formal got a name
            assert balanced_braces(text), text
            assert rf"\overline{{{latex_name(node.label())}}}" in text or type(node.op).__name__ in ("Concat",)
            for parent in node.inputs:
                if parent.requires_grad:
                    assert latex_name(parent.label()) in text, (node.label(), parent.label(), text)


def balanced_braces(latex):
    depth = 0
    for i, ch in enumerate(latex):
        if ch in "{}" and latex[i - 1:i] != "\\":
            depth += 1 if ch == "{" else -1
            if depth < 0:
                return False
    return depth == 0


def test_plain_rule_reads_without_latex():
    F = tg.parameter(np.ones(3), name="F")
    C = tg.tensor(np.ones(3), name="C0")
    text = plain_rule(written_rule((F * C).named("F×C")))
    assert text == "∂L/∂F = ∂L/∂(F×C) ⊙ C_0,  ∂L/∂C_0 = ∂L/∂(F×C) ⊙ F"
    W = tg.parameter(np.ones((2, 3)), name="W")
    x = tg.tensor(np.ones((4, 2)), name="X")
    assert plain_rule(written_rule((x @ W).named("XW"))) == "∂L/∂X = ∂L/∂XW Wᵀ,  ∂L/∂W = Xᵀ ∂L/∂XW"
    assert "\\" not in plain_rule(r"\bar b = \textstyle\sum_{rows} \bar A,\ \bar x = \bar y \cdot 2")


def test_concatenation_rule_names_the_slice_each_part_gets_back():
    x = tg.parameter(np.ones(2), name="x")
    z_h = tg.parameter(np.ones(3), name="z_h")
    joined = tg.concat([x, z_h, 1.0], name="[x; z_h; 1]")
    text = written_rule(joined)
    assert r"\overline{x} = \overline{[x;\,z_{h};\,1]}[0{:}2]" in text
    assert r"\overline{z_{h}} = \overline{[x;\,z_{h};\,1]}[2{:}5]" in text


def test_latex_names_follow_the_texts_notation():
    assert latex_name("C_t") == "C_{t}"
    assert latex_name("H0") == "H_{0}"
    assert latex_name("W_ix") == "W_{ix}"
    assert latex_name("g_ι") == r"g_{\iota}"
    assert latex_name("F×C") == r"F\times C"
    assert latex_name("X W_ix + H W_ih + b_i") == r"X\,W_{ix} + H\,W_{ih} + b_{i}"
    assert latex_name("tanh(C_t)") == r"\tanh(C_{t})"
    assert latex_name("[x; z_h; s; 1]") == r"[x;\,z_{h};\,s;\,1]"
    assert latex_name("mul") == r"\text{mul}"
    assert latex_name("50% off") == r"\text{50\% off}"


def test_format_array_prints_small_arrays_whole_and_summarises_large_ones():
    assert format_array(np.array(0.25)) == "0.25"
    assert format_array(np.array([1.0, -2.0])) == "[ 1., -2.]"
    big = format_array(np.arange(100.0).reshape(10, 10))
    assert "shape (10, 10)" in big and "‖·‖ = 573" in big and "range [0, 99]" in big


def test_step_text_and_html_show_the_node_the_gradients_and_the_rule():
    a, b, y = diamond()
    stepper = Stepper(y)
    mul = stepper.details(stepper.index_of(y) + 1)
    assert mul.node.label() == "mul"
    text = mul.text()
    assert "step 2/4: mul (scalar)" in text and "sends to a (scalar): 3" in text and "sends to b (scalar): 2" in text
    html = mul.html()
    assert "<div class='eq'>" + to_mathml(r"\bar a = \bar y \odot b") + "</div>" in html    # the rule, as MathML
    assert "$" not in html and "\\" not in html                                   # no LaTeX left to typeset
    leaf = stepper.details(stepper.index_of(a)).html()
    assert "the sum of 2 parts" in leaf and "final gradient" in leaf


# --- headless drawing ------------------------------------------------------------------

def test_each_step_is_drawn_with_the_step_highlighted_and_the_gradients_sent_so_far():
    _, run, loss = blog_loss(1)
    draw = RecordingDraw()
    stepper = Stepper(loss, draw=draw, detail="values")
    for i, view in enumerate(stepper):
        assert "<svg" in view.svg and view.node.label() in view.svg
        call = draw.calls[-1]
        assert call["highlight"] is stepper.steps[i] and call["root"] is loss and call["detail"] == "values"
        assert call["visited"] == [s.node for s in stepper.steps[:i + 1]]
        sent_by = {consumer for _, consumer in call["edge_grads"]}
        assert sent_by == {s.node for s in stepper.steps[:i + 1] if s.node.op is not None}
    calls = len(draw.calls)
    stepper.svg(3)
    assert len(draw.calls) == calls            # rendered once, then cached


def node_positions(drawing):
    """Where Graphviz puts each vertex (from its "plain" output)."""
    lines = drawing.pipe(format="plain", encoding="utf-8").splitlines()
    return {parts[1]: (parts[2], parts[3]) for parts in map(str.split, lines) if parts[0] == "node"}


def test_the_drawing_keeps_its_layout_from_step_to_step():
    _, run, loss = blog_loss(1)
    stepper = Stepper(loss)
    n = len(stepper)
    layouts = [node_positions(stepper.drawing(i)) for i in (0, n // 3, 2 * n // 3, n - 1)]
    assert len(layouts[0]) > 40 and all(layout == layouts[0] for layout in layouts)


def test_edges_backward_has_not_reached_hold_their_label_in_invisible_ink():
    a, b, y = diamond()
    stepper = Stepper(y)
    first, last = stepper.drawing(0).source, stepper.drawing(len(stepper) - 1).source
    assert '<FONT COLOR="transparent">3</FONT>' in first          # a -> × will carry ∂y/∂a part 3
    assert "transparent" not in last and "label=3 " in last


def test_edge_gradients_of_x_times_x_add_both_arguments():
    x = tg.parameter(3.0, name="x")
    y = (x * x).named("y")
    sent = Stepper(y, draw=RecordingDraw()).edge_grads(0)
    assert list(sent) == [(x, y)] and float(sent[(x, y)]) == 6.0


# --- errors -------------------------------------------------------------------------

def test_bad_use_gets_clear_errors():
    a, b, y = diamond()
    stepper = Stepper(y, draw=RecordingDraw())
    with pytest.raises(TypeError, match="expects the Node"):
        Stepper(np.ones(3))
    with pytest.raises(IndexError, match="step 4 does not exist; backward of 'y' has 4 steps"):
        stepper[4]
    with pytest.raises(KeyError, match="no step has a node named 'c'; named nodes: a, b, y"):
        stepper.index_of("c")
    with pytest.raises(tg.GraphError, match="non-scalar"):
        Stepper(tg.parameter(np.ones(3)) * 2)
    _, run, loss = blog_loss(2)
    with pytest.raises(KeyError, match="2 steps have a node named 'F'"):
        Stepper(loss, draw=RecordingDraw()).index_of("F")
    assert stepper[-1].node is a and [v.node for v in stepper[1:3]] == [stepper.steps[1].node, b]


def test_each_steps_drawing_widths_its_edges_on_the_pages_one_scale():
    import re

    from tinygraph.present.page import page_data

    stepper = Stepper(blog_loss()[2])
    data = page_data(stepper, stepper.overview(), 0)
    assert stepper.width_scale() == (pytest.approx(data["scale"]["low"]), pytest.approx(data["scale"]["high"]))
    compared = 0
    for k in (3, len(stepper) // 2, len(stepper) - 1):
        lit = set(data["steps"][k]["lit"])
        for line in stepper.drawing(k).source.splitlines():
            found = re.search(r"\bid=(e_\d+)\b", line)
            width = re.search(r"\bpenwidth=\"?([\d.]+)", line)
            if not found or found.group(1) in lit or found.group(1) not in data["edges"]:
                continue
            now = [c for c in data["edges"][found.group(1)] if c[0] <= k]
            if now:                                        # sent: the width the page shows at step k
                assert width and float(width.group(1)) == pytest.approx(now[-1][2], abs=0.011), (k, line)
                compared += 1
    assert compared > 20
