# %% [markdown]
# # 5 · Vanishing (and exploding) gradients: a plain RNN against an LSTM
#
# Seed 001 opens with the problem the LSTM was invented for: backpropagating through many time
# steps multiplies the gradient by the same kind of factor again and again: "matrix
# multiplication (or simply multiplication) done enough times, can either magnify a number, or
# diminish it completely".
#
# Here we *measure* it, and we measure the factor itself. Each network reads a sequence of
# $T = 50$ random inputs; the loss $L$ looks only at the **last** output. For every step $t$ we ask
# how strongly the loss still depends on that step's state, $\lVert \partial L / \partial h_t \rVert$,
# and what one step back does to that gradient: the **per-step Jacobian**.

# %%
import matplotlib.pyplot as plt
import numpy as np

import tinygraph as tg
from lstm import vanishing
from lstm.cells import BlogLSTM
from lstm.exercises import answered, check
from lstm.losses import ce

# %% [markdown]
# ## One step back is one Jacobian
#
# The RNN's state is $h_t = \tanh(X_t W_x + h_{t-1} W_h + b)$. One step back, the chain rule gives
# $\bar h_{t-1} = \bar h_t J_t$ with $J_t = \partial h_t / \partial h_{t-1} = \operatorname{diag}(1 - h_t^2)\, W_h^\top$
# (as rows: $\bar h$ is a row). Going back $k$ steps multiplies by $k$ Jacobians, and
# $\lVert \bar h_{t-k} \rVert \le \lVert \bar h_t \rVert \prod \lVert J \rVert_2$.
#
# The LSTM's state is the pair $(C_t, H_t)$, so its Jacobian is the $2h \times 2h$ matrix
#
# $$J_t = \frac{\partial (C_t, H_t)}{\partial (C_{t-1}, H_{t-1})} = \begin{pmatrix} \partial C_t/\partial C_{t-1} & \partial C_t/\partial H_{t-1} \\ \partial H_t/\partial C_{t-1} & \partial H_t/\partial H_{t-1} \end{pmatrix}$$
#
# `vanishing.step_jacobian` computes it by autodiff: it builds one step on a batch of $2h$ copies of
# the state and runs one backward pass with the identity as the upstream gradient, so row $k$ of
# the batch returns row $k$ of $J_t$ (rows of a batch never interact).

# %%
X = vanishing.inputs()                       # T = 50 inputs of size d = 4, one sequence
lstm = vanishing.make("blog")                # h = 16, PyTorch-style init: b_f ≈ 0
run = lstm.unroll(X)
state = {key: node.value for key, node in run.initial_state.items()}
J1 = vanishing.step_jacobian(lstm, X[0], state)
print("J_1 is", J1.shape, "; ‖J_1‖₂ =", round(float(np.linalg.norm(J1, 2)), 3))

# %% [markdown]
# ### Exercise 1 · predict a block of the Jacobian
#
# BlogLSTM's gates read $X_t$ and $H_{t-1}$ only, never $C_{t-1}$, and $C_t = F \times C_{t-1} + I \times C_i$.
# **Predict** the top-left block $\partial C_t/\partial C_{t-1}$ exactly (an $h \times h$ matrix)
# from the step's nodes: write it as a function of `step` (`step["F"].value` is $F_t$, shape (1, h)).

# %%
def pipe_block(step):
    ### BEGIN SOLUTION
    return np.diag(step["F"].value[0])
    ### END SOLUTION

# %%
h = lstm.hidden_size
mine, true = answered("∂C_t/∂C_t-1", pipe_block)(run.steps[0]), J1[:h, :h]
assert np.shape(mine) == (h, h), f"∂C_t/∂C_t-1 is {h} × {h}, got shape {np.shape(mine)}"
assert np.allclose(np.diag(mine), np.diag(true)), \
    "the diagonal is wrong: how does C_t change when C_t-1[j] changes, with F and the rest held?"
assert np.allclose(mine, true), "off the diagonal it is zero: no gate reads C_t-1, so C_t-1[j] only meets F[j]"
print("∂C_t/∂C_t-1 = diag(F_t): along the memory pipe a step back multiplies by the forget gate only")

# %% [markdown]
# The other three blocks carry the **H path**: $C_t$ depends on $H_{t-1}$ through the four gates,
# and $H_t = O \times \tanh(C_t)$ depends on $C_{t-1}$ through $C_t$. So
# $\bar C_{t-1} = F_t \times \bar C_t + \bar H_t\, \partial H_t/\partial C_{t-1}$: the pipe is not the only
# way back.
#
# ## The measurement: five models
#
# `vanishing.MODELS`: the plain RNN and BlogLSTM with PyTorch-style initialisation (every weight and
# bias uniform in $\pm 1/\sqrt h$, so the forget-gate bias $b_f \approx 0$ and $F \approx \sigma(0) = 0.5$),
# the LSTM with $b_f$ set to 1 and to 3, and an RNN whose $W_h$ is four times larger. For each:
# $\lVert \partial L/\partial \text{state}_t \rVert$ from one backward pass, $\lVert J_t \rVert_2$ at every
# step, and the norm of the product $J_T \cdots J_{t+1}$.

# %%
found = vanishing.measure(X)
T = len(X)
print(f"{'model':22} {'at the loss':>11} {'at t=1':>9} {'×/step 41→1':>12} {'‖ΠJ‖^(1/49)':>12} {'mean ‖J_t‖':>10}")
for label, at_loss, at_1, factor, rate, mean_J in vanishing.summary_rows(found):
    print(f"{label:22} {at_loss:11.3g} {at_1:9.3g} {factor:12.3f} {rate:12.3f} {mean_J:10.3f}")

# %%
distance = T - np.arange(1, T + 1)                  # t = T is distance 0
fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.5))
for label, m in found.items():
    norms = m["grads"].get("H_t", m["grads"].get("h_t"))
    left.semilogy(distance, norms, ".-", markersize=3, label=label)
    right.plot(np.arange(1, T + 1), m["jacobian_norms"], ".-", markersize=3, label=label)
left.set(xlabel="distance from the loss, T − t (steps)", ylabel="‖∂L/∂H_t‖ (RNN: ‖∂L/∂h_t‖), log scale",
         title="How much of the gradient reaches step t")
right.set(xlabel="step t", ylabel="‖J_t‖₂", title="The per-step Jacobian's norm")
right.axhline(1.0, color="black", linewidth=0.8)
for ax in (left, right):
    ax.grid(True, which="both", alpha=0.3)
left.legend(fontsize=8)
plt.tight_layout()
plt.show()

# %% [markdown]
# The slope of each curve on the left is the per-step factor. The column ‖ΠJ‖^(1/49) is the
# per-step rate of the *product* of the 49 Jacobians, the most any gradient could be stretched: the
# measured factor stays just below it (by at most 0.013 for the four models that do not explode, by
# 0.040 for $W_h \times 4$: the next cell prints each gap). The mean of the single ‖J_t‖₂ says much
# less: the RNN's is 0.98, yet its gradient shrinks ×0.64 per step, because each $J_t$ can stretch
# one direction, but not the same direction step after step. What decides is the product.

# %%
gaps = {label: rate - factor for label, at_loss, at_1, factor, rate, mean_J in vanishing.summary_rows(found)}
print("‖ΠJ‖^(1/49) − measured factor:", {label: round(gap, 3) for label, gap in gaps.items()})
calm = max(gap for label, gap in gaps.items() if "× 4" not in label)
assert min(gaps.values()) > -0.005 and f"{calm:.3f}" == "0.013" and f"{gaps['VanillaRNN, W_h × 4']:.3f}" == "0.040", gaps
rnn = found["VanillaRNN"]["grads"]["h_t"]
assert rnn[0] < 1e-9 * rnn[-1]                                     # vanished

# %% [markdown]
# ## The RNN: why it vanishes here
#
# $J_t = \operatorname{diag}(1 - h_t^2)\, W_h^\top$. The tanh derivative is at most 1, and this $W_h$
# (uniform $\pm 1/\sqrt h$) has spectral radius 0.74: each step back shrinks the gradient, ×0.64 on
# average, $10^{-10}$ after 49 steps. That is an **initialisation choice** too: scale $W_h$ up and the
# same cell explodes instead.

# %%
W_h = vanishing.make("rnn").parameters()["W_h"].value
radius = max(abs(np.linalg.eigvals(W_h)))
print(f"spectral radius of W_h: {radius:.2f}; of 4 W_h: {4 * radius:.2f}")
big = found["VanillaRNN, W_h × 4"]["grads"]["h_t"]
print(f"W_h × 4: ‖∂L/∂h_t‖ {big[-1]:.2f} at the loss, {min(big):.3f} at its smallest, {big[0]:.2f} at t = 1")
assert big[0] > big[-1]                                            # larger 49 steps back than at the loss

# %% [markdown]
# With $W_h \times 4$ the gradient first drops near the loss, then **grows** going back (×1.07 per
# step): the product of Jacobians stretches by ×1.11 per step. It does not grow faster because the
# larger $W_h$ also saturates tanh (the mean of $1 - h_t^2$ falls from 0.89 to 0.32): a tanh RNN's
# explosion is held back by its own saturation.
#
# ### What clipping does to it
#
# Seed 001's remedy for exploding gradients is clipping: rescale the whole parameter gradient so its
# norm is at most a threshold. The gradient of the shared $W_h$ is a sum of one term per step,
# $\partial L/\partial W_h = \sum_t h_{t-1}^\top\, \bar a_t$ (with $a_t$ the pre-activation). Measure how
# much of it comes from the **first ten** steps, before and after clipping to norm 1:

# %%
def steps_share(cell, first=10):
    """(‖∂L/∂W_h‖, the share of its norm from steps 1..first) for the loss on X."""
    run = cell.unroll(X)
    L = ce([run.outputs[-1]], targets=np.array([[0]]))
    tg.backward(L)
    a_bar = tg.grad(L, [step["X W_x + h W_h + b"] for step in run.steps])
    h_prev = [run.initial_state["h0"].value] + [step["h_t"].value for step in run.steps[:-1]]
    terms = [h.T @ a for h, a in zip(h_prev, a_bar)]
    W_h = cell.parameters()["W_h"]
    assert np.allclose(sum(terms), W_h.grad)                       # the per-step terms add up to the gradient
    return float(np.linalg.norm(W_h.grad)), float(np.linalg.norm(sum(terms[:first])) / np.linalg.norm(W_h.grad))


exploding = vanishing.make("rnn", recurrent_scale=4.0)
norm_before, share_before = steps_share(exploding)
print(f"W_h × 4: ‖∂L/∂W_h‖ = {norm_before:.2f}; steps 1-10 give {share_before:.0%} of it")

# %% [markdown]
# ### Exercise 2 · predict what clipping changes
#
# `tg.optim.clip_grad_norm(params, 1.0)` divides every gradient by the global norm when it exceeds 1.
# **Predict** the share of $\partial L/\partial W_h$ that comes from steps 1-10 after clipping.

# %%
### BEGIN SOLUTION
share_after_clipping = share_before
### END SOLUTION

# %%
params = exploding.parameters()
before = tg.optim.clip_grad_norm(params, 1.0)
clipped = params["W_h"].grad
run_e = exploding.unroll(X)
L_e = ce([run_e.outputs[-1]], targets=np.array([[0]]))
a_bar = tg.grad(L_e, [step["X W_x + h W_h + b"] for step in run_e.steps])
h_prev = [run_e.initial_state["h0"].value] + [step["h_t"].value for step in run_e.steps[:-1]]
scale = np.linalg.norm(clipped) / np.linalg.norm(sum(h.T @ a for h, a in zip(h_prev, a_bar)))
measured_share = float(np.linalg.norm(scale * sum(h.T @ a for h, a in zip(h_prev[:10], a_bar[:10])))
                       / np.linalg.norm(clipped))
check("share of steps 1-10 after clipping", share_after_clipping, measured_share, atol=0.01,
      hint=f"clipping multiplies every per-step term by the same factor ({scale:.3f}): does that change a share?")
print(f"global norm before clipping {before:.2f}; ‖∂L/∂W_h‖ after {np.linalg.norm(clipped):.2f}; "
      f"share of steps 1-10 {measured_share:.0%}, as before")

# %% [markdown]
# Clipping keeps an exploding gradient from throwing the weights far away in one update; it keeps
# the direction, so the far steps still dominate the update, and it does nothing for a vanishing
# gradient (a tiny share stays tiny).
#
# ## The LSTM: what the memory pipe does, exactly
#
# With PyTorch-style initialisation ($b_f \approx 0$) the LSTM's gradient vanishes as fast as the
# RNN's: ×0.62 per step. It is tempting to say "the forget gates are near 0.5, so the pipe halves
# the gradient". The numbers say more:

# %%
def pipe_story(cell):
    """(mean F, what the pipe alone passes back per step, what C̄ really changes by per step), as
    geometric means over t = 2..41."""
    run, adj = vanishing.state_adjoints(cell, X)
    rows = np.array(vanishing.pipe_factors(run, adj["C_t"]))[:40]
    return rows[:, 0].mean(), np.exp(np.log(rows[:, 1]).mean()), np.exp(np.log(rows[:, 2]).mean())


for bias in (None, 1.0, 3.0):
    mean_F, pipe, actual = pipe_story(vanishing.make("blog", forget_bias=bias))
    label = "b_f ≈ 0" if bias is None else f"b_f = {bias:g}"
    print(f"{label}: mean F {mean_F:.3f}; the pipe alone ‖F ⊙ C̄_t‖/‖C̄_t‖ ×{pipe:.3f}; "
          f"‖C̄_t-1‖/‖C̄_t‖ ×{actual:.3f}")

# %% [markdown]
# For $b_f \approx 0$: the mean forget gate is 0.51, but the pipe alone passes back ×0.53 per step,
# because $\lVert F \odot \bar C \rVert / \lVert \bar C \rVert$ weighs each unit by its share of
# $\lVert \bar C \rVert$, and the units with the most open gates keep more of their gradient, so they
# come to dominate the norm. And $\bar C_{t-1}$ also receives the H path
# ($\bar H_t\, \partial H_t / \partial C_{t-1}$ and what comes back through the gates), which lifts the
# factor to ×0.62. The pipe does not halve the gradient; it multiplies it by F, unit by unit, and the
# H path adds about 0.09 per step here.
#
# ### Exercise 3 · predict the per-step decay for $b_f = 2$
#
# $\sigma(2) = 0.88$. From the three rows above, **predict** the per-step factor
# $\lVert \bar C_{t-1} \rVert / \lVert \bar C_t \rVert$ (geometric mean over $t = 2..41$) for $b_f = 2$.

# %%
### BEGIN SOLUTION
decay_bf2 = 0.88 + 0.08          # the pipe passes about the mean F; the H path adds about 0.08-0.09
### END SOLUTION

# %%
mean_F2, pipe2, actual2 = pipe_story(vanishing.make("blog", forget_bias=2.0))
check("the per-step decay for b_f = 2", decay_bf2, actual2, atol=0.04,
      hint=f"mean F is {mean_F2:.3f} and the pipe alone passes ×{pipe2:.3f}; how much did the H path add above?")
print(f"b_f = 2: mean F {mean_F2:.3f}, pipe alone ×{pipe2:.3f}, measured ×{actual2:.3f}")

# %% [markdown]
# ### $b_f = 3$: open gates, and a gradient that does not reach the start intact
#
# With $b_f = 3$ ($F$ averages 0.95) the gradient at $t = 1$ is 0.031, against 0.99 at the loss. It
# is not "intact". Where is it lost? Look at the first steps back, and at $\bar C_t$ beside $\bar H_t$:

# %%
open_gates = found["BlogLSTM, b_f = 3"]["grads"]
H3, C3 = open_gates["H_t"], open_gates["C_t"]
print("‖H̄_t‖ for t = T, T-1, T-2:", [round(x, 4) for x in H3[::-1][:3]])
print("‖C̄_t‖ for t = T, T-1, T-2:", [round(x, 4) for x in C3[::-1][:3]])
run3 = vanishing.make("blog", forget_bias=3.0).unroll(X)
C_T = run3.steps[-1]["C_t"].value
print(f"mean |C_T| = {np.abs(C_T).mean():.2f}, mean tanh'(C_T) = {np.mean(1 - np.tanh(C_T) ** 2):.2f} "
      f"(b_f ≈ 0: {np.abs(run.steps[-1]['C_t'].value).mean():.2f} and "
      f"{np.mean(1 - np.tanh(run.steps[-1]['C_t'].value) ** 2):.2f})")
print(f"from t = 41 back to t = 1: ‖H̄‖ ×{vanishing.per_step_factor(H3, 41, 1):.3f}, "
      f"‖C̄‖ ×{vanishing.per_step_factor(C3, 41, 1):.3f} per step")

# %% [markdown]
# What is true for $b_f = 3$:
#
# - **Two steps back from the loss, ‖H̄‖ falls from 0.99 to 0.014** (×0.13, then ×0.11). $H_{T-1}$
#   reaches $H_T$ only through the gates (σ′ ≤ ¼, weights of size ¼) and through $C_T$. What goes on
#   travels in the memory, and it enters it small: $\bar C_T = \bar H_T \odot O \odot \tanh'(C_T)$ is
#   0.076, because the open gates have let $C$ grow ($|C_T| \approx 1$) and tanh′ is only about 0.5
#   there.
# - **Then it does not decay.** From $t = 41$ back to 1 the norms *grow* ×1.025 per step: $F \approx 0.95$
#   along the pipe, plus the H path. The product of the Jacobians stretches by ×1.04 per step. Over a
#   longer sequence it neither vanishes nor explodes systematically (on 200 steps:
#   0.013 at $t = 190$, 0.006 at $t = 1$).
# - Behind the loss the gradient travels in the memory: $\lVert \bar C_t \rVert$ is larger than
#   $\lVert \bar H_t \rVert$ at 48 of the 49 earlier steps, four times larger at the median (below,
#   for all three LSTMs).

# %%
_, long_run = vanishing.state_gradients(vanishing.make("blog", forget_bias=3.0), vanishing.inputs(T=200))
H200 = long_run["H_t"]
print(f"T = 200, b_f = 3: ‖H̄_t‖ {H200[-1]:.2f} at the loss, {H200[189]:.3f} at t = 190, {H200[0]:.4f} at t = 1")
assert 0.3 < H200[0] / H200[189] < 3                        # neither vanished nor exploded over 189 steps

# %%
fig, ax = plt.subplots(figsize=(8, 4.2))
for label, color in (("BlogLSTM, b_f ≈ 0", "tab:red"), ("BlogLSTM, b_f = 1", "tab:orange"),
                     ("BlogLSTM, b_f = 3", "tab:green")):
    g = found[label]["grads"]
    ax.semilogy(distance, g["C_t"], "-", color=color, label=f"‖C̄_t‖, {label[10:]}")
    ax.semilogy(distance, g["H_t"], ":", color=color, label=f"‖H̄_t‖, {label[10:]}")
ax.set(xlabel="distance from the loss, T − t (steps)", ylabel="gradient norm (log scale)",
       title="The memory's gradient C̄_t beside the hidden state's H̄_t")
ax.grid(True, which="both", alpha=0.3)
ax.legend(fontsize=8, ncol=2)
plt.show()
assert 0.01 < H3[0] / H3[-1] < 0.1 and C3[0] > C3[-2]          # not intact; and larger at t=1 than at T-1
for label in ("BlogLSTM, b_f ≈ 0", "BlogLSTM, b_f = 1", "BlogLSTM, b_f = 3"):
    g = found[label]["grads"]
    ratio = np.array(g["C_t"][:-1]) / np.array(g["H_t"][:-1])
    print(f"{label}: ‖C̄_t‖/‖H̄_t‖ before the last step: median {np.median(ratio):.1f}, "
          f"larger than 1 at {np.sum(ratio > 1)} of {len(ratio)} steps")

# %% [markdown]
# ## Initialisation is part of the story, for both networks
#
# - The **1997 LSTM had no forget gate** (Hochreiter & Schmidhuber): its memory carried itself over
#   with weight 1 (the "constant error carousel"), so the pipe passed the gradient back unchanged by
#   construction. The forget gate came with Gers, Schmidhuber & Cummins (2000).
# - **$b_f = 1$**, so that the cell remembers until it learns to forget, is the common
#   recommendation (Gers et al. 2000; Jozefowicz, Zaremba & Sutskever 2015); Keras's
#   `unit_forget_bias=True`, its default, adds 1 to the forget-gate bias at initialisation. PyTorch's
#   `nn.LSTM` draws every bias uniformly in $\pm 1/\sqrt h$ ($b_f \approx 0$), as our cells do.
# - **Chrono initialisation** (Tallec & Ollivier 2018) draws $b_f$ from $\log \mathcal U(1, T_{\max} - 1)$
#   (and $b_i = -b_f$), matching the forget gates' time scales to the dependencies expected, up to
#   $T_{\max}$ steps.
# - The **RNN** vanishes here because this $W_h$ has spectral radius 0.74 and tanh′ ≤ 1: an
#   initialisation choice as well. A larger $W_h$ explodes instead (above); an identity or orthogonal
#   $W_h$ starts near the border between the two.
#
# So "the LSTM starts with a better gradient" is false with PyTorch-style initialisation
# (×0.62 per step, like the RNN's ×0.64) and true with $b_f = 1$ (×0.83) or more. What the LSTM
# adds is a path whose decay a **learned gate** sets. The training experiment of docs/training.md
# measures what happens next, with $b_f \approx 0$ and with $b_f = 1$.
#
# ## The gradient flow on the unrolled graph
#
# The same story as a picture: $T = 8$, each time step drawn as one box (`collapse="t=*"`), every
# edge labelled with the norm of the gradient flowing back along it. Parameters are left out so
# the chain through time stands out. First the RNN: follow the loss back through
# $h_8, h_7, \dots, h_1$ and watch the numbers shrink.

# %%
def is_parameter(node):
    return node.op is None and node.requires_grad


short = X[:8]
rnn_run = vanishing.make("rnn").unroll(short)
L_rnn = ce([rnn_run.outputs[-1]], targets=np.array([[0]]))
tg.draw(L_rnn, edge_grads=True, hide=is_parameter, collapse="t=*")

# %% [markdown]
# Now the LSTM with open forget gates ($b_f = 3$). Between two steps run two edges: $H_t$ (marked
# ×4: it feeds the four gate networks of the next step) and the memory $C_t$. The memory edges
# carry most of the gradient, and it hardly shrinks from step to step.

# %%
lstm_open = vanishing.make("blog", forget_bias=3.0)
lstm_run = lstm_open.unroll(short)
L_lstm = ce([lstm_run.outputs[-1]], targets=np.array([[0]]))
tg.draw(L_lstm, edge_grads=True, hide=is_parameter, collapse="t=*")

# %% [markdown]
# The number on the memory edge from step $t$ to step $t+1$ is what the forget valve of step $t+1$
# sends back, $F_{t+1} \times \bar C_{t+1}$ (the pipe). Inside step $t$, $C_t$ gets a second part
# through $H_t$, so $\lVert \bar C_t \rVert$ is larger than what the pipe brings:

# %%
from tinygraph.draw import edge_gradients

sent, _ = edge_gradients(L_lstm)          # {(input, consumer): gradient}, as the drawing uses
steps = lstm_run.steps
C_bar = tg.grad(L_lstm, [step["C_t"] for step in steps])
for t in range(1, 8):
    C_path = sent[(steps[t - 1]["C_t"], steps[t]["F×C"])]
    assert np.allclose(C_path, steps[t]["F"].value * C_bar[t])          # F_{t+1} × C̄_{t+1}
    print(f"t={t}: the pipe brings {np.linalg.norm(C_path):.4f}, all of ‖∂L/∂C_t‖ is {np.linalg.norm(C_bar[t - 1]):.4f}")

# %% [markdown]
# On the cell-style unrolled view of `lstm.diagrams`, `grads=True` also shades every step by
# $\lVert \partial L/\partial \text{state}_t \rVert$ (darker: larger; the value is in each step's
# label), so the vanishing shows at a glance: six steps of the RNN, then of the LSTM with $b_f = 3$.

# %%
from lstm import diagrams


def shaded(cell, T=6):
    run = cell.unroll(X[:T])
    example = diagrams.Example("rnn" if "h0" in cell.STATE else "blog", cell, run,
                               ce([run.outputs[-1]], targets=np.array([[0]])))
    return diagrams.unrolled(example, grads=True)


shaded(vanishing.make("rnn"))

# %%
shaded(vanishing.make("blog", forget_bias=3.0))

# %% [markdown]
# ## The GRU beside them
#
# The GRU (`lstm.cells.GRU`, in PyTorch's convention) has no separate memory: $H$ is its pipe, and the
# update gate $Z$ is the valve that keeps it, $H_t = (1 - Z)\times N + Z\times H$. One step back
# multiplies $\partial L/\partial H$ by $Z$ unit by unit, plus what flows back through $N$, $R$ and $Z$
# themselves, so $Z$ plays the forget gate's part. The same sequence and loss, PyTorch-style
# initialisation ($b_z \approx 0$, so $Z \approx 0.5$), and the keep valve opened with $b_z = 3$:

# %%
from lstm.cells import GRU


def gru(update_bias=None, hidden=16):
    cell = GRU(X.shape[-1], hidden, seed=0)
    if update_bias is not None:
        cell.parameters()["b_z"].assign(np.full(hidden, float(update_bias)))
    return cell


def hidden_norms(cell):
    """‖∂L/∂H_t‖ for t = 1..T, L the cross-entropy of the last output (as for the RNN and LSTM)."""
    run = cell.unroll(X)
    L = ce([run.outputs[-1]], targets=np.array([[0]]))
    return [float(np.linalg.norm(g)) for g in tg.grad(L, [step["H_t"] for step in run.steps])]


gru_rows = {"VanillaRNN": vanishing.state_gradients(vanishing.make("rnn"), X)[1]["h_t"],
            "BlogLSTM, b_f ≈ 0": vanishing.state_gradients(vanishing.make("blog"), X)[1]["H_t"],
            "GRU, b_z ≈ 0": hidden_norms(gru()), "GRU, b_z = 3": hidden_norms(gru(3.0))}
for label, norms in gru_rows.items():
    print(f"{label:18s} ‖∂L/∂state‖ at t = T {norms[-1]:.2e}, at t = 1 {norms[0]:.2e}, "
          f"{vanishing.per_step_factor(norms, 41, 1):.3f} per step from t = 41 back")
factors = {label: vanishing.per_step_factor(norms, 41, 1) for label, norms in gru_rows.items()}
reaching = {label: norms[0] / norms[-1] for label, norms in gru_rows.items()}
print(f"share of ‖∂L/∂state‖ at the loss that reaches t = 1 with b_z = 3: {reaching['GRU, b_z = 3']:.1%}")
assert [f"{factors[k]:.2f}" for k in gru_rows] == ["0.64", "0.62", "0.61", "0.95"], factors     # the text below
assert f"{reaching['GRU, b_z = 3']:.1%}" == "7.7%", reaching
H3 = found["BlogLSTM, b_f = 3"]["grads"]["H_t"]
assert f"{H3[0] / H3[-1]:.1%}" == "3.1%"                                    # the LSTM with b_f = 3, below

# %% [markdown]
# With $Z \approx 0.5$ the GRU's gradient vanishes like the LSTM's with $F \approx 0.5$ (about 0.61 per
# step back, against 0.62 for the LSTM and 0.64 for the RNN); opening the keep valve ($b_z = 3$,
# $Z \approx 0.95$) gives 0.95 per step and lets 7.7 % of the gradient reach $t = 1$, where $b_f = 3$
# lets 3.1 % through for the LSTM.
# Trained on the adding problem at $T = 50$ (`experiments/vanishing.py --models gru`), the GRU reached
# 0.1-0.3 % of the baseline in 1,500 steps in each of three seeds ([docs/cells.md](../docs/cells.md)).

# %% [markdown]
# ## What to remember
#
# - Backprop through time multiplies the gradient by one Jacobian per step; what decides vanishing
#   or exploding is the norm of their **product** (its per-step rate matched every measured decay here).
# - Along the LSTM's memory pipe a step back multiplies by $F$, unit by unit ($\partial C_t/\partial C_{t-1}
#   = \operatorname{diag}(F_t)$); the H path adds to it. With $F \approx 0.5$ (PyTorch-style
#   initialisation) the LSTM's gradient vanishes as fast as the RNN's; with $b_f = 1$ or 3 it does not.
# - Open gates are not the whole story: with $b_f = 3$ the gradient loses most of its size in the first
#   two steps back and then holds it; it reaches $t = 1$ at 3.1 % of its size at the loss.
# - Exploding gradients come from the same product; clipping bounds the update, not the imbalance
#   between steps.
