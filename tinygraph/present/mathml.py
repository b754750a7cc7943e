"""LaTeX -> MathML for the subset the rules use, so a page shows maths without fetching a renderer.

Browsers draw MathML themselves (Chromium since 109, Firefox, Safari): a saved page shows
``\\bar y \\odot \\sigma(x)`` as maths from ``file://`` with the network off.

>>> to_mathml(r"x^\\top \\odot \\sigma(x)")
'<math><msup><mi>x</mi><mo>⊤</mo></msup><mo>⊙</mo><mi>σ</mi><mo>(</mo><mi>x</mi><mo>)</mo></math>'

The subset: letters, numbers, operators, ``{}`` groups, ``^`` and ``_``, ``\\bar``,
``\\overline``, ``\\text``/``\\mathrm``/``\\operatorname``, ``\\frac``, ``\\sqrt``, Greek
letters, the named functions (tanh, exp, log ...), the symbols in ``SYMBOLS`` and spacing
(``\\,``, ``\\;``, ``\\quad``, ``\\ ``). Anything else raises ``ValueError`` naming it:
``to_mathml(latex, strict=False)`` shows such a formula as its LaTeX source instead.
"""
import html
import re

GREEK = {name: chr(code) for name, code in [
    ("alpha", 0x3B1), ("beta", 0x3B2), ("gamma", 0x3B3), ("delta", 0x3B4), ("epsilon", 0x3F5),
    ("varepsilon", 0x3B5), ("zeta", 0x3B6), ("eta", 0x3B7), ("theta", 0x3B8), ("iota", 0x3B9),
    ("kappa", 0x3BA), ("lambda", 0x3BB), ("mu", 0x3BC), ("nu", 0x3BD), ("xi", 0x3BE), ("pi", 0x3C0),
    ("rho", 0x3C1), ("sigma", 0x3C3), ("tau", 0x3C4), ("upsilon", 0x3C5), ("phi", 0x3D5),
    ("varphi", 0x3C6), ("chi", 0x3C7), ("psi", 0x3C8), ("omega", 0x3C9), ("Gamma", 0x393),
    ("Delta", 0x394), ("Theta", 0x398), ("Lambda", 0x39B), ("Xi", 0x39E), ("Pi", 0x3A0),
    ("Sigma", 0x3A3), ("Phi", 0x3A6), ("Psi", 0x3A8), ("Omega", 0x3A9)]}
FUNCTIONS = ("tanh", "exp", "log", "sin", "cos", "max", "min", "softmax")
SYMBOLS = {"odot": "⊙", "times": "×", "cdot": "·", "top": "⊤", "partial": "∂", "dots": "…",
           "ldots": "…", "cdots": "⋯", "le": "≤", "leq": "≤", "ge": "≥", "geq": "≥", "neq": "≠",
           "to": "→", "in": "∈", "approx": "≈", "infty": "∞", "sum": "∑", "prod": "∏", "mid": "|",
           "pm": "±", "circ": "∘", "{": "{", "}": "}", "#": "#", "$": "$", "%": "%", "&": "&", "_": "_"}
SPACES = {",": "0.1667em", ";": "0.2778em", ":": "0.2222em", "!": "0em", " ": "0.25em", "quad": "1em",
          "qquad": "2em"}
#: a bar drawn as the group's top border: it spans the whole group (an accent ¯ does not stretch)
BAR_STYLE = "border-top:0.06em solid currentColor; padding-top:0.08em"
IGNORED = ("textstyle", "displaystyle", "left", "right", "big", "Big", "limits")
_TOKEN = re.compile(r"\\([A-Za-z]+|.)|([A-Za-z])|(\d+(?:\.\d+)?)|(\s+)|(.)", re.S)


def to_mathml(latex, display=False, strict=True):
    """``latex`` (the rules' subset) as a ``<math>`` element; ``display=True`` for a block."""
    try:
        parser = _Parser(latex)
        body = parser.sequence(stop=None)
    except ValueError:
        if strict:
            raise
        return f"<code>{html.escape(latex)}</code>"
    attrs = ' display="block"' if display else ""
    return f"<math{attrs}>{body}</math>"


class _Parser:
    def __init__(self, latex):
        self.latex = latex
        self.tokens = [m for m in _TOKEN.finditer(latex) if not m.group(4)]
        self.pos = 0

    def peek(self):
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self):
        token = self.peek()
        if token is None:
            raise ValueError(f"mathml: {self.latex!r} ends where a group or argument was expected")
        self.pos += 1
        return token

    def sequence(self, stop):
        """Atoms up to ``stop`` ("}" or None for the end), with their sub- and superscripts."""
        out = []
        while (token := self.peek()) is not None:
            if token.group(0) == "}":
                if stop != "}":
                    raise ValueError(f"mathml: unbalanced '}}' in {self.latex!r}")
                return "".join(out)
            out.append(self.scripts(self.atom()))
        if stop is not None:
            raise ValueError(f"mathml: missing '}}' in {self.latex!r}")
        return "".join(out)

    def scripts(self, base):
        sub = sup = None
        while (token := self.peek()) is not None and token.group(0) in "^_":
            self.take()
            if token.group(0) == "^":
                sup = self.argument()
            else:
                sub = self.argument()
        if sub is not None and sup is not None:
            return f"<msubsup>{base}{sub}{sup}</msubsup>"
        if sub is not None:
            return f"<msub>{base}{sub}</msub>"
        if sup is not None:
            return f"<msup>{base}{sup}</msup>"
        return base

    def argument(self):
        """One atom or a braced group, as one element."""
        if self.peek() is not None and self.peek().group(0) == "{":
            return self.group()
        return self.atom()

    def group(self):
        self.take()                                   # "{"
        inner = self.sequence(stop="}")
        self.take()                                   # "}"
        return f"<mrow>{inner}</mrow>"

    def text_argument(self):
        if self.take().group(0) != "{":
            raise ValueError(f"mathml: \\text needs a braced argument in {self.latex!r}")
        depth, start = 1, self.pos
        while depth:
            token = self.take()
            depth += {"{": 1, "}": -1}.get(token.group(0), 0)
        first, last = self.tokens[start], self.tokens[self.pos - 1]
        return self.latex[first.start():last.start()] if self.pos - 1 > start else ""

    def atom(self):
        token = self.take()
        command, letter, number, _, other = token.groups()
        if letter:
            return f"<mi>{letter}</mi>"
        if number:
            return f"<mn>{number}</mn>"
        if command is not None:
            return self.command(command)
        if other == "{":
            self.pos -= 1
            return self.group()
        if other in "^_}":
            raise ValueError(f"mathml: unexpected {other!r} in {self.latex!r}")
        return _mo({"-": "−", "'": "′"}.get(other, other))

    def command(self, name):
        if name in ("bar", "overline"):
            return f'<mrow style="{BAR_STYLE}">{self.argument()}</mrow>'
        if name in ("text", "mathrm", "operatorname"):
            text = html.escape(self.text_argument())
            return f"<mtext>{text}</mtext>" if name == "text" else f"<mi mathvariant=\"normal\">{text}</mi>"
        if name == "frac":
            return f"<mfrac>{self.argument()}{self.argument()}</mfrac>"
        if name == "sqrt":
            return f"<msqrt>{self.argument()}</msqrt>"
        if name == "mathrel":
            return self.argument()
        if name in GREEK:
            return f"<mi>{GREEK[name]}</mi>"
        if name in FUNCTIONS:
            return f"<mi>{name}</mi>"
        if name in SYMBOLS:
            return _mo(SYMBOLS[name])
        if name in SPACES:
            return f'<mspace width="{SPACES[name]}"></mspace>'
        if name in IGNORED:
            return ""
        raise ValueError(f"mathml: \\{name} is not in the supported subset (in {self.latex!r})")


def _mo(text):
    return f"<mo>{html.escape(text, quote=False)}</mo>"


def math(latex):
    """Inline MathML for ``latex``; a formula outside the subset shows as its source."""
    return to_mathml(latex, strict=False)


def split_top_level(latex):
    """A list of formulas ``a = ...,\\quad b = ...`` split at its top-level separators
    (a comma or semicolon followed by ``\\quad`` or ``\\ ``), so each can wrap as a unit."""
    pieces, depth, start = [], 0, 0
    for match in re.finditer(r"\\[{}]|[{}]|[,;]\s*\\(?:quad|\s)\s*", latex):
        text = match.group(0)
        if text in ("{", "}"):
            depth += 1 if text == "{" else -1
        elif not text.startswith("\\") and depth == 0:
            pieces.append(latex[start:match.start()])
            start = match.end()
    pieces.append(latex[start:])
    return [p.strip() for p in pieces if p.strip()]


def math_lines(latex):
    """Each top-level formula of ``latex`` as its own MathML element in a wrapping block."""
    return "<div class='eqs'>" + "".join(f"<div class='eq'>{math(p)}</div>" for p in split_top_level(latex)) + "</div>"
