"""Step through backward of a variant's executed graph, without a kernel: write one HTML page
(buttons, a slider, the arrow keys, play/pause; works from file:// with the network off) or
an animated GIF with one frame per step.

The graph is the one `render` draws (seeded random inputs and state, the loss L of the last
step's output); every step shows the current node highlighted on the drawing, a close-up of
the node with its inputs and consumers, the gradient flowing in, the op's rule written out in
the text's notation and what it sends to each input.

Examples:
  python -m lstm step --variant blog --steps 2 -o backprop.html
  python -m lstm step --variant paper --view cell --loss mse -o paper_cell.html
  python -m lstm step --variant blog --view unrolled --steps 6 --frames scope -o blog.gif
  python -m lstm step --variant rnn --backward-graph -o rnn_backward.html
"""
import sys
from pathlib import Path

from lstm.commands import DEFAULT_STEPS, files, whole_number_between

HELP = "write a self-contained HTML page (or an animated GIF) that steps through backward"

FORMATS = ("html", "gif")
def add_arguments(parser):
    from lstm.cells import VARIANTS
    from lstm.diagrams import VIEWS

    parser.add_argument("--variant", default="blog", choices=list(VARIANTS),
                        help="which cell: blog (seed 001), paper (seed 000), peephole (seed 002), rnn or gru "
                             "(default: blog)")
    parser.add_argument("--layers", type=whole_number_between(1, 8), default=1, metavar="L",
                        help="stacked layers, 1-8: layer l's H_t is layer l+1's input (default: 1)")
    parser.add_argument("--steps", type=whole_number_between(1, 50), metavar="T",
                        help="time steps to unroll, 1-50 (default: 1 for ops and cell, 4 for unrolled)")
    parser.add_argument("--view", default="ops", choices=list(VIEWS),
                        help="the drawing the steps are shown on: ops (every primitive op), cell (one cell as "
                             "the memory pipe with valves) or unrolled (T cells side by side) (default: ops)")
    parser.add_argument("--loss", default="ce", choices=["ce", "mse"],
                        help="L of the last step's output: softmax cross-entropy or squared error (default: ce)")
    parser.add_argument("--format", choices=FORMATS,
                        help="html (a page that steps) or gif (an animation); default: from -o's suffix")
    parser.add_argument("--frames", default="step", choices=["step", "scope"],
                        help="gif only: one frame per backward step, or one per scope (a time step, the loss) "
                             "for long unrolls (default: step)")
    parser.add_argument("--backward-graph", action="store_true",
                        help="ops view only: run backward with create_graph=True and walk the graph it builds, "
                             "drawn beside the forward graph (each adjoint linked to its value)")
    parser.add_argument("-o", "--output", type=Path, metavar="FILE", required=True,
                        help="the file to write (.html or .gif)")
    files.add_force(parser)


def run(args):
    suffix = args.output.suffix.lstrip(".").lower()
    fmt = args.format or (suffix if suffix in FORMATS else None)
    if fmt is None:
        return _fail(f"-o {args.output}: say which format to write, with a .html or .gif suffix or --format")
    if suffix in FORMATS and suffix != fmt:
        return _fail(f"-o {args.output} ends in .{suffix} but --format is {fmt}; make them agree")
    if args.view == "cell" and args.layers > 1:
        return _fail(f"the cell view draws one cell; --layers {args.layers} is for the ops and unrolled views")
    if args.view == "cell" and args.steps not in (None, 1):
        return _fail(f"the cell view draws one step; --steps {args.steps} is for the ops and unrolled views")
    if args.backward_graph and args.view != "ops":
        return _fail(f"--backward-graph draws every op (the ops view); not the {args.view} view")
    if args.frames == "scope" and fmt != "gif":
        return _fail("--frames scope is for a gif; a page shows every step")
    out = files.output(args.output, force=args.force)          # checked before any computing
    stepper = make_stepper(args.variant, args.view, args.steps or DEFAULT_STEPS[args.view], args.loss,
                           backward_graph=args.backward_graph, num_layers=args.layers)
    if fmt == "html":
        out.write_text(stepper.page(title=_title(args, stepper)))
    else:
        from tinygraph.present.animate import save_gif

        out.write(lambda tmp: save_gif(stepper, tmp, per=args.frames))
    size = args.output.stat().st_size
    layers = f" × {args.layers} layers" if args.layers > 1 else ""
    print(f"wrote {args.output} ({len(stepper)} backward steps of {args.variant}{layers}, {args.view} view, "
          f"{size / 1e6:.2f} MB)")
    return 0


def make_stepper(variant, view, steps, loss="ce", backward_graph=False, num_layers=1):
    """A Stepper over the backward pass of ``variant``'s example (``num_layers`` stacked), drawn
    in ``view`` (or, with ``backward_graph``, over the graph backward builds with create_graph=True)."""
    from lstm import diagrams
    from tinygraph.present import Stepper

    ex = diagrams.example(variant, steps=steps, loss=loss, num_layers=num_layers)
    if backward_graph:
        return Stepper(ex.loss, create_graph=True)
    if view == "ops":
        def draw(root, highlight, visited, edge_grads):
            return diagrams.ops(ex, highlight=highlight, visited=visited, edge_grads=edge_grads, legend=False)
    else:
        view_function = diagrams.cell if view == "cell" else diagrams.unrolled

        def draw(root, highlight, visited, edge_grads):
            return view_function(ex, grads=True, highlight=highlight, visited=visited)
    return Stepper(ex.loss, draw=draw)


def _title(args, stepper):
    return f"backward through {args.variant} ({args.view} view): {len(stepper)} steps"


def _fail(message):
    print(f"error: {message}", file=sys.stderr)
    return 2
