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
    raise NotImplementedError("your answer here")
