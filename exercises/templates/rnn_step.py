"""Exercise ``rnn_step``: the backward of one VanillaRNN step.

Step t's forward, X = X_t (r × d), h = h_t-1 (r × h)::

    A = X W_x + h W_h + b        h_t = tanh(A)

Each function returns one gradient (Ḡ = ∂L/∂G, an array of G's shape) from what it is
given; the grader gives every function the TRUE inputs (from autodiff), so each is
checked on its own: ``python -m lstm grade rnn_step THIS_FILE``.
exercises/templates/rnn_step.py has each body blank; exercises/solutions/rnn_step.py the answers.
"""
import numpy as np


def A_bar(h_bar, h_t):
    """tanh'(A) = 1 − tanh²(A) = 1 − h_t²: the derivative from the output itself."""
    raise NotImplementedError("your answer here")


def h_prev_bar(A_bar, W_h):
    """For A = h W_h: h̄ = Ā W_hᵀ. This product, once per step, is what makes the gradient
    vanish or explode over many steps."""
    raise NotImplementedError("your answer here")


def X_bar(A_bar, W_x):
    raise NotImplementedError("your answer here")


def parameter_grads(steps):
    """Shared by every step: the sum of the steps' parts. ``steps[t-1]`` holds X, h_prev
    and A_bar of step t."""
    raise NotImplementedError("your answer here")
