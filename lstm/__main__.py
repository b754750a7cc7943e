"""``python -m lstm COMMAND``: render diagrams, check gradients, train, benchmark.

Run ``python -m lstm --help`` for the list, ``python -m lstm COMMAND --help`` for one.
"""
import argparse
import importlib
import os
import sys

from lstm.commands import COMMANDS
from lstm.commands.files import Refused


def build_parser():
    parser = argparse.ArgumentParser(
        prog="python -m lstm",
        description="LSTM cells built from tinygraph: draw them, check their gradients, train them.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMANDS:
        try:
            module = importlib.import_module(f"lstm.commands.{name}")
        except ModuleNotFoundError as err:
            if err.name != f"lstm.commands.{name}":
                raise
            continue
        command = sub.add_parser(name, help=module.HELP, description=module.__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
        module.add_arguments(command)
        command.set_defaults(run=module.run)
    return parser


def main(argv=None):
    """Run one command. A refused output path, or sizes that do not fit in memory, is one
    line on stderr and exit status 2."""
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except Refused as err:
        print(f"error: {err}", file=sys.stderr)
    except MemoryError as err:
        print(f"error: out of memory ({err or 'no details'}); try smaller sizes", file=sys.stderr)
    return 2


if __name__ == "__main__":
    try:
        status = main()
        sys.stdout.flush()
    except BrokenPipeError:       # e.g. `python -m lstm check | head`: the reader left early
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        status = 1
    sys.exit(status)
