"""How backward is shown to a person: the stepper, its self-contained HTML page, the
notation (LaTeX and MathML of names and rules) and animations.

The engine's modules compute; this package presents. It imports the engine (draw,
backprop, node), never the other way round.
"""
from .latex import format_array, latex_name, plain_rule, written_rule
from .stepper import StepDetails, Stepper, StepView

__all__ = ["StepDetails", "StepView", "Stepper", "format_array", "latex_name", "plain_rule", "written_rule"]
