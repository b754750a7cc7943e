r"""Fused ops: several primitive ops computed as one node, for speed.

A graph of primitive ops pays tinygraph's bookkeeping once per op; seed 001's LSTM step
is about 30 of them. ``lstm_step`` does a whole step as one op (what cuDNN and PyTorch's
``LSTMCell`` do), with its own backward written out by hand. It is tested against the
graph of primitive ops it replaces and against finite differences (tests/test_fused.py).

The op's inputs are the step's input X, the previous state S = [H; C] stacked as
(2, r, h), and the four gates' weights and biases side by side (column blocks in the
order i, f, o, c)::

    W = [W_ix W_fx W_ox W_cx]      ((d + h) × 4h)      b = [b_i b_f b_o b_c]   (4h,)
        [W_ih W_fh W_oh W_ch]

so one matmul computes all four gates. Its output is the new state [H_t; C_t] (2, r, h)::

    A = [X H] W + b                     (r × 4h: the four gates' pre-activations)
    I, F, O = σ(A_i), σ(A_f), σ(A_o)      C_i = tanh(A_c)
    C_t = F ⊙ C + I ⊙ C_i                 H_t = O ⊙ tanh(C_t)

After forward the op keeps the gates' values (it needs them for backward):
``op.parts()`` returns them by the seed's names F, I, C_i, O, so a fused step can still
be inspected gate by gate. ``part_symbols`` and ``part_equations`` tell ``tinygraph.draw``
to draw the op as its parts in the order along the memory pipe, as every diagram does
(σ F, σ I, tanh C_i, σ O and the memory update), and
``LSTMStep.part_grads`` gives the gradients reaching each gate, so the drawing can show them.

>>> import numpy as np, tinygraph as tg
>>> r, d, h = 2, 3, 4
>>> X = tg.tensor(np.ones((r, d)), name="X")
>>> S = tg.tensor(np.zeros((2, r, h)), name="(H0, C0)")
>>> W = tg.parameter(np.full((d + h, 4 * h), 0.1), name="W")
>>> b = tg.parameter(np.zeros(4 * h), name="b")
>>> S1 = lstm_step(X, S, W, b, name="(H_t, C_t)")
>>> S1.shape, sorted(S1.op.parts())
((2, 2, 4), ['C_i', 'F', 'I', 'O'])
"""
import numpy as np

from lstm.closed_form import step_adjoints
from tinygraph import DtypeError, Node, Op, ShapeError, apply, describe_nodes


def _sigmoid_tanh_(A, h):
    """In place on the gates' pre-activations A (r × 4h): σ on the first 3h columns
    (σ(a) = ½ tanh(a/2) + ½, which cannot overflow), tanh on the last h."""
    s = A[:, :3 * h]
    s *= 0.5
    np.tanh(A, out=A)
    s *= 0.5
    s += 0.5


class LSTMStep(Op):
    """One BlogLSTM step: gates, memory update and output as a single op (see module doc)."""

    __slots__ = ("gates",)
    name, symbol = "lstm_step", "LSTM step"
    #: how tinygraph.draw shows the op: its parts by symbol and name in the pipe's order, then how they combine
    part_symbols = {"F": "σ", "I": "σ", "C_i": "tanh", "O": "σ"}
    part_equations = ("C_t = F×C + I×C_i", "H_t = O×tanh(C_t)")
    rule = (r"\bar A_o = \bar H_t \odot \tanh C_t \odot O(1-O),\ "
            r"\bar C_t \mathrel{+}= \bar H_t \odot O \odot (1-\tanh^2 C_t),\ "
            r"\bar A_i = \bar C_t \odot C_i \odot I(1-I),\ \bar A_f = \bar C_t \odot C \odot F(1-F),\ "
            r"\bar A_c = \bar C_t \odot I \odot (1-C_i^2);\ "
            r"\bar W = [X\ H]^\top \bar A,\ \bar b = \textstyle\sum_{rows} \bar A,\ "
            r"\bar H = \bar A W_h^\top,\ \bar C = \bar C_t \odot F,\ \bar X = \bar A W_x^\top")
    #: the rule is written in the seed's names (gates, state, packed weights), left as written
    rule_letters = "ACFHIOWXbcfhiot"

    def __init__(self):
        self.gates = None

    def describe(self):
        return "lstm_step(I, F, O = σ, C_i = tanh; C_t = F×C + I×C_i; H_t = O×tanh(C_t))"

    def parts(self):
        """The gates' values of the step (after forward): F, I, C_i, O, each (r × h)."""
        A = self.gates
        h = A.shape[1] // 4
        return {"F": A[:, h:2 * h], "I": A[:, :h], "C_i": A[:, 3 * h:], "O": A[:, 2 * h:3 * h]}

    def part_grads(self, g, out, X, S, W, b):
        """The gradients reaching the gates, given ``g`` = ∂L/∂[H_t; C_t] (after forward):
        Ī = C̄_t C_i, F̄ = C̄_t C, Ō = H̄_t tanh(C_t), C̄_i = C̄_t I, where
        C̄_t = H̄_t O (1 − tanh² C_t) + ∂L/∂C_t from later steps."""
        parts = self.parts()
        th = np.tanh(out[1])
        dC = g[0] * parts["O"] * (1 - th * th) + g[1]
        return {"F": dC * S[1], "I": dC * parts["C_i"], "C_i": dC * parts["I"], "O": g[0] * th}

    def forward(self, X, S, W, b):
        h = S.shape[2]
        A = np.concatenate((X, S[0]), axis=1) @ W      # [X H] W: one matmul for the four gates
        A += b
        _sigmoid_tanh_(A, h)
        A.setflags(write=False)                  # parts() hands out views: keep them frozen
        self.gates = A
        I, F, O, C_i = A[:, :h], A[:, h:2 * h], A[:, 2 * h:3 * h], A[:, 3 * h:]
        out = np.empty_like(S)
        H_t, C_t = out[0], out[1]
        np.multiply(F, S[1], out=C_t)
        C_t += I * C_i
        np.tanh(C_t, out=H_t)
        H_t *= O
        return out

    def backward(self, g, out, X, S, W, b):
        need_X, need_S, need_W, need_b = self.needs
        A = self.gates
        d, h = X.shape[1], S.shape[2]
        # tanh(C_t) recomputed rather than kept: less memory per step
        dA, dC = step_adjoints(g[0], g[1], A, S[1], np.tanh(out[1]))
        dX = dA @ W[:d].T if need_X else None
        dS = None
        if need_S:
            dS = np.empty_like(S)
            np.matmul(dA, W[d:].T, out=dS[0])    # H̄ = Ā W_hᵀ
            np.multiply(dC, A[:, h:2 * h], out=dS[1])     # C̄ = C̄_t F
        dW = np.concatenate((X, S[0]), axis=1).T @ dA if need_W else None     # W̄ = [X H]ᵀ Ā
        db = dA.sum(axis=0) if need_b else None
        return dX, dS, dW, db


def _checked_inputs(op_name, X, S, W, b):
    """The four inputs of ``lstm_step`` (X is (r, d)) or ``lstm_sequence`` (X is (T, r, d)),
    refused with a message naming the op and the shapes unless they fit together."""
    nodes = (X, S, W, b)
    if not all(isinstance(n, Node) for n in nodes):
        raise TypeError(f"{op_name}: X, state, W and b must be Nodes, got "
                        f"{', '.join(type(n).__name__ for n in nodes)}")
    sequence = op_name == "lstm_sequence"
    xs, ss, ws = X.value.shape, S.value.shape, W.value.shape
    if not (len(xs) == 2 + sequence and (not sequence or xs[0] >= 1) and len(ss) == 3 and ss[0] == 2
            and ss[1] == xs[-2] and ws == (xs[-1] + ss[2], 4 * ss[2]) and b.value.shape == (4 * ss[2],)):
        x_layout = "X (T, r, d) with T >= 1" if sequence else "X (r, d)"
        raise ShapeError(f"{op_name}: expected {x_layout}, state (2, r, h), W (d + h, 4h), b (4h,); "
                         f"got {describe_nodes(nodes)}")
    dtype = X.value.dtype
    if not (S.value.dtype == dtype and W.value.dtype == dtype and b.value.dtype == dtype):
        raise DtypeError(f"{op_name}: inputs must share one dtype; got "
                         f"{', '.join(f'{n.label()!r} {n.dtype}' for n in nodes)}")
    return nodes


def lstm_step(X, S, W, b, name=None):
    """One BlogLSTM step as one op: X (r, d), S = [H; C] (2, r, h), W ((d+h) × 4h), b (4h,)
    -> the new state [H_t; C_t] (2, r, h). See the module docstring for the layout."""
    nodes = _checked_inputs("lstm_step", X, S, W, b)
    return apply(LSTMStep(), nodes, name)


class LSTMSequence(Op):
    """All T steps of a BlogLSTM layer as one op (what PyTorch's ``nn.LSTM`` is to ``LSTMCell``).

    Inputs X (T, r, d), S0 = [H0; C0] (2, r, h), W ((d+h) × 4h), b (4h,); output H_1..H_T
    (T, r, h). The input projection X W_x + b is one matmul for all steps; backward
    accumulates the weight gradients in blocks of steps (a few big matmuls, not one per step).
    The op keeps the gates and the memory of every step (``parts()``) for backward.
    The final memory C_T is ``op.parts()["C_t"][-1]`` (a value: no gradient flows back from it).
    """

    __slots__ = ("gates", "C", "tanh_C")
    name, symbol = "lstm_sequence", "LSTM × T"
    part_symbols = {"F": "σ", "I": "σ", "C_i": "tanh", "O": "σ", "C_t": ""}
    part_equations = ("C_t = F×C_t-1 + I×C_i", "H_t = O×tanh(C_t)", "for t = 1 … T")
    rule = LSTMStep.rule + r"\ \text{for } t = T, \dots, 1"
    rule_letters = LSTMStep.rule_letters + "T"
    BLOCK = 16                                   # steps per weight-gradient matmul in backward

    def __init__(self):
        self.gates = self.C = self.tanh_C = None

    def describe(self):
        return "lstm_sequence(T steps of: I, F, O = σ, C_i = tanh; C_t = F×C + I×C_i; H_t = O×tanh(C_t))"

    def parts(self):
        """The gates' values of every step (after forward): F, I, C_i, O, each (T, r, h), and C_t."""
        A = self.gates
        h = A.shape[2] // 4
        return {"F": A[..., h:2 * h], "I": A[..., :h], "C_i": A[..., 3 * h:], "O": A[..., 2 * h:3 * h],
                "C_t": self.C}

    def forward(self, X, S0, W, b):
        T, r, d = X.shape
        h = S0.shape[2]
        gates = (X.reshape(T * r, d) @ W[:d]).reshape(T, r, 4 * h)
        gates += b
        H = np.empty((T, r, h), X.dtype)
        C = np.empty((T, r, h), X.dtype)
        tanh_C = np.empty((T, r, h), X.dtype)
        W_h = W[d:]
        H_prev, C_prev = S0[0], S0[1]
        for t in range(T):
            A = gates[t]
            A += H_prev @ W_h
            _sigmoid_tanh_(A, h)
            I, F, O, C_i = A[:, :h], A[:, h:2 * h], A[:, 2 * h:3 * h], A[:, 3 * h:]
            C_t = C[t]
            np.multiply(F, C_prev, out=C_t)
            C_t += I * C_i
            np.tanh(C_t, out=tanh_C[t])
            np.multiply(O, tanh_C[t], out=H[t])
            H_prev, C_prev = H[t], C_t
        for kept in (gates, C, tanh_C):
            kept.setflags(write=False)
        self.gates, self.C, self.tanh_C = gates, C, tanh_C
        return H

    def backward(self, g, out, X, S0, W, b):
        need_X, need_S, need_W, need_b = self.needs
        T, r, d = X.shape
        h = S0.shape[2]
        gates, C, tanh_C, H = self.gates, self.C, self.tanh_C, out
        W_hT = W[d:].T
        dX = np.empty_like(X) if need_X else None
        dW = np.zeros_like(W)
        db = np.zeros_like(b)
        block = min(self.BLOCK, T)
        dA_block = np.empty((block, r, 4 * h), X.dtype)
        dH = np.zeros((r, h), X.dtype)           # what step t+1 sends back to H_t
        dC = np.zeros((r, h), X.dtype)           # ... and to C_t
        for end in range(T, 0, -block):          # blocks of steps [start, end), last block first
            start = max(end - block, 0)
            for t in range(end - 1, start - 1, -1):
                dH += g[t]
                dA, dC_t = step_adjoints(dH, dC, gates[t], C[t - 1] if t else S0[1], tanh_C[t],
                                         out=dA_block[t - start])
                dC = dC_t * gates[t][:, h:2 * h]          # C̄_{t-1} = C̄_t F
                np.matmul(dA, W_hT, out=dH)      # H̄_{t-1} from the recurrence
            n = end - start
            self._flush(dA_block[:n].reshape(n * r, 4 * h), X, H, S0, start, end, dW, db, dX, W, d)
        dS = None
        if need_S:
            dS = np.empty_like(S0)
            dS[0], dS[1] = dH, dC
        return dX, dS, (dW if need_W else None), (db if need_b else None)

    @staticmethod
    def _flush(dA_flat, X, H, S0, start, end, dW, db, dX, W, d):
        """Add steps start..end-1's share: W̄_x += X ᵀ Ā, W̄_h += H_prev ᵀ Ā, b̄ += Σ Ā (and X̄ = Ā W_xᵀ)."""
        r = X.shape[1]
        dW[:d] += X[start:end].reshape(-1, d).T @ dA_flat
        if start == 0:
            H_prev = np.concatenate((S0[0][None], H[:end - 1]), axis=0)
        else:
            H_prev = H[start - 1:end - 1]
        dW[d:] += H_prev.reshape((end - start) * r, -1).T @ dA_flat
        db += dA_flat.sum(axis=0)
        if dX is not None:
            dX[start:end] = (dA_flat @ W[:d].T).reshape(end - start, r, d)


def lstm_sequence(X, S0, W, b, name=None):
    """T BlogLSTM steps as one op: X (T, r, d), S0 = [H0; C0] (2, r, h), W ((d+h) × 4h),
    b (4h,) -> H_1..H_T (T, r, h). See ``LSTMSequence``."""
    nodes = _checked_inputs("lstm_sequence", X, S0, W, b)
    return apply(LSTMSequence(), nodes, name)
