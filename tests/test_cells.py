"""The cells: shapes, names and scopes as the contract says, unroll + backward, errors."""
import numpy as np
import pytest

import tinygraph as tg
from lstm.cells import (ACTIVATIONS, VARIANTS, BlogLSTM, PaperLSTM, PeepholeLSTM, VanillaRNN,
                        make_cell)

rng = np.random.default_rng(0)


def inputs_for(variant, T=3, r=2, d=3):
    return rng.standard_normal((T, d) if variant == "paper" else (T, r, d))


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_every_variant_unrolls_and_backward_reaches_every_parameter(variant):
    cell = make_cell(variant, 3, 4, seed=1)
    run = cell.unroll(inputs_for(variant))
    assert len(run.steps) == len(run.outputs) == len(run.inputs) == 3
    loss = tg.stack([o.sum() for o in run.outputs]).sum()
    tg.backward(loss)
    for key, p in cell.parameters().items():
        assert p.grad is not None and p.grad.shape == p.shape, key
        assert np.abs(p.grad).sum() > 0, key


def test_parameter_keys_shapes_and_drawn_names():
    d, h = 3, 4
    blog = BlogLSTM(d, h).parameters()
    assert list(blog) == ["W_ix", "W_fx", "W_ox", "W_cx", "W_ih", "W_fh", "W_oh", "W_ch",
                          "b_i", "b_f", "b_o", "b_c"]
    assert blog["W_ix"].shape == (d, h) and blog["W_ch"].shape == (h, h) and blog["b_o"].shape == (h,)
    assert all(p.name == k for k, p in blog.items())
    peep = PeepholeLSTM(d, h).parameters()
    assert list(peep)[-3:] == ["W_ic", "W_fc", "W_oc"] and peep["W_oc"].shape == (h, h)
    N, D = 3, 2
    paper = PaperLSTM(N, D).parameters()
    assert {k: p.shape for k, p in paper.items()} == {
        "w_iota": (N + 2 * D + 1,), "w_phi": (N + 2 * D + 1,), "w_omega": (N + 2 * D + 1,),
        "W_c": (N + D + 1, D)}
    assert [p.name for p in paper.values()] == ["w_ι", "w_φ", "w_ω", "W_c"]
    rnn = VanillaRNN(d, h).parameters()
    assert {k: p.shape for k, p in rnn.items()} == {"W_x": (d, h), "W_h": (h, h), "b": (h,)}


def test_parameters_are_reproducible_from_the_seed_and_in_the_asked_dtype():
    a, b, c = BlogLSTM(3, 4, seed=7), BlogLSTM(3, 4, seed=7), BlogLSTM(3, 4, seed=8)
    for k in a.parameters():
        np.testing.assert_array_equal(a.parameters()[k].value, b.parameters()[k].value)
    assert not np.array_equal(a.parameters()["W_ix"].value, c.parameters()["W_ix"].value)
    bound = 1 / np.sqrt(4)
    assert all(np.abs(p.value).max() <= bound for p in a.parameters().values())
    f32 = PaperLSTM(3, 2, dtype="float32")
    assert all(p.dtype == np.float32 for p in f32.parameters().values())
    run = f32.unroll(np.ones((2, 3)))
    assert run.outputs[-1].dtype == np.float32


BLOG_STEP = {"X": (), "I": ("input gate",), "F": ("forget gate",), "O": ("output gate",),
             "C_i": ("new memory",), "F×C": (), "I×C_i": (), "C_t": (), "tanh(C_t)": (), "H_t": ()}
PAPER_STEP = {"x": (), "[x; z_h; s; 1]": (), "a_ι": ("input gate",), "g_ι": ("input gate",),
              "[x; z_h; 1]": ("input value",), "a_c": ("input value",), "z_c": ("input value",),
              "a_φ": ("forget gate",), "g_φ": ("forget gate",), "g_φ s": (), "g_ι z_c": (), "s": (),
              "[x; z_h; s(t); 1]": ("output gate",), "a_ω": ("output gate",), "g_ω": ("output gate",),
              "g_ω s": (), "z_h": ()}


@pytest.mark.parametrize("variant, expected", [
    ("blog", BLOG_STEP), ("peephole", BLOG_STEP), ("paper", PAPER_STEP),
    ("rnn", {"X": (), "h_t": ()})])
def test_step_nodes_carry_the_texts_names_in_scopes_per_step_and_gate(variant, expected):
    run = make_cell(variant, 3, 2).unroll(inputs_for(variant, T=2))
    for t, step in enumerate(run.steps, start=1):
        for name, gate_scope in expected.items():
            assert name in step, name
            assert step[name].name == name
            assert step[name].scope == (f"t={t}",) + gate_scope, name
        for name, node in step.items():
            assert node.name == name and node.scope[0] == f"t={t}"


def test_peephole_gates_see_the_old_memory_and_the_output_gate_the_new():
    run = PeepholeLSTM(3, 2).unroll(inputs_for("peephole", T=2))
    s1, s2 = run.steps
    assert s2["C W_ic"].inputs[0] is s1["C_t"] and s2["C W_fc"].inputs[0] is s1["C_t"]
    assert s2["C_t W_oc"].inputs[0] is s2["C_t"]
    assert s1["C W_ic"].inputs[0] is run.initial_state["C0"]


def test_paper_concatenations_hold_the_previous_and_the_new_memory():
    run = PaperLSTM(3, 2).unroll(inputs_for("paper", T=2))
    s1, s2 = run.steps
    assert s2["[x; z_h; s; 1]"].inputs[1:3] == (s1["z_h"], s1["s"])
    assert s2["[x; z_h; s(t); 1]"].inputs[2] is s2["s"]
    assert s2["a_ι"].inputs[1] is s2["a_φ"].inputs[1] is s2["[x; z_h; s; 1]"]


@pytest.mark.parametrize("variant, keys", [("blog", {"H0", "C0"}), ("peephole", {"H0", "C0"}),
                                           ("paper", {"z_h0", "s0"}), ("rnn", {"h0"})])
def test_initial_state_defaults_to_named_zeros_and_final_state_uses_the_same_keys(variant, keys):
    run = make_cell(variant, 3, 2).unroll(inputs_for(variant, T=2))
    assert set(run.initial_state) == set(run.final_state) == keys
    for k, node in run.initial_state.items():
        assert node.name == k and not node.value.any()
    out = run.outputs[-1]
    assert any(node is out for node in run.final_state.values())


def test_step_by_step_equals_unroll_and_accepts_the_previous_step_as_state():
    cell, x = BlogLSTM(3, 2, seed=3), inputs_for("blog", T=3)
    run = cell.unroll(x)
    state = None
    for t in range(3):
        state = cell.step(x[t], state, t + 1)
    np.testing.assert_array_equal(state["H_t"].value, run.outputs[-1].value)


def test_given_initial_state_nodes_are_the_leaves_whose_gradient_is_reported():
    cell = BlogLSTM(3, 2)
    H0 = tg.parameter(rng.standard_normal((2, 2)), name="H0")
    run = cell.unroll(inputs_for("blog", T=2), initial_state={"H0": H0})
    assert run.initial_state["H0"] is H0 and not run.initial_state["C0"].requires_grad
    g = tg.grad(run.outputs[-1].sum(), H0)
    assert g.shape == (2, 2) and np.abs(g).sum() > 0


def test_paper_activations_come_from_the_registry_by_name():
    assert {"sigmoid", "tanh", "identity"} <= set(ACTIVATIONS)
    cell = PaperLSTM(2, 2, f_iota="identity", f_h="identity")
    step = cell.unroll(np.ones((1, 2))).steps[0]
    assert step["g_ι"].value == step["a_ι"].value
    np.testing.assert_array_equal(step["z_h"].value, step["g_ω s"].value)
    assert step["g_φ"].op.name == "sigmoid" and step["z_c"].op.name == "tanh"
    with pytest.raises(ValueError, match="f_c='softplus'.*choose one of"):
        PaperLSTM(2, 2, f_c="softplus")


@pytest.mark.parametrize("variant, bad, message", [
    ("blog", np.ones((2, 5, 4)), r"input at t=1 'X' must have shape \(5, 3\), got \(5, 4\)"),
    ("blog", np.ones((5, 3)), r"inputs must have shape \(T, r, d\) = \(T, r, 3\), got \(5, 3\)"),
    ("paper", np.ones((2, 4)), r"input at t=1 'x' must have shape \(3,\), got \(4,\)"),
    ("paper", np.ones((2, 1, 3)), r"inputs must have shape \(T, N\) = \(T, 3\)"),
    ("rnn", [], r"at least one time step"),
])
def test_bad_inputs_are_refused_with_the_expected_and_given_shapes(variant, bad, message):
    with pytest.raises((tg.ShapeError, ValueError), match=message):
        make_cell(variant, 3, 2).unroll(bad)


def test_bad_initial_states_and_settings_are_refused_clearly():
    cell = BlogLSTM(3, 2)
    with pytest.raises(ValueError, match=r"unknown initial state \['h0'\]; expected keys \['H0', 'C0'\]"):
        cell.unroll(np.ones((1, 4, 3)), initial_state={"h0": np.zeros((4, 2))})
    with pytest.raises(tg.ShapeError, match=r"initial state 'C0' must have shape \(4, 2\), got \(2, 4\)"):
        cell.unroll(np.ones((1, 4, 3)), initial_state={"C0": np.zeros((2, 4))})
    with pytest.raises(tg.DtypeError, match="float32"):
        cell.unroll([tg.tensor(np.ones((4, 3)), dtype="float32")])
    with pytest.raises(ValueError, match="unknown variant 'lstm'"):
        make_cell("lstm", 3, 2)
    with pytest.raises(ValueError, match="hidden_size must be a positive integer, got 0"):
        VanillaRNN(3, 0)


def test_set_parameters_checks_names_and_shapes():
    cell = VanillaRNN(3, 2)
    new = {"W_x": np.ones((3, 2)), "W_h": np.zeros((2, 2)), "b": np.ones(2)}
    cell.set_parameters(new)
    np.testing.assert_array_equal(cell.parameters()["W_x"].value, np.ones((3, 2)))
    with pytest.raises(ValueError, match=r"missing \['b'\]"):
        cell.set_parameters({"W_x": np.ones((3, 2)), "W_h": np.zeros((2, 2))})
    with pytest.raises(ValueError, match=r"'W_h' must have shape \(2, 2\), got \(3, 3\)"):
        cell.set_parameters({**new, "W_h": np.zeros((3, 3))})


# --- forward values against the texts' equations written in plain numpy ---------------

def sig(a):
    return 1 / (1 + np.exp(-a))


NUMPY_ACTIVATIONS = {"sigmoid": sig, "tanh": np.tanh, "identity": lambda a: a, "relu": lambda a: np.maximum(a, 0)}


def test_paper_forward_follows_equations_1_to_10():
    N, D, T = 3, 2, 4
    acts = {"f_iota": "tanh", "f_phi": "sigmoid", "f_omega": "identity", "f_c": "sigmoid", "f_h": "tanh"}
    cell = PaperLSTM(N, D, seed=9, **acts)
    p = {k: v.value for k, v in cell.parameters().items()}
    f = {role: NUMPY_ACTIVATIONS[name] for role, name in acts.items()}
    x = rng.standard_normal((T, N))
    z_h0, s0 = rng.standard_normal(D), rng.standard_normal(D)
    run = cell.unroll(x, initial_state={"z_h0": z_h0, "s0": s0})
    z_h, s = z_h0, s0
    for t in range(T):
        g_iota = f["f_iota"](p["w_iota"] @ np.concatenate([x[t], z_h, s, [1]]))        # (1, 2)
        z_c = f["f_c"](p["W_c"].T @ np.concatenate([x[t], z_h, [1]]))                 # (3, 4)
        g_phi = f["f_phi"](p["w_phi"] @ np.concatenate([x[t], z_h, s, [1]]))          # (5, 6)
        s_new = g_phi * s + g_iota * z_c                                             # (7)
        g_omega = f["f_omega"](p["w_omega"] @ np.concatenate([x[t], z_h, s_new, [1]]))  # (8, 9)
        z_h, s = f["f_h"](g_omega * s_new), s_new                                    # (10)
        step = run.steps[t]
        np.testing.assert_allclose(step["g_ι"].value, g_iota, rtol=1e-13)
        np.testing.assert_allclose(step["g_φ"].value, g_phi, rtol=1e-13)
        np.testing.assert_allclose(step["g_ω"].value, g_omega, rtol=1e-13)
        np.testing.assert_allclose(step["z_c"].value, z_c, rtol=1e-13)
        np.testing.assert_allclose(step["s"].value, s, rtol=1e-13)
        np.testing.assert_allclose(step["z_h"].value, z_h, rtol=1e-13)


@pytest.mark.parametrize("peephole", [False, True])
def test_blog_and_peephole_forward_follow_their_equations(peephole):
    d, h, r, T = 2, 3, 4, 3
    cell = (PeepholeLSTM if peephole else BlogLSTM)(d, h, seed=2)
    p = {k: v.value for k, v in cell.parameters().items()}
    X = rng.standard_normal((T, r, d))
    run = cell.unroll(X)
    H, C = np.zeros((r, h)), np.zeros((r, h))
    for t in range(T):
        def net(g, memory):
            extra = memory @ p[f"W_{g}c"] if peephole else 0
            return X[t] @ p[f"W_{g}x"] + H @ p[f"W_{g}h"] + extra + p[f"b_{g}"]
        I, F, C_i = sig(net("i", C)), sig(net("f", C)), np.tanh(X[t] @ p["W_cx"] + H @ p["W_ch"] + p["b_c"])
        C = F * C + I * C_i
        O = sig(net("o", C))
        H = O * np.tanh(C)
        np.testing.assert_allclose(run.steps[t]["C_t"].value, C, rtol=1e-13)
        np.testing.assert_allclose(run.steps[t]["H_t"].value, H, rtol=1e-13)


def test_rnn_forward_is_tanh_of_the_affine_recurrence():
    cell = VanillaRNN(2, 3, seed=4)
    p = {k: v.value for k, v in cell.parameters().items()}
    X, h = rng.standard_normal((3, 2, 2)), np.zeros((2, 3))
    run = cell.unroll(X)
    for t in range(3):
        h = np.tanh(X[t] @ p["W_x"] + h @ p["W_h"] + p["b"])
        np.testing.assert_allclose(run.outputs[t].value, h, rtol=1e-13)


def test_cells_accept_given_parameters_as_arrays_or_nodes():
    values = {k: p.value for k, p in PaperLSTM(2, 2, seed=1).parameters().items()}
    from_arrays = PaperLSTM(2, 2, parameters=values)
    node = tg.parameter(values["W_c"])
    from_nodes = PaperLSTM(2, 2, parameters={**values, "W_c": node})
    assert from_nodes.parameters()["W_c"] is node and node.name == "W_c"
    x = np.ones((2, 2))
    np.testing.assert_array_equal(from_arrays.unroll(x).outputs[-1].value, from_nodes.unroll(x).outputs[-1].value)
    with pytest.raises(ValueError, match=r"'W_c' must have shape \(5, 2\), got \(2, 5\)"):
        PaperLSTM(2, 2, parameters={**values, "W_c": values["W_c"].T})
