"""Exercise ``blog_step``: the backward of one BlogLSTM step, in the blog's notation.

The student writes one function per quantity (template: exercises/templates/blog_step.py).
Step t's forward, with X = X_t, H = H_t-1, C = C_t-1 and A_g = X W_gx + H W_gh + b_g::

    F = σ(A_f)   I = σ(A_i)   C_i = tanh(A_c)   O = σ(A_o)
    C_t = F × C + I × C_i      H_t = O × tanh(C_t)

Backward receives H̄ = ∂L/∂H_t (the loss's own part plus what step t+1 sent back) and
C̄_t_next = what step t+1 sent back to C_t along the pipe (zero after the last step).
Graded on two random BlogLSTM runs (random initial state, so nothing is silenced at t = 1)
under the softmax cross-entropy of every output; every function gets autodiff's true
inputs, so a wrong function is reported alone.
"""
from lstm.cells import BlogLSTM

from .exercise import Exercise
from .drawing import drawer
from .grader import Case, Function, Quantity
from .truth import gradients, part, random_run

GATES = (("f", "F", "forget"), ("i", "I", "input"), ("c", "C_i", "new memory"), ("o", "O", "output"))
"""(letter, gate, name) in the order along the memory pipe: F, I, C_i, O."""
PARAMETERS = tuple(k for g, _, _ in GATES for k in (f"W_{g}x", f"W_{g}h", f"b_{g}"))
CASES = ((3, 4, 2, 3), (2, 5, 3, 2))
"""(d, h, r, T) of the graded runs: no two sizes equal, so a transpose shows as a wrong shape."""


def _pre(g):
    return f"X W_{g}x + H W_{g}h + b_{g}"


def _q(key, symbol, meaning, node):
    return Quantity(key, symbol, meaning, node)


O_BAR = _q("O_bar", "Ō", "∂L/∂O = H̄ × tanh(C_t)", "O")
C_T_BAR = _q("C_t_bar", "C̄_t", "∂L/∂C_t: through tanh(C_t), plus C̄_t_next from step t+1", "C_t")
F_BAR = _q("F_bar", "F̄", "∂L/∂F, the forget valve's gate", "F")
I_BAR = _q("I_bar", "Ī", "∂L/∂I, the new-memory valve's gate", "I")
C_I_BAR = _q("C_i_bar", "C̄_i", "∂L/∂C_i, the new memory", "C_i")
A_BARS = {g: _q(f"A_{g}_bar", f"Ā_{g}", f"∂L/∂A_{g}, the {name} gate's pre-activation", _pre(g))
          for g, _, name in GATES}
C_PREV_BAR = _q("C_prev_bar", "C̄_t-1", "sent back to C_t-1 along the pipe", "C0")
H_PREV_BAR = _q("H_prev_bar", "H̄_t-1", "sent back to H_t-1 by this step's four gates", "H0")
X_BAR = _q("X_bar", "X̄", "∂L/∂X_t", "X")
PARAMETER_QUANTITIES = tuple(_q(k, k, f"∂L/∂{k}, summed over the steps", k) for k in PARAMETERS)

_A_ARGS = tuple(f"A_{g}_bar" for g, _, _ in GATES)
FUNCTIONS = (
    Function("O_bar", ("H_bar", "tanh_C_t"), (O_BAR,)),
    Function("C_t_bar", ("H_bar", "O", "tanh_C_t", "C_t_bar_next"), (C_T_BAR,)),
    Function("F_bar", ("C_t_bar", "C_prev"), (F_BAR,)),
    Function("I_bar", ("C_t_bar", "C_i"), (I_BAR,)),
    Function("C_i_bar", ("C_t_bar", "I"), (C_I_BAR,)),
    Function("A_f_bar", ("F_bar", "F"), (A_BARS["f"],)),
    Function("A_i_bar", ("I_bar", "I"), (A_BARS["i"],)),
    Function("A_c_bar", ("C_i_bar", "C_i"), (A_BARS["c"],)),
    Function("A_o_bar", ("O_bar", "O"), (A_BARS["o"],)),
    Function("C_prev_bar", ("C_t_bar", "F"), (C_PREV_BAR,)),
    Function("H_prev_bar", _A_ARGS + tuple(f"W_{g}h" for g, _, _ in GATES), (H_PREV_BAR,)),
    Function("X_bar", _A_ARGS + tuple(f"W_{g}x" for g, _, _ in GATES), (X_BAR,)),
    Function("parameter_grads", ("steps",), PARAMETER_QUANTITIES),
)


def cases(seed=0):
    """A Case per step of every run (the step's functions) and one per run (the parameters)."""
    out = []
    for number, (d, h, r, T) in enumerate(CASES, start=1):
        cell, run, loss, init, xs = random_run(BlogLSTM, d, h, r, T, seed)
        previous = [(init["H0"], init["C0"])] + [(s["H_t"], s["C_t"]) for s in run.steps[:-1]]
        C_nodes = [s["C_t"] for s in run.steps]
        full, parts = gradients(loss, tracked=[node for pair in previous for node in pair] + C_nodes)
        W = {k: p.value for k, p in cell.parameters().items()}
        per_step = []
        for t, (s, (H_prev, C_prev)) in enumerate(zip(run.steps, previous), start=1):
            values = {name: s[name].value for name in ("O", "F", "I", "C_i")}
            values.update(tanh_C_t=s["tanh(C_t)"].value, C_prev=C_prev.value, H_prev=H_prev.value, X=s["X"].value)
            truths = {"O_bar": full[s["O"]], "C_t_bar": full[s["C_t"]], "F_bar": full[s["F"]],
                      "I_bar": full[s["I"]], "C_i_bar": full[s["C_i"]], "X_bar": full[xs[t - 1]],
                      "C_prev_bar": part(parts, C_prev, t), "H_prev_bar": part(parts, H_prev, t)}
            truths.update({f"A_{g}_bar": full[s[_pre(g)]] for g, _, _ in GATES})
            inputs = {**values, **W, **truths, "H_bar": full[s["H_t"]],
                      "C_t_bar_next": part(parts, s["C_t"], t + 1)}
            out.append(Case(inputs, truths, f"run {number} (d, h, r, T) = {(d, h, r, T)}, t={t}"))
            per_step.append({"X": values["X"], "H_prev": values["H_prev"],
                             **{f"A_{g}_bar": truths[f"A_{g}_bar"] for g, _, _ in GATES}})
        out.append(Case({"steps": per_step}, {k: full[p] for k, p in cell.parameters().items()},
                        f"run {number} (d, h, r, T) = {(d, h, r, T)}, all steps"))
    return out


EXERCISE = Exercise("blog_step", "The backward of one BlogLSTM step (the blog's notation)", FUNCTIONS, cases,
                    "every step of two random runs (the truth from autodiff), (d, h, r, T) = (3, 4, 2, 3) and (2, 5, 3, 2)", drawer("blog"))
