r"""Exercises with their answers blanked: the lines between ``### BEGIN SOLUTION`` and
``### END SOLUTION`` are an answer. One mechanism serves the notebooks' student copies
(notebooks/build.py) and the exercise templates made from the reference solutions
(exercises/build.py).

A blank is ``name = ...  # your answer here`` when the answer only assigns values to names
(a prediction), ``raise NotImplementedError("your answer here")`` at the answer's
indentation when it computes, and *Your answer here.* in a Markdown cell.

>>> print(student_body("def O_bar(H_bar, tanh_C_t):\n    ### BEGIN SOLUTION\n    return H_bar * tanh_C_t\n    ### END SOLUTION", "code"))
def O_bar(H_bar, tanh_C_t):
    raise NotImplementedError("your answer here")
"""
import ast
import textwrap

BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"
BLANK = 'raise NotImplementedError("your answer here")'
BLANK_MARKDOWN = "*Your answer here.*"


def solution_blocks(body):
    """Split a cell's source into text and solution blocks: a list of (is_solution, lines,
    indent of the BEGIN marker). Raises ValueError on a marker without its partner."""
    parts, lines, inside, indent = [], [], False, ""
    for line in body.split("\n"):
        stripped = line.strip()
        if stripped in (BEGIN, END):
            if (stripped == BEGIN) == inside:
                raise ValueError(f"{stripped!r} {'inside' if inside else 'outside'} a solution block:\n{body}")
            parts.append((inside, lines, indent))
            lines, inside, indent = [], not inside, line[: len(line) - len(line.lstrip())]
        else:
            lines.append(line)
    if inside:
        raise ValueError(f"{BEGIN!r} without {END!r}:\n{body}")
    parts.append((False, lines, ""))
    return parts


def _value_names(lines):
    """The names a solution assigns, when all it does is ``name = value`` (else None)."""
    try:
        statements = ast.parse(textwrap.dedent("\n".join(lines))).body
    except SyntaxError:
        return None
    if not statements or not all(isinstance(s, ast.Assign) and len(s.targets) == 1
                                 and isinstance(s.targets[0], ast.Name) for s in statements):
        return None
    return [s.targets[0].id for s in statements]


def blank(lines, indent, kind):
    """What a student sees in place of one solution block."""
    if kind == "markdown":
        return [BLANK_MARKDOWN]
    names = _value_names(lines)
    if names:
        return [f"{indent}{name} = ...  # your answer here" for name in names]
    return [indent + BLANK]


def student_body(body, kind):
    """A cell's source as the student copy shows it: every solution block blanked."""
    out = []
    for is_solution, lines, indent in solution_blocks(body):
        out += blank(lines, indent, kind) if is_solution else lines
    return "\n".join(out)


def teacher_body(body, kind):
    """A cell's source as the committed notebook shows it: the answers, and in Markdown
    no markers."""
    parts = solution_blocks(body)
    if kind == "code" or len(parts) == 1:
        return body
    return "\n".join(line for _, lines, _ in parts for line in lines)


def template_of(solution):
    """A student's template from a reference solution's source: every answer blanked."""
    return student_body(solution, "code")
