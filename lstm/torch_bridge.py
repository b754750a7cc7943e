"""A bridge to PyTorch: ``torch.nn.LSTM`` / ``nn.GRU`` / ``nn.RNN`` <-> our cells, same numbers.

For the student who trains in PyTorch and wants to see or check what happened
(``from_torch``), and for the model that has outgrown a teaching engine (``to_torch``).

- ``from_torch(module_or_state_dict)``: a unidirectional ``nn.LSTM`` (-> ``BlogLSTM``),
  ``nn.GRU`` (-> ``GRU``) or tanh ``nn.RNN`` (-> ``VanillaRNN``), any ``num_layers``
  (-> ``Stacked``), or its ``state_dict`` (the kind is read from the shapes: ``weight_ih_l0``
  has 4h rows for an LSTM, 3h for a GRU, h for an RNN). A state_dict of a larger model
  (``"lstm.weight_ih_l0"``, plus a readout ...) works too: the recurrent module's keys are
  found by their prefix, or given with ``prefix="lstm."``.
- ``to_torch(cell)``: the ``nn`` module computing the same function (float64 cells give
  float64 modules).

What the translation does, per layer l (PyTorch counts from 0, we from 1):

- PyTorch stacks the gates' rows in one matrix: LSTM i, f, g, o (g is our new memory C_i),
  GRU r, z, n. Ours keeps one matrix per gate.
- PyTorch computes x Wᵀ (weights are (out × in)); ours X W (in × out): every matrix is transposed.
- PyTorch has two biases per gate (b_ih + b_hh); they are only ever added, so ours keeps
  their sum (b_i = b_ii + b_hi). The exception is the GRU's candidate, where the reset gate
  multiplies the hidden side: b_nx = b_in and b_nh = b_hn stay apart.

Round trips: cell -> ``to_torch`` -> ``from_torch`` gives back the same arrays bit for bit
(``to_torch`` puts each summed bias in ``bias_ih`` and zeros in ``bias_hh``). Module ->
``from_torch`` -> ``to_torch`` gives the same weights and the same function; its biases
come back as one sum, not the original split (which no forward or backward pass can see).

PyTorch is optional: without it ``to_torch`` and reading a ``.pt`` file raise
``TorchMissing`` with the one-line hint ``INSTALL_HINT``; ``from_torch`` of a dict of
numpy arrays works without it.

>>> import numpy as np
>>> state = {"weight_ih_l0": np.ones((3, 2)), "weight_hh_l0": np.zeros((3, 3)),
...          "bias_ih_l0": np.ones(3), "bias_hh_l0": np.ones(3)}       # nn.RNN(2, 3)'s shapes
>>> cell = from_torch(state)
>>> type(cell).__name__, cell.parameters()["W_x"].shape, cell.parameters()["b"].value.tolist()
('VanillaRNN', (2, 3), [2.0, 2.0, 2.0])
"""
import re
from collections.abc import Mapping

import numpy as np

from .cells import GRU, BlogLSTM, Stacked, VanillaRNN

INSTALL_HINT = "this needs PyTorch, which is not installed: pip install torch==2.13.0 (the CPU build is enough)"


class TorchMissing(ImportError):
    """PyTorch is needed for this and is not installed (the message says how to install it)."""


def torch_or_hint():
    """The torch module, or ``TorchMissing`` with the install hint."""
    try:
        import torch
    except ImportError:
        raise TorchMissing(INSTALL_HINT) from None
    return torch


#: per kind of nn module: our cell, and our names of PyTorch's stacked gate blocks in its order
KINDS = {
    "LSTM": (BlogLSTM, ("i", "f", "c", "o")),
    "GRU": (GRU, ("r", "z", "n")),
    "RNN": (VanillaRNN, ("",)),
}
_MODES = {"LSTM": "LSTM", "GRU": "GRU", "RNN_TANH": "RNN"}


def _array(value):
    return value.detach().cpu().numpy() if hasattr(value, "detach") else np.asarray(value)


def _layer_parameters(kind, state, l, hidden):
    """Our parameter dict of layer l (0-based) from PyTorch's arrays."""
    gates = KINDS[kind][1]
    blocks = {side: np.split(state[f"weight_{side}_l{l}"], len(gates)) for side in ("ih", "hh")}
    zeros = np.zeros(len(gates) * hidden)
    bias = {side: np.split(state.get(f"bias_{side}_l{l}", zeros), len(gates)) for side in ("ih", "hh")}
    params = {}
    for k, g in enumerate(gates):
        suffix = f"_{g}" if g else "_"
        params[f"W{suffix}x"] = blocks["ih"][k].T
        params[f"W{suffix}h"] = blocks["hh"][k].T
        if kind == "GRU" and g == "n":            # the reset gate sits between b_in and b_hn
            params["b_nx"], params["b_nh"] = bias["ih"][k], bias["hh"][k]
        else:
            params[f"b{suffix}".rstrip("_")] = bias["ih"][k] + bias["hh"][k]
    return params


def _find_prefix(keys, prefix):
    if prefix is not None:
        if f"{prefix}weight_ih_l0" not in keys:
            raise ValueError(f"from_torch: no {prefix + 'weight_ih_l0'!r} in the state_dict; it has {sorted(keys)}")
        return prefix
    found = sorted(k[:-len("weight_ih_l0")] for k in keys if k.endswith("weight_ih_l0"))
    if not found:
        raise ValueError(f"from_torch: not a state_dict of nn.LSTM, nn.GRU or nn.RNN (no 'weight_ih_l0'); "
                         f"keys {sorted(keys)}")
    if len(found) > 1:
        raise ValueError(f"from_torch: the state_dict holds several recurrent modules {found}; "
                         f"choose one with prefix=")
    return found[0]


def _kind_of(state, prefix):
    rows, cols = state["weight_ih_l0"].shape[0], state["weight_hh_l0"].shape[1]
    kinds = {4: "LSTM", 3: "GRU", 1: "RNN"}
    if rows % cols or rows // cols not in kinds:
        raise ValueError(f"from_torch: {prefix + 'weight_ih_l0'!r} has {rows} rows for hidden size {cols}: "
                         f"expected 4h (LSTM), 3h (GRU) or h (RNN)")
    return kinds[rows // cols]


def _check_layer(kind, own, l, prefix):
    """PyTorch's shapes for layer l: weight_ih (G·h, d), weight_hh (G·h, h), biases (G·h,)."""
    blocks = len(KINDS[kind][1])
    w_hh = own.get(f"weight_hh_l{l}")
    if w_hh is None or w_hh.ndim != 2:
        raise ValueError(f"from_torch: {kind} layer {l} needs a 2-d {prefix}weight_hh_l{l}")
    h = w_hh.shape[1]
    d = own[f"weight_ih_l{l}"].shape[-1]
    want = {f"weight_ih_l{l}": (blocks * h, d), f"weight_hh_l{l}": (blocks * h, h),
            f"bias_ih_l{l}": (blocks * h,), f"bias_hh_l{l}": (blocks * h,)}
    for key, shape in want.items():
        if key in own and own[key].shape != shape:
            raise ValueError(f"from_torch: {prefix}{key} of an {kind} with hidden size {h} must have shape "
                             f"{shape}, got {own[key].shape}")


def from_torch(source, prefix=None, dtype="float64"):
    """Our cell with the numbers of ``source``: an ``nn.LSTM``, ``nn.GRU`` or ``nn.RNN``
    (tanh, unidirectional, no projection), or a state_dict of one (tensors or numpy arrays,
    possibly inside a larger model's state_dict: see the module docstring). One layer gives
    ``BlogLSTM`` / ``GRU`` / ``VanillaRNN``, more a ``Stacked`` of them. float64 by default
    (float32 weights widen exactly)."""
    kind = None
    if hasattr(source, "state_dict") and hasattr(source, "mode"):
        if getattr(source, "bidirectional", False):
            raise ValueError("from_torch: bidirectional modules are not supported (our cells run forward in time)")
        if getattr(source, "proj_size", 0):
            raise ValueError(f"from_torch: nn.LSTM with proj_size={source.proj_size} has no counterpart here")
        if source.mode not in _MODES:
            raise ValueError("from_torch: nn.RNN(nonlinearity='relu') has no counterpart here (VanillaRNN uses tanh)")
        kind, source = _MODES[source.mode], source.state_dict()
    if not isinstance(source, Mapping):
        raise TypeError(f"from_torch: give an nn.LSTM, nn.GRU, nn.RNN or a state_dict, got {type(source).__name__}")
    prefix = _find_prefix(list(source), prefix)
    own = {k[len(prefix):]: _array(v) for k, v in source.items() if k.startswith(prefix)}
    unknown = [k for k in own if not re.fullmatch(r"(weight|bias)_(ih|hh)_l\d+", k)]
    if any(k.endswith("_reverse") for k in own) or any(k.startswith("weight_hr") for k in own):
        raise ValueError("from_torch: bidirectional modules and proj_size are not supported")
    if unknown:
        raise ValueError(f"from_torch: unexpected keys {[prefix + k for k in unknown]} in the state_dict")
    kind = kind or _kind_of(own, prefix)
    cls = KINDS[kind][0]
    layers = []
    while f"weight_ih_l{len(layers)}" in own:
        l = len(layers)
        _check_layer(kind, own, l, prefix)
        w_ih, w_hh = own[f"weight_ih_l{l}"], own[f"weight_hh_l{l}"]
        hidden = w_hh.shape[1]
        params = _layer_parameters(kind, own, l, hidden)
        layers.append(cls(w_ih.shape[1], hidden, dtype=dtype, parameters=params))
    return layers[0] if len(layers) == 1 else Stacked(layers)


def to_torch(cell):
    """The ``nn.LSTM`` / ``nn.GRU`` / ``nn.RNN`` computing what ``cell`` computes (a
    ``BlogLSTM``, ``GRU``, ``VanillaRNN`` or a ``Stacked`` of one kind with equal hidden
    sizes), in the cell's dtype. Inputs are time first (T, r, d), as ``cell.unroll`` takes them."""
    layers = cell.layers
    kinds = {type(c) for c in layers}
    kind = next((k for k, (cls, _) in KINDS.items() if kinds == {cls}), None)
    if kind is None:
        names = sorted(c.__name__ for c in kinds)
        raise ValueError(f"to_torch: PyTorch has nn.LSTM (BlogLSTM), nn.GRU and nn.RNN (VanillaRNN), one kind "
                         f"per module; this cell has {names} (PaperLSTM's scalar gates and PeepholeLSTM's "
                         f"peepholes have no nn module)")
    h = layers[0].hidden_size
    if any(c.hidden_size != h for c in layers):
        raise ValueError(f"to_torch: every layer of an nn module has one hidden size; these have "
                         f"{[c.hidden_size for c in layers]}")
    torch = torch_or_hint()
    module_class = getattr(torch.nn, kind)
    dtype = torch.float64 if cell.dtype == np.float64 else torch.float32
    module = module_class(cell.input_size, h, num_layers=len(layers), dtype=dtype)
    gates = KINDS[kind][1]
    with torch.no_grad():
        for l, c in enumerate(layers):
            p = {k: n.value for k, n in c.parameters().items()}
            names = [f"_{g}" if g else "_" for g in gates]
            bias_ih = [p["b_nx"] if kind == "GRU" and g == "n" else p[f"b{s}".rstrip("_")] for g, s in zip(gates, names)]
            bias_hh = [p["b_nh"] if kind == "GRU" and g == "n" else np.zeros(h) for g in gates]
            values = {"weight_ih": [p[f"W{s}x"].T for s in names], "weight_hh": [p[f"W{s}h"].T for s in names],
                      "bias_ih": bias_ih, "bias_hh": bias_hh}
            for name, blocks in values.items():
                getattr(module, f"{name}_l{l}").copy_(torch.tensor(np.concatenate(blocks)))
    return module


def load_state_dict(path):
    """A state_dict saved with ``torch.save(module.state_dict(), path)``, read with
    ``weights_only=True`` (no pickled code runs), on the CPU. A file that is missing or not
    written by ``torch.save`` is a ``ValueError`` naming it."""
    torch = torch_or_hint()
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise ValueError(f"{path}: no such file") from None
    except Exception as err:            # torch.load raises many kinds (unpickling, zip, runtime)
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise ValueError(f"{path}: not a state_dict saved with torch.save ({first})") from None
    if not isinstance(state, Mapping):
        raise ValueError(f"{path}: holds a {type(state).__name__}, not a state_dict; save one with "
                         f"torch.save(model.state_dict(), path)")
    return state


def load_cell(path, dtype="float64"):
    """``from_torch`` of the state_dict in the ``torch.save`` file ``path``; errors name the file."""
    state = load_state_dict(path)
    try:
        return from_torch(state, dtype=dtype)
    except ValueError as err:
        raise ValueError(f"{path}: {err}") from None
