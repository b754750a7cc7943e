"""What notebook 05 and the docs measure about vanishing and exploding gradients.

One sequence of T random inputs, the loss L = cross-entropy of the last output only, and
for every step t:

- ``state_gradients``: ‖∂L/∂state_t‖ (H_t and C_t of an LSTM, h_t of an RNN), from one
  backward pass of the unrolled graph;
- ``step_jacobians``: the full per-step Jacobian ∂(C_t, H_t)/∂(C_t-1, H_t-1) (the RNN's
  ∂h_t/∂h_t-1) at the states the run passes through, by autodiff: one step is built on a
  batch of 2h copies of the state, and one backward pass with the identity as the
  upstream gradient gives every row of the Jacobian at once (the rows of a batch do not
  interact);
- ``pipe_factors``: what the memory pipe alone does to C̄ per step, ‖F_t ⊙ C̄_t‖/‖C̄_t‖,
  beside the mean of F: the units with the most open forget gates dominate the norm.

>>> cell = make("blog", forget_bias=3.0)
>>> run, grads = state_gradients(cell, inputs(T=5))
>>> sorted(grads), len(grads["C_t"])
(['C_t', 'H_t'], 5)
"""
import numpy as np

import tinygraph as tg

from .cells import BlogLSTM, VanillaRNN
from .losses import ce

D_IN, HIDDEN, LENGTH = 4, 16, 50


def inputs(T=LENGTH, d=D_IN, seed=0):
    """One sequence of T standard-normal inputs, shape (T, 1, d)."""
    return np.random.default_rng(seed).normal(size=(T, 1, d))


def make(variant, forget_bias=None, recurrent_scale=None, hidden=HIDDEN, d=D_IN, seed=0):
    """A BlogLSTM ("blog") or VanillaRNN ("rnn") with PyTorch-style initialisation (uniform
    ±1/√h, so b_f ≈ 0), optionally with the forget-gate bias set to ``forget_bias`` or the
    RNN's W_h multiplied by ``recurrent_scale``."""
    cell = (BlogLSTM if variant == "blog" else VanillaRNN)(d, hidden, seed=seed)
    params = cell.parameters()
    if forget_bias is not None:
        params["b_f"].assign(np.full(hidden, float(forget_bias)))
    if recurrent_scale is not None:
        params["W_h"].assign(params["W_h"].value * recurrent_scale)
    return cell


def _states(cell):
    return ("C_t", "H_t") if isinstance(cell, BlogLSTM) else ("h_t",)


def state_gradients(cell, X, target=0):
    """(run, name -> [‖∂L/∂state_t‖ for t = 1..T]) with L the cross-entropy of the last output."""
    run = cell.unroll(X)
    L = ce([run.outputs[-1]], targets=np.array([[target]]))
    names = _states(cell)
    nodes = [step[name] for name in names for step in run.steps]
    grads = tg.grad(L, nodes)
    T = len(run.steps)
    return run, {name: [float(np.linalg.norm(g)) for g in grads[i * T:(i + 1) * T]]
                 for i, name in enumerate(names)}


def state_adjoints(cell, X, target=0):
    """name -> [∂L/∂state_t for t = 1..T] (arrays), as ``state_gradients`` but not reduced."""
    run = cell.unroll(X)
    L = ce([run.outputs[-1]], targets=np.array([[target]]))
    names = _states(cell)
    grads = tg.grad(L, [step[name] for name in names for step in run.steps])
    T = len(run.steps)
    return run, {name: [np.asarray(g) for g in grads[i * T:(i + 1) * T]] for i, name in enumerate(names)}


def step_jacobian(cell, x, state):
    """∂(new state)/∂(state) of one step at input ``x`` (1, d) and ``state`` (name -> (1, h)
    array, keys of ``cell.STATE``): a (k·h, k·h) matrix, k = 2 for the LSTM ((C, H) in that
    order), 1 for the RNN."""
    keys = list(cell.STATE)                              # LSTM: H0, C0; RNN: h0
    order = [k for k in ("C0", "H0", "h0") if k in keys]
    h = cell.hidden_size
    n = len(order) * h
    init = {k: tg.parameter(np.repeat(np.asarray(state[k]).reshape(1, h), n, axis=0), name=k) for k in order}
    nodes = cell.step(np.repeat(np.asarray(x).reshape(1, -1), n, axis=0), init)
    eye = np.eye(n)
    outputs = [nodes[cell.STATE[k]] for k in order]
    L = tg.sum(tg.stack([tg.sum(out * tg.tensor(eye[:, i * h:(i + 1) * h])) for i, out in enumerate(outputs)]))
    grads = tg.grad(L, [init[k] for k in order])
    return np.concatenate([np.asarray(g) for g in grads], axis=1)


def step_jacobians(cell, X):
    """The per-step Jacobians J_t = ∂state_t/∂state_t-1, t = 1..T, along the run on ``X``."""
    run = cell.unroll(X)
    previous = {k: node.value for k, node in run.initial_state.items()}
    found = []
    for x, step in zip(X, run.steps):
        found.append(step_jacobian(cell, x, previous))
        previous = {k: step[name].value for k, name in cell.STATE.items()}
    return found


def spectral_norms(jacobians):
    """‖J_t‖₂, the largest factor by which one step back can stretch a gradient."""
    return [float(np.linalg.norm(J, 2)) for J in jacobians]


def per_step_factor(norms, start, stop):
    """The geometric mean factor per step of ``norms`` (indexed t-1) from step ``start`` back
    to step ``stop`` < ``start``: (norms[stop-1] / norms[start-1]) ** (1 / (start - stop))."""
    return (norms[stop - 1] / norms[start - 1]) ** (1.0 / (start - stop))


def pipe_factors(run, C_bar):
    """Per step t = 2..T: (mean F_t, ‖F_t ⊙ C̄_t‖ / ‖C̄_t‖, ‖C̄_t-1‖ / ‖C̄_t‖): the mean forget
    gate, what the memory pipe alone passes back, and what C̄ actually changes by (the H
    path adds to the pipe)."""
    rows = []
    for t in range(2, len(run.steps) + 1):
        F = run.steps[t - 1]["F"].value
        rows.append((float(F.mean()), float(np.linalg.norm(F * C_bar[t - 1]) / np.linalg.norm(C_bar[t - 1])),
                     float(np.linalg.norm(C_bar[t - 2]) / np.linalg.norm(C_bar[t - 1]))))
    return rows


def clipped(norms, max_norm=1.0):
    """The norms of the gradients after clipping each one to ``max_norm`` (by its own norm)."""
    return [min(n, max_norm) for n in norms]


MODELS = {"VanillaRNN": ("rnn", {}), "VanillaRNN, W_h × 4": ("rnn", {"recurrent_scale": 4.0}),
          "BlogLSTM, b_f ≈ 0": ("blog", {}), "BlogLSTM, b_f = 1": ("blog", {"forget_bias": 1.0}),
          "BlogLSTM, b_f = 3": ("blog", {"forget_bias": 3.0})}
"""The models notebook 05 compares: PyTorch-style initialisation (uniform ±1/√h, so the
forget-gate bias b_f is about 0), the forget-gate bias set to 1 or 3, and an RNN whose
recurrent matrix W_h is four times larger."""


def jacobian_product_norms(jacobians):
    """‖J_T J_T-1 … J_T-k+1‖₂ for k = 1..T-1: the most one gradient can be stretched by going
    k steps back from the last step."""
    product, norms = np.eye(jacobians[0].shape[0]), []
    for J in reversed(jacobians[1:]):
        product = product @ J
        norms.append(float(np.linalg.norm(product, 2)))
    return norms


def measure(X=None, models=MODELS):
    """label -> the numbers notebook 05 prints for each model on the sequence ``X``: the
    state-gradient norms (H̄ or h̄, and C̄), ‖J_t‖₂ and the product norms."""
    X = inputs() if X is None else X
    found = {}
    for label, (variant, options) in models.items():
        cell = make(variant, **options)
        run, grads = state_gradients(cell, X)
        jacobians = step_jacobians(cell, X)
        found[label] = {"grads": grads, "jacobian_norms": spectral_norms(jacobians),
                        "products": jacobian_product_norms(jacobians),
                        "mean_F": (float(np.mean([s["F"].value for s in run.steps])) if "C_t" in grads else None)}
    return found


def summary_rows(found, far=1, near=41):
    """One row per model: (label, ‖at the loss‖, ‖at t = far‖, per-step factor from t = near
    back to t = far, (product norm over T-1 steps) ** (1/(T-1)), mean ‖J_t‖₂)."""
    rows = []
    for label, m in found.items():
        norms = m["grads"].get("H_t", m["grads"].get("h_t"))
        products = m["products"]
        rows.append((label, norms[-1], norms[far - 1], per_step_factor(norms, near, far),
                     products[-1] ** (1.0 / len(products)), float(np.mean(m["jacobian_norms"]))))
    return rows
