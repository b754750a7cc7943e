"""The losses over an unrolled sequence: softmax cross-entropy and squared error.

Both take the per-step outputs (a ``Run`` or a list of T Nodes: H_t, z_h or h_t) and the
targets of all steps as one array whose first axis is time, and return the scalar loss
Node "L" = Σ_t L_t. Each step's term "L_t" and the target tensors sit in scope "loss".

Why not seed 001's loss as printed? The blog writes L = −(T × log(H))·1 with T the
one-hot truth and H the LSTM's output. But H = O×tanh(C_t) lies in (−1, 1): log(H)
is undefined (NaN) wherever H ≤ 0, and even where it is defined the rows of H are not
a probability distribution. ``ce`` makes it well defined the standard way: H_t are
logits, softmax turns each row into probabilities, and

    L = Σ_t Σ_rows −log softmax(H_t)[row, target[t, row]]

with the targets given as class indices (the position of the 1 in the blog's T).

>>> import numpy as np
>>> import tinygraph as tg
>>> H = [tg.tensor(np.zeros((5, 4)), name="H_t")] * 2     # T=2 steps, r=5 rows, h=4 classes
>>> L = ce(H, np.zeros((2, 5), dtype=int))                # zero logits: uniform softmax, 10 × log 4
>>> bool(np.isclose(L.item(), 10 * np.log(4)))
True
"""
import numpy as np

import tinygraph as tg

#: What each output is compared with in ``mse`` (the target tensors' names in drawings).
TARGET_NAMES = {"H_t": "Y_t", "z_h": "y", "h_t": "y_t"}


def _outputs(outputs, loss):
    nodes = list(outputs.outputs if hasattr(outputs, "outputs") else outputs)
    if not nodes or not all(isinstance(n, tg.Node) for n in nodes):
        raise TypeError(f"{loss}: outputs must be a Run or a non-empty list of Nodes (one per time step)")
    shapes = {n.shape for n in nodes}
    if len(shapes) != 1:
        raise tg.ShapeError(f"{loss}: the per-step outputs must all have one shape, got {sorted(shapes)}")
    return nodes


def _target_array(targets, loss):
    arr = targets.value if isinstance(targets, tg.Node) else np.asarray(targets)
    if arr.dtype.kind not in "biuf":
        raise tg.DtypeError(f"{loss}: targets must be a numeric array, got dtype {arr.dtype}")
    return arr


def _total(terms):
    with tg.scope("loss"):
        return tg.sum(tg.stack(terms), name="L")


def ce(outputs, targets):
    """Softmax cross-entropy with the outputs as logits, summed over steps and rows.

    ``targets`` are class indices: shape (T, r) for batched outputs H_t (r × h), shape (T,)
    for PaperLSTM's z_h (D,); each index lies in [0, h). Returns the scalar Node "L".
    Seed 001's printed −(T × log H)·1 is not used: it takes the log of H = O×tanh(C_t),
    which can be ≤ 0 (see the module docstring).
    """
    nodes = _outputs(outputs, "ce")
    t = _target_array(targets, "ce")
    T, out = len(nodes), nodes[0]
    want = (T,) + out.shape[:-1]
    if t.dtype.kind not in "iu":
        hint = " (they hold whole numbers: convert with targets.astype(int))" if (
            t.dtype.kind == "f" and np.all(np.isfinite(t)) and np.all(t == np.round(t))) else ""
        raise tg.DtypeError(f"ce: targets must be integer class indices of shape {want}, got dtype {t.dtype}{hint}")
    if t.shape != want:
        raise tg.ShapeError(f"ce: targets must have shape {want} (T={T} steps, one class index per row of "
                            f"{out.label()!r} {out.shape}), got {t.shape}")
    classes = out.shape[-1]
    if t.size and (t.min() < 0 or t.max() >= classes):
        raise ValueError(f"ce: class indices must lie in [0, {classes}) ({out.label()!r} has {classes} "
                         f"entries per row); got values from {t.min()} to {t.max()}")
    with tg.scope("loss"):
        terms = [tg.cross_entropy(node, t[k], name="L_t") for k, node in enumerate(nodes)]
    return _total(terms)


def mse(outputs, targets):
    """Squared error L = Σ_t ½‖H_t − Y_t‖², summed over every entry.

    ``targets`` has shape (T,) + the output's shape: (T, r, h) for batched cells,
    (T, D) for PaperLSTM (L = Σ_t ½‖z_h(t) − y(t)‖²). Returns the scalar Node "L".
    """
    nodes = _outputs(outputs, "mse")
    y = _target_array(targets, "mse")
    T, out = len(nodes), nodes[0]
    want = (T,) + out.shape
    if y.shape != want:
        raise tg.ShapeError(f"mse: targets must have shape {want} (T={T} steps of {out.label()!r} {out.shape}), "
                            f"got {y.shape}")
    if y.dtype.kind == "f" and not np.isfinite(y).all():
        raise ValueError("mse: targets contain NaN or Inf")
    y = y.astype(out.dtype)
    terms = []
    with tg.scope("loss"):
        for k, node in enumerate(nodes):
            target = tg.tensor(y[k], name=TARGET_NAMES.get(node.name, "Y_t"))
            diff = tg.sub(node, target, name=f"{node.label()} − {target.name}")
            squared = tg.sum(tg.mul(diff, diff, name=f"({diff.name})²"), name=f"‖{diff.name}‖²")
            terms.append(tg.mul(squared, 0.5, name="L_t"))
    return _total(terms)


#: The losses by the names ``lstm.gradients`` and the command line use.
LOSSES = {"ce": ce, "mse": mse}
