"""Exercise ``paper_step``: the paper's deltas for one step (seed 000, eqs. 19-32 in its order
of computation), written so that they are right.

The student writes one function per quantity, each taking ``c``, a ``lstm.paper.Context``:
the step's forward values (``c.s``, ``c.g_omega``, ``c.a_omega``, ``c.v`` = [x; z_h(t-1);
s(t-1); 1] ...), the weight blocks (``c.w_omega_s``, ``c.W_c_x`` ...), the activations'
derivatives (``c.df_h(a)`` ...), and the TRUE values (from autodiff) of the deltas computed
before it in the order of computation (and of δ_zh(t) and δ_s(t+1)→(t), which a step is
given). The truth is autodiff of PaperLSTM (``lstm.errata.autodiff_truth``) on the six
configurations of ``python -m lstm check`` (D = 1 and D > 1, T = 1 to 10, several
activations), so a formula right only for the default activations or for D = 1 is wrong.
"""
from lstm import errata, paper

from .drawing import exercise_view
from .exercise import Exercise
from .grader import Case, Function, Quantity

ORDER = tuple(paper.EQUATIONS[n].quantity for n in paper.ORDER_OF_COMPUTATION)
"""The quantities in the paper's order of computation (eqs. 19, 20, 21, 23, ..., 32)."""
QUANTITIES = tuple(Quantity(key, paper.QUANTITIES[key][1].split(" = ")[0].split(",")[0],
                            f"eq. {n}: {paper.QUANTITIES[key][1]}", key)
                   for n, key in zip(paper.ORDER_OF_COMPUTATION, ORDER))
FUNCTIONS = tuple(Function(q.key, ("c",), (q,), sources=(f"c_{q.key}",)) for q in QUANTITIES)


def cases(seed=0):
    """A Case per step of every configuration; each function sees only what comes before it."""
    out = []
    for config in errata.DEFAULT_CONFIGS:
        truth = errata.autodiff_truth(acts=dict(config.acts), **errata.random_case(config, seed))
        for t, step in enumerate(truth.steps, start=1):
            for k, key in enumerate(ORDER):
                known = paper.GIVEN_PER_STEP + ORDER[:k]
                context = paper.Context(truth.fwd, t, **{q: step[q] for q in known})
                out.append(Case({f"c_{key}": context}, {key: step[key]}, f"{config.label()}, t={t}"))
    return out


def _draw(quantity=None, view=None):
    return exercise_view("paper", None if quantity is None else _node_of(quantity), view)


def _node_of(quantity):
    """The node of the paper's cell whose gradient (or term) the quantity is."""
    node = {"delta_g_omega": "g_ω", "delta_omega": "w_omega", "delta_s_to_t": "s", "delta_s": "s", "delta_z_c": "z_c",
            "Delta_c": "W_c", "delta_g_iota": "g_ι", "delta_iota": "w_iota", "delta_g_phi": "g_φ", "delta_phi": "w_phi",
            "delta_s_to_prev": "s0", "delta_x": "x", "delta_zz_to_prev": "z_h0"}[quantity.key]
    return Quantity(quantity.key, quantity.symbol, quantity.meaning, node)


EXERCISE = Exercise("paper_step", "The paper's deltas for one step, right (eqs. 19-32)",
                    FUNCTIONS, cases, "every step of the six configurations of `lstm check` (the truth from autodiff)", _draw)
