"""The paper's closed-form deltas held against autodiff, one equation at a time.

For each random configuration (sizes N and D, length T, activations) ``run_check``
builds ``PaperLSTM``, applies the squared error E = Σ_t ½‖z_h(t) − y(t)‖², and takes
from the graph the TRUE value of every quantity the paper names (``autodiff_truth``):

- a total gradient ∂E/∂q of a named node (δ_zh = ∂E/∂z_h(t), δ_gω, δ_gι, δ_gφ, δ_zc, δ_s)
  is the node's gradient in backward;
- a *part* of a gradient (δ_s(t)→(t), δ_s(t+1)→(t), δ_zz(t)→(t-1), a parameter's term
  δ_ω(t) of step t) is the sum of what the consumers of that node inside one time step
  send back to it: backward's steps say which consumer sent what.

Each printed equation is then evaluated on the TRUE upstream quantities (so one wrong
equation does not make every later one look wrong) and compared with the TRUE value of
its left-hand side; the corrected equation likewise. The report gives, per equation, the
largest relative error max|formula − truth| / max|truth| over all steps and
configurations, and a kind (``KINDS``): what each equation gets wrong, and why, is data,
read from lstm/data/errata.toml (``RECORDS``); a finding that claims wrong numbers
counts only where the numbers are measured wrong. It also runs the whole backward through time as printed and corrected
(``lstm.paper.backward``) and compares every gradient, and checks BlogLSTM's closed
form (``lstm.closed_form``) the same way.

>>> result = run_check()
>>> result.ok                     # the corrected closed forms equal autodiff
True
>>> result.counts()["numbers"]
['18', '21', '22', '25']
"""
import json
import textwrap
import tomllib
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

import tinygraph as tg

from . import closed_form, paper
from .cells import BlogLSTM, PaperLSTM
from .losses import ce, mse

TOLERANCE = 1e-9
"""Largest relative error (float64) at which a formula counts as agreeing with autodiff."""


# --- configurations ----------------------------------------------------------------

@dataclass(frozen=True)
class Config:
    """One random test case: sizes, length, activations (gate -> name, only those that
    differ from the default), and the seed of its random values."""

    N: int
    D: int
    T: int
    acts: tuple = ()
    seed: int = 0

    def label(self):
        names = {"iota": "ι", "phi": "φ", "omega": "ω", "c": "c", "h": "h"}
        acts = " ".join(f"f_{names[g]}={a}" for g, a in self.acts) or "default activations"
        return f"N={self.N} D={self.D} T={self.T} {acts}"


DEFAULT_CONFIGS = (
    Config(3, 1, 5),                                                      # D = 1
    Config(2, 3, 6),                                                      # D > 1
    Config(4, 2, 4, (("c", "identity"), ("h", "tanh"), ("omega", "tanh"))),   # f_ω = f_h
    Config(1, 4, 10, (("c", "sigmoid"), ("h", "relu"), ("iota", "tanh"), ("omega", "identity"))),
    Config(2, 1, 3, (("h", "tanh"), ("omega", "tanh"), ("phi", "tanh"))),  # D = 1 and f_ω = f_h
    Config(3, 2, 1),                                                      # T = 1: one step only
)
"""The configurations ``run_check`` uses: D = 1 and D > 1, f_ω ≠ f_h and f_ω = f_h,
T from 1 to 10, non-default activations (some errors only show in some of them)."""


def random_case(config, seed=0):
    """Random parameters, inputs, targets and initial state for ``config`` (float64)."""
    rng = np.random.default_rng([seed, config.seed, config.N, config.D, config.T])
    params = paper.random_parameters(config.N, config.D, seed=int(rng.integers(2**31)), scale=0.6)
    return dict(params=params, xs=rng.standard_normal((config.T, config.N)),
                ys=rng.standard_normal((config.T, config.D)),
                z_h0=0.5 * rng.standard_normal(config.D), s0=0.5 * rng.standard_normal(config.D))


# --- the truth from autodiff ---------------------------------------------------------------

# The graph's node name for each paper quantity that is a total gradient of one node.
_NODE_OF = {"delta_z_h": "z_h", "delta_g_omega": "g_ω", "delta_g_iota": "g_ι", "delta_g_phi": "g_φ",
            "delta_z_c": "z_c", "delta_s": "s"}
# The graph's node name for each intermediate of paper.forward.
_FORWARD_NAMES = {"a_iota": "a_ι", "g_iota": "g_ι", "a_c": "a_c", "z_c": "z_c", "a_phi": "a_φ",
                  "g_phi": "g_φ", "s": "s", "a_omega": "a_ω", "g_omega": "g_ω", "z_h": "z_h"}
_TERM_OF = {"w_omega": "delta_omega", "w_iota": "delta_iota", "w_phi": "delta_phi", "W_c": "Delta_c"}


@dataclass
class Truth:
    """What autodiff says for one case.

    ``fwd``: the numpy forward (``paper.forward``) of the same case, whose values the
    equations read; ``steps[t-1]``: quantity key -> true value at step t (every key of
    ``paper.QUANTITIES``, plus "direct" = the loss's own ∂E/∂z_h(t) and "definition_14",
    "definition_15" = the paper's definitions of δ_x and δ_zz read literally);
    ``gradients``: total gradients (w_iota, w_phi, w_omega, W_c, x, z_h0, s0);
    ``forward_error``: relative difference between the graph's forward and the numpy one.
    """

    fwd: paper.Forward
    steps: list
    gradients: dict
    forward_error: dict


def autodiff_truth(params, xs, ys, z_h0, s0, acts=None):
    """Build PaperLSTM on this case, run backward once, and read off the true quantities."""
    acts = paper.activations(**(acts or {}))
    N, T = np.shape(xs)[1], len(xs)
    D = np.shape(params["W_c"])[1]
    cell = PaperLSTM(N, D, **{f"f_{gate}": name for gate, name in acts.items()})
    cell.set_parameters(params)
    x_nodes = [tg.parameter(x, name="x") for x in xs]
    init = {"z_h0": tg.parameter(z_h0, name="z_h0"), "s0": tg.parameter(s0, name="s0")}
    run = cell.unroll(x_nodes, initial_state=init)
    loss = mse(run, ys)

    s_nodes = [init["s0"]] + [step["s"] for step in run.steps]          # s(0..T)
    z_nodes = [init["z_h0"]] + [step["z_h"] for step in run.steps]      # z_h(0..T)
    tracked = {node: ("s", t) for t, node in enumerate(s_nodes)}
    tracked.update({node: ("z_h", t) for t, node in enumerate(z_nodes)})
    tracked.update({node: (key, None) for key, node in cell.parameters().items()})
    full, parts = {}, defaultdict(float)
    for step in tg.backward_steps(loss, accumulate=False):
        full[step.node] = step.grad
        for parent, sent in zip(step.node.inputs, step.input_grads):
            if sent is not None and parent in tracked:
                key = (tracked[parent], tg.step_of(step.node))
                parts[key] = parts[key] + sent          # a new array: never add into backward's own

    def part(what, by):
        value = parts.get((what, by))
        return np.zeros(D) if value is None else np.asarray(value, dtype=float)

    fwd = paper.forward(params, xs, z_h0, s0, acts)
    steps = []
    for t in range(1, T + 1):
        nodes = run.steps[t - 1]
        truth = {key: np.asarray(full[nodes[name]]) for key, name in _NODE_OF.items()}
        truth["direct"] = part(("z_h", t), None)
        truth["delta_s_to_t"] = part(("s", t), t)
        truth["delta_s_from_next"] = part(("s", t), t + 1)
        truth["delta_s_to_prev"] = part(("s", t - 1), t)
        truth["delta_zz_to_prev"] = part(("z_h", t - 1), t)
        truth["delta_x"] = np.asarray(full[x_nodes[t - 1]])
        for key, term in _TERM_OF.items():
            truth[term] = np.asarray(parts[(key, None), t])
        # Eqs. 14 and 15 read literally: ∂E/∂z_h(t) times the Jacobian of z_h(t) alone.
        truth["definition_14"], truth["definition_15"] = tg.grad(
            nodes["z_h"], [x_nodes[t - 1], z_nodes[t - 1]], grad=truth["delta_z_h"])
        steps.append(truth)
    gradients = {key: np.asarray(full[node]) for key, node in cell.parameters().items()}
    gradients["x"] = np.array([full[x] for x in x_nodes])
    gradients["z_h0"], gradients["s0"] = np.asarray(full[init["z_h0"]]), np.asarray(full[init["s0"]])
    forward_error = {key: relative_error([run.steps[t][name].value for t in range(T)],
                                         [fwd.steps[t][key] for t in range(T)])
                     for key, name in _FORWARD_NAMES.items()}
    if max(forward_error.values()) > TOLERANCE:
        raise RuntimeError(f"errata: lstm.paper.forward and PaperLSTM compute different forwards: {forward_error}")
    return Truth(fwd, steps, gradients, forward_error)


# --- the errata records: lstm/data/errata.toml, the one source ---------------------------

KINDS = ("numbers", "derivation", "notation", "transcription", "ok")
"""The kinds of finding, most severe first: the printed formula computes wrong numbers; a
step of the derivation is false while the final formula is right; a slip of notation; an
artefact of our copy of the text (not the paper's slip); right as printed."""

KIND_NAMES = {"numbers": "computes wrong numbers", "derivation": "a false derivation step, the final formula right",
              "notation": "a notation slip, the numbers right", "transcription": "not the paper's slip: our copy's",
              "ok": "right as printed"}

RECORDS_PATH = Path(__file__).with_name("data") / "errata.toml"


@dataclass(frozen=True)
class Finding:
    """One thing wrong with an equation: its ``kind`` (one of ``KINDS`` but "ok") and the
    reason in plain words."""

    kind: str
    text: str


@dataclass(frozen=True)
class Entry:
    """One checked equation, as recorded in lstm/data/errata.toml: ``role`` is "formula"
    (the backward computes with it), "definition" (a "not." line), "symbol" (only its
    notation can be wrong) or "order"; ``findings`` say what is wrong; ``measured`` says
    what the error columns compare, where that is not the obvious."""

    equation: str
    quantity: str
    role: str
    printed: str
    corrected: str
    findings: tuple = ()
    measured: str = ""
    printed_tex: str = ""
    corrected_tex: str = ""


@dataclass(frozen=True)
class Records:
    """Everything lstm/data/errata.toml holds: the equations, the conventions stated once
    (name -> text) and the choices the as-printed backward makes."""

    equations: tuple
    conventions: dict
    choices: tuple


def load_records(path=RECORDS_PATH):
    """Read and check the errata records (a clear error names the record that is wrong)."""
    with open(path, "rb") as file:
        data = tomllib.load(file)
    equations = []
    for raw in data.get("equation", []):
        raw = dict(raw)
        findings = tuple(Finding(**f) for f in raw.pop("finding", []))
        raw["equation"] = raw.pop("number", None)
        unknown = set(raw) - set(Entry.__dataclass_fields__)
        if unknown:
            raise ValueError(f"{path}: equation {raw['equation']}: unknown fields {sorted(unknown)}")
        entry = Entry(findings=findings, **raw)
        bad = [f.kind for f in findings if f.kind not in KINDS[:-1]]
        if bad or entry.role not in ("formula", "definition", "symbol", "order"):
            raise ValueError(f"{path}: equation {entry.equation}: unknown kind {bad} or role {entry.role!r}")
        equations.append(entry)
    return Records(tuple(equations), {c["name"]: c["text"] for c in data.get("convention", [])},
                   tuple(c["text"] for c in data.get("choice", [])))


RECORDS = load_records()
CATALOG = RECORDS.equations
"""Every equation the report checks, in the paper's order."""

ENTRY = {entry.equation: entry for entry in CATALOG}


# --- evaluating the equations on the true upstream quantities -----------------------------

def relative_error(values, truth):
    """max|values − truth| / max|truth| (the absolute error when truth is all zero)."""
    values, truth = np.asarray(values, dtype=float), np.asarray(truth, dtype=float)
    error = float(np.max(np.abs(values - truth))) if truth.size else 0.0
    scale = float(np.max(np.abs(truth))) if truth.size else 0.0
    return error / scale if scale > 0 else error


def _context(truth, t, needs):
    """A ``paper.Context`` for step t holding the TRUE values of ``needs`` (and of step
    t+1's quantities, for eq. 17)."""
    fwd, T = truth.fwd, truth.fwd.T
    deltas = {key: truth.steps[t - 1][key] for key in needs if not key.startswith("next_")}
    if t < T:
        nxt, nxt_fwd = truth.steps[t], fwd.steps[t]
        deltas.update(next_delta_g_phi=nxt["delta_g_phi"], next_delta_g_iota=nxt["delta_g_iota"],
                      next_delta_s=nxt["delta_s"], next_a_phi=nxt_fwd["a_phi"], next_a_iota=nxt_fwd["a_iota"],
                      next_g_phi=nxt_fwd["g_phi"])
    else:                                       # after the last step nothing flows back
        deltas.update(next_delta_g_phi=0.0, next_delta_g_iota=0.0, next_delta_s=np.zeros(fwd.D),
                      next_a_phi=0.0, next_a_iota=0.0, next_g_phi=0.0)
    return paper.Context(fwd, t, **deltas)


# The equations whose derivation has a false intermediate step: the step read literally is
# the paper's definition through z_h(t) alone (eq. 14 for δ_x, 15 for δ_zz), whose true
# value autodiff gives; the final formula is the last line of eq. 31 or 32.
_DERIVATION = {"14": ("delta_x", "31"), "15": ("delta_zz_to_prev", "32"),
               "31": ("delta_x", "31"), "32": ("delta_zz_to_prev", "32")}
_DEFINITION_OF = {"delta_x": "definition_14", "delta_zz_to_prev": "definition_15"}


def _evaluate(entry, truth):
    """The errors of ``entry`` on one case: a dict with "printed" (None: no formula of its
    own), "corrected", "step" (a derivation step read literally, or None) and "split"
    (eq. 17's two groups against the graph's split)."""
    T = truth.fwd.T
    steps = range(1, T + 1)
    found = {"printed": None, "corrected": None, "step": None, "split": {}}
    if entry.equation in _DERIVATION:
        quantity, last_line = _DERIVATION[entry.equation]
        true = [truth.steps[t - 1][quantity] for t in steps]
        found["step"] = relative_error([truth.steps[t - 1][_DEFINITION_OF[quantity]] for t in steps], true)
    if entry.role == "formula" and entry.equation in paper.EQUATIONS:
        eq = paper.EQUATIONS[entry.equation]
        need = set(eq.needs) | set(eq.needs_as_printed)
        contexts = [_context(truth, t, need) for t in steps]
        true = [truth.steps[t - 1][eq.quantity] for t in steps]
        found["printed"] = relative_error([eq.printed(c) for c in contexts], true)
        found["corrected"] = relative_error([eq.corrected(c) for c in contexts], true)
        if entry.equation == "17":
            parts = [paper.eq17_parts(c) for c in contexts]
            found["split"] = {
                "through z_h(t)": relative_error([p[0] for p in parts],
                                                 [truth.steps[t - 1]["delta_s_to_t"] for t in steps]),
                "through step t+1": relative_error([p[1] for p in parts],
                                                   [truth.steps[t - 1]["delta_s_from_next"] for t in steps])}
            found["corrected"] = max(found["corrected"], *found["split"].values())
    elif entry.role == "definition":            # eqs. 14, 15: computed by eq. 31's / 32's last line
        found["corrected"] = _evaluate(ENTRY[_DERIVATION[entry.equation][1]], truth)["corrected"]
    elif entry.equation in ("1", "2"):          # the forward: numpy (reading ι) against the graph
        found["corrected"] = truth.forward_error["a_iota" if entry.equation == "1" else "g_iota"]
    elif entry.equation in ("11", "12"):        # Σ_t of the graph's per-step terms against the total
        keys = ("w_omega", "w_phi", "w_iota") if entry.equation == "11" else ("W_c",)
        found["corrected"] = max(relative_error(sum(truth.steps[t - 1][_TERM_OF[k]] for t in steps),
                                                truth.gradients[k]) for k in keys)
    elif entry.role == "order":
        corrected = paper.backward(truth.fwd, [s["direct"] for s in truth.steps], "corrected").gradients
        found["corrected"] = max(relative_error(corrected[k], truth.gradients[k]) for k in truth.gradients)
    else:
        raise ValueError(f"errata: no evaluation for equation {entry.equation!r}")
    return found


def order_problems():
    """Quantities some equation of the order of computation reads before they are
    computed (an empty list when the order is right)."""
    known, problems = set(paper.GIVEN_PER_STEP), []
    for number in paper.ORDER_OF_COMPUTATION:
        eq = paper.EQUATIONS[number]
        for need in sorted(set(eq.needs) | set(eq.needs_as_printed)):
            if need not in known:
                problems.append(f"eq. {number} reads {need} before it is computed")
        known.add(eq.quantity)
    return problems


# --- the report ---------------------------------------------------------------------------------

@dataclass
class Row:
    """One line of the report (``to_json`` gives the documented dictionary). ``findings``:
    the recorded findings that hold in the configurations checked."""

    equation: str
    quantity: str
    kind: str
    printed_rel_error: float
    corrected_rel_error: float
    note: str
    printed: str
    corrected: str
    printed_errors: list = field(default_factory=list)     # per configuration (None: not a formula)
    step_rel_error: float = None
    findings: tuple = ()

    def to_json(self):
        return {"equation": self.equation, "quantity": self.quantity, "kind": self.kind,
                "printed_rel_error": self.printed_rel_error, "corrected_rel_error": self.corrected_rel_error,
                "step_rel_error": self.step_rel_error, "note": self.note, "printed": self.printed,
                "corrected": self.corrected}


def _largest(values):
    values = [v for v in values if v is not None]
    return max(values) if values else None


def _row(entry, results, configs):
    printed_errors = [r["printed"] for r in results]
    printed, step = _largest(printed_errors), _largest(r["step"] for r in results)
    corrected = max(r["corrected"] for r in results)
    wrong = {"numbers": printed is not None and printed > TOLERANCE,
             "derivation": step is not None and step > TOLERANCE}
    holds = tuple(f for f in entry.findings if wrong.get(f.kind, True))
    if entry.role == "order":
        problems = order_problems()
        kind = "numbers" if problems else "ok"
        note = ("; ".join(problems) if problems else
                "every equation reads only what the step is given or what an earlier equation computed "
                "(the corrected eq. 21 needs δ_gω, which comes first); corrected error: the whole corrected "
                "backward run in this order")
        return Row(entry.equation, entry.quantity, kind, printed, corrected, note, entry.printed, entry.corrected,
                   printed_errors, step, holds)
    if wrong["numbers"] and entry.role == "formula":
        kind = "numbers"
        if not any(f.kind == "numbers" for f in holds):
            holds = (Finding("numbers", "computes wrong numbers, and lstm/data/errata.toml does not say why"),) + holds
    else:
        kind = next((k for k in KINDS if any(f.kind == k for f in holds)), "ok")
    note = "; ".join([f.text for f in sorted(holds, key=lambda f: KINDS.index(f.kind))]
                     + ([entry.measured] if entry.measured else []))
    split = {}
    for r in results:
        for name, err in r["split"].items():
            split[name] = max(split.get(name, 0.0), err)
    if split:
        note += ("; its two groups match the graph's split of ∂E/∂s(t) by consuming step: "
                 + ", ".join(f"{name} {err:.1e}" for name, err in split.items()))
    if wrong["numbers"]:
        agree = [c.label() for c, e in zip(configs, printed_errors) if e <= TOLERANCE]
        if agree:
            note += f" (the printed form agrees in {len(agree)} of {len(configs)} configurations: " \
                    f"{'; '.join(agree)})"
    return Row(entry.equation, entry.quantity, kind, printed, corrected, note or "agrees", entry.printed,
               entry.corrected, printed_errors, step, holds)


END_TO_END_VERSIONS = (("as printed", "as_printed", ()), ("21-22 fixed", "as_printed", ("21",)),
                       ("25 fixed", "as_printed", ("25",)), ("corrected", "corrected", ()))
"""The whole backward as printed, with one correction at a time, and corrected."""

END_TO_END_NAMES = {"w_iota": "∂E/∂w_ι", "w_phi": "∂E/∂w_φ", "w_omega": "∂E/∂w_ω", "W_c": "∂E/∂W_c",
                    "x": "∂E/∂x(t)", "z_h0": "∂E/∂z_h(0)", "s0": "∂E/∂s(0)"}


@dataclass
class BlogCheck:
    """BlogLSTM's closed form (``lstm.closed_form``) against autodiff: key -> max relative
    error over the cases, and the loss's difference."""

    errors: dict
    loss_error: float
    cases: list

    @property
    def ok(self):
        return max(self.errors.values()) <= TOLERANCE and self.loss_error <= TOLERANCE


def check_blog(cases=((3, 2, 4, 5), (1, 5, 2, 8)), seed=0):
    """Compare BlogLSTM's closed-form gradients with autodiff under the project's softmax
    cross-entropy, for cases (d, h, r, T) with random parameters and initial state."""
    errors, loss_error = {}, 0.0
    for d, h, r, T in cases:
        rng = np.random.default_rng([seed, d, h, r, T])
        cell = BlogLSTM(d, h)
        params = {k: rng.standard_normal(p.shape) * 0.6 for k, p in cell.parameters().items()}
        cell.set_parameters(params)
        X, H0, C0 = rng.standard_normal((T, r, d)), rng.standard_normal((r, h)), rng.standard_normal((r, h))
        targets = rng.integers(0, h, size=(T, r))
        x_nodes = [tg.parameter(x, name="X") for x in X]
        init = {"H0": tg.parameter(H0, name="H0"), "C0": tg.parameter(C0, name="C0")}
        loss = ce(cell.unroll(x_nodes, initial_state=init), targets)
        nodes = list(cell.parameters().values()) + [init["H0"], init["C0"]] + x_nodes
        auto = dict(zip(list(params) + ["H0", "C0"], tg.grad(loss, nodes)))
        auto["X"] = np.array(tg.grad(loss, x_nodes))
        fwd = closed_form.forward(params, X, H0, C0)
        value, dH = closed_form.softmax_cross_entropy(fwd.outputs, targets)
        closed = closed_form.backward(fwd, dH)
        loss_error = max(loss_error, abs(value - loss.item()) / abs(loss.item()))
        for key, true in auto.items():
            errors[key] = max(errors.get(key, 0.0), relative_error(closed[key], true))
    return BlogCheck(errors, loss_error, list(cases))


@dataclass
class CheckResult:
    """Everything ``run_check`` found. ``ok``: the corrected closed forms (every
    equation in isolation, the whole backward, BlogLSTM's) equal autodiff."""

    rows: list
    end_to_end: dict            # key -> max relative error per END_TO_END_VERSIONS
    configs: list
    blog: BlogCheck = None
    as_printed: list = field(default_factory=list)     # per configuration: key -> as-printed error

    def counts(self):
        """kind -> the equations of that kind, for every kind of ``KINDS``."""
        return {kind: [r.equation for r in self.rows if r.kind == kind] for kind in KINDS}

    @property
    def ok(self):
        return (all(row.corrected_rel_error <= TOLERANCE for row in self.rows)
                and all(errors[-1] <= TOLERANCE for errors in self.end_to_end.values())
                and (self.blog is None or self.blog.ok))

    def to_json(self):
        """The report as a list of dicts, one per equation (see ``Row.to_json``)."""
        return [row.to_json() for row in self.rows]

    def format_table(self):
        """The report as text: the table, each erratum in full, the whole backward, BlogLSTM."""
        return format_result(self)


WIDTH = 100
"""Line width of the text report."""


def _fmt(value):
    return "—" if value is None else f"{value:.1e}"


def summary_line(result):
    """How many equations are of each kind, in one sentence."""
    counts = result.counts()
    words = {"numbers": "compute wrong numbers", "derivation": "have a false derivation step but a right final "
             "formula", "notation": "have notation slips only", "transcription": "differ only by artefacts of our "
             "copy of the text", "ok": "are right as printed"}
    parts = [f"{len(eqs)} {words[kind]} ({', '.join(eqs)})" for kind, eqs in counts.items() if eqs]
    return "; ".join(parts) + f"; {len(RECORDS.conventions)} conventions are stated once and not counted."


def _wrapped(label, text):
    return textwrap.wrap(text, width=WIDTH, initial_indent=f"  {label:<11}", subsequent_indent=" " * 13,
                         break_on_hyphens=False)


def format_result(result):
    lines = ["The paper's closed-form deltas (eqs. 17-32) against autodiff of PaperLSTM",
             "Each equation is fed the TRUE upstream gradients (from autodiff) and its result is compared",
             "with the TRUE value of its left-hand side; error = max|formula − truth| / max|truth| over all",
             f"steps of {len(result.configs)} random float64 configurations:"]
    lines += [f"  {c.label()}" for c in result.configs]
    lines += ["", f"{'eq':<7}{'kind':<15}{'printed':>9}{'step':>9}{'corrected':>11}  quantity",
              f"{'-' * 7}{'-' * 15}{'-' * 9}{'-' * 9}{'-' * 11}  {'-' * 40}"]
    for row in result.rows:
        lines.append(f"{row.equation:<7}{row.kind:<15}{_fmt(row.printed_rel_error):>9}{_fmt(row.step_rel_error):>9}"
                     f"{_fmt(row.corrected_rel_error):>11}  {row.quantity}")
    lines += [""] + textwrap.wrap("kind: " + "; ".join(f"{k} = {v}" for k, v in KIND_NAMES.items()) + ".",
                                  width=WIDTH)
    lines += ["printed: the printed formula; step: a derivation step read literally (eqs. 14-15 and the middle",
              "lines of 31-32); corrected: the corrected formula. '—': nothing to evaluate.", "",
              "What is printed, what is correct, and why:"]
    for row in result.rows:
        if row.kind == "ok":
            continue
        lines += ["", f"eq. {row.equation} [{row.kind}] {row.quantity}"]
        for label, text in (("printed:", row.printed), ("corrected:", row.corrected), ("why:", row.note)):
            lines += _wrapped(label, text)
    lines += ["", "Conventions of the paper, stated once (not counted as slips):"]
    for name, text in RECORDS.conventions.items():
        lines += _wrapped("-", f"{name}: {text}")
    lines += ["", "The whole backward through time (eqs. 19-32 in the order of computation) against autodiff,",
              "as printed, with only one of the two corrections, and corrected:",
              f"{'gradient':<14}" + "".join(f"{label:>13}" for label, _, _ in END_TO_END_VERSIONS)]
    for key, errors in result.end_to_end.items():
        lines.append(f"{END_TO_END_NAMES[key]:<14}" + "".join(f"{e:>13.1e}" for e in errors))
    if result.blog is not None:
        lines += ["", "BlogLSTM: closed-form BPTT (lstm.closed_form) against autodiff, softmax cross-entropy,",
                  "cases (d, h, r, T) = " + ", ".join(str(c) for c in result.blog.cases) + ":"]
        keys = list(result.blog.errors)
        for start in range(0, len(keys), 5):
            lines.append("  " + "   ".join(f"{k} {result.blog.errors[k]:.1e}" for k in keys[start:start + 5]))
        lines.append(f"  loss {result.blog.loss_error:.1e}")
    worst = max([r.corrected_rel_error for r in result.rows] + [e[-1] for e in result.end_to_end.values()]
                + (list(result.blog.errors.values()) if result.blog else []))
    lines += [""] + textwrap.wrap(summary_line(result), width=WIDTH)
    lines += [f"{'OK' if result.ok else 'FAILED'}: the corrected closed forms "
              f"{'match' if result.ok else 'do NOT match'} autodiff (largest relative error {worst:.1e}, "
              f"tolerance {TOLERANCE:.0e})."]
    return "\n".join(lines)


def run_check(configs=DEFAULT_CONFIGS, seed=0, blog=True):
    """Check every equation of ``CATALOG`` and the whole backward on ``configs``; with
    ``blog`` also BlogLSTM's closed form. Returns a ``CheckResult``."""
    configs = list(configs)
    truths = []
    for config in configs:
        case = random_case(config, seed)
        truths.append(autodiff_truth(acts=dict(config.acts), **case))
    rows = [_row(entry, [_evaluate(entry, truth) for truth in truths], configs) for entry in CATALOG]
    end_to_end = {key: [0.0] * len(END_TO_END_VERSIONS) for key in END_TO_END_NAMES}
    as_printed = []
    for truth in truths:
        direct = [s["direct"] for s in truth.steps]
        for i, (_, version, fixes) in enumerate(END_TO_END_VERSIONS):
            grads = paper.backward(truth.fwd, direct, version, fixes).gradients
            errors = {key: relative_error(grads[key], truth.gradients[key]) for key in end_to_end}
            for key in end_to_end:
                end_to_end[key][i] = max(end_to_end[key][i], errors[key])
            if i == 0:
                as_printed.append(errors)
    end_to_end = {key: tuple(v) for key, v in end_to_end.items()}
    return CheckResult(rows, end_to_end, configs, check_blog(seed=seed) if blog else None, as_printed)


def to_json_text(result):
    """The JSON the command line prints with ``--json``."""
    return json.dumps(result.to_json(), indent=2, ensure_ascii=False)
