# %% [markdown]
# # 4 · Derive BPTT for the LSTM yourself
#
# Notebook 3 watched backward go through an LSTM node by node. Here you derive it: the
# gradient of the loss with respect to everything one BlogLSTM step touches, then the two
# **recurrences** that carry it from step $t$ back to step $t-1$, and the rule for a weight
# that every step shares. At the end you write the step's backward yourself, and the grader
# checks each line on its own.
#
# The step, in the blog's notation ($X = X_t$ is $r\times d$; $H = H_{t-1}$, $C = C_{t-1}$ and
# every gate are $r\times h$; $\times$ is element-wise; gates in the pipe's order F, I, C_i, O):
#
# $$
# \begin{aligned}
# A_g &= X W_{gx} + H W_{gh} + b_g \quad (g = f, i, c, o) &
# F &= \sigma(A_f) \quad I = \sigma(A_i) \quad C_i = \tanh(A_c) \quad O = \sigma(A_o)\\
# C_t &= F \times C + I \times C_i & H_t &= O \times \tanh(C_t)
# \end{aligned}
# $$
#
# As before, $\bar v = \partial L/\partial v$. Every claim below is measured on a real run with
# autodiff (`lstm.exercises.truth` reads off each node's gradient, and the part of it each
# step sent back).

# %%
import numpy as np

from lstm import exercises
from lstm.cells import BlogLSTM
from lstm.exercises import check
from lstm.exercises.truth import gradients, part, random_run
from lstm.losses import ce

# %% [markdown]
# A run to measure on: $d = 3$, $h = 4$, $r = 2$ rows, $T = 3$ steps from a random state, the
# loss $L$ the cross-entropy of every output. `full[node]` is $\partial L/\partial \text{node}$;
# `part(parts, node, t)` is what the ops of step $t$ sent back to `node`.

# %%
cell, run, loss, init, xs = random_run(BlogLSTM, 3, 4, 2, 3)
s1, s2, s3 = run.steps
states = [init["H0"], init["C0"]] + [s[k] for s in run.steps for k in ("H_t", "C_t")]
full, parts = gradients(loss, tracked=states + list(cell.parameters().values()))
print(f"L = {loss.item():.4f}")

# %% [markdown]
# ## 1. What a step receives from the future
#
# $H_t$ is used twice: by the loss at step $t$ and by the four gate networks of step $t+1$.
# $C_t$ is used by $\tanh(C_t)$ of step $t$ and by the forget valve of step $t+1$. So step $t$'s
# backward starts from two gradients that are already complete when it runs:
#
# $$\bar H_t = \frac{\partial L_t}{\partial H_t} + \underbrace{\textstyle\sum_g \bar A_g^{(t+1)} W_{gh}^\top}_{\text{sent back by step } t+1},
# \qquad \text{and the part of } \bar C_t \text{ that step } t+1 \text{ sent along the pipe.}$$
#
# ## 2. The output valve and the memory
#
# $H_t = O \times \tanh(C_t)$ is a product: each factor gets the gradient times the other one,
#
# $$\bar O = \bar H_t \times \tanh(C_t), \qquad
# \overline{\tanh(C_t)} = \bar H_t \times O .$$
#
# $C_t$ collects that through $\tanh$ (derivative $1 - \tanh^2$) **plus** what came along the
# pipe: the **C̄ recurrence**
#
# $$\bar C_t = \bar H_t \times O_t \times (1 - \tanh^2 C_t) \;+\; (\text{a factor}) \times \bar C_{t+1}.$$
#
# **Exercise 4.1 (predict, then check).** $C_{t+1} = F_{t+1} \times C_t + I_{t+1} \times C_i^{(t+1)}$.
# Which factor carries $\bar C_{t+1}$ back to $C_t$ along the pipe? Answer with one of
# `"F_t+1"`, `"F_t"`, `"O_t"`, `"I_t+1"`.

# %%
### BEGIN SOLUTION
pipe_factor = "F_t+1"   # C_t+1 = F_t+1 × C_t + ...: the product sends C_t the other factor
### END SOLUTION

# %% [markdown]
# The check: what step 2 sent back to $C_1$, against each candidate times $\bar C_2$.

# %%
sent = part(parts, s1["C_t"], 2)
candidates = {"F_t+1": s2["F"].value, "F_t": s1["F"].value, "O_t": s1["O"].value, "I_t+1": s2["I"].value}
matching = [name for name, factor in candidates.items() if np.allclose(sent, factor * full[s2["C_t"]])]
print("what step 2 sent to C_1 equals", matching, "× C̄_2")
check("the factor along the pipe", pipe_factor, matching[0], hint="which factor multiplies C_t in C_t+1?")

# %% [markdown]
# So the memory's gradient goes back one step by an element-wise product with the next forget
# gate: no weight matrix, no squashing derivative. The whole recurrence, measured at every step:

# %%
for t, s in enumerate(run.steps, start=1):
    from_pipe = run.steps[t]["F"].value * full[run.steps[t]["C_t"]] if t < 3 else 0.0
    tanh_C = s["tanh(C_t)"].value
    recurrence = full[s["H_t"]] * s["O"].value * (1 - tanh_C ** 2) + from_pipe
    print(f"t={t}: |C̄_t − recurrence| = {np.max(np.abs(full[s['C_t']] - recurrence)):.1e}")
    assert np.allclose(full[s["C_t"]], recurrence, rtol=1e-12, atol=1e-15)

# %% [markdown]
# ## 3. The gate adjoints
#
# $C_t = F \times C + I \times C_i$ is two products and a sum; the sum copies $\bar C_t$ to both:
#
# $$\bar F = \bar C_t \times C_{t-1}, \qquad \bar I = \bar C_t \times C_i, \qquad \bar C_i = \bar C_t \times I .$$
#
# Each gate is an activation of its pre-activation, so the gate adjoint is multiplied by the
# activation's derivative, written with the gate's own value:
#
# $$\bar A_f = \bar F \times F(1 - F), \quad \bar A_i = \bar I \times I(1 - I), \quad
# \bar A_c = \bar C_i \times (1 - C_i^2), \quad \bar A_o = \bar O \times O(1 - O).$$
#
# ## 4. The H̄ recurrence and the gradient of $X$
#
# Step $t$ reads the past twice: $H_{t-1}$ in the gate networks, $A_g = X W_{gx} + H W_{gh} + b_g$,
# and $C_{t-1}$ in $C_t = F \times C_{t-1} + I \times C_i$. Its backward sends a gradient back along
# each of these reads, and the two recurrences are made of nothing else.
#
# **Exercise 4.2 (predict, then check).** Which gate networks' adjoints $\bar A_g$ appear in what
# step $t$ sends back to $H_{t-1}$? Answer with a set of `"F"`, `"I"`, `"C_i"`, `"O"`. And how
# many ops of step $t$ send a part back to $C_{t-1}$ (a number)?

# %%
### BEGIN SOLUTION
gates_to_H_prev = {"F", "I", "C_i", "O"}   # H_t-1 enters every gate network: H W_gh
ops_to_C_prev = 1                          # only the forget valve F × C_t-1 reads the old memory
### END SOLUTION

# %% [markdown]
# The check, on step 2: each gate's term $\bar A_g W_{gh}^\top$ (the matrix product $H W_{gh}$
# sends $H$ the gradient times the transposed weight), which of them are not zero, and that they
# add up to what step 2 sent to $H_1$; then the ops of step 2 that take $C_1$ as an input.

# %%
W = {k: p.value for k, p in cell.parameters().items()}
gate_names = {"f": "F", "i": "I", "c": "C_i", "o": "O"}
terms = {gate_names[g]: full[s2[f"X W_{g}x + H W_{g}h + b_{g}"]] @ W[f"W_{g}h"].T for g in "fico"}
assert np.allclose(sum(terms.values()), part(parts, s1["H_t"], 2), rtol=1e-12, atol=1e-15)
readers_of_C1 = [name for name, node in s2.items() if s1["C_t"] in node.inputs]
print("step 2's ops reading C_1:", readers_of_C1)
check("gates sending a part to H_t-1", gates_to_H_prev, {g for g, term in terms.items() if np.any(term != 0)},
      hint="which gate networks read H_t-1? Look at A_g for g = f, i, c, o")
check("ops sending a part to C_t-1", ops_to_C_prev, len(readers_of_C1),
      hint="in the blog's cell no gate network reads C_t-1; which op does?")

# %% [markdown]
# So a matrix product sends each factor the gradient times the *transposed* other factor, and
# $H_{t-1}$ and $X_t$ feed all four gates, so each gets a sum; $C_{t-1}$ gets only the forget
# valve's part, the pipe of section 2:
#
# $$\bar H_{t-1} = \frac{\partial L_{t-1}}{\partial H_{t-1}} + \sum_{g} \bar A_g W_{gh}^\top,
# \qquad \bar X_t = \sum_g \bar A_g W_{gx}^\top .$$
#
# Measured: what step $t$ sent back to $H_{t-1}$ is $\sum_g \bar A_g W_{gh}^\top$ with the
# gate adjoints of step $t$.

# %%
previous_H = [init["H0"], s1["H_t"], s2["H_t"]]
for t, s in enumerate(run.steps, start=1):
    A_bar = {g: full[s[f"X W_{g}x + H W_{g}h + b_{g}"]] for g in "fico"}
    sent_back = sum(A_bar[g] @ W[f"W_{g}h"].T for g in "fico")
    assert np.allclose(part(parts, previous_H[t - 1], t), sent_back, rtol=1e-12, atol=1e-15)
print("H̄_t-1's part from step t = Σ_g Ā_g W_ghᵀ at every step")

# %% [markdown]
# ## 5. A weight shared by every step
#
# Every step uses the same $W_{ix}$. Backward treats it like any value used several times (the
# diamond of notebook 1): its gradient is the **sum of what each use sends back**,
#
# $$\frac{\partial L}{\partial W_{ix}} = \sum_{t=1}^{T} X_t^\top \bar A_i^{(t)} .$$
#
# **Exercise 4.3 (predict, then check).** Put the loss on the **last** output only ($T = 3$).
# How many of the three steps send a nonzero part to $\partial L/\partial W_{ix}$?

# %%
### BEGIN SOLUTION
steps_sending = 3   # steps 1 and 2 reach the loss through C and H, so their Ā_i are not zero
### END SOLUTION

# %%
last = ce(run.outputs[-1:], np.array([[1, 3]]))
W_ix = cell.parameters()["W_ix"]
full_last, parts_last = gradients(last, tracked=[W_ix])
step_parts = [part(parts_last, W_ix, t) for t in (1, 2, 3)]
for t, p in enumerate(step_parts, start=1):
    print(f"step {t}'s part of ∂L/∂W_ix: norm {np.linalg.norm(p):.3g}")
check("steps sending a part", steps_sending, sum(bool(np.any(p != 0)) for p in step_parts),
      hint="a step reaches the loss through what it hands on, not only through its own output")
assert np.allclose(sum(step_parts), full_last[W_ix], rtol=1e-12, atol=1e-15)
print("Σ_t parts = ∂L/∂W_ix")

# %% [markdown]
# The parts drawn on the unrolled view of notebook 2 (`lstm.diagrams.unrolled`), with $W_{ix}$
# drawn once (`shared=[W_ix]`): one edge into the input gate of each step, labelled with the norm
# of that step's part $X_t^\top \bar A_i^{(t)}$. The three parts are the three terms of the sum
# (their norms do not add up; the arrays do, as the check above measured). The step nearest the
# loss sends the most.

# %%
from lstm import diagrams

norms = [np.linalg.norm(p) for p in step_parts]
assert norms[2] == max(norms)               # the step nearest the loss sends the most
picture = diagrams.unrolled(diagrams.Example("blog", cell, run, last), shared=[W_ix],
                            edge_grads={(W_ix, s["X W_ix"]): p for s, p in zip(run.steps, step_parts)})
from_W_ix = [e for e in picture.edges if e.src.nodes[0] is W_ix]
assert [tuple(e.consumers) for e in from_W_ix] == [(s["X W_ix"],) for s in run.steps]    # one edge per step
assert all(f"label={n:.3g} " in picture.source for n in norms)                          # each labelled
picture

# %% [markdown]
# ## 6. Write the step's backward yourself
#
# **Exercise 4.4.** Fill in each function with the formulas of sections 2-5. Each returns one
# gradient, an array of its quantity's shape. The next cell grades them **one at a time**:
# every function is given the *true* inputs (from autodiff), so a mistake in one line is
# reported as that one quantity, and the drawing shows where it belongs in the graph. (The
# same exercise as a file: `python -m lstm grade blog_step FILE`, starting from
# `exercises/templates/blog_step.py`.)

# %%
def O_bar(H_bar, tanh_C_t):
    ### BEGIN SOLUTION
    return H_bar * tanh_C_t
    ### END SOLUTION


def C_t_bar(H_bar, O, tanh_C_t, C_t_bar_next):
    ### BEGIN SOLUTION
    return H_bar * O * (1 - tanh_C_t ** 2) + C_t_bar_next
    ### END SOLUTION


def F_bar(C_t_bar, C_prev):
    ### BEGIN SOLUTION
    return C_t_bar * C_prev
    ### END SOLUTION


def I_bar(C_t_bar, C_i):
    ### BEGIN SOLUTION
    return C_t_bar * C_i
    ### END SOLUTION


def C_i_bar(C_t_bar, I):
    ### BEGIN SOLUTION
    return C_t_bar * I
    ### END SOLUTION


def A_f_bar(F_bar, F):
    ### BEGIN SOLUTION
    return F_bar * F * (1 - F)
    ### END SOLUTION


def A_i_bar(I_bar, I):
    ### BEGIN SOLUTION
    return I_bar * I * (1 - I)
    ### END SOLUTION


def A_c_bar(C_i_bar, C_i):
    ### BEGIN SOLUTION
    return C_i_bar * (1 - C_i ** 2)
    ### END SOLUTION


def A_o_bar(O_bar, O):
    ### BEGIN SOLUTION
    return O_bar * O * (1 - O)
    ### END SOLUTION


def C_prev_bar(C_t_bar, F):
    """What this step sends back to C_t-1 along the pipe."""
    ### BEGIN SOLUTION
    return C_t_bar * F
    ### END SOLUTION


def H_prev_bar(A_f_bar, A_i_bar, A_c_bar, A_o_bar, W_fh, W_ih, W_ch, W_oh):
    """What this step sends back to H_t-1."""
    ### BEGIN SOLUTION
    return A_f_bar @ W_fh.T + A_i_bar @ W_ih.T + A_c_bar @ W_ch.T + A_o_bar @ W_oh.T
    ### END SOLUTION


def X_bar(A_f_bar, A_i_bar, A_c_bar, A_o_bar, W_fx, W_ix, W_cx, W_ox):
    ### BEGIN SOLUTION
    return A_f_bar @ W_fx.T + A_i_bar @ W_ix.T + A_c_bar @ W_cx.T + A_o_bar @ W_ox.T
    ### END SOLUTION


def parameter_grads(steps):
    """A dict of the 12 gradients W_fx, W_fh, b_f, ..., b_o, summed over the steps;
    steps[t-1] holds X, H_prev and A_f_bar, A_i_bar, A_c_bar, A_o_bar of step t."""
    ### BEGIN SOLUTION
    grads = {}
    for g in "fico":
        grads[f"W_{g}x"] = sum(s["X"].T @ s[f"A_{g}_bar"] for s in steps)
        grads[f"W_{g}h"] = sum(s["H_prev"].T @ s[f"A_{g}_bar"] for s in steps)
        grads[f"b_{g}"] = sum(s[f"A_{g}_bar"].sum(axis=0) for s in steps)
    return grads
    ### END SOLUTION

# %%
report = exercises.grade_here("blog_step", globals())
report.check()

# %% [markdown]
# One step drawn; when a quantity is wrong, the node where it belongs is red, on the cell view
# when it is a gate, valve or state box there, else on the ops view
# (`report.drawing(view="ops")` chooses). With every answer right: the ops view.

# %%
report.drawing()

# %% [markdown]
# ## What to remember
#
# - A step's backward needs two gradients from the future: $\bar H_t$ (the loss's part plus
#   $\sum_g \bar A_g^{(t+1)} W_{gh}^\top$) and the pipe's part of $\bar C_t$.
# - **C̄ recurrence:** $\bar C_t = \bar H_t \times O_t \times (1-\tanh^2 C_t) + F_{t+1} \times \bar C_{t+1}$.
#   Along the pipe only the forget gate scales the gradient.
# - **H̄ recurrence:** $\bar H_{t-1} = \partial L_{t-1}/\partial H_{t-1} + \sum_g \bar A_g W_{gh}^\top$:
#   a matrix and the gates' derivatives at every step.
# - Gate adjoints: $\bar F = \bar C_t \times C_{t-1}$, $\bar I = \bar C_t \times C_i$,
#   $\bar C_i = \bar C_t \times I$, $\bar O = \bar H_t \times \tanh C_t$, then times the
#   activation's derivative.
# - What step $t$ sends back: to $H_{t-1}$ a part from each of the four gate networks, to
#   $C_{t-1}$ only the forget valve's.
# - A shared weight's gradient is the sum of its per-step parts, one per step that uses it.
#
# Next: [5 · Vanishing gradients](05_vanishing_gradients.ipynb), where the two recurrences are
# run over fifty steps.
