r"""The paper's LSTM (seed 000) in plain numpy, and its closed-form backward through time.

This module is the *second method*: it does not use tinygraph. It runs the forward
pass of eqs. 1-10 recording every intermediate, and the backward pass of eqs. 17-32
twice, per time step and then through time:

- ``version="as_printed"``: every equation exactly as the paper prints it. Only what is
  needed to make the formulas run at all was chosen; the choices are recorded with the
  errata, in lstm/data/errata.toml (``lstm.errata.RECORDS.choices``).
- ``version="corrected"``: the same equations with the errors fixed. It equals the
  autodiff gradients of ``lstm.cells.PaperLSTM`` (``lstm.errata`` and the tests check).

The model (eqs. 1-10), per time step t, with N inputs and D memory cells::

    a_ι = w_ι·[x; z_h(t-1); s(t-1); 1]        g_ι = f_ι(a_ι)        (1, 2)  scalars
    a_c = W_cᵀ[x; z_h(t-1); 1]                z_c = f_c(a_c)        (3, 4)  D-vectors
    a_φ = w_φ·[x; z_h(t-1); s(t-1); 1]        g_φ = f_φ(a_φ)        (5, 6)
    s(t) = g_φ s(t-1) + g_ι z_c                                     (7)
    a_ω = w_ω·[x; z_h(t-1); s(t); 1]          g_ω = f_ω(a_ω)        (8, 9)
    z_h(t) = f_h(g_ω s(t))                                          (10, as printed)

What the paper leaves implicit, stated and implemented here:

- The weight blocks: w_{*,x}, w_{*,z}, w_{*,s} are the slices of w_* that multiply x,
  z_h(t-1) and s in the concatenation, and W_{c,x}, W_{c,z} the row blocks of W_c.
- A parameter is shared by all steps, so its gradient is the **sum over t** of the
  per-step terms δ_ω(t), δ_φ(t), δ_ι(t), Δ_c(t) (eqs. 20, 29, 27, 25). Eqs. 11-12 write
  the total ∂E/∂w with a per-step symbol; eqs. 20-29 compute the per-step terms.
- Backward starts at t = T with δ_s(T+1)→(T) = 0 and δ_zz(T+1)→(T) = 0.
- The δ_zh(t) a step receives is the loss's direct ∂E/∂z_h(t) plus δ_zz(t+1)→(t), the
  part sent back by step t+1 (eq. 32 of step t+1).
- The gradients with respect to the initial state are what step 1 sends back:
  ∂E/∂z_h(0) = δ_zz(1)→(0) and ∂E/∂s(0) = δ_s(1)→(0).
- Loss (the project's squared error for the paper): E = Σ_t ½‖z_h(t) − y(t)‖², so the
  direct ∂E/∂z_h(t) is z_h(t) − y(t); any other direct gradients may be passed.

What ``corrected`` changes (eqs. 18, 21-22, 25), and why, is in lstm/data/errata.toml, the
errata's one source; docs/errata.md is generated from it.

``backward(..., version="as_printed", fixes=("25",))`` applies chosen corrections only.

Row/column: the paper writes gradients as row vectors (Jacobians); here every gradient
has the shape of the quantity it is taken with respect to (1-D arrays for vectors), so
a transpose between a row and a column changes nothing numerically.

>>> import numpy as np
>>> params = random_parameters(N=2, D=3, seed=0)
>>> xs, ys = np.ones((4, 2)), np.zeros((4, 3))
>>> fwd = forward(params, xs)
>>> grads = backward(fwd, mse_gradient(fwd, ys)).gradients
>>> sorted(grads)
['W_c', 's0', 'w_iota', 'w_omega', 'w_phi', 'x', 'z_h0']
"""
from dataclasses import dataclass, field

import numpy as np

# --- activations and their derivatives, written independently of tinygraph ----------

def _sigmoid(a):
    a = np.asarray(a, dtype=float)
    e = np.exp(-np.abs(a))                  # never overflows
    return np.where(a >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


ACTIVATIONS = {
    "sigmoid": (_sigmoid, lambda a: _sigmoid(a) * (1.0 - _sigmoid(a))),
    "tanh": (np.tanh, lambda a: 1.0 - np.tanh(a) ** 2),
    "identity": (lambda a: np.asarray(a, dtype=float), lambda a: np.ones_like(np.asarray(a, dtype=float))),
    "relu": (lambda a: np.maximum(a, 0.0), lambda a: (np.asarray(a) > 0).astype(float)),
}
"""name -> (f, f'), the activations PaperLSTM accepts by name."""

GATES = ("iota", "phi", "omega", "c", "h")
DEFAULT_ACTIVATIONS = {"iota": "sigmoid", "phi": "sigmoid", "omega": "sigmoid", "c": "tanh", "h": "tanh"}
PARAMETER_KEYS = ("w_iota", "w_phi", "w_omega", "W_c")


def activations(**names):
    """The five activations by gate, e.g. ``activations(omega="tanh")``; the rest default
    to the paper's usual choice (sigmoid gates, tanh for z_c and z_h)."""
    unknown = set(names) - set(GATES)
    if unknown:
        raise ValueError(f"activations: unknown gate(s) {sorted(unknown)}; the gates are {GATES}")
    chosen = {**DEFAULT_ACTIVATIONS, **names}
    for gate, name in chosen.items():
        if name not in ACTIVATIONS:
            raise ValueError(f"activations: f_{gate}={name!r} is not one of {sorted(ACTIVATIONS)}")
    return chosen


def random_parameters(N, D, seed=0, scale=0.5):
    """Random float64 parameters of the shapes the paper's notation table gives."""
    rng = np.random.default_rng(seed)
    n = N + 2 * D + 1
    return {"w_iota": scale * rng.standard_normal(n), "w_phi": scale * rng.standard_normal(n),
            "w_omega": scale * rng.standard_normal(n), "W_c": scale * rng.standard_normal((N + D + 1, D))}


# --- forward, eqs. 1-10 --------------------------------------------------------------

@dataclass
class Forward:
    """A forward run: ``steps[t-1]`` holds step t's intermediates by name (x, z_h_prev,
    s_prev, v = [x; z_h(t-1); s(t-1); 1], u = [x; z_h(t-1); 1], v_omega = [x; z_h(t-1);
    s(t); 1], a_iota, g_iota, a_c, z_c, a_phi, g_phi, s, a_omega, g_omega, z_h)."""

    params: dict
    acts: dict
    N: int
    D: int
    steps: list
    z_h0: np.ndarray
    s0: np.ndarray

    @property
    def T(self):
        return len(self.steps)

    @property
    def outputs(self):
        """z_h(1..T) as a (T, D) array."""
        return np.array([step["z_h"] for step in self.steps])


def _check_parameters(params, N, D):
    shapes = {"w_iota": (N + 2 * D + 1,), "w_phi": (N + 2 * D + 1,), "w_omega": (N + 2 * D + 1,),
              "W_c": (N + D + 1, D)}
    for key, shape in shapes.items():
        if key not in params:
            raise ValueError(f"paper.forward: parameter {key!r} is missing; expected keys {PARAMETER_KEYS}")
        if np.shape(params[key]) != shape:
            raise ValueError(f"paper.forward: parameter {key!r} has shape {np.shape(params[key])}, "
                             f"expected {shape} for N={N}, D={D}")


def forward(params, xs, z_h0=None, s0=None, acts=None):
    """Eqs. 1-10 over the rows of ``xs`` (T, N); returns a ``Forward`` with every intermediate.

    ``params``: w_iota, w_phi, w_omega (N+2D+1,) and W_c (N+D+1, D); ``acts``: the dict
    from ``activations()`` (default: the paper's usual activations).
    """
    params = {k: np.asarray(v, dtype=np.float64) for k, v in params.items()}
    xs = np.asarray(xs, dtype=np.float64)
    if xs.ndim != 2:
        raise ValueError(f"paper.forward: inputs must have shape (T, N), got {xs.shape}")
    N = xs.shape[1]
    if "W_c" not in params or np.ndim(params["W_c"]) != 2:
        raise ValueError("paper.forward: parameter 'W_c' of shape (N+D+1, D) is required")
    D = params["W_c"].shape[1]
    _check_parameters(params, N, D)
    acts = activations(**(acts or {}))
    f = {gate: ACTIVATIONS[name][0] for gate, name in acts.items()}
    z_h = np.zeros(D) if z_h0 is None else np.asarray(z_h0, dtype=np.float64).reshape(D)
    s = np.zeros(D) if s0 is None else np.asarray(s0, dtype=np.float64).reshape(D)
    start = (z_h, s)
    steps = []
    for x in xs:
        v = np.concatenate([x, z_h, s, [1.0]])
        u = np.concatenate([x, z_h, [1.0]])
        a_iota = params["w_iota"] @ v                                   # (1)
        g_iota = f["iota"](a_iota)                                      # (2)
        a_c = params["W_c"].T @ u                                       # (3)
        z_c = f["c"](a_c)                                               # (4)
        a_phi = params["w_phi"] @ v                                     # (5)
        g_phi = f["phi"](a_phi)                                         # (6)
        s_new = g_phi * s + g_iota * z_c                                # (7)
        v_omega = np.concatenate([x, z_h, s_new, [1.0]])
        a_omega = params["w_omega"] @ v_omega                           # (8)
        g_omega = f["omega"](a_omega)                                   # (9)
        z_h_new = f["h"](g_omega * s_new)                               # (10)
        steps.append(dict(x=x, z_h_prev=z_h, s_prev=s, v=v, u=u, v_omega=v_omega, a_iota=a_iota,
                          g_iota=g_iota, a_c=a_c, z_c=z_c, a_phi=a_phi, g_phi=g_phi, s=s_new,
                          a_omega=a_omega, g_omega=g_omega, z_h=z_h_new))
        z_h, s = z_h_new, s_new
    return Forward(params, acts, N, D, steps, *start)


def mse(fwd, ys):
    """E = Σ_t ½‖z_h(t) − y(t)‖²."""
    return 0.5 * float(((fwd.outputs - np.asarray(ys, dtype=float)) ** 2).sum())


def mse_gradient(fwd, ys):
    """The direct ∂E/∂z_h(t) = z_h(t) − y(t) of ``mse``, as a (T, D) array."""
    return fwd.outputs - np.asarray(ys, dtype=float)


# --- the backward equations ------------------------------------------------------------

class Context:
    """What one step's equations may read: the step's forward values (``c.s``, ``c.g_omega``,
    ...), the parameters and their blocks (``c.w_omega_s``, ``c.W_c_x`` ...), the
    derivatives of the activations (``c.df_h(a)``) and the deltas computed so far
    (``c.delta_z_h`` ...). For eq. 17, step t+1's values are ``c.next_g_phi`` etc."""

    def __init__(self, fwd, t, **deltas):
        self.N, self.D, self.t = fwd.N, fwd.D, t
        self.__dict__.update(fwd.steps[t - 1])
        p, N, D = fwd.params, fwd.N, fwd.D
        self.__dict__.update(p)
        for gate in ("iota", "phi", "omega"):
            w = p[f"w_{gate}"]
            setattr(self, f"w_{gate}_x", w[:N])
            setattr(self, f"w_{gate}_z", w[N:N + D])
            setattr(self, f"w_{gate}_s", w[N + D:N + 2 * D])
        self.W_c_x, self.W_c_z = p["W_c"][:N], p["W_c"][N:N + D]
        for gate, name in fwd.acts.items():
            setattr(self, f"df_{gate}", ACTIVATIONS[name][1])
        self.__dict__.update(deltas)


@dataclass(frozen=True)
class Equation:
    """One of the paper's backward equations, as printed and corrected.

    ``quantity``: the key of its left-hand side (see ``QUANTITIES``); ``needs``: the
    deltas it reads (besides forward values); ``printed`` / ``corrected``: functions of
    a ``Context`` returning the left-hand side.
    """

    number: str
    quantity: str
    needs: tuple
    printed: object
    corrected: object
    printed_needs: tuple = None

    @property
    def needs_as_printed(self):
        return self.needs if self.printed_needs is None else self.printed_needs


QUANTITIES = {
    "delta_z_h": (r"\delta_{z_h}^{(t)}", "δ_zh(t) = ∂E/∂z_h(t), what step t receives"),
    "delta_g_omega": (r"\delta_{g_\omega}^{(t)}", "δ_gω(t) = ∂E/∂g_ω(t)"),
    "delta_omega": (r"\delta_\omega^{(t)}", "δ_ω(t), step t's term of ∂E/∂w_ω"),
    "delta_s_to_t": (r"\delta_s^{(t)\to(t)}", "δ_s(t)→(t), the part of ∂E/∂s(t) through z_h(t)"),
    "delta_s_from_next": (r"\delta_s^{(t+1)\to(t)}", "δ_s(t+1)→(t), the part of ∂E/∂s(t) through step t+1"),
    "delta_s": (r"\delta_s^{(t)}", "δ_s(t) = ∂E/∂s(t)"),
    "delta_z_c": (r"\delta_{z_c}^{(t)}", "δ_zc(t) = ∂E/∂z_c(t)"),
    "Delta_c": (r"\Delta_c^{(t)}", "Δ_c(t), step t's term of ∂E/∂W_c"),
    "delta_g_iota": (r"\delta_{g_\iota}^{(t)}", "δ_gι(t) = ∂E/∂g_ι(t)"),
    "delta_iota": (r"\delta_\iota^{(t)}", "δ_ι(t), step t's term of ∂E/∂w_ι"),
    "delta_g_phi": (r"\delta_{g_\phi}^{(t)}", "δ_gφ(t) = ∂E/∂g_φ(t)"),
    "delta_phi": (r"\delta_\phi^{(t)}", "δ_φ(t), step t's term of ∂E/∂w_φ"),
    "delta_s_to_prev": (r"\delta_s^{(t)\to(t-1)}", "δ_s(t)→(t-1), the part of ∂E/∂s(t-1) through step t"),
    "delta_x": (r"\delta_x^{(t)}", "δ_x(t) = ∂E/∂x(t)"),
    "delta_zz_to_prev": (r"\delta_{zz}^{(t)\to(t-1)}", "δ_zz(t)→(t-1), the part of ∂E/∂z_h(t-1) through step t"),
}
"""key -> (LaTeX symbol, plain description) of every per-step quantity the paper names."""


# eq. 19: δ_gω = δ_zh (f'_h(g_ω s) ⊙ s); printed with δ_h for δ_zh (same number).
def _eq19(c):
    return c.delta_z_h @ (c.df_h(c.g_omega * c.s) * c.s)


# eq. 20: δ_ω(t) = δ_gω f'_ω(a_ω) [x; z_h(t-1); s(t); 1]
def _eq20(c):
    return c.delta_g_omega * c.df_omega(c.a_omega) * c.v_omega


# eqs. 21-22 as printed: δ_s(t)→(t) = g_ω δ_h ⊙ f'_ω(g_ω s)
def _eq21_printed(c):
    return c.g_omega * c.delta_z_h * c.df_omega(c.g_omega * c.s)


# eqs. 21-22 corrected: f'_h (not f'_ω), plus the output gate's peephole term of eq. 17
def _eq21_corrected(c):
    return (c.g_omega * c.delta_z_h * c.df_h(c.g_omega * c.s)
            + c.delta_g_omega * c.df_omega(c.a_omega) * c.w_omega_s)


# eq. 18 as printed: indices i and j swapped inside f'_h and in the s·w product
def _eq18_printed(c):
    m = c.g_omega * c.s
    jac = c.df_h(m)[:, None] * (c.g_omega * np.eye(c.D) + c.s[:, None] * c.df_omega(c.a_omega) * c.w_omega_s[None, :])
    return jac @ c.delta_z_h                              # [i] = Σ_j jac[i, j] ∂E/∂z_h[j]


# eq. 18 corrected: ∂z_h[j]/∂s[i] = f'_h(g_ω s[j]) (g_ω δ_ij + s[j] f'_ω(a_ω) w_ω,s[i])
def _eq18_corrected(c):
    m = c.g_omega * c.s
    jac = c.df_h(m)[None, :] * (c.g_omega * np.eye(c.D) + c.df_omega(c.a_omega) * c.w_omega_s[:, None] * c.s[None, :])
    return jac @ c.delta_z_h


# eq. 17 (its third line): δ_s(t) = δ_zh diag(f'_h(g_ω s)) (g_ω I + f'_ω(a_ω) s w_ω,sᵀ)
#   + δ_gφ(t+1) f'_φ(a_φ(t+1)) w_φ,sᵀ + δ_gι(t+1) f'_ι(a_ι(t+1)) w_ι,sᵀ + g_φ(t+1) δ_s(t+1)
# (printed with δ_s(t+1)ᵀ, a column among rows; read as the row). Step t+1's values are
# c.next_*, all zero at t = T.
def eq17_parts(c):
    """Eq. 17's two groups: (δ_s(t)→(t), the part through z_h(t); δ_s(t+1)→(t), the part
    through g_φ(t+1), g_ι(t+1) and s(t+1))."""
    through_z_h = (c.delta_z_h * c.df_h(c.g_omega * c.s)) @ (
        c.g_omega * np.eye(c.D) + c.df_omega(c.a_omega) * np.outer(c.s, c.w_omega_s))
    through_next = (c.next_delta_g_phi * c.df_phi(c.next_a_phi) * c.w_phi_s
                    + c.next_delta_g_iota * c.df_iota(c.next_a_iota) * c.w_iota_s
                    + c.next_g_phi * c.next_delta_s)
    return through_z_h, through_next


def _eq17(c):
    through_z_h, through_next = eq17_parts(c)
    return through_z_h + through_next


# eq. 23: δ_s = δ_s(t)→(t) + δ_s(t+1)→(t)
def _eq23(c):
    return c.delta_s_to_t + c.delta_s_from_next


# eq. 24: δ_zc = g_ι δ_s (printed g_i for g_ι)
def _eq24(c):
    return c.g_iota * c.delta_s


# eq. 25 as printed: Δ_c = (δ_zcᵀ ⊙ f'_c(a_c)) [xᵀ; s(t-1)ᵀ; 1], D × (N+D+1): the paper's row
# layout of ∂E/∂W_c. Returned transposed, in W_c's shape (N+D+1) × D, as every gradient here.
def _eq25_printed(c):
    printed = np.outer(c.delta_z_c * c.df_c(c.a_c), np.concatenate([c.x, c.s_prev, [1.0]]))
    return printed.T


# eq. 25 corrected: z_h(t-1), which W_c multiplies (eq. 3), in place of s(t-1); in W_c's shape
def _eq25_corrected(c):
    return np.outer(c.u, c.delta_z_c * c.df_c(c.a_c))


# eq. 26: δ_gι = δ_s z_c
def _eq26(c):
    return c.delta_s @ c.z_c


# eq. 27: δ_ι(t) = δ_gι f'_ι(a_ι) [x; z_h(t-1); s(t-1); 1] (printed with left-hand side δ_zc)
def _eq27(c):
    return c.delta_g_iota * c.df_iota(c.a_iota) * c.v


# eq. 28: δ_gφ = δ_s s(t-1)
def _eq28(c):
    return c.delta_s @ c.s_prev


# eq. 29: δ_φ(t) = δ_gφ f'_φ(a_φ) [x; z_h(t-1); s(t-1); 1]
def _eq29(c):
    return c.delta_g_phi * c.df_phi(c.a_phi) * c.v


# eq. 30: δ_s(t)→(t-1) = δ_gφ f'_φ(a_φ) w_φ,sᵀ + δ_gι f'_ι(a_ι) w_ι,sᵀ + g_φ δ_s (printed δ_sᵀ)
def _eq30(c):
    return (c.delta_g_phi * c.df_phi(c.a_phi) * c.w_phi_s
            + c.delta_g_iota * c.df_iota(c.a_iota) * c.w_iota_s
            + c.g_phi * c.delta_s)


# eq. 31 (last line): δ_x = Σ_gates δ_g f'(a) w_{·,x}ᵀ + (δ_zc ⊙ f'_c(a_c)ᵀ) W_c,xᵀ
def _eq31(c):
    return (c.delta_g_iota * c.df_iota(c.a_iota) * c.w_iota_x
            + c.delta_g_phi * c.df_phi(c.a_phi) * c.w_phi_x
            + c.delta_g_omega * c.df_omega(c.a_omega) * c.w_omega_x
            + c.W_c_x @ (c.delta_z_c * c.df_c(c.a_c)))


# eq. 32 (last line): δ_zz(t)→(t-1) = Σ_gates δ_g f'(a) w_{·,z}ᵀ + (δ_zc ⊙ f'_c(a_c)ᵀ) W_c,zᵀ
# (printed w_c,z for W_c,z)
def _eq32(c):
    return (c.delta_g_iota * c.df_iota(c.a_iota) * c.w_iota_z
            + c.delta_g_phi * c.df_phi(c.a_phi) * c.w_phi_z
            + c.delta_g_omega * c.df_omega(c.a_omega) * c.w_omega_z
            + c.W_c_z @ (c.delta_z_c * c.df_c(c.a_c)))


_GATE_DELTAS = ("delta_g_iota", "delta_g_phi", "delta_g_omega", "delta_z_c")
EQUATIONS = {
    "17": Equation("17", "delta_s", ("delta_z_h", "next_delta_g_phi", "next_delta_g_iota", "next_delta_s"),
                   _eq17, _eq17),
    "18": Equation("18", "delta_s_to_t", ("delta_z_h",), _eq18_printed, _eq18_corrected),
    "19": Equation("19", "delta_g_omega", ("delta_z_h",), _eq19, _eq19),
    "20": Equation("20", "delta_omega", ("delta_g_omega",), _eq20, _eq20),
    "21": Equation("21", "delta_s_to_t", ("delta_z_h", "delta_g_omega"), _eq21_printed, _eq21_corrected,
                   printed_needs=("delta_z_h",)),
    "22": Equation("22", "delta_s_to_t", ("delta_z_h", "delta_g_omega"), _eq21_printed, _eq21_corrected,
                   printed_needs=("delta_z_h",)),
    "23": Equation("23", "delta_s", ("delta_s_to_t", "delta_s_from_next"), _eq23, _eq23),
    "24": Equation("24", "delta_z_c", ("delta_s",), _eq24, _eq24),
    "25": Equation("25", "Delta_c", ("delta_z_c",), _eq25_printed, _eq25_corrected),
    "26": Equation("26", "delta_g_iota", ("delta_s",), _eq26, _eq26),
    "27": Equation("27", "delta_iota", ("delta_g_iota",), _eq27, _eq27),
    "28": Equation("28", "delta_g_phi", ("delta_s",), _eq28, _eq28),
    "29": Equation("29", "delta_phi", ("delta_g_phi",), _eq29, _eq29),
    "30": Equation("30", "delta_s_to_prev", ("delta_g_phi", "delta_g_iota", "delta_s"), _eq30, _eq30),
    "31": Equation("31", "delta_x", _GATE_DELTAS, _eq31, _eq31),
    "32": Equation("32", "delta_zz_to_prev", _GATE_DELTAS, _eq32, _eq32),
}
"""The backward equations by number. Eqs. 17 and 18 are the derivation of δ_s; the
computation uses 21-23 (the 'order of computation')."""

ORDER_OF_COMPUTATION = ("19", "20", "21", "23", "24", "25", "26", "27", "28", "29", "30", "31", "32")
"""The paper's order: δ_gω, δ_ω, δ_s(t)→(t), δ_s, δ_zc, Δ_c, δ_gι, δ_ι, δ_gφ, δ_φ,
δ_s(t)→(t-1), δ_x, δ_zz(t)→(t-1), as the equations that compute them (21 = 22)."""

GIVEN_PER_STEP = ("delta_z_h", "delta_s_from_next")
"""What the paper says each step is given ("Given δ_zh(t) and δ_s(t+1)→(t) ...")."""

@dataclass
class Backward:
    """The result of ``backward``: ``steps[t-1]`` maps each quantity key (``QUANTITIES``)
    to its value at step t; ``gradients`` holds the totals: w_iota, w_phi, w_omega, W_c
    (sums over t), x (T, N), z_h0 and s0."""

    version: str
    steps: list
    gradients: dict = field(default_factory=dict)

    def per_step(self, key):
        """Quantity ``key`` at t = 1..T stacked into one array."""
        return np.array([step[key] for step in self.steps])


VERSIONS = ("as_printed", "corrected")


def backward_step(fwd, t, delta_z_h, delta_s_from_next, version="corrected", fixes=()):
    """The closed form of one step t, in the paper's order of computation: given δ_zh(t)
    and δ_s(t+1)→(t), returns a dict of every quantity of ``QUANTITIES``. With
    ``version="as_printed"``, the equations numbered in ``fixes`` (e.g. ("25",)) use
    their corrected form (to see what each correction changes on its own)."""
    if version not in VERSIONS:
        raise ValueError(f"paper.backward: version must be one of {VERSIONS}, got {version!r}")
    unknown = set(fixes) - set(ORDER_OF_COMPUTATION)
    if unknown:
        raise ValueError(f"paper.backward: fixes {sorted(unknown)} are not equations of the order of "
                         f"computation {ORDER_OF_COMPUTATION}")
    c = Context(fwd, t, delta_z_h=np.asarray(delta_z_h, float), delta_s_from_next=np.asarray(delta_s_from_next, float))
    for number in ORDER_OF_COMPUTATION:
        eq = EQUATIONS[number]
        formula = eq.printed if version == "as_printed" and number not in fixes else eq.corrected
        setattr(c, eq.quantity, formula(c))
    return {key: getattr(c, key) for key in QUANTITIES}


def backward(fwd, dE_dz_h, version="corrected", fixes=()):
    """Backpropagation through time by the closed forms, from t = T down to 1.

    ``dE_dz_h`` (T, D): the loss's direct ∂E/∂z_h(t) (``mse_gradient`` for the squared
    error). Starts from δ_s(T+1)→(T) = δ_zz(T+1)→(T) = 0; step t receives
    δ_zh(t) = dE_dz_h[t] + δ_zz(t+1)→(t) and δ_s(t+1)→(t). ``fixes``: see ``backward_step``.
    """
    dE_dz_h = np.asarray(dE_dz_h, dtype=np.float64)
    if dE_dz_h.shape != (fwd.T, fwd.D):
        raise ValueError(f"paper.backward: dE_dz_h must have shape (T, D) = {(fwd.T, fwd.D)}, got {dE_dz_h.shape}")
    delta_s_from_next, delta_zz_from_next = np.zeros(fwd.D), np.zeros(fwd.D)
    steps = [None] * fwd.T
    for t in range(fwd.T, 0, -1):
        step = backward_step(fwd, t, dE_dz_h[t - 1] + delta_zz_from_next, delta_s_from_next, version, fixes)
        steps[t - 1] = step
        delta_s_from_next, delta_zz_from_next = step["delta_s_to_prev"], step["delta_zz_to_prev"]
    result = Backward(version, steps)
    for key, term in (("w_iota", "delta_iota"), ("w_phi", "delta_phi"), ("w_omega", "delta_omega"),
                      ("W_c", "Delta_c")):
        result.gradients[key] = result.per_step(term).sum(axis=0)
    result.gradients["x"] = result.per_step("delta_x")
    result.gradients["z_h0"] = steps[0]["delta_zz_to_prev"]
    result.gradients["s0"] = steps[0]["delta_s_to_prev"]
    return result


def loss_and_gradients(params, xs, ys, z_h0=None, s0=None, acts=None, version="corrected"):
    """E = Σ_t ½‖z_h(t) − y(t)‖² and its gradients by the closed form ``version``."""
    fwd = forward(params, xs, z_h0, s0, acts)
    return mse(fwd, ys), backward(fwd, mse_gradient(fwd, ys), version).gradients
