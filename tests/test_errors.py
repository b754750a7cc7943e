"""Bad input gets a tinygraph error that names the op, the nodes and their shapes, raised
when the op is built, never a numpy traceback from deep inside or a wrong number."""
import numpy as np
import pytest

import tinygraph as tg


@pytest.fixture
def W():
    return tg.parameter(np.ones((3, 4)), name="W")


@pytest.fixture
def x():
    return tg.parameter(np.ones(5), name="x")


@pytest.mark.parametrize("op", [tg.add, tg.sub, tg.mul, tg.div])
def test_broadcast_mismatch_names_op_nodes_and_shapes(op, W, x):
    with pytest.raises(tg.ShapeError, match=rf"{op.__name__}: inputs 'W' \(3, 4\), 'x' \(5,\) do not fit: "
                                            r"shapes \(3, 4\) and \(5,\) do not broadcast"):
        op(W, x)


def test_operator_mismatch_with_a_numpy_constant(W):
    with pytest.raises(tg.ShapeError, match=r"add: inputs 'W' \(3, 4\), '\?' \(2,\) do not fit"):
        W + np.ones(2)


def test_shape_errors_are_value_errors_and_tinygraph_errors(W, x):
    with pytest.raises(ValueError):
        W * x
    with pytest.raises(tg.TinygraphError):
        W * x


def test_matmul_inner_dimension_mismatch(W, x):
    with pytest.raises(tg.ShapeError, match=r"matmul: inputs 'W' \(3, 4\), 'x' \(5,\) do not fit: "
                                            r"inner dimensions differ: 4 \(last axis of 'W'\) vs 5 of 'x'"):
        W @ x


def test_matmul_of_a_scalar():
    s = tg.parameter(2.0, name="s")
    with pytest.raises(tg.ShapeError, match="matmul.*at least one dimension"):
        s @ s


def test_matmul_batch_axes_that_do_not_broadcast():
    a = tg.parameter(np.ones((2, 3, 4)), name="a")
    b = tg.parameter(np.ones((3, 4, 5)), name="b")
    with pytest.raises(tg.ShapeError, match=r"leading \(batch\) axes \(2,\) and \(3,\) do not broadcast"):
        a @ b


def test_reshape_to_a_wrong_size(W):
    with pytest.raises(tg.ShapeError, match=r"reshape\(5, 2\): inputs 'W' \(3, 4\).*cannot reshape 12 elements"):
        W.reshape(5, 2)


def test_reduction_over_a_missing_axis(W):
    with pytest.raises(tg.ShapeError, match=r"sum\(axis=2\): inputs 'W' \(3, 4\) do not fit"):
        tg.sum(W, axis=2)


def test_transpose_with_wrong_axes(W):
    with pytest.raises(tg.ShapeError, match=r"transpose\(0, 0\): inputs 'W' \(3, 4\)"):
        tg.transpose(W, (0, 0))


def test_concat_of_parts_that_do_not_fit(W, x):
    with pytest.raises(tg.ShapeError, match=r"concat: inputs 'W' \(3, 4\), 'x' \(5,\) do not fit: all inputs "
                                            r"must have the same number of axes"):
        tg.concat([W, x])


def test_concat_of_a_scalar_with_a_matrix(W):
    with pytest.raises(tg.ShapeError, match=r"concat: a scalar can only be joined to 1-D parts; got 'W' \(3, 4\)"):
        tg.concat([W, 1.0])


def test_concat_and_stack_need_a_list(x):
    with pytest.raises(TypeError, match="concat: expects a non-empty list"):
        tg.concat(x)
    with pytest.raises(TypeError, match="stack: expects a non-empty list"):
        tg.stack([])


def test_stack_of_different_shapes(W, x):
    with pytest.raises(tg.ShapeError, match=r"stack: inputs 'W' \(3, 4\), 'x' \(5,\).*same shape"):
        tg.stack([W, x])


def test_index_out_of_range(x):
    with pytest.raises(tg.ShapeError, match=r"getitem\[7\]: inputs 'x' \(5,\) do not fit: index 7 is out of bounds"):
        x[7]


def test_too_many_indices(x):
    with pytest.raises(tg.ShapeError, match=r"getitem.*'x' \(5,\).*too many indices"):
        x[0, 1]


def test_node_index_is_refused(x):
    i = tg.tensor(1.0, name="i")
    with pytest.raises(TypeError, match=r"getitem: 'x' indexed with a Node"):
        x[i]
    with pytest.raises(TypeError, match=r"getitem: 'x' indexed with a Node"):
        x[i, 0]


def test_float_index_array_is_refused(x):
    with pytest.raises(tg.ShapeError, match=r"getitem.*'x' \(5,\).*integer"):
        x[np.array([0.0, 1.0])]


def test_complex_and_object_constants_are_refused_naming_the_op(x):
    with pytest.raises(tg.DtypeError, match=r"mul: second operand.*complex128"):
        x * np.array([1j] * 5)
    with pytest.raises(tg.DtypeError, match=r"add: first operand.*dtype object"):
        np.array([object()] * 5, dtype=object).tolist() + x
    with pytest.raises(tg.DtypeError, match=r"mul: second operand.*complex"):
        x * 1j


def test_string_constant_is_refused(x):
    with pytest.raises(tg.DtypeError, match=r"sub: second operand.*<U"):
        tg.sub(x, "abc")


def test_node_exponent_is_refused(x):
    with pytest.raises(TypeError, match="power: the exponent of 'x' must be a constant real number"):
        x ** x
    with pytest.raises(TypeError, match="exponent must be a constant"):
        2.0 ** x


@pytest.mark.parametrize("targets,error,message", [
    (np.array([0.0, 1.0]), tg.DtypeError, r"integer array of class indices, got dtype float64"),
    (np.array([0, 1, 2]), tg.ShapeError, r"logits 'z' \(2, 3\) need targets of shape \(2,\).*got \(3,\)"),
    (np.array([0, 3]), ValueError, r"must lie in \[0, 3\).*from 0 to 3"),
    (np.array([-1, 0]), ValueError, r"must lie in \[0, 3\)"),
])
def test_cross_entropy_bad_targets(targets, error, message):
    z = tg.parameter(np.zeros((2, 3)), name="z")
    with pytest.raises(error, match=message):
        tg.cross_entropy(z, targets)


def test_cross_entropy_bad_reduction():
    z = tg.parameter(np.zeros((2, 3)), name="z")
    with pytest.raises(ValueError, match="reduction must be 'sum' or 'mean'"):
        tg.cross_entropy(z, [0, 1], reduction="max")


# --- user-defined ops through tg.apply ------------------------------------------------------

class Square(tg.Op):
    name, symbol, rule = "square", "²", r"\bar x = 2 x \bar y"

    def forward(self, x):
        return x * x

    def backward(self, g, out, x):
        return (2 * x * g,)


def test_a_new_op_joins_the_graph_through_apply():
    x = tg.parameter(np.array([1.0, -3.0]), name="x")
    y = tg.apply(Square(), (x,), name="x²")
    tg.backward(y.sum())
    np.testing.assert_array_equal(x.grad, [2.0, -6.0])


def test_apply_refuses_non_nodes_and_reused_op_instances():
    x = tg.parameter(np.ones(2), name="x")
    with pytest.raises(TypeError, match="apply square: inputs must be Nodes"):
        tg.apply(Square(), (np.ones(2),))
    op = Square()
    tg.apply(op, (x,))
    with pytest.raises(tg.GraphError, match="already made a node"):
        tg.apply(op, (x,))


def test_an_op_returning_integers_is_refused():
    class Sign(Square):
        name = "sign"

        def forward(self, x):
            return (x > 0).astype(int)

    with pytest.raises(tg.DtypeError, match=r"sign: forward returned dtype int64 for inputs 'x' \(2,\)"):
        tg.apply(Sign(), (tg.parameter(np.ones(2), name="x"),))


def test_a_backward_of_the_wrong_shape_is_caught_not_broadcast():
    class Broken(Square):
        name = "broken"

        def backward(self, g, out, x):
            return (np.ones(1),)                    # would broadcast silently into (2,)

    x = tg.parameter(np.ones(2), name="x")
    y = tg.apply(Broken(), (x,), name="y")
    with pytest.raises(tg.GraphError, match=r"backward of broken \(output 'y'\) sent a gradient of shape \(1,\) "
                                            r"to 'x' of shape \(2,\)"):
        tg.backward(y.sum())


def test_a_backward_returning_too_few_gradients_is_caught():
    class Broken(tg.Op):
        name = "broken"

        def forward(self, a, b):
            return a + b

        def backward(self, g, out, a, b):
            return (g,)

    a, b = tg.parameter(1.0, name="a"), tg.parameter(2.0, name="b")
    with pytest.raises(tg.GraphError, match=r"backward of broken \(output 'c'\) returned 1 gradients for 2 inputs"):
        tg.backward(tg.apply(Broken(), (a, b), name="c"))


def test_a_backward_returning_none_for_a_needed_input_is_caught():
    class Broken(tg.Op):
        name = "broken"

        def forward(self, a, b):
            return a * b

        def backward(self, g, out, a, b):
            return g * b, None

    a, b = tg.parameter(1.0, name="a"), tg.parameter(2.0, name="b")
    with pytest.raises(tg.GraphError, match=r"returned no gradient for input 'b', which needs one"):
        tg.backward(tg.apply(Broken(), (a, b)))
