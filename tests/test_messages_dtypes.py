"""Messages and dtypes: one dtype rule for constants, and errors that name the op, the
node and the shapes where numpy or Python used to speak (issue 14, item 5)."""
import numpy as np
import pytest

import tinygraph as tg


@pytest.mark.parametrize("constant", [1.5, 2, np.float64(1.5), np.array(1.5), [1.5, 2.5], (1.5, 2.5), [1, 2],
                                      np.array([1, 2]), np.array([True, True])],
                         ids=["float", "int", "np.float64", "0-d array", "float list", "float tuple", "int list",
                              "int array", "bool array"])
@pytest.mark.parametrize("op", ["+", "*", "-", "/"])
def test_a_constant_without_axes_of_float_data_takes_the_nodes_dtype(constant, op):
    x32 = tg.parameter(np.array([1.0, 2.0], np.float32), name="x32")
    for y in (eval(f"x32 {op} c", {"x32": x32, "c": constant}), eval(f"c {op} x32", {"x32": x32, "c": constant})):
        assert y.dtype == np.float32, (op, constant)


def test_a_float64_array_with_axes_promotes_float32_as_numpy_does():
    x32 = tg.parameter(np.array([1.0, 2.0], np.float32))
    y = x32 + np.array([1.5, 2.5])
    assert y.dtype == np.float64
    tg.backward(y.sum())
    assert x32.grad.dtype == np.float32


def test_stack_with_an_axis_out_of_range_says_so_not_that_shapes_differ():
    a, b = tg.parameter(np.ones(3), name="a"), tg.parameter(np.ones(3), name="b")
    with pytest.raises(tg.ShapeError, match=r"stack: axis 5 is out of range for 'a' \(3,\), 'b' \(3,\): "
                                            r"the result has 2 axes, so axis must lie in \[-2, 2\)"):
        tg.stack([a, b], axis=5)
    with pytest.raises(tg.ShapeError, match="concat: axis -3 is out of range"):
        tg.concat([a, b], axis=-3)
    with pytest.raises(TypeError, match="concat: axis must be an int or None, got 1.5"):
        tg.concat([a, b], axis=1.5)


def test_cross_entropy_on_zero_dimensional_logits_asks_for_a_class_axis():
    with pytest.raises(tg.ShapeError, match=r"cross_entropy: logits 'z' \(\) are a single number; they need "
                                            r"a class axis"):
        tg.cross_entropy(tg.parameter(1.0, name="z"), np.array(0))


def test_anomaly_names_an_unnamed_output_by_its_op_and_shape():
    x = tg.parameter([-1.0, 1.0], name="x")
    with tg.anomaly_mode(), pytest.raises(tg.AnomalyError, match=r"its unnamed log output, shape \(2,\)") as err:
        tg.log(x)
    assert "None" not in str(err.value)
    z = tg.parameter([0.0, 1.0], name="z")           # √z is finite at 0, its gradient is not
    with tg.anomaly_mode(), pytest.raises(tg.AnomalyError, match=r"backward of pow\(p=0.5\) \(output unnamed "
                                                                  r"pow \(2,\)\) sent a NaN/Inf gradient to 'z'"):
        tg.backward((z ** 0.5).sum())


def test_float_of_a_non_scalar_node_names_the_node():
    h = tg.parameter(np.ones((3, 4)), name="h")
    with pytest.raises(tg.ShapeError, match=r"float\(\) of node 'h' \(3, 4\): only a one-element node"):
        float(h)
    with pytest.raises(tg.ShapeError, match=r"item\(\) of node unnamed tanh \(3, 4\)"):
        tg.tanh(h).item()
    assert float(h.sum()) == 12.0


def test_a_constant_too_large_for_the_dtype_is_refused_naming_the_node():
    x = tg.parameter([1.0, 2.0], name="x")
    with pytest.raises(tg.DtypeError, match=r"mul: second operand is an integer of 401 digits, too large for "
                                            r"float64 \(the dtype of 'x' \(2,\)\)"):
        x * 10 ** 400
    x32 = tg.parameter(np.ones(2, np.float32), name="x32")
    with pytest.raises(tg.DtypeError, match="1e\\+39, too large for float32"):
        x32 + 1e39
    assert np.isinf((x * float("inf")).value).all()          # inf itself is a value, not an overflow


@pytest.mark.parametrize("build,error,message", [
    (lambda x: tg.sum(x, axis=(0, -2)), tg.ShapeError, r"sum\(axis=\(0, -2\)\): inputs 'x' \(3, 4\) do not fit: duplicate"),
    (lambda x: tg.sum(x, axis=1.5), TypeError, r"sum\(axis=1.5\): cannot be applied to 'x' \(3, 4\)"),
    (lambda x: tg.mean(x, axis=2), tg.ShapeError, r"mean\(axis=2\): inputs 'x' \(3, 4\) do not fit: axis 2 is out of"),
    (lambda x: tg.transpose(x, (0,)), tg.ShapeError, r"transpose\(0,\): inputs 'x' \(3, 4\) do not fit"),
    (lambda x: tg.reshape(x, (2.5, 2)), TypeError, r"reshape\(2.5, 2\): cannot be applied to 'x' \(3, 4\)"),
    (lambda x: x[np.array([0.5])], tg.ShapeError, r"getitem\[\[0.5\]\]: inputs 'x' \(3, 4\) do not fit: arrays used"),
    (lambda x: x[0, 0, 0], tg.ShapeError, r"getitem\[0, 0, 0\]: inputs 'x' \(3, 4\) do not fit: too many indices"),
    (lambda x: tg.broadcast_to(x, (5,)), tg.ShapeError, r"broadcast_to\(5,\): inputs 'x' \(3, 4\) do not fit"),
], ids=["duplicate axis", "float axis", "axis out of range", "axes too few", "float shape", "float index",
        "too many indices", "broadcast to fewer axes"])
def test_arguments_an_op_does_not_support_are_refused_when_it_is_built(build, error, message):
    x = tg.parameter(np.ones((3, 4)), name="x")
    with pytest.raises(error, match=message):
        build(x)
