"""Properties over random expression graphs (hypothesis, derandomized in tests/conftest.py).

A graph is a recipe: a few leaves, then ops, each taking earlier nodes as operands (so
nodes are reused and the graph is a DAG with diamonds). Every op has a numpy twin; the
same recipe runs through tinygraph and through numpy, and tinygraph's gradients must
equal central finite differences of the numpy version, for leaves and intermediates.
"""
from dataclasses import dataclass

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import tinygraph as tg
from finite_differences import central_differences

# Every shape here broadcasts with every other one (to (2, 3)), and every op keeps it so.
SHAPES = [(), (3,), (2, 3), (1, 3), (2, 1)]
M = np.array([[0.5, -1.0, 0.3], [0.2, 0.4, -0.6], [-0.7, 0.1, 0.9]])
TARGETS = np.array([2, 0])


def cross_entropy_numpy(z, targets):
    m = z.max(axis=-1, keepdims=True)
    log_z = m[..., 0] + np.log(np.exp(z - m).sum(axis=-1))
    return (log_z - np.take_along_axis(z, targets[..., None], axis=-1)[..., 0]).sum()


@dataclass(frozen=True)
class OpSpec:
    arity: int
    tg: object                      # the op(s) written with tinygraph
    np: object                      # the same function written with numpy
    fits: object = None             # fits(*shapes) -> bool; None: any shapes


def _concat_fits(a, b):
    return len(a) == len(b) >= 1 and a[:-1] == b[:-1]


OPS = {
    "add": OpSpec(2, lambda a, b: a + b, lambda a, b: a + b),
    "sub": OpSpec(2, lambda a, b: a - b, lambda a, b: a - b),
    "mul": OpSpec(2, lambda a, b: a * b, lambda a, b: a * b),
    "div": OpSpec(2, lambda a, b: a / (b * b + 1.0), lambda a, b: a / (b * b + 1.0)),
    "neg": OpSpec(1, lambda a: -a, lambda a: -a),
    "tanh": OpSpec(1, tg.tanh, np.tanh),
    "sigmoid": OpSpec(1, tg.sigmoid, lambda a: 1 / (1 + np.exp(-a))),
    "exp": OpSpec(1, lambda a: tg.exp(tg.tanh(a)), lambda a: np.exp(np.tanh(a))),
    "log": OpSpec(1, lambda a: tg.log(a * a + 0.5), lambda a: np.log(a * a + 0.5)),
    "square": OpSpec(1, lambda a: a ** 2, lambda a: a ** 2),
    "cube": OpSpec(1, lambda a: tg.tanh(a) ** 3, lambda a: np.tanh(a) ** 3),
    "sum_all": OpSpec(1, tg.sum, np.sum),
    "sum_last": OpSpec(1, lambda a: tg.sum(a, axis=-1, keepdims=True),
                       lambda a: np.sum(a, axis=-1, keepdims=True), lambda a: len(a) >= 1),
    "mean_first": OpSpec(1, lambda a: tg.mean(a, axis=0, keepdims=True),
                         lambda a: np.mean(a, axis=0, keepdims=True), lambda a: len(a) == 2),
    "gather": OpSpec(1, lambda a: a[..., [2, 0, 2]], lambda a: a[..., [2, 0, 2]],
                     lambda a: len(a) >= 1 and a[-1] == 3),
    "flip": OpSpec(1, lambda a: a[..., ::-1], lambda a: a[..., ::-1], lambda a: len(a) >= 1),
    "reshape": OpSpec(1, lambda a: a.reshape(-1).reshape(a.shape), lambda a: a.reshape(-1).reshape(a.shape)),
    "matmul_const": OpSpec(1, lambda a: a @ M.astype(a.dtype), lambda a: a @ M, lambda a: len(a) >= 1 and a[-1] == 3),
    "matmul_gram": OpSpec(2, lambda a, b: a @ (b.T @ b), lambda a, b: a @ (b.T @ b),
                          lambda a, b: len(a) >= 1 and a[-1] == 3 and len(b) == 2 and b[-1] == 3),
    "concat": OpSpec(2, lambda a, b: tg.concat([a, b], axis=-1)[..., 1:1 + a.shape[-1]],
                     lambda a, b: np.concatenate([a, b], axis=-1)[..., 1:1 + a.shape[-1]], _concat_fits),
    "stack": OpSpec(2, lambda a, b: tg.stack([a, b * 2.0]).sum(axis=0),
                    lambda a, b: np.stack([a, b * 2.0]).sum(axis=0), lambda a, b: a == b),
    "cross_entropy": OpSpec(1, lambda a: tg.cross_entropy(a, TARGETS), lambda a: cross_entropy_numpy(a, TARGETS),
                            lambda a: a == (2, 3)),
}


@st.composite
def recipes(draw, max_ops=12):
    """(leaf arrays, steps): each step is (op name, indices of its operands among earlier nodes)."""
    shapes = draw(st.lists(st.sampled_from(SHAPES), min_size=1, max_size=3))
    leaves = [draw(arrays(np.float64, s, elements=st.floats(-1.5, 1.5))) for s in shapes]
    node_shapes = list(shapes)
    steps = []
    for _ in range(draw(st.integers(2, max_ops))):
        name = draw(st.sampled_from(sorted(OPS)))
        spec = OPS[name]
        operands = tuple(draw(st.integers(0, len(node_shapes) - 1)) for _ in range(spec.arity))
        fitting = [n for n in sorted(OPS) if OPS[n].arity == spec.arity
                   and (OPS[n].fits is None or OPS[n].fits(*[node_shapes[i] for i in operands]))]
        if name not in fitting:
            name = draw(st.sampled_from(fitting))
        out = OPS[name].np(*[np.zeros(node_shapes[i]) for i in operands])
        steps.append((name, operands))
        node_shapes.append(np.shape(out))
    return leaves, steps


def run(leaves, steps, lib, replace=None):
    """All node values of the recipe: tinygraph Nodes (lib "tg") or numpy arrays ("np").
    ``replace=(k, array)`` swaps node k's value for ``array`` (to differentiate w.r.t. it)."""
    nodes = list(leaves)
    for k, (name, operands) in enumerate(steps, start=len(leaves)):
        fn = getattr(OPS[name], lib)
        nodes.append(fn(*[nodes[i] for i in operands]))
        if replace is not None and replace[0] == k:
            nodes[k] = replace[1]
    return nodes


def loss_of(nodes, lib):
    """Σ over the nodes nobody consumed of sum(node * R): every output counts, with fixed weights."""
    total = 0.0
    for k, node in enumerate(nodes):
        shape = node.shape if lib == "tg" else np.shape(node)
        R = np.random.default_rng(k).uniform(0.5, 1.5, size=shape)
        total = total + (tg.sum(node * R.astype(node.dtype)) if lib == "tg" else np.sum(node * R))
    return total


def sinks(leaves, steps):
    used = {i for _, operands in steps for i in operands}
    return [k for k in range(len(leaves) + len(steps)) if k not in used]


def numpy_loss(leaves, steps, replace=None):
    nodes = run(leaves, steps, "np", replace)
    return float(loss_of([nodes[k] for k in sinks(leaves, steps)], "np"))


def build(leaves, steps, dtype=np.float64):
    params = [tg.parameter(np.array(a, dtype=dtype), name=f"leaf{i}") for i, a in enumerate(leaves)]
    nodes = run(params, steps, "tg")
    loss = loss_of([nodes[k] for k in sinks(leaves, steps)], "tg")
    return nodes, loss


def assert_close(actual, expected, what):
    scale = max(1.0, float(np.max(np.abs(expected), initial=0.0)))
    np.testing.assert_allclose(actual, expected, rtol=1e-5, atol=1e-6 * scale, err_msg=what)


@settings(max_examples=300)
@given(recipes())
def test_random_graphs_agree_with_finite_differences(recipe):
    leaves, steps = recipe
    nodes, loss = build(leaves, steps)
    for node, reference in zip(nodes, run(leaves, steps, "np")):
        np.testing.assert_allclose(node.value, reference, rtol=1e-12, atol=1e-12)
    tg.backward(loss)
    numeric = central_differences(lambda *xs: numpy_loss(list(xs), steps), leaves)
    for i, (leaf, fd) in enumerate(zip(nodes, numeric)):
        assert type(leaf.grad) is np.ndarray and not leaf.grad.flags.writeable
        assert_close(leaf.grad, fd, f"leaf {i} in {steps}")


@settings(max_examples=100)
@given(recipes(max_ops=6))
def test_gradients_with_respect_to_intermediates_agree_with_finite_differences(recipe):
    leaves, steps = recipe
    nodes, loss = build(leaves, steps)
    intermediates = list(range(len(leaves), len(nodes)))
    grads = tg.grad(loss, [nodes[k] for k in intermediates])
    values = run(leaves, steps, "np")
    for k, g in zip(intermediates, grads):
        (fd,) = central_differences(lambda v, k=k: numpy_loss(leaves, steps, replace=(k, v)), [values[k]])
        assert_close(g, fd, f"node {k} ({steps[k - len(leaves)][0]}) in {steps}")


@settings(max_examples=100)
@given(recipes())
def test_backward_steps_give_exactly_what_backward_gives(recipe):
    leaves, steps = recipe
    nodes_a, loss_a = build(leaves, steps)
    tg.backward(loss_a)
    nodes_b, loss_b = build(leaves, steps)
    by_node = {}
    for step in tg.backward_steps(loss_b, accumulate=False):
        assert step.node not in by_node                       # one step per node
        by_node[step.node] = step.grad
    assert len(by_node) == len(tg.topological_order(loss_b))
    for a, b in zip(nodes_a, nodes_b):
        np.testing.assert_array_equal(by_node[b], a.grad)


@settings(max_examples=100)
@given(recipes(), st.floats(-2, 2), st.floats(-2, 2))
def test_backward_is_linear_in_the_seed(recipe, alpha, beta):
    leaves, steps = recipe
    nodes, _ = build(leaves, steps)
    root = nodes[-1]
    rng = np.random.default_rng(0)
    u, v = rng.standard_normal(root.shape), rng.standard_normal(root.shape)
    params = nodes[:len(leaves)]
    g_u = tg.grad(root, params, grad=u)
    g_v = tg.grad(root, params, grad=v)
    g_mix = tg.grad(root, params, grad=alpha * u + beta * v)
    for a, b, c in zip(g_u, g_v, g_mix):
        np.testing.assert_allclose(c, alpha * a + beta * b, rtol=1e-9, atol=1e-9)


@settings(max_examples=100)
@given(recipes())
def test_float32_graphs_stay_float32_and_agree_with_float64(recipe):
    leaves, steps = recipe
    nodes64, loss64 = build(leaves, steps)
    nodes32, loss32 = build(leaves, steps, dtype=np.float32)
    assert all(n.dtype == np.float32 for n in tg.topological_order(loss32, needs_grad_only=False))
    tg.backward(loss64)
    tg.backward(loss32)
    for a, b in zip(nodes64[:len(leaves)], nodes32):
        assert b.grad.dtype == np.float32
        scale = max(1.0, float(np.max(np.abs(a.grad), initial=0.0)))
        np.testing.assert_allclose(b.grad, a.grad, rtol=1e-3, atol=1e-3 * scale)


same_shape_pairs = st.sampled_from(SHAPES).flatmap(
    lambda s: st.tuples(arrays(np.float64, s, elements=st.floats(-10, 10)),
                        arrays(np.float64, s, elements=st.floats(-10, 10))))


@settings(max_examples=100)
@given(same_shape_pairs)
def test_gradient_of_sum_of_x_times_constant_is_the_constant(pair):
    x_value, c = pair
    x = tg.parameter(x_value)
    tg.backward(tg.sum(x * c))
    np.testing.assert_array_equal(x.grad, c)
    y = tg.parameter(x_value)
    tg.backward(tg.sum(c * y) + tg.sum(y * c))                # and accumulates over both uses
    np.testing.assert_array_equal(y.grad, 2 * c)


@settings(max_examples=100)
@given(st.sampled_from(SHAPES), st.sampled_from(SHAPES), st.integers(0, 2 ** 32 - 1))
def test_gradient_of_a_broadcast_sum_counts_the_copies(shape_x, shape_c, seed):
    # d/dx sum(x + c) is the number of times each entry of x is copied by broadcasting
    rng = np.random.default_rng(seed)
    x = tg.parameter(rng.standard_normal(shape_x))
    tg.backward(tg.sum(x + rng.standard_normal(shape_c)))
    copies = np.broadcast_shapes(shape_x, shape_c)
    np.testing.assert_array_equal(x.grad, np.full(shape_x, np.prod(copies) / max(1, np.prod(shape_x))))
