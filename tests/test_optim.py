"""tinygraph.optim: SGD, Adam, clipping by global norm, zero_grad, save/load of parameters."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinygraph as tg
from tinygraph.io import ArrayFileError
from tinygraph.optim import SGD, Adam, clip_grad_norm, global_norm, load, save, zero_grad


def bowl(w):
    """L(w) = (w_0 − 1)² + 2 w_1², so ∂L/∂w = [2(w_0 − 1), 4 w_1]."""
    return (w[0] - 1.0) ** 2 + 2.0 * w[1] ** 2


def one_step(opt, w):
    opt.zero_grad()
    tg.backward(bowl(w))
    opt.step()
    return w.value.copy()


def test_sgd_first_step_matches_hand_computation():
    w = tg.parameter([3.0, -1.0], name="w")           # gradient [4, -4]
    np.testing.assert_allclose(one_step(SGD([w], lr=0.1), w), [2.6, -0.6], rtol=0, atol=1e-15)


def test_sgd_momentum_first_two_steps_match_hand_computation():
    w = tg.parameter([3.0, -1.0], name="w")
    opt = SGD([w], lr=0.1, momentum=0.9)
    np.testing.assert_allclose(one_step(opt, w), [2.6, -0.6], atol=1e-15)   # v = g = [4, -4]
    # g = [3.2, -2.4]; v = 0.9 [4, -4] + g = [6.8, -6.0]; w = [2.6, -0.6] - 0.1 v
    np.testing.assert_allclose(one_step(opt, w), [1.92, 0.0], atol=1e-14)


def test_adam_first_step_moves_each_entry_by_lr_against_its_gradient_sign():
    w = tg.parameter([3.0, -1.0], name="w")           # gradient [4, -4]
    step = one_step(Adam([w], lr=0.1), w)
    # m̂ = g, v̂ = g², so the step is lr g / (|g| + ε) = ±0.1 · 4/(4 + 1e-8)
    np.testing.assert_allclose(step, [3.0 - 0.1 * 4 / (4 + 1e-8), -1.0 + 0.1 * 4 / (4 + 1e-8)], atol=1e-15)


def test_adam_second_step_matches_hand_computation():
    w = tg.parameter([3.0, -1.0], name="w")
    opt = Adam([w], lr=0.1, betas=(0.5, 0.75), eps=1e-8)
    w1 = one_step(opt, w)                              # ≈ [2.9, -0.9]
    g1, g2 = np.array([4.0, -4.0]), np.array([2 * (w1[0] - 1), 4 * w1[1]])   # g2 = [3.8, -3.6]
    m = (0.5 * 0.5 * g1 + 0.5 * g2) / (1 - 0.25)
    v = (0.75 * 0.25 * g1 ** 2 + 0.25 * g2 ** 2) / (1 - 0.75 ** 2)
    np.testing.assert_allclose(one_step(opt, w), w1 - 0.1 * m / (np.sqrt(v) + 1e-8), atol=1e-14)


def losses_during(opt, loss, w, steps):
    """Run ``steps`` optimizer steps on ``loss(w)``; the loss before each step."""
    losses = []
    for _ in range(steps):
        opt.zero_grad()
        L = loss(w)
        tg.backward(L)
        losses.append(L.item())
        opt.step()
    return losses


def quadratic_problem():
    rng = np.random.default_rng(1)
    M = rng.normal(size=(5, 5))
    A = M @ M.T + np.eye(5)                            # symmetric positive definite
    b = rng.normal(size=5)
    w_star = np.linalg.solve(A, b)
    loss = lambda w: 0.5 * (w @ (tg.tensor(A) @ w)) - tg.tensor(b) @ w   # noqa: E731
    return A, w_star, loss


@pytest.mark.parametrize("make", [
    lambda p, A: SGD(p, lr=1.0 / np.linalg.eigvalsh(A).max()),
    lambda p, A: SGD(p, lr=0.5 / np.linalg.eigvalsh(A).max(), momentum=0.9),
    lambda p, A: Adam(p, lr=0.05),
], ids=["sgd", "sgd-momentum", "adam"])
def test_optimizer_decreases_convex_quadratic_to_its_minimum(make):
    A, w_star, loss = quadratic_problem()
    w = tg.parameter(np.zeros(5), name="w")
    opt = make([w], A)
    f_star = loss(tg.tensor(w_star)).item()
    losses = losses_during(opt, loss, w, steps=600)
    assert losses[-1] < losses[0]
    assert losses[-1] - f_star < 1e-3 * (losses[0] - f_star)
    np.testing.assert_allclose(w.value, w_star, atol=0.05)


def test_plain_sgd_with_small_step_decreases_loss_every_step():
    A, _, loss = quadratic_problem()
    w = tg.parameter(np.ones(5), name="w")
    opt = SGD({"w": w}, lr=1.0 / np.linalg.eigvalsh(A).max())
    losses = losses_during(opt, loss, w, steps=50)
    assert np.all(np.diff(losses) < 0)


def test_step_skips_parameters_without_gradient_and_never_writes_in_place():
    a, b = tg.parameter([1.0, 2.0], name="a"), tg.parameter([5.0], name="b")
    opt = SGD([a, b], lr=0.5)
    tg.backward((a * a).sum())
    grad_before, value_before = a.grad, a.value
    opt.step()
    np.testing.assert_array_equal(a.value, [0.0, 0.0])
    np.testing.assert_array_equal(b.value, [5.0])
    np.testing.assert_array_equal(value_before, [1.0, 2.0])         # the old array is untouched
    assert a.grad is grad_before and not a.value.flags.writeable


def test_zero_grad_clears_gradients_of_a_parameter_set():
    params = {"a": tg.parameter([1.0], name="a"), "b": tg.parameter([2.0], name="b")}
    tg.backward(params["a"] * params["b"])
    assert all(p.grad is not None for p in params.values())
    zero_grad(params)
    assert all(p.grad is None for p in params.values())


def test_optimizers_refuse_non_parameters_bad_settings_and_nan_gradients():
    p = tg.parameter([1.0], name="p")
    with pytest.raises(ValueError, match="'x' is a tensor"):
        SGD([tg.tensor([1.0], name="x")])
    with pytest.raises(ValueError, match="computed by"):
        Adam({"y": p * 2.0})
    with pytest.raises(ValueError, match="given twice"):
        SGD([p, p])
    with pytest.raises(ValueError, match="lr"):
        SGD([p], lr=-1.0)
    with pytest.raises(ValueError, match="momentum"):
        SGD([p], momentum=1.5)
    p.grad = np.array([np.nan])
    with pytest.raises(FloatingPointError, match="'p'.*NaN"):
        Adam([p]).step()
    np.testing.assert_array_equal(p.value, [1.0])


@given(st.lists(st.floats(-1e3, 1e3), min_size=1, max_size=8),
       st.lists(st.floats(-1e3, 1e3), min_size=1, max_size=8),
       st.floats(1e-3, 1e3))
def test_clipping_bounds_global_norm_and_keeps_direction(ga, gb, max_norm):
    a, b = tg.parameter(np.zeros(len(ga)), name="a"), tg.parameter(np.zeros(len(gb)), name="b")
    a.grad, b.grad = np.array(ga), np.array(gb)
    before = np.concatenate([ga, gb])
    norm = clip_grad_norm([a, b], max_norm)
    after = np.concatenate([a.grad, b.grad])
    assert norm == pytest.approx(np.linalg.norm(before))
    assert np.linalg.norm(after) <= max_norm * (1 + 1e-12)
    if norm <= max_norm:
        np.testing.assert_array_equal(after, before)
    else:
        np.testing.assert_allclose(after * norm / max_norm, before, rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(ga, before[:len(ga)])                # the inputs are untouched


def test_global_norm_counts_all_parameters_and_ignores_missing_grads():
    a, b, c = (tg.parameter(np.zeros(2), name=n) for n in "abc")
    a.grad, b.grad = np.array([3.0, 0.0]), np.array([0.0, 4.0])
    assert global_norm([a, b, c]) == 5.0


def test_save_load_round_trips_exactly(tmp_path):
    rng = np.random.default_rng(0)
    params = {"W": tg.parameter(rng.normal(size=(3, 4)), name="W"),
              "b": tg.parameter(rng.normal(size=4).astype(np.float32), name="b")}
    save(tmp_path / "p.npz", params)
    fresh = {"W": tg.parameter(np.zeros((3, 4)), name="W"), "b": tg.parameter(np.zeros(4, np.float32), name="b")}
    load(tmp_path / "p.npz", fresh)
    for key in params:
        assert fresh[key].dtype == params[key].dtype
        assert fresh[key].value.tobytes() == params[key].value.tobytes()


def test_load_refuses_bad_files_and_changes_nothing(tmp_path):
    W = tg.parameter(np.ones((2, 2)), name="W")
    b = tg.parameter(np.ones(2), name="b")
    save(tmp_path / "small.npz", {"W": tg.parameter(np.zeros((2, 2))), "b": tg.parameter(np.zeros(3))})
    with pytest.raises(ArrayFileError, match=r"'b' has shape \(3,\), expected \(2,\)"):
        load(tmp_path / "small.npz", {"W": W, "b": b})
    with pytest.raises(ArrayFileError, match="missing 'c'"):
        load(tmp_path / "small.npz", {"W": W, "b": b, "c": tg.parameter(np.ones(1))})
    save(tmp_path / "f64.npz", {"W": tg.parameter(np.zeros((2, 2)))})
    with pytest.raises(ArrayFileError, match="lose precision"):
        load(tmp_path / "f64.npz", {"W": tg.parameter(np.ones((2, 2), np.float32))})
    np.testing.assert_array_equal(W.value, np.ones((2, 2)))
    np.testing.assert_array_equal(b.value, np.ones(2))
