"""Exercise ``blog_bptt``: backpropagation through time over all T steps of a BlogLSTM.

The student writes the whole loop, ``backward(steps, dH, W)``: from the loss's own
∂L/∂H_t (``dH``) to the totals H̄_t and C̄_t of every step, ∂L/∂X, ∂L/∂H0, ∂L/∂C0 and
the 12 parameter gradients. The loop's quantities depend on each other, so they are
checked in the order backward computes them: H̄_T, C̄_T, H̄_T-1, C̄_T-1, ..., and the
first wrong one says at which step, and on which path (H or C), the loop goes wrong.
"""
import numpy as np

from lstm.cells import BlogLSTM

from .blog_step import PARAMETERS
from .drawing import drawer
from .exercise import Exercise
from .grader import Case, Function, Quantity
from .truth import gradients, part, random_run

T = 3
CASES = ((3, 4, 2, T), (2, 5, 3, T))
"""(d, h, r, T) of the graded runs (the same T, so every step has its row)."""
STEP_QUANTITIES = tuple(q for t in range(T, 0, -1) for q in (
    Quantity(f"H_bar_{t}", f"H̄_{t}", f"∂L/∂H_{t}: the loss's own part plus what step {t + 1} sent back"
             if t < T else f"∂L/∂H_{t}: the loss's own part (the last step)", "H_t"),
    Quantity(f"C_bar_{t}", f"C̄_{t}", f"∂L/∂C_{t}: through tanh(C_{t}) plus the pipe from step {t + 1}"
             if t < T else f"∂L/∂C_{t}: through tanh(C_{t})", "C_t")))
OTHER_QUANTITIES = (Quantity("X", "X̄", "∂L/∂X_t for every step, shape (T, r, d)", "X"),
                    Quantity("H0", "H̄_0", "∂L/∂H0, what step 1 sends back", "H0"),
                    Quantity("C0", "C̄_0", "∂L/∂C0, what step 1 sends back along the pipe", "C0"))
PARAMETER_QUANTITIES = tuple(Quantity(k, k, f"∂L/∂{k}, summed over the steps", k) for k in PARAMETERS)
KEYS = ("H_bar", "C_bar", "X", "H0", "C0") + PARAMETERS


def unpack(result):
    """The student's dict, with H_bar and C_bar (T, r, h) split into one entry per step."""
    if not isinstance(result, dict):
        return None, f"must return a dict with keys {', '.join(KEYS)} (got {type(result).__name__})"
    missing = [k for k in KEYS if k not in result]
    if missing:
        return None, f"must return a dict with keys {', '.join(KEYS)}; missing {', '.join(missing)}"
    out = {k: result[k] for k in KEYS[2:]}
    for key in ("H_bar", "C_bar"):
        stacked = np.asarray(result[key], dtype=np.float64)
        if stacked.ndim != 3 or len(stacked) != T:
            return None, f"returned {key} of shape {stacked.shape}: give the T = {T} steps' totals, (T, r, h)"
        out.update({f"{key}_{t}": stacked[t - 1] for t in range(1, T + 1)})
    return out, ""


FUNCTIONS = (Function("backward", ("steps", "dH", "W"), STEP_QUANTITIES + OTHER_QUANTITIES + PARAMETER_QUANTITIES,
                      unpack),)


def cases(seed=0):
    """One Case per run: the forward values of every step, the loss's own ∂L/∂H_t, the weights."""
    out = []
    for number, (d, h, r, T_) in enumerate(CASES, start=1):
        cell, run, loss, init, xs = random_run(BlogLSTM, d, h, r, T_, seed)
        outputs = [s["H_t"] for s in run.steps]
        full, parts = gradients(loss, tracked=outputs)
        previous = [(init["H0"], init["C0"])] + [(s["H_t"], s["C_t"]) for s in run.steps[:-1]]
        steps = [{"X": s["X"].value, "H_prev": H.value, "C_prev": C.value, "tanh_C_t": s["tanh(C_t)"].value,
                  **{name: s[name].value for name in ("F", "I", "C_i", "O", "C_t")}}
                 for s, (H, C) in zip(run.steps, previous)]
        truths = {"X": np.array([full[x] for x in xs]), "H0": full[init["H0"]], "C0": full[init["C0"]],
                  **{k: full[p] for k, p in cell.parameters().items()}}
        for t, s in enumerate(run.steps, start=1):
            truths[f"H_bar_{t}"], truths[f"C_bar_{t}"] = full[s["H_t"]], full[s["C_t"]]
        dH = np.array([part(parts, H, None) for H in outputs])          # the loss's own part only
        inputs = {"steps": steps, "dH": dH, "W": {k: p.value for k, p in cell.parameters().items()}}
        out.append(Case(inputs, truths, f"run {number} (d, h, r, T) = {(d, h, r, T_)}"))
    return out


EXERCISE = Exercise("blog_bptt", "Backpropagation through time over T steps of a BlogLSTM", FUNCTIONS, cases,
                    "two random runs (the truth from autodiff), (d, h, r, T) = (3, 4, 2, 3) and (2, 5, 3, 3)", drawer("blog"))
