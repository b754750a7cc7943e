"""Stacked cells and the GRU: scopes and keys per layer, gradients against finite
differences (float64), forward values against numpy, and against torch.nn.LSTM / nn.GRU
(num_layers = L) with weights copied by hand, when PyTorch is installed."""
import numpy as np
import pytest

import tinygraph as tg
from lstm.cells import GRU, VARIANTS, BlogLSTM, PaperLSTM, Stacked, VanillaRNN, make_cell
from lstm.losses import LOSSES


def stacked_loss(make, T, batch, loss, seed=0):
    """(f, arrays, names) for gradcheck: f(*nodes) builds the stack with the given parameter,
    input and initial-state Nodes, unrolls it T steps and returns the loss."""
    rng = np.random.default_rng(seed)
    cell = make()
    params = cell.parameters()
    state_shapes = cell.state_shapes(batch)
    arrays = [p.value for p in params.values()]
    arrays.append(rng.standard_normal((T,) + cell.input_shape(batch)))
    arrays += [0.5 * rng.standard_normal(shape) for shape in state_shapes.values()]
    names = list(params) + [cell.INPUT] + list(state_shapes)
    out = cell.state_shape(batch)
    targets = (rng.integers(0, out[-1], size=(T,) + out[:-1]) if loss == "ce"
               else rng.uniform(-0.9, 0.9, size=(T,) + out))

    def f(*nodes):
        k = len(params)
        layers = []
        for l, layer in enumerate(cell.layers, start=1):
            given = {key: nodes[list(params).index(f"layer{l}.{key}")] for key in layer.parameters()}
            layers.append(type(layer)(layer.input_size, layer.hidden_size, parameters=given))
        run = Stacked(layers).unroll([nodes[k][t] for t in range(T)], initial_state=dict(zip(state_shapes, nodes[k + 1:])))
        return LOSSES[loss](run, targets)

    return f, arrays, names


STACKS = {
    "blog x2": lambda: make_cell("blog", 2, 3, num_layers=2, seed=1),
    "gru x3": lambda: make_cell("gru", 2, 2, num_layers=3, seed=2),
    "rnn over peephole over gru": lambda: Stacked([GRU(3, 2, seed=3), make_cell("peephole", 2, 3, seed=4),
                                                    VanillaRNN(3, 2, seed=5)]),
    "paper x2": lambda: make_cell("paper", 2, 2, num_layers=2, seed=6),
}


@pytest.mark.parametrize("loss", ["mse", "ce"])
@pytest.mark.parametrize("name", list(STACKS))
def test_stacked_gradients_match_finite_differences_for_every_parameter_input_and_initial_state(name, loss):
    batch = None if name.startswith("paper") else 2
    f, arrays, names = stacked_loss(STACKS[name], T=3, batch=batch, loss=loss)
    report = tg.gradcheck(f, arrays, names=names)
    assert [row.name for row in report.rows] == names
    report.raise_if_failed()


@pytest.mark.parametrize("loss", ["mse", "ce"])
@pytest.mark.parametrize("d, h, r, T", [(1, 1, 1, 1), (3, 2, 2, 4)])
def test_gru_gradients_match_finite_differences(d, h, r, T, loss):
    f, arrays, names = stacked_loss(lambda: Stacked([GRU(d, h, seed=7)]), T=T, batch=r, loss=loss)
    tg.gradcheck(f, arrays, names=names).raise_if_failed()


def sigmoid(a):
    return 1 / (1 + np.exp(-a))


def test_gru_forward_follows_the_equations_written_in_numpy():
    cell = GRU(3, 4, seed=0)
    p = {k: n.value for k, n in cell.parameters().items()}
    X = np.random.default_rng(1).standard_normal((5, 2, 3))
    run = cell.unroll(X)
    H = np.zeros((2, 4))
    for t in range(5):
        R = sigmoid(X[t] @ p["W_rx"] + H @ p["W_rh"] + p["b_r"])
        Z = sigmoid(X[t] @ p["W_zx"] + H @ p["W_zh"] + p["b_z"])
        N = np.tanh(X[t] @ p["W_nx"] + p["b_nx"] + R * (H @ p["W_nh"] + p["b_nh"]))
        H = (1 - Z) * N + Z * H
        np.testing.assert_allclose(run.outputs[t].value, H, rtol=1e-14, atol=1e-14)
        np.testing.assert_allclose(run.steps[t]["Z"].value, Z, rtol=1e-14, atol=1e-14)


def test_stacked_layer_feeds_the_next_layer_at_the_same_step_and_keeps_its_own_state():
    stack = make_cell("blog", 3, 4, num_layers=2, seed=0)
    run = stack.unroll(np.random.default_rng(0).standard_normal((3, 2, 3)))
    for t, step in enumerate(run.steps, start=1):
        assert step["layer2.X"] is step["layer1.H_t"]                       # same step t
        assert step["layer2.F"].scope == ("layer=2", f"t={t}", "forget gate")
        assert step["layer1.C_t"].scope == ("layer=1", f"t={t}")
        assert run.outputs[t - 1] is step["layer2.H_t"]
        if t > 1:
            assert step["layer1.F×C"].inputs[1] is run.steps[t - 2]["layer1.C_t"]
    assert step["X"] is step["layer1.X"]
    assert list(run.final_state) == ["layer1.H0", "layer1.C0", "layer2.H0", "layer2.C0"]
    assert run.initial_state["layer2.C0"].scope == ("layer=2",)
    # the layer cells on their own compute the same numbers
    alone = stack.layers[0].unroll(np.stack([s["X"].value for s in run.steps]))
    np.testing.assert_array_equal(alone.outputs[-1].value, run.steps[-1]["layer1.H_t"].value)


def test_stacked_parameters_are_keyed_and_drawn_per_layer_and_layer_one_equals_the_plain_cell():
    stack = make_cell("gru", 3, 4, num_layers=3, seed=5)
    params = stack.parameters()
    assert list(params)[:2] == ["layer1.W_rx", "layer1.W_zx"] and len(params) == 30
    assert params["layer3.W_nh"].name == "W_nh⁽³⁾" and params["layer1.b_r"].name == "b_r⁽¹⁾"
    assert params["layer1.W_rx"].shape == (3, 4) and params["layer2.W_rx"].shape == (4, 4)
    np.testing.assert_array_equal(params["layer1.W_rx"].value, GRU(3, 4, seed=5).parameters()["W_rx"].value)
    assert not np.array_equal(params["layer2.W_rh"].value, params["layer3.W_rh"].value)
    assert make_cell("blog", 3, 4, num_layers=1).num_layers == 1 and stack.num_layers == 3


def test_bad_stacks_are_refused_naming_the_layers():
    with pytest.raises(tg.ShapeError, match=r"layer 2 \(BlogLSTM\) takes inputs of size 3 but layer 1 "
                                            r"\(GRU\) outputs size 4"):
        Stacked([GRU(2, 4), BlogLSTM(3, 4)])
    with pytest.raises(ValueError, match="PaperLSTM"):
        Stacked([PaperLSTM(2, 3), BlogLSTM(3, 4)])
    with pytest.raises(TypeError, match="non-empty list of cells"):
        Stacked([])
    with pytest.raises(ValueError, match="num_layers must be a positive integer, got 0"):
        make_cell("rnn", 2, 3, num_layers=0)
    with pytest.raises(ValueError, match=r"unknown initial state \['layer3.H0'\]"):
        make_cell("blog", 2, 3, num_layers=2).unroll(np.ones((1, 1, 2)), initial_state={"layer3.H0": np.zeros((1, 3))})


# --- against PyTorch, weights copied by hand (gate order i, f, g, o and r, z, n) --------

def torch_problem(torch, d, h, r, T, seed):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((T, r, d))
    Y = rng.uniform(-0.9, 0.9, size=(T, r, h))
    return X, Y, torch.tensor(X, requires_grad=True)


def ours(cell, X, Y, state):
    state = {k: tg.parameter(v, name=k) for k, v in state.items()}
    x = [tg.parameter(x_t, name="X") for x_t in X]
    run = cell.unroll(x, initial_state=state)
    L = LOSSES["mse"](run, Y)
    tg.backward(L)
    return L, np.stack([n.grad for n in x]), {k: n.grad for k, n in state.items()}


def test_stacked_blog_lstm_equals_torch_lstm_with_num_layers_to_1e_10():
    torch = pytest.importorskip("torch")
    d, h, r, T, L = 3, 4, 2, 5, 3
    cell = make_cell("blog", d, h, num_layers=L, seed=3)
    X, Y, x = torch_problem(torch, d, h, r, T, seed=4)
    rng = np.random.default_rng(5)
    H0, C0 = 0.5 * rng.standard_normal((2, L, r, h))
    net = torch.nn.LSTM(d, h, num_layers=L, dtype=torch.float64)
    p = {k: n.value for k, n in cell.parameters().items()}
    with torch.no_grad():
        for l in range(L):
            gates = ("i", "f", "c", "o")
            w = lambda part: torch.from_numpy(np.concatenate([p[f"layer{l + 1}.W_{g}{part}"].T for g in gates]))
            getattr(net, f"weight_ih_l{l}").copy_(w("x"))
            getattr(net, f"weight_hh_l{l}").copy_(w("h"))
            getattr(net, f"bias_ih_l{l}").copy_(torch.from_numpy(np.concatenate([p[f"layer{l + 1}.b_{g}"] for g in gates])))
            getattr(net, f"bias_hh_l{l}").zero_()
    h0, c0 = torch.tensor(H0, requires_grad=True), torch.tensor(C0, requires_grad=True)
    out, _ = net(x, (h0, c0))
    loss = 0.5 * ((out - torch.from_numpy(Y)) ** 2).sum()
    loss.backward()
    state = {f"layer{l + 1}.{k}": v[l] for l in range(L) for k, v in (("H0", H0), ("C0", C0))}
    value, gX, gstate = ours(cell, X, Y, state)
    assert value.item() == pytest.approx(loss.item(), rel=1e-12)
    close = dict(rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(gX, x.grad.numpy(), **close)
    for l in range(L):
        np.testing.assert_allclose(gstate[f"layer{l + 1}.H0"], h0.grad.numpy()[l], **close)
        np.testing.assert_allclose(gstate[f"layer{l + 1}.C0"], c0.grad.numpy()[l], **close)
        blocks = np.split(getattr(net, f"weight_hh_l{l}").grad.numpy(), 4)
        for k, g in enumerate(("i", "f", "c", "o")):
            np.testing.assert_allclose(cell.parameters()[f"layer{l + 1}.W_{g}h"].grad, blocks[k].T, **close)
        np.testing.assert_allclose(cell.parameters()[f"layer{l + 1}.b_o"].grad,
                                   np.split(getattr(net, f"bias_hh_l{l}").grad.numpy(), 4)[3], **close)


@pytest.mark.parametrize("L", [1, 2])
def test_gru_equals_torch_gru_to_1e_10(L):
    torch = pytest.importorskip("torch")
    d, h, r, T = 3, 4, 2, 5
    cell = make_cell("gru", d, h, num_layers=L, seed=8)
    X, Y, x = torch_problem(torch, d, h, r, T, seed=9)
    H0 = 0.5 * np.random.default_rng(10).standard_normal((L, r, h))
    net = torch.nn.GRU(d, h, num_layers=L, dtype=torch.float64)
    p = {k: n.value for k, n in cell.parameters().items()}
    key = (lambda l, k: k) if L == 1 else (lambda l, k: f"layer{l + 1}.{k}")
    with torch.no_grad():
        for l in range(L):
            stack = lambda names: torch.tensor(np.concatenate([p[key(l, n)] if n.startswith("b") else p[key(l, n)].T
                                                                   for n in names]))
            getattr(net, f"weight_ih_l{l}").copy_(stack(("W_rx", "W_zx", "W_nx")))   # torch: r, z, n
            getattr(net, f"weight_hh_l{l}").copy_(stack(("W_rh", "W_zh", "W_nh")))
            getattr(net, f"bias_ih_l{l}").copy_(torch.cat([stack(("b_r", "b_z")), torch.tensor(p[key(l, "b_nx")])]))
            getattr(net, f"bias_hh_l{l}").copy_(torch.cat([torch.zeros(2 * h, dtype=torch.float64),
                                                           torch.tensor(p[key(l, "b_nh")])]))
    h0 = torch.tensor(H0, requires_grad=True)
    out, _ = net(x, h0)
    loss = 0.5 * ((out - torch.from_numpy(Y)) ** 2).sum()
    loss.backward()
    state = {key(l, "H0"): H0[l] for l in range(L)}
    value, gX, gstate = ours(cell, X, Y, state)
    assert value.item() == pytest.approx(loss.item(), rel=1e-12)
    close = dict(rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(gX, x.grad.numpy(), **close)
    for l in range(L):
        np.testing.assert_allclose(gstate[key(l, "H0")], h0.grad.numpy()[l], **close)
        ih = np.split(getattr(net, f"weight_ih_l{l}").grad.numpy(), 3)
        hh_b = np.split(getattr(net, f"bias_hh_l{l}").grad.numpy(), 3)
        for k, g in enumerate("rzn"):
            np.testing.assert_allclose(cell.parameters()[key(l, f"W_{g}x")].grad, ih[k].T, **close)
        np.testing.assert_allclose(cell.parameters()[key(l, "b_nh")].grad, hh_b[2], **close)
        np.testing.assert_allclose(cell.parameters()[key(l, "b_z")].grad, hh_b[1], **close)


# --- lstm.gradients with layers -------------------------------------------------------

def test_lstm_gradients_with_layers_matches_finite_differences_of_its_own_loss():
    import lstm
    cell = make_cell("gru", 2, 3, num_layers=2, seed=4)
    params = {k: p.value for k, p in cell.parameters().items()}
    rng = np.random.default_rng(2)
    X, Y = rng.standard_normal((3, 2, 2)), rng.uniform(-0.9, 0.9, (3, 2, 3))
    state = {"layer2.H0": 0.5 * rng.standard_normal((2, 3))}
    loss, grads = lstm.gradients("gru", params, X, Y, initial_state=state, layers=2)
    assert list(grads) == list(params) + ["X", "layer1.H0", "layer2.H0"]
    arrays = {**params, "X": X, **state}
    for name in ("layer1.W_rx", "layer2.b_nh", "X", "layer2.H0"):
        idx = tuple(rng.integers(0, n) for n in arrays[name].shape)
        sides = []
        for step in (1e-6, -1e-6):
            moved = {k: v.copy() for k, v in arrays.items()}
            moved[name][idx] += step
            sides.append(lstm.gradients("gru", {k: moved[k] for k in params}, moved["X"], Y,
                                        initial_state={"layer2.H0": moved["layer2.H0"]}, layers=2)[0])
        assert (sides[0] - sides[1]) / 2e-6 == pytest.approx(grads[name][idx], rel=1e-6, abs=1e-9), name


def test_lstm_gradients_refuses_params_that_do_not_fit_the_layers():
    import lstm
    params = {k: p.value for k, p in make_cell("blog", 2, 3, num_layers=2).parameters().items()}
    X, Y = np.ones((1, 1, 2)), np.zeros((1, 1, 3))
    with pytest.raises(ValueError, match=r"params keyed per layer \(layer1, layer2\): give layers=2"):
        lstm.gradients("blog", params, X, Y)
    with pytest.raises(ValueError, match=r"keyed 'layer1.KEY' to 'layer2.KEY'; unexpected \['W_ix'\]"):
        lstm.gradients("blog", {"W_ix": np.ones((2, 3)), **params}, X, Y, layers=2)
    bad = {**params, "layer2.W_fh": np.ones((3, 2))}
    with pytest.raises(ValueError, match=r"params for 'blog', layer 2: 'W_fh' must have shape \(3, 3\), got \(3, 2\)"):
        lstm.gradients("blog", bad, X, Y, layers=2)


def test_a_stacked_model_trains_on_the_adding_problem_and_samples_step_by_step():
    from lstm.tasks import AddingTask, CharTask
    from lstm.train import Model, sample, train
    task = AddingTask(seq_len=6, seed=0)
    model = Model("gru", task.input_size, 5, task.output_size, seed=0, num_layers=2)
    assert "layer2.W_nh" in model.parameters() and "W_y" in model.parameters()
    history = train(model, task, steps=40, batch_size=16, lr=0.02, progress=False)
    assert history.eval_after < history.eval_before
    chars = CharTask(seq_len=5, seed=0)
    text = sample(Model("blog", chars.input_size, 4, chars.output_size, num_layers=2), chars, prime="Th", length=5)
    assert text.startswith("Th") and len(text) == 7


# --- drawings: relations read back from the rendered SVG ------------------------------------

def drawn(dot):
    """The rendered SVG of ``dot`` with each node's centre, x and y (SVG y grows downwards)."""
    import re
    from test_diagrams import SVG, Svg

    svg = Svg(dot)

    def centre(vertex_id, axis):
        g = svg.of("node")[vertex_id]
        shape = next(e for e in g.iter() if e.tag in (f"{SVG}ellipse", f"{SVG}path", f"{SVG}polygon"))
        if shape.tag == f"{SVG}ellipse":
            return float(shape.get("cx" if axis == 0 else "cy"))
        values = [float(v) for v in re.findall(r"-?\d+\.?\d*", shape.get("d") or shape.get("points"))][axis::2]
        return (min(values) + max(values)) / 2

    svg.centre_x = lambda vertex_id: centre(vertex_id, 0)
    return svg

@pytest.mark.parametrize("grads", [False, True])
def test_gru_cell_view_pipe_runs_straight_along_the_top_with_gates_in_order_below_and_x_under_them(grads):
    from lstm import diagrams
    ex = diagrams.example("gru")
    dot = diagrams.cell(ex, grads=grads)
    svg = drawn(dot)
    step = ex.run.steps[0]
    op = {v.nodes[0].name: v.id for v in dot.vertices if v.kind == "op"}
    pipe = [dot.vertex_of(ex.run.initial_state["H0"]).id, op["Z×H"], op["H_t"], dot.vertex_of(step["H_t"]).id]
    ys = [svg.centre_y(i) for i in pipe]
    assert max(ys) - min(ys) < 1.0, ys                                    # one straight row
    gates = {v.name: v.id for v in dot.vertices if v.kind == "group" and v.name != "loss"}
    assert list(gates) and all(svg.centre_y(i) > max(ys) for i in gates.values())   # below the pipe
    xs = [svg.centre_x(gates[name]) for name in ("update gate", "reset gate", "hidden to candidate", "candidate")]
    assert xs == sorted(xs)                                               # in the pipe's order
    assert svg.centre_y(dot.vertex_of(ex.run.inputs[0]).id) > max(svg.centre_y(i) for i in gates.values())
    texts = svg.all_node_texts()
    assert {"update valve: keep", "update valve: let in", "reset valve"} <= set(texts)


@pytest.mark.parametrize("variant, T", [("blog", 1), ("blog", 3), ("blog", 4), ("peephole", 3), ("paper", 2),
                                        ("gru", 3), ("rnn", 4)])
def test_stacked_unrolled_view_is_a_grid_read_like_the_one_layer_view(variant, T):
    """Layers up, time across: each layer's row wholly above the layer below, step t of every
    layer in one column, each layer's pipe above the hidden path entering each step (as in the
    one-layer view), the loss after the top layer's last step, on its row; each layer's output
    rises into the next layer outside every step but its own two."""
    from lstm import diagrams
    from test_diagrams import above, crosses, laid_out, layout, op_vertex

    ex = diagrams.example(variant, steps=T, num_layers=2)
    dot = diagrams.unrolled(ex, grads=True)
    boxes, routes = laid_out(dot)
    pos = layout(dot)
    assert boxes["layer=2"][1] > boxes["layer=1"][3]                               # y grows upwards
    for t in range(1, T + 1):
        assert abs(boxes[f"layer=1/t={t}"][0] - boxes[f"layer=2/t={t}"][0]) < 1.0, t   # one column
        if t < T:
            assert boxes[f"layer=1/t={t}"][2] < boxes[f"layer=1/t={t + 1}"][0]
    for n in ex.notations:
        hidden = [dot.vertex_of(ex.run.initial_state[n.hidden0]).id]
        hidden += [op_vertex(dot, step[n.hidden]).id for step in ex.run.steps[:-1]]
        if n.memory and n.memory != n.hidden:
            for step, entering in zip(ex.run.steps, hidden):
                assert above(pos, op_vertex(dot, step[n.valves[0]]).id, entering), (n.memory, tg.step_of(step[n.hidden]))
    loss = dot.vertex_of(ex.loss).id
    top = boxes["layer=2"]
    assert pos[loss][0] > top[2] and top[1] < pos[loss][1] < top[3]
    rising = [f"e_{k}" for k, e in enumerate(dot.edges) if tg.layer_of(e.src) == 1 and tg.layer_of(e.dst) == 2]
    assert len(rising) == T
    for k in rising:
        edge = dot.edges[int(k[2:])]
        own = {f"layer={tg.layer_of(v)}/t={tg.step_of(v)}" for v in (edge.src, edge.dst)}
        for scope, (x0, y0, x1, y1) in boxes.items():
            if "/" in scope and scope not in own:
                assert not any(x0 < x < x1 and y0 < y < y1 for x, y in routes[k]), (k, scope)
        assert not any(crosses(routes[k], routes[other]) for other in rising if other != k)
    svg = drawn(dot)
    labels = svg.cluster_labels()
    assert any("layer 1" in s for s in labels) and any("layer 2" in s for s in labels)
    assert "2 layers" in " ".join(svg_texts(svg))


def svg_texts(svg):
    from test_diagrams import SVG
    return [t.text for t in svg.root.iter(f"{SVG}text") if t.text]


def test_the_stepper_walks_a_stacked_gru_and_gives_backwards_gradients():
    from tinygraph.notebook import Stepper
    cell = make_cell("gru", 2, 3, num_layers=2, seed=0)
    run = cell.unroll(np.random.default_rng(0).standard_normal((2, 1, 2)))
    L = LOSSES["ce"](run.outputs[-1:], np.array([[1]]))
    stepper = Stepper(L)
    stepped = {key: stepper.gradient(p) for key, p in cell.parameters().items()}
    tg.backward(L)
    for key, p in cell.parameters().items():
        np.testing.assert_allclose(stepped[key], p.grad, rtol=1e-12, atol=1e-15, err_msg=key)
    assert "layer=2" in stepper.svg(len(stepper) - 1)
