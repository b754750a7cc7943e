"""The main job: render the diagrams of every LSTM variant and print the paper check.

Writes the cell and unrolled views of blog, paper, peephole and rnn into one folder
(default ``out/``), then prints the equation-by-equation comparison of the paper's
closed-form deltas with autodiff. Exit status 0 when the corrected deltas (and the
BlogLSTM closed form) agree with autodiff. Diagrams already in the folder are replaced
only with --force (``bash run.sh main`` passes it: the folder is its own).
"""
from pathlib import Path

from . import files

HELP = "render every variant's diagrams into a folder and print the paper check"


def add_arguments(parser):
    parser.add_argument("-o", "--out", default="out", type=Path, help="output folder (default: out/)")
    parser.add_argument("--format", default="svg", choices=("svg", "png", "pdf"),
                        help="image format of the diagrams (default: svg)")
    parser.add_argument("--steps", default=4, type=int, help="time steps in the unrolled views (default: 4)")
    files.add_force(parser)


def run(args):
    from lstm import diagrams, errata
    from lstm.cells import VARIANTS

    names = [f"{variant}_{view}.{args.format}" for variant in VARIANTS for view in ("cell", "unrolled")]
    outs = files.output_folder(args.out, names, force=args.force)

    def save(dot, path, fmt):
        return outs[Path(path).name].write(lambda tmp: diagrams.save(dot, tmp, fmt))

    paths = diagrams.render_all(args.out, fmt=args.format, steps=args.steps, save=save)
    print(f"Rendered {len(paths)} diagrams into {args.out}/:")
    for path in paths:
        print(f"  {path}")
    print()
    result = errata.run_check()
    print(result.format_table())
    return 0 if result.ok else 1
