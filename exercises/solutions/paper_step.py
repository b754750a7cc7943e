r"""Exercise ``paper_step``: the paper's deltas for one step (seed 000, eqs. 19-32), right.

The cell (eqs. 1-10), one sequence, N inputs, D memory cells, scalar gates::

    a_ι = w_ι·[x; z_h(t-1); s(t-1); 1]    g_ι = f_ι(a_ι)
    a_c = W_cᵀ[x; z_h(t-1); 1]            z_c = f_c(a_c)
    a_φ = w_φ·[x; z_h(t-1); s(t-1); 1]    g_φ = f_φ(a_φ)
    s(t) = g_φ s(t-1) + g_ι z_c
    a_ω = w_ω·[x; z_h(t-1); s(t); 1]      g_ω = f_ω(a_ω)
    z_h(t) = f_h(g_ω s(t))

Each function gets ``c`` (a ``lstm.paper.Context``) and returns one delta, with the shape of
what it is the gradient of (a scalar for a gate, a vector for s, x, z_h, w_*; W_c's shape
for Δ_c). ``c`` holds the step's forward values (c.x, c.s, c.s_prev, c.z_c, c.g_iota,
c.a_omega ..., c.v = [x; z_h(t-1); s(t-1); 1], c.u = [x; z_h(t-1); 1], c.v_omega =
[x; z_h(t-1); s(t); 1]), the weight blocks (c.w_omega_s, c.w_iota_x, c.W_c_z ...), the
activations' derivatives (c.df_h(a), c.df_omega(a) ...), δ_zh(t) (c.delta_z_h, everything
that reaches z_h(t)), δ_s(t+1)→(t) (c.delta_s_from_next) and the TRUE values of the deltas
before it in this order. Some of the paper's printed equations are wrong (docs/errata.md):
derive each one. ``python -m lstm grade paper_step THIS_FILE`` checks each against autodiff
(exercises/templates/paper_step.py has the bodies blank; exercises/solutions/ the answers).
"""
import numpy as np


def delta_g_omega(c):
    """eq. 19: δ_gω = ∂E/∂g_ω, a scalar (z_h = f_h(g_ω s))."""
    ### BEGIN SOLUTION
    return c.delta_z_h @ (c.df_h(c.g_omega * c.s) * c.s)
    ### END SOLUTION


def delta_omega(c):
    """eq. 20: step t's term of ∂E/∂w_ω (a_ω = w_ω·[x; z_h(t-1); s(t); 1])."""
    ### BEGIN SOLUTION
    return c.delta_g_omega * c.df_omega(c.a_omega) * c.v_omega
    ### END SOLUTION


def delta_s_to_t(c):
    """eqs. 21-22: the part of ∂E/∂s(t) through z_h(t): s(t) reaches z_h(t) directly and
    through the output gate's peephole."""
    ### BEGIN SOLUTION
    return (c.g_omega * c.delta_z_h * c.df_h(c.g_omega * c.s)
            + c.delta_g_omega * c.df_omega(c.a_omega) * c.w_omega_s)
    ### END SOLUTION


def delta_s(c):
    """eq. 23: ∂E/∂s(t), both parts."""
    ### BEGIN SOLUTION
    return c.delta_s_to_t + c.delta_s_from_next
    ### END SOLUTION


def delta_z_c(c):
    """eq. 24: ∂E/∂z_c."""
    ### BEGIN SOLUTION
    return c.g_iota * c.delta_s
    ### END SOLUTION


def Delta_c(c):
    """eq. 25: step t's term of ∂E/∂W_c, in W_c's shape (N+D+1) × D."""
    ### BEGIN SOLUTION
    return np.outer(c.u, c.delta_z_c * c.df_c(c.a_c))
    ### END SOLUTION


def delta_g_iota(c):
    """eq. 26: δ_gι, a scalar."""
    ### BEGIN SOLUTION
    return c.delta_s @ c.z_c
    ### END SOLUTION


def delta_iota(c):
    """eq. 27: step t's term of ∂E/∂w_ι."""
    ### BEGIN SOLUTION
    return c.delta_g_iota * c.df_iota(c.a_iota) * c.v
    ### END SOLUTION


def delta_g_phi(c):
    """eq. 28: δ_gφ, a scalar."""
    ### BEGIN SOLUTION
    return c.delta_s @ c.s_prev
    ### END SOLUTION


def delta_phi(c):
    """eq. 29: step t's term of ∂E/∂w_φ."""
    ### BEGIN SOLUTION
    return c.delta_g_phi * c.df_phi(c.a_phi) * c.v
    ### END SOLUTION


def delta_s_to_prev(c):
    """eq. 30: the part of ∂E/∂s(t-1) through step t: the forget valve and both peepholes."""
    ### BEGIN SOLUTION
    return (c.delta_g_phi * c.df_phi(c.a_phi) * c.w_phi_s
            + c.delta_g_iota * c.df_iota(c.a_iota) * c.w_iota_s
            + c.g_phi * c.delta_s)
    ### END SOLUTION


def delta_x(c):
    """eq. 31: ∂E/∂x(t): x feeds the three gates and z_c."""
    ### BEGIN SOLUTION
    return (c.delta_g_iota * c.df_iota(c.a_iota) * c.w_iota_x
            + c.delta_g_phi * c.df_phi(c.a_phi) * c.w_phi_x
            + c.delta_g_omega * c.df_omega(c.a_omega) * c.w_omega_x
            + c.W_c_x @ (c.delta_z_c * c.df_c(c.a_c)))
    ### END SOLUTION


def delta_zz_to_prev(c):
    """eq. 32: the part of ∂E/∂z_h(t-1) through step t."""
    ### BEGIN SOLUTION
    return (c.delta_g_iota * c.df_iota(c.a_iota) * c.w_iota_z
            + c.delta_g_phi * c.df_phi(c.a_phi) * c.w_phi_z
            + c.delta_g_omega * c.df_omega(c.a_omega) * c.w_omega_z
            + c.W_c_z @ (c.delta_z_c * c.df_c(c.a_c)))
    ### END SOLUTION
