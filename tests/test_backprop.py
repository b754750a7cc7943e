"""Reverse mode: order, accumulation, steps, modes. Expected values come from calculus
done by hand in each test, or from finite differences, never from the engine itself."""
import gc
import time

import numpy as np
import pytest

import tinygraph as tg
from finite_differences import central_differences


def test_diamond_sums_both_paths():
    # b = a + a; c = b * b = 4a², so dc/da = 8a and dc/db = 2b
    a = tg.parameter(1.5, name="a")
    b = a + a
    c = b * b
    tg.backward(c)
    assert a.grad == pytest.approx(8 * 1.5)
    assert b.grad == pytest.approx(2 * 3.0)


def test_node_used_as_both_operands_of_an_op():
    x = tg.parameter([1.0, -2.0, 3.0])
    tg.backward((x * x * x).sum())                      # d/dx x³ = 3x²
    np.testing.assert_allclose(x.grad, 3 * np.array([1.0, 4.0, 9.0]))


def test_wide_diamond_of_many_paths():
    x = tg.parameter(2.0)
    total = x
    for _ in range(50):
        total = total + x * x                          # x + 50x²: derivative 1 + 100x
    tg.backward(total)
    assert x.grad == pytest.approx(1 + 100 * 2.0)


def test_chain_of_100000_nodes_builds_and_backpropagates_without_recursion():
    x = tg.parameter(np.array([1.0, 2.0]), name="x")
    start = time.perf_counter()
    y = x
    for _ in range(100_000):
        y = y * 1.0
    tg.backward(y.sum(), retain_grads=False)
    took = time.perf_counter() - start
    np.testing.assert_array_equal(x.grad, [1.0, 1.0])
    assert y.grad is None                                 # intermediates not kept with retain_grads=False
    assert len(tg.topological_order(y)) == 100_001
    print(f"100,000-node chain: build + backward in {took:.2f} s")   # shown with pytest -s


def test_topological_order_puts_every_node_after_its_inputs():
    a, b = tg.parameter(1.0, name="a"), tg.parameter(2.0, name="b")
    c = tg.tensor(3.0, name="c")
    d = a * b
    e = d + c
    f = e * a
    order = tg.topological_order(f)
    assert order[-1] is f
    position = {node: i for i, node in enumerate(order)}
    for node in order:
        for parent in node.inputs:
            if parent in position:
                assert position[parent] < position[node]
    assert c not in position                                     # takes no gradient
    assert c in tg.topological_order(f, needs_grad_only=False)


def test_second_backward_adds_to_the_first_like_pytorch():
    w = tg.parameter([1.0, 2.0])
    loss = (w * w).sum()
    tg.backward(loss)
    first = w.grad.copy()
    tg.backward(loss)
    np.testing.assert_array_equal(w.grad, 2 * first)
    tg.zero_grad(loss)
    assert w.grad is None and loss.grad is None
    tg.backward(loss)
    np.testing.assert_array_equal(w.grad, first)


def test_zero_grad_of_a_list_of_nodes():
    a, b = tg.parameter(1.0), tg.parameter(2.0)
    tg.backward(a * b)
    tg.zero_grad([a])
    assert a.grad is None and b.grad == 1.0


def test_retain_grads_keeps_intermediate_gradients():
    x = tg.parameter(2.0)
    h = tg.tanh(x).named("h")
    y = h * 3.0
    tg.backward(y)
    assert h.grad == pytest.approx(3.0)
    assert x.grad == pytest.approx(3.0 * (1 - np.tanh(2.0) ** 2))


def test_backward_on_a_non_scalar_needs_a_seed():
    x = tg.parameter(np.ones((2, 3)), name="x")
    y = (x * 2.0).named("y")
    with pytest.raises(tg.GraphError, match=r"'y' has shape \(2, 3\).*explicit seed"):
        tg.backward(y)
    seed = np.arange(6.0).reshape(2, 3)
    tg.backward(y, grad=seed)
    np.testing.assert_array_equal(x.grad, 2 * seed)


def test_backward_with_a_seed_of_the_wrong_shape_is_refused():
    x = tg.parameter(np.ones(3), name="x")
    y = (x * 1.0).named("y")
    with pytest.raises(tg.ShapeError, match=r"seed gradient has shape \(2,\).*'y' has shape \(3,\)"):
        tg.backward(y, grad=np.ones(2))


def test_backward_from_a_node_without_parameters_is_refused():
    y = tg.tensor([1.0]) * 2.0
    with pytest.raises(tg.GraphError, match="does not depend on any parameter"):
        tg.backward(y)


def test_no_grad_records_nothing():
    w = tg.parameter([1.0, 2.0])
    with tg.no_grad():
        y = w * 3.0
    assert y.op is None and y.inputs == () and not y.requires_grad
    np.testing.assert_array_equal(y.value, [3.0, 6.0])
    z = w * 3.0                                       # recording is back on after the block
    assert z.op is not None and z.requires_grad


def test_no_grad_restores_recording_after_an_error():
    with pytest.raises(RuntimeError):
        with tg.no_grad():
            raise RuntimeError("inside")
    assert (tg.parameter(1.0) * 2.0).requires_grad


def test_detach_stops_the_gradient():
    x = tg.parameter(3.0)
    y = x * x
    d = tg.detach(y)
    assert d.op is None and not d.requires_grad and d.value == 9.0
    z = d * x + y                                      # dz/dx = d + 2x (not 2x·x + d)
    tg.backward(z)
    assert x.grad == pytest.approx(9.0 + 6.0)


def test_backward_steps_yields_one_step_per_node_in_backward_order():
    x = tg.parameter(np.array([0.5, -1.0]), name="x")
    w = tg.parameter(np.array([2.0, 3.0]), name="w")
    h = tg.tanh(x * w).named("h")
    loss = (h * h).sum().named("loss")
    steps = list(tg.backward_steps(loss))
    nodes = [step.node for step in steps]
    assert len(nodes) == len(set(nodes)) == len(tg.topological_order(loss))
    assert nodes[0] is loss and [s.index for s in steps] == list(range(len(steps)))
    seen = set()
    for step in steps:                                  # a node's step comes after all its consumers'
        for parent in step.node.inputs:
            assert parent not in seen
        seen.add(step.node)
    leaf_step = next(s for s in steps if s.node is x)
    assert leaf_step.input_grads == ()
    h_step = next(s for s in steps if s.node is h)
    np.testing.assert_allclose(h_step.grad, 2 * np.tanh(x.value * w.value))


def test_backward_steps_gives_exactly_what_backward_gives():
    def build():
        rng = np.random.default_rng(0)
        W = tg.parameter(rng.standard_normal((3, 4)), name="W")
        b = tg.parameter(rng.standard_normal(4), name="b")
        X = tg.tensor(rng.standard_normal((5, 3)), name="X")
        H = tg.sigmoid(X @ W + b).named("H")
        return [W, b, H], tg.cross_entropy(H, np.array([0, 1, 2, 3, 0]))

    nodes_a, loss_a = build()
    tg.backward(loss_a)
    nodes_b, loss_b = build()
    steps = {step.node: step for step in tg.backward_steps(loss_b)}
    for a, b in zip(nodes_a, nodes_b):
        np.testing.assert_array_equal(a.grad, b.grad)
        np.testing.assert_array_equal(steps[b].grad, a.grad)


def test_step_input_grads_sum_to_each_inputs_gradient():
    a = tg.parameter(np.array([1.0, 2.0]), name="a")
    b = (a * 3.0).named("b")
    c = (a * b).named("c")
    loss = c.sum()
    sent = {}
    for step in tg.backward_steps(loss):
        for parent, g in zip(step.node.inputs, step.input_grads):
            if g is not None:
                sent[parent] = sent.get(parent, 0) + g
    np.testing.assert_allclose(sent[a], a.grad)
    np.testing.assert_allclose(a.grad, 6 * a.value)   # c = 3a², dc/da = 6a


def test_summing_many_contributions_changes_no_array_a_step_has_shown():
    # x is used five times; its pending sum is added to in place, which must never touch
    # an array that a step has already handed out (input_grads, grad)
    x = tg.parameter(np.array([0.5, -1.0, 2.0]), name="x")
    parts = [tg.tanh(x * float(k)) for k in range(1, 6)]
    y = tg.stack(parts).sum() + (x * x).sum()
    shown = []
    for step in tg.backward_steps(y, accumulate=False):
        shown.append([step.grad] + [g for g in step.input_grads if g is not None])
        shown[-1] = [(a, a.copy()) for a in shown[-1]]
    for arrays in shown:
        for array, copy in arrays:
            np.testing.assert_array_equal(array, copy)
    expected = sum(k * (1 - np.tanh(k * x.value) ** 2) for k in range(1, 6)) + 2 * x.value
    np.testing.assert_allclose(tg.grad(y, x), expected, rtol=1e-12)


def test_gradients_passed_to_steps_are_read_only():
    a = tg.parameter(np.array([1.0, 2.0]))
    for step in tg.backward_steps((a * a).sum(), accumulate=False):
        with pytest.raises(ValueError, match="read-only"):
            step.grad[...] = 0
        for g in step.input_grads:
            if g is not None:
                with pytest.raises(ValueError, match="read-only"):
                    g[...] = 0


def test_gradients_are_read_only_arrays_even_for_scalars():
    # a + a of two 0-d arrays is a numpy scalar in numpy; a gradient stays a 0-d array
    a, b = tg.parameter(2.0, name="a"), tg.parameter(3.0, name="b")
    y = a * b + a
    for _ in range(2):                                   # the first call and an accumulating one
        tg.backward(y)
        for node in (a, b, y):
            assert type(node.grad) is np.ndarray and node.grad.shape == ()
            assert not node.grad.flags.writeable
    assert (a.grad, b.grad) == (8.0, 4.0)                 # twice (b + 1, a)
    assert type(tg.grad(y, a)) is np.ndarray


def test_grad_with_respect_to_intermediates_matches_finite_differences():
    x_value = np.array([0.3, -0.7, 1.1])
    x = tg.parameter(x_value, name="x")
    h = tg.tanh(x).named("h")
    y = (h * h * 2.0 + h).sum()
    g_h, g_x = tg.grad(y, [h, x])
    # y as a function of h alone, and of x alone
    (fd_h,) = central_differences(lambda v: float((v * v * 2 + v).sum()), [np.tanh(x_value)])
    (fd_x,) = central_differences(lambda v: float((np.tanh(v) ** 2 * 2 + np.tanh(v)).sum()), [x_value])
    np.testing.assert_allclose(g_h, fd_h, rtol=1e-7)
    np.testing.assert_allclose(g_x, fd_x, rtol=1e-7)
    assert x.grad is None and h.grad is None                 # tg.grad touches no .grad


def test_grad_of_an_unrelated_parameter_is_zero_and_a_tensor_is_refused():
    x, unused = tg.parameter(2.0), tg.parameter(np.ones(3))
    t = tg.tensor(5.0, name="t")
    y = x * t
    g_x, g_unused = tg.grad(y, [x, unused])
    assert g_x == 5.0
    np.testing.assert_array_equal(g_unused, np.zeros(3))
    with pytest.raises(tg.GraphError, match="'t'.*takes no gradient"):
        tg.grad(y, t)


def test_retain_grads_false_keeps_only_leaf_gradients():
    x = tg.parameter(1.0)
    h = x * 2.0
    tg.backward(h * h, retain_grads=False)
    assert h.grad is None and x.grad == 8.0


# --- anomaly mode ------------------------------------------------------------------------

def test_anomaly_mode_names_the_forward_op_that_made_a_nan():
    x = tg.parameter([1.0, -1.0], name="x")
    with tg.anomaly_mode():
        # no numpy RuntimeWarning first (pytest would turn it into an error): the AnomalyError speaks
        with pytest.raises(tg.AnomalyError, match=r"log of 'x' \(2,\) produced NaN/Inf \(output 'log x'.*1 NaN"):
            tg.log(x, name="log x")


def test_anomaly_mode_names_the_backward_op_that_sent_a_nan():
    # sqrt(x) = x ** 0.5 is finite at 0 but its derivative is not
    x = tg.parameter([0.0, 4.0], name="x")
    with tg.anomaly_mode():
        root = (x ** 0.5).named("root")
        with pytest.raises(tg.AnomalyError, match=r"backward of pow\(p=0.5\) \(output 'root' \(2,\)\).*to 'x' \(2,\)"):
            tg.backward(root.sum())


def test_without_anomaly_mode_nan_passes_silently_as_in_numpy():
    x = tg.parameter([-1.0])
    with np.errstate(invalid="ignore"):
        y = tg.log(x)
    assert np.isnan(y.value[0])


def test_anomaly_mode_is_off_again_after_the_block():
    with tg.anomaly_mode():
        pass
    with np.errstate(invalid="ignore"):
        assert np.isnan(tg.log(tg.parameter(-1.0)).item())


def test_backward_leaves_the_garbage_collector_as_it_found_it():
    x = tg.parameter(2.0)
    assert gc.isenabled()
    tg.backward(x * x)
    assert gc.isenabled()
    gc.disable()
    try:
        tg.backward(x * x)
        assert not gc.isenabled()
    finally:
        gc.enable()
    with pytest.raises(tg.GraphError):
        tg.backward(x * np.ones(2))                    # fails inside backward: still restored
    assert gc.isenabled()
    assert tg.grad(x * x, x) == 4.0 and gc.isenabled()
