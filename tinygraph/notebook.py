"""The stepper for notebooks: ``from tinygraph.notebook import Stepper`` (it lives in
``tinygraph.present``, with the rest of how steps are shown)."""
from .present import StepDetails, Stepper, StepView, format_array, latex_name, plain_rule, written_rule

__all__ = ["StepDetails", "StepView", "Stepper", "format_array", "latex_name", "plain_rule", "written_rule"]
