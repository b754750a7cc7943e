"""Step through backward one node at a time, in Jupyter or anywhere else.

>>> import tinygraph as tg
>>> from tinygraph.notebook import Stepper
>>> a = tg.parameter(2.0, name="a"); b = tg.parameter(3.0, name="b")
>>> y = (a * b + a).named("y")
>>> stepper = Stepper(y)
>>> [view.node.label() for view in stepper]          # backward order, root first
['y', 'mul', 'b', 'a']
>>> stepper.gradient(a)                                # ∂y/∂a = b + 1
array(4.)

In a notebook, a cell ending in ``stepper`` shows the drawn graph with the current
step highlighted and, beside it, the step's numbers, with previous / next buttons and
a slider (ipywidgets). Without ipywidgets, or outside Jupyter, the stepper is a plain
sequence of ``StepView`` objects: ``stepper[i]`` shows step ``i`` (SVG drawing and
numbers as HTML), ``stepper.svg(i)`` is the drawing, ``stepper.details(i)`` the numbers,
``str(stepper[i])`` a text summary. Everything the widget shows comes from these
functions, so a notebook run headless (or a test) exercises exactly the same code.

Going back does not add gradients twice: the stepper runs ``backward_steps`` once,
up front, with ``accumulate=False``. It records every step and never writes ``.grad``;
moving between steps only shows recorded numbers. The gradients it records are the
ones ``tg.backward(root)`` would accumulate into ``.grad`` on a fresh graph (the same
generator computes both), and ``stepper.gradient(node)`` returns them.

Notation: ``\\bar v`` is ∂L/∂v, the gradient of the loss with respect to ``v``
(the adjoint). An op's ``rule`` is written for inputs ``a, b`` (or ``x``) and
output ``y``; the stepper writes it out with the graph's own node names.
"""
import html
import re
from dataclasses import dataclass

import numpy as np

from .backprop import backward_steps
from .node import Node

__all__ = ["StepDetails", "StepView", "Stepper", "format_array", "latex_name", "plain_rule", "written_rule"]


# --- how names, rules and numbers are written ------------------------------------

_GREEK = {"α": r"\alpha", "β": r"\beta", "γ": r"\gamma", "δ": r"\delta", "ε": r"\epsilon", "η": r"\eta",
          "θ": r"\theta", "ι": r"\iota", "κ": r"\kappa", "λ": r"\lambda", "μ": r"\mu", "ν": r"\nu", "ξ": r"\xi",
          "π": r"\pi", "ρ": r"\rho", "σ": r"\sigma", "τ": r"\tau", "φ": r"\phi", "χ": r"\chi", "ψ": r"\psi",
          "ω": r"\omega", "Γ": r"\Gamma", "Δ": r"\Delta", "Θ": r"\Theta", "Λ": r"\Lambda", "Π": r"\Pi",
          "Σ": r"\Sigma", "Φ": r"\Phi", "Ψ": r"\Psi", "Ω": r"\Omega"}
_FUNCTIONS = {"tanh": r"\tanh", "exp": r"\exp", "log": r"\log", "σ": r"\sigma"}
_NAME_TOKEN = re.compile(r"(\s*)(?:(?P<id>[^\W\d_]+(?:_?\d+|_[^\W_]+)?)|(?P<num>\d+(?:\.\d+)?)"
                         r"|(?P<op>[-+×−;,()\[\]]))")
_OPS = {"×": r"\times ", "−": " - ", "-": " - ", "+": " + ", ";": r";\,", ",": ",",
        "(": "(", ")": ")", "[": "[", "]": "]"}


def _greek(text):
    return "".join(_GREEK[ch] + " " if ch in _GREEK else ch for ch in text).rstrip()


def _identifier(token, followed_by_bracket):
    """``C_t`` -> ``C_{t}``, ``H0`` -> ``H_{0}``, ``g_ι`` -> ``g_{\\iota}``, ``tanh(`` -> ``\\tanh``;
    None for a lower-case word that is not a variable (``mul``)."""
    if followed_by_bracket and token in _FUNCTIONS:
        return _FUNCTIONS[token]
    base, _, sub = token.partition("_")
    if not sub:
        match = re.fullmatch(r"(\D+?)(\d+)", token)
        base, sub = match.groups() if match else (token, "")
    if len(base) > 1 and base.islower():
        return None
    return f"{_greek(base)}_{{{_greek(sub)}}}" if sub else _greek(base)


def _name_latex(name):
    """(LaTeX, compound) for a node name read as the texts' notation: ``X W_ix + b_i`` ->
    ``X\\,W_{ix} + b_{i}``; compound says it needs brackets as an operand. None when the name
    is not such an expression."""
    tokens, pos = [], 0
    while pos < len(name):
        match = _NAME_TOKEN.match(name, pos)
        if match is None or match.end() == pos:
            return None if name[pos:].strip() else (tokens and _join(tokens))
        kind = match.lastgroup
        tokens.append((kind, match.group(kind), bool(match.group(1))))
        pos = match.end()
    return _join(tokens) if tokens else None


def _join(tokens):
    out, depth, compound = [], 0, False
    for k, (kind, text, spaced) in enumerate(tokens):
        if kind == "op":
            if text in "([":
                depth += 1
            elif text in ")]":
                depth -= 1
            elif depth == 0:
                compound = True                 # a top-level +, −, ×, ; or ,
            out.append(_OPS[text])
            continue
        after = tokens[k + 1][1] if k + 1 < len(tokens) else ""
        latex = text if kind == "num" else _identifier(text, after == "(")
        if latex is None:
            return None
        if k and spaced and tokens[k - 1][0] != "op":          # juxtaposition: a product
            out.append(r"\,")
            compound |= depth == 0
        out.append(latex)
    return "".join(out).strip(), compound


def latex_name(name):
    """A node name as LaTeX in the texts' notation: ``C_t`` -> ``C_{t}``, ``H0`` -> ``H_{0}``,
    ``g_ι`` -> ``g_{\\iota}``, ``F×C`` -> ``F\\times C``, ``X W_ix + b_i`` -> ``X\\,W_{ix} + b_{i}``,
    ``tanh(C_t)`` -> ``\\tanh(C_{t})``; anything else (``mul``, ``?``) as upright text."""
    if re.fullmatch(r"-?\d+(\.\d*)?(e-?\d+)?", name):
        return name
    parsed = _name_latex(name)
    if parsed:
        return parsed[0]
    escaped = re.sub(r"([#$%&_{}])", r"\\\1", name).replace("~", r"\textasciitilde{}").replace("^", r"\^{}")
    return rf"\text{{{escaped}}}"


def node_name(node):
    """The name a step shows for ``node``: its own name, else the op that made it (a
    nameless constant by its value)."""
    if node.name:
        return node.name
    if node.op is None and node.size == 1:
        return f"{node.value.item():g}"
    return node.label()


def _where(node):
    """``C_t`` or, for a node inside scopes, ``C_t [t=1]``: tells apart the steps of an unrolled graph."""
    return f"{node_name(node)} [{'/'.join(node.scope)}]" if node.scope else node_name(node)


def _shape(node):
    """``scalar`` or ``2×3``, as the drawings write shapes."""
    return "×".join(map(str, node.shape)) if node.ndim else "scalar"


def _bar(node):
    return rf"\overline{{{latex_name(node_name(node))}}}"


def _operand(node):
    """A node's name where it stands as an operand: bracketed when it is an expression."""
    parsed = _name_latex(node_name(node))
    if parsed:
        return f"({parsed[0]})" if parsed[1] else parsed[0]
    return latex_name(node_name(node))


# \bar a / \bar y and bare one-letter operands; \text{...} and \mathrm{...} are left alone.
_RULE_TOKEN = re.compile(r"\\bar\s*([A-Za-z])(?![A-Za-z])|\\(?:text|mathrm|operatorname)\{[^}]*\}|\\[A-Za-z]+|"
                         r"(?<![A-Za-z])([A-Za-z])(?![A-Za-z])")


def written_rule(node):
    """The rule of ``node``'s op (its vector-Jacobian product, LaTeX) with the graph's names
    put in for the op's formal inputs and output.

    For ``F×C = F × C0``, the rule ``\\bar a = \\bar y \\odot b`` is written
    ``\\overline{F} = \\overline{\\text{F×C}} \\odot C_{0}``. Concatenation is written slice
    by slice (``op.adjoint_slices``). Returns ``""`` for a leaf. The letters replaced are the
    ones the op declares: ``op.operands``, ``op.output`` and ``op.rule_constants()``.
    """
    op = node.op
    if op is None:
        return ""
    inputs = node.inputs
    slices = op.adjoint_slices(node)            # concat, stack: each input gets a slice of ȳ
    if slices is not None:
        return r",\quad ".join(rf"{_bar(inputs[i])} = {_bar(node)}[{index}]"
                                for i, index in slices if inputs[i].requires_grad)
    if op.variadic or len(op.operands) != len(inputs):
        return op.rule
    formals = op.operands
    names = {f: _operand(n) for f, n in zip(formals, inputs)}
    bars = {f: _bar(n) for f, n in zip(formals, inputs)}
    out = _operand(node)
    names[op.output] = out
    bars[op.output] = _bar(node)
    names.update(op.rule_constants())

    def substitute(match):
        barred, bare = match.group(1), match.group(2)
        if barred:
            return bars.get(barred, match.group(0))
        if bare:
            value = names.get(bare, bare)
            if value == bare:
                return bare
            text, start, end = match.string, match.start(), match.end()
            if value.startswith("(") and text[start - 1:start] == "(" and text[end:end + 1] == ")":
                value = value[1:-1]                     # σ(x) -> σ(a + b), not σ((a + b))
            return f"{{{value}}}"
        return match.group(0)

    return _RULE_TOKEN.sub(substitute, op.rule)


_PLAIN = [(r"\\(?:text|mathrm)\{([^}]*)\}", r"\1"),
          (r"\\odot", "⊙"), (r"\\top", "ᵀ"), (r"\^2", "²"), (r"\\quad", "   "), (r"\\,", " "),
          (r"\\sigma", "σ"), (r"\\tanh", "tanh"), (r"\\iota", "ι"), (r"\\phi", "φ"), (r"\\omega", "ω"),
          (r"\\delta", "δ"), (r"\\sum", "Σ"), (r"\\prod", "∏"), (r"\\cdot", "·"), (r"\\times\s*", "×"),
          (r"\\partial", "∂"), (r"\\(?:textstyle|displaystyle|left|right|big|Big)", ""), (r"\\ ", " "),
          (r"\^ᵀ", "ᵀ"), (r"\\bar\s*", "∂L/∂"), (r"\\([#$%&_{}^])", r"\1"), (r"[{}]", ""), (r"\\", "")]
_BARRED = re.compile(r"\\overline\{((?:[^{}]|\{(?:[^{}]|\{[^{}]*\})*\})*)\}")


def _plain(latex):
    for pattern, repl in _PLAIN:
        latex = re.sub(pattern, repl, latex)
    return latex


def plain_rule(latex):
    """A rule in LaTeX as plain text: ``\\overline{v} = \\overline{L} \\odot (1 - \\tanh^2 {v})``
    -> ``∂L/∂v = ∂L/∂L ⊙ (1 - tanh² v)``; an expression after ∂L/∂ is bracketed."""
    def gradient(match):
        inner = _plain(match.group(1)).strip()
        simple = re.fullmatch(r"[^\W\d]\w*|\[.*\]|\(.*\)", inner)
        return "∂L/∂" + (inner if simple else f"({inner})")

    text = _plain(_BARRED.sub(gradient, latex))
    text = re.sub(r" +(?=[)\]])", "", re.sub(r"\s*,\s*(?=∂L)", ",  ", text))
    return re.sub(r"  +(?!∂)", " ", text).strip()


def format_array(a, max_items=24, precision=4):
    """Numbers as a student reads them: the whole array when small, else its shape,
    norm, range and first entries."""
    a = np.asarray(a) + 0.0                 # + 0.0 turns −0 into 0
    if a.size <= max_items:
        with np.printoptions(precision=precision, suppress=True, linewidth=72):
            return np.array2string(a, separator=", ") if a.ndim else f"{a.item():.{precision + 2}g}"
    flat = a.ravel()
    with np.printoptions(precision=precision, suppress=True, linewidth=72):
        head = np.array2string(flat[:6], separator=", ")[:-1] + ", ...]"
    return (f"shape {a.shape}, ‖·‖ = {np.linalg.norm(flat):.{precision}g}, "
            f"range [{flat.min():.{precision}g}, {flat.max():.{precision}g}], first {head}")


# --- one step, as data -----------------------------------------------------------

@dataclass(frozen=True)
class StepDetails:
    """Everything a step shows, as plain data.

    ``incoming`` lists the parts of ``grad`` sent by each consumer of the node, as
    ``(consumer, argument position, gradient)``; they add up to ``grad`` (the root has
    none: its gradient is the seed). ``outgoing`` pairs each input with the gradient the
    op sends it (None for an input that needs no gradient; empty for a leaf).
    """

    index: int
    total: int
    node: Node
    grad: np.ndarray
    incoming: tuple
    rule: str
    written_rule: str
    outgoing: tuple

    @property
    def kind(self):
        node = self.node
        if node.op is not None:
            return f"computed by {node.op.describe()} ({node.op.symbol})"
        return "parameter (a leaf: its gradient is final)" if node.requires_grad else "constant"

    def text(self):
        """A plain-text summary (for terminals and logs)."""
        def numbers(g, indent):                  # a matrix's later rows under its first
            return format_array(g).replace("\n", "\n" + " " * indent)

        head = f"  gradient flowing in  {plain_rule(_bar(self.node))} = "
        lines = [f"step {self.index + 1}/{self.total}: {_where(self.node)} ({_shape(self.node)}), {self.kind}",
                 head + numbers(self.grad, len(head))]
        for consumer, position, g in self.incoming:
            head = f"    from {_where(consumer)} (argument {position + 1}): "
            lines.append(head + numbers(g, len(head)))
        if self.rule:
            lines.append(f"  rule: {plain_rule(self.written_rule)}")
        for parent, g in self.outgoing:
            head = f"  sends to {_where(parent)} ({_shape(parent)}): "
            lines.append(head + ("no gradient (constant)" if g is None else numbers(g, len(head))))
        return "\n".join(line.rstrip() for line in "\n".join(lines).splitlines())

    def html(self):
        """The numbers as HTML with inline LaTeX ($...$), as shown beside the drawing."""
        name = html.escape(_where(self.node))
        bar = _bar(self.node)
        pre = 'style="margin:2px 0 6px 0; font-size:90%"'
        parts = [f"<h4 style='margin:0'>step {self.index + 1} of {self.total}: <code>{name}</code> "
                 f"<small>{_shape(self.node)}, {html.escape(self.kind)}</small></h4>",
                 f"<p style='margin:6px 0 0 0'><b>gradient flowing in</b> ${bar} = \\partial L / \\partial "
                 f"{_operand(self.node)}$</p><pre {pre}>{html.escape(format_array(self.grad))}</pre>"]
        if not self.incoming:
            parts.append("<p style='margin:0'><i>the root: backward starts here with the seed "
                         "gradient ∂L/∂L</i></p>")
        elif len(self.incoming) > 1:
            parts.append(f"<p style='margin:0'>the sum of {len(self.incoming)} parts, one per use:</p><ul>")
            for consumer, position, g in self.incoming:
                parts.append(f"<li>from <code>{html.escape(_where(consumer))}</code> (argument {position + 1}): "
                             f"<pre {pre}>{html.escape(format_array(g))}</pre></li>")
            parts.append("</ul>")
        if self.rule:
            parts.append(f"<p style='margin:6px 0 0 0'><b>rule</b> of {html.escape(self.node.op.describe())}: "
                         f"${self.rule}$</p><p style='margin:4px 0'>written out: ${self.written_rule}$</p>")
            parts.append("<p style='margin:6px 0 0 0'><b>gradients sent to the inputs</b></p><ul>")
            for parent, g in self.outgoing:
                sent = ("<i>nothing: a constant needs no gradient</i>" if g is None
                        else f"<pre {pre}>{html.escape(format_array(g))}</pre>")
                where = f" <small>[{html.escape('/'.join(parent.scope))}]</small>" if parent.scope else ""
                parts.append(f"<li>${_bar(parent)}${where} <small>{_shape(parent)}</small>: {sent}</li>")
            parts.append("</ul>")
        elif self.node.requires_grad:
            parts.append(f"<p><i>a parameter: nothing to send on; ${bar}$ is its final gradient.</i></p>")
        return "\n".join(parts)


class StepView:
    """One step of a ``Stepper``: ``details``, the drawing (``drawing``, ``svg``), and a rich
    display (the SVG beside the numbers) for Jupyter."""

    def __init__(self, stepper, index):
        self.stepper, self.index = stepper, index

    @property
    def step(self):
        return self.stepper.steps[self.index]

    @property
    def node(self):
        return self.step.node

    @property
    def details(self):
        return self.stepper.details(self.index)

    @property
    def drawing(self):
        return self.stepper.drawing(self.index)

    @property
    def svg(self):
        return self.stepper.svg(self.index)

    def html(self):
        return self.stepper.html(self.index)

    def _repr_html_(self):
        return self.html()

    def __str__(self):
        return self.details.text()

    def __repr__(self):
        return f"<StepView {self.index + 1}/{len(self.stepper)}: {node_name(self.node)}>"


# --- the stepper ------------------------------------------------------------------

class Stepper:
    """Backward of ``root`` recorded step by step, to be drawn and read one node at a time.

    ``grad`` seeds ∂L/∂root (needed when root is not a scalar). ``draw`` makes the drawing
    of a step: it is called as ``draw(root, highlight=step, visited=nodes, edge_grads=grads,
    **draw_options)`` and returns a ``graphviz.Digraph``; the default is ``tinygraph.draw``
    (any function with that signature, e.g. one of ``lstm.diagrams``' views, works).

    ``len(stepper)`` steps; ``stepper[i]`` is a ``StepView``; iterating yields them in
    backward order. ``details(i)``, ``drawing(i)``, ``svg(i)`` and ``html(i)`` compute what
    step ``i`` shows; ``widget()`` puts them behind previous / next buttons and a slider.
    """

    def __init__(self, root, grad=None, draw=None, **draw_options):
        if not isinstance(root, Node):
            raise TypeError(f"Stepper: expects the Node to run backward from, got {type(root).__name__}")
        self.root = root
        self.steps = tuple(backward_steps(root, grad, accumulate=False))
        self.draw_function = draw
        self.draw_options = draw_options
        self._index = {step.node: i for i, step in enumerate(self.steps)}
        self._incoming = {}
        for step in self.steps:
            for position, (parent, g) in enumerate(zip(step.node.inputs, step.input_grads)):
                if g is not None:
                    self._incoming.setdefault(parent, []).append((step.node, position, g))
        self._svgs = {}
        self._final = None

    # --- a sequence of steps
    def __len__(self):
        return len(self.steps)

    def __getitem__(self, i):
        if isinstance(i, slice):
            return [StepView(self, j) for j in range(len(self))[i]]
        return StepView(self, self._position(i))

    def __iter__(self):
        return (StepView(self, i) for i in range(len(self)))

    def _position(self, i):
        n = len(self.steps)
        if not isinstance(i, (int, np.integer)) or isinstance(i, bool):
            raise TypeError(f"Stepper: steps are numbered 0..{n - 1}; got {i!r} (use stepper.index_of(node))")
        if not -n <= i < n:
            raise IndexError(f"Stepper: step {i} does not exist; backward of {node_name(self.root)!r} has {n} steps "
                             f"(0..{n - 1})")
        return int(i) % n

    def index_of(self, node_or_name):
        """The step at which ``node`` (or the node named so) gets its gradient."""
        if isinstance(node_or_name, Node):
            if node_or_name not in self._index:
                raise KeyError(f"Stepper: {node_or_name.label()!r} gets no gradient from {node_name(self.root)!r} "
                               f"(not in its graph, or a constant)")
            return self._index[node_or_name]
        found = [i for i, step in enumerate(self.steps) if step.node.name == node_or_name]
        if not found:
            names = sorted({s.node.name for s in self.steps if s.node.name})
            raise KeyError(f"Stepper: no step has a node named {node_or_name!r}; named nodes: {', '.join(names)}")
        if len(found) > 1:
            raise KeyError(f"Stepper: {len(found)} steps have a node named {node_or_name!r} (one per time step?); "
                           f"pass the Node itself, e.g. run.steps[0][{node_or_name!r}]")
        return found[0]

    def gradient(self, node):
        """∂L/∂node as recorded (what ``tg.backward(root)`` accumulates into ``node.grad``)."""
        return np.asarray(self.steps[self.index_of(node)].grad)

    @property
    def gradients(self):
        """``{node: ∂L/∂node}`` for every node that backward visits."""
        return {step.node: np.asarray(step.grad) for step in self.steps}

    # --- what step i shows
    def details(self, i):
        """The numbers of step ``i`` as a ``StepDetails``."""
        i = self._position(i)
        step = self.steps[i]
        node = step.node
        rule = node.op.rule if node.op is not None else ""
        return StepDetails(
            index=i, total=len(self.steps), node=node, grad=step.grad,
            incoming=tuple(self._incoming.get(node, ())),
            rule=rule, written_rule=written_rule(node) if rule else "",
            outgoing=tuple(zip(node.inputs, step.input_grads)) if node.op is not None else (),
        )

    def visited(self, i):
        """The nodes whose gradients are complete at step ``i``: those of the steps before it
        and the current node (a node's turn comes once all its consumers have sent theirs)."""
        return [step.node for step in self.steps[:self._position(i) + 1]]

    def edge_grads(self, i):
        """``{(input, consumer): gradient}`` for every edge backward has sent along up to and
        including step ``i``."""
        sent = {}
        for step in self.steps[:self._position(i) + 1]:
            for parent, g in zip(step.node.inputs, step.input_grads):
                if g is not None:
                    key = (parent, step.node)
                    sent[key] = g if key not in sent else sent[key] + g      # x * x: both arguments
        return sent

    def drawing(self, i):
        """The graph drawn for step ``i``: the step highlighted, processed nodes marked and the
        gradients sent so far written on the edges (a ``graphviz.Digraph``).

        With the default ``tinygraph.draw``, every edge that will carry a gradient already
        holds its label, invisible until backward reaches it, and records leave out their
        gradient row (the numbers beside the drawing show it; ``grads=True`` puts it back):
        Graphviz then lays out every step alike, and the graph does not jump while stepping.
        """
        i = self._position(i)
        sent = self.edge_grads(i)
        if self.draw_function is not None:
            return self.draw_function(self.root, highlight=self.steps[i], visited=self.visited(i),
                                      edge_grads=sent, **self.draw_options)
        from .draw import draw

        options = {"grads": False, **self.draw_options}
        options["edge_attrs"] = self._reserve_labels(sent, options.get("edge_attrs"))
        return draw(self.root, highlight=self.steps[i], visited=self.visited(i), edge_grads=sent, **options)

    def _reserve_labels(self, sent, user_hook):
        """An ``edge_attrs`` hook for tinygraph.draw: an edge backward has not reached yet gets
        its final label in transparent ink, so it takes the same room at every step."""
        if self._final is None:
            self._final = self.edge_grads(len(self.steps) - 1)

        def edge_attrs(edge):
            attrs = dict(user_hook(edge) or {}) if user_hook is not None else {}
            keys = [(edge.node, c) for c in edge.consumers]
            if "label" in attrs or any(key in sent for key in keys):
                return attrs
            grads = [self._final[key] for key in keys if key in self._final]
            if grads:
                norm = float(np.sqrt(np.sum(np.square(sum(grads[1:], grads[0])))))
                used = f"×{edge.count} " if edge.count > 1 and edge.dst.kind != "junction" else ""
                attrs["label"] = f'<{html.escape(used)}<FONT COLOR="transparent">{norm:.3g}</FONT>>'
            return attrs

        return edge_attrs

    def svg(self, i):
        """The drawing of step ``i`` as an SVG string (rendered once, then cached)."""
        i = self._position(i)
        if i not in self._svgs:
            svg = self.drawing(i).pipe(format="svg", encoding="utf-8")
            svg = svg[svg.find("<svg"):]                    # drop the XML prologue to inline it in HTML
            self._svgs[i] = svg.replace("<svg", '<svg style="max-width:100%; height:auto"', 1)
        return self._svgs[i]

    def html(self, i):
        """Step ``i`` as one HTML block: the drawing on the left, the numbers on the right."""
        return ("<div style='display:flex; flex-wrap:wrap; gap:16px; align-items:flex-start'>"
                f"<div style='flex:1 1 560px; min-width:0; overflow:auto'>{self.svg(i)}</div>"
                f"<div style='flex:0 1 400px; min-width:300px'>{self.details(i).html()}</div></div>")

    # --- the widget
    def widget(self, start=0):
        """Previous / next buttons and a slider over the steps (needs ipywidgets)."""
        import ipywidgets as widgets

        start = self._position(start)
        last = len(self.steps) - 1
        slider = widgets.IntSlider(value=start, min=0, max=last, description="step", continuous_update=False,
                                   readout_format="d", layout=widgets.Layout(width="50%"))
        previous = widgets.Button(description="◀ previous", layout=widgets.Layout(width="auto"))
        following = widgets.Button(description="next ▶", layout=widgets.Layout(width="auto"))
        graph = widgets.HTML(layout=widgets.Layout(flex="1 1 560px", min_width="0", overflow="auto"))
        numbers = widgets.HTMLMath(layout=widgets.Layout(flex="0 1 400px", min_width="300px"))

        def show(change=None):
            graph.value = self.svg(slider.value)
            numbers.value = self.details(slider.value).html()
            previous.disabled, following.disabled = slider.value == 0, slider.value == last

        def move(delta):
            slider.value = min(max(slider.value + delta, 0), last)

        slider.observe(show, names="value")
        previous.on_click(lambda _: move(-1))
        following.on_click(lambda _: move(+1))
        show()
        row = widgets.HBox([graph, numbers], layout=widgets.Layout(flex_flow="row wrap", align_items="flex-start"))
        box = widgets.VBox([widgets.HBox([previous, slider, following]), row])
        box.slider, box.previous, box.next, box.graph, box.numbers = slider, previous, following, graph, numbers
        return box

    def _ipython_display_(self):
        from IPython.display import HTML, display

        try:
            display(self.widget())
        except ImportError:
            display(HTML("<p><i>ipywidgets is not installed: showing the first step; index the stepper "
                         "(<code>stepper[i]</code>) or iterate over it to see the others.</i></p>" + self.html(0)))

    def __repr__(self):
        return f"<Stepper: backward of {node_name(self.root)!r} in {len(self.steps)} steps>"
