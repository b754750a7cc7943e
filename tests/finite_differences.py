"""The independent reference for the engine's gradient tests: plain numpy, no tinygraph.

``central_differences(f, arrays)`` differentiates a numpy function numerically;
``assert_matches_numpy(tg_f, np_f, arrays)`` checks that a tinygraph expression
computes the same value as its numpy twin and that its backward agrees with the central
differences of that twin. Everything is float64.
"""
import numpy as np

import tinygraph as tg


def central_differences(f, arrays, eps=1e-6):
    """∂f/∂arrays[k] of a scalar numpy function f(*arrays), one entry at a time."""
    arrays = [np.array(a, dtype=np.float64) for a in arrays]
    grads = []
    for k, a in enumerate(arrays):
        g = np.zeros_like(a)
        for idx in np.ndindex(a.shape):
            values = []
            for step in (eps, -eps):
                moved = [x.copy() for x in arrays]
                moved[k][idx] += step
                values.append(f(*moved))
            g[idx] = (values[0] - values[1]) / (2 * eps)
        grads.append(g)
    return grads


def assert_matches_numpy(tg_f, np_f, arrays, wrt=None, seed=0, rtol=1e-6, atol=1e-8):
    """tg_f(*nodes) must equal np_f(*arrays), and its backward must match finite differences.

    The output is projected on a fixed random array R (the loss is sum(out * R)), so every
    entry of a non-scalar output is checked. ``wrt`` lists the input positions made
    parameters (default: all); the others are ``tg.tensor`` constants.
    """
    arrays = [np.array(a, dtype=np.float64) for a in arrays]
    wrt = range(len(arrays)) if wrt is None else wrt
    nodes = [tg.parameter(a, name=f"in{k}") if k in wrt else tg.tensor(a, name=f"in{k}")
             for k, a in enumerate(arrays)]
    out = tg_f(*nodes)
    expected = np.asarray(np_f(*arrays))
    assert out.shape == expected.shape, (out.shape, expected.shape)
    assert out.dtype == np.float64
    np.testing.assert_allclose(out.value, expected, rtol=1e-12, atol=1e-12)
    R = np.random.default_rng(seed).standard_normal(expected.shape)
    tg.backward(out, grad=R)

    def projected(*xs):
        return float((np.asarray(np_f(*xs)) * R).sum())

    numeric = central_differences(projected, arrays)
    for k, node in enumerate(nodes):
        if k in wrt:
            assert node.grad is not None and node.grad.shape == arrays[k].shape
            np.testing.assert_allclose(node.grad, numeric[k], rtol=rtol, atol=atol,
                                       err_msg=f"gradient of input {k}")
        else:
            assert node.grad is None
    return nodes, out
