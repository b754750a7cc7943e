"""Forward mode (tg.jvp): each op's JVP rule against finite differences over its whole
argument table, and ⟨u, J v⟩ = ⟨Jᵀ u, v⟩ against reverse mode on random graphs."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygraph as tg
from op_cases import all_cases, call_numpy, call_tinygraph, case_id, input_values
from test_properties import recipes, run, sinks
from tinygraph.ops import REGISTRY


@pytest.mark.parametrize("case", all_cases(), ids=case_id)
def test_every_ops_jvp_matches_finite_differences(case):
    name, shapes, kwargs = case
    entry = REGISTRY[name]
    rng = np.random.default_rng(11)
    arrays = input_values(entry, shapes, rng)
    v = [rng.standard_normal(a.shape) for a in arrays]
    out, tangent = tg.jvp(lambda *xs: call_tinygraph(entry, xs, kwargs), arrays, v)
    np.testing.assert_allclose(out.value, call_numpy(entry, arrays, kwargs), rtol=1e-12, atol=1e-12)
    eps = 1e-6
    plus = call_numpy(entry, [a + eps * d for a, d in zip(arrays, v)], kwargs)
    minus = call_numpy(entry, [a - eps * d for a, d in zip(arrays, v)], kwargs)
    np.testing.assert_allclose(tangent, (plus - minus) / (2 * eps), rtol=1e-6, atol=1e-7)


def _outputs(leaves, steps):
    def fn(*nodes):
        values = run(list(nodes), steps, "tg")
        return tuple(values[k] for k in sinks(leaves, steps))
    return fn


@settings(max_examples=150)
@given(recipes(), st.integers(0, 2 ** 16))
def test_forward_and_reverse_mode_agree_through_the_dot_product_identity(recipe, seed):
    leaves, steps = recipe
    rng = np.random.default_rng(seed)
    v = [rng.standard_normal(np.shape(a)) for a in leaves]
    outs, Jv = tg.jvp(_outputs(leaves, steps), leaves, v)
    u = [rng.standard_normal(o.shape) for o in outs]
    params = [tg.parameter(a) for a in leaves]
    graph_outs = _outputs(leaves, steps)(*params)
    total = None
    for o, ui in zip(graph_outs, u):
        if o.requires_grad:
            term = (o * ui).sum()
            total = term if total is None else total + term
    JTu = tg.grad(total, params) if total is not None else [np.zeros(np.shape(a)) for a in leaves]
    left = sum(float(np.sum(ui * t)) for ui, t in zip(u, Jv))
    right = sum(float(np.sum(g * vi)) for g, vi in zip(JTu, v))
    assert abs(left - right) <= 1e-9 * max(1.0, abs(left), abs(right))


def test_jvp_keeps_no_graph_and_leaves_the_inputs_alone():
    x = np.array([1.0, 2.0])
    out, t = tg.jvp(lambda x: (x * x).sum(), [x], [np.ones(2)])
    assert out.op is None and not out.requires_grad and float(t) == 6.0
    assert x.flags.writeable


def test_jvp_through_an_lstm_matches_the_directional_derivative():
    from lstm.cells import BlogLSTM
    cell = BlogLSTM(3, 4, seed=0)
    X = np.random.default_rng(1).standard_normal((3, 2, 3))
    dX = np.random.default_rng(2).standard_normal(X.shape)

    def last_output(X):
        return cell.unroll(X).outputs[-1].value
    _, tangent = tg.jvp(lambda X: tg.stack(cell.unroll([X[t] for t in range(3)]).outputs)[-1], [X], [dX])
    numeric = (last_output(X + 1e-6 * dX) - last_output(X - 1e-6 * dX)) / 2e-6
    np.testing.assert_allclose(tangent, numeric, rtol=1e-6, atol=1e-9)


def test_jvp_refuses_a_tangent_of_the_wrong_shape_and_an_op_without_a_rule():
    with pytest.raises(tg.ShapeError, match=r"jvp: tangent 0 has shape \(3,\) but input"):
        tg.jvp(tg.tanh, [np.ones(2)], [np.ones(3)])
    from lstm.fused_ops import lstm_step
    arrays = [np.ones(s) for s in [(1, 2), (2, 1, 3), (5, 12), (12,)]]
    with pytest.raises(tg.GraphError, match="lstm_step.*has no jvp rule"):
        tg.jvp(lstm_step, arrays, [np.ones_like(a) for a in arrays])
