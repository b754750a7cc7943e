"""lstm.gradients (lstm/array_gradients.py): against an independent hand-derived numpy BPTT, PyTorch (when installed)
and finite differences; its argument checks; and the `python -m lstm gradients` command."""
import re
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import lstm
from lstm.__main__ import main
from lstm.cells import VARIANTS, make_cell

GATES = ("i", "f", "o", "c")


# --- an independent BlogLSTM: forward and backpropagation through time by hand, numpy only ---

def sigmoid(a):
    return 1 / (1 + np.exp(-a))


def numpy_blog_lstm(p, X, Y, loss, H0, C0):
    """Seed 001's equations and their derivatives written out; returns (loss, grads)."""
    T = len(X)
    H, C, cache = H0, C0, []
    for t in range(T):
        a = {g: X[t] @ p[f"W_{g}x"] + H @ p[f"W_{g}h"] + p[f"b_{g}"] for g in GATES}
        I, F, O, Ci = sigmoid(a["i"]), sigmoid(a["f"]), sigmoid(a["o"]), np.tanh(a["c"])
        C_t = F * C + I * Ci
        tC = np.tanh(C_t)
        cache.append((H, C, I, F, O, Ci, tC))
        H, C = O * tC, C_t
        cache[-1] += (H,)
    outputs = np.stack([c[-1] for c in cache])
    if loss == "mse":
        value = 0.5 * ((outputs - Y) ** 2).sum()
        dout = outputs - Y
    else:
        z = outputs - outputs.max(axis=-1, keepdims=True)
        logp = z - np.log(np.exp(z).sum(axis=-1, keepdims=True))
        value = -np.take_along_axis(logp, Y[..., None], axis=-1).sum()
        dout = np.exp(logp)
        np.put_along_axis(dout, Y[..., None], np.take_along_axis(dout, Y[..., None], axis=-1) - 1, axis=-1)
    g = {k: np.zeros_like(v) for k, v in p.items()}
    dX = np.zeros_like(X)
    dH_next, dC_next = np.zeros_like(H0), np.zeros_like(C0)
    for t in reversed(range(T)):
        H_prev, C_prev, I, F, O, Ci, tC, _ = cache[t]
        dH = dout[t] + dH_next
        dO = dH * tC
        dC = dC_next + dH * O * (1 - tC ** 2)
        da = {"i": dC * Ci * I * (1 - I), "f": dC * C_prev * F * (1 - F),
              "o": dO * O * (1 - O), "c": dC * I * (1 - Ci ** 2)}
        dH_next = np.zeros_like(H0)
        for k in GATES:
            g[f"W_{k}x"] += X[t].T @ da[k]
            g[f"W_{k}h"] += H_prev.T @ da[k]
            g[f"b_{k}"] += da[k].sum(axis=0)
            dX[t] += da[k] @ p[f"W_{k}x"].T
            dH_next += da[k] @ p[f"W_{k}h"].T
        dC_next = dC * F
    g.update(X=dX, H0=dH_next, C0=dC_next)
    return value, g


def random_problem(variant, d, h, r, T, loss, seed):
    rng = np.random.default_rng(seed)
    cell = make_cell(variant, d, h, seed=seed)
    params = {k: p.value for k, p in cell.parameters().items()}
    X = rng.standard_normal((T,) + cell.input_shape(r))
    out = cell.state_shape(r)
    Y = rng.integers(0, h, size=(T,) + out[:-1]) if loss == "ce" else rng.standard_normal((T,) + out)
    state = {k: 0.5 * rng.standard_normal(out) for k in cell.STATE}
    return params, X, Y, state


def assert_same(grads, expected, rtol=1e-10, atol=1e-12):
    assert list(grads) == list(expected) or set(grads) == set(expected)
    for k in expected:
        np.testing.assert_allclose(grads[k], expected[k], rtol=rtol, atol=atol, err_msg=k)


@pytest.mark.parametrize("loss", ["mse", "ce"])
@pytest.mark.parametrize("d, h, r, T", [(1, 1, 1, 1), (3, 4, 2, 5), (2, 3, 1, 5)])
def test_blog_gradients_equal_a_hand_derived_numpy_bptt(d, h, r, T, loss):
    params, X, Y, state = random_problem("blog", d, h, r, T, loss, seed=d + h + r + T)
    value, grads = lstm.gradients("blog", params, X, Y, loss=loss, initial_state=state)
    expected_value, expected = numpy_blog_lstm(params, X, Y, loss, state["H0"], state["C0"])
    assert value == pytest.approx(expected_value, rel=1e-12)
    assert set(grads) == set(params) | {"X", "H0", "C0"}
    assert_same(grads, expected)


@settings(max_examples=25)
@given(d=st.integers(1, 4), h=st.integers(1, 4), r=st.integers(1, 3), T=st.integers(1, 6),
       loss=st.sampled_from(["mse", "ce"]), seed=st.integers(0, 2**16))
def test_blog_gradients_equal_numpy_bptt_for_random_sizes(d, h, r, T, loss, seed):
    params, X, Y, state = random_problem("blog", d, h, r, T, loss, seed)
    value, grads = lstm.gradients("blog", params, X, Y, loss=loss, initial_state=state)
    expected_value, expected = numpy_blog_lstm(params, X, Y, loss, state["H0"], state["C0"])
    assert value == pytest.approx(expected_value, rel=1e-12)
    assert_same(grads, expected)


def test_hand_derived_bptt_is_itself_right_by_finite_differences():
    """The reference is only a reference if it is right: check one of its entries per array."""
    params, X, Y, state = random_problem("blog", 2, 3, 2, 4, "mse", seed=3)
    _, expected = numpy_blog_lstm(params, X, Y, "mse", state["H0"], state["C0"])
    arrays = {**params, "X": X, **state}
    rng = np.random.default_rng(0)
    for name, value in arrays.items():
        idx = tuple(rng.integers(0, n) for n in value.shape)
        moved = []
        for step in (1e-6, -1e-6):
            changed = {k: v.copy() for k, v in arrays.items()}
            changed[name][idx] += step
            p = {k: changed[k] for k in params}
            moved.append(numpy_blog_lstm(p, changed["X"], Y, "mse", changed["H0"], changed["C0"])[0])
        assert (moved[0] - moved[1]) / 2e-6 == pytest.approx(expected[name][idx], rel=1e-6, abs=1e-9), name


def test_blog_gradients_equal_torch_lstm_with_copied_weights():
    torch = pytest.importorskip("torch")
    d, h, r, T = 3, 4, 2, 5
    params, X, Y, state = random_problem("blog", d, h, r, T, "mse", seed=11)
    _, grads = lstm.gradients("blog", params, X, Y, loss="mse", initial_state=state)
    net = torch.nn.LSTM(d, h, dtype=torch.float64)
    order = ("i", "f", "c", "o")            # torch stacks the gates as i, f, g (= new memory), o
    with torch.no_grad():
        net.weight_ih_l0.copy_(torch.from_numpy(np.concatenate([params[f"W_{g}x"].T for g in order])))
        net.weight_hh_l0.copy_(torch.from_numpy(np.concatenate([params[f"W_{g}h"].T for g in order])))
        net.bias_ih_l0.copy_(torch.from_numpy(np.concatenate([params[f"b_{g}"] for g in order])))
        net.bias_hh_l0.zero_()
    x = torch.tensor(X, requires_grad=True)
    h0 = torch.tensor(state["H0"][None], requires_grad=True)
    c0 = torch.tensor(state["C0"][None], requires_grad=True)
    out, _ = net(x, (h0, c0))
    (0.5 * ((out - torch.from_numpy(Y)) ** 2).sum()).backward()
    blocks = {name: np.split(getattr(net, name).grad.numpy(), 4) for name in ("weight_ih_l0", "weight_hh_l0")}
    bias = np.split(net.bias_ih_l0.grad.numpy(), 4)
    for k, g in enumerate(order):
        np.testing.assert_allclose(grads[f"W_{g}x"], blocks["weight_ih_l0"][k].T, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(grads[f"W_{g}h"], blocks["weight_hh_l0"][k].T, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(grads[f"b_{g}"], bias[k], rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(grads["X"], x.grad.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(grads["H0"], h0.grad.numpy()[0], rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(grads["C0"], c0.grad.numpy()[0], rtol=1e-10, atol=1e-12)


def numeric_gradients(variant, params, X, Y, loss, state, eps=1e-6, **options):
    """Central differences of lstm.gradients' loss value, entry by entry."""
    arrays = {**params, "input": X, **state}
    result = {}
    for name, value in arrays.items():
        g = np.zeros_like(value)
        for idx in np.ndindex(value.shape):
            sides = []
            for step in (eps, -eps):
                moved = {k: v.copy() for k, v in arrays.items()}
                moved[name][idx] += step
                p = {k: moved[k] for k in params}
                sides.append(lstm.gradients(variant, p, moved["input"], Y, loss=loss,
                                            initial_state={k: moved[k] for k in state}, **options)[0])
            g[idx] = (sides[0] - sides[1]) / (2 * eps)
        result[name] = g
    return result


@pytest.mark.parametrize("variant, options", [("blog", {}), ("peephole", {}), ("rnn", {}), ("paper", {}),
                                              ("paper", {"f_phi": "identity", "f_h": "identity"})])
@pytest.mark.parametrize("loss", ["mse", "ce"])
def test_every_returned_gradient_matches_finite_differences_of_the_returned_loss(variant, options, loss):
    params, X, Y, state = random_problem(variant, 2, 2, 2, 3, loss, seed=7)
    _, grads = lstm.gradients(variant, params, X, Y, loss=loss, initial_state=state, **options)
    cls = VARIANTS[variant]
    assert list(grads) == list(params) + [cls.INPUT] + list(cls.STATE)
    assert grads[cls.INPUT].shape == X.shape
    numeric = numeric_gradients(variant, params, X, Y, loss, state, **options)
    numeric[cls.INPUT] = numeric.pop("input")
    assert_same(grads, numeric, rtol=1e-6, atol=1e-8)


def test_missing_initial_state_is_zeros_and_still_gets_its_gradient():
    params, X, Y, _ = random_problem("paper", 2, 3, None, 4, "mse", seed=1)
    value, grads = lstm.gradients("paper", params, X, Y)
    zeros = {"z_h0": np.zeros(3), "s0": np.zeros(3)}
    value0, grads0 = lstm.gradients("paper", params, X, Y, initial_state=zeros)
    assert value == value0 and grads["s0"].shape == (3,) and np.abs(grads["s0"]).sum() > 0
    assert_same(grads, grads0, rtol=0, atol=0)


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_the_callers_arrays_stay_writable_and_unchanged(variant):
    params, X, Y, state = random_problem(variant, 2, 3, None if variant == "paper" else 2, 4, "mse", seed=3)
    given = {"params": {k: v.copy() for k, v in params.items()}, "inputs": X, "targets": Y, "state": state}
    before = {"params": {k: v.copy() for k, v in params.items()}, "inputs": X.copy(), "targets": Y.copy(),
              "state": {k: v.copy() for k, v in state.items()}}
    lstm.gradients(variant, given["params"], X, Y, initial_state=state)
    for role in given:
        arrays = given[role] if isinstance(given[role], dict) else {role: given[role]}
        expected = before[role] if isinstance(before[role], dict) else {role: before[role]}
        for name, arr in arrays.items():
            assert arr.flags.writeable, f"{role} {name} was made read-only"
            np.testing.assert_array_equal(arr, expected[name], err_msg=f"{role} {name} changed")
            arr += 1.0                                  # and the caller can still write to it


def test_the_module_does_not_hide_behind_the_function():
    """``lstm.gradients`` is the function; its module has a name of its own."""
    import importlib
    import pkgutil

    for info in pkgutil.iter_modules(lstm.__path__):
        module = importlib.import_module(f"lstm.{info.name}")
        assert getattr(lstm, info.name) is module, f"lstm.{info.name} is not the module lstm/{info.name}"
    assert callable(lstm.gradients) and lstm.gradients.__module__ == "lstm.array_gradients"


@pytest.mark.parametrize("change, error, message", [
    (dict(variant="lstm"), ValueError, r"unknown variant 'lstm'; choose one of \['blog', 'paper'"),
    (dict(loss="l1"), ValueError, r"unknown loss 'l1'; choose one of \['ce', 'mse'\]"),
    (dict(drop="b_o"), ValueError, r"missing \['b_o'\]"),
    (dict(add={"W_xx": np.ones((3, 4))}), ValueError, r"unexpected \['W_xx'\]"),
    (dict(add={"W_fh": np.ones((4, 3))}), ValueError, r"'W_fh' must have shape \(4, 4\), got \(4, 3\)"),
    (dict(add={"b_i": np.ones(4, dtype=int)}), ValueError, r"'b_i' must be a float array, got dtype int"),
    (dict(add={"b_f": np.full(4, np.inf)}), ValueError, r"'b_f' contains NaN or Inf"),
    (dict(inputs=np.ones((5, 2, 2))), ValueError, r"inputs must have shape \(T, r, d\) = \(T, r, 3\).*"
                                                   r"got \(5, 2, 2\)"),
    (dict(inputs=np.ones((5, 3))), ValueError, r"inputs must have shape \(T, r, d\)"),
    (dict(inputs=np.ones((5, 2, 3), dtype=int)), TypeError, r"inputs must be a float array"),
    (dict(targets=np.ones((5, 2, 3))), ValueError, r"mse: targets must have shape \(5, 2, 4\).*got \(5, 2, 3\)"),
    (dict(initial_state={"h0": np.zeros((2, 4))}), ValueError, r"unknown initial state \['h0'\]"),
    (dict(initial_state={"C0": np.zeros((4, 2))}), ValueError, r"'C0' must have shape \(2, 4\), got \(4, 2\)"),
])
def test_bad_arguments_are_refused_naming_the_array_and_the_shapes(change, error, message):
    params, X, Y, _ = random_problem("blog", 3, 4, 2, 5, "mse", seed=0)
    if "drop" in change:
        params.pop(change["drop"])
    params.update(change.get("add", {}))
    args = dict(variant="blog", params=params, inputs=X, targets=Y, loss="mse", initial_state=None)
    args.update({k: v for k, v in change.items() if k in args})
    with pytest.raises(error, match=message):
        lstm.gradients(**args)


# --- the command line ----------------------------------------------------------------

def run_cli(capsys, *argv):
    code = main(["gradients", *map(str, argv)])
    out, err = capsys.readouterr()
    return code, out, err


def example(tmp_path, capsys, variant="blog", loss="mse", *extra):
    code, out, _ = run_cli(capsys, "--variant", variant, "--loss", loss, "--example", tmp_path, *extra)
    assert code == 0 and "now run:" in out
    return [tmp_path / f"{name}.npz" for name in ("params", "inputs", "targets")]


def files_argv(variant, loss, params, inputs, targets, out):
    return ["--variant", variant, "--loss", loss, "--params", params, "--inputs", inputs,
            "--targets", targets, "--out", out]


@pytest.mark.parametrize("variant, loss, extra", [("blog", "mse", []), ("paper", "ce", ["--f-h", "identity"]),
                                                  ("rnn", "ce", []), ("peephole", "mse", [])])
def test_cli_writes_the_gradients_of_the_example_files_and_prints_their_norms(
        tmp_path, capsys, variant, loss, extra):
    params, inputs, targets = example(tmp_path, capsys, variant, loss, *extra)
    out_file = tmp_path / "grads.npz"
    code, out, err = run_cli(capsys, *files_argv(variant, loss, params, inputs, targets, out_file), *extra)
    assert code == 0, err
    from tinygraph.io import load_arrays
    p = load_arrays(params)
    x = load_arrays(inputs)
    y = load_arrays(targets, kind="int" if loss == "ce" else "float")["Y"]
    options = {"f_h": "identity"} if extra else {}
    value, expected = lstm.gradients(variant, p, next(iter(x.values())), y, loss=loss, **options)
    written = load_arrays(out_file)
    assert list(written) == list(expected)
    assert_same(written, expected, rtol=0, atol=0)
    assert f"= {value:.10g}" in out
    for name, g in expected.items():
        row = next(line for line in out.splitlines() if line.split()[0] == name)
        assert f"{np.linalg.norm(g):.6e}" in row


def write_npz(path, **arrays):
    np.savez(path, **arrays)
    return path


@pytest.mark.parametrize("what, make, message", [
    ("params", lambda p: {k: v for k, v in p.items() if k != "W_oh"},
     r"parameters file '.*params.npz': missing 'W_oh'"),
    ("params", lambda p: {**p, "W_extra": np.ones(2)}, r"unexpected 'W_extra'"),
    ("params", lambda p: {**p, "W_ch": np.ones((4, 3))}, r"array 'W_ch' has shape \(4, 3\), expected \(4, 4\)"),
    ("params", lambda p: {**p, "b_c": np.array([1.0, np.nan, 0, 0])}, r"'b_c' \(4,\) holds 1 NaN/Inf"),
    ("params", lambda p: {**p, "b_c": np.ones(4, dtype=np.int64)}, r"'b_c' has dtype int64, expected a real float"),
    ("params", lambda p: {**p, "b_c": np.array([{"x": 1}] * 4, dtype=object)}, r"'b_c' holds pickled Python objects"),
    ("inputs", lambda x: {"X": x["X"][..., :2]}, r"inputs file .*'X' has shape \(5, 2, 2\), expected \(T, r, d\) "
                                                r"= \(T, r, 3\)"),
    ("inputs", lambda x: {"inputs": x["X"]}, r"inputs file .*missing 'X'"),
    ("targets", lambda y: {"Y": y["Y"][:4]}, r"targets file .*'Y' has shape \(4, 2, 4\), expected \(5, 2, 4\)"),
])
def test_cli_refuses_bad_files_with_status_2_and_writes_nothing(tmp_path, capsys, what, make, message):
    params, inputs, targets = example(tmp_path, capsys)
    files = {"params": params, "inputs": inputs, "targets": targets}
    with np.load(files[what]) as original:
        broken = make(dict(original))
    files[what] = write_npz(tmp_path / f"bad_{what}.npz", **broken)
    out_file = tmp_path / "grads.npz"
    code, out, err = run_cli(capsys, *files_argv("blog", "mse", files["params"], files["inputs"],
                                                 files["targets"], out_file))
    assert code == 2 and out == ""
    assert err.startswith("error: ") and len(err.splitlines()) == 1
    assert re.search(message, err), err
    assert not out_file.exists()


def test_cli_refuses_float_class_indices_missing_files_and_wrong_options(tmp_path, capsys):
    params, inputs, targets = example(tmp_path, capsys, "rnn", "mse")
    out_file = tmp_path / "grads.npz"
    float_classes = write_npz(tmp_path / "classes.npz", Y=np.zeros((5, 2)))
    code, _, err = run_cli(capsys, *files_argv("rnn", "ce", params, inputs, float_classes, out_file))
    assert code == 2 and "'Y' has dtype float64, expected an integer array" in err
    code, _, err = run_cli(capsys, *files_argv("rnn", "mse", params, tmp_path / "nope.npz", targets, out_file))
    assert code == 2 and "inputs file" in err and "does not exist" in err
    code, _, err = run_cli(capsys, "--variant", "rnn", "--params", params)
    assert code == 2 and "missing --inputs, --targets" in err
    code, _, err = run_cli(capsys, *files_argv("rnn", "mse", params, inputs, targets, out_file), "--f-c", "identity")
    assert code == 2 and "--f-c is an activation of the paper cell" in err
    assert not out_file.exists()


def test_cli_runs_as_a_program(tmp_path):
    python = [sys.executable, "-m", "lstm", "gradients", "--variant", "paper"]
    made = subprocess.run(python + ["--example", str(tmp_path)], capture_output=True, text=True, timeout=120)
    assert made.returncode == 0, made.stderr
    files = [str(tmp_path / f"{n}.npz") for n in ("params", "inputs", "targets")]
    done = subprocess.run(python + ["--params", files[0], "--inputs", files[1], "--targets", files[2],
                                    "--out", str(tmp_path / "g.npz")], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "w_omega" in done.stdout and (tmp_path / "g.npz").exists()
    bad = subprocess.run(python + ["--params", files[1], "--inputs", files[1], "--targets", files[2]],
                         capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and "parameters file" in bad.stderr and "Traceback" not in bad.stderr


def test_cli_reads_an_initial_state_file_and_checks_its_names_and_class_ranges(tmp_path, capsys):
    params, inputs, targets = example(tmp_path, capsys, "peephole", "ce")
    C0 = np.random.default_rng(2).standard_normal((2, 4))
    state = write_npz(tmp_path / "state.npz", C0=C0)
    out_file = tmp_path / "grads.npz"
    argv = files_argv("peephole", "ce", params, inputs, targets, out_file)
    code, out, err = run_cli(capsys, *argv, "--initial-state", state)
    assert code == 0, err
    from tinygraph.io import load_arrays
    value, expected = lstm.gradients("peephole", load_arrays(params), load_arrays(inputs)["X"],
                                     load_arrays(targets, kind="int")["Y"], loss="ce", initial_state={"C0": C0})
    assert f"= {value:.10g}" in out
    assert_same(load_arrays(out_file), expected, rtol=0, atol=0)
    out_file.unlink()
    code, _, err = run_cli(capsys, *argv, "--initial-state", write_npz(tmp_path / "s2.npz", s0=C0))
    assert code == 2 and "unexpected ['s0'] (expected some of ['H0', 'C0'])" in err
    code, _, err = run_cli(capsys, *argv, "--initial-state", write_npz(tmp_path / "s3.npz", C0=C0.T))
    assert code == 2 and "'C0' has shape (4, 2), expected (2, 4)" in err
    too_big = write_npz(tmp_path / "classes.npz", Y=np.full((5, 2), 4))
    code, _, err = run_cli(capsys, *files_argv("peephole", "ce", params, inputs, too_big, out_file))
    assert code == 2 and "must lie in [0, 4), found 4 to 4" in err
    assert not out_file.exists()
