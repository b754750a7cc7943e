"""tinygraph.check: the finite-difference checks pass on right gradients and, more
importantly, fail on wrong ones."""
import numpy as np
import pytest

import tinygraph as tg


class WrongTanh(tg.Op):
    """tanh with a deliberately wrong derivative (1 − tanh instead of 1 − tanh²)."""

    name = "wrong tanh"

    def forward(self, x):
        return np.tanh(x)

    def backward(self, g, out, x):
        return (g * (1 - out),)


def wrong_tanh(x):
    return tg.apply(WrongTanh(), (x,))


def mlp(W, b, X):
    return tg.tanh(X @ W + b).sum()


def test_gradcheck_passes_on_a_right_gradient_with_one_row_per_input():
    rng = np.random.default_rng(0)
    report = tg.gradcheck(mlp, [rng.standard_normal((3, 2)), rng.standard_normal(2), rng.standard_normal((4, 3))],
                          names=["W", "b", "X"])
    assert report.ok
    assert [row.name for row in report.rows] == ["W", "b", "X"]
    assert [row.shape for row in report.rows] == [(3, 2), (2,), (4, 3)]
    assert all(row.max_rel_error < 1e-7 for row in report.rows)
    assert report.raise_if_failed() is report


def test_gradcheck_fails_on_a_wrong_gradient_and_says_where():
    rng = np.random.default_rng(1)
    report = tg.gradcheck(lambda w, x: (wrong_tanh(w) * x).sum(), [rng.standard_normal(3), rng.standard_normal(3)],
                          names=["w", "x"])
    assert not report.ok
    assert not report.rows[0].ok and report.rows[1].ok           # only w's gradient is wrong
    assert report.rows[0].max_rel_error > 1e-2
    text = str(report)
    assert "w" in text and "NO" in text and "yes" in text
    with pytest.raises(AssertionError, match="gradient check failed"):
        report.raise_if_failed()


def test_check_directions_passes_and_fails_like_gradcheck():
    rng = np.random.default_rng(2)
    inputs = [rng.standard_normal((5, 4)), rng.standard_normal(4), rng.standard_normal((3, 5))]
    good = tg.check_directions(mlp, inputs, directions=3)
    assert good.ok and len(good.rows) == 3
    bad = tg.check_directions(lambda W, b, X: wrong_tanh(X @ W + b).sum(), inputs, directions=3)
    assert not bad.ok


def test_non_scalar_output_is_checked_through_a_random_projection():
    # every output entry matters: a wrong gradient in one entry's path is caught
    x = np.array([0.3, -1.2, 0.8])
    assert tg.gradcheck(lambda v: tg.tanh(v) * 2.0, [x]).ok
    assert not tg.gradcheck(lambda v: tg.concat([v[:2], wrong_tanh(v[2:])]), [x]).ok


def test_gradcheck_runs_in_float64_whatever_the_inputs_dtype():
    seen = []

    def f(v):
        seen.append(v.dtype)
        return (v * v).sum()

    assert tg.gradcheck(f, [np.array([1.0, 2.0], np.float32)]).ok
    assert set(seen) == {np.dtype(np.float64)}


def test_gradcheck_takes_nodes_and_uses_their_names():
    w = tg.parameter(np.array([0.5, 1.5]), name="w")
    report = tg.gradcheck(lambda v: tg.sigmoid(v).sum(), [w])
    assert report.ok and report.rows[0].name == "w"


def test_numerical_gradient_of_a_known_function():
    (g,) = tg.numerical_gradient(lambda v: (v ** 3).sum(), [np.array([1.0, -2.0])])
    np.testing.assert_allclose(g, [3.0, 12.0], rtol=1e-8)


def test_gradcheck_refuses_a_function_that_does_not_return_a_node():
    with pytest.raises(TypeError, match="f must return a Node"):
        tg.gradcheck(lambda v: v.value.sum(), [np.ones(2)])
