# %% [markdown]
# # 3 · Stepping through backprop of an LSTM
#
# Seed 001 (the blog) backpropagates through an LSTM cell by tracing the arrows of its
# computational graph backwards from the loss node to each parameter, and then shows only the
# result. Here we watch
# every arrow being traced: first through **one** time step, then through **two**, where the
# gradient reaches the first step along two routes, the memory $C$ and the hidden state $H$.
#
# The cell, in the blog's notation (X is $r\times d$, H and C are $r\times h$; $\times$ is
# element-wise):
#
# $$
# \begin{aligned}
# I &= \sigma(X W_{ix} + H W_{ih} + b_i) &\quad F &= \sigma(X W_{fx} + H W_{fh} + b_f)\\
# O &= \sigma(X W_{ox} + H W_{oh} + b_o) &\quad C_i &= \tanh(X W_{cx} + H W_{ch} + b_c)\\
# C_t &= F \times C + I \times C_i &\quad H_t &= O \times \tanh(C_t)
# \end{aligned}
# $$
#
# and the loss is the cross-entropy of the output $H_t$ (used as logits: softmax, then
# $-\log$ of the probability of the target class). Remember $\bar v = \partial L/\partial v$.

# %%
import numpy as np

import tinygraph as tg
from lstm import closed_form
from lstm.cells import BlogLSTM
from lstm.exercises import check
from lstm.losses import ce
from tinygraph.notebook import Stepper

# %% [markdown]
# ## One time step
#
# A small cell, $d = 2$ inputs and $h = 3$ memory cells, one row ($r = 1$), one step from
# $H_0 = C_0 = 0$. The target is class 2.

# %%
cell = BlogLSTM(input_size=2, hidden_size=3, seed=0)
X = np.array([[[0.5, -1.0]]])                   # (T, r, d) = (1, 1, 2)
run = cell.unroll(X)
t1 = run.steps[0]                               # node name -> Node, for step t=1
L = ce(run, targets=np.array([[2]]))
print(f"L = {L.item():.4f}")

# %% [markdown]
# Every op of the step, with its value. The boxes in the dashed clusters are the four gate
# networks; the valves (`F×C`, `I×C_i`), the memory `C_t` and the output `H_t` sit in the step.

# %%
tg.draw(L)

# %% [markdown]
# The stepper goes through backward one node at a time: previous / next, the slider, the arrow
# keys or play. It needs no kernel, so it keeps working in the saved notebook; the cells after
# it open it at chosen steps.

# %%
stepper = Stepper(L)
print(f"{len(stepper)} steps:", ", ".join(view.node.label() for view in stepper))
stepper

# %% [markdown]
# ### The output valve: $H_t = O \times \tanh(C_t)$
#
# **Exercise 3.1.** The product sends each factor the incoming gradient times the *other*
# factor. From `H_bar` ($\bar H_t$, read from the stepper) and the values `t1["O"].value`,
# `t1["tanh(C_t)"].value`, compute $\bar O$ and $\overline{\tanh(C_t)}$; the check compares them
# with what the stepper recorded.

# %%
stepper[stepper.index_of("H_t")]

# %%
H_bar = stepper.gradient(t1["H_t"])
### BEGIN SOLUTION
O_bar = H_bar * t1["tanh(C_t)"].value
tanh_C_bar = H_bar * t1["O"].value
### END SOLUTION

# %%
check("Ō", O_bar, stepper.gradient(t1["O"]), hint="Ō = H̄_t × tanh(C_t)")
check("the gradient of tanh(C_t)", tanh_C_bar, stepper.gradient(t1["tanh(C_t)"]), hint="H̄_t × O")

# %% [markdown]
# ### The memory: $C_t = F \times C + I \times C_i$
#
# The sum passes $\bar C_t$ unchanged to both of its inputs: the forget valve `F×C` and the
# input valve `I×C_i`. Then the forget valve sends $\bar F = \bar C_t \times C_0$ to the forget
# gate.
#
# **Exercise 3.2 (predict, then check).** This run starts from $H_0 = C_0 = 0$ and has one
# step. Which of the 12 parameter gradients are **exactly** zero? Give a set of names such as
# `{"W_ix", "b_o"}`; the next sections explain the answer.

# %%
### BEGIN SOLUTION
zero_gradients = {"W_fx", "W_fh", "b_f", "W_ih", "W_ch", "W_oh"}
### END SOLUTION

# %%
print(stepper[stepper.index_of("F×C")])
measured_zero = {key for key, p in cell.parameters().items() if np.all(stepper.gradient(p) == 0)}
check("exactly zero after one step from a zero state", zero_gradients, measured_zero,
      hint="F̄ = C̄_t × C_0, and every product H W_*h sends its weight H_0ᵀ × (its gradient)")

# %% [markdown]
# With $C_0 = 0$, $\bar F$ is **zero**: at the first step there is no old memory, so the forget
# gate cannot change the loss, and its parameters ($W_{fx}$, $W_{fh}$, $b_f$) learn nothing from
# this step. And $H_0 = 0$ silences every $W_{\ast h}$, as the next section shows.

# %%
assert np.all(stepper.gradient(t1["F"]) == 0)

# %% [markdown]
# ### Through a gate network to its parameters
#
# The input gate is $I = \sigma(A_i)$ with $A_i = X W_{ix} + H W_{ih} + b_i$. The sigmoid's rule
# is $\bar A_i = \bar I \times I\,(1 - I)$; the sums pass $\bar A_i$ on; the product
# $X W_{ix}$ sends $\bar W_{ix} = X^\top \bar A_i$, and the bias, which broadcasts over the rows,
# gets the sum over rows. Again $H_0 = 0$ makes $\bar W_{ih} = H_0^\top \bar A_i$ zero.

# %%
stepper[stepper.index_of("I")]

# %%
I = t1["I"].value
A_i_bar = stepper.gradient(t1["I"]) * I * (1 - I)
assert np.allclose(stepper.gradient(cell.parameters()["W_ix"]), X[0].T @ A_i_bar)
assert np.allclose(stepper.gradient(cell.parameters()["b_i"]), A_i_bar.sum(axis=0))
for key, p in cell.parameters().items():
    print(f"‖∂L/∂{key:4}‖ = {np.linalg.norm(stepper.gradient(p)):.4f}")

# %% [markdown]
# ### The same backward on seed 002's picture
#
# The stepper can draw its steps on any drawing that takes the same overlay (`highlight`,
# `visited`). Here is the cell view of `lstm.diagrams` (notebook 2), each gate network one box,
# for a cell with a random state $C_{t-1}, H_{t-1}$ (so nothing is silenced). The edges carry the
# gradient norms of the whole backward pass (`grads=True`), so the picture stays put while red
# marks the current step. At the forget valve `F×C`, the step sends $\bar C_t \times F$ back along
# the pipe and $\bar C_t \times C_{t-1}$ to the forget gate:

# %%
from lstm import diagrams

example = diagrams.example("blog")          # a BlogLSTM step and its loss L, built and run


def cell_view(root, highlight, visited, edge_grads):
    return diagrams.cell(example, grads=True, highlight=highlight, visited=visited)


cell_stepper = Stepper(example.loss, draw=cell_view)
cell_stepper[cell_stepper.index_of(example.run.steps[0]["F×C"])]

# %% [markdown]
# ## Two time steps: the C path and the H path
#
# Unroll the same cell over two steps and put the loss on the **last** output only. The first
# step influences the loss only through what it hands to the second: its memory $C_1$ and its
# output $H_1$. So $\bar C_1$ is the sum of two parts:
#
# - the **C path** (the memory pipe): $C_2 = F_2 \times C_1 + \dots$, so $C_1$ gets
#   $F_2 \times \bar C_2$ from the forget valve of step 2. Only an element-wise product by the
#   forget gate: no weight matrix, no squashing derivative;
# - the **H path**: $H_1 = O_1 \times \tanh(C_1)$ feeds all four gate networks of step 2, so
#   $C_1$ also gets $\bar H_1 \times O_1 \times (1 - \tanh^2 C_1)$ through the $\tanh$, where
#   $\bar H_1$ has come back through $W_{ih}, W_{fh}, W_{oh}, W_{ch}$ and the gates' derivatives.

# %%
X2 = np.array([[[0.5, -1.0]], [[1.0, 0.3]]])    # (T, r, d) = (2, 1, 2)
run2 = cell.unroll(X2)
s1, s2 = run2.steps
L2 = ce([run2.outputs[-1]], targets=np.array([[2]]))
gates = ["input gate", "forget gate", "output gate", "new memory"]
stepper2 = Stepper(L2, collapse=gates)        # the four gate networks drawn as one box each
print(f"{len(stepper2)} steps")
stepper2

# %% [markdown]
# **Exercise 3.3 (predict, then check).** How many parts (one per consumer) arrive at $C_1$,
# and how many at $H_1$? Count the arrows that leave each of them in the graph above.

# %%
### BEGIN SOLUTION
parts_at_C1 = 2     # the forget valve of step 2 and tanh(C_t) of step 1
parts_at_H1 = 4     # the four gate networks of step 2 (no loss on H_1)
### END SOLUTION

# %%
check("parts arriving at C_1", parts_at_C1, len(stepper2.details(stepper2.index_of(s1["C_t"])).incoming),
      hint="what uses C_1: step 1's tanh, and step 2's ...?")
check("parts arriving at H_1", parts_at_H1, len(stepper2.details(stepper2.index_of(s1["H_t"])).incoming),
      hint="the loss is on H_2 only; which networks of step 2 read H_1?")

# %% [markdown]
# The step at which $C_1$ gets its gradient: two parts arrive, one from the forget valve of
# step 2 (the C path) and one from $\tanh(C_t)$ of step 1 (the H path).

# %%
k = stepper2.index_of(s1["C_t"])
stepper2[k]

# %%
parts = {tg.scope_path(consumer) + "/" + consumer.label(): g for consumer, _, g in stepper2.details(k).incoming}
for where, g in parts.items():
    print(f"from {where:16} {np.round(g, 5)}   norm {np.linalg.norm(g):.5f}")
C_path, H_path = parts["t=2/F×C"], parts["t=1/tanh(C_t)"]
assert np.allclose(C_path, s2["F"].value * stepper2.gradient(s2["C_t"]))       # F_2 × C̄_2
tanh_C1 = s1["tanh(C_t)"].value
assert np.allclose(H_path, stepper2.gradient(s1["H_t"]) * s1["O"].value * (1 - tanh_C1**2))
assert np.allclose(sum(parts.values()), stepper2.gradient(s1["C_t"]))

# %% [markdown]
# And $H_1$ collects one part from each of the four gate networks of step 2: $\bar H_1 =
# \sum_g \bar A_g W_{gh}^\top$ over $g \in \{i, f, o, c\}$.

# %%
H1_step = stepper2[stepper2.index_of(s1["H_t"])]
print(H1_step)
assert len(H1_step.details.incoming) == 4

# %% [markdown]
# The whole backward pass at once: every edge labelled with the norm of the gradient that
# flowed along it (thicker = larger). The parameters are left out of this drawing so that the
# two routes from step 2 back to step 1 stand out: $C_1 \to$ `F×C` of step 2 (the C path) and
# $H_1 \to$ the four gate boxes of step 2 (the H path).

# %%
def is_parameter(node):
    return node.op is None and node.requires_grad


tg.draw(L2, collapse=gates, edge_grads=True, hide=is_parameter)

# %% [markdown]
# ## A second opinion: the closed form
#
# `lstm.closed_form` backpropagates through the same two steps with the formulas written out
# in numpy (no graph at all). Every one of the 12 parameter gradients agrees with what the
# stepper recorded.

# %%
params = {key: p.value for key, p in cell.parameters().items()}
fwd = closed_form.forward(params, X2)
_, dH_last = closed_form.softmax_cross_entropy(fwd.outputs[-1:], np.array([[2]]))
dH = np.concatenate([np.zeros_like(dH_last), dH_last])      # no loss on H_1 itself
reference = closed_form.backward(fwd, dH)
worst = max(np.max(np.abs(stepper2.gradient(p) - reference[key])) for key, p in cell.parameters().items())
print(f"largest difference over the 12 parameter gradients: {worst:.1e}")
assert worst < 1e-12

# %% [markdown]
# ## What to remember
#
# - Each backward step is one local rule: products swap their factors, sums copy, σ and tanh
#   multiply by their derivative, matrix products multiply by the transposed other factor.
# - A zero initial state silences some gradients at $t = 1$ ($\bar F$, $\bar W_{\ast h}$).
# - Through time, $C_{t-1}$ gets gradient along two routes; the C path is only scaled by the
#   forget gate. [Notebook 5](05_vanishing_gradients.ipynb) shows why that matters over many steps.
