r"""BlogLSTM's backward through time in closed form, in plain numpy (no tinygraph).

Seed 001 shows its gradients only as pictures; this is the derivation, written out so
it can be checked against autodiff (``python -m lstm check`` does).

Forward, per step t, X (r × d), H = H_{t-1} and C = C_{t-1} (r × h)::

    A_g = X W_gx + H W_gh + b_g   for g in i, f, o, c          (b_g added to every row)
    I = σ(A_i)   F = σ(A_f)   O = σ(A_o)   C_i = tanh(A_c)
    C_t = F ⊙ C + I ⊙ C_i
    H_t = O ⊙ tanh(C_t)

Backward. Write Ḡ for ∂L/∂G. Step t receives H̄_t = (∂L/∂H_t direct, from the loss)
+ (what step t+1 sends back to H_t), and C̄_next = what step t+1 sends to C_t
(both 0 after the last step). Then, element-wise unless written as a product::

    Ō    = H̄_t ⊙ tanh(C_t)                      Ā_o = Ō ⊙ O ⊙ (1 − O)
    C̄_t  = H̄_t ⊙ O ⊙ (1 − tanh²(C_t)) + C̄_next
    F̄    = C̄_t ⊙ C_{t-1}                        Ā_f = F̄ ⊙ F ⊙ (1 − F)
    Ī    = C̄_t ⊙ C_i                            Ā_i = Ī ⊙ I ⊙ (1 − I)
    C̄_i  = C̄_t ⊙ I                              Ā_c = C̄_i ⊙ (1 − C_i²)
    sent back:  C̄_{t-1} = C̄_t ⊙ F,   H̄_{t-1} += Σ_g Ā_g W_ghᵀ,   X̄_t = Σ_g Ā_g W_gxᵀ

and the 12 parameter gradients are sums over the steps (the weights are shared)::

    ∂L/∂W_gx = Σ_t X_tᵀ Ā_g(t)     ∂L/∂W_gh = Σ_t H_{t-1}ᵀ Ā_g(t)     ∂L/∂b_g = Σ_t Σ_rows Ā_g(t)

with ∂L/∂H0 = H̄_0 and ∂L/∂C0 = C̄_0 what step 1 sends back.

>>> import numpy as np
>>> from lstm.cells import BlogLSTM
>>> params = {k: p.value for k, p in BlogLSTM(3, 2, seed=0).parameters().items()}
>>> X = np.ones((4, 5, 3))                          # T=4, r=5 rows, d=3
>>> fwd = forward(params, X)
>>> grads = backward(fwd, np.ones((4, 5, 2)))       # L = Σ_t Σ H_t
>>> grads["W_ix"].shape, grads["X"].shape, grads["C0"].shape
((3, 2), (4, 5, 3), (5, 2))
"""
from dataclasses import dataclass

import numpy as np

GATES = ("i", "f", "o", "c")
PARAMETER_KEYS = ("W_ix", "W_fx", "W_ox", "W_cx", "W_ih", "W_fh", "W_oh", "W_ch", "b_i", "b_f", "b_o", "b_c")


def _sigmoid(a):
    e = np.exp(-np.abs(a))
    return np.where(a >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


@dataclass
class Forward:
    """A forward run: ``steps[t-1]`` holds X, H_prev, C_prev, I, F, O, C_i, C_t, tanh_C, H_t."""

    params: dict
    steps: list

    @property
    def outputs(self):
        """H_1..H_T as a (T, r, h) array."""
        return np.array([step["H_t"] for step in self.steps])


def forward(params, X, H0=None, C0=None):
    """The forward pass over X (T, r, d), recording every intermediate."""
    missing = [k for k in PARAMETER_KEYS if k not in params]
    if missing:
        raise ValueError(f"closed_form.forward: parameters {missing} are missing; expected {PARAMETER_KEYS}")
    p = {k: np.asarray(params[k], dtype=np.float64) for k in PARAMETER_KEYS}
    X = np.asarray(X, dtype=np.float64)
    d, h = p["W_ix"].shape
    if X.ndim != 3 or X.shape[2] != d:
        raise ValueError(f"closed_form.forward: X must have shape (T, r, d) = (T, r, {d}), got {X.shape}")
    r = X.shape[1]
    H = np.zeros((r, h)) if H0 is None else np.asarray(H0, dtype=np.float64)
    C = np.zeros((r, h)) if C0 is None else np.asarray(C0, dtype=np.float64)
    for name, value in (("H0", H), ("C0", C)):
        if value.shape != (r, h):
            raise ValueError(f"closed_form.forward: {name} must have shape (r, h) = {(r, h)}, got {value.shape}")
    steps = []
    for X_t in X:
        A = {g: X_t @ p[f"W_{g}x"] + H @ p[f"W_{g}h"] + p[f"b_{g}"] for g in GATES}
        I, F, O, C_i = _sigmoid(A["i"]), _sigmoid(A["f"]), _sigmoid(A["o"]), np.tanh(A["c"])
        C_t = F * C + I * C_i
        tanh_C = np.tanh(C_t)
        H_t = O * tanh_C
        steps.append(dict(X=X_t, H_prev=H, C_prev=C, I=I, F=F, O=O, C_i=C_i, C_t=C_t, tanh_C=tanh_C, H_t=H_t))
        H, C = H_t, C_t
    return Forward(p, steps)


def step_adjoints(dH_t, dC_next, gates, C_prev, tanh_C, out=None):
    """One step of the backward equations above, the one implementation of them: the fused
    ops (lstm.fused_ops) call it too.

    ``dH_t`` = H̄_t and ``dC_next`` = C̄_next (r × h); ``gates`` = [I F O C_i] side by side
    (r × 4h); ``C_prev`` = C_{t-1}; ``tanh_C`` = tanh(C_t). Returns Ā = [Ā_i Ā_f Ā_o Ā_c]
    (r × 4h, written into ``out`` when given) and C̄_t. What is sent back follows from them:
    C̄_{t-1} = C̄_t ⊙ F, H̄_{t-1} = Ā W_hᵀ, X̄ = Ā W_xᵀ.
    """
    h = dH_t.shape[-1]
    I, O, C_i = gates[:, :h], gates[:, 2 * h:3 * h], gates[:, 3 * h:]
    dC_t = dH_t * O
    dC_t *= 1 - tanh_C * tanh_C
    dC_t += dC_next                                  # C̄_t = H̄_t ⊙ O ⊙ (1 − tanh²(C_t)) + C̄_next
    dA = np.empty_like(gates) if out is None else out
    np.multiply(dC_t, C_i, out=dA[:, :h])            # Ī = C̄_t ⊙ C_i
    np.multiply(dC_t, C_prev, out=dA[:, h:2 * h])    # F̄ = C̄_t ⊙ C_{t-1}
    np.multiply(dH_t, tanh_C, out=dA[:, 2 * h:3 * h])  # Ō = H̄_t ⊙ tanh(C_t)
    np.multiply(dC_t, I, out=dA[:, 3 * h:])          # C̄_i = C̄_t ⊙ I
    D = 1 - gates                                    # σ' = σ(1 − σ) for I, F, O; tanh' = 1 − C_i²
    D *= gates
    np.multiply(C_i, C_i, out=D[:, 3 * h:])
    np.subtract(1, D[:, 3 * h:], out=D[:, 3 * h:])
    dA *= D                                          # Ā_g = ḡ ⊙ g'
    return dA, dC_t


def backward(fwd, dH):
    """Gradients of L from the direct ∂L/∂H_t (``dH``, shape (T, r, h)): a dict with the 12
    parameters, "X" (T, r, d), "H0" and "C0" (r, h)."""
    p, steps = fwd.params, fwd.steps
    dH = np.asarray(dH, dtype=np.float64)
    if dH.shape != fwd.outputs.shape:
        raise ValueError(f"closed_form.backward: dH must have the shape of the outputs {fwd.outputs.shape}, "
                         f"got {dH.shape}")
    grads = {k: np.zeros_like(p[k]) for k in PARAMETER_KEYS}
    dX = np.zeros((len(steps),) + steps[0]["X"].shape)
    dH_from_next = np.zeros_like(dH[0])
    dC_from_next = np.zeros_like(dH[0])
    for t in range(len(steps) - 1, -1, -1):
        s = steps[t]
        gates = np.concatenate([s["I"], s["F"], s["O"], s["C_i"]], axis=1)
        dA_all, dC_t = step_adjoints(dH[t] + dH_from_next, dC_from_next, gates, s["C_prev"], s["tanh_C"])
        dA = dict(zip(GATES, np.split(dA_all, 4, axis=1)))
        dC_from_next = dC_t * s["F"]
        dH_from_next = np.zeros_like(dH[t])
        for g in GATES:
            grads[f"W_{g}x"] += s["X"].T @ dA[g]
            grads[f"W_{g}h"] += s["H_prev"].T @ dA[g]
            grads[f"b_{g}"] += dA[g].sum(axis=0)
            dX[t] += dA[g] @ p[f"W_{g}x"].T
            dH_from_next += dA[g] @ p[f"W_{g}h"].T
    grads["X"], grads["H0"], grads["C0"] = dX, dH_from_next, dC_from_next
    return grads


def softmax_cross_entropy(outputs, targets):
    """L = Σ_t Σ_rows −log softmax(H_t)[row, target] (the project's ``ce``) and its direct
    gradient ∂L/∂H_t = softmax(H_t) − onehot(target), for outputs (T, r, h), targets (T, r)."""
    outputs = np.asarray(outputs, dtype=np.float64)
    targets = np.asarray(targets)
    shifted = outputs - outputs.max(axis=-1, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))
    onehot = np.zeros_like(outputs)
    np.put_along_axis(onehot, targets[..., None], 1.0, axis=-1)
    return float(-(onehot * log_p).sum()), np.exp(log_p) - onehot
