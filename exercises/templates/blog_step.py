"""Exercise ``blog_step``: the backward of one BlogLSTM step.

Step t's forward (the blog's notation; X = X_t, H = H_t-1, C = C_t-1, × element-wise)::

    A_g = X W_gx + H W_gh + b_g          for g = f, i, c, o
    F = σ(A_f)   I = σ(A_i)   C_i = tanh(A_c)   O = σ(A_o)
    C_t = F × C + I × C_i                H_t = O × tanh(C_t)

Each function returns one gradient (Ḡ = ∂L/∂G, an array of G's shape) from what it is
given. X is (r × d), H, C and the gates (r × h), W_gx (d × h), W_gh (h × h), b_g (h,).
The grader gives every function the TRUE inputs (from autodiff), so each one is checked
on its own: ``python -m lstm grade blog_step THIS_FILE``. exercises/templates/blog_step.py
has each body blank, for you to write; exercises/solutions/blog_step.py has the answers.
"""
import numpy as np


def O_bar(H_bar, tanh_C_t):
    """H_t = O × tanh(C_t): the product sends O the other factor."""
    raise NotImplementedError("your answer here")


def C_t_bar(H_bar, O, tanh_C_t, C_t_bar_next):
    """Through tanh(C_t) into H_t, plus what step t+1 sent back along the pipe."""
    raise NotImplementedError("your answer here")


def F_bar(C_t_bar, C_prev):
    """C_t = F × C + ...: the forget valve sends F the old memory."""
    raise NotImplementedError("your answer here")


def I_bar(C_t_bar, C_i):
    raise NotImplementedError("your answer here")


def C_i_bar(C_t_bar, I):
    raise NotImplementedError("your answer here")


def A_f_bar(F_bar, F):
    """σ'(A) = σ(A) (1 − σ(A))."""
    raise NotImplementedError("your answer here")


def A_i_bar(I_bar, I):
    raise NotImplementedError("your answer here")


def A_c_bar(C_i_bar, C_i):
    """tanh'(A) = 1 − tanh²(A)."""
    raise NotImplementedError("your answer here")


def A_o_bar(O_bar, O):
    raise NotImplementedError("your answer here")


def C_prev_bar(C_t_bar, F):
    """Along the pipe: only the forget gate scales it (no matrix, no squashing)."""
    raise NotImplementedError("your answer here")


def H_prev_bar(A_f_bar, A_i_bar, A_c_bar, A_o_bar, W_fh, W_ih, W_ch, W_oh):
    """H_t-1 feeds all four gate networks: the sum of the four parts, Ā_g W_ghᵀ."""
    raise NotImplementedError("your answer here")


def X_bar(A_f_bar, A_i_bar, A_c_bar, A_o_bar, W_fx, W_ix, W_cx, W_ox):
    raise NotImplementedError("your answer here")


def parameter_grads(steps):
    """The weights are shared by every step: each gradient is the sum of the steps' parts.
    ``steps[t-1]`` holds X, H_prev and A_f_bar, A_i_bar, A_c_bar, A_o_bar of step t."""
    raise NotImplementedError("your answer here")

