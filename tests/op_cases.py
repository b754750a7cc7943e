"""The cases the registry-driven tests run: every registered op (tinygraph.ops.REGISTRY),
each example shape, and every combination of its keyword arguments (its whole argument
space), with input values drawn in the op's domain."""
import itertools

import numpy as np

import tinygraph as tg
from finite_differences import central_differences
from tinygraph.ops import REGISTRY


def argument_combinations(entry, shapes):
    """Every keyword combination the op accepts for these input shapes."""
    space = entry.arguments(*shapes)
    keys = sorted(space)
    return [dict(zip(keys, values)) for values in itertools.product(*(space[k] for k in keys))]


def all_cases():
    """(op name, shapes, kwargs) for every registered op: the full table."""
    return [(name, shapes, kwargs) for name, entry in sorted(REGISTRY.items())
            for shapes in entry.shapes for kwargs in argument_combinations(entry, shapes)]


def input_values(entry, shapes, rng):
    """Float64 inputs in the op's domain (positive for log and powers; a divisor away from 0)."""
    arrays = [rng.uniform(-1.5, 1.5, size=s) for s in shapes]
    if entry.domain == "positive":
        arrays = [np.abs(a) + 0.5 for a in arrays]
    elif entry.domain == "nonzero":
        arrays[-1] = np.where(arrays[-1] >= 0, 1, -1) * (np.abs(arrays[-1]) + 0.5)
    return arrays


def call_tinygraph(entry, nodes, kwargs):
    return entry.function(list(nodes), **kwargs) if entry.op.variadic else entry.function(*nodes, **kwargs)


def call_numpy(entry, arrays, kwargs):
    return np.asarray(entry.numpy(list(arrays), **kwargs) if entry.op.variadic else entry.numpy(*arrays, **kwargs),
                      dtype=np.float64)


def case_id(case):
    name, shapes, kwargs = case
    return f"{name}{list(shapes)}{kwargs}".replace(" ", "")


def leaves(arrays):
    return [tg.parameter(a, name=f"in{k}") for k, a in enumerate(arrays)]


def check_forward_and_backward(entry, arrays, kwargs, seed, label):
    """The op's forward equals its numpy twin (to 1e-12), and backward along a random seed
    gradient R (from ``seed``) equals central differences of the twin's ⟨twin(x), R⟩."""
    nodes = leaves(arrays)
    out = call_tinygraph(entry, nodes, kwargs)
    expected = call_numpy(entry, arrays, kwargs)
    assert out.shape == expected.shape, label
    np.testing.assert_allclose(out.value, expected, rtol=1e-12, atol=1e-12)
    R = np.random.default_rng(seed).standard_normal(expected.shape)
    grads = tg.grad(out, nodes, grad=R)
    numeric = central_differences(lambda *xs: float((call_numpy(entry, xs, kwargs) * R).sum()), arrays)
    for k, (got, want) in enumerate(zip(grads, numeric)):
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-7, err_msg=f"{label} input {k}")
