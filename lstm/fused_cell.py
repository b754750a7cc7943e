"""BlogLSTM with each time step one fused op: the same cell, the same 12 named parameters,
about ten times fewer graph nodes.

``BlogLSTM`` builds a step from ~30 primitive ops so every gate can be drawn and stepped
through. ``FusedBlogLSTM`` computes the same numbers with one ``lstm.fused_ops.lstm_step``
op per step, for training and timing:

- the 12 parameters are the same named Nodes (``parameters()`` is unchanged); each unroll
  first places them side by side, in the scope "packed weights"::

      W = [W_ix W_fx W_ox W_cx]   (d + h) × 4h        b = [b_i b_f b_o b_c]
          [W_ih W_fh W_oh W_ch]

  (three ``tg.concat`` nodes for W, one for b), so a drawing still shows every parameter
  by its seed name, and the gradients flow back to each of them;
- each step, in scope "t=k", is one node "(H_t, C_t)" (the state [H_t; C_t], 2 × r × h)
  and two views of it named "H_t" and "C_t"; the gates F, I, C_i, O are not nodes but
  their values are kept by the op: ``run.steps[k]["(H_t, C_t)"].op.parts()``, and
  ``tg.draw`` draws the op as its parts (σ F, σ I, tanh C_i, σ O and the memory update).

``cell.sequence(X)`` goes one step further: all T steps as one ``lstm_sequence`` op
(input projection for all steps in one matmul, weight gradients in blocks of steps),
as fast as hand-written numpy; steps are then no longer nodes of their own.

>>> import numpy as np
>>> cell = FusedBlogLSTM(3, 2, seed=0)
>>> run = cell.unroll(np.ones((4, 5, 3)))          # T=4 steps, batch r=5, d=3
>>> sorted(run.steps[0]), run.outputs[0].shape
(['(H_t, C_t)', 'C_t', 'H_t', 'X'], (5, 2))
>>> slow = BlogLSTM(3, 2, seed=0).unroll(np.ones((4, 5, 3)))
>>> bool(np.allclose(run.outputs[-1].value, slow.outputs[-1].value))
True
"""
from dataclasses import dataclass

import numpy as np

import tinygraph as tg
from lstm.fused_ops import lstm_sequence, lstm_step

from .cells import BlogLSTM, Run

STATE = "(H_t, C_t)"


@dataclass
class SequenceRun:
    """What ``FusedBlogLSTM.sequence`` builds: ``H`` (T, r, h), the node of all outputs
    H_1..H_T; ``X`` the input node (T, r, d); ``initial_state`` and ``final_state`` keyed
    "H0", "C0" as in ``Run`` (the final C_T is a value: no gradient flows back from it)."""

    H: tg.Node
    X: tg.Node
    initial_state: dict
    final_state: dict


class FusedBlogLSTM(BlogLSTM):
    """BlogLSTM (same constructor, parameters and ``Run``) whose steps are fused ops."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._packed = None
        self._state = None

    def packed(self):
        """The parameters side by side as two Nodes, W ((d+h) × 4h) and b (4h,), built
        from the named parameter Nodes with ``tg.concat`` (so gradients reach each)."""
        p = self._params
        with tg.scope("packed weights"):
            W_x = tg.concat([p["W_ix"], p["W_fx"], p["W_ox"], p["W_cx"]], axis=1, name="[W_ix W_fx W_ox W_cx]")
            W_h = tg.concat([p["W_ih"], p["W_fh"], p["W_oh"], p["W_ch"]], axis=1, name="[W_ih W_fh W_oh W_ch]")
            W = tg.concat([W_x, W_h], axis=0, name="W")
            b = tg.concat([p["b_i"], p["b_f"], p["b_o"], p["b_c"]], name="b")
        return W, b

    def unroll(self, inputs, initial_state=None):
        """As ``BlogLSTM.unroll``; the weights are packed once for all steps."""
        if not (isinstance(inputs, np.ndarray) and inputs.ndim == 3 and len(inputs)
                and inputs.shape[2] == self.input_size and inputs.dtype == self.dtype):
            self._packed = self.packed()        # anything else: BlogLSTM's checks, step by step
            try:
                return super().unroll(inputs, initial_state)
            finally:
                self._packed = None
        init = self.initial(inputs.shape[1], initial_state)
        W, b = self.packed()
        S, steps = None, []
        for t, x_t in enumerate(inputs, start=1):
            with tg.scope(tg.step_scope(t)):
                X = tg.tensor(x_t, name=self.INPUT)
                if S is None:
                    S = tg.stack([init["H0"], init["C0"]], name="(H0, C0)")
                S = lstm_step(X, S, W, b, name=STATE)
                steps.append({self.INPUT: X, STATE: S, "H_t": tg.getitem(S, 0, name="H_t"),
                              "C_t": tg.getitem(S, 1, name="C_t")})
        last = steps[-1]
        return Run(steps=steps, outputs=[s["H_t"] for s in steps], inputs=[s[self.INPUT] for s in steps],
                   initial_state=init, final_state={"H0": last["H_t"], "C0": last["C_t"]})

    def sequence(self, inputs, initial_state=None):
        """All T steps as one ``lstm_sequence`` op, the fastest way through tinygraph (as
        PyTorch's nn.LSTM is to a loop over LSTMCell). ``inputs``: array (T, r, d).
        Returns a ``SequenceRun``; build the loss from ``run.H`` (T, r, h), e.g.
        ``(run.H * G).sum()`` (per-step slices of it would each send a full-size gradient back).
        """
        name = type(self).__name__
        X = np.asarray(inputs.value if isinstance(inputs, tg.Node) else inputs)
        if X.ndim != 3 or X.shape[2] != self.input_size or not len(X):
            raise tg.ShapeError(f"{name}.sequence: inputs must have shape {self.input_shape_text(True)} "
                                f"with T >= 1, got {X.shape}")
        init = self.initial(X.shape[1], initial_state)
        W, b = self.packed()
        T = len(X)
        with tg.scope(tg.step_scope(1, T)):
            X = inputs if isinstance(inputs, tg.Node) else tg.tensor(X, name=self.INPUT, dtype=self.dtype)
            S0 = tg.stack([init["H0"], init["C0"]], name="(H0, C0)")
            H = lstm_sequence(X, S0, W, b, name="H_1..T")
            final = {"H0": tg.getitem(H, -1, name="H_T"), "C0": tg.tensor(H.op.parts()["C_t"][-1], name="C_T")}
        return SequenceRun(H=H, X=X, initial_state=init, final_state=final)

    def step(self, x_t, state=None, t=1):
        """As ``BlogLSTM.step``; ``state`` may also be a previous fused step's dict, whose
        state node "(H_t, C_t)" is then used directly."""
        self._state = state.get(STATE) if isinstance(state, dict) else None
        try:
            return super().step(x_t, state, t)
        finally:
            self._state = None

    def _build(self, X, previous, nodes):
        S = self._state
        if S is None:
            S = tg.stack([previous["H0"], previous["C0"]], name="(H0, C0)")
        W, b = self._packed or self.packed()
        S_t = lstm_step(X, S, W, b, name=STATE)
        nodes[STATE] = S_t
        nodes["H_t"] = tg.getitem(S_t, 0, name="H_t")
        nodes["C_t"] = tg.getitem(S_t, 1, name="C_t")
