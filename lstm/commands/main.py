"""The main job: render the diagrams of every LSTM variant and print the paper check.

Writes the cell and unrolled views of blog, paper, peephole and rnn into one folder
(default ``out/``), then prints the equation-by-equation comparison of the paper's
closed-form deltas with autodiff. Exit status 0 when the corrected deltas (and the
BlogLSTM closed form) agree with autodiff.
"""
from pathlib import Path

HELP = "render every variant's diagrams into a folder and print the paper check"


def add_arguments(parser):
    parser.add_argument("-o", "--out", default="out", type=Path, help="output folder (default: out/)")
    parser.add_argument("--format", default="svg", choices=("svg", "png", "pdf"),
                        help="image format of the diagrams (default: svg)")
    parser.add_argument("--steps", default=4, type=int, help="time steps in the unrolled views (default: 4)")


def run(args):
    from lstm import diagrams, errata

    paths = diagrams.render_all(args.out, fmt=args.format, steps=args.steps)
    print(f"Rendered {len(paths)} diagrams into {args.out}/:")
    for path in paths:
        print(f"  {path}")
    print()
    result = errata.run_check()
    print(result.format_table())
    return 0 if result.ok else 1
