"""The subcommands of ``python -m lstm``: one module each.

A command module defines ``HELP`` (one line), ``add_arguments(parser)`` and
``run(args) -> int`` (the exit status).
"""
COMMANDS = ("main", "render", "step", "check", "gradients", "train", "bench", "grade")
