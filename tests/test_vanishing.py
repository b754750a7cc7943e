"""lstm.vanishing: the per-step Jacobians notebook 05 is built on, checked two other ways."""
import numpy as np
import pytest

from lstm import vanishing


def one_step_state(cell, x, state):
    """The new state of one step as one vector ((C, H) for the LSTM), by a plain forward."""
    nodes = cell.step(x, state)
    keys = [k for k in ("C0", "H0", "h0") if k in cell.STATE]
    return np.concatenate([nodes[cell.STATE[k]].value.ravel() for k in keys])


@pytest.mark.parametrize("variant, options", [("blog", {}), ("blog", {"forget_bias": 3.0}),
                                              ("rnn", {"recurrent_scale": 4.0})])
def test_step_jacobian_equals_central_differences(variant, options):
    cell = vanishing.make(variant, hidden=5, d=3, **options)
    rng = np.random.default_rng(1)
    x = rng.normal(size=(1, 3))
    keys = [k for k in ("C0", "H0", "h0") if k in cell.STATE]
    state = {k: rng.normal(scale=0.5, size=(1, 5)) for k in keys}
    J = vanishing.step_jacobian(cell, x, state)
    flat = np.concatenate([state[k].ravel() for k in keys])
    numeric = np.zeros_like(J)
    eps = 1e-6
    for j in range(flat.size):
        up, down = flat.copy(), flat.copy()
        up[j] += eps
        down[j] -= eps
        split = lambda v: {k: v[i * 5:(i + 1) * 5].reshape(1, 5) for i, k in enumerate(keys)}  # noqa: E731
        numeric[:, j] = (one_step_state(cell, x, split(up)) - one_step_state(cell, x, split(down))) / (2 * eps)
    np.testing.assert_allclose(J, numeric, atol=1e-8)


def test_lstm_pipe_block_is_diag_F_and_rnn_jacobian_is_the_closed_form():
    lstm = vanishing.make("blog", hidden=4, d=2)
    X = vanishing.inputs(T=3, d=2)
    run = lstm.unroll(X)
    J = vanishing.step_jacobians(lstm, X)
    for t in range(3):
        np.testing.assert_allclose(J[t][:4, :4], np.diag(run.steps[t]["F"].value[0]), atol=1e-15)
    rnn = vanishing.make("rnn", hidden=4, d=2)
    run = rnn.unroll(X)
    W_h = rnn.parameters()["W_h"].value
    for t, J_t in enumerate(vanishing.step_jacobians(rnn, X)):
        h = run.steps[t]["h_t"].value[0]
        np.testing.assert_allclose(J_t, np.diag(1 - h ** 2) @ W_h.T, atol=1e-14)   # rows: ∂h_t[i]/∂h_t-1


def test_the_products_rate_bounds_the_measured_decay_and_the_notebooks_claims_hold():
    found = vanishing.measure()
    rows = {row[0]: row[1:] for row in vanishing.summary_rows(found)}
    for label, (at_loss, at_1, factor, rate, mean_J) in rows.items():
        assert factor < rate + 0.005, label
    assert rows["VanillaRNN"][1] < 1e-9 and rows["BlogLSTM, b_f ≈ 0"][1] < 1e-9     # both vanish
    assert 0.01 < rows["BlogLSTM, b_f = 3"][1] / rows["BlogLSTM, b_f = 3"][0] < 0.1  # not intact
    assert rows["BlogLSTM, b_f = 3"][2] > 1 and rows["VanillaRNN, W_h × 4"][2] > 1  # grow going back
    assert found["BlogLSTM, b_f ≈ 0"]["mean_F"] == pytest.approx(0.51, abs=0.01)
    assert 0.6 < rows["BlogLSTM, b_f ≈ 0"][2] < 0.65                                 # not ×0.5
