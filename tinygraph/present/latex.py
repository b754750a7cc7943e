"""How the stepper writes names, rules and numbers: the texts' notation in LaTeX and plain text.

A node name is read as the texts' notation (``C_t`` -> ``C_{t}``, ``g_ι`` -> ``g_{\\iota}``,
``X W_ix + b_i`` -> ``X\\,W_{ix} + b_{i}``); an op's ``rule`` (its vector-Jacobian product in
LaTeX, written for inputs ``a, b`` or ``x`` and output ``y``) is written out with the graph's
own names. ``\\bar v`` is ∂L/∂v, the adjoint. ``tinygraph.present.mathml`` turns the LaTeX
into MathML for pages that must not fetch a renderer.
"""
import re

import numpy as np

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


def located_name(node):
    """``C_t`` or, for a node inside scopes, ``C_t [t=1]``: tells apart the steps of an unrolled graph."""
    return f"{node_name(node)} [{'/'.join(node.scope)}]" if node.scope else node_name(node)


def shape_text(node):
    """``scalar`` or ``2×3``, as the drawings write shapes."""
    return "×".join(map(str, node.shape)) if node.ndim else "scalar"


def bar(node):
    return rf"\overline{{{latex_name(node_name(node))}}}"


def operand(node):
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
        return r",\quad ".join(rf"{bar(inputs[i])} = {bar(node)}[{index}]"
                                for i, index in slices if inputs[i].requires_grad)
    if op.variadic or len(op.operands) != len(inputs):
        return op.rule
    formals = op.operands
    names = {f: operand(n) for f, n in zip(formals, inputs)}
    bars = {f: bar(n) for f, n in zip(formals, inputs)}
    out = operand(node)
    names[op.output] = out
    bars[op.output] = bar(node)
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
