"""Check a hand derivation: the loss and every gradient of a cell, from plain arrays.

``gradients(variant, params, inputs, targets, loss="mse")`` builds the cell with the
given parameters, unrolls it over the inputs, applies the loss and runs backward. It
returns the loss (a float) and a dict of numpy arrays: one gradient per parameter
(same keys as ``params``), for the inputs (key "X", or "x" for the paper cell, shaped
like ``inputs``) and for the initial state ("H0", "C0" / "z_h0", "s0" / "h0").
With ``layers=L`` the cell is L stacked layers and the parameters and initial states are
keyed per layer ("layer1.W_ix", "layer2.H0", ...).

>>> import numpy as np
>>> from lstm.cells import VanillaRNN
>>> params = {k: p.value for k, p in VanillaRNN(2, 3, seed=0).parameters().items()}
>>> X, Y = np.ones((4, 1, 2)), np.zeros((4, 1, 3))         # T=4 steps, r=1 row, d=2
>>> loss, grads = gradients("rnn", params, X, Y, loss="mse")
>>> list(grads), grads["X"].shape
(['W_x', 'W_h', 'b', 'X', 'h0'], (4, 1, 2))

Everything runs in float64. Bad arguments raise ``ValueError`` (``tg.ShapeError`` for
shapes) naming the argument, the array, the expected and the given shape.
"""
import numpy as np

import tinygraph as tg

from .cells import VARIANTS, Stacked, check_arrays
from .losses import LOSSES

#: The parameter whose shape tells each variant's sizes (input size, hidden size).
SIZE_KEY = {"blog": "W_ix", "peephole": "W_ix", "rnn": "W_x", "paper": "W_c", "gru": "W_rx"}


def cell_sizes(variant, params):
    """(input size, hidden size) read from the shape of one parameter: W_ix / W_x is
    (d × h); the paper's W_c is (N+D+1) × D."""
    cls = VARIANTS[variant]
    key = SIZE_KEY[variant]
    if not isinstance(params, dict):
        raise TypeError(f"lstm.gradients: params must be a dict of arrays keyed {list(cls.PARAMETERS)}, "
                        f"got {type(params).__name__}")
    if key not in params:
        raise ValueError(f"lstm.gradients: params for {variant!r} must hold {list(cls.PARAMETERS)}; "
                         f"missing {[k for k in cls.PARAMETERS if k not in params]}")
    shape = np.shape(params[key])
    if variant == "paper":
        if len(shape) != 2 or shape[0] < shape[1] + 2 or shape[1] < 1:
            raise tg.ShapeError(f"lstm.gradients: params 'W_c' must have shape (N+D+1, D) with N, D >= 1, "
                                f"got {shape}")
        return shape[0] - shape[1] - 1, shape[1]
    if len(shape) != 2 or 0 in shape:
        raise tg.ShapeError(f"lstm.gradients: params {key!r} must have shape (d, h) with d, h >= 1, got {shape}")
    return shape


def layer_parameters(variant, params, layers):
    """Split ``params`` keyed "layer1.W_ix", ... into one dict per layer (keys without the
    prefix), refusing missing layers and keys of no layer; ``layers`` = 1 takes ``params`` as is."""
    if layers == 1:
        layered = sorted({k.partition(".")[0] for k in params if k.startswith("layer")}) if isinstance(params, dict) else []
        if layered:
            raise ValueError(f"lstm.gradients: params keyed per layer ({', '.join(layered)}): give layers={len(layered)}")
        return [params]
    if not isinstance(params, dict):
        raise TypeError(f"lstm.gradients: params must be a dict of arrays keyed 'layer1.{next(iter(VARIANTS[variant].PARAMETERS))}', "
                        f"..., got {type(params).__name__}")
    split = [{} for _ in range(layers)]
    stray = []
    for key, value in params.items():
        head, _, rest = key.partition(".")
        l = head[len("layer"):]
        if head.startswith("layer") and l.isdigit() and 1 <= int(l) <= layers and rest:
            split[int(l) - 1][rest] = value
        else:
            stray.append(key)
    if stray:
        raise ValueError(f"lstm.gradients: params for {layers} layers of {variant!r} are keyed 'layer1.KEY' to "
                         f"'layer{layers}.KEY'; unexpected {stray}")
    return split


def build_cell(variant, params, layers=1, **options):
    """The cell (a ``Stacked`` one for ``layers`` > 1) whose sizes fit ``params``, with those
    parameters set; every problem is a ``ValueError`` naming the array and the shapes."""
    if isinstance(layers, bool) or not isinstance(layers, (int, np.integer)) or layers < 1:
        raise ValueError(f"lstm.gradients: layers must be a positive integer, got {layers!r}")
    cells = []
    for l, mine in enumerate(layer_parameters(variant, params, layers), start=1):
        try:
            input_size, hidden_size = cell_sizes(variant, mine)
        except (ValueError, TypeError) as err:
            raise type(err)(str(err).replace("params ", f"params of layer {l} ") if layers > 1 else str(err)) from None
        cell = VARIANTS[variant](input_size, hidden_size, dtype="float64", **options)
        expected = cell.parameter_shapes(input_size, hidden_size)
        what = f"lstm.gradients: params for {variant!r}" + (f", layer {l}" if layers > 1 else "")
        problems = check_arrays(mine, expected, what=what)
        if problems:
            raise ValueError("\n".join(problems))
        cell.set_parameters(mine)
        cells.append(cell)
    return cells[0] if layers == 1 else Stacked(cells)


def _inputs(cell, inputs):
    arr = np.asarray(inputs)
    want = cell.input_shape_text(sequence=True)
    if arr.dtype.kind != "f":
        raise tg.DtypeError(f"lstm.gradients: inputs must be a float array of shape {want}, got dtype {arr.dtype}")
    ndim = len(cell.input_shape(1)) + 1
    if arr.ndim != ndim or arr.shape[0] < 1 or arr.shape[-1] != cell.input_size or 0 in arr.shape:
        raise tg.ShapeError(f"lstm.gradients: inputs must have shape {want} with T, r >= 1, got {arr.shape}")
    if not np.isfinite(arr).all():
        raise ValueError("lstm.gradients: inputs contain NaN or Inf")
    return arr.astype(np.float64)


def _initial_state(cell, given, batch):
    given = {} if given is None else given
    if not isinstance(given, dict):
        raise TypeError(f"lstm.gradients: initial_state must be a dict keyed {list(cell.STATE)} (or None), "
                        f"got {type(given).__name__}")
    unknown = [k for k in given if k not in cell.STATE]
    if unknown:
        raise ValueError(f"lstm.gradients: unknown initial state {unknown}; expected keys {list(cell.STATE)}")
    shapes = cell.state_shapes(batch)
    expected = {k: shapes[k] for k in given}
    problems = check_arrays(given, expected, what="lstm.gradients: initial_state")
    if problems:
        raise ValueError("\n".join(problems))
    # copies: the graph freezes what it is given, and the caller's arrays must stay theirs
    return {k: tg.parameter(np.array(given.get(k, np.zeros(shape)), dtype=np.float64), name=k)
            for k, shape in shapes.items()}


def gradients(variant, params, inputs, targets, loss="mse", initial_state=None, layers=1, **options):
    """The loss and its gradients for one unrolled sequence, as numpy arrays.

    - ``variant``: "blog", "paper", "peephole", "rnn" or "gru" (see ``lstm.cells.VARIANTS``);
    - ``params``: dict key -> array with exactly the cell's parameter keys and shapes
      (the sizes are read from W_ix / W_x / W_rx / W_c); with ``layers`` = L > 1 the keys of
      every layer prefixed "layer1." ... "layerL." (a ``Stacked`` cell: layer l's output is
      layer l+1's input);
    - ``inputs``: (T, r, d) for blog, peephole, rnn; (T, N) for paper;
    - ``targets``: for "mse" the outputs' shape per step, (T, r, h) or (T, D); for "ce"
      integer class indices (T, r) or (T,);
    - ``initial_state``: optional dict of arrays ("H0", "C0" / "z_h0", "s0" / "h0"; per layer
      "layer1.H0", ...), zeros where missing;
    - ``options``: passed to the cell, e.g. ``f_iota="identity"`` for the paper cell.

    Returns ``(loss, grads)``: the loss as a float and a dict with a gradient for every
    parameter, for the inputs ("X" / "x", shaped like ``inputs``) and the initial state.
    """
    if variant not in VARIANTS:
        raise ValueError(f"lstm.gradients: unknown variant {variant!r}; choose one of {list(VARIANTS)}")
    if loss not in LOSSES:
        raise ValueError(f"lstm.gradients: unknown loss {loss!r}; choose one of {list(LOSSES)}")
    cell = build_cell(variant, params, layers, **options)
    X = _inputs(cell, inputs)
    batch = None if variant == "paper" else X.shape[1]
    state = _initial_state(cell, initial_state, batch)
    x_nodes = [tg.parameter(x_t, name=cell.INPUT) for x_t in X]
    run = cell.unroll(x_nodes, initial_state=state)
    L = LOSSES[loss](run, targets)
    weights = list(cell.parameters().values())
    wrt = weights + x_nodes + list(state.values())
    found = tg.grad(L, wrt)
    n = len(weights)
    grads = dict(zip(cell.parameters(), found[:n]))
    grads[cell.INPUT] = np.stack(found[n:n + len(x_nodes)])
    grads.update(zip(state, found[n + len(x_nodes):]))
    return float(L.item()), grads
