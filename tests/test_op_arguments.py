"""Every argument an op accepts going forward works going backward (hypothesis).

Driven by tinygraph.ops.REGISTRY: each draw picks an op, one of its example shapes (or,
for ops that take any shape, a random shape or broadcasting pair), a value for each of its
keywords from the op's argument space (axes with negatives and None, keepdims, every index
form, exponents...), and random values in the op's domain. Forward must equal the numpy
twin and backward must equal central differences of the twin, in float64. A new op is
drawn as soon as it is registered."""
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes, mutually_broadcastable_shapes

from op_cases import check_forward_and_backward, input_values
from tinygraph.ops import REGISTRY

ANY_SHAPE = {"neg", "pow", "exp", "log", "tanh", "sigmoid", "relu", "sum", "mean", "reshape", "transpose"}
BROADCASTING = {"add", "sub", "mul", "div"}


@st.composite
def op_calls(draw):
    """(registry entry, input shapes, keyword arguments, input arrays)."""
    name = draw(st.sampled_from(sorted(REGISTRY)))
    entry = REGISTRY[name]
    if name in ANY_SHAPE:
        shapes = (draw(array_shapes(min_dims=0, max_dims=3, min_side=1, max_side=3)),)
    elif name in BROADCASTING:
        shapes = draw(mutually_broadcastable_shapes(num_shapes=2, max_dims=3, max_side=3)).input_shapes
    else:
        shapes = draw(st.sampled_from(entry.shapes))
    space = entry.arguments(*shapes)
    kwargs = {k: draw(st.sampled_from(values)) for k, values in sorted(space.items())}
    arrays = input_values(entry, shapes, np.random.default_rng(draw(st.integers(0, 2 ** 16))))
    return name, entry, shapes, kwargs, arrays


@settings(max_examples=400)
@given(op_calls())
def test_every_argument_an_op_accepts_forward_also_works_backward(call):
    name, entry, shapes, kwargs, arrays = call
    check_forward_and_backward(entry, arrays, kwargs, seed=0, label=f"{name}{shapes} {kwargs}")
