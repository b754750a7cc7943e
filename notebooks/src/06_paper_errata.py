# %% [markdown]
# # 4 · The paper's deltas against autodiff
#
# Seed 000 (*LSTM: From theory to practice*) derives the backward pass of its LSTM by hand:
# closed-form deltas, eqs. 17-32. Hand derivations of this size almost always contain
# mistakes, and this one does. Autodiff gives us an impartial referee: the graph of the same
# cell knows the true value of every derivative the paper names. We check the paper equation
# by equation, find the errors, explain each, and show that the corrected formula agrees.
#
# ## The model (eqs. 1-10)
#
# Scalar gates $g_\iota, g_\phi, g_\omega$ with weight vectors; memory $\mathbf s \in \mathbb R^D$;
# peepholes: the input and forget gates see $\mathbf s^{(t-1)}$, the output gate sees $\mathbf s^{(t)}$.
#
# $$
# \begin{aligned}
# a_\iota^{(t)} &= \mathbf w_\iota^\top [\mathbf x^{(t)}; \mathbf z_h^{(t-1)}; \mathbf s^{(t-1)}; 1],
#   & g_\iota^{(t)} &= f_\iota(a_\iota^{(t)}) && (1, 2)\\
# \mathbf a_c^{(t)} &= \mathbf W_c^\top [\mathbf x^{(t)}; \mathbf z_h^{(t-1)}; 1],
#   & \mathbf z_c^{(t)} &= f_c(\mathbf a_c^{(t)}) && (3, 4)\\
# a_\phi^{(t)} &= \mathbf w_\phi^\top [\mathbf x^{(t)}; \mathbf z_h^{(t-1)}; \mathbf s^{(t-1)}; 1],
#   & g_\phi^{(t)} &= f_\phi(a_\phi^{(t)}) && (5, 6)\\
# \mathbf s^{(t)} &= g_\phi^{(t)} \mathbf s^{(t-1)} + g_\iota^{(t)} \mathbf z_c^{(t)} && && (7)\\
# a_\omega^{(t)} &= \mathbf w_\omega^\top [\mathbf x^{(t)}; \mathbf z_h^{(t-1)}; \mathbf s^{(t)}; 1],
#   & g_\omega^{(t)} &= f_\omega(a_\omega^{(t)}) && (8, 9)\\
# \mathbf z_h^{(t)} &= f_h(g_\omega^{(t)} \mathbf s^{(t)}) && && (10)
# \end{aligned}
# $$
#
# The loss is the squared error $E = \sum_t \tfrac12 \lVert \mathbf z_h^{(t)} - \mathbf y^{(t)} \rVert^2$.
# The paper writes $\delta_q = \partial E / \partial q$ (as a row vector).

# %%
import numpy as np
from IPython.display import Markdown, display

import tinygraph as tg
from lstm import errata, paper
from lstm.cells import PaperLSTM
from lstm.losses import mse
from tinygraph.notebook import Stepper

# %% [markdown]
# ## Where the truth comes from
#
# `PaperLSTM` builds eqs. 1-10 as a tinygraph graph with the paper's names. One backward pass
# gives $\partial E/\partial q$ for every node $q$. The paper also names **parts** of gradients:
# eq. 17 splits $\delta_s^{(t)}$ into $\delta_s^{(t)\to(t)}$, what comes back through step $t$'s
# own output, and $\delta_s^{(t+1)\to(t)}$, what comes back from step $t+1$. Autodiff has these
# parts too: they are the contributions of the consumers of $\mathbf s^{(t)}$, which the stepper
# lists. Here is the step at which $\mathbf s^{(1)}$ of a two-step run gets its gradient:

# %%
cell = PaperLSTM(N=2, D=3, seed=0)
run = cell.unroll(np.array([[0.5, -1.0], [1.0, 0.3]]))
E = mse(run, np.zeros((2, 3)))
stepper = Stepper(E)
s1 = run.steps[0]["s"]
print(stepper[stepper.index_of(s1)])

# %% [markdown]
# Four consumers send a part: two in step 2 (the forget valve $g_\phi \mathbf s$ of eq. 7 and the
# gates' input $[\mathbf x; \mathbf z_h; \mathbf s; 1]$ of eqs. 1 and 5): together
# $\delta_s^{(2)\to(1)}$. Two in step 1: the product $g_\omega \mathbf s$ inside $f_h$ (eq. 10), **and**
# the output gate's input $[\mathbf x; \mathbf z_h; \mathbf s^{(t)}; 1]$ (eq. 8), because the output
# gate peeks at the new memory. Together they are $\delta_s^{(1)\to(1)}$. Keep that second one in
# mind. The step drawn, with the step-1 part of the graph in its cluster:

# %%
stepper[stepper.index_of(s1)]

# %% [markdown]
# `lstm.errata` does this for every quantity the paper names, on six random configurations
# (different sizes $N, D$, lengths $T$ from 1 to 10, and activations), then feeds each printed
# equation the **true** upstream quantities and compares its result with the **true** left-hand
# side. Feeding true inputs matters: one wrong equation then cannot make every later one look
# wrong. The error is $\max|\text{formula} - \text{truth}| / \max|\text{truth}|$.

# %%
result = errata.run_check()
rows = ["| eq. | kind | printed | corrected | quantity |", "|---|---|---|---|---|"]
for row in result.rows:
    printed = "—" if row.printed_rel_error is None else f"{row.printed_rel_error:.1e}"
    rows.append(f"| {row.equation} | **{row.kind}** | {printed} | {row.corrected_rel_error:.1e} | {row.quantity} |")
display(Markdown("\n".join(rows)))
assert result.ok                                  # every corrected formula agrees with autodiff
assert [row.equation for row in result.rows if row.kind == "numbers"] == ["18", "21", "22", "25"]

# %% [markdown]
# *numbers*: the printed formula computes wrong numbers. *notation*: the numbers are right but
# a symbol, index, transpose or definition is not. *ok*: right as printed. Errors around
# $10^{-16}$ are float64 rounding: agreement.
#
# Four equations compute wrong numbers: 18, 21, 22 and 25. We take them one at a time, on one
# random case (N = 2 inputs, D = 3 memory cells, T = 4 steps), at step $t = 2$.

# %%
case = errata.random_case(errata.Config(N=2, D=3, T=4))
truth = errata.autodiff_truth(**case)          # the true value of every quantity, per step
t = 2
true = truth.steps[t - 1]                       # quantity -> true value at step t


def check(number, **given):
    """Evaluate eq. `number` as printed and corrected at step t on the true inputs `given`."""
    eq = paper.EQUATIONS[number]
    context = paper.Context(truth.fwd, t, **given)
    printed, corrected = eq.printed(context), eq.corrected(context)
    print(f"eq. {number}, {paper.QUANTITIES[eq.quantity][1]} at t={t}")
    print("  autodiff :", np.round(true[eq.quantity], 5).tolist())
    print("  printed  :", np.round(printed, 5).tolist())
    print("  corrected:", np.round(corrected, 5).tolist())
    assert np.allclose(corrected, true[eq.quantity], rtol=1e-9, atol=1e-12)
    return printed, corrected

# %% [markdown]
# ## Eqs. 21-22: the wrong derivative, and a missing path
#
# The paper computes the part of $\delta_s^{(t)}$ that comes back through the step's own output as
#
# $$\text{printed (21):}\quad \delta_s^{(t)\to(t)} = \delta_h^{(t)}\, \operatorname{diag}\!\big(f'_\omega(g_\omega^{(t)} \mathbf s^{(t)})\big)\, g_\omega^{(t)}$$
#
# Two things are wrong (besides $\delta_h$, which is never defined; $\delta_{z_h}$ is meant):
#
# 1. Eq. 10 is $\mathbf z_h = f_h(g_\omega \mathbf s)$: the outer function is $f_h$, so its
#    derivative is $f'_h$, not $f'_\omega$ (they coincide only if both are the same function).
# 2. $\mathbf s^{(t)}$ reaches $\mathbf z_h^{(t)}$ a second way: through the output gate, whose
#    input holds $\mathbf s^{(t)}$ (eq. 8, the peephole). Eq. 17 has that term; eq. 21 drops it,
#    and no later equation adds it back. That is the fourth consumer in the stepper above.
#
# $$\text{corrected:}\quad \delta_s^{(t)\to(t)} = \delta_{z_h}^{(t)}\, \operatorname{diag}\!\big(f'_h(g_\omega^{(t)} \mathbf s^{(t)})\big)\, g_\omega^{(t)} \;+\; \delta_{g_\omega}^{(t)}\, f'_\omega(a_\omega^{(t)})\, \mathbf w_{\omega,s}^\top$$
#
# Eq. 22 prints the same formula element-wise, with the same two errors.

# %%
printed, corrected = check("21", delta_z_h=true["delta_z_h"], delta_g_omega=true["delta_g_omega"])

# %% [markdown]
# Each of the two fixes matters on its own: with $f'_h$ alone the result is still off by exactly
# the peephole term.

# %%
c = paper.Context(truth.fwd, t, delta_z_h=true["delta_z_h"], delta_g_omega=true["delta_g_omega"])
only_f_h = c.g_omega * c.delta_z_h * c.df_h(c.g_omega * c.s)
peephole = c.delta_g_omega * c.df_omega(c.a_omega) * c.w_omega_s
print("f'_h only       :", np.round(only_f_h, 5).tolist())
print("+ peephole term :", np.round(only_f_h + peephole, 5).tolist())
assert not np.allclose(only_f_h, true["delta_s_to_t"])
assert np.allclose(only_f_h + peephole, true["delta_s_to_t"])

# %% [markdown]
# ## Eq. 18: swapped indices
#
# Eq. 18 writes the same part entry by entry:
#
# $$\text{printed:}\quad \delta_s^{(t)\to(t+1)}[i] = \sum_{j=1} \frac{\partial E}{\partial \mathbf z_h^{(t)}[j]}\, f'_h\big(g_\omega \mathbf s^{(t)}[i]\big) \big(g_\omega \delta_{i,j} + \mathbf s^{(t)}[i]\, f'_\omega(a_\omega)\, \mathbf w_{\omega,s}[j]\big)$$
#
# Differentiate $\mathbf z_h[j] = f_h(g_\omega \mathbf s[j])$ with respect to $\mathbf s[i]$: the
# outer derivative is taken at entry $j$, and the peephole path brings $\mathbf s[j]$ (from
# $\mathbf z_h[j]$) times $\partial a_\omega / \partial \mathbf s[i] = \mathbf w_{\omega,s}[i]$. The
# printed $i$ and $j$ are swapped in both places (and the label says $(t)\to(t+1)$ where eq. 17
# calls this part $(t)\to(t)$; the sum has no upper limit):
#
# $$\text{corrected:}\quad \delta_s^{(t)\to(t)}[i] = \sum_{j=1}^{D} \frac{\partial E}{\partial \mathbf z_h^{(t)}[j]}\, f'_h\big(g_\omega \mathbf s^{(t)}[j]\big) \big(g_\omega \delta_{i,j} + \mathbf s^{(t)}[j]\, f'_\omega(a_\omega)\, \mathbf w_{\omega,s}[i]\big)$$

# %%
printed, corrected = check("18", delta_z_h=true["delta_z_h"])

# %% [markdown]
# With one memory cell ($D = 1$) there is only $i = j = 1$ and the swap changes nothing: that is
# why a check on a one-cell example would miss it. The report shows exactly this pattern over
# its configurations:

# %%
row18 = next(row for row in result.rows if row.equation == "18")
for config, error in zip(result.configs, row18.printed_errors):
    print(f"D = {config.D}: printed eq. 18 relative error {error:.1e}   ({config.label()})")
assert all((error < 1e-9) == (config.D == 1) for config, error in zip(result.configs, row18.printed_errors))

# %% [markdown]
# ## Eq. 25: the wrong input to $\mathbf W_c$
#
# $\mathbf W_c$ multiplies $[\mathbf x^{(t)}; \mathbf z_h^{(t-1)}; 1]$ (eq. 3), so its gradient is
# that vector times $\delta_{z_c} \odot f'_c(\mathbf a_c)$. The paper prints the memory
# $\mathbf s^{(t-1)}$ in place of the previous output $\mathbf z_h^{(t-1)}$, and the product in
# the shape of $\mathbf W_c^\top$ ($D \times (N+D+1)$):
#
# $$\text{printed:}\quad \Delta_c^{(t)} = \big(\delta_{z_c}^{(t)\top} \odot f'_c(\mathbf a_c)\big)\,\big[\mathbf x^{(t)\top}; \mathbf s^{(t-1)\top}; 1\big]$$
#
# $$\text{corrected:}\quad \Delta_c^{(t)} = \big[\mathbf x^{(t)}; \mathbf z_h^{(t-1)}; 1\big]\,\big(\delta_{z_c}^{(t)} \odot f'_c(\mathbf a_c^{(t)})\big)^\top \qquad ((N+D+1) \times D,\ \text{like } \mathbf W_c)$$
#
# (The printed matrix is transposed to $\mathbf W_c$'s shape to compare it at all.)

# %%
printed, corrected = check("25", delta_z_c=true["delta_z_c"])

# %% [markdown]
# Row by row: the first $N$ rows (for $\mathbf x$) and the last (for the bias) agree; the $D$ rows in
# between differ, because they are multiplied by $\mathbf s^{(t-1)}$ instead of $\mathbf z_h^{(t-1)}$.

# %%
N = case["xs"].shape[1]
same = [bool(np.allclose(p, c)) for p, c in zip(printed, corrected)]
print("row agrees:", same)
assert same == [True] * N + [False] * (len(same) - N - 1) + [True]

# %% [markdown]
# ## Eqs. 14, 15 and 31, 32: definitions that miss a path
#
# Eq. 14 *defines* $\delta_x^{(t)} = \frac{\partial E}{\partial \mathbf z_h^{(t)}} \frac{\partial \mathbf z_h^{(t)}}{\partial \mathbf x^{(t)}}$:
# the input's influence through this step's output only. But $\mathbf x^{(t)}$ also changes
# $\mathbf s^{(t)}$, which step $t+1$ reads. The definition, read literally, is the true
# $\partial E/\partial \mathbf x^{(t)}$ only at the last step. Eq. 31's final line, which uses the
# total $\delta_{g_\iota}, \delta_{g_\phi}, \delta_{z_c}$, is right; so the formula is fine and the
# definition does not match its use. Eqs. 15 and 32 do the same for $\mathbf z_h^{(t-1)}$.

# %%
T = len(truth.steps)
for step in (t, T):
    literal, full = truth.steps[step - 1]["definition_14"], truth.steps[step - 1]["delta_x"]
    print(f"t={step}: eq. 14 read literally {np.round(literal, 4).tolist()}   ∂E/∂x(t) {np.round(full, 4).tolist()}")
assert np.allclose(truth.steps[T - 1]["definition_14"], truth.steps[T - 1]["delta_x"])
assert not np.allclose(truth.steps[t - 1]["definition_14"], truth.steps[t - 1]["delta_x"])

# %% [markdown]
# ## The slips that do not change the numbers
#
# The rest of the *notation* rows are misprints a careful reader fixes silently, but a student
# copying the formulas into code trips over: the input gate's $\iota$ printed as $t$ (eqs. 1-2)
# or as a Latin $i$ (eqs. 24-31); $\delta_h$ for $\delta_{z_h}$ (eqs. 19, 21, 22); a stray
# transpose on $\delta_s^{(t+1)\top}$ (eqs. 17, 30); eq. 27's left-hand side naming $\delta_{z_c}$
# where $\delta_\iota$ is meant; $\mathbf w_{c,z}$ for the block $\mathbf W_{c,z}$ (eq. 32); and
# eqs. 11-12 giving the total $\partial E/\partial \mathbf w$ a per-step symbol $\delta^{(t)}$: the
# weights are shared by all steps, so the gradient is the **sum over $t$** of eqs. 20, 27, 29, 25,
# which the paper never says. The report's text has each one with its reason:

# %%
for row in result.rows:
    if row.kind == "notation":
        print(f"eq. {row.equation}: {row.note}\n")

# %% [markdown]
# ## The whole backward pass through time
#
# Finally, `lstm.paper.backward` runs eqs. 19-32 in the paper's order of computation from
# $t = T$ back to 1, as printed, with only one of the two numeric fixes, and fully corrected, and
# compares the final gradients with autodiff (largest relative error over the six configurations):

# %%
names = [label for label, _, _ in errata.END_TO_END_VERSIONS]
rows = ["| gradient | " + " | ".join(names) + " |", "|---|" + "---|" * len(names)]
for key, errors in result.end_to_end.items():
    rows.append(f"| {errata.END_TO_END_NAMES[key]} | " + " | ".join(f"{e:.1e}" for e in errors) + " |")
display(Markdown("\n".join(rows)))
printed, fixed_21, fixed_25, corrected = zip(*result.end_to_end.values())
assert min(printed) > 1e-3 and min(fixed_25) > 1e-3 and max(corrected) < 1e-9
assert [key for key, errors in result.end_to_end.items() if errors[1] > 1e-9] == ["W_c"]

# %% [markdown]
# As printed, every gradient is wrong. Fixing eqs. 21-22 repairs everything except
# $\partial E/\partial \mathbf W_c$, which needs eq. 25's fix too; fixing only eq. 25 leaves
# the wrong $\delta_s$ flowing into everything. With both, the closed form equals autodiff to
# rounding.
#
# ## What to remember
#
# - Autodiff is the referee for hand-derived gradients: it knows every total derivative and, step
#   by step, every part of one.
# - Check each formula on the **true** inputs, so errors do not cascade; check on several sizes
#   (eq. 18's error hides when $D = 1$) and activations ($f'_\omega$ vs $f'_h$ hides when they are
#   the same function).
# - The paper's errors: the wrong derivative and a dropped peephole path (21-22), swapped indices
#   (18), the wrong input vector (25), and definitions that miss the path through time (14-15).
