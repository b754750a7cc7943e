# %% [markdown]
# # 6 · The paper's deltas against autodiff (advanced lab)
#
# Seed 000 (*LSTM: From theory to practice*) derives the backward pass of its LSTM by hand:
# closed-form deltas, eqs. 17-32. Hand derivations of this size almost always contain
# mistakes, and this one does. Autodiff gives us an impartial referee: the graph of the same
# cell knows the true value of every derivative the paper names.
#
# This is a lab: for each suspicious equation you first get the printed formula and the tools
# to test it, and you look for the bug yourself (**predict, then check**: write your answer in
# the cell marked as the solution, then run the check cell below it). Only after the check does
# the notebook show what the errata records say. The records are data,
# `lstm/data/errata.toml`, the same source the command `python -m lstm check` and
# docs/errata.md are made from.
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
from lstm.exercises import answered, check
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
# `lstm.errata` reads every quantity the paper names off the graph this way, on random
# configurations. `truth.steps[t-1][key]` is the true value at step $t$ (keys:
# `paper.QUANTITIES`), and `paper.Context(truth.fwd, t, **given)` holds step $t$'s forward
# values (`c.s`, `c.g_omega`, `c.a_omega`, the weight blocks `c.w_omega_s` ..., the activations'
# derivatives `c.df_h`, `c.df_omega` ...) plus the deltas you give it. We work on one random case:
# N = 2 inputs, D = 3 memory cells, T = 4 steps.

# %%
case = errata.random_case(errata.Config(N=2, D=3, T=4))
truth = errata.autodiff_truth(**case)          # the true value of every quantity, per step
T = len(truth.steps)


def context(t, *keys):
    """Step t's forward values, with the TRUE values of the deltas named in ``keys``."""
    return paper.Context(truth.fwd, t, **{key: truth.steps[t - 1][key] for key in keys})


def off_by(formula, quantity, *keys):
    """Relative error of ``formula`` (a function of a Context) against the truth, over all steps."""
    return errata.relative_error([formula(context(t, *keys)) for t in range(1, T + 1)],
                                 [truth.steps[t - 1][quantity] for t in range(1, T + 1)])


def show(number):
    """What the errata records say about eq. ``number``: printed, correct, and why."""
    entry = errata.ENTRY[number]
    lines = [f"**What the records say about eq. {number}** ({entry.quantity})".replace("_", r"\_"), ""]
    if entry.printed_tex:
        lines += [f"printed: $${entry.printed_tex}$$", "", f"correct: $${entry.corrected_tex}$$", ""]
    lines += [f"- *{finding.kind}*: " + finding.text.replace("_", r"\_") for finding in entry.findings]
    display(Markdown("\n".join(lines)))

# %% [markdown]
# ## Exercise 1 · Eq. 21: find the bug
#
# The paper computes the part of $\delta_s^{(t)}$ that comes back through the step's own output as
#
# $$\text{printed (21):}\quad \delta_s^{(t)\to(t)} = \delta_h^{(t)}\, \operatorname{diag}\!\big(f'_\omega(g_\omega^{(t)} \mathbf s^{(t)})\big)\, g_\omega^{(t)}$$
#
# ($\delta_h$ is never defined; read it as $\delta_{z_h}^{(t)} = \partial E/\partial \mathbf z_h^{(t)}$.)
# First measure it: is the printed formula right?

# %%
def eq21_as_printed(c):
    return c.g_omega * c.delta_z_h * c.df_omega(c.g_omega * c.s)


print(f"eq. 21 as printed is off by {off_by(eq21_as_printed, 'delta_s_to_t', 'delta_z_h'):.2f} (relative)")

# %% [markdown]
# It is wrong. Go back to the forward pass: eq. 10 is $\mathbf z_h = f_h(g_\omega \mathbf s)$ and
# eq. 8 is $a_\omega = \mathbf w_\omega^\top[\mathbf x; \mathbf z_h^{(t-1)}; \mathbf s^{(t)}; 1]$.
# Differentiate $\mathbf z_h^{(t)}$ with respect to $\mathbf s^{(t)}$ along **every** path (the
# stepper above listed the consumers of $\mathbf s$). Write your $\delta_s^{(t)\to(t)}$ as a function
# of the context `c`; besides `c.delta_z_h` it may read `c.delta_g_omega` $= \partial E/\partial g_\omega^{(t)}$.

# %%
def my_eq21(c):
    ### BEGIN SOLUTION
    return (c.g_omega * c.delta_z_h * c.df_h(c.g_omega * c.s)
            + c.delta_g_omega * c.df_omega(c.a_omega) * c.w_omega_s)
    ### END SOLUTION

# %%
keys = ("delta_z_h", "delta_g_omega")
only_f_h = off_by(lambda c: c.g_omega * c.delta_z_h * c.df_h(c.g_omega * c.s), "delta_s_to_t", *keys)
assert only_f_h > 1e-3          # the derivative alone is not the whole fix (a check of this check)
error = off_by(answered("your eq. 21", my_eq21), "delta_s_to_t", *keys)
assert error < 1e-9 or abs(error - off_by(eq21_as_printed, "delta_s_to_t", *keys)) > 1e-12, \
    "this is the printed formula: which function is applied last in eq. 10, f_h or f_ω?"
assert error < 1e-9 or abs(error - only_f_h) > 1e-12, \
    "the derivative is right now (f'_h), but s(t) reaches z_h(t) a second way: a_ω reads s(t) (eq. 8)"
assert error < 1e-9, f"off by {error:.2g}: compare your paths with the consumers of s in the stepper above"
print(f"your eq. 21 agrees with autodiff: {error:.1e}")
show("21")

# %% [markdown]
# Eq. 22 prints the same formula element-wise, with the same two errors. Because $\delta_s$ feeds
# every equation after it, eq. 21's error reaches every gradient (the end-to-end table at the end).
#
# ## Exercise 2 · Eq. 25: which rows are wrong?
#
# $\mathbf W_c$ is $(N+D+1) \times D$ and multiplies $[\mathbf x^{(t)}; \mathbf z_h^{(t-1)}; 1]$
# (eq. 3). The paper prints its gradient as
#
# $$\text{printed (25):}\quad \Delta_c^{(t)} = \big(\delta_{z_c}^{(t)\top} \odot f'_c(\mathbf a_c)\big)\,\big[\mathbf x^{(t)\top}; \mathbf s^{(t-1)\top}; 1\big]$$
#
# laid out as $\mathbf W_c^\top$, the paper's convention for a gradient (a Jacobian is a row), which
# is not the bug. Compare it with eq. 3 and **predict** which of the $N + D + 1 = 6$ rows of
# $\Delta_c$ (in $\mathbf W_c$'s layout: rows for $\mathbf x$, then for the previous state, then the
# bias) come out wrong. Answer with the list of row indices (0-based).

# %%
### BEGIN SOLUTION
wrong_rows = [2, 3, 4]
### END SOLUTION

# %%
t = 2
c = context(t, "delta_z_c")
printed_25, true_25 = paper.EQUATIONS["25"].printed(c), truth.steps[t - 1]["Delta_c"]
measured_rows = [i for i in range(len(true_25)) if not np.allclose(printed_25[i], true_25[i])]
check("the wrong rows of Δ_c", wrong_rows, set(measured_rows),
      hint="the first N = 2 rows multiply x, the last the bias 1; which part of the printed vector "
           "[xᵀ; s(t-1)ᵀ; 1] is not what eq. 3 feeds W_c?")
print("rows that differ:", measured_rows)
show("25")

# %% [markdown]
# ## Exercise 3 · Eq. 18: when does a swapped index hide?
#
# Eq. 18 writes the same $\delta_s^{(t)\to(t)}$ entry by entry:
#
# $$\text{printed:}\quad \delta_s^{(t)\to(t+1)}[i] = \sum_{j=1} \frac{\partial E}{\partial \mathbf z_h^{(t)}[j]}\, f'_h\big(g_\omega \mathbf s^{(t)}[i]\big) \big(g_\omega \delta_{i,j} + \mathbf s^{(t)}[i]\, f'_\omega(a_\omega)\, \mathbf w_{\omega,s}[j]\big)$$
#
# Differentiate $\mathbf z_h[j] = f_h(g_\omega \mathbf s[j])$ with respect to $\mathbf s[i]$ yourself
# and compare the indices. Then **predict**: for which numbers of memory cells $D$ among 1, 2, 3
# does the printed eq. 18 give the right numbers?

# %%
### BEGIN SOLUTION
right_for_D = [1]
### END SOLUTION

# %%
measured_right = []
for D in (1, 2, 3):
    small = errata.run_check([errata.Config(N=2, D=D, T=3)], blog=False)
    if next(r for r in small.rows if r.equation == "18").kind != "numbers":
        measured_right.append(D)
check("the D for which eq. 18 as printed is right", right_for_D, set(measured_right),
      hint="with how many memory cells can i and j only be equal?")
print("eq. 18 as printed is right for D =", measured_right)
show("18")

# %% [markdown]
# A check on a one-cell example would miss this error: check on several sizes.
#
# ## Exercise 4 · Eqs. 14 and 31: a definition that misses a path
#
# Eq. 14 *defines* $\delta_x^{(t)} = \frac{\partial E}{\partial \mathbf z_h^{(t)}} \frac{\partial \mathbf z_h^{(t)}}{\partial \mathbf x^{(t)}}$,
# and the middle line of eq. 31 expands exactly that. `truth.steps[t-1]["definition_14"]` is this
# definition read literally (computed by autodiff: $\partial E/\partial \mathbf z_h^{(t)}$ times the
# Jacobian of $\mathbf z_h^{(t)}$ alone), `truth.steps[t-1]["delta_x"]` the true
# $\partial E/\partial \mathbf x^{(t)}$. **Predict** at which steps $t \in \{1, \dots, T\}$ ($T = 4$) the
# two are equal.

# %%
### BEGIN SOLUTION
equal_at = [T]
### END SOLUTION

# %%
measured_equal = [t for t in range(1, T + 1)
                  if np.allclose(truth.steps[t - 1]["definition_14"], truth.steps[t - 1]["delta_x"])]
check("the steps where definition 14 is ∂E/∂x(t)", equal_at, set(measured_equal),
      hint="x(t) also changes s(t), which step t+1 reads; at which step is there no step t+1?")
print("the literal definition is ∂E/∂x(t) only at t =", measured_equal)
last_line = off_by(paper.EQUATIONS["31"].corrected, "delta_x", "delta_g_iota", "delta_g_phi", "delta_g_omega",
                   "delta_z_c")
print(f"eq. 31's last line, with the total δ_gι, δ_gφ, δ_zc: off by {last_line:.1e}")
show("14")
show("31")

# %% [markdown]
# The final formula (31's last line) is right; a *step* of the derivation is false. That step is
# the BPTT lesson itself: the input of step $t$ reaches the loss through the memory and every later
# step, not only through this step's output. Eqs. 15 and 32 do the same for $\mathbf z_h^{(t-1)}$.
#
# ## Exercise 5 · The whole backward, as printed, on one step
#
# `paper.backward(fwd, dE_dz_h, "as_printed")` runs eqs. 19-32 in the paper's order from $t = T$
# back to 1, each as printed. With eqs. 21 and 25 wrong, **predict**: on a sequence of **one**
# step ($T = 1$), which of the parameter gradients `w_iota`, `w_phi`, `w_omega`, `W_c` come out
# exactly right? (Look at what eq. 20 reads, and where eq. 21's error can reach it from.)

# %%
### BEGIN SOLUTION
exact_at_T1 = {"w_omega"}
### END SOLUTION

# %%
one = errata.random_case(errata.Config(N=2, D=3, T=1), seed=1)
fwd1 = paper.forward(one["params"], one["xs"], one["z_h0"], one["s0"])
dE = paper.mse_gradient(fwd1, one["ys"])
as_printed = paper.backward(fwd1, dE, "as_printed").gradients
right = paper.backward(fwd1, dE, "corrected").gradients
measured_exact = {k for k in paper.PARAMETER_KEYS if errata.relative_error(as_printed[k], right[k]) < 1e-12}
check("exact as printed at T = 1", exact_at_T1, measured_exact,
      hint="which gradient needs only δ_zh, which at T = 1 is the loss's own gradient? The wrong δ_s(t)→(t) "
           "reaches δ_zh(t) only through δ_zz(t+1)→(t), from a later step")
print("exact as printed at T = 1:", sorted(measured_exact))

# %% [markdown]
# ## The whole report
#
# Now the full picture: every equation the paper prints, checked in isolation on six random
# configurations (sizes, lengths $T$ from 1 to 10, activations), with the kind of each finding
# from the records: *numbers* (the printed formula computes wrong numbers), *derivation* (a step
# of the derivation is false, the final formula right), *notation*, *transcription* (not the
# paper's slip: an artefact of our copy of the text, e.g. ι printed as t in eqs. 1-2), *ok*.
# Errors around $10^{-16}$ are float64 rounding: agreement. *step*: the false derivation step
# read literally.

# %%
result = errata.run_check()
rows = ["| eq. | kind | printed | step | corrected | quantity |", "|---|---|---|---|---|---|"]
fmt = lambda v: "—" if v is None else f"{v:.1e}"          # noqa: E731
for row in result.rows:
    rows.append(f"| {row.equation} | **{row.kind}** | {fmt(row.printed_rel_error)} | {fmt(row.step_rel_error)} | "
                f"{fmt(row.corrected_rel_error)} | {row.quantity} |")
display(Markdown("\n".join(rows)))
assert result.ok                                  # every corrected formula agrees with autodiff
assert result.counts()["numbers"] == ["18", "21", "22", "25"]
assert result.counts()["derivation"] == ["14", "15", "31", "32"]
print(errata.summary_line(result))

# %% [markdown]
# The conventions the paper states or follows, which are not slips (stated once):

# %%
for name, text in errata.RECORDS.conventions.items():
    print(f"{name}: {text}\n")

# %% [markdown]
# ## The whole backward pass through time
#
# `lstm.paper.backward` as printed, with only one of the two numeric fixes, and fully corrected,
# against autodiff (largest relative error over the six configurations):

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
# As printed, every gradient is wrong from $T = 2$ on (with one step, $\partial E/\partial \mathbf w_\omega$
# is exact, as exercise 5 found). Fixing eqs. 21-22 repairs everything except
# $\partial E/\partial \mathbf W_c$, which needs eq. 25's fix too; fixing only eq. 25 leaves the wrong
# $\delta_s$ flowing into everything. With both, the closed form equals autodiff to rounding.
#
# ## What to remember
#
# - Autodiff is the referee for hand-derived gradients: it knows every total derivative and, step
#   by step, every part of one.
# - Check each formula on the **true** inputs, so errors do not cascade; check on several sizes
#   (eq. 18's error hides when $D = 1$), activations ($f'_\omega$ vs $f'_h$ hides when they are the
#   same function) and lengths (with $T = 1$ a wrong $\delta_s$ cannot reach $\partial E/\partial \mathbf w_\omega$).
# - The paper's errors: the wrong derivative and a dropped peephole path (21-22), swapped indices
#   (18), the wrong input vector (25); and a derivation step that misses the path through time
#   (14-15, 31-32), while the formulas computed are right.
