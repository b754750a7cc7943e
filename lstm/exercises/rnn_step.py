"""Exercise ``rnn_step``: the backward of one VanillaRNN step, h_t = tanh(X W_x + h W_h + b).

Backward receives h̄ = ∂L/∂h_t (the loss's own part plus what step t+1 sent back). Graded
on two random runs under the softmax cross-entropy of every output, each function on
autodiff's true inputs.
"""
from lstm.cells import VanillaRNN

from .drawing import drawer
from .exercise import Exercise
from .grader import Case, Function, Quantity
from .truth import gradients, part, random_run

CASES = ((3, 4, 2, 3), (2, 5, 3, 2))
"""(d, h, r, T) of the graded runs."""
A_BAR = Quantity("A_bar", "Ā", "∂L/∂A, A = X W_x + h W_h + b the pre-activation", "X W_x + h W_h + b")
H_PREV_BAR = Quantity("h_prev_bar", "h̄_t-1", "sent back to h_t-1 through W_h", "h0")
X_BAR = Quantity("X_bar", "X̄", "∂L/∂X_t", "X")
PARAMETER_QUANTITIES = tuple(Quantity(k, k, f"∂L/∂{k}, summed over the steps", k) for k in ("W_x", "W_h", "b"))
FUNCTIONS = (
    Function("A_bar", ("h_bar", "h_t"), (A_BAR,)),
    Function("h_prev_bar", ("A_bar", "W_h"), (H_PREV_BAR,)),
    Function("X_bar", ("A_bar", "W_x"), (X_BAR,)),
    Function("parameter_grads", ("steps",), PARAMETER_QUANTITIES),
)


def cases(seed=0):
    """A Case per step of every run and one per run (the parameters)."""
    out = []
    for number, (d, h, r, T) in enumerate(CASES, start=1):
        cell, run, loss, init, xs = random_run(VanillaRNN, d, h, r, T, seed)
        previous = [init["h0"]] + [s["h_t"] for s in run.steps[:-1]]
        full, parts = gradients(loss, tracked=previous)
        W = {k: p.value for k, p in cell.parameters().items()}
        per_step = []
        for t, (s, h_prev) in enumerate(zip(run.steps, previous), start=1):
            truths = {"A_bar": full[s["X W_x + h W_h + b"]], "h_prev_bar": part(parts, h_prev, t),
                      "X_bar": full[xs[t - 1]]}
            inputs = {**W, **truths, "h_bar": full[s["h_t"]], "h_t": s["h_t"].value}
            out.append(Case(inputs, truths, f"run {number} (d, h, r, T) = {(d, h, r, T)}, t={t}"))
            per_step.append({"X": s["X"].value, "h_prev": h_prev.value, "A_bar": truths["A_bar"]})
        out.append(Case({"steps": per_step}, {k: full[p] for k, p in cell.parameters().items()},
                        f"run {number} (d, h, r, T) = {(d, h, r, T)}, all steps"))
    return out


EXERCISE = Exercise("rnn_step", "The backward of one VanillaRNN step", FUNCTIONS, cases,
                    "every step of two random runs (the truth from autodiff), (d, h, r, T) = (3, 4, 2, 3) and (2, 5, 3, 2)", drawer("rnn"))
