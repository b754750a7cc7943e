"""lstm.torch_bridge: nn.LSTM / nn.GRU / nn.RNN <-> our cells. Same outputs and, for the
same loss, the same gradients as PyTorch's autograd to 1e-10 in float64 (PyTorch's gradients
mapped back by hand in the test, gate by gate); exact round trips; clear refusals; one line
saying how to install PyTorch when it is missing."""
import sys

import numpy as np
import pytest

import tinygraph as tg
from lstm import torch_bridge
from lstm.cells import GRU, BlogLSTM, PaperLSTM, Stacked, VanillaRNN, make_cell
from lstm.losses import mse

#: our names of PyTorch's stacked blocks, written out here independently of the bridge
BLOCKS = {"LSTM": ["i", "f", "c", "o"], "GRU": ["r", "z", "n"], "RNN": [None]}


def ours_by_hand(kind, torch_grads, l, h):
    """What our gradients must be, from PyTorch's: W = block.T; a summed bias gets the
    gradient of either of PyTorch's two biases (they are equal); the GRU's n biases stay apart."""
    expected = {}
    for k, g in enumerate(BLOCKS[kind]):
        rows = slice(k * h, (k + 1) * h)
        w = "W_" + (g or "")
        expected[w + "x"] = torch_grads[f"weight_ih_l{l}"][rows].T
        expected[w + "h"] = torch_grads[f"weight_hh_l{l}"][rows].T
        if kind == "GRU" and g == "n":
            expected["b_nx"], expected["b_nh"] = torch_grads[f"bias_ih_l{l}"][rows], torch_grads[f"bias_hh_l{l}"][rows]
        else:
            b = "b_" + g if g else "b"
            np.testing.assert_allclose(torch_grads[f"bias_ih_l{l}"][rows], torch_grads[f"bias_hh_l{l}"][rows])
            expected[b] = torch_grads[f"bias_ih_l{l}"][rows]
    return expected


@pytest.mark.parametrize("layers", [1, 2])
@pytest.mark.parametrize("kind", ["LSTM", "GRU", "RNN"])
def test_from_torch_gives_pytorchs_outputs_and_gradients_to_1e_10(kind, layers):
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    d, h, r, T = 3, 4, 2, 5
    net = getattr(torch.nn, kind)(d, h, num_layers=layers, dtype=torch.float64)
    cell = torch_bridge.from_torch(net)
    assert type(cell) is ({"LSTM": BlogLSTM, "GRU": GRU, "RNN": VanillaRNN}[kind] if layers == 1 else Stacked)
    rng = np.random.default_rng(1)
    X, Y = rng.standard_normal((T, r, d)), rng.uniform(-0.9, 0.9, (T, r, h))
    out, _ = net(torch.tensor(X))
    (0.5 * ((out - torch.tensor(Y)) ** 2).sum()).backward()
    run = cell.unroll(X)
    L = mse(run, Y)
    tg.backward(L)
    np.testing.assert_allclose(np.stack([o.value for o in run.outputs]), out.detach().numpy(), rtol=1e-12, atol=1e-14)
    torch_grads = {k: p.grad.numpy() for k, p in net.named_parameters()}
    params = cell.parameters()
    for l in range(layers):
        for key, g in ours_by_hand(kind, torch_grads, l, h).items():
            name = key if layers == 1 else f"layer{l + 1}.{key}"
            np.testing.assert_allclose(params[name].grad, g, rtol=1e-10, atol=1e-13, err_msg=name)


@pytest.mark.parametrize("make", [lambda: BlogLSTM(3, 4, seed=1), lambda: GRU(2, 3, seed=2),
                                  lambda: VanillaRNN(3, 2, seed=3), lambda: make_cell("gru", 3, 4, num_layers=3),
                                  lambda: make_cell("blog", 2, 5, num_layers=2, dtype="float32")],
                         ids=["blog", "gru", "rnn", "gru x3", "blog x2 float32"])
def test_cell_to_torch_and_back_is_exact(make):
    pytest.importorskip("torch")
    cell = make()
    back = torch_bridge.from_torch(torch_bridge.to_torch(cell), dtype=cell.dtype)
    assert type(back) is type(cell) and list(back.parameters()) == list(cell.parameters())
    for key, node in cell.parameters().items():
        assert back.parameters()[key].value.dtype == node.value.dtype
        np.testing.assert_array_equal(back.parameters()[key].value, node.value, err_msg=key)


def test_torch_module_to_cell_and_back_keeps_the_weights_and_the_function():
    torch = pytest.importorskip("torch")
    torch.manual_seed(3)
    net = torch.nn.LSTM(3, 4, num_layers=2)                    # float32, PyTorch's default
    again = torch_bridge.to_torch(torch_bridge.from_torch(net))
    assert again.weight_ih_l1.dtype == torch.float64
    for name, p in net.named_parameters():
        q = getattr(again, name).detach().numpy()
        if name.startswith("weight"):
            np.testing.assert_array_equal(q, p.detach().numpy().astype(np.float64))
    for l in range(2):
        summed = getattr(net, f"bias_ih_l{l}") + getattr(net, f"bias_hh_l{l}")
        np.testing.assert_allclose(getattr(again, f"bias_ih_l{l}").detach().numpy(), summed.detach().numpy(),
                                   rtol=1e-7)
        assert not getattr(again, f"bias_hh_l{l}").detach().numpy().any()
    x = torch.randn(5, 2, 3, dtype=torch.float64)
    np.testing.assert_allclose(again(x)[0].detach().numpy(), net.double()(x)[0].detach().numpy(), rtol=1e-6)


def test_a_saved_state_dict_of_a_larger_model_is_read_with_weights_only(tmp_path):
    torch = pytest.importorskip("torch")

    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.rnn = torch.nn.GRU(3, 4, num_layers=2)
            self.head = torch.nn.Linear(4, 1)

    net = Net()
    torch.save(net.state_dict(), tmp_path / "model.pt")
    cell = torch_bridge.from_torch(torch_bridge.load_state_dict(tmp_path / "model.pt"))
    assert isinstance(cell, Stacked) and [type(c) for c in cell.layers] == [GRU, GRU]
    np.testing.assert_array_equal(cell.parameters()["layer2.W_nh"].value,
                                  net.rnn.weight_hh_l1.detach().numpy()[8:].T.astype(np.float64))
    torch.save({"net": net.state_dict(), "epoch": 3}, tmp_path / "checkpoint.pt")
    with pytest.raises(ValueError, match="not a state_dict of nn.LSTM, nn.GRU or nn.RNN"):
        torch_bridge.from_torch(torch_bridge.load_state_dict(tmp_path / "checkpoint.pt"))


def test_modules_and_cells_without_a_counterpart_are_refused_clearly():
    torch = pytest.importorskip("torch")
    for module, words in [(torch.nn.LSTM(2, 3, bidirectional=True), "bidirectional"),
                          (torch.nn.LSTM(2, 3, proj_size=2), "proj_size=2"),
                          (torch.nn.RNN(2, 3, nonlinearity="relu"), "relu")]:
        with pytest.raises(ValueError, match=words):
            torch_bridge.from_torch(module)
    for cell, words in [(PaperLSTM(2, 3), "PaperLSTM"), (make_cell("peephole", 2, 3), "PeepholeLSTM"),
                        (Stacked([GRU(2, 3), BlogLSTM(3, 3)]), r"\['BlogLSTM', 'GRU'\]"),
                        (Stacked([GRU(2, 3), GRU(3, 4)]), r"one hidden size; these have \[3, 4\]")]:
        with pytest.raises(ValueError, match=words):
            torch_bridge.to_torch(cell)
    two = {**{f"a.{k}": v for k, v in torch.nn.GRU(2, 3).state_dict().items()},
           **{f"b.{k}": v for k, v in torch.nn.GRU(2, 3).state_dict().items()}}
    with pytest.raises(ValueError, match=r"several recurrent modules \['a.', 'b.'\]; choose one with prefix="):
        torch_bridge.from_torch(two)
    assert isinstance(torch_bridge.from_torch(two, prefix="b."), GRU)


def test_state_dicts_of_numpy_arrays_need_no_torch_and_bad_shapes_are_named():
    state = {"weight_ih_l0": np.ones((8, 2)), "weight_hh_l0": np.ones((8, 2)),
             "bias_ih_l0": np.ones(8), "bias_hh_l0": np.ones(8)}
    assert isinstance(torch_bridge.from_torch(state), BlogLSTM)
    with pytest.raises(ValueError, match=r"'weight_ih_l0' has 5 rows for hidden size 2"):
        torch_bridge.from_torch({**state, "weight_ih_l0": np.ones((5, 2))})
    with pytest.raises(ValueError, match=r"bias_hh_l0 of an LSTM with hidden size 2 must have shape \(8,\), got \(6,\)"):
        torch_bridge.from_torch({**state, "bias_hh_l0": np.ones(6)})
    with pytest.raises(TypeError, match="give an nn.LSTM, nn.GRU, nn.RNN or a state_dict, got list"):
        torch_bridge.from_torch([1, 2])


def test_without_torch_one_line_says_how_to_install_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)         # import torch now raises ImportError
    with pytest.raises(torch_bridge.TorchMissing) as info:
        torch_bridge.to_torch(BlogLSTM(2, 3))
    message = str(info.value)
    assert "pip install torch==2.13.0" in message and "\n" not in message
    with pytest.raises(torch_bridge.TorchMissing):
        torch_bridge.load_state_dict("model.pt")
