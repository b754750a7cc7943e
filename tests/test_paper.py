"""lstm.paper: the numpy forward of eqs. 1-10 and the closed-form backward (eqs. 17-32).

The corrected backward is held against two independent references: autodiff of
PaperLSTM (tinygraph) and central finite differences of the numpy forward. The printed
backward is shown to differ, and to differ exactly where the derivation says.
"""
import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from finite_differences import central_differences
from lstm import paper
from lstm.array_gradients import gradients

NAMES = sorted(paper.ACTIVATIONS)


def case(N, D, T, seed):
    rng = np.random.default_rng([N, D, T, seed])
    return dict(params=paper.random_parameters(N, D, seed=seed, scale=0.6), xs=rng.standard_normal((T, N)),
                ys=rng.standard_normal((T, D)), z_h0=0.5 * rng.standard_normal(D), s0=0.5 * rng.standard_normal(D))


def autodiff(c, acts):
    """The gradients of E = Σ_t ½‖z_h(t) − y(t)‖² by tinygraph (PaperLSTM)."""
    return gradients("paper", c["params"], c["xs"], c["ys"], loss="mse",
                     initial_state={"z_h0": c["z_h0"], "s0": c["s0"]},
                     **{f"f_{gate}": name for gate, name in acts.items()})


def closed(c, acts, version="corrected", fixes=()):
    fwd = paper.forward(c["params"], c["xs"], c["z_h0"], c["s0"], acts)
    return fwd, paper.backward(fwd, paper.mse_gradient(fwd, c["ys"]), version, fixes).gradients


def rel(a, b):
    return float(np.max(np.abs(np.asarray(a) - b)) / max(np.max(np.abs(b)), 1e-300))


def matches_autodiff(c, acts, version="corrected", fixes=(), tol=1e-9):
    loss, truth = autodiff(c, acts)
    fwd, grads = closed(c, acts, version, fixes)
    assert paper.mse(fwd, c["ys"]) == pytest.approx(loss, rel=1e-12)
    return {key: rel(grads[key], truth[key]) for key in truth}, tol


def saturated(fwd, limit=20.0):
    """True when some activation's argument is so large that its derivative is lost to
    float64 rounding (σ'(40) ≈ 4e-18): gradients there are noise, in any method."""
    return max(float(np.max(np.abs(np.concatenate([[s["a_iota"], s["a_phi"], s["a_omega"]], s["a_c"],
                                                   s["g_omega"] * s["s"]]))))
               for s in fwd.steps) > limit


# Any activation for the input gate, output gate and z_c; a bounded one for the forget
# gate and z_h (with identity there the state can grow like s² per step and overflow).
activations = st.fixed_dictionaries({gate: st.sampled_from(["sigmoid", "tanh"] if gate in ("phi", "h") else NAMES)
                                     for gate in paper.GATES})


@settings(max_examples=40)
@given(N=st.integers(1, 4), D=st.integers(1, 4), T=st.integers(1, 10), seed=st.integers(0, 10**6), acts=activations)
def test_corrected_backward_equals_autodiff(N, D, T, seed, acts):
    c = case(N, D, T, seed)
    assume(not saturated(paper.forward(c["params"], c["xs"], c["z_h0"], c["s0"], acts)))
    errors, tol = matches_autodiff(c, acts)
    assert max(errors.values()) <= tol, errors


@pytest.mark.parametrize("D", [1, 3])
def test_corrected_backward_equals_autodiff_with_default_activations(D):
    errors, tol = matches_autodiff(case(3, D, 7, seed=11), {})
    assert max(errors.values()) <= tol, errors


def numerical_gradients(c, acts):
    """Central differences of the numpy loss, entry by entry (no tinygraph involved)."""
    values = dict(c["params"], x=c["xs"], z_h0=c["z_h0"], s0=c["s0"])
    keys = list(values)

    def loss(*arrays):
        v = dict(zip(keys, arrays))
        params = {k: v[k] for k in paper.PARAMETER_KEYS}
        return paper.mse(paper.forward(params, v["x"], v["z_h0"], v["s0"], acts), c["ys"])

    return dict(zip(keys, central_differences(loss, list(values.values()))))


@pytest.mark.parametrize("N, D, T, acts", [
    (2, 1, 4, {}),
    (1, 3, 5, {"omega": "tanh", "h": "sigmoid", "c": "identity"}),
    (3, 2, 3, {"iota": "tanh", "phi": "tanh", "omega": "identity", "c": "identity", "h": "relu"}),
])
def test_corrected_backward_equals_finite_differences(N, D, T, acts):
    c = case(N, D, T, seed=3)
    _, grads = closed(c, acts)
    numeric = numerical_gradients(c, acts)
    errors = {key: rel(grads[key], g) for key, g in numeric.items()}
    assert max(errors.values()) < 1e-6, errors


@pytest.mark.parametrize("D", [1, 2])
def test_printed_backward_disagrees_with_autodiff(D):
    errors, _ = matches_autodiff(case(2, D, 5, seed=4), {}, "as_printed")
    assert min(errors.values()) > 1e-4, errors


def test_printed_backward_with_eq25_fixed_is_exact_once_eq21s_errors_cannot_show():
    """With the output gate's peephole on s zeroed (w_ω,s = 0) and f_ω = f_h, eq. 21's two
    errors (f'_ω for f'_h, the dropped peephole term) vanish; only eq. 25 is then wrong."""
    N, D = 2, 3
    c = case(N, D, 6, seed=8)
    c["params"]["w_omega"][N + D:N + 2 * D] = 0.0
    acts = {"omega": "tanh", "h": "tanh"}
    errors, tol = matches_autodiff(c, acts, "as_printed", fixes=("25",))
    assert max(errors.values()) <= tol, errors
    errors, _ = matches_autodiff(c, acts, "as_printed")
    assert errors["W_c"] > 1e-4 and max(v for k, v in errors.items() if k != "W_c") <= 1e-9


def context(N=2, D=3, seed=1, acts=None, **deltas):
    c = case(N, D, 3, seed)
    fwd = paper.forward(c["params"], c["xs"], c["z_h0"], c["s0"], acts)
    rng = np.random.default_rng(seed)
    deltas = {"delta_z_h": rng.standard_normal(D), "delta_g_omega": rng.standard_normal(), **deltas}
    return paper.Context(fwd, 2, **deltas)


def test_eq18_printed_equals_corrected_only_when_D_is_1():
    eq = paper.EQUATIONS["18"]
    one = context(D=1)
    np.testing.assert_allclose(eq.printed(one), eq.corrected(one), rtol=1e-14)
    many = context(D=3)
    assert rel(eq.printed(many), eq.corrected(many)) > 1e-3


def test_eq18_corrected_equals_eq21_corrected_given_the_true_delta_g_omega():
    c = context(D=4)
    c.delta_g_omega = paper.EQUATIONS["19"].corrected(c)
    np.testing.assert_allclose(paper.EQUATIONS["18"].corrected(c), paper.EQUATIONS["21"].corrected(c), rtol=1e-12)


def test_eq17_through_z_h_is_the_jacobian_of_z_h_with_respect_to_s():
    """Eq. 17's first group against a finite-difference Jacobian of eqs. 8-10 in s(t)."""
    c = context(D=3, acts=paper.activations(omega="tanh"))
    f_h, f_omega = paper.ACTIVATIONS["tanh"][0], paper.ACTIVATIONS["tanh"][0]

    def z_h(s):
        a_omega = c.w_omega @ np.concatenate([c.x, c.z_h_prev, s, [1.0]])
        return f_h(f_omega(a_omega) * s)

    eps, jac = 1e-6, np.zeros((3, 3))
    for i in range(3):
        step = np.zeros(3)
        step[i] = eps
        jac[:, i] = (z_h(c.s + step) - z_h(c.s - step)) / (2 * eps)
    c.next_delta_g_phi = c.next_delta_g_iota = c.next_a_phi = c.next_a_iota = c.next_g_phi = 0.0
    c.next_delta_s = np.zeros(3)
    through_z_h, through_next = paper.eq17_parts(c)
    np.testing.assert_allclose(through_z_h, c.delta_z_h @ jac, rtol=1e-7)
    assert not through_next.any()


def test_order_of_computation_reads_only_given_or_earlier_quantities():
    known = set(paper.GIVEN_PER_STEP)
    for number in paper.ORDER_OF_COMPUTATION:
        eq = paper.EQUATIONS[number]
        assert set(eq.needs) <= known, number
        known.add(eq.quantity)


def test_backward_returns_every_quantity_the_paper_names_per_step():
    c = case(2, 2, 4, seed=0)
    fwd = paper.forward(c["params"], c["xs"])
    result = paper.backward(fwd, paper.mse_gradient(fwd, c["ys"]))
    assert len(result.steps) == 4
    for step in result.steps:
        assert set(step) == set(paper.QUANTITIES)
    assert result.per_step("Delta_c").shape == (4, 2 + 2 + 1, 2)
    assert result.gradients["x"].shape == (4, 2)


def test_forward_rejects_bad_shapes_with_a_clear_message():
    params = paper.random_parameters(2, 3)
    with pytest.raises(ValueError, match=r"paper.forward: parameter 'w_phi' has shape \(4,\), expected \(9,\)"):
        paper.forward(dict(params, w_phi=np.zeros(4)), np.zeros((5, 2)))
    with pytest.raises(ValueError, match=r"inputs must have shape \(T, N\)"):
        paper.forward(params, np.zeros(5))
    with pytest.raises(ValueError, match="f_omega='softplus' is not one of"):
        paper.activations(omega="softplus")


def test_backward_rejects_a_wrong_gradient_shape_and_an_unknown_version():
    fwd = paper.forward(paper.random_parameters(2, 3), np.zeros((4, 2)))
    with pytest.raises(ValueError, match=r"dE_dz_h must have shape \(T, D\) = \(4, 3\)"):
        paper.backward(fwd, np.zeros((4, 2)))
    with pytest.raises(ValueError, match="version must be one of"):
        paper.backward(fwd, np.zeros((4, 3)), version="printed")
    with pytest.raises(ValueError, match="fixes"):
        paper.backward(fwd, np.zeros((4, 3)), "as_printed", fixes=("18",))
