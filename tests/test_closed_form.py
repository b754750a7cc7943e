"""lstm.closed_form: BlogLSTM's hand-derived backward through time against autodiff and
against finite differences of its own numpy forward."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygraph as tg
from finite_differences import central_differences
from lstm import closed_form
from lstm.cells import BlogLSTM
from lstm.losses import ce


def random_case(d, h, r, T, seed):
    rng = np.random.default_rng([d, h, r, T, seed])
    params = {k: 0.6 * rng.standard_normal(shape) for k, shape in BlogLSTM.parameter_shapes(d, h).items()}
    return params, rng.standard_normal((T, r, d)), rng.standard_normal((r, h)), rng.standard_normal((r, h)), rng


def autodiff(params, X, H0, C0, loss_of_outputs):
    cell = BlogLSTM(X.shape[2], H0.shape[1])
    cell.set_parameters(params)
    xs = [tg.parameter(x, name="X") for x in X]
    init = {"H0": tg.parameter(H0, name="H0"), "C0": tg.parameter(C0, name="C0")}
    loss = loss_of_outputs(cell.unroll(xs, initial_state=init).outputs)
    nodes = list(cell.parameters().values()) + [init["H0"], init["C0"]]
    grads = dict(zip(list(cell.parameters()) + ["H0", "C0"], tg.grad(loss, nodes)))
    grads["X"] = np.array(tg.grad(loss, xs))
    return loss.item(), grads


def rel(a, b):
    return float(np.max(np.abs(a - b)) / np.max(np.abs(b)))


@settings(max_examples=30)
@given(d=st.integers(1, 4), h=st.integers(1, 4), r=st.integers(1, 3), T=st.integers(1, 8), seed=st.integers(0, 10**6))
def test_closed_form_equals_autodiff_for_any_linear_loss(d, h, r, T, seed):
    """L = Σ_t Σ R_t ⊙ H_t with random R: the direct ∂L/∂H_t is R_t, any loss reduces to this."""
    params, X, H0, C0, rng = random_case(d, h, r, T, seed)
    R = rng.standard_normal((T, r, h))
    _, truth = autodiff(params, X, H0, C0, lambda outs: sum(tg.sum(H * R[t]) for t, H in enumerate(outs)))
    grads = closed_form.backward(closed_form.forward(params, X, H0, C0), R)
    assert set(grads) == set(truth)
    errors = {k: rel(grads[k], truth[k]) for k in truth}
    assert max(errors.values()) <= 1e-9, errors


def test_closed_form_with_cross_entropy_equals_autodiff_with_the_projects_ce():
    params, X, H0, C0, rng = random_case(3, 4, 2, 6, seed=1)
    targets = rng.integers(0, 4, size=(6, 2))
    loss, truth = autodiff(params, X, H0, C0, lambda outs: ce(outs, targets))
    fwd = closed_form.forward(params, X, H0, C0)
    value, dH = closed_form.softmax_cross_entropy(fwd.outputs, targets)
    assert value == pytest.approx(loss, rel=1e-12)
    grads = closed_form.backward(fwd, dH)
    assert max(rel(grads[k], truth[k]) for k in truth) <= 1e-9


def test_closed_form_equals_finite_differences():
    params, X, H0, C0, rng = random_case(2, 3, 2, 4, seed=2)
    R = rng.standard_normal((4, 2, 3))
    grads = closed_form.backward(closed_form.forward(params, X, H0, C0), R)
    values = dict(params, X=X, H0=H0, C0=C0)
    keys = list(values)

    def loss(*arrays):
        v = dict(zip(keys, arrays))
        p = {k: v[k] for k in closed_form.PARAMETER_KEYS}
        return float((closed_form.forward(p, v["X"], v["H0"], v["C0"]).outputs * R).sum())

    for key, numeric in zip(keys, central_differences(loss, list(values.values()))):
        assert rel(grads[key], numeric) < 1e-6, key


def test_softmax_cross_entropy_gradient_equals_finite_differences():
    rng = np.random.default_rng(0)
    H, targets = rng.standard_normal((2, 3, 4)), rng.integers(0, 4, size=(2, 3))
    _, dH = closed_form.softmax_cross_entropy(H, targets)
    eps, numeric = 1e-6, np.zeros_like(H)
    for idx in np.ndindex(H.shape):
        plus, minus = H.copy(), H.copy()
        plus[idx] += eps
        minus[idx] -= eps
        numeric[idx] = (closed_form.softmax_cross_entropy(plus, targets)[0]
                        - closed_form.softmax_cross_entropy(minus, targets)[0]) / (2 * eps)
    np.testing.assert_allclose(dH, numeric, atol=1e-8)


def test_bad_shapes_are_reported_by_name():
    params = random_case(3, 2, 1, 1, 0)[0]
    with pytest.raises(ValueError, match=r"X must have shape \(T, r, d\) = \(T, r, 3\), got \(4, 2\)"):
        closed_form.forward(params, np.zeros((4, 2)))
    with pytest.raises(ValueError, match=r"parameters \['b_c'\] are missing"):
        closed_form.forward({k: v for k, v in params.items() if k != "b_c"}, np.zeros((1, 1, 3)))
    with pytest.raises(ValueError, match=r"H0 must have shape \(r, h\) = \(1, 2\)"):
        closed_form.forward(params, np.zeros((1, 1, 3)), H0=np.zeros((2, 2)))
    fwd = closed_form.forward(params, np.zeros((4, 1, 3)))
    with pytest.raises(ValueError, match=r"dH must have the shape of the outputs \(4, 1, 2\)"):
        closed_form.backward(fwd, np.zeros((4, 2)))
