"""The fused LSTM step op and FusedBlogLSTM against the graph of primitive ops they replace,
and against finite differences."""
import xml.etree.ElementTree as ET

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygraph as tg
from lstm.cells import BlogLSTM
from lstm.fused_cell import FusedBlogLSTM
from lstm.fused_ops import LSTMSequence, lstm_sequence, lstm_step
from tinygraph.draw import grad_norm, summarize


def step_from_primitives(X, S, W, b):
    """The same step built from primitive ops: [X H] W + b, σ/tanh gates, memory update."""
    h = S.shape[2]
    H, C = S[0], S[1]
    A = tg.concat([X, H], axis=1) @ W + b
    I, F, O = tg.sigmoid(A[:, :h]), tg.sigmoid(A[:, h:2 * h]), tg.sigmoid(A[:, 2 * h:3 * h])
    C_i = tg.tanh(A[:, 3 * h:])
    C_t = F * C + I * C_i
    H_t = O * tg.tanh(C_t)
    return tg.stack([H_t, C_t])


def step_arrays(r, d, h, seed=0, dtype=np.float64, scale=1.0):
    rng = np.random.default_rng(seed)
    return [(scale * rng.standard_normal(shape)).astype(dtype)
            for shape in ((r, d), (2, r, h), (d + h, 4 * h), (4 * h,))]


@pytest.mark.parametrize("r, d, h", [(1, 1, 1), (3, 4, 2), (2, 5, 6)])
def test_fused_step_equals_primitive_ops_in_value_and_every_gradient(r, d, h):
    arrays = step_arrays(r, d, h, seed=r + d + h)
    seed_grad = np.random.default_rng(7).standard_normal((2, r, h))
    results = []
    for build in (lstm_step, step_from_primitives):
        nodes = [tg.parameter(a, name=n) for a, n in zip(arrays, ("X", "S", "W", "b"))]
        out = build(*nodes)
        results.append((out.value, tg.grad(out, nodes, grad=seed_grad)))
    (fused, fused_grads), (plain, plain_grads) = results
    np.testing.assert_allclose(fused, plain, rtol=1e-13, atol=1e-14)
    for name, a, b in zip("XSWb", fused_grads, plain_grads):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-13, err_msg=name)


def test_fused_step_gradients_match_finite_differences():
    arrays = step_arrays(2, 3, 2, seed=4)
    report = tg.gradcheck(lambda X, S, W, b: (lstm_step(X, S, W, b) ** 2).sum(), arrays,
                          names=["X", "S", "W", "b"])
    assert report.ok, str(report)


def test_fused_step_is_stable_for_large_pre_activations():
    arrays = step_arrays(2, 3, 4, seed=1, scale=400.0)        # σ and tanh saturate; no overflow
    nodes = [tg.parameter(a) for a in arrays]
    out = lstm_step(*nodes)
    tg.backward(out.sum())
    assert np.isfinite(out.value).all() and all(np.isfinite(n.grad).all() for n in nodes)


def test_fused_step_keeps_the_gates_by_name():
    X, S, W, b = (tg.tensor(a) for a in step_arrays(3, 2, 4, seed=2))
    out = lstm_step(X, S, W, b)
    parts = out.op.parts()
    assert list(parts) == ["F", "I", "C_i", "O"]            # the order along the memory pipe
    A = np.concatenate([X.value, S.value[0]], axis=1) @ W.value + b.value
    np.testing.assert_allclose(parts["F"], 1 / (1 + np.exp(-A[:, 4:8])), rtol=1e-13)
    np.testing.assert_allclose(parts["C_i"], np.tanh(A[:, 12:]), rtol=1e-13)
    with pytest.raises(ValueError, match="read-only"):
        parts["F"][0, 0] = 0.5                 # the values backward will use cannot be changed


def test_backward_twice_accumulates_like_any_op():
    nodes = [tg.parameter(a) for a in step_arrays(2, 3, 2, seed=3)]
    out = lstm_step(*nodes)
    loss = (out * out).sum()
    tg.backward(loss)
    first = [n.grad.copy() for n in nodes]
    tg.backward(loss)
    for n, g in zip(nodes, first):
        np.testing.assert_allclose(n.grad, 2 * g, rtol=1e-14)


def test_only_the_needed_gradients_are_sent():
    X, S, W, b = step_arrays(2, 3, 2)
    Xn, Sn = tg.tensor(X, name="X"), tg.tensor(S, name="S")
    Wn, bn = tg.parameter(W, name="W"), tg.parameter(b, name="b")
    out = lstm_step(Xn, Sn, Wn, bn)
    steps = list(tg.backward_steps(out.sum()))
    sent = next(s for s in steps if s.node is out).input_grads
    assert sent[0] is None and sent[1] is None and sent[2].shape == W.shape and sent[3].shape == b.shape


def test_bad_shapes_dtypes_and_types_are_refused_naming_the_nodes():
    X, S, W, b = step_arrays(2, 3, 4)
    Xn, Sn, Wn, bn = tg.tensor(X, name="X"), tg.tensor(S, name="S"), tg.parameter(W, name="W"), tg.parameter(b, name="b")
    with pytest.raises(tg.ShapeError, match=r"lstm_step.*'W' \(7, 15\)"):
        lstm_step(Xn, Sn, tg.parameter(W[:, :15], name="W"), bn)
    with pytest.raises(tg.ShapeError, match=r"'S' \(2, 3, 4\)"):
        lstm_step(Xn, tg.tensor(np.zeros((2, 3, 4)), name="S"), Wn, bn)
    with pytest.raises(tg.DtypeError, match=r"'b' float32"):
        lstm_step(Xn, Sn, Wn, tg.parameter(b.astype(np.float32), name="b"))
    with pytest.raises(TypeError, match="must be Nodes"):
        lstm_step(X, Sn, Wn, bn)


# --- FusedBlogLSTM against BlogLSTM -------------------------------------------------

def unroll_and_backward(cell_class, T, r, d, h, seed=0, dtype=np.float64, as_list=False):
    rng = np.random.default_rng(seed)
    cell = cell_class(d, h, seed=seed + 1, dtype=dtype)
    X = rng.standard_normal((T, r, d)).astype(dtype)
    G = rng.standard_normal((T, r, h)).astype(dtype)
    init = {"H0": tg.parameter(rng.standard_normal((r, h)).astype(dtype), name="H0"),
            "C0": tg.parameter(rng.standard_normal((r, h)).astype(dtype), name="C0")}
    run = cell.unroll([tg.tensor(x) for x in X] if as_list else X, init)
    loss = (tg.stack(run.outputs) * G).sum() + (run.final_state["C0"] ** 2).sum()
    tg.backward(loss, retain_grads=False)
    grads = {k: p.grad for k, p in cell.parameters().items()}
    grads.update({k: n.grad for k, n in init.items()})
    return run, loss, grads


@pytest.mark.parametrize("as_list", [False, True], ids=["array input", "list of Nodes"])
def test_fused_lstm_equals_the_teaching_graph_in_outputs_and_all_gradients(as_list):
    run_f, loss_f, grads_f = unroll_and_backward(FusedBlogLSTM, 6, 3, 4, 5, as_list=as_list)
    run_p, loss_p, grads_p = unroll_and_backward(BlogLSTM, 6, 3, 4, 5)
    for a, b in zip(run_f.outputs, run_p.outputs):
        np.testing.assert_allclose(a.value, b.value, rtol=1e-13, atol=1e-14)
    np.testing.assert_allclose(run_f.final_state["C0"].value, run_p.final_state["C0"].value, rtol=1e-13)
    assert abs(loss_f.item() - loss_p.item()) <= 1e-12 * abs(loss_p.item())
    assert list(grads_f) == list(grads_p)
    for key in grads_p:
        np.testing.assert_allclose(grads_f[key], grads_p[key], rtol=1e-11, atol=1e-13, err_msg=key)


@settings(max_examples=12, deadline=None)
@given(T=st.integers(1, 5), r=st.integers(1, 3), d=st.integers(1, 4), h=st.integers(1, 4), seed=st.integers(0, 50))
def test_fused_lstm_equals_the_teaching_graph_for_random_sizes(T, r, d, h, seed):
    _, _, grads_f = unroll_and_backward(FusedBlogLSTM, T, r, d, h, seed=seed)
    _, _, grads_p = unroll_and_backward(BlogLSTM, T, r, d, h, seed=seed)
    for key in grads_p:
        np.testing.assert_allclose(grads_f[key], grads_p[key], rtol=1e-10, atol=1e-12, err_msg=key)


def test_fused_lstm_in_float32_stays_float32_and_agrees():
    run32, _, grads32 = unroll_and_backward(FusedBlogLSTM, 5, 2, 3, 4, dtype=np.float32)
    _, _, grads64 = unroll_and_backward(BlogLSTM, 5, 2, 3, 4)
    assert run32.outputs[0].dtype == np.float32
    for key in grads64:
        assert grads32[key].dtype == np.float32, key
        np.testing.assert_allclose(grads32[key], grads64[key], rtol=1e-4, atol=1e-5, err_msg=key)


def test_fused_step_by_step_equals_unroll():
    cell = FusedBlogLSTM(3, 2, seed=4)
    X = np.random.default_rng(1).standard_normal((3, 2, 3))
    run = cell.unroll(X)
    state = None
    for t, x in enumerate(X, start=1):
        state = cell.step(x, state, t)
        np.testing.assert_allclose(state["H_t"].value, run.outputs[t - 1].value, rtol=1e-14)


def test_fused_graph_keeps_the_named_parameters_steps_and_gate_values():
    plain, fused = BlogLSTM(3, 4, seed=2), FusedBlogLSTM(3, 4, seed=2)
    X = np.random.default_rng(3).standard_normal((3, 2, 3))
    run_p, run_f = plain.unroll(X), fused.unroll(X)
    loss = tg.stack(run_f.outputs).sum()
    graph = tg.topological_order(loss)
    leaves = {n.name for n in graph if n.is_leaf}
    assert set(fused.parameters()) <= leaves                # all 12 named parameters feed the graph
    assert [n.name for n in graph if n.op is not None and n.scope == ("packed weights",)] == [
        "[W_ix W_fx W_ox W_cx]", "[W_ih W_fh W_oh W_ch]", "W", "b"]
    for t, (sp, sf) in enumerate(zip(run_p.steps, run_f.steps), start=1):
        state = sf["(H_t, C_t)"]
        assert state.scope == (f"t={t}",) and sf["H_t"].scope == (f"t={t}",)
        for gate, values in state.op.parts().items():
            np.testing.assert_allclose(values, sp[gate].value, rtol=1e-13, err_msg=f"t={t} {gate}")
        np.testing.assert_allclose(sf["C_t"].value, sp["C_t"].value, rtol=1e-13)
    plain_graph = tg.topological_order(tg.stack(run_p.outputs).sum())
    ops_in_step_2 = [sum(1 for n in g if n.op is not None and n.scope[:1] == ("t=2",)) for g in (graph, plain_graph)]
    assert ops_in_step_2[0] == 2 and ops_in_step_2[1] >= 20     # lstm_step and the H_t view; ~25 primitive ops


def test_fused_step_part_grads_equal_the_teaching_graph_gate_gradients():
    plain, fused = BlogLSTM(3, 4, seed=5), FusedBlogLSTM(3, 4, seed=5)
    X = np.random.default_rng(6).standard_normal((3, 2, 3))
    G = np.random.default_rng(7).standard_normal((3, 2, 4))
    run_p, run_f = plain.unroll(X), fused.unroll(X)
    tg.backward((tg.stack(run_p.outputs) * G).sum())
    tg.backward((tg.stack(run_f.outputs) * G).sum())
    for t, (sp, sf) in enumerate(zip(run_p.steps, run_f.steps), start=1):
        state = sf["(H_t, C_t)"]
        grads = state.op.part_grads(state.grad, state.value, *(n.value for n in state.inputs))
        assert list(grads) == ["F", "I", "C_i", "O"]
        for gate, g in grads.items():
            np.testing.assert_allclose(g, sp[gate].grad, rtol=1e-12, atol=1e-15, err_msg=f"t={t} {gate}")


def drawn_svg(dot):
    """The texts of each drawn node and cluster: {"node": [(title, texts)], "cluster": [...]}."""
    ns = "{http://www.w3.org/2000/svg}"
    root = ET.fromstring(dot.pipe(format="svg"))
    groups = {}
    for g in root.iter(f"{ns}g"):
        if g.get("class") in ("node", "cluster"):
            texts = [t.text for t in g.iter(f"{ns}text") if t.text and t.text.strip()]
            groups.setdefault(g.get("class"), []).append((g.find(f"{ns}title").text, texts))
    return groups


def test_drawn_fused_unroll_shows_the_12_parameters_and_each_steps_gates():
    cell, plain = FusedBlogLSTM(3, 4, seed=0), BlogLSTM(3, 4, seed=0)
    X = np.random.default_rng(1).standard_normal((2, 2, 3))
    run, run_p = cell.unroll(X), plain.unroll(X)
    loss = tg.stack(run.outputs).sum()
    tg.backward(loss)
    tg.backward(tg.stack(run_p.outputs).sum())         # the gates' gradients in the teaching graph
    dot = tg.draw(loss, values=False, grads="norm")
    svg = drawn_svg(dot)
    texts = [t for _, ts in svg["node"] for t in ts]
    assert set(cell.parameters()) <= set(texts) and len(cell.parameters()) == 12
    assert sum("LSTM step" in ts for _, ts in svg["node"]) == 2
    drawn = dict(svg["node"])
    op_vertex = {v.nodes[0]: v.id for v in dot.vertices if v.kind == "op"}
    for step, step_p in zip(run.steps, run_p.steps):
        shown = drawn[op_vertex[step["(H_t, C_t)"]]]
        assert shown[0] == "LSTM step"
        rows = shown[1:]
        assert [rows[i:i + 2] for i in range(0, 12, 3)] == [["σ", "F"], ["σ", "I"], ["tanh", "C_i"], ["σ", "O"]]
        assert rows[-2:] == ["C_t = F×C + I×C_i", "H_t = O×tanh(C_t)"]
        assert [rows[i] for i in range(2, 12, 3)] == [f"‖grad‖ {grad_norm(step_p[gate].grad):.3g}"
                                                      for gate in ("F", "I", "C_i", "O")]
    clusters = {ts[0] for _, ts in svg["cluster"]}
    assert {"t=1", "t=2", "packed weights"} <= clusters


def test_drawn_fused_sequence_shows_the_gates_and_memory_of_all_steps():
    cell = FusedBlogLSTM(3, 4, seed=0)
    seq = cell.sequence(np.random.default_rng(1).standard_normal((5, 2, 3)))
    svg = drawn_svg(tg.draw(seq.H.sum()))
    (shown,) = [ts for _, ts in svg["node"] if "LSTM × T" in ts]
    for gate in ("F", "I", "C_i", "O", "C_t"):
        assert gate in shown
    assert summarize(seq.H.op.parts()["F"]) in shown and "for t = 1 … T" in shown


def test_fused_lstm_refuses_bad_inputs_like_the_teaching_cell():
    cell = FusedBlogLSTM(3, 2)
    with pytest.raises(tg.ShapeError, match=r"\(T, r, d\)"):
        cell.unroll(np.ones((4, 3)))
    with pytest.raises(tg.ShapeError, match=r"t=2 .X. must have shape \(1, 3\), got \(1, 4\)"):
        cell.unroll([np.ones((1, 3)), np.ones((1, 4))])
    with pytest.raises(ValueError, match="at least one time step"):
        cell.unroll(np.ones((0, 1, 3)))


# --- the whole sequence as one op -------------------------------------------------------

def sequence_arrays(T, r, d, h, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(shape) for shape in ((T, r, d), (2, r, h), (d + h, 4 * h), (4 * h,))]


def chain_of_steps(X, S0, W, b):
    """lstm_step once per step, outputs stacked: what lstm_sequence must equal."""
    S, outputs = S0, []
    for t in range(X.shape[0]):
        S = lstm_step(X[t], S, W, b)
        outputs.append(S[0])
    return tg.stack(outputs)


@pytest.mark.parametrize("T, block", [(1, 16), (5, 2), (7, 3), (20, 16), (6, 6)])
def test_sequence_op_equals_a_chain_of_fused_steps_for_any_block_size(T, block, monkeypatch):
    monkeypatch.setattr(LSTMSequence, "BLOCK", block)
    arrays = sequence_arrays(T, 2, 3, 4, seed=T)
    G = np.random.default_rng(9).standard_normal((T, 2, 4))
    results = []
    for build in (lstm_sequence, chain_of_steps):
        nodes = [tg.parameter(a) for a in arrays]
        H = build(*nodes)
        results.append((H.value, tg.grad((H * G).sum(), nodes)))
    (H_seq, grads_seq), (H_chain, grads_chain) = results
    np.testing.assert_allclose(H_seq, H_chain, rtol=1e-13, atol=1e-14)
    for name, a, b in zip(["X", "S0", "W", "b"], grads_seq, grads_chain):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-13, err_msg=name)


def test_sequence_op_gradients_match_finite_differences(monkeypatch):
    monkeypatch.setattr(LSTMSequence, "BLOCK", 2)
    arrays = sequence_arrays(3, 2, 2, 2, seed=1)
    report = tg.gradcheck(lambda X, S0, W, b: (lstm_sequence(X, S0, W, b) ** 2).sum(), arrays,
                          names=["X", "S0", "W", "b"])
    assert report.ok, str(report)


def test_fused_sequence_equals_the_teaching_graph():
    rng = np.random.default_rng(4)
    T, r, d, h = 7, 3, 4, 5
    X, G = rng.standard_normal((T, r, d)), rng.standard_normal((T, r, h))
    H0, C0 = rng.standard_normal((r, h)), rng.standard_normal((r, h))
    plain, fused = BlogLSTM(d, h, seed=3), FusedBlogLSTM(d, h, seed=3)
    init_p = {"H0": tg.parameter(H0), "C0": tg.parameter(C0)}
    init_f = {"H0": tg.parameter(H0), "C0": tg.parameter(C0)}
    run_p = plain.unroll(X, init_p)
    run_f = fused.sequence(X, init_f)
    tg.backward((tg.stack(run_p.outputs) * G).sum(), retain_grads=False)
    tg.backward((run_f.H * G).sum(), retain_grads=False)
    np.testing.assert_allclose(run_f.H.value, tg.stack(run_p.outputs).value, rtol=1e-13, atol=1e-14)
    np.testing.assert_allclose(run_f.final_state["C0"].value, run_p.final_state["C0"].value, rtol=1e-13)
    np.testing.assert_allclose(run_f.final_state["H0"].value, run_p.final_state["H0"].value, rtol=1e-13)
    np.testing.assert_allclose(run_f.H.op.parts()["F"][2], run_p.steps[2]["F"].value, rtol=1e-13)
    for key, p in plain.parameters().items():
        np.testing.assert_allclose(fused.parameters()[key].grad, p.grad, rtol=1e-11, atol=1e-13, err_msg=key)
    for key in ("H0", "C0"):
        np.testing.assert_allclose(init_f[key].grad, init_p[key].grad, rtol=1e-11, atol=1e-13, err_msg=key)


def test_sequence_refuses_bad_shapes():
    cell = FusedBlogLSTM(3, 2)
    with pytest.raises(tg.ShapeError, match=r"FusedBlogLSTM.sequence: .*\(T, r, d\) = \(T, r, 3\)"):
        cell.sequence(np.ones((4, 1, 2)))
    X, S0, W, b = (tg.tensor(a) for a in sequence_arrays(3, 2, 2, 2))
    with pytest.raises(tg.ShapeError, match="lstm_sequence"):
        lstm_sequence(X, S0, tg.tensor(np.ones((3, 8))), b)


def test_fused_sequence_takes_a_node_input_and_keeps_float32():
    rng = np.random.default_rng(6)
    X = rng.standard_normal((4, 2, 3)).astype(np.float32)
    cell32, cell64 = FusedBlogLSTM(3, 2, seed=1, dtype="float32"), BlogLSTM(3, 2, seed=1)
    X_node = tg.parameter(X, name="X")
    run = cell32.sequence(X_node)
    assert run.X is X_node and run.H.dtype == np.float32
    tg.backward(run.H.sum())
    plain = cell64.unroll([tg.parameter(x.astype(np.float64)) for x in X])
    tg.backward(tg.stack(plain.outputs).sum())
    np.testing.assert_allclose(run.H.value, tg.stack(plain.outputs).value, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(X_node.grad, np.stack([x.grad for x in plain.inputs]), rtol=1e-4, atol=1e-5)
    for key, p in cell64.parameters().items():
        assert cell32.parameters()[key].grad.dtype == np.float32
        np.testing.assert_allclose(cell32.parameters()[key].grad, p.grad, rtol=1e-4, atol=1e-5, err_msg=key)
