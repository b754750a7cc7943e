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
    ### BEGIN SOLUTION
    return H_bar * tanh_C_t
    ### END SOLUTION


def C_t_bar(H_bar, O, tanh_C_t, C_t_bar_next):
    """Through tanh(C_t) into H_t, plus what step t+1 sent back along the pipe."""
    ### BEGIN SOLUTION
    return H_bar * O * (1 - tanh_C_t ** 2) + C_t_bar_next
    ### END SOLUTION


def F_bar(C_t_bar, C_prev):
    """C_t = F × C + ...: the forget valve sends F the old memory."""
    ### BEGIN SOLUTION
    return C_t_bar * C_prev
    ### END SOLUTION


def I_bar(C_t_bar, C_i):
    ### BEGIN SOLUTION
    return C_t_bar * C_i
    ### END SOLUTION


def C_i_bar(C_t_bar, I):
    ### BEGIN SOLUTION
    return C_t_bar * I
    ### END SOLUTION


def A_f_bar(F_bar, F):
    """σ'(A) = σ(A) (1 − σ(A))."""
    ### BEGIN SOLUTION
    return F_bar * F * (1 - F)
    ### END SOLUTION


def A_i_bar(I_bar, I):
    ### BEGIN SOLUTION
    return I_bar * I * (1 - I)
    ### END SOLUTION


def A_c_bar(C_i_bar, C_i):
    """tanh'(A) = 1 − tanh²(A)."""
    ### BEGIN SOLUTION
    return C_i_bar * (1 - C_i ** 2)
    ### END SOLUTION


def A_o_bar(O_bar, O):
    ### BEGIN SOLUTION
    return O_bar * O * (1 - O)
    ### END SOLUTION


def C_prev_bar(C_t_bar, F):
    """Along the pipe: only the forget gate scales it (no matrix, no squashing)."""
    ### BEGIN SOLUTION
    return C_t_bar * F
    ### END SOLUTION


def H_prev_bar(A_f_bar, A_i_bar, A_c_bar, A_o_bar, W_fh, W_ih, W_ch, W_oh):
    """H_t-1 feeds all four gate networks: the sum of the four parts, Ā_g W_ghᵀ."""
    ### BEGIN SOLUTION
    return A_f_bar @ W_fh.T + A_i_bar @ W_ih.T + A_c_bar @ W_ch.T + A_o_bar @ W_oh.T
    ### END SOLUTION


def X_bar(A_f_bar, A_i_bar, A_c_bar, A_o_bar, W_fx, W_ix, W_cx, W_ox):
    ### BEGIN SOLUTION
    return A_f_bar @ W_fx.T + A_i_bar @ W_ix.T + A_c_bar @ W_cx.T + A_o_bar @ W_ox.T
    ### END SOLUTION


def parameter_grads(steps):
    """The weights are shared by every step: each gradient is the sum of the steps' parts.
    ``steps[t-1]`` holds X, H_prev and A_f_bar, A_i_bar, A_c_bar, A_o_bar of step t."""
    ### BEGIN SOLUTION
    grads = {}
    for g in "fico":
        grads[f"W_{g}x"] = sum(s["X"].T @ s[f"A_{g}_bar"] for s in steps)
        grads[f"W_{g}h"] = sum(s["H_prev"].T @ s[f"A_{g}_bar"] for s in steps)
        grads[f"b_{g}"] = sum(s[f"A_{g}_bar"].sum(axis=0) for s in steps)
    return grads
    ### END SOLUTION

