"""The command line with stacked layers, the GRU and --from-torch: gradients, render, train."""
import numpy as np
import pytest

from lstm.__main__ import main
from lstm.cells import make_cell


def run(capsys, command, *argv):
    code = main([command, *map(str, argv)])
    out, err = capsys.readouterr()
    return code, out, err


def load(path):
    """An .npz file's arrays as a dict, the file closed again (an open one warns when collected)."""
    with np.load(path) as archive:
        return dict(archive)


def test_gradients_cli_with_layers_writes_examples_and_computes_every_layers_gradients(tmp_path, capsys):
    code, out, _ = run(capsys, "gradients", "--variant", "gru", "--layers", "2", "--example", tmp_path)
    assert code == 0 and "layer2.W_nh" in out and "--layers 2" in out
    argv = [a for name in ("params", "inputs", "targets") for a in (f"--{name}", tmp_path / f"{name}.npz")]
    code, out, err = run(capsys, "gradients", "--variant", "gru", "--layers", "2", *argv, "--out", tmp_path / "g.npz")
    assert code == 0, err
    assert out.startswith("variant gru × 2 layers, loss mse = ")
    grads = load(tmp_path / "g.npz")
    assert "layer1.W_rx" in grads and "layer2.H0" in grads and grads["X"].shape == (5, 2, 3)
    code, _, err = run(capsys, "gradients", "--variant", "gru", *argv)            # forgot --layers
    assert code == 2 and "holds 2 layers (layer1, layer2): add --layers 2" in err and len(err.splitlines()) == 1


def test_gradients_cli_from_torch_equals_the_same_numbers_given_as_params(tmp_path, capsys):
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    net = torch.nn.LSTM(3, 4, num_layers=2)
    torch.save(net.state_dict(), tmp_path / "model.pt")
    rng = np.random.default_rng(0)
    np.savez(tmp_path / "inputs.npz", X=rng.standard_normal((4, 2, 3)))
    np.savez(tmp_path / "targets.npz", Y=rng.uniform(-0.9, 0.9, (4, 2, 4)))
    data = ["--inputs", tmp_path / "inputs.npz", "--targets", tmp_path / "targets.npz"]
    code, out, err = run(capsys, "gradients", "--from-torch", tmp_path / "model.pt", *data, "--out", tmp_path / "a.npz")
    assert code == 0, err
    assert out.startswith(f"variant blog × 2 layers (from {tmp_path / 'model.pt'}), loss mse")
    from lstm.torch_bridge import from_torch
    np.savez(tmp_path / "params.npz", **{k: p.value for k, p in from_torch(net).parameters().items()})
    code, _, err = run(capsys, "gradients", "--variant", "blog", "--layers", "2", "--params", tmp_path / "params.npz",
                       *data, "--out", tmp_path / "b.npz")
    assert code == 0, err
    a, b = load(tmp_path / "a.npz"), load(tmp_path / "b.npz")
    assert sorted(a) == sorted(b)
    for key in a:
        np.testing.assert_array_equal(a[key], b[key])
    code, _, err = run(capsys, "gradients", "--from-torch", tmp_path / "model.pt", "--variant", "gru", *data)
    assert code == 2 and "--variant gru does not match" in err
    (tmp_path / "junk.pt").write_bytes(b"not a torch file")
    code, _, err = run(capsys, "gradients", "--from-torch", tmp_path / "junk.pt", *data)
    assert code == 2 and "not a state_dict saved with torch.save" in err and len(err.splitlines()) == 1


def test_from_torch_without_torch_says_in_one_line_how_to_install_it(tmp_path, capsys, monkeypatch):
    import sys
    monkeypatch.setitem(sys.modules, "torch", None)
    code, _, err = run(capsys, "gradients", "--from-torch", tmp_path / "model.pt", "--inputs", "x", "--targets", "y")
    assert code == 2 and err.strip() == "error: this needs PyTorch, which is not installed: pip install torch==2.13.0 (the CPU build is enough)"


def test_train_cli_trains_a_stacked_gru_and_starts_from_a_torch_model(tmp_path, capsys):
    code, out, err = run(capsys, "train", "--model", "gru", "--layers", "2", "--hidden", "4", "--steps", "3",
                         "--seq-len", "4", "--no-progress", "--out", tmp_path / "a")
    assert code == 0, err
    assert out.startswith("adding/grux2 T=4 h=4")
    saved = load(tmp_path / "a" / "parameters.npz")
    assert "layer2.W_nh" in saved and "W_y" in saved
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    net = torch.nn.LSTM(2, 5, num_layers=2)                # the adding task's inputs have 2 channels
    torch.save(net.state_dict(), tmp_path / "model.pt")
    code, out, err = run(capsys, "train", "--from-torch", tmp_path / "model.pt", "--steps", "0", "--seq-len", "4",
                         "--no-progress", "--out", tmp_path / "b")
    assert code == 0, err
    assert out.startswith("adding/blogx2 T=4 h=5")
    saved = load(tmp_path / "b" / "parameters.npz")
    np.testing.assert_array_equal(saved["layer2.W_fh"], net.weight_hh_l1.detach().numpy()[5:10].T.astype(np.float64))
    code, _, err = run(capsys, "train", "--from-torch", tmp_path / "model.pt", "--model", "gru", "--steps", "0")
    assert code == 2 and "--model gru does not match" in err and len(err.splitlines()) == 1
    code, _, err = run(capsys, "train", "--task", "chars", "--from-torch", tmp_path / "model.pt", "--steps", "0")
    assert code == 2 and "takes inputs of size 2, the chars task gives" in err


def test_render_cli_draws_a_stacked_grid_and_a_saved_torch_model(tmp_path, capsys):
    code, out, err = run(capsys, "render", "--variant", "gru", "--layers", "2", "--view", "unrolled", "--steps", "2",
                         "--format", "dot", "-o", tmp_path / "g.dot")
    assert code == 0, err
    assert "gru × 2 layers, unrolled view, 2 steps" in out and "layer=2" in (tmp_path / "g.dot").read_text()
    code, _, err = run(capsys, "render", "--variant", "blog", "--layers", "2", "--view", "cell")
    assert code == 2 and "--view unrolled" in err and len(err.splitlines()) == 1
    torch = pytest.importorskip("torch")
    torch.save(torch.nn.GRU(3, 4, num_layers=2).state_dict(), tmp_path / "model.pt")
    code, out, err = run(capsys, "render", "--from-torch", tmp_path / "model.pt", "--view", "unrolled", "--steps", "6",
                         "--grads", "-o", tmp_path / "model.svg")
    assert code == 0, err
    assert f"gru × 2 layers from {tmp_path / 'model.pt'}, unrolled view, 6 steps, gradients" in out
    assert (tmp_path / "model.svg").read_text().count("layer ") >= 2
