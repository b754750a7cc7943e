"""Compute a cell's loss and every gradient from .npz files: check a hand derivation.

Start from an example set of files, then run on them:

  python -m lstm gradients --variant blog --example ex/
  python -m lstm gradients --variant blog --params ex/params.npz --inputs ex/inputs.npz \\
      --targets ex/targets.npz --loss mse --out ex/grads.npz

The files (numpy .npz archives, e.g. np.savez("params.npz", W_ix=..., ...)):
  params   exactly the variant's parameters: blog W_ix W_fx W_ox W_cx (d×h), W_ih W_fh W_oh
           W_ch (h×h), b_i b_f b_o b_c (h,); peephole adds W_ic W_fc W_oc (h×h); paper
           w_iota w_phi w_omega (N+2D+1,), W_c (N+D+1, D); rnn W_x (d×h), W_h (h×h), b (h,);
           gru W_rx W_zx W_nx (d×h), W_rh W_zh W_nh (h×h), b_r b_z b_nx b_nh (h,)
  inputs   one array: X of shape (T, r, d) (paper: x of shape (T, N))
  targets  one array Y: floats shaped like the outputs, (T, r, h) (paper (T, D)) for --loss mse;
           integer class indices (T, r) (paper (T,)) for --loss ce
  initial  optional: H0, C0 (r, h) / z_h0, s0 (D,) / h0 (r, h); zeros where missing

With --layers L the cell is L stacked layers (layer l's output is layer l+1's input): the
params are every layer's, keyed layer1.W_ix ... layerL.W_ix, and the initial states
layer1.H0 .... --from-torch model.pt takes the params (and the variant and layers) from a
state_dict of nn.LSTM (blog), nn.GRU (gru) or nn.RNN (rnn) saved with torch.save.

The output file holds one gradient per parameter, "X" (or "x") and the initial state.
A bad file (missing or extra arrays, wrong shapes, NaN/Inf, integer or pickled object
arrays, a header claiming more than 1 GiB) is reported with exit status 2 and no output
file is written. An existing output file (or example file) is replaced only with --force;
an input, a symlink or a device never.
"""
import math
import sys
from pathlib import Path

import numpy as np

from tinygraph.io import MAX_BYTES, ArrayFileError, load_arrays, size_text

from . import files, non_negative_int

HELP = "compute a cell's loss and gradients from .npz files (check a hand derivation)"

ROLES = ("f_iota", "f_phi", "f_omega", "f_c", "f_h")


def add_arguments(parser):
    from lstm.cells import ACTIVATIONS, VARIANTS
    from lstm.losses import LOSSES

    parser.add_argument("--variant", choices=list(VARIANTS),
                        help="which cell (required unless --from-torch, which tells it)")
    parser.add_argument("--layers", type=int, default=None, metavar="L",
                        help="stacked layers (default 1): the params are keyed layer1.W_ix ... layerL.W_ix and "
                             "the initial states layer1.H0 ...")
    parser.add_argument("--loss", default="mse", choices=list(LOSSES), help="loss function (default: mse)")
    files = parser.add_argument_group("files")
    files.add_argument("--params", type=Path, help=".npz with the parameters")
    files.add_argument("--from-torch", type=Path, metavar="MODEL_PT",
                       help="instead of --params: a state_dict of nn.LSTM / nn.GRU / nn.RNN saved with "
                            "torch.save (read with weights_only=True; needs PyTorch)")
    files.add_argument("--inputs", type=Path, help=".npz with the inputs X (paper: x)")
    files.add_argument("--targets", type=Path, help=".npz with the targets Y")
    files.add_argument("--initial-state", type=Path, help=".npz with initial states (optional)")
    files.add_argument("--out", type=Path, help="write the gradients to this .npz (optional)")
    files.add_argument("--force", action="store_true",
                       help="replace the output (or example) files if they exist")
    example = parser.add_argument_group("example files")
    example.add_argument("--example", type=Path, metavar="DIR",
                         help="write random params.npz, inputs.npz, targets.npz into DIR and stop")
    example.add_argument("--input-size", type=int, default=3, help="d (paper: N), default 3")
    example.add_argument("--hidden-size", type=int, default=4, help="h (paper: D), default 4")
    example.add_argument("--batch", type=int, default=2, help="rows r per step (not for paper), default 2")
    example.add_argument("--steps", type=int, default=5, help="time steps T, default 5")
    example.add_argument("--seed", type=non_negative_int, default=0, help="random seed, default 0")
    paper = parser.add_argument_group("paper activations (--variant paper only)")
    for role in ROLES:
        paper.add_argument(f"--{role.replace('_', '-')}", dest=role, choices=sorted(ACTIVATIONS),
                           help=f"{role} (default {'sigmoid' if role in ROLES[:3] else 'tanh'})")


def run(args):
    options = {role: getattr(args, role) for role in ROLES if getattr(args, role) is not None}
    from lstm.torch_bridge import TorchMissing

    try:
        if args.from_torch is not None:
            args.variant, args.layers = torch_variant(args)
        if args.variant is None:
            raise UsageError("give --variant (or --from-torch MODEL_PT)")
        if args.layers is None:
            args.layers = 1
        if args.layers < 1:
            raise UsageError(f"--layers must be at least 1, got {args.layers}")
        if options and args.variant != "paper":
            raise UsageError(f"--{next(iter(options)).replace('_', '-')} is an activation of the paper cell; "
                             f"--variant {args.variant} has none to choose")
        if args.example is not None:
            return write_example(args, options)
        needed = ("inputs", "targets") if args.from_torch is not None else ("params", "inputs", "targets")
        missing = [f"--{name}" for name in needed if getattr(args, name) is None]
        if missing:
            raise UsageError(f"missing {', '.join(missing)} (or use --example DIR to make example files)")
        return compute(args, options)
    except (UsageError, ArrayFileError, ValueError, TypeError, TorchMissing) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2


class UsageError(Exception):
    """A command-line mistake: reported as "error: ..." with exit status 2."""


def torch_variant(args):
    """(variant, layers) of the --from-torch file, checked against --variant/--layers/--params;
    keeps the cell on ``args.torch_cell``."""
    from lstm.cells import variant_of
    from lstm.torch_bridge import load_cell

    if args.params is not None:
        raise UsageError("give either --params or --from-torch, not both")
    cell = load_cell(args.from_torch)
    variant, layers = variant_of(cell), cell.num_layers
    for flag, given, found in (("--variant", args.variant, variant), ("--layers", args.layers, layers)):
        if given is not None and given != found:
            raise UsageError(f"{flag} {given} does not match {args.from_torch}, which holds {variant} "
                             f"with {layers} layer{'s' if layers > 1 else ''}")
    args.torch_cell = cell
    return variant, layers


def load_params(args, options):
    """The parameters (from --params or --from-torch) and a cell of the right sizes."""
    from lstm.array_gradients import build_cell

    if args.from_torch is not None:
        cell = args.torch_cell
        return {k: p.value for k, p in cell.parameters().items()}, cell
    found = load_arrays(args.params, what="parameters")
    layered = sorted({k.partition(".")[0] for k in found if k.startswith("layer")})
    if args.layers == 1 and layered:
        raise UsageError(f"parameters file {str(args.params)!r} holds {len(layered)} layers ({', '.join(layered)}): "
                         f"add --layers {len(layered)}")
    if args.layers > 1:
        try:
            return found, build_cell(args.variant, found, args.layers, **options)
        except ValueError as err:
            raise ArrayFileError(f"parameters file {str(args.params)!r}: {err}") from None
    return load_one_layer(args, options)


def load_one_layer(args, options):
    """The parameters of one cell from --params, checked name by name, and the cell."""
    from lstm.cells import VARIANTS
    from lstm.array_gradients import SIZE_KEY, cell_sizes

    cls = VARIANTS[args.variant]
    found = load_arrays(args.params, what="parameters")
    if SIZE_KEY[args.variant] not in found:         # no sizes to read: report the names alone
        load_arrays(args.params, expected={k: None for k in cls.PARAMETERS}, what="parameters")
    try:
        input_size, hidden_size = cell_sizes(args.variant, found)
    except ValueError as err:
        raise ArrayFileError(f"parameters file {str(args.params)!r}: {err}") from None
    params = load_arrays(args.params, expected=cls.parameter_shapes(input_size, hidden_size), what="parameters")
    return params, cls(input_size, hidden_size, **options)


def load_files(args, options):
    """Read and check the four files; every problem names its file."""
    params, cell = load_params(args, options)
    input_size, hidden_size = cell.input_size, cell.hidden_size
    inputs = load_arrays(args.inputs, expected={cell.INPUT: None}, what="inputs")[cell.INPUT]
    want = cell.input_shape_text(sequence=True)
    if inputs.ndim != len(cell.input_shape(1)) + 1 or inputs.shape[-1] != input_size or 0 in inputs.shape:
        raise ArrayFileError(f"inputs file {str(args.inputs)!r}: array {cell.INPUT!r} has shape {inputs.shape}, "
                             f"expected {want} (from the parameters) with T, r >= 1")
    T = inputs.shape[0]
    batch = None if args.variant == "paper" else inputs.shape[1]
    out_shape = cell.state_shape(batch)
    if args.loss == "ce":
        targets = load_arrays(args.targets, expected={"Y": (T,) + out_shape[:-1]}, kind="int", what="targets")["Y"]
        if targets.size and (targets.min() < 0 or targets.max() >= hidden_size):
            raise ArrayFileError(f"targets file {str(args.targets)!r}: class indices in 'Y' must lie in "
                                 f"[0, {hidden_size}), found {targets.min()} to {targets.max()}")
    else:
        targets = load_arrays(args.targets, expected={"Y": (T,) + out_shape}, what="targets")["Y"]
    initial = None
    if args.initial_state is not None:
        found = load_arrays(args.initial_state, what="initial state")
        unknown = [k for k in found if k not in cell.STATE]
        if unknown:
            raise ArrayFileError(f"initial state file {str(args.initial_state)!r}: unexpected {unknown} "
                                 f"(expected some of {list(cell.STATE)})")
        shapes = cell.state_shapes(batch)
        initial = load_arrays(args.initial_state, expected={k: shapes[k] for k in found}, what="initial state")
    return params, inputs, targets, initial


def compute(args, options):
    from lstm.array_gradients import gradients

    out = None
    if args.out is not None:
        inputs = {f"--{name.replace('_', '-')}": getattr(args, name)
                  for name in ("params", "from_torch", "inputs", "targets", "initial_state")}
        out = files.output(args.out, force=args.force, inputs=inputs)
    params, inputs, targets, initial = load_files(args, options)
    loss, grads = gradients(args.variant, params, inputs, targets, loss=args.loss, initial_state=initial,
                            layers=args.layers, **options)
    if out is not None:
        out.write_arrays(grads)
    layers = f" × {args.layers} layers" if args.layers > 1 else ""
    source = f" (from {args.from_torch})" if args.from_torch is not None else ""
    print(f"variant {args.variant}{layers}{source}, loss {args.loss} = {loss:.10g}")
    print(format_table(grads))
    if args.out is not None:
        print(f"gradients written to {args.out}")
    return 0


def format_table(grads):
    """One row per gradient: name, shape, Frobenius norm, largest |entry|."""
    lines = [f"{'gradient of':<12}{'shape':<14}{'norm':>14}{'max |g|':>14}"]
    for name, g in grads.items():
        lines.append(f"{name:<12}{str(g.shape):<14}{np.linalg.norm(g):>14.6e}{np.abs(g).max(initial=0.0):>14.6e}")
    return "\n".join(lines)


def write_example(args, options):
    """Random parameters (the cell's own initialisation), inputs and targets, so a student
    can run the command at once and then replace the files with their own numbers."""
    from lstm.cells import make_cell

    for flag in ("input_size", "hidden_size", "batch", "steps"):
        if getattr(args, flag) < 1:
            raise UsageError(f"--{flag.replace('_', '-')} must be at least 1, got {getattr(args, flag)}")
    check_example_size(args)
    outs = files.output_folder(args.example, ["params.npz", "inputs.npz", "targets.npz"], force=args.force)
    cell = make_cell(args.variant, args.input_size, args.hidden_size, seed=args.seed, num_layers=args.layers,
                     **options)
    rng = np.random.default_rng(args.seed + 1)
    batch = None if args.variant == "paper" else args.batch
    X = rng.standard_normal((args.steps,) + cell.input_shape(batch))
    out_shape = cell.state_shape(batch)
    if args.loss == "ce":
        Y = rng.integers(0, args.hidden_size, size=(args.steps,) + out_shape[:-1])
    else:
        Y = rng.uniform(-0.9, 0.9, size=(args.steps,) + out_shape)
    folder = args.example
    outs["params.npz"].write_arrays({k: p.value for k, p in cell.parameters().items()})
    outs["inputs.npz"].write_arrays({cell.INPUT: X})
    outs["targets.npz"].write_arrays({"Y": Y})
    print(f"wrote {folder / 'params.npz'} ({', '.join(cell.parameters())})")
    print(f"wrote {folder / 'inputs.npz'} ({cell.INPUT} {X.shape})")
    print(f"wrote {folder / 'targets.npz'} (Y {Y.shape}, for --loss {args.loss})")
    extra = "".join(f" --{k.replace('_', '-')} {v}" for k, v in options.items())
    extra += f" --layers {args.layers}" if args.layers > 1 else ""
    print("now run:")
    print(f"  python -m lstm gradients --variant {args.variant}{extra} --params {folder / 'params.npz'} "
          f"--inputs {folder / 'inputs.npz'} --targets {folder / 'targets.npz'} --loss {args.loss} "
          f"--out {folder / 'grads.npz'}")
    return 0


def check_example_size(args):
    """Refuse sizes whose example files would exceed what an .npz file may hold (and what
    ``load_arrays`` reads back), before anything is allocated: each array is float64 or int64."""
    from lstm.cells import VARIANTS

    rows = () if args.variant == "paper" else (args.batch,)
    one = VARIANTS[args.variant].parameter_shapes(args.input_size, args.hidden_size).values()
    above = VARIANTS[args.variant].parameter_shapes(args.hidden_size, args.hidden_size).values()
    shapes = {"params.npz": list(one) + list(above) * (args.layers - 1),
              "inputs.npz": [(args.steps, *rows, args.input_size)],
              "targets.npz": [(args.steps, *rows) + (() if args.loss == "ce" else (args.hidden_size,))]}
    for name, arrays in shapes.items():
        nbytes = 8 * sum(math.prod(shape) for shape in arrays)
        if nbytes > MAX_BYTES:
            raise UsageError(f"--example: {name} would hold {size_text(nbytes)} (--input-size {args.input_size}, "
                             f"--hidden-size {args.hidden_size}, --batch {args.batch}, --steps {args.steps}); "
                             f"an .npz file may hold at most {size_text(MAX_BYTES)}")
