# %% [markdown]
# # 2 · The LSTM cell as a graph
#
# Three texts describe the LSTM, each in its own notation and its own picture:
#
# - **seed 001** (a blog on LSTMs): batched matrices, 12 named parameters, a computational graph;
# - **seed 002** (a blog on LSTM diagrams): the memory as water in a **pipe**, controlled by
#   **valves**;
# - **seed 000** (a paper, *LSTM: From theory to practice*): scalar gates with peepholes, and
#   closed-form derivatives.
#
# Here each cell is built from tinygraph's primitive ops, **run**, and then drawn from the graph
# that actually executed, in three views:
#
# | view | what it shows |
# |---|---|
# | `ops` | every primitive op (×, +, σ, tanh, @, [;]), clustered per time step and per gate network, with the parameters |
# | `cell` | one step, each gate network collapsed to one box: the memory pipe runs straight through the cell, the hidden path beside it (seed 002's picture) |
# | `unrolled` | several steps side by side, the memory and the hidden state handed from each step to the next |
#
# Because the drawings come from the executed graph, they cannot disagree with the code: every box
# carries the name the equations give it. The memory path is green, the hidden path blue.

# %%
import numpy as np

from lstm import diagrams
from lstm.cells import BlogLSTM, PaperLSTM, PeepholeLSTM
from lstm.exercises import check

# %% [markdown]
# ## Seed 001: the blog's LSTM (`BlogLSTM`)
#
# $X$ is $r \times d$ (a batch of $r$ rows), $H$ and $C$ are $r \times h$; $\times$ is the
# element-wise product, and the bias is added to every row:
#
# $$
# \begin{aligned}
# I &= \sigma(X W_{ix} + H W_{ih} + b_i) & F &= \sigma(X W_{fx} + H W_{fh} + b_f)\\
# O &= \sigma(X W_{ox} + H W_{oh} + b_o) & C_i &= \tanh(X W_{cx} + H W_{ch} + b_c)\\
# C_t &= F \times C + I \times C_i & H_t &= O \times \tanh(C_t)
# \end{aligned}
# $$
#
# The **cell view**: follow the green pipe $C_{t-1} \to$ × (the forget valve, `F×C`) $\to$ + (where
# the input valve `I×C_i` adds new memory) $\to C_t$ in a straight line; $H_{t-1}$ and $X_t$ feed
# the four gate boxes; $H_t = O \times \tanh(C_t)$ on the right.

# %%
diagrams.cell("blog")

# %% [markdown]
# The **ops view** opens every box: each gate is two matrix products (`X W_*x`, `H W_*h`), two
# additions and an activation. The names are the equation's (`X W_fx + H W_fh + b_f` is the
# forget gate's pre-activation). The gates lie one below the other in the pipe's order, F, I, C_i,
# O, each valve beside its gate, and the memory pipe runs down beside them. At the bottom, the
# loss $L$ (cross-entropy of $H_t$).

# %%
diagrams.ops("blog")

# %% [markdown]
# Every named node of a step, as the cell builds it (`run.steps[t-1]` maps these names to nodes):

# %%
run = BlogLSTM(input_size=3, hidden_size=4, seed=0).unroll(np.zeros((1, 2, 3)))
print(list(run.steps[0]))

# %% [markdown]
# **Exercise 2.1 (predict, then check).** The blog counts "12 parameters". With $d = 3$ inputs
# and $h = 4$ memory cells, how many **numbers** do they hold together? (Shapes: $W_{\ast x}$ is
# $d \times h$, $W_{\ast h}$ is $h \times h$, $b_\ast$ has $h$ entries, four of each.) And what
# shape does a gate such as $F$ have for a batch of $r = 2$ rows?

# %%
### BEGIN SOLUTION
parameter_count = 4 * (3 * 4 + 4 * 4 + 4)     # 128
F_shape = (2, 4)                               # r × h
### END SOLUTION

# %%
blog = BlogLSTM(input_size=3, hidden_size=4, seed=0)
check("numbers in the 12 parameters", parameter_count, sum(p.value.size for p in blog.parameters().values()),
      hint="4 × (d·h + h·h + h)")
check("the shape of F", F_shape, run.steps[0]["F"].shape, hint="X W_fx is (r × d)(d × h)")

# %% [markdown]
# The **unrolled view**: four steps. $C$ (green) and $H$ (blue) pass from each step to the next; the same 12 parameters serve every step (left out here so the chain stays readable).

# %%
diagrams.unrolled("blog", steps=4)

# %% [markdown]
# ## Seed 002: the pipe and its valves (`PeepholeLSTM`)
#
# Seed 002 draws the memory as water in a pipe: the **forget valve** (×) decides how much old memory
# passes, a T-joint (+) merges in new memory, and the **new memory valve** (the × below the +)
# decides how much. Each valve "is controlled by a simple one layer neural network" whose inputs are
# $h_{t-1}$, $x_t$, **the memory** $C_{t-1}$ and a bias; the output valve looks at the **new**
# memory $C_t$. Those memory inputs are *peepholes*:
#
# $$
# \begin{aligned}
# I &= \sigma(X W_{ix} + H W_{ih} + C_{t-1} W_{ic} + b_i) & F &= \sigma(X W_{fx} + H W_{fh} + C_{t-1} W_{fc} + b_f)\\
# C_i &= \tanh(X W_{cx} + H W_{ch} + b_c) & C_t &= F \times C_{t-1} + I \times C_i\\
# O &= \sigma(X W_{ox} + H W_{oh} + C_t W_{oc} + b_o) & H_t &= O \times \tanh(C_t)
# \end{aligned}
# $$
#
# In the cell view, green edges now also run from the pipe into the gate boxes: the valves
# watch the water.
#
# **A note on the peephole weights.** Here $W_{ic}$, $W_{fc}$ and $W_{oc}$ are **full** $h \times h$
# matrices: that is this project's reading of seed 002, whose valves are each "a simple one layer
# neural network" with the memory among its inputs, so every unit's memory can open every valve.
# The usual peepholes (Gers & Schmidhuber 2000; TensorFlow's `LSTMCell(use_peepholes=True)`) are
# **diagonal**: one weight per unit, each valve seeing only its own unit's memory, $h$ weights per
# valve instead of $h^2$.
#
# **Exercise 2.2 (predict, then check).** Which gate networks read the **old** memory $C_{t-1}$
# directly? Answer with a set of the scope names `"forget gate"`, `"input gate"`,
# `"new memory"`, `"output gate"`; the check reads the graph: the scopes of the ops that take
# $C_{t-1}$ as an input.

# %%
### BEGIN SOLUTION
read_old_memory = {"forget gate", "input gate"}    # the output gate reads the new memory C_t
### END SOLUTION

# %%
peephole_run = PeepholeLSTM(3, 4, seed=0).unroll(np.ones((1, 2, 3)))
C_prev = peephole_run.initial_state["C0"]
readers = {node.scope[1] for step in peephole_run.steps for node in step.values()
           if C_prev in node.inputs and len(node.scope) > 1}
check("gate networks reading C_t-1", read_old_memory, readers, hint="look at the equations: C_t-1 W_*c")

# %%
W_fc = PeepholeLSTM(3, 4, seed=0).parameters()["W_fc"].value      # h = 4
off_diagonal = W_fc[~np.eye(4, dtype=bool)]
print(f"W_fc is {W_fc.shape[0]} × {W_fc.shape[1]}, {np.count_nonzero(off_diagonal)} of its 12 entries off the diagonal "
      "are nonzero: a full matrix, not the usual diagonal peephole")
assert W_fc.shape == (4, 4) and np.all(off_diagonal != 0)

# %%
diagrams.cell("peephole")

# %%
diagrams.ops("peephole")

# %%
diagrams.unrolled("peephole", steps=3)

# %% [markdown]
# ## Seed 000: the paper's cell (`PaperLSTM`)
#
# One sequence (no batch): $\mathbf x \in \mathbb R^N$, memory $\mathbf s \in \mathbb R^D$, output
# $\mathbf z_h \in \mathbb R^D$. The gates are **scalars**, each from a weight vector over one
# concatenation $[\dots; 1]$ (the 1 multiplies the bias weight). The input and forget gates peek at
# the old memory $\mathbf s^{(t-1)}$, the output gate at the new one:
#
# $$
# \begin{aligned}
# a_\iota^{(t)} &= \mathbf w_\iota^\top [\mathbf x^{(t)}; \mathbf z_h^{(t-1)}; \mathbf s^{(t-1)}; 1] & g_\iota^{(t)} &= f_\iota(a_\iota^{(t)}) && (1, 2)\\
# \mathbf a_c^{(t)} &= \mathbf W_c^\top [\mathbf x^{(t)}; \mathbf z_h^{(t-1)}; 1] & \mathbf z_c^{(t)} &= f_c(\mathbf a_c^{(t)}) && (3, 4)\\
# a_\phi^{(t)} &= \mathbf w_\phi^\top [\mathbf x^{(t)}; \mathbf z_h^{(t-1)}; \mathbf s^{(t-1)}; 1] & g_\phi^{(t)} &= f_\phi(a_\phi^{(t)}) && (5, 6)\\
# \mathbf s^{(t)} &= g_\phi^{(t)} \mathbf s^{(t-1)} + g_\iota^{(t)} \mathbf z_c^{(t)} &&&& (7)\\
# a_\omega^{(t)} &= \mathbf w_\omega^\top [\mathbf x^{(t)}; \mathbf z_h^{(t-1)}; \mathbf s^{(t)}; 1] & g_\omega^{(t)} &= f_\omega(a_\omega^{(t)}) && (8, 9)\\
# \mathbf z_h^{(t)} &= f_h(g_\omega^{(t)} \mathbf s^{(t)}) &&&& (10)
# \end{aligned}
# $$
#
# The same pipe, in the paper's letters: $\mathbf s^{(t-1)} \to$ × ($g_\phi \mathbf s$) $\to$ + $\to
# \mathbf s^{(t)}$, with $g_\iota \mathbf z_c$ merging in. Note eq. 10: the output gate scales the
# memory *inside* $f_h$, where seed 001 puts $O$ outside the tanh.

# %%
diagrams.cell("paper")

# %% [markdown]
# In the ops view, look for the three concatenations: `[x; z_h; s; 1]` (shared by the input and
# forget gates, eqs. 1 and 5), `[x; z_h; 1]` (eq. 3) and `[x; z_h; s(t); 1]` (eq. 8, built after
# $\mathbf s^{(t)}$ exists).

# %%
diagrams.ops("paper")

# %% [markdown]
# **Exercise 2.3 (predict, then check).** For $N = 3$ inputs and $D = 4$ memory cells, how many
# entries does the input gate's weight vector $\mathbf w_\iota$ have, and what shape is
# $\mathbf W_c$? And what shape is the gate $g_\iota$ itself?

# %%
### BEGIN SOLUTION
w_iota_entries = 3 + 2 * 4 + 1     # [x; z_h(t-1); s(t-1); 1]: N + D + D + 1 = 12
W_c_shape = (3 + 4 + 1, 4)         # [x; z_h(t-1); 1] has N + D + 1 entries, a_c has D
g_iota_shape = ()                  # a scalar gate: one number for all D cells
### END SOLUTION

# %%
paper_cell = PaperLSTM(3, 4, seed=0)
paper_run = paper_cell.unroll(np.ones((1, 3)))
check("entries of w_ι", w_iota_entries, paper_cell.parameters()["w_iota"].value.size,
      hint="count the blocks of [x; z_h(t-1); s(t-1); 1]")
check("the shape of W_c", W_c_shape, paper_cell.parameters()["W_c"].shape)
assert g_iota_shape == paper_run.steps[0]["g_ι"].shape, (
    f"the shape of g_ι: you answered {g_iota_shape}, it is {paper_run.steps[0]['g_ι'].shape}: the paper's gates "
    "are scalars, w_ι·[...] is a dot product")
print("ok: g_ι is a scalar")

# %%
diagrams.unrolled("paper", steps=3)

# %% [markdown]
# ## The baseline: a plain RNN (`VanillaRNN`)
#
# Seed 001 motivates the LSTM with the plain recurrent net $h_t = \tanh(X W_x + h_{t-1} W_h + b)$:
# one path through time, and every step squashes it. No pipe.

# %%
diagrams.cell("rnn")

# %%
diagrams.unrolled("rnn", steps=4)

# %% [markdown]
# ## The same drawings, with the backward pass
#
# Every view can overlay the gradients of a loss $L$ (here the cross-entropy of the last step's
# output): each edge is labelled with the norm of the gradient flowing back along it, and drawn
# thicker the larger it is. Along the unrolled pipe you can read how much of $\partial L/\partial
# C_T$ is left $t$ steps back; [notebook 5](05_vanishing_gradients.ipynb) measures this properly.

# %%
diagrams.unrolled("blog", steps=4, grads=True)

# %% [markdown]
# ## Beyond the three texts: a GRU, and layers
#
# The GRU (Cho et al., 2014, in PyTorch's convention) has no separate memory: $H$ itself runs along
# the pipe. The update gate $Z$ is two valves at once, $Z\times H$ keeps the old state and
# $(1-Z)\times N$ lets the candidate $N$ in; the reset gate $R$ is a valve on the candidate's view of
# the old state, $R\times(H W_{nh} + b_{nh})$:
#
# $$N = \tanh(X W_{nx} + b_{nx} + R\times(H W_{nh} + b_{nh})), \qquad H_t = (1-Z)\times N + Z\times H$$

# %%
diagrams.cell("gru")

# %% [markdown]
# Seed 001: "In the case of a multi-layered network, the resulting $C_t$ and $H_t$ will be the inputs
# of the next cell." In a stack, layer 1's $H_t$ is layer 2's input at the same step, and each layer
# keeps its own memory. Drawn unrolled, that is a grid: layers up, time across, each layer's memory
# pipe on its own row (`make_cell("blog", d, h, num_layers=2)`; parameters `layer2.W_ix`, ...).

# %%
from lstm.cells import make_cell

stack = make_cell("blog", 3, 4, num_layers=2, seed=0)
print(list(stack.parameters())[:3], "...", len(stack.parameters()), "parameters")
diagrams.unrolled(diagrams.example("blog", steps=3, num_layers=2))

# %% [markdown]
# ## What to remember
#
# - The three texts draw the same idea: a memory pipe ($C$ or $\mathbf s$) changed only by a
#   multiplicative forget valve and an additive merge, and a hidden path ($H$ or $\mathbf z_h$)
#   read out through the output gate.
# - They differ in the details: batches and vector gates (seed 001), peepholes on the memory
#   (seed 002, and the paper), scalar gates and the output gate inside $f_h$ (the paper).
# - A drawing made from the executed graph carries the equations' own names, so you can check a
#   picture against the equations box by box.
#
# Next: [3 · Stepping through backprop](03_stepping_through_backprop.ipynb).
