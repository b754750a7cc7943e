"""An exercise: what the student writes (``Function``s), where its reference solution and
its template live, how to make its graded cases and how to draw it."""
from dataclasses import dataclass
from pathlib import Path

from .grader import TOLERANCE

ROOT = Path(__file__).resolve().parents[2]
"""The repository root: the solutions and templates are in exercises/ there."""


@dataclass(frozen=True)
class Exercise:
    name: str
    title: str
    functions: tuple
    cases: object            # () -> list of grader.Case
    cases_text: str          # what the relative error is taken over, in words
    draw: object             # (Quantity or None, view or None) -> graphviz.Digraph, its node highlighted
    adapt: object = None     # student's module -> the object whose functions are graded (default: itself)
    tolerance: float = TOLERANCE
    views: tuple = ("cell", "ops")   # what ``draw``'s view may be (None: it picks)

    @property
    def solution(self):
        """The reference solution, relative to the repository root."""
        return Path("exercises") / "solutions" / f"{self.name}.py"

    @property
    def template(self):
        """The file a student starts from (the functions with blanks), relative to the root."""
        return Path("exercises") / "templates" / f"{self.name}.py"
