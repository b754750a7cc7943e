"""The subcommands of ``python -m lstm``: one module each.

A command module defines ``HELP`` (one line), ``add_arguments(parser)`` and
``run(args) -> int`` (the exit status). Commands that write use ``files`` for it.
"""
COMMANDS = ("main", "render", "step", "check", "gradients", "train", "bench", "grade")


def non_negative_int(text):
    """argparse type for counts and seeds (numpy's generators refuse negative seeds)."""
    value = int(text)
    if value < 0:
        raise ValueError
    return value


non_negative_int.__name__ = "non-negative integer"
