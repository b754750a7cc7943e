"""The hand-written numpy BlogLSTM of the benchmarks against tinygraph's autodiff and finite differences.

The benchmark's ratios mean something only if the reference computes the same numbers:
its loss and all 12 gradients must equal autodiff through the teaching graph to ~1e-10.
"""
import importlib.util
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygraph as tg
from lstm.cells import BlogLSTM


def _load_reference():
    path = Path(__file__).resolve().parents[1] / "benchmarks" / "reference_numpy.py"
    spec = importlib.util.spec_from_file_location("reference_numpy", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


reference = _load_reference()


def problem(T, r, d, h, seed=0, dtype=np.float64):
    """Parameters, inputs, initial state and loss weights G (L = Σ_t Σ G_t ⊙ H_t)."""
    rng = np.random.default_rng(seed)
    params = {k: p.value for k, p in BlogLSTM(d, h, seed=seed + 1, dtype=dtype).parameters().items()}
    X = rng.standard_normal((T, r, d)).astype(dtype)
    H0 = rng.standard_normal((r, h)).astype(dtype)
    C0 = rng.standard_normal((r, h)).astype(dtype)
    G = rng.standard_normal((T, r, h)).astype(dtype)
    return params, X, H0, C0, G


def autodiff(params, X, H0, C0, G):
    """Loss, outputs and gradients (12 parameters, H0, C0) through tinygraph's BlogLSTM graph."""
    cell = BlogLSTM(X.shape[2], H0.shape[1], parameters=params, dtype=X.dtype)
    init = {"H0": tg.parameter(H0, name="H0"), "C0": tg.parameter(C0, name="C0")}
    run = cell.unroll(X, init)
    H = tg.stack(run.outputs)
    loss = (H * G).sum()
    tg.backward(loss)
    grads = {k: p.grad for k, p in cell.parameters().items()}
    grads.update({k: n.grad for k, n in init.items()})
    return loss.item(), H.value, grads


def numpy_reference(params, X, H0, C0, G):
    model = reference.NumpyBlogLSTM(params, X.shape[0], X.shape[1], X.dtype)
    H = model.forward(X, H0, C0).copy()
    return float(np.vdot(H, G)), H, model.backward(G)


def assert_close(a, b, rtol, what):
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    scale = max(np.abs(b).max(), 1e-12)
    assert np.abs(a - b).max() <= rtol * scale, f"{what}: largest difference {np.abs(a - b).max():.3e}"


@pytest.mark.parametrize("T, r, d, h", [(1, 1, 1, 1), (4, 3, 5, 2), (9, 2, 3, 6), (3, 5, 7, 4)])
def test_reference_equals_autodiff_of_the_teaching_graph(T, r, d, h):
    data = problem(T, r, d, h, seed=T + r)
    loss_ag, H_ag, grads_ag = autodiff(*data)
    loss_np, H_np, grads_np = numpy_reference(*data)
    assert_close(H_np, H_ag, 1e-12, "outputs H_t")
    assert abs(loss_np - loss_ag) <= 1e-12 * max(1.0, abs(loss_ag))
    assert set(grads_np) == set(grads_ag) == set(reference.PARAMETER_KEYS) | {"H0", "C0"}
    for key in grads_ag:
        assert grads_np[key].shape == grads_ag[key].shape, key
        assert_close(grads_np[key], grads_ag[key], 1e-10, key)


@settings(max_examples=15, deadline=None)
@given(T=st.integers(1, 6), r=st.integers(1, 4), d=st.integers(1, 5), h=st.integers(1, 5), seed=st.integers(0, 99))
def test_reference_equals_autodiff_for_random_sizes(T, r, d, h, seed):
    data = problem(T, r, d, h, seed=seed)
    _, _, grads_ag = autodiff(*data)
    _, _, grads_np = numpy_reference(*data)
    for key in grads_ag:
        assert_close(grads_np[key], grads_ag[key], 1e-10, key)


def test_reference_gradients_match_central_differences():
    """Independent of tinygraph: perturb entries of every parameter and of H0, C0."""
    params, X, H0, C0, G = problem(4, 2, 3, 3, seed=5)
    model = reference.NumpyBlogLSTM(params, 4, 2)
    model.forward(X, H0, C0)
    grads = model.backward(G)
    arrays = {**{k: np.array(v) for k, v in params.items()}, "H0": H0.copy(), "C0": C0.copy()}

    def loss():
        m = reference.NumpyBlogLSTM({k: arrays[k] for k in params}, 4, 2)
        return float(np.vdot(m.forward(X, arrays["H0"], arrays["C0"]), G))

    eps = 1e-6
    for key, arr in arrays.items():
        for index in [(0,) * arr.ndim, tuple(n - 1 for n in arr.shape)]:
            saved = arr[index]
            arr[index] = saved + eps
            up = loss()
            arr[index] = saved - eps
            down = loss()
            arr[index] = saved
            numeric = (up - down) / (2 * eps)
            assert abs(grads[key][index] - numeric) <= 1e-7 * max(1.0, abs(numeric)), (key, index)


def test_buffers_are_reused_without_stale_state_and_parameters_are_read_each_forward():
    params, X, H0, C0, G = problem(5, 3, 4, 2, seed=2)
    model = reference.NumpyBlogLSTM(params, 5, 3)
    model.forward(X * 3, H0, C0)
    model.backward(G * 2)
    params["W_fh"] = params["W_fh"] * 0.5             # as an optimizer would replace it
    H = model.forward(X).copy()                       # zeros initial state this time
    grads = model.backward(G)
    loss_ag, H_ag, grads_ag = autodiff(params, X, np.zeros_like(H0), np.zeros_like(C0), G)
    assert_close(H, H_ag, 1e-12, "outputs")
    for key in reference.PARAMETER_KEYS:
        assert_close(grads[key], grads_ag[key], 1e-10, key)


def test_float32_reference_stays_float32_and_near_float64():
    data64 = problem(6, 3, 4, 5, seed=3)
    data32 = tuple({k: v.astype(np.float32) for k, v in data64[0].items()} if i == 0 else a.astype(np.float32)
                   for i, a in enumerate(data64))
    _, H64, g64 = numpy_reference(*data64)
    _, H32, g32 = numpy_reference(*data32)
    assert H32.dtype == np.float32 and g32["W_ix"].dtype == np.float32
    assert_close(H32, H64, 1e-5, "outputs")
    for key in reference.PARAMETER_KEYS:
        assert_close(g32[key], g64[key], 1e-4, key)


def test_matmul_flops_counts_forward_weight_gradients_and_recurrence():
    T, r, d, h = 3, 2, 5, 7
    forward = 2 * T * r * (d + h) * 4 * h
    assert reference.matmul_flops(T, r, d, h) == forward + forward + 2 * T * r * 4 * h * h


def test_wrong_shapes_are_refused_with_the_expected_shape():
    params, X, H0, C0, G = problem(3, 2, 4, 5)
    model = reference.NumpyBlogLSTM(params, 3, 2)
    with pytest.raises(ValueError, match=r"\(T, r, d\) = \(3, 2, 4\)"):
        model.forward(X[:, :1])
    model.forward(X)
    with pytest.raises(ValueError, match=r"\(T, r, h\) = \(3, 2, 5\)"):
        model.backward(G[:2])
