"""Draw an LSTM variant from its real executed graph (random inputs, fixed seed).

Views:
  ops       every primitive op, clustered per time step and gate network (seed 001's graph)
  cell      one cell: gate networks as boxes, valves × and +, the memory pipe along the top
            (seed 002's picture)
  unrolled  T cells side by side, C and H handed from step to step

With --grads the backward pass of L (cross-entropy of the last step's output) is drawn
on top: every edge is labelled with the norm of the gradient flowing back along it.

Examples:
  python -m lstm render --variant blog --view cell
  python -m lstm render --variant gru --layers 2 --view unrolled --steps 3 --grads
  python -m lstm render --from-torch model.pt --view unrolled --steps 6 --grads
  python -m lstm render --variant paper --view unrolled --steps 6 --grads -o paper.png
  python -m lstm render --variant rnn --view unrolled --steps 20 --grads --format pdf
  python -m lstm render --view unrolled --steps 6 --grads --slide -o slide.png   # rows of two, ≤ 1920 px
"""
import sys
from pathlib import Path

from . import DEFAULT_STEPS, files, whole_number_between

HELP = "draw a variant's executed graph (ops, cell or unrolled view) as svg, png, pdf or dot"

def add_arguments(parser):
    from lstm.cells import VARIANTS
    from lstm.diagrams import FORMATS, VIEWS

    parser.add_argument("--variant", default="blog", choices=list(VARIANTS),
                        help="which cell: blog (seed 001), paper (seed 000), peephole (seed 002) or rnn "
                             "(default: blog)")
    parser.add_argument("--view", default="cell", choices=list(VIEWS),
                        help="ops: every primitive op; cell: one cell as the memory pipe with valves; "
                             "unrolled: T cells side by side (default: cell)")
    parser.add_argument("--steps", type=whole_number_between(1, 100), metavar="T",
                        help="time steps to run and draw, 1-100 (default: 1 for ops, 4 for unrolled; "
                             "the cell view is always one step)")
    parser.add_argument("--grads", action="store_true",
                        help="overlay backward: label each edge with the norm of the gradient of L "
                             "flowing along it, pen width by magnitude")
    parser.add_argument("--slide", action="store_true",
                        help="unrolled view only: lay the steps out in rows of two for a slide (with --grads) "
                             "and draw a PNG at most 1920 pixels wide (needs Graphviz, even for --format dot)")
    parser.add_argument("--format", choices=list(FORMATS),
                        help="output format (default: taken from -o's suffix, else svg); dot writes "
                             "the Graphviz source and works without Graphviz installed")
    parser.add_argument("-o", "--output", type=Path, metavar="FILE",
                        help="output file (default: VARIANT_VIEW.FORMAT, e.g. blog_cell.svg, "
                             "or VARIANT_unrolled_T.FORMAT)")
    parser.add_argument("--layers", type=whole_number_between(1, 8), default=1, metavar="L",
                        help="stack L layers of the cell (the unrolled view draws a grid: layers up, time across)")
    parser.add_argument("--from-torch", type=Path, metavar="MODEL_PT",
                        help="draw a trained model: a state_dict of nn.LSTM / nn.GRU / nn.RNN saved with torch.save "
                             "(read with weights_only=True; needs PyTorch); sets the variant and layers")
    files.add_force(parser)


def _torch_model(args):
    """The cell in --from-torch (its variant and layers replace --variant, --layers), or None."""
    from lstm.cells import variant_of
    from lstm.torch_bridge import load_cell

    if args.from_torch is None:
        return None
    model = load_cell(args.from_torch)
    args.variant, args.layers = variant_of(model), model.num_layers
    return model


def run(args):
    from lstm import diagrams
    from tinygraph.draw import GraphvizNotFound

    suffix = args.output.suffix.lstrip(".").lower() if args.output else ""
    fmt = args.format or (suffix if suffix in diagrams.FORMATS else "svg")
    if suffix in diagrams.FORMATS and suffix != fmt:
        return _fail(f"-o {args.output} ends in .{suffix} but --format is {fmt}; make them agree")
    if args.view == "cell" and args.steps not in (None, 1):
        return _fail(f"the cell view draws one step; --steps {args.steps} is for the ops and unrolled views")
    if args.slide and args.view != "unrolled":
        return _fail(f"--slide lays out the unrolled view; the {args.view} view has no rows to wrap")
    steps = args.steps or DEFAULT_STEPS[args.view]
    try:
        model = _torch_model(args)
    except (ImportError, ValueError) as err:
        return _fail(str(err))
    if args.slide and args.layers > 1:
        return _fail(f"--slide wraps the steps of one cell into rows; a model of {args.layers} layers is already "
                     f"drawn as a grid of rows")
    if args.view == "cell" and args.layers > 1:
        return _fail(f"the cell view draws one cell; a model of {args.layers} layers is drawn with --view unrolled "
                     f"(a grid) or --view ops")
    output = args.output
    if output is None:
        tail = f"_{steps}" if args.view == "unrolled" else ""
        stack = f"x{args.layers}" if args.layers > 1 else ""
        output = Path(f"{args.variant}{stack}_{args.view}{tail}.{fmt}")
    out = files.output(output, force=args.force)
    try:                        # the slide is laid out by Graphviz when it is built
        dot = diagrams.view(args.variant, args.view, steps=steps, grads=args.grads, num_layers=args.layers,
                            model=model, **({"per_row": 2} if args.slide else {}))
        path = out.write(lambda tmp: diagrams.save(dot, tmp, fmt, max_width=1920 if args.slide else None))
    except GraphvizNotFound as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    source = f" from {args.from_torch}" if args.from_torch else ""
    layers = f" × {args.layers} layers" if args.layers > 1 else ""
    print(f"wrote {path} ({args.variant}{layers}{source}, {args.view} view, {steps} step{'s' if steps > 1 else ''}"
          f"{', gradients' if args.grads else ''})")
    return 0


def _fail(message):
    print(f"error: {message}", file=sys.stderr)
    return 2
