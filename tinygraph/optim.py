"""Optimizers: plain numpy updates of parameter Nodes.

A training step reads each parameter's ``.grad`` (filled by ``tg.backward``) and gives the
parameter a new value with ``node.assign``: values and gradients stay read-only, nothing
is changed in place.

>>> import tinygraph as tg
>>> w = tg.parameter([3.0, -2.0], name="w")
>>> opt = SGD([w], lr=0.1, momentum=0.9)
>>> for _ in range(100):
...     opt.zero_grad()
...     tg.backward((w * w).sum())         # L = |w|², minimum at 0
...     opt.step()
>>> bool(abs(w.value).max() < 1e-2)
True

``clip_grad_norm(params, max_norm)`` rescales the gradients so their global norm is at
most ``max_norm`` (the clipping seed 001 mentions for exploding gradients);
``save(path, params)`` / ``load(path, params)`` store parameter values in a checked .npz.
"""
from numbers import Real

import numpy as np

from .io import ArrayFileError, load_arrays, save_arrays
from .node import Node, freeze


def _named_parameters(params, who):
    """(key, Node) pairs from a dict key -> Node or an iterable of Nodes (keyed by name)."""
    if isinstance(params, Node):
        params = [params]
    if isinstance(params, dict):
        pairs = list(params.items())
    else:
        pairs = []
        for node in params:
            if not isinstance(node, Node):
                raise TypeError(f"{who}: expects parameter Nodes, got {type(node).__name__}")
            pairs.append((node.name, node))
    if not pairs:
        raise ValueError(f"{who}: got no parameters")
    seen = set()
    for key, node in pairs:
        if not isinstance(node, Node):
            raise TypeError(f"{who}: {key!r} is a {type(node).__name__}, not a parameter Node")
        if node.op is not None or not node.requires_grad:
            kind = f"computed by {node.op.name}" if node.op is not None else "a tensor (no gradient)"
            raise ValueError(f"{who}: {key!r} is {kind}; only tg.parameter leaves can be optimized")
        if id(node) in seen:
            raise ValueError(f"{who}: parameter {key!r} is given twice")
        seen.add(id(node))
    return pairs


def _gradient(key, node, who):
    g = node.grad
    if g is None:
        return None
    if g.shape != node.shape:
        raise ValueError(f"{who}: gradient of {key!r} has shape {g.shape}, parameter has shape {node.shape}")
    if not np.isfinite(g).all():
        raise FloatingPointError(f"{who}: gradient of {key!r} {node.shape} holds NaN/Inf; refusing to "
                                 f"update (try a smaller learning rate or clip_grad_norm)")
    return g


class Optimizer:
    """Base class: holds the parameters (a dict key -> Node, or a list of Nodes) and the
    learning rate; ``step()`` updates every parameter that has a gradient."""

    def __init__(self, params, lr):
        if not (isinstance(lr, Real) and np.isfinite(lr) and lr > 0):
            raise ValueError(f"{type(self).__name__}: lr must be a positive number, got {lr!r}")
        self.lr = float(lr)
        self.params = _named_parameters(params, type(self).__name__)
        self.state = {key: {} for key, _ in self.params}
        self.steps = 0

    def zero_grad(self):
        """Forget the gradients (backward accumulates; call this before each backward)."""
        for _, node in self.params:
            node.grad = None

    def step(self):
        """Update every parameter whose ``.grad`` is set, from that gradient."""
        who = f"{type(self).__name__}.step"
        grads = [(key, node, _gradient(key, node, who)) for key, node in self.params]
        self.steps += 1
        for key, node, g in grads:
            if g is not None:
                node.assign(self._update(self.state[key], node.value, g))

    def _update(self, state, value, g):
        raise NotImplementedError


class SGD(Optimizer):
    """Stochastic gradient descent with (heavy-ball) momentum, as PyTorch defines it:

        v ← μ v + g        (v = g on the first step)
        θ ← θ − lr v

    With ``momentum=0`` this is θ ← θ − lr g.
    """

    def __init__(self, params, lr=0.01, momentum=0.0):
        super().__init__(params, lr)
        if not 0.0 <= momentum < 1.0:
            raise ValueError(f"SGD: momentum must lie in [0, 1), got {momentum!r}")
        self.momentum = float(momentum)

    def _update(self, state, value, g):
        if self.momentum:
            v = state.get("velocity")
            v = g if v is None else self.momentum * v + g
            state["velocity"] = v
            g = v
        return value - self.lr * g


class Adam(Optimizer):
    """Adam (Kingma & Ba, 2015) with bias correction:

        m ← β1 m + (1 − β1) g          v ← β2 v + (1 − β2) g²
        θ ← θ − lr m̂ / (√v̂ + ε)        m̂ = m / (1 − β1^k), v̂ = v / (1 − β2^k)

    k counts the updates of that parameter. The first step moves each entry by about lr
    against the sign of its gradient: m̂ = g, v̂ = g², so θ ← θ − lr g / (|g| + ε).
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
        super().__init__(params, lr)
        b1, b2 = betas
        if not (0.0 <= b1 < 1.0 and 0.0 <= b2 < 1.0):
            raise ValueError(f"Adam: betas must lie in [0, 1), got {betas!r}")
        if not eps > 0:
            raise ValueError(f"Adam: eps must be positive, got {eps!r}")
        self.betas, self.eps = (float(b1), float(b2)), float(eps)

    def _update(self, state, value, g):
        b1, b2 = self.betas
        k = state.get("k", 0) + 1
        m = (1 - b1) * g if k == 1 else b1 * state["m"] + (1 - b1) * g
        v = (1 - b2) * g * g if k == 1 else b2 * state["v"] + (1 - b2) * g * g
        state.update(k=k, m=m, v=v)
        m_hat = m / (1 - b1 ** k)
        v_hat = v / (1 - b2 ** k)
        return value - self.lr * m_hat / (np.sqrt(v_hat) + self.eps)


def zero_grad(params):
    """Set ``.grad`` to None for each parameter (a dict key -> Node or a list of Nodes)."""
    for _, node in _named_parameters(params, "zero_grad"):
        node.grad = None


def global_norm(params):
    """√(Σ over parameters of Σ g²): the norm of all gradients as one vector (None grads count 0)."""
    total = 0.0
    for key, node in _named_parameters(params, "global_norm"):
        g = _gradient(key, node, "global_norm")
        if g is not None:
            total += float(np.dot(g.ravel(), g.ravel()))
    return float(np.sqrt(total))


def clip_grad_norm(params, max_norm):
    """Rescale every gradient by max_norm / norm when the global norm exceeds ``max_norm``,
    so the clipped gradients have global norm ``max_norm`` and keep their direction.

    The gradients are replaced by new (read-only) arrays, not changed in place. Returns the
    global norm before clipping (what to log to see gradients explode).
    """
    if not (isinstance(max_norm, Real) and np.isfinite(max_norm) and max_norm > 0):
        raise ValueError(f"clip_grad_norm: max_norm must be a positive number, got {max_norm!r}")
    norm = global_norm(params)
    if norm > max_norm:
        scale = max_norm / norm
        for _, node in _named_parameters(params, "clip_grad_norm"):
            if node.grad is not None:
                node.grad = freeze(node.grad * scale)
    return norm


def save(path, params):
    """Write the parameters' values to the .npz file ``path`` (keys as in ``params``; a list
    of Nodes is keyed by node name). Returns the path."""
    pairs = _named_parameters(params, "save")
    keys = [key for key, _ in pairs]
    if any(not isinstance(k, str) or not k for k in keys) or len(set(keys)) != len(keys):
        raise ValueError(f"save: parameters need distinct non-empty string keys, got {keys}; "
                         f"pass a dict key -> Node")
    return save_arrays(path, {key: node.value for key, node in pairs})


def load(path, params):
    """Give the parameters the values stored in ``path`` by ``save``.

    The file must hold exactly the parameters' keys with their shapes, real floats without
    NaN/Inf, of the parameters' dtype or one that converts to it exactly (float32 into
    float64); otherwise ``ArrayFileError`` and no parameter is changed.
    """
    pairs = _named_parameters(params, "load")
    arrays = load_arrays(path, expected={key: node.shape for key, node in pairs}, what="parameters")
    for key, node in pairs:
        if not np.can_cast(arrays[key].dtype, node.dtype, casting="safe"):
            raise ArrayFileError(f"parameters file {str(path)!r}: array {key!r} is {arrays[key].dtype} but the "
                                 f"parameter is {node.dtype}; loading would lose precision")
    for key, node in pairs:
        node.assign(arrays[key].astype(node.dtype, copy=False))
