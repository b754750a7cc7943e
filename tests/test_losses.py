"""The losses: values against plain numpy formulas, gradients against finite differences, errors."""
import numpy as np
import pytest

import tinygraph as tg
from lstm.cells import BlogLSTM, PaperLSTM
from lstm.losses import LOSSES, ce, mse

rng = np.random.default_rng(1)


def numpy_ce(logits, targets):
    """Σ −log softmax(z)[target] written out with log-sum-exp, for (T, r, C) logits."""
    z = logits - logits.max(axis=-1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(axis=-1, keepdims=True))
    return -np.take_along_axis(logp, targets[..., None], axis=-1).sum()


def test_ce_equals_the_softmax_cross_entropy_of_the_outputs():
    run = BlogLSTM(3, 4, seed=2).unroll(rng.standard_normal((3, 5, 3)))
    targets = rng.integers(0, 4, size=(3, 5))
    H = np.stack([o.value for o in run.outputs])
    assert ce(run, targets).item() == pytest.approx(numpy_ce(H, targets), rel=1e-12)


def test_ce_on_paper_outputs_takes_one_class_per_step():
    run = PaperLSTM(2, 3, seed=2).unroll(rng.standard_normal((4, 2)))
    targets = np.array([0, 2, 1, 2])
    z = np.stack([o.value for o in run.outputs])
    assert ce(run.outputs, targets).item() == pytest.approx(numpy_ce(z, targets), rel=1e-12)


def test_mse_is_half_the_summed_squared_error_over_steps_and_entries():
    run = BlogLSTM(2, 3, seed=4).unroll(rng.standard_normal((2, 4, 2)))
    Y = rng.standard_normal((2, 4, 3))
    H = np.stack([o.value for o in run.outputs])
    assert mse(run, Y).item() == pytest.approx(0.5 * ((H - Y) ** 2).sum(), rel=1e-12)


@pytest.mark.parametrize("loss", ["ce", "mse"])
def test_loss_gradients_with_respect_to_the_outputs_match_finite_differences(loss):
    T, r, h = 3, 2, 4
    targets = rng.integers(0, h, size=(T, r)) if loss == "ce" else rng.standard_normal((T, r, h))
    outputs = [rng.standard_normal((r, h)) for _ in range(T)]
    tg.gradcheck(lambda *H: LOSSES[loss](list(H), targets), outputs).raise_if_failed()


def test_loss_nodes_are_named_and_sit_in_the_loss_scope():
    run = PaperLSTM(2, 2).unroll(np.ones((2, 2)))
    L = mse(run, np.zeros((2, 2)))
    assert L.name == "L" and L.scope == ("loss",)
    names = {n.name for n in tg.topological_order(L, needs_grad_only=False) if n.scope == ("loss",)}
    assert {"L_t", "y", "z_h − y"} <= names


def test_seed_001s_printed_loss_takes_the_log_of_non_positive_outputs():
    """Why ce uses H_t as logits: H = O×tanh(C_t) is negative somewhere, so log(H) is NaN."""
    run = BlogLSTM(3, 4, seed=0).unroll(np.random.default_rng(5).standard_normal((2, 8, 3)))
    H = np.stack([o.value for o in run.outputs])
    assert (H <= 0).any() and (np.abs(H) < 1).all()
    with np.errstate(invalid="ignore"):
        assert np.isnan(np.log(H)).any()
    assert np.isfinite(ce(run, np.zeros((2, 8), dtype=int)).item())


def test_bad_targets_are_refused_with_the_expected_shape():
    run = BlogLSTM(3, 4).unroll(np.ones((2, 5, 3)))
    with pytest.raises(tg.ShapeError, match=r"ce: targets must have shape \(2, 5\).*got \(5, 2\)"):
        ce(run, np.zeros((5, 2), dtype=int))
    with pytest.raises(tg.DtypeError, match=r"integer class indices.*astype\(int\)"):
        ce(run, np.zeros((2, 5)))
    with pytest.raises(ValueError, match=r"lie in \[0, 4\).*from 4 to 4"):
        ce(run, np.full((2, 5), 4))
    with pytest.raises(tg.ShapeError, match=r"mse: targets must have shape \(2, 5, 4\).*got \(2, 5, 3\)"):
        mse(run, np.zeros((2, 5, 3)))
    with pytest.raises(ValueError, match="NaN or Inf"):
        mse(run, np.full((2, 5, 4), np.nan))
    with pytest.raises(TypeError, match="non-empty list of Nodes"):
        mse([], np.zeros((0,)))
