# %% [markdown]
# # 5 · Vanishing gradients: a plain RNN against an LSTM
#
# Seed 001 opens with the problem the LSTM was invented for: backpropagating through many time
# steps multiplies the gradient by the same kind of factor again and again: "matrix
# multiplication (or simply multiplication) done enough times, can either magnify a number, or
# diminish it completely".
#
# Here we *measure* it. Both networks read a sequence of $T$ inputs; the loss looks only at the
# **last** output. For every earlier step $t$ we ask how strongly the loss still depends on that
# step's hidden state: the norm $\lVert \partial L / \partial h_t \rVert$, plotted against the
# distance $T - t$ from the loss.

# %%
import matplotlib.pyplot as plt
import numpy as np

import tinygraph as tg
from lstm.cells import BlogLSTM, VanillaRNN
from lstm.losses import ce

# %% [markdown]
# ## Why it vanishes in a plain RNN
#
# The RNN's step is $h_t = \tanh(X_t W_x + h_{t-1} W_h + b)$. One step back, the chain rule gives
#
# $$\bar h_{t-1} = \big(\bar h_t \odot (1 - h_t^2)\big)\, W_h^\top ,$$
#
# so going back $k$ steps multiplies $\bar h$ by $k$ such factors. The tanh derivative
# $1 - h_t^2$ is at most 1, and with small weights $W_h$ shrinks vectors; the product shrinks
# **geometrically**: the gradient from the loss barely reaches the early steps, and the
# weights cannot learn long-range dependencies.
#
# In the LSTM the memory runs along its own pipe: $C_t = F \times C_{t-1} + I \times C_i$. One
# step back along the pipe, $\bar C_{t-1} = F \times \bar C_t$ (plus what arrives through $H$):
# no weight matrix and no squashing derivative, only the forget gate. If the forget gate stays
# open ($F \approx 1$), the gradient flows back undiminished; if it is half closed, it halves at
# every step. The gate is learned, so the network decides how long to remember.

# %% [markdown]
# ## The measurement
#
# Sequences of $T = 50$ random inputs ($d = 4$), $h = 16$ hidden units, one sequence ($r = 1$),
# cross-entropy on the last output. `tg.grad(L, nodes)` returns $\partial L/\partial$ node for any
# nodes, intermediates included, without touching `.grad`.

# %%
T, d, h = 50, 4, 16
X = np.random.default_rng(0).normal(size=(T, 1, d))


def gradient_norms(cell, name):
    """‖∂L/∂(node `name` of step t)‖ for t = 1..T, with L the loss on the last output only."""
    run = cell.unroll(X)
    L = ce([run.outputs[-1]], targets=np.array([[0]]))
    grads = tg.grad(L, [step[name] for step in run.steps])
    return np.array([np.linalg.norm(g) for g in grads])


rnn = VanillaRNN(d, h, seed=0)
lstm = BlogLSTM(d, h, seed=0)
curves = {"vanilla RNN: ‖∂L/∂h_t‖": gradient_norms(rnn, "h_t"),
          "LSTM, b_f ≈ 0: ‖∂L/∂H_t‖": gradient_norms(lstm, "H_t")}

# %% [markdown]
# The same LSTM with its forget-gate bias $b_f$ set to 1 (a common initialisation) and to 3
# (gates nearly open: $\sigma(3) \approx 0.95$):

# %%
for bias in (1.0, 3.0):
    lstm_open = BlogLSTM(d, h, seed=0)
    lstm_open.parameters()["b_f"].assign(np.full(h, bias))
    curves[f"LSTM, b_f = {bias:g}: ‖∂L/∂H_t‖"] = gradient_norms(lstm_open, "H_t")
    run = lstm_open.unroll(X)
    print(f"b_f = {bias:g}: mean forget gate F over the sequence = {np.mean([s['F'].value for s in run.steps]):.3f}")
run = lstm.unroll(X)
print(f"b_f ≈ 0: mean forget gate F over the sequence = {np.mean([s['F'].value for s in run.steps]):.3f}")

# %%
distance = T - np.arange(1, T + 1)                  # t = T is distance 0
fig, ax = plt.subplots(figsize=(8, 4.5))
for (label, norms), style in zip(curves.items(), ["o-", "s-", "^-", "d-"]):
    ax.semilogy(distance, norms, style, markersize=3, label=label)
ax.set_xlabel("distance from the loss, T − t (steps)")
ax.set_ylabel("gradient norm (log scale)")
ax.set_title(f"How much of the gradient reaches step t (T = {T}, h = {h})")
ax.grid(True, which="both", alpha=0.3)
ax.legend()
plt.show()

# %% [markdown]
# The per-step factor is the slope of each curve on the log scale. Measured from $t = 41$
# back to $t = 1$ (40 steps):

# %%
for label, norms in curves.items():
    ratio = (norms[0] / norms[40]) ** (1 / 40)      # geometric mean factor per step back
    print(f"{label:32} {norms[-1]:.2e} at the loss, {norms[0]:.2e} at t=1; ×{ratio:.3f} per step back")
rnn_norms = curves["vanilla RNN: ‖∂L/∂h_t‖"]
assert rnn_norms[0] < 1e-6 * rnn_norms[-1]                                   # vanished
assert curves["LSTM, b_f = 3: ‖∂L/∂H_t‖"][0] > 1e-2 * curves["LSTM, b_f = 3: ‖∂L/∂H_t‖"][-1]  # kept

# %% [markdown]
# What the plot says, honestly:
#
# - The plain RNN's gradient falls by about an order of magnitude every few steps: after 50
#   steps the first input has essentially no say in the loss.
# - An LSTM is **not** immune by construction. With freshly initialised gates ($F \approx 0.5$)
#   its gradient vanishes too, even faster than the RNN's here: about half of the memory is
#   forgotten at every step, and the gradient along the pipe shrinks by the same factor.
# - What the LSTM adds is a path whose decay is **controlled by a gate**. With the forget gate
#   open, the gradient reaches the start of the sequence with its size intact. Training can
#   learn to open it where memory is useful; initialising $b_f$ to 1 or more is the usual head
#   start (Gers et al., 2000; Jozefowicz et al., 2015).

# %% [markdown]
# ## The gradient flow on the unrolled graph
#
# The same story as a picture: a shorter sequence ($T = 8$), each time step drawn as one box
# (`collapse="t=*"`), every edge labelled with the norm of the gradient flowing back along it
# and drawn thicker for larger gradients. Parameters are left out so the chain through time
# stands out. First the RNN: follow the loss back through $h_8, h_7, \dots, h_1$ and watch the
# numbers shrink.

# %%
def is_parameter(node):
    return node.op is None and node.requires_grad


short = X[:8]
rnn_run = rnn.unroll(short)
L_rnn = ce([rnn_run.outputs[-1]], targets=np.array([[0]]))
tg.draw(L_rnn, edge_grads=True, hide=is_parameter, collapse="t=*")

# %% [markdown]
# Now the LSTM with open forget gates ($b_f = 3$). Between two steps run two edges: $H_t$
# (marked ×4: it feeds the four gate networks of the next step) and the memory $C_t$. The
# gradient on the memory edges keeps its size all the way back to $t = 1$.

# %%
lstm_open = BlogLSTM(d, h, seed=0)
lstm_open.parameters()["b_f"].assign(np.full(h, 3.0))
lstm_run = lstm_open.unroll(short)
L_lstm = ce([lstm_run.outputs[-1]], targets=np.array([[0]]))
tg.draw(L_lstm, edge_grads=True, hide=is_parameter, collapse="t=*")

# %% [markdown]
# The number on the memory edge from step $t$ to step $t+1$ is the norm of what the forget valve
# of step $t+1$ sends back, $F_{t+1} \times \bar C_{t+1}$ (the C path). Inside the box of step
# $t$, $C_t$ gets a second part through $H_t$, so $\lVert \bar C_t \rVert$ is a little larger:

# %%
from tinygraph.draw import edge_gradients

sent, _ = edge_gradients(L_lstm)          # {(input, consumer): gradient}, as the drawing uses
steps = lstm_run.steps
C_bar = tg.grad(L_lstm, [step["C_t"] for step in steps])
for t in range(1, 8):
    C_path = sent[(steps[t - 1]["C_t"], steps[t]["F×C"])]
    assert np.allclose(C_path, steps[t]["F"].value * C_bar[t])          # F_{t+1} × C̄_{t+1}
    print(f"t={t}: C path {np.linalg.norm(C_path):.3f}, all of ‖∂L/∂C_t‖ {np.linalg.norm(C_bar[t - 1]):.3f}")

# %% [markdown]
# ## What to remember
#
# - Backprop through time multiplies the gradient by one Jacobian per step; in a plain RNN that
#   factor is $\operatorname{diag}(1 - h_t^2)\, W_h^\top$, and the product vanishes geometrically.
# - The LSTM's memory pipe is multiplied only by the forget gate, $\bar C_{t-1} = F \times \bar C_t +
#   \dots$: the decay is set by a learned gate, and an open gate lets the gradient through.
