"""Train a cell (with a linear readout) on a toy task, with tinygraph doing the backprop.

Tasks: "adding" (the adding problem: sum the two marked values of a sequence; predicting
the mean gives MSE 1/6 ≈ 0.167) and "chars" (next-character prediction on a short text
shipped with the project; the baseline is the cross-entropy of character frequencies).

The loss reported is measured on held-out data: fresh sequences for "adding", the last
10% of the text (never trained on) for "chars". The text is short: a model that trains
long enough memorises the first 90% and gets worse on the rest (watch "best ... at step").

Writes to the output folder: parameters.npz (every parameter, loadable with
tinygraph.optim.load or --load), run.json (settings, baseline, losses per step),
loss.png (the loss curve), and for "chars" sample.txt (text drawn from the model).
Files of an earlier run in that folder are replaced only with --force.

examples:
  python -m lstm train --task adding --model blog --steps 1500 --seq-len 50 --hidden 32 --clip 1
  python -m lstm train --task chars --model blog --steps 300 --seq-len 25 --hidden 64 --clip 1
"""
import importlib.util
import math
import sys
from pathlib import Path

from tinygraph.io import MAX_BYTES, ArrayFileError, OutputPathError, size_text

from . import files, non_negative_int

HELP = "train a cell on the adding problem or next-character prediction; loss plot + parameters"


def _positive_int(text):
    value = int(text)
    if value < 1:
        raise ValueError
    return value


def _positive_float(text):
    value = float(text)
    if not value > 0 or value == float("inf"):
        raise ValueError
    return value


_positive_int.__name__ = "positive integer"
_positive_float.__name__ = "positive number"


def add_arguments(parser):
    from lstm.cells import VARIANTS
    from lstm.tasks import TASKS

    parser.add_argument("--task", choices=list(TASKS), default="adding", help="the task (default: adding)")
    parser.add_argument("--model", choices=list(VARIANTS), default=None,
                        help="the cell variant (default: blog); 'paper' has no batch axis and is "
                             "unrolled once per sequence of the batch, so it is much slower")
    parser.add_argument("--layers", type=_positive_int, default=None,
                        help="stacked layers of the cell, each feeding the next (default: 1)")
    parser.add_argument("--from-torch", type=Path, default=None, metavar="MODEL_PT",
                        help="start the cell from a state_dict of nn.LSTM / nn.GRU / nn.RNN saved with torch.save "
                             "(read with weights_only=True; needs PyTorch); it sets --model, --layers, --hidden")
    parser.add_argument("--steps", type=non_negative_int, default=1000, help="training steps (batches) (default: 1000)")
    parser.add_argument("--seq-len", type=_positive_int, default=50, help="sequence length T (default: 50)")
    parser.add_argument("--hidden", type=_positive_int, default=None, help="hidden size h (D) (default: 32)")
    parser.add_argument("--seed", type=non_negative_int, default=0,
                        help="seed of the parameters and the data (default: 0)")
    parser.add_argument("--clip", type=_positive_float, default=None,
                        help="clip the global gradient norm to this value (default: no clipping)")
    parser.add_argument("--out", type=Path, default=None,
                        help="output folder (default: runs/TASK-MODEL-T{seq-len}-h{hidden}-seed{seed})")
    parser.add_argument("--batch", type=_positive_int, default=32, help="sequences per batch (default: 32)")
    parser.add_argument("--optimizer", choices=["adam", "sgd"], default="adam", help="(default: adam)")
    parser.add_argument("--lr", type=_positive_float, default=None,
                        help="learning rate (default: 0.01 for adam, 0.1 for sgd with momentum 0.9)")
    parser.add_argument("--load", type=Path, default=None,
                        help="start from the parameters.npz of an earlier run with the same settings")
    parser.add_argument("--eval-every", type=_positive_int, default=None,
                        help="measure the held-out loss every this many steps (default: steps/10)")
    parser.add_argument("--sample", type=non_negative_int, default=300,
                        help="chars task: characters to sample from the trained model (default: 300)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    files.add_force(parser)


def from_torch_file(args):
    """The cell in the --from-torch file; --model, --layers, --hidden must agree with it if given,
    and are set from it."""
    from lstm.cells import variant_of
    from lstm.torch_bridge import load_cell

    cell = load_cell(args.from_torch)
    found = {"--model": variant_of(cell), "--layers": cell.num_layers, "--hidden": cell.hidden_size}
    for flag, value in found.items():
        given = getattr(args, flag[2:])
        if given is not None and given != value:
            raise ValueError(f"{flag} {given} does not match --from-torch {args.from_torch}, which holds "
                             f"{found['--model']} with {cell.num_layers} layer(s) of hidden size {cell.hidden_size}")
    args.model, args.layers, args.hidden = found.values()
    return cell


def missing_packages():
    """The optional packages training needs (the ``train`` extra) that are not installed."""
    return [name for name in ("matplotlib", "tqdm") if importlib.util.find_spec(name) is None]


def parameter_bytes(variant, task, hidden, layers=1):
    """The bytes of the model's parameters (cell and readout, float64) if they exceed
    ``MAX_BYTES`` (what one .npz file, and so --load, may hold), else 0."""
    from lstm.cells import VARIANTS

    above = list(VARIANTS[variant].parameter_shapes(hidden, hidden).values()) * (layers - 1)
    shapes = [*VARIANTS[variant].parameter_shapes(task.input_size, hidden).values(), *above,
              (hidden + 1, task.output_size)]
    nbytes = 8 * sum(math.prod(shape) for shape in shapes)
    return nbytes if nbytes > MAX_BYTES else 0


def run(args):
    missing = missing_packages()
    if missing:
        print(f"error: training needs {' and '.join(missing)}: pip install 'tinygraph-lstm[train]' "
              f"(bash run.sh setup installs them)", file=sys.stderr)
        return 2
    from tinygraph import optim
    from lstm.tasks import make_task
    from lstm.train import Model, sample, save_run, train

    torch_cell = None
    if args.from_torch is not None:
        try:
            torch_cell = from_torch_file(args)
        except (ImportError, ValueError) as err:
            print(f"error: {err}", file=sys.stderr)
            return 2
    args.model, args.layers, args.hidden = args.model or "blog", args.layers or 1, args.hidden or 32
    stack = f"x{args.layers}" if args.layers > 1 else ""
    out = args.out or Path("runs") / f"{args.task}-{args.model}{stack}-T{args.seq_len}-h{args.hidden}-seed{args.seed}"
    names = ["parameters.npz", "run.json", "loss.png"]
    if args.task == "chars" and args.sample:
        names.append("sample.txt")
    outs = files.output_folder(out, names, force=args.force, inputs={"--load": args.load})
    try:
        task = make_task(args.task, args.seq_len, seed=args.seed)
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    too_big = parameter_bytes(args.model, task, args.hidden, args.layers)
    if too_big:
        print(f"error: --hidden {args.hidden}: the parameters would take {size_text(too_big)}; "
              f"parameters.npz may hold at most {size_text(MAX_BYTES)}", file=sys.stderr)
        return 2
    if torch_cell is not None and torch_cell.input_size != task.input_size:
        print(f"error: --from-torch {args.from_torch}: the model takes inputs of size {torch_cell.input_size}, "
              f"the {args.task} task gives {task.input_size}", file=sys.stderr)
        return 2
    model = Model(args.model, task.input_size, args.hidden, task.output_size, seed=args.seed, num_layers=args.layers)
    if torch_cell is not None:
        model.cell.set_parameters({k: p.value for k, p in torch_cell.parameters().items()})
    if args.load is not None:
        try:
            optim.load(args.load, model.parameters())
        except ArrayFileError as err:
            print(f"error: --load: {err}", file=sys.stderr)
            return 2
    try:
        history = train(model, task, args.steps, batch_size=args.batch, optimizer=args.optimizer, lr=args.lr,
                        clip=args.clip, progress=not args.no_progress,
                        eval_every=args.eval_every or max(1, args.steps // 10))
    except FloatingPointError as err:
        print(f"error: training diverged: {err}", file=sys.stderr)
        return 1
    settings = {"task": args.task, "model": args.model, "layers": args.layers,
                "from_torch": None if args.from_torch is None else str(args.from_torch), "steps": args.steps, "seq_len": args.seq_len,
                "hidden": args.hidden, "seed": args.seed, "clip": args.clip, "batch": args.batch,
                "optimizer": args.optimizer, "lr": args.lr, "load": None if args.load is None else str(args.load)}
    try:
        paths = save_run(out, model, task, history, settings)
    except (OutputPathError, OSError) as err:
        raise files.Refused(f"cannot write into {str(out)!r}: {getattr(err, 'strerror', None) or err}") from None
    if args.task == "chars" and args.sample:
        text = sample(model, task, length=args.sample, seed=args.seed)
        outs["sample.txt"].write_text(text + "\n")
        print(f"sample: {text[:200]!r}{' ...' if len(text) > 200 else ''}")
    unit = "MSE" if task.loss == "mse" else "cross-entropy (nats/char)"
    ratio = history.eval_after / task.baseline
    best_step, best = history.best_eval
    print(f"{args.task}/{args.model}{stack} T={args.seq_len} h={args.hidden} seed={args.seed}: held-out {unit} "
          f"{history.eval_before:.4f} -> {history.eval_after:.4f} (best {best:.4f} at step {best_step}), "
          f"baseline {task.baseline:.4f} "
          f"({ratio:.1%} of baseline) after {args.steps} steps in {history.seconds:.1f} s; "
          f"wrote {paths['parameters']}, {paths['plot']}, {paths['run']}")
    return 0
