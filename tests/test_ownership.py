"""The ownership rule: an array in the graph cannot change under it, and the caller's
arrays are never frozen or changed (docs/engine.md, "The graph owns its values").

Each case wrote to an array after it entered the graph and got gradients computed from
data that no longer matched the values used (or found the caller's array frozen)."""
import numpy as np
import pytest

import tinygraph as tg
from lstm.fused_cell import FusedBlogLSTM


def test_a_parameter_made_from_a_view_does_not_see_later_writes_to_the_base():
    base = np.array([1.0, 2.0, 3.0])
    w = tg.parameter(base[:2], name="w")
    loss = (w * w).sum()
    base[0] = 100.0
    tg.backward(loss)
    np.testing.assert_array_equal(w.value, [1.0, 2.0])
    np.testing.assert_array_equal(w.grad, [2.0, 4.0])         # 2w at the value the loss used
    assert base.flags.writeable


def test_a_constant_view_mixed_into_an_op_does_not_see_later_writes_to_the_base():
    base = np.array([1.0, 2.0, 3.0])
    w = tg.parameter([3.0, 4.0], name="w")
    loss = (w * base[:2]).sum()
    base[:2] = -7.0
    tg.backward(loss)
    np.testing.assert_array_equal(w.grad, [1.0, 2.0])
    assert loss.item() == 11.0 and base.flags.writeable


def test_an_array_handed_in_stays_writable_and_unchanged():
    data = np.array([[1.0, 2.0]])
    for make in (tg.tensor, tg.parameter, lambda a: tg.parameter([0.0, 0.0]) + a):
        make(data)
        assert data.flags.writeable
    np.testing.assert_array_equal(data, [[1.0, 2.0]])


def test_an_array_nothing_can_write_to_is_used_without_a_copy():
    frozen = np.array([1.0, 2.0])
    frozen.setflags(write=False)
    assert tg.tensor(frozen).value is frozen
    assert tg.tensor(frozen[:1]).value.base is frozen          # a read-only view of a read-only array
    w = tg.parameter([1.0, 2.0])
    assert tg.tensor(w.value).value is w.value                 # a value of the graph itself


def test_a_read_only_view_of_a_writable_base_is_copied():
    base = np.array([1.0, 2.0])
    view = base[:]
    view.setflags(write=False)
    x = tg.tensor(view)
    base[0] = 9.0
    assert x.value[0] == 1.0


@pytest.mark.parametrize("method", ["unroll", "sequence"])
def test_the_fused_lstm_leaves_the_callers_inputs_writable_and_unused(method):
    cell = FusedBlogLSTM(3, 2, seed=0)
    X = np.random.default_rng(0).standard_normal((4, 2, 3))
    run = getattr(cell, method)(X)
    H = run.H if method == "sequence" else tg.stack(run.outputs)
    loss = (H * H).sum()
    expected = tg.grad(loss, cell.parameters()["W_ix"]).copy()
    assert X.flags.writeable
    X[:] = 50.0                                                # the caller reuses their buffer
    np.testing.assert_array_equal(tg.grad(loss, cell.parameters()["W_ix"]), expected)


def test_initial_state_arrays_stay_the_callers():
    cell = FusedBlogLSTM(3, 2, seed=0)
    H0, C0 = np.ones((2, 2)), np.zeros((2, 2))
    run = cell.unroll(np.ones((2, 2, 3)), initial_state={"H0": H0, "C0": C0})
    tg.backward(tg.stack(run.outputs).sum())
    assert H0.flags.writeable and C0.flags.writeable
    np.testing.assert_array_equal(H0, 1.0)


def test_backward_after_assign_to_a_used_leaf_raises_and_names_the_leaf():
    w = tg.parameter([1.0, 2.0], name="w")
    loss = (w * w).sum().named("loss")
    w.assign([5.0, 5.0])
    with pytest.raises(tg.GraphError, match=r"'w' \(2,\) was given a new value \(assign\) after unnamed mul \(2,\) was "
                                            r"computed from it by mul"):
        tg.backward(loss)
    with pytest.raises(tg.GraphError, match="Build the graph again after assigning"):
        tg.grad(loss, w)
    tg.backward((w * w).sum())                                 # a graph built after assign is fine
    np.testing.assert_array_equal(w.grad, [10.0, 10.0])


def test_assign_between_training_steps_is_fine():
    w = tg.parameter([1.0], name="w")
    opt = tg.optim.SGD([w], lr=0.1)
    for _ in range(3):
        loss = (w * w).sum()
        tg.zero_grad([w])
        tg.backward(loss)
        opt.step()
    np.testing.assert_allclose(w.value, [0.8 ** 3])


def test_masked_arrays_are_refused_instead_of_losing_their_mask():
    masked = np.ma.masked_array([1.0, 2.0], mask=[False, True])
    for make in (tg.tensor, tg.parameter, lambda a: tg.parameter([1.0, 1.0]) * a):
        with pytest.raises(tg.DtypeError, match="masked arrays are refused"):
            make(masked)
