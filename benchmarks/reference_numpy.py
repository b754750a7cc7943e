r"""Seed 001's BlogLSTM, forward and backward through time, written by hand in numpy for speed.

This is the yardstick of ``benchmarks/lstm_speed.py``: what a careful person writes without an
autodiff engine. It uses no tinygraph. The tricks:

- the four gates' weights side by side, W_x = [W_ix W_fx W_ox W_cx] (d × 4h) and
  W_h = [W_ih W_fh W_oh W_ch] (h × 4h), so one matmul per step gives all four gates;
- the input projection X W_x + b for all T steps at once (one big matmul) before the loop;
- the weight gradients after the loop, each one big matmul over all steps:
  ∂L/∂W_x = Σ_t X_tᵀ Ā(t) = X_allᵀ Ā_all, ∂L/∂W_h = H_prev_allᵀ Ā_all;
- every buffer allocated once per (T, r) and reused; element-wise work in place (``out=``);
- σ(a) = ½ tanh(a/2) + ½ (no overflow, one transcendental call for all four gates).

The loop, per step t (A = pre-activations, gates in the order i, f, o, c)::

    A = Z_x[t] + H_{t-1} W_h                         Z_x = X W_x + b, all steps at once
    I, F, O = σ(A_i, A_f, A_o)      C_i = tanh(A_c)
    C_t = F ⊙ C_{t-1} + I ⊙ C_i      H_t = O ⊙ tanh(C_t)

and back (H̄_t = given ∂L/∂H_t + what step t+1 sent back)::

    Ā_o = H̄_t ⊙ tanh(C_t) ⊙ O(1−O)
    C̄_t = H̄_t ⊙ O ⊙ (1 − tanh²(C_t)) + C̄ from step t+1
    Ā_i = C̄_t ⊙ C_i ⊙ I(1−I)     Ā_f = C̄_t ⊙ C_{t-1} ⊙ F(1−F)     Ā_c = C̄_t ⊙ I ⊙ (1 − C_i²)
    sent back: C̄_{t-1} = C̄_t ⊙ F,   H̄_{t-1} += Ā W_hᵀ

>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> params = {k: rng.normal(0, 0.3, (3, 2) if k[-1] == "x" else (2, 2) if k[0] == "W" else 2)
...           for k in PARAMETER_KEYS}
>>> lstm = NumpyBlogLSTM(params, steps=4, batch=5)
>>> H = lstm.forward(rng.normal(size=(4, 5, 3)))     # (T, r, h)
>>> grads = lstm.backward(np.ones_like(H))           # L = Σ_t Σ H_t
>>> grads["W_ix"].shape, grads["b_c"].shape, grads["C0"].shape
((3, 2), (2,), (5, 2))
"""
import numpy as np

PARAMETER_KEYS = ("W_ix", "W_fx", "W_ox", "W_cx", "W_ih", "W_fh", "W_oh", "W_ch", "b_i", "b_f", "b_o", "b_c")
GATES = ("i", "f", "o", "c")


def matmul_flops(steps, batch, input_size, hidden_size):
    """Floating point operations of the matmuls in one forward + backward (dX not computed):
    forward 2·T·r·(d+h)·4h, the weight gradients the same again, and Ā W_hᵀ 2·T·r·4h·h."""
    T, r, d, h = steps, batch, input_size, hidden_size
    return 2 * T * r * 4 * h * (d + h) * 2 + 2 * T * r * 4 * h * h


class NumpyBlogLSTM:
    """Forward + BPTT of BlogLSTM over ``steps`` steps of ``batch`` rows, buffers preallocated.

    ``forward(X, H0=None, C0=None)`` returns H_1..H_T as a (T, r, h) array (a view of an
    internal buffer, valid until the next forward); ``backward(dH)`` takes ∂L/∂H_t for all
    steps (T, r, h) and returns the 12 parameter gradients and "H0", "C0" by key.
    Parameters are read again at each ``forward`` (an optimizer may have changed them).
    """

    def __init__(self, params, steps, batch, dtype=np.float64):
        self.params = params
        self.dtype = np.dtype(dtype)
        d, h = np.shape(params["W_ix"])
        T, r = steps, batch
        self.shape = (T, r, d, h)
        dt = self.dtype
        self.W_x = np.empty((d, 4 * h), dt)
        self.W_h = np.empty((h, 4 * h), dt)
        self.b = np.empty(4 * h, dt)
        self.gates = np.empty((T, r, 4 * h), dt)    # Z_x, then A, then [I F O C_i]; in backward Ā
        self.H = np.empty((T + 1, r, h), dt)        # H[0] = H0, H[t] = H_t
        self.C = np.empty((T + 1, r, h), dt)
        self.tanh_C = np.empty((T, r, h), dt)
        self.X = None
        self.ifo = np.empty(3 * h, dt)              # ½ for σ's argument on i, f, o
        self.ifo.fill(0.5)
        # backward scratch
        self.dH = np.empty((r, h), dt)
        self.dC = np.empty((r, h), dt)
        self.tmp = np.empty((r, h), dt)
        self.tmp2 = np.empty((r, h), dt)
        self.dA = np.empty((r, 4 * h), dt)

    def _pack(self):
        p, dt = self.params, self.dtype
        h = self.shape[3]
        for k, g in enumerate(GATES):
            cols = slice(k * h, (k + 1) * h)
            self.W_x[:, cols] = np.asarray(p[f"W_{g}x"], dt)
            self.W_h[:, cols] = np.asarray(p[f"W_{g}h"], dt)
            self.b[cols] = np.asarray(p[f"b_{g}"], dt)

    def forward(self, X, H0=None, C0=None):
        T, r, d, h = self.shape
        X = np.asarray(X, self.dtype)
        if X.shape != (T, r, d):
            raise ValueError(f"NumpyBlogLSTM.forward: X must have shape (T, r, d) = {(T, r, d)}, got {X.shape}")
        self._pack()
        self.X = X
        H, C, gates, tanh_C, W_h = self.H, self.C, self.gates, self.tanh_C, self.W_h
        H[0] = 0 if H0 is None else H0
        C[0] = 0 if C0 is None else C0
        flat = gates.reshape(T * r, 4 * h)
        np.matmul(X.reshape(T * r, d), self.W_x, out=flat)          # Z_x for all steps
        flat += self.b
        ifo = self.ifo
        h3 = 3 * h
        for t in range(T):
            A = gates[t]
            A += H[t] @ W_h
            s = A[:, :h3]
            s *= ifo                                                  # σ(a) = ½ tanh(a/2) + ½
            np.tanh(A, out=A)
            s *= 0.5
            s += 0.5
            I, F, O, C_i = A[:, :h], A[:, h:2 * h], A[:, 2 * h:h3], A[:, h3:]
            C_t = C[t + 1]
            np.multiply(F, C[t], out=C_t)
            C_t += I * C_i
            np.tanh(C_t, out=tanh_C[t])
            np.multiply(O, tanh_C[t], out=H[t + 1])
        return H[1:]

    def backward(self, dH_out):
        """Gradients from ∂L/∂H_t (T, r, h); dX is not computed (inputs are data)."""
        T, r, d, h = self.shape
        if np.shape(dH_out) != (T, r, h):
            raise ValueError(f"NumpyBlogLSTM.backward: dH must have shape (T, r, h) = {(T, r, h)}, "
                             f"got {np.shape(dH_out)}")
        H, C, gates, tanh_C, W_hT = self.H, self.C, self.gates, self.tanh_C, self.W_h.T
        dH, dC, tmp, tmp2, dA = self.dH, self.dC, self.tmp, self.tmp2, self.dA
        dA_i, dA_f, dA_o, dA_c = dA[:, :h], dA[:, h:2 * h], dA[:, 2 * h:3 * h], dA[:, 3 * h:]
        dH[...] = 0
        dC[...] = 0
        for t in range(T - 1, -1, -1):
            A = gates[t]
            I, F, O, C_i = A[:, :h], A[:, h:2 * h], A[:, 2 * h:3 * h], A[:, 3 * h:]
            dH += dH_out[t]
            th = tanh_C[t]
            # Ā_o = H̄ ⊙ tanh(C_t) ⊙ O(1−O);  C̄_t += H̄ ⊙ O ⊙ (1 − tanh²)
            np.multiply(dH, O, out=tmp)                 # H̄ O
            np.subtract(1, O, out=tmp2)
            np.multiply(tmp, tmp2, out=dA_o)            # H̄ O (1−O)
            dA_o *= th
            np.multiply(th, th, out=tmp2)
            np.subtract(1, tmp2, out=tmp2)
            tmp *= tmp2
            dC += tmp
            # Ā_i = C̄ C_i I(1−I);  Ā_c = C̄ I (1 − C_i²)
            np.multiply(dC, I, out=tmp)                 # C̄ I
            np.multiply(C_i, C_i, out=tmp2)
            np.subtract(1, tmp2, out=tmp2)
            np.multiply(tmp, tmp2, out=dA_c)
            np.subtract(1, I, out=tmp2)
            tmp *= tmp2
            np.multiply(tmp, C_i, out=dA_i)
            # Ā_f = C̄ C_{t-1} F(1−F);  C̄_{t-1} = C̄ F
            np.multiply(dC, F, out=tmp)
            np.subtract(1, F, out=tmp2)
            tmp2 *= tmp
            np.multiply(tmp2, C[t], out=dA_f)
            dC[...] = tmp
            np.matmul(dA, W_hT, out=dH)                 # H̄_{t-1} (from the recurrence)
            A[...] = dA                                 # gates[t] is no longer needed: keep Ā(t)
        dA_all = gates.reshape(T * r, 4 * h)
        dW_x = self.X.reshape(T * r, d).T @ dA_all
        dW_h = H[:T].reshape(T * r, h).T @ dA_all
        db = dA_all.sum(axis=0)
        grads = {}
        for k, g in enumerate(GATES):
            cols = slice(k * h, (k + 1) * h)
            grads[f"W_{g}x"] = dW_x[:, cols]
            grads[f"W_{g}h"] = dW_h[:, cols]
            grads[f"b_{g}"] = db[cols]
        grads["H0"] = dH.copy()
        grads["C0"] = dC.copy()
        return grads
