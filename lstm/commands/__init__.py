"""The subcommands of ``python -m lstm``: one module each.

A command module defines ``HELP`` (one line), ``add_arguments(parser)`` and
``run(args) -> int`` (the exit status). Commands that write use ``files`` for it.
"""
import argparse

COMMANDS = ("main", "render", "step", "check", "gradients", "train", "bench", "grade")


def non_negative_int(text):
    """argparse type for counts and seeds (numpy's generators refuse negative seeds)."""
    value = int(text)
    if value < 0:
        raise ValueError
    return value


non_negative_int.__name__ = "non-negative integer"

#: time steps each view draws when no --steps is given (render, step)
DEFAULT_STEPS = {"ops": 1, "cell": 1, "unrolled": 4}


def whole_number_between(low, high):
    """argparse type for a whole number in [low, high] (time steps, layers), worded for one line."""
    def whole_number(text):
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be a whole number, got {text!r}") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"must be between {low} and {high}, got {value}")
        return value
    return whole_number
