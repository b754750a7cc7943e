"""Exercise ``blog_bptt``: backpropagation through time over all T steps of a BlogLSTM.

Step t's forward (the blog's notation; X = X_t, H = H_t-1, C = C_t-1, × element-wise)::

    A_g = X W_gx + H W_gh + b_g          for g = f, i, c, o
    F = σ(A_f)   I = σ(A_i)   C_i = tanh(A_c)   O = σ(A_o)
    C_t = F × C + I × C_i                H_t = O × tanh(C_t)

``backward(steps, dH, W)`` gets ``steps[t-1]``, a dict of step t's forward values (X,
H_prev, C_prev, F, I, C_i, O, C_t, tanh_C_t), ``dH`` (T, r, h), the loss's own ∂L/∂H_t,
and ``W``, the 12 parameters by name. It returns a dict: "H_bar" and "C_bar" (T, r, h),
the TOTAL ∂L/∂H_t and ∂L/∂C_t of every step; "X" (T, r, d); "H0" and "C0" (r, h); and
the 12 parameter gradients under their names (W_fx, ..., b_o).
Grade it: ``python -m lstm grade blog_bptt THIS_FILE`` (exercises/templates/blog_bptt.py
has the body blank; exercises/solutions/blog_bptt.py the answer).
"""
import numpy as np


def backward(steps, dH, W):
    """Walk the steps from the last to the first, carrying what each sends to the one before."""
    ### BEGIN SOLUTION
    grads = {k: np.zeros_like(v) for k, v in W.items()}
    T = len(steps)
    H_bar, C_bar = np.zeros_like(dH), np.zeros_like(dH)
    X_bar = np.zeros((T,) + steps[0]["X"].shape)
    H_from_next, C_from_next = np.zeros_like(dH[0]), np.zeros_like(dH[0])
    for t in range(T - 1, -1, -1):
        s = steps[t]
        H_bar[t] = dH[t] + H_from_next
        C_bar[t] = H_bar[t] * s["O"] * (1 - s["tanh_C_t"] ** 2) + C_from_next
        A = {"f": C_bar[t] * s["C_prev"] * s["F"] * (1 - s["F"]),
             "i": C_bar[t] * s["C_i"] * s["I"] * (1 - s["I"]),
             "c": C_bar[t] * s["I"] * (1 - s["C_i"] ** 2),
             "o": H_bar[t] * s["tanh_C_t"] * s["O"] * (1 - s["O"])}
        C_from_next = C_bar[t] * s["F"]
        H_from_next = sum(A[g] @ W[f"W_{g}h"].T for g in A)
        X_bar[t] = sum(A[g] @ W[f"W_{g}x"].T for g in A)
        for g in A:
            grads[f"W_{g}x"] += s["X"].T @ A[g]
            grads[f"W_{g}h"] += s["H_prev"].T @ A[g]
            grads[f"b_{g}"] += A[g].sum(axis=0)
    return {"H_bar": H_bar, "C_bar": C_bar, "X": X_bar, "H0": H_from_next, "C0": C_from_next, **grads}
    ### END SOLUTION
