"""Node: frozen values and gradients, the dtype rule, float32 end to end, names and scopes."""
import numpy as np
import pytest

import tinygraph as tg


# --- read-only values and gradients ---------------------------------------------------------

def test_values_are_read_only_so_an_array_cannot_change_after_use():
    data = np.array([1.0, 2.0])
    w = tg.parameter(data)
    y = w * 2.0
    data[0] = 5.0                               # the caller's array stays theirs: the graph has a copy
    np.testing.assert_array_equal(w.value, [1.0, 2.0])
    with pytest.raises(ValueError, match="read-only"):
        w.value[0] = 5.0
    with pytest.raises(ValueError, match="read-only"):
        y.value[0] = 5.0


def test_gradients_are_read_only():
    w = tg.parameter(np.array([1.0, 2.0]))
    tg.backward((w * w).sum())
    with pytest.raises(ValueError, match="read-only"):
        w.grad[0] = 0.0
    with pytest.raises(ValueError, match="read-only"):
        w.grad += 1.0                           # in-place add on a frozen array


def test_assign_replaces_a_leaf_value_and_keeps_it_frozen():
    w = tg.parameter(np.zeros(2), name="w")
    new = np.array([1.0, 2.0])
    w.assign(new)
    new[0] = 9.0                                # assign copied the caller's writable array
    np.testing.assert_array_equal(w.value, [1.0, 2.0])
    assert not w.value.flags.writeable
    with pytest.raises(tg.ShapeError, match=r"'w' has shape \(2,\), new value has shape \(3,\)"):
        w.assign(np.zeros(3))
    with pytest.raises(ValueError, match="only leaves can be assigned"):
        (w * 2.0).assign(np.zeros(2))


def test_assign_keeps_the_dtype_of_the_node():
    w = tg.parameter(np.zeros(2, np.float32))
    w.assign(np.array([0.5, 1.5]))              # float64 data, cast to the node's float32
    assert w.dtype == np.float32


# --- the dtype rule ------------------------------------------------------------------------

@pytest.mark.parametrize("data", [[1, 2, 3], np.array([1, 2, 3], dtype=np.int32), np.array([True, False]),
                                  np.array([1, 2], dtype=np.uint8), 3, True, np.float16(1.5)], ids=repr)
def test_int_bool_and_other_real_data_become_float64(data):
    node = tg.tensor(data)
    assert node.dtype == np.float64
    np.testing.assert_array_equal(node.value, np.asarray(data, dtype=np.float64))


@pytest.mark.parametrize("data", [np.array([1 + 2j]), np.array(["a"]), np.array([object()]), 1j], ids=["complex", "string", "object", "python-complex"])
def test_complex_string_and_object_data_is_refused(data):
    with pytest.raises(tg.DtypeError, match=r"tensor 'x'.*real floating point.*got dtype"):
        tg.tensor(data, name="x")
    with pytest.raises(tg.DtypeError, match=r"parameter 'x'"):
        tg.parameter(data, name="x")


def test_explicit_dtype_must_be_float64_or_float32():
    assert tg.tensor([1, 2], dtype="float32").dtype == np.float32
    with pytest.raises(tg.DtypeError, match="float64 or float32"):
        tg.tensor([1, 2], dtype="int64")


def test_float_arrays_keep_their_dtype_and_read_only_ones_are_kept_without_a_copy():
    a = np.ones(3)
    assert tg.tensor(a).value.dtype == np.float64 and a.flags.writeable
    b = np.ones(3, np.float32)
    b.setflags(write=False)
    assert tg.parameter(b).value is b


def test_a_float32_graph_keeps_float32_values_and_gradients():
    rng = np.random.default_rng(0)
    W = tg.parameter(rng.standard_normal((3, 4)).astype(np.float32), name="W")
    b = tg.parameter(np.zeros(4, np.float32), name="b")
    X = tg.tensor(rng.standard_normal((5, 3)).astype(np.float32))
    scale = np.sqrt(3.0)                                        # a numpy float64 scalar
    H = tg.tanh(X @ W / scale + b)
    G = tg.sigmoid(H * 2 - 1) ** 2 + tg.exp(-H) + tg.relu(H) + tg.log(1.5 + H)
    Z = tg.concat([G.reshape(-1), 1.0])[:-1].reshape(5, 4).T.mean(axis=0, keepdims=True)
    loss = tg.cross_entropy(Z, np.array([2])) + tg.stack([Z.sum(), H[0, 0]]).sum()
    for node in tg.topological_order(loss, needs_grad_only=False):
        assert node.dtype == np.float32, node
    tg.backward(loss)
    for node in tg.topological_order(loss):
        assert node.grad.dtype == np.float32, node


def test_float32_parameter_in_a_float64_op_promotes_the_value_and_keeps_a_float32_gradient():
    w32 = tg.parameter(np.array([1.0, 2.0], np.float32))
    x64 = tg.tensor(np.array([3.0, 4.0]))
    y = w32 * x64
    assert y.dtype == np.float64                                # numpy's promotion
    tg.backward(y.sum())
    assert w32.grad.dtype == np.float32
    np.testing.assert_array_equal(w32.grad, [3.0, 4.0])


def test_constants_without_a_precision_of_their_own_take_the_nodes_dtype():
    x = tg.parameter(np.ones(2, np.float32))
    for constant in [2, 2.5, True, np.float64(2.5), np.int64(3), np.array([1, 2]), [1, 2]]:
        assert (x * constant).dtype == np.float32, constant
        assert (constant - x).dtype == np.float32, constant
    assert (x * np.ones(2)).dtype == np.float64                 # a float64 array keeps its precision


# --- the Node object -------------------------------------------------------------------------

def test_node_properties_and_label():
    w = tg.parameter(np.zeros((2, 3)), name="W")
    assert (w.shape, w.ndim, w.size, w.dtype, w.is_leaf, w.requires_grad) == ((2, 3), 2, 6, np.float64, True, True)
    assert w.label() == "W" and (w * 2.0).label() == "mul" and tg.tensor(1.0).label() == "?"
    assert (w * 2.0).named("F").label() == "F"
    assert len(w) == 2 and w[0].shape == (3,)
    assert "W" in repr(w) and "parameter" in repr(w)
    assert tg.tensor(2.5).item() == 2.5


def test_truth_value_and_iteration_are_refused():
    w = tg.parameter([1.0, 2.0], name="w")
    with pytest.raises(TypeError, match="'w' is ambiguous"):
        bool(w)
    with pytest.raises(TypeError, match="'w' is not iterable"):
        list(w)


def test_numpy_arrays_and_scalars_on_the_left_build_nodes():
    x = tg.parameter([1.0, 2.0])
    for y in (np.ones(2) * x, np.float64(3.0) + x, np.array([1.0, 1.0]) - x, np.eye(2) @ x):
        assert isinstance(y, tg.Node) and y.requires_grad


def test_numpy_functions_do_not_silently_drop_the_graph():
    x = tg.parameter([1.0, 2.0], name="x")
    with pytest.raises(TypeError):
        np.tanh(x)
    for convert in (np.asarray, lambda n: np.concatenate([n, n]), lambda n: np.array([n])):
        with pytest.raises(TypeError, match=r"numpy cannot take node 'x' \(2,\) as an array: that would drop"):
            convert(x)


def test_numpy_sum_and_mean_of_a_node_build_graph_nodes():
    x = tg.parameter([1.0, 2.0, 6.0], name="x")
    total, average = np.sum(x), np.mean(x, axis=0)
    assert isinstance(total, tg.Node) and total.op.name == "sum" and total.item() == 9.0
    assert average.op.name == "mean" and average.item() == 3.0
    assert x.mean(axis=0, keepdims=True).shape == (1,) and x.sum(0, True).shape == (1,)
    with pytest.raises(TypeError, match="sum of node 'x': dtype= and out= are not supported"):
        np.sum(x, dtype=np.float32)


def test_float_of_a_one_element_node():
    assert float(tg.parameter([2.5])) == 2.5
    with pytest.raises(ValueError):
        float(tg.parameter([1.0, 2.0]))


def test_scalar_constants_are_shared_read_only_arrays():
    x = tg.parameter([1.0, 2.0])
    a, b = x * 0.5, x * 0.5
    assert a.inputs[1].value is b.inputs[1].value
    assert not a.inputs[1].value.flags.writeable
    assert a.inputs[1] is not b.inputs[1]                        # but separate nodes, for drawings
    # zeros are not shared: -0.0 and 0.0 compare equal but are different numbers
    assert np.signbit((x * -0.0).inputs[1].value) and not np.signbit((x * 0.0).inputs[1].value)


# --- scopes -------------------------------------------------------------------------------------

def test_scopes_nest_and_tag_every_node_made_inside():
    x = tg.parameter(1.0, name="x")
    with tg.scope("t=3"):
        a = x * 2.0
        with tg.scope("forget gate"):
            F = tg.sigmoid(a)
        b = F + 1.0
    c = b * 1.0
    assert x.scope == () and c.scope == ()
    assert a.scope == ("t=3",) and b.scope == ("t=3",)
    assert F.scope == ("t=3", "forget gate")
    assert tg.scope_path(F) == "t=3/forget gate" and tg.scope_path(("a", "b"), sep=" > ") == "a > b"


def test_scope_name_must_be_a_non_empty_string():
    with pytest.raises(TypeError, match="non-empty string"):
        with tg.scope(""):
            pass
