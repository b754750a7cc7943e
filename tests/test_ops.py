"""Every primitive op: forward equals numpy, backward equals central finite differences of
the numpy twin (tests/finite_differences.py), over broadcasting shapes and special cases."""
import itertools

import numpy as np
import pytest

import tinygraph as tg
from finite_differences import assert_matches_numpy, central_differences

SHAPES = [(), (4,), (3, 4), (1, 4), (3, 1)]
SHAPE_PAIRS = list(itertools.product(SHAPES, SHAPES))     # both orders: each shape in both positions


def values(shape, seed, low=-2.0, high=2.0, away_from_zero=False):
    rng = np.random.default_rng(seed)
    x = rng.uniform(low, high, size=shape)
    if away_from_zero:
        x = np.where(x >= 0, 1, -1) * rng.uniform(0.5, 2.0, size=shape)
    return x


BINARY = {
    "add": (tg.add, np.add),
    "sub": (tg.sub, np.subtract),
    "mul": (tg.mul, np.multiply),
    "div": (tg.div, np.divide),
}


@pytest.mark.parametrize("shape_a,shape_b", SHAPE_PAIRS, ids=str)
@pytest.mark.parametrize("op", BINARY)
def test_binary_op_gradients_match_finite_differences_under_broadcasting(op, shape_a, shape_b):
    tg_f, np_f = BINARY[op]
    a = values(shape_a, 1)
    b = values(shape_b, 2, away_from_zero=(op == "div"))
    assert_matches_numpy(tg_f, np_f, [a, b])


@pytest.mark.parametrize("position", [0, 1])
@pytest.mark.parametrize("op", BINARY)
def test_binary_op_with_one_constant_side_sends_gradient_only_to_the_parameter(op, position):
    tg_f, np_f = BINARY[op]
    a, b = values((3, 4), 3), values((3, 1), 4, away_from_zero=True)
    assert_matches_numpy(tg_f, np_f, [a, b], wrt=[position])


@pytest.mark.parametrize("op", BINARY)
def test_python_operators_with_numbers_and_arrays_on_either_side(op):
    x_value = values((3, 4), 5, away_from_zero=True)
    c = values((4,), 6, away_from_zero=True)
    symbol = {"add": "+", "sub": "-", "mul": "*", "div": "/"}[op]
    for left, right in [("x", "2.5"), ("2.5", "x"), ("x", "c"), ("c", "x"), ("x", "np.float64(1.5)")]:
        expression = f"{left} {symbol} {right}"

        def tg_f(x):
            return eval(expression, {"x": x, "c": c, "np": np})

        def np_f(x):
            return eval(expression, {"x": x, "c": c, "np": np})

        nodes, out = assert_matches_numpy(tg_f, np_f, [x_value])
        assert out.op.name == op, expression


UNARY = {
    "neg": (tg.neg, np.negative, {}),
    "exp": (tg.exp, np.exp, {}),
    "log": (tg.log, np.log, {"low": 0.3, "high": 3.0}),
    "tanh": (tg.tanh, np.tanh, {}),
    "sigmoid": (tg.sigmoid, lambda x: 1 / (1 + np.exp(-x)), {}),
    "relu": (tg.relu, lambda x: np.maximum(x, 0), {"away_from_zero": True}),
}


@pytest.mark.parametrize("shape", [(), (4,), (3, 4), (5, 10)], ids=str)      # (5, 10): sigmoid's large-array formula
@pytest.mark.parametrize("op", UNARY)
def test_unary_op_gradients_match_finite_differences(op, shape):
    tg_f, np_f, domain = UNARY[op]
    assert_matches_numpy(tg_f, np_f, [values(shape, 7, **domain)])


@pytest.mark.parametrize("p", [2, 3, 1, 0, -1.5, 0.5, 2.5])
def test_power_with_constant_exponent_matches_finite_differences(p):
    x = values((3, 4), 8, low=0.4, high=2.0)
    assert_matches_numpy(lambda n: n ** p, lambda a: a ** p, [x])
    assert_matches_numpy(lambda n: tg.power(n, p), lambda a: a ** p, [x])


def test_power_of_negative_base_with_integer_exponent():
    x = values((5,), 9, away_from_zero=True)
    assert_matches_numpy(lambda n: n ** 3, lambda a: a ** 3, [x])


def test_sigmoid_is_stable_at_plus_minus_1000():
    # pytest turns warnings into errors: an overflow in exp would fail this test
    z = tg.parameter([-1000.0, -40.0, 0.0, 40.0, 1000.0], name="z")
    y = tg.sigmoid(z)
    np.testing.assert_array_equal(y.value[[0, 2, 4]], [0.0, 0.5, 1.0])
    np.testing.assert_allclose(y.value[1], np.exp(-40.0) / (1 + np.exp(-40.0)), rtol=1e-14)
    tg.backward(y.sum())
    assert np.all(np.isfinite(z.grad))
    # σ'(x) = σ(x)σ(−x) ≈ e^-|x| in the tails; computed from the output, exact to 1e-16 absolute
    np.testing.assert_allclose(z.grad, [0.0, np.exp(-40.0), 0.25, np.exp(-40.0), 0.0], rtol=1e-12, atol=1e-16)


@pytest.mark.parametrize("size", [5, 1000])          # both of stable_sigmoid's formulas
def test_sigmoid_keeps_relative_accuracy_in_both_tails(size):
    x = np.linspace(-700, 700, size)
    y = tg.sigmoid(tg.tensor(x)).value
    # independent reference: σ(x) = e^x / (1 + e^x) below 0, 1 / (1 + e^-x) above, in long double
    xl = x.astype(np.longdouble)
    reference = np.where(xl < 0, np.exp(np.minimum(xl, 0)) / (1 + np.exp(np.minimum(xl, 0))),
                         1 / (1 + np.exp(-np.maximum(xl, 0))))
    np.testing.assert_allclose(y, reference.astype(np.float64), rtol=1e-14, atol=0)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_sigmoid_of_large_arrays_is_the_textbook_two_branch_formula_bit_for_bit(dtype):
    # stable_sigmoid picks the numerator 1 or e^-|x| as max(e^-|x|, [x >= 0]) (no branches);
    # it must give exactly what the two-branch formula with np.where gives, ±0, ±inf and NaN included
    x = (np.random.default_rng(3).standard_normal(4000) * 40).astype(dtype)
    x[:7] = [0.0, -0.0, 800.0, -800.0, np.inf, -np.inf, np.nan]
    with np.errstate(under="ignore", invalid="ignore"):
        e = np.exp(-np.abs(x))
        expected = np.where(x >= 0, 1.0, e) / (1 + e)
        got = tg.ops.stable_sigmoid(x)
    assert got.dtype == expected.dtype == dtype
    assert got.tobytes() == expected.tobytes()


def test_tanh_saturates_without_warning():
    z = tg.parameter([-1000.0, 1000.0])
    tg.backward(tg.tanh(z).sum())
    np.testing.assert_array_equal(z.grad, [0.0, 0.0])


# --- matmul ----------------------------------------------------------------------------

MATMUL_SHAPES = [
    ((4,), (4,)),            # vector · vector -> scalar
    ((3, 4), (4,)),          # matrix · vector
    ((4,), (4, 5)),          # vector · matrix
    ((3, 4), (4, 5)),        # matrix · matrix
    ((1, 4), (4, 1)),
    ((2, 3, 4), (4, 5)),     # batch of matrices · matrix
    ((2, 3, 4), (2, 4, 5)),  # batch · batch
    ((1, 3, 4), (2, 4, 5)),  # batch axes broadcast
    ((4,), (2, 4, 5)),       # vector · batch
    ((2, 3, 4), (4,)),       # batch · vector
]


@pytest.mark.parametrize("shape_a,shape_b", MATMUL_SHAPES, ids=str)
def test_matmul_gradients_match_finite_differences(shape_a, shape_b):
    a, b = values(shape_a, 10), values(shape_b, 11)
    assert_matches_numpy(tg.matmul, np.matmul, [a, b])
    assert_matches_numpy(lambda x, y: x @ y, np.matmul, [a, b], wrt=[1])
    assert_matches_numpy(lambda x, y: x @ y, np.matmul, [a, b], wrt=[0])


def test_matmul_with_a_numpy_array_on_the_left():
    W = values((3, 4), 12)
    assert_matches_numpy(lambda x: W @ x, lambda x: W @ x, [values((4, 2), 13)])


# --- reductions and shapes ---------------------------------------------------------------

@pytest.mark.parametrize("keepdims", [False, True])
@pytest.mark.parametrize("axis", [None, 0, 1, -1, (0, 2), (-1, 0, 1)])
@pytest.mark.parametrize("op", ["sum", "mean"])
def test_reductions_with_axis_and_keepdims(op, axis, keepdims):
    x = values((2, 3, 4), 14)
    tg_f = getattr(tg, op)
    np_f = getattr(np, op)
    assert_matches_numpy(lambda n: tg_f(n, axis=axis, keepdims=keepdims),
                         lambda a: np_f(a, axis=axis, keepdims=keepdims), [x])


def test_reductions_of_a_scalar_and_node_methods():
    assert_matches_numpy(lambda n: n.sum(), np.sum, [np.array(1.5)])
    assert_matches_numpy(lambda n: n.mean(axis=0), lambda a: a.mean(axis=0), [values((3, 4), 15)])


@pytest.mark.parametrize("shape", [(12,), (3, 4), (2, 2, 3), (-1,), (4, -1)], ids=str)
def test_reshape(shape):
    assert_matches_numpy(lambda n: tg.reshape(n, shape), lambda a: np.reshape(a, shape), [values((3, 4), 16)])


def test_reshape_method_takes_a_tuple_or_numbers():
    x = tg.parameter(np.arange(6.0))
    assert x.reshape(2, 3).shape == (2, 3)
    assert x.reshape((3, 2)).shape == (3, 2)
    assert x.reshape(-1).shape == (6,)


@pytest.mark.parametrize("axes", [None, (1, 0, 2), (2, 0, 1), (-1, 0, 1), (0, -1, -2)], ids=str)
def test_transpose(axes):
    assert_matches_numpy(lambda n: tg.transpose(n, axes), lambda a: np.transpose(a, axes), [values((2, 3, 4), 17)])


def test_T_property_of_a_matrix():
    assert_matches_numpy(lambda n: n.T, lambda a: a.T, [values((3, 4), 18)])


# --- concat, stack, indexing -------------------------------------------------------------

def test_concat_is_the_papers_vertical_concatenation_with_a_constant_one():
    x, z_h, s = values((3,), 19), values((2,), 20), values((2,), 21)
    nodes, out = assert_matches_numpy(lambda a, b, c: tg.concat([a, b, c, 1.0]),
                                      lambda a, b, c: np.concatenate([a, b, c, [1.0]]), [x, z_h, s])
    assert out.shape == (8,) and out.value[-1] == 1.0


def test_concat_of_scalar_parameters_reshapes_them_inside_the_graph():
    assert_matches_numpy(lambda a, b: tg.concat([a, b, 2.0]), lambda a, b: np.array([a, b, 2.0]),
                         [np.array(0.5), np.array(-1.5)])


@pytest.mark.parametrize("axis", [0, 1, -1])
def test_concat_along_an_axis(axis):
    shapes = {0: [(2, 3), (1, 3), (4, 3)], 1: [(2, 1), (2, 3), (2, 2)], -1: [(2, 1), (2, 3), (2, 2)]}[axis]
    arrays = [values(s, 22 + i) for i, s in enumerate(shapes)]
    assert_matches_numpy(lambda *ns: tg.concat(list(ns), axis=axis),
                         lambda *xs: np.concatenate(xs, axis=axis), arrays)


def test_concat_of_a_node_with_itself_adds_both_gradients():
    assert_matches_numpy(lambda a: tg.concat([a, a * 2.0, a]), lambda a: np.concatenate([a, a * 2, a]),
                         [values((3,), 25)])


@pytest.mark.parametrize("axis", [0, 1, -1])
def test_stack(axis):
    arrays = [values((2, 3), 26 + i) for i in range(3)]
    assert_matches_numpy(lambda *ns: tg.stack(list(ns), axis=axis), lambda *xs: np.stack(xs, axis=axis), arrays)


INDICES = [
    1, -1, slice(1, 3), slice(None, None, -1), (1, 2), (slice(None), 2), (Ellipsis, 0), (None, 1),
    [0, 2, 2, 0],                                     # repeated integer indices
    np.array([1, 1, 1]),
    (slice(None), [3, 0, 3]),                         # mixed basic / advanced
    ([0, 2, 2], [1, 1, 3]),                           # pairs of positions, one repeated
    np.array([True, False, True]),                    # boolean mask
]


@pytest.mark.parametrize("index", INDICES, ids=repr)
def test_indexing_including_repeated_integer_indices(index):
    assert_matches_numpy(lambda n: n[index], lambda a: a[index], [values((3, 4), 29)])


@pytest.mark.parametrize("index,text", [
    (7, "getitem[7]"), ((slice(None), 2), "getitem[:, 2]"), (slice(1, None, -1), "getitem[1::-1]"),
    ((Ellipsis, None), "getitem[..., None]"), ([0, 2, 2], "getitem[[0, 2, 2]]"),
    (np.arange(8) % 2, "getitem[array(8,)]"), (np.ones(3, bool), "getitem[mask(3,)]"),
])
def test_getitem_describes_its_index_as_python_writes_it(index, text):
    assert tg.ops.GetItem(index).describe() == text


def test_repeated_index_gradient_counts_each_use():
    x = tg.parameter(np.zeros(3))
    tg.backward(x[[0, 0, 0, 2]].sum())
    np.testing.assert_array_equal(x.grad, [3.0, 0.0, 1.0])


def test_index_array_is_copied_so_changing_it_later_changes_nothing():
    index = np.array([0, 0, 1])
    x = tg.parameter(np.arange(3.0))
    y = x[index]
    index[:] = 2
    tg.backward(y.sum())
    np.testing.assert_array_equal(y.value, [0.0, 0.0, 1.0])
    np.testing.assert_array_equal(x.grad, [2.0, 1.0, 0.0])


# --- softmax cross-entropy -----------------------------------------------------------------

def cross_entropy_reference(logits, targets, reduction):
    """Independent formula: −log of the softmax probability of the target, done naively in
    float64 via an explicit max shift (np.exp of unshifted logits overflows at 1000)."""
    m = logits.max(axis=-1, keepdims=True)
    log_z = m[..., 0] + np.log(np.exp(logits - m).sum(axis=-1))
    picked = np.take_along_axis(logits, targets[..., None], axis=-1)[..., 0]
    losses = log_z - picked
    return losses.sum() if reduction == "sum" else losses.mean()


@pytest.mark.parametrize("reduction", ["sum", "mean"])
@pytest.mark.parametrize("shape", [(5,), (4, 5), (2, 3, 5)], ids=str)
def test_cross_entropy_matches_a_numpy_formula_and_finite_differences(shape, reduction):
    rng = np.random.default_rng(30)
    logits = rng.standard_normal(shape) * 2
    targets = rng.integers(0, shape[-1], size=shape[:-1])
    assert_matches_numpy(lambda z: tg.cross_entropy(z, targets, reduction=reduction),
                         lambda z: cross_entropy_reference(z, targets, reduction), [logits])


@pytest.mark.parametrize("reduction", ["sum", "mean"])
def test_cross_entropy_gradient_is_softmax_minus_one_hot(reduction):
    rng = np.random.default_rng(31)
    logits = rng.standard_normal((4, 3))
    targets = np.array([0, 2, 2, 1])
    z = tg.parameter(logits)
    tg.backward(tg.cross_entropy(z, targets, reduction=reduction))
    softmax = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    expected = softmax - np.eye(3)[targets]
    np.testing.assert_allclose(z.grad, expected / (4 if reduction == "mean" else 1), rtol=1e-12, atol=1e-15)


def test_cross_entropy_is_stable_at_logits_plus_minus_1000():
    logits = np.array([[1000.0, -1000.0, 0.0], [1000.0, -1000.0, 0.0], [-1000.0, -1000.0, -1000.0]])
    targets = np.array([0, 1, 2])
    z = tg.parameter(logits)
    loss = tg.cross_entropy(z, targets)
    # row 0: log(1 + 2e^-1000) = 0; row 1: 2000 + that; row 2: three equal logits: log 3
    np.testing.assert_allclose(loss.item(), 0.0 + 2000.0 + np.log(3.0), rtol=1e-15)
    tg.backward(loss)
    expected = np.array([[0.0, 0.0, 0.0], [1.0, -1.0, 0.0], [1 / 3, 1 / 3, -2 / 3]])
    np.testing.assert_allclose(z.grad, expected, atol=1e-15)


def test_cross_entropy_targets_given_as_a_list():
    z = tg.parameter(np.zeros((2, 4)))
    np.testing.assert_allclose(tg.cross_entropy(z, [3, 0], reduction="mean").item(), np.log(4.0))


# --- unbroadcast -----------------------------------------------------------------------------

@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_unbroadcast_sums_the_copies(shape):
    g = np.arange(12.0).reshape(3, 4)
    reduced = tg.unbroadcast(g, shape)
    assert reduced.shape == shape
    # unbroadcast is the adjoint of broadcasting: <broadcast(v), g> = <v, unbroadcast(g)>
    v = np.random.default_rng(32).standard_normal(shape)
    np.testing.assert_allclose((np.broadcast_to(v, g.shape) * g).sum(), (v * reduced).sum())


def test_central_differences_reference_itself_is_right():
    # the reference used by every test above, checked on a function with a known gradient
    (g,) = central_differences(lambda x: float((x ** 3).sum()), [np.array([1.0, -2.0])])
    np.testing.assert_allclose(g, [3.0, 12.0], rtol=1e-8)
