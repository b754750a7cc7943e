"""Gradients of gradients (create_graph=True) and the readable backward.

- the textbook backward and the fast path give the same steps, bit for bit, on random graphs;
- every registered op's second derivative (H v by double backward) equals central
  differences of its first derivative, over the op's whole argument table;
- third order, the diamond, broadcasting, the gradient of a gradient norm, tg.hvp;
- against torch.autograd when torch is installed;
- the backward graph: adjoints are Nodes named after their node, with ``adjoint_of``,
  in scopes starting with "backward".
"""
import numpy as np
import pytest
from hypothesis import given, settings

import tinygraph as tg
from op_cases import all_cases, call_tinygraph, case_id, input_values, leaves
from test_properties import build, recipes
from tinygraph.ops import REGISTRY


# --- the textbook algorithm and the fast path ---------------------------------------------------

def _steps(generator):
    return [(s.index, s.node, s.grad, s.input_grads) for s in generator]


def _identical(a, b):
    if a is None or b is None:
        return a is b
    return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()


@settings(max_examples=150)
@given(recipes())
def test_the_textbook_backward_and_the_fast_path_agree_bit_for_bit(recipe):
    leaves_, steps = recipe
    _, loss = build(leaves_, steps)
    seed = np.ones_like(loss.value)
    fast = _steps(tg.fast_steps(loss, seed.copy(), accumulate=False))
    slow = _steps(tg.textbook_steps(loss, seed.copy(), accumulate=False))
    assert [(i, n) for i, n, _, _ in fast] == [(i, n) for i, n, _, _ in slow]
    for (_, node, g_fast, sent_fast), (_, _, g_slow, sent_slow) in zip(fast, slow):
        assert _identical(g_fast, g_slow), node
        assert len(sent_fast) == len(sent_slow) and all(map(_identical, sent_fast, sent_slow)), node


@settings(max_examples=100)
@given(recipes())
def test_backward_without_steps_keeps_the_textbook_gradients_read_only(recipe):
    # tg.backward runs the fast path with steps=False: it builds no steps and freezes only
    # the gradients it keeps in .grad; they must still be the textbook's, bit for bit
    leaves_, steps = recipe
    for retain_grads in (False, True):
        nodes, loss = build(leaves_, steps)
        tg.backward(loss, retain_grads=retain_grads)
        expected = {s.node: s.grad for s in tg.textbook_steps(loss, np.ones_like(loss.value), accumulate=False)}
        for node in tg.topological_order(loss, needs_grad_only=False):
            if node in expected and (retain_grads or node.op is None):
                assert _identical(node.grad, expected[node]) and not node.grad.flags.writeable, node
            else:
                assert node.grad is None, node


def test_backward_steps_runs_the_fast_path_and_create_graph_the_textbook_one():
    x = tg.parameter([1.0, 2.0])
    y = (x * x).sum()
    assert tg.backward_steps(y).gi_code.co_name == "fast_steps"
    assert tg.backward_steps(y, create_graph=True).gi_code.co_name == "textbook_steps"


# --- second derivatives of every op --------------------------------------------------------------

def _projected_grad(entry, kwargs, arrays, R):
    nodes = leaves(arrays)
    return [np.array(g) for g in tg.grad((call_tinygraph(entry, nodes, kwargs) * R).sum(), nodes)]


@pytest.mark.parametrize("case", all_cases(), ids=case_id)
def test_every_ops_second_derivative_matches_finite_differences_of_its_first(case):
    name, shapes, kwargs = case
    entry = REGISTRY[name]
    rng = np.random.default_rng(7)
    arrays = input_values(entry, shapes, rng)
    nodes = leaves(arrays)
    out = call_tinygraph(entry, nodes, kwargs)
    R = rng.standard_normal(out.shape)
    v = [rng.standard_normal(a.shape) for a in arrays]
    Hv = tg.hvp(lambda *xs: (call_tinygraph(entry, xs, kwargs) * R).sum(), arrays, v)
    eps = 1e-5
    plus = _projected_grad(entry, kwargs, [a + eps * d for a, d in zip(arrays, v)], R)
    minus = _projected_grad(entry, kwargs, [a - eps * d for a, d in zip(arrays, v)], R)
    for k, (got, p, m) in enumerate(zip(Hv, plus, minus)):
        np.testing.assert_allclose(got, (p - m) / (2 * eps), rtol=1e-5, atol=1e-6, err_msg=f"{name} input {k}")


# --- higher order on whole graphs -----------------------------------------------------------------

def test_third_and_fourth_derivatives_of_a_power_and_of_tanh():
    x = tg.parameter(np.array([0.3, -1.2]), name="x")
    d1 = tg.grad((x ** 4).sum(), x, create_graph=True)
    d2 = tg.grad(d1.sum(), x, create_graph=True)
    d3 = tg.grad(d2.sum(), x, create_graph=True)
    d4 = tg.grad(d3.sum(), x)
    np.testing.assert_allclose([d1.value, d2.value, d3.value, d4],
                               [4 * x.value ** 3, 12 * x.value ** 2, 24 * x.value, [24.0, 24.0]], rtol=1e-13)
    t = np.tanh(x.value)
    d3_tanh = tg.grad(tg.grad(tg.grad(tg.tanh(x).sum(), x, create_graph=True).sum(), x, create_graph=True).sum(), x)
    np.testing.assert_allclose(d3_tanh, -2 * (1 - t ** 2) * (1 - 3 * t ** 2), rtol=1e-12)


def test_a_diamond_gets_the_sum_of_both_paths_in_its_second_derivative():
    a = tg.parameter(0.7, name="a")
    y = tg.tanh(a) * tg.sigmoid(a) + a * a             # a used three times
    d1 = tg.grad(y, a, create_graph=True)
    d2 = float(tg.grad(d1, a))

    def first(value):
        t, s = np.tanh(value), 1 / (1 + np.exp(-value))
        return (1 - t ** 2) * s + t * s * (1 - s) + 2 * value
    assert abs(d2 - (first(0.7 + 1e-6) - first(0.7 - 1e-6)) / 2e-6) < 1e-7


def test_second_derivatives_reduce_over_broadcast_axes():
    rng = np.random.default_rng(3)
    a, b = rng.standard_normal((3, 1)), rng.standard_normal((4,))
    f = lambda a, b: (tg.tanh(a * b) * (a + b)).sum()      # noqa: E731
    v = [rng.standard_normal((3, 1)), rng.standard_normal((4,))]
    Hv = tg.hvp(f, [a, b], v)
    eps = 1e-5

    def gradient(a, b):
        nodes = [tg.parameter(a), tg.parameter(b)]
        return tg.grad(f(*nodes), nodes)
    plus, minus = gradient(a + eps * v[0], b + eps * v[1]), gradient(a - eps * v[0], b - eps * v[1])
    for got, p, m in zip(Hv, plus, minus):
        assert got.shape == p.shape
        np.testing.assert_allclose(got, (p - m) / (2 * eps), rtol=1e-6, atol=1e-8)


def test_the_gradient_of_a_gradient_norm_matches_finite_differences():
    rng = np.random.default_rng(4)
    W0, X = rng.standard_normal((3, 2)), rng.standard_normal((5, 3))

    def penalty(W):
        loss = tg.cross_entropy(tg.tanh(X @ W), np.array([0, 1, 1, 0, 1]))
        g = tg.grad(loss, W, create_graph=True)
        return (g * g).sum()
    W = tg.parameter(W0)
    got = tg.grad(penalty(W), W)
    numeric = np.zeros_like(W0)
    for idx in np.ndindex(W0.shape):
        step = np.zeros_like(W0)
        step[idx] = 1e-6
        numeric[idx] = (float(penalty(tg.parameter(W0 + step))) - float(penalty(tg.parameter(W0 - step)))) / 2e-6
    np.testing.assert_allclose(got, numeric, rtol=1e-6, atol=1e-9)


def test_create_graph_gives_the_same_first_derivatives_as_plain_backward():
    from lstm.cells import BlogLSTM
    cell = BlogLSTM(3, 4, seed=0)
    X = np.random.default_rng(0).standard_normal((3, 2, 3))
    loss = tg.stack(cell.unroll(X).outputs).sum()
    params = list(cell.parameters().values())
    plain = tg.grad(loss, params)
    graph = tg.grad(loss, params, create_graph=True)
    for p, g in zip(plain, graph):
        np.testing.assert_allclose(g.value, p, rtol=1e-13, atol=1e-15)


# --- the backward pass as a graph ------------------------------------------------------------------

def test_adjoints_are_named_nodes_linked_to_their_forward_node_in_backward_scopes():
    x = tg.parameter([0.5, -0.5], name="x")
    with tg.scope(tg.step_scope(3)):
        F = tg.sigmoid(x, name="F")
        C_t = (F * x).named("C_t")
    loss = C_t.sum().named("L")
    tg.backward(loss, create_graph=True)
    assert F.grad.adjoint_of is F and F.grad.name == "F̄"
    assert C_t.grad.adjoint_of is C_t and C_t.grad.name == "C̄_t"
    assert x.grad.adjoint_of is x and isinstance(x.grad, tg.Node)
    assert F.adjoint_of is None and x.adjoint_of is None
    built = [n for n in tg.topological_order(x.grad, needs_grad_only=False) if n.op is not None
             and n not in (F, C_t)]
    assert built and all(n.scope[0] == "backward" for n in built)
    assert F.grad.scope == ("backward", "t=3")


def test_backward_with_create_graph_refuses_an_op_without_backward_graph():
    from lstm.fused_ops import lstm_step
    nodes = [tg.parameter(np.ones(s)) for s in [(1, 2), (2, 1, 3), (5, 12), (12,)]]
    with pytest.raises(tg.GraphError, match="lstm_step.*has no backward_graph"):
        tg.grad(lstm_step(*nodes).sum(), nodes, create_graph=True)


# --- against torch.autograd ----------------------------------------------------------------------

def test_hessian_vector_products_match_torch_autograd():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(5)
    X, targets = rng.standard_normal((6, 3)), np.array([0, 2, 1, 1, 0, 2])
    W, b = rng.standard_normal((3, 3)), rng.standard_normal(3)
    vW, vb = rng.standard_normal((3, 3)), rng.standard_normal(3)

    def f_tg(W, b):
        h = tg.sigmoid(X @ W + b) * tg.tanh(X @ W) / (1.5 + (b * b).sum())
        return tg.cross_entropy(h, targets, reduction="mean") + tg.log(tg.exp(h).mean() + 1.0) * 0.3

    def f_torch(W, b):
        Xt = torch.tensor(X)
        h = torch.sigmoid(Xt @ W + b) * torch.tanh(Xt @ W) / (1.5 + (b * b).sum())
        ce = torch.nn.functional.cross_entropy(h, torch.tensor(targets), reduction="mean")
        return ce + torch.log(torch.exp(h).mean() + 1.0) * 0.3

    ours = tg.hvp(f_tg, [W, b], [vW, vb])
    _, theirs = torch.autograd.functional.hvp(f_torch, (torch.tensor(W), torch.tensor(b)),
                                              (torch.tensor(vW), torch.tensor(vb)))
    for a, t in zip(ours, theirs):
        np.testing.assert_allclose(a, t.numpy(), rtol=1e-11, atol=1e-13)


def test_third_order_through_matmul_and_indexing_matches_torch():
    torch = pytest.importorskip("torch")
    A0 = np.random.default_rng(6).standard_normal((3, 3))

    def f(A, lib):
        M = A @ A
        return (M[0] * M[:, 1]).sum() + (A[[0, 2, 2]] ** 3).sum() if lib == "tg" else \
            (M[0] * M[:, 1]).sum() + (A[[0, 2, 2]] ** 3).sum()
    A = tg.parameter(A0)
    g1 = tg.grad(f(A, "tg"), A, create_graph=True)
    g2 = tg.grad((g1 * g1).sum(), A, create_graph=True)
    g3 = tg.grad(g2.sum(), A)
    At = torch.tensor(A0, requires_grad=True)
    (t1,) = torch.autograd.grad(f(At, "torch"), At, create_graph=True)
    (t2,) = torch.autograd.grad((t1 * t1).sum(), At, create_graph=True)
    (t3,) = torch.autograd.grad(t2.sum(), At)
    np.testing.assert_allclose(g3, t3.numpy(), rtol=1e-11, atol=1e-11)


def test_a_plain_backward_onto_gradient_nodes_asks_for_zero_grad():
    x = tg.parameter([1.0, 2.0], name="x")
    tg.backward((x * x).sum(), create_graph=True)
    with pytest.raises(tg.GraphError, match=r"'x' \(2,\) holds a gradient Node from create_graph=True; call "
                                            r"tg.zero_grad"):
        tg.backward((x * x).sum())
    tg.zero_grad([x])
    tg.backward((x * x).sum())
    np.testing.assert_array_equal(x.grad, [2.0, 4.0])
