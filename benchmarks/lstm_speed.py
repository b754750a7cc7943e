"""BlogLSTM forward + backward through time: tinygraph against hand-written numpy and PyTorch.

Every implementation computes, in the same run, on the same inputs and parameters,

    L = Σ_t Σ G_t ⊙ H_t        (G fixed random weights: every H_t receives a gradient)

and its gradients with respect to the 12 parameters:

- ``numpy reference``: benchmarks/reference_numpy.py, hand-written forward + BPTT (one gate
  matmul per step, input projection and weight gradients as single matmuls over all steps,
  preallocated buffers). All ratios are to this.
- ``tinygraph``: ``lstm.cells.BlogLSTM``, the teaching graph (~30 primitive ops per step).
- ``tinygraph fused``: ``lstm.fused_cell.FusedBlogLSTM``, one fused ``lstm_step`` op per step.
- ``tinygraph fused sequence``: ``FusedBlogLSTM.sequence``, one ``lstm_sequence`` op for
  all T steps.
- ``tinygraph tape`` and ``tinygraph fused tape``: the first two through ``tg.compile``
  (traced once before timing; the timed calls replay the recorded numpy calls).
- ``tinygraph tape, batch_steps``: the teaching graph through ``tg.compile(fn,
  batch_steps=True)``, which joins the matmuls that share a weight (not bit for bit).
- ``torch nn.LSTM`` and ``torch LSTMCell loop`` (eager, one cell call per step), if
  PyTorch is installed.

Before timing, each implementation's loss and gradients are compared with the reference
(the "agrees" column: the largest relative difference over the loss and the 12 gradients).
Times are per forward + backward, repeated in rounds (each round runs every implementation
once, so a noisy neighbour slows all alike); the table shows the minimum and median times,
the ratio of minimum times to the reference's, "× numpy (rounds)": the median over the
rounds of (time / the reference's time in the same round), which a loaded machine disturbs
least and by which the goals are judged, and the achieved GFLOP/s (the matmul FLOPs of one forward + backward, 8·T·r·h·(2d + 3h),
divided by the minimum time).

Also measured: the small-vector workload of benchmarks/small_vectors.py (a 2-layer BlogLSTM
on 7-element vectors over 1,000 characters, ~50,000 ops, against the same code in PyTorch
eager), the peak memory (tracemalloc, which sees numpy's allocations) of forward +
backward at the medium size with T = 1,000 steps, and the time to draw an unrolled graph.

    python -m lstm bench                      # everything (1.5-3.5 minutes)
    python -m lstm bench --quick              # tiny, small, medium; fewer repeats
    python -m lstm bench --sizes tiny,small --dtypes float32 --repeats 20
    .venv/bin/python benchmarks/lstm_speed.py --help

BLAS runs on ``--threads`` threads (default 1: the comparison is about the code, and a
single thread is far less disturbed by other processes); PyTorch gets the same number.
"""
import argparse
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")
SIZES = {                    # name: (B, N, H, T) = (rows r, input size d, hidden size h, steps)
    "tiny": (1, 8, 16, 20),
    "small": (16, 32, 64, 50),
    "medium": (32, 128, 256, 100),
    "large": (64, 256, 512, 100),
}
REPEATS = {"tiny": 40, "small": 15, "medium": 7, "large": 3}
QUICK_REPEATS = {"tiny": 15, "small": 5, "medium": 3, "large": 2}


def build_parser():
    parser = argparse.ArgumentParser(
        prog="python -m lstm bench",
        description="Time BlogLSTM forward + backward through time: tinygraph (teaching graph and fused "
                    "steps) against a hand-written numpy BPTT and PyTorch; peak memory at T=1,000; drawing.")
    add_arguments(parser)
    return parser


def _count(minimum):
    def parse(text):
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}, got {value}")
        return value
    return parse


def add_arguments(parser):
    parser.add_argument("--sizes", default=None,
                        help="comma-separated sizes from " + ", ".join(f"{k} {v}" for k, v in SIZES.items())
                             + " as (B, N, H, T); default all (--quick: tiny, small, medium)")
    parser.add_argument("--dtypes", default="float64,float32", help="comma-separated: float64, float32")
    parser.add_argument("--repeats", type=_count(1), default=None,
                        help="timed runs per implementation (default by size: "
                             + ", ".join(f"{k} {v}" for k, v in REPEATS.items()) + ")")
    parser.add_argument("--quick", action="store_true", help="tiny, small and medium with fewer repeats")
    parser.add_argument("--threads", type=_count(1), default=1, help="BLAS and PyTorch threads (default 1)")
    parser.add_argument("--no-torch", action="store_true", help="leave PyTorch out even if installed")
    parser.add_argument("--memory-steps", type=_count(0), default=1000,
                        help="T for the peak-memory measurement at the medium size (0 skips it; default 1000)")
    parser.add_argument("--small-steps", type=_count(0), default=1000,
                        help="characters for the small-vector 2-layer LSTM against PyTorch eager (0 skips it; "
                             "default 1000)")
    parser.add_argument("--no-draw", action="store_true", help="skip timing the drawings")
    parser.add_argument("--render-timeout", type=float, default=20,
                        help="seconds Graphviz's dot may take per drawing (0: do not render; default 20)")
    parser.add_argument("--markdown", action="store_true", help="print the tables as Markdown")


def to_argv(args):
    """The command line that gives back ``args`` (``python -m lstm bench`` runs this file with it)."""
    argv = []
    for option in ("sizes", "dtypes", "repeats", "threads", "memory_steps", "small_steps", "render_timeout"):
        value = getattr(args, option)
        if value is not None:
            argv += ["--" + option.replace("_", "-"), str(value)]
    for flag in ("quick", "no_torch", "no_draw", "markdown"):
        if getattr(args, flag):
            argv.append("--" + flag.replace("_", "-"))
    return argv


if __name__ == "__main__":
    ARGS = build_parser().parse_args()
    for _variable in THREAD_VARIABLES:            # before numpy loads its BLAS
        os.environ[_variable] = str(ARGS.threads)

import gc  # noqa: E402
import importlib.util  # noqa: E402
import platform  # noqa: E402
import shutil  # noqa: E402
import subprocess  # noqa: E402
import time  # noqa: E402
import tracemalloc  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, HERE)                        # also when lstm/commands/bench.py loads this file by path
import checkout  # noqa: E402,F401  (benchmarks/checkout.py: this checkout's tinygraph and lstm)
import tinygraph as tg  # noqa: E402
from lstm.cells import BlogLSTM  # noqa: E402
from lstm.fused_cell import FusedBlogLSTM  # noqa: E402


def _load(name):
    """A module of this folder, whether this file runs as a script or is loaded by path."""
    spec = importlib.util.spec_from_file_location(name, os.path.join(HERE, f"{name}.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


reference = _load("reference_numpy")
machine_info = _load("machine")
rounds = _load("rounds")
small_vectors = _load("small_vectors")
PARAMETER_KEYS = reference.PARAMETER_KEYS


# --- one benchmark case: sizes, dtype, the shared inputs -------------------------

class Case:
    """Inputs shared by every implementation: parameters, X (T, r, d), G (T, r, h)."""

    def __init__(self, label, B, N, H, T, dtype, seed=0):
        self.label, self.B, self.N, self.H, self.T = label, B, N, H, T
        self.dtype = np.dtype(dtype)
        rng = np.random.default_rng(seed)
        cell = BlogLSTM(N, H, seed=seed, dtype=self.dtype)
        self.params = {k: p.value for k, p in cell.parameters().items()}
        self.X = rng.standard_normal((T, B, N)).astype(self.dtype)
        self.G = rng.standard_normal((T, B, H)).astype(self.dtype)
        for array in (self.X, self.G):      # read-only: tinygraph uses them without a copy (docs/engine.md)
            array.setflags(write=False)
        self.flops = reference.matmul_flops(T, B, N, H)


# --- the implementations: run() = forward + backward; result() = (loss, grads) ----

class NumpyReference:
    name = "numpy reference"

    def __init__(self, case):
        self.case = case
        self.model = reference.NumpyBlogLSTM(case.params, case.T, case.B, case.dtype)

    def run(self):
        H = self.model.forward(self.case.X)
        self.loss = np.vdot(H, self.case.G)
        self.grads = self.model.backward(self.case.G)

    def result(self):
        self.run()
        return float(self.loss), {k: self.grads[k] for k in PARAMETER_KEYS}


class Tinygraph:
    name = "tinygraph"
    cell_class = BlogLSTM

    def __init__(self, case):
        self.case = case
        self.cell = self.cell_class(case.N, case.H, dtype=case.dtype, parameters=case.params)
        self.parameters = list(self.cell.parameters().values())

    def run(self):
        for p in self.parameters:
            p.grad = None
        run = self.cell.unroll(self.case.X)
        self.loss = (tg.stack(run.outputs) * self.case.G).sum()
        tg.backward(self.loss, retain_grads=False)

    def result(self):
        self.run()
        return self.loss.item(), {k: p.grad for k, p in self.cell.parameters().items()}


class TinygraphFused(Tinygraph):
    name = "tinygraph fused"
    cell_class = FusedBlogLSTM


class TinygraphTape(Tinygraph):
    """The teaching graph through tg.compile: traced here, replayed in every timed run."""

    name = "tinygraph tape"
    batch_steps = False

    def __init__(self, case):
        super().__init__(case)
        self.xs = list(case.X)
        self.step = tg.compile(lambda xs: (tg.stack(self.cell.unroll(list(xs)).outputs) * case.G).sum(),
                               batch_steps=self.batch_steps)
        self.step(self.xs)

    def run(self):
        for p in self.parameters:
            p.grad = None
        self.loss = self.step(self.xs)

    def result(self):
        self.run()
        return self.loss, {k: p.grad for k, p in self.cell.parameters().items()}


class TinygraphTapeBatched(TinygraphTape):
    """The teaching graph through tg.compile(..., batch_steps=True): the matmuls that share a
    weight joined (each weight's gradient one matmul over all steps). Not bit for bit."""

    name = "tinygraph tape, batch_steps"
    batch_steps = True


class TinygraphFusedTape(TinygraphTape):
    name = "tinygraph fused tape"
    cell_class = FusedBlogLSTM


class TinygraphSequence(TinygraphFused):
    name = "tinygraph fused sequence"

    def run(self):
        for p in self.parameters:
            p.grad = None
        self.loss = (self.cell.sequence(self.case.X).H * self.case.G).sum()
        tg.backward(self.loss, retain_grads=False)


def _torch():
    try:
        import torch
    except ImportError:
        return None
    return torch


TORCH_GATES = ("i", "f", "c", "o")      # PyTorch's order of the four gates' blocks


class TorchLSTM:
    name = "torch nn.LSTM"

    def __init__(self, case):
        torch = self.torch = _torch()
        self.case = case
        dtype = {np.dtype(np.float64): torch.float64, np.dtype(np.float32): torch.float32}[case.dtype]
        self.module = self.make_module(torch, case).to(dtype)
        p = case.params
        weight_ih = np.concatenate([p[f"W_{g}x"] for g in TORCH_GATES], axis=1).T
        weight_hh = np.concatenate([p[f"W_{g}h"] for g in TORCH_GATES], axis=1).T
        bias = np.concatenate([p[f"b_{g}"] for g in TORCH_GATES])
        with torch.no_grad():
            for name, value in (("weight_ih", weight_ih), ("weight_hh", weight_hh), ("bias_ih", bias),
                                ("bias_hh", np.zeros_like(bias))):
                getattr(self.module, self.prefix(name)).copy_(torch.from_numpy(np.ascontiguousarray(value)))
        self.X = torch.from_numpy(np.array(case.X))      # copies: tinygraph freezes the arrays it is given
        self.G = torch.from_numpy(np.array(case.G))
        self.weights = list(self.module.parameters())

    @staticmethod
    def make_module(torch, case):
        return torch.nn.LSTM(case.N, case.H)

    @staticmethod
    def prefix(name):
        return name + "_l0"

    def forward(self):
        out, _ = self.module(self.X)
        return out

    def run(self):
        for w in self.weights:
            w.grad = None
        self.loss = (self.forward() * self.G).sum()
        self.loss.backward()

    def result(self):
        self.run()
        h = self.case.H
        grads = {}
        for kind, name in (("x", "weight_ih"), ("h", "weight_hh")):
            full = getattr(self.module, self.prefix(name)).grad.numpy().T
            for k, g in enumerate(TORCH_GATES):
                grads[f"W_{g}{kind}"] = full[:, k * h:(k + 1) * h]
        bias = getattr(self.module, self.prefix("bias_ih")).grad.numpy()
        for k, g in enumerate(TORCH_GATES):
            grads[f"b_{g}"] = bias[k * h:(k + 1) * h]
        return self.loss.item(), grads


class TorchLSTMCellLoop(TorchLSTM):
    name = "torch LSTMCell loop"

    @staticmethod
    def make_module(torch, case):
        return torch.nn.LSTMCell(case.N, case.H)

    @staticmethod
    def prefix(name):
        return name

    def forward(self):
        torch = self.torch
        h = c = torch.zeros(self.case.B, self.case.H, dtype=self.X.dtype)
        outputs = []
        for x_t in self.X:
            h, c = self.module(x_t, (h, c))
            outputs.append(h)
        return torch.stack(outputs)


def implementations(use_torch):
    found = [NumpyReference, Tinygraph, TinygraphTape, TinygraphTapeBatched, TinygraphFused, TinygraphFusedTape,
             TinygraphSequence]
    if use_torch and _torch() is not None:
        found += [TorchLSTM, TorchLSTMCellLoop]
    return found


def largest_difference(expected, got):
    """The largest relative difference over the loss and the 12 gradients."""
    loss_ref, grads_ref = expected
    loss, grads = got
    worst = abs(loss - loss_ref) / max(abs(loss_ref), 1e-30)
    for k in PARAMETER_KEYS:
        a, b = np.asarray(grads_ref[k], np.float64), np.asarray(grads[k], np.float64)
        worst = max(worst, float(np.abs(a - b).max() / max(np.abs(a).max(), 1e-30)))
    return worst


def time_case(case, classes, repeats):
    """Build every implementation, check it against the reference, then time them round-robin."""
    impls = [cls(case) for cls in classes]
    expected = impls[0].result()
    agrees = [largest_difference(expected, impl.result()) for impl in impls]
    tolerance = 1e-9 if case.dtype == np.float64 else 2e-3
    for impl, diff in zip(impls, agrees):
        if not diff <= tolerance:
            raise SystemExit(f"bench: {impl.name} disagrees with the numpy reference at {case.label} "
                             f"{case.dtype.name}: largest relative difference {diff:.2e} > {tolerance:.0e}")
    times = rounds.interleaved([impl.run for impl in impls], repeats)
    rows = []
    ref = times[0]
    for impl, record, diff in zip(impls, times, agrees):
        best, median = min(record), float(np.median(record))
        paired = rounds.median_ratio(record, ref)
        rows.append(dict(size=case.label, dtype=case.dtype.name, name=impl.name, min_ms=best * 1e3,
                         median_ms=median * 1e3, ratio_min=best / min(ref), ratio_paired=paired,
                         gflops=case.flops / best / 1e9, agrees=diff))
    return rows


# --- memory ---------------------------------------------------------------------

def peak_memory(make, run):
    """Peak bytes allocated (tracemalloc: Python objects and numpy arrays) by ``make()``
    followed by ``run(made)``, above what was allocated before."""
    gc.collect()
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        made = make()
        run(made)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    del made
    gc.collect()
    return peak - base


def memory_rows(steps, dtypes, include_plain):
    B, N, H, _ = SIZES["medium"]
    rows = []
    for dtype in dtypes:
        case = Case(f"medium, T={steps}", B, N, H, steps, dtype)
        size = case.dtype.itemsize
        stored = 7 * steps * B * H * size
        contenders = [NumpyReference, TinygraphSequence, TinygraphFused] + ([Tinygraph] if include_plain else [])
        peaks = {}
        for cls in contenders:
            peaks[cls.name] = peak_memory(lambda cls=cls: cls(case), lambda impl: impl.run())
        ref = peaks[NumpyReference.name]
        for name, peak in peaks.items():
            rows.append(dict(case=case.label, dtype=case.dtype.name, name=name, peak_mb=peak / 2**20,
                             ratio=peak / ref, per_step_kb=peak / steps / 2**10))
        rows.append(dict(case=case.label, dtype=case.dtype.name,
                         name="(the 7 r×h arrays per step the reference keeps)",
                         peak_mb=stored / 2**20, ratio=stored / ref, per_step_kb=stored / steps / 2**10))
    return rows


# --- drawing --------------------------------------------------------------------

def draw_rows(render_timeout, repeats=3):
    """Time tg.draw (building the DOT source) and Graphviz's dot (laying it out as SVG, given
    at most ``render_timeout`` seconds) on BlogLSTM graphs of ~500 and ~2,000 nodes."""
    rows = []
    rng = np.random.default_rng(0)
    for steps in (20, 76):
        run = BlogLSTM(8, 16, seed=0).unroll(rng.standard_normal((steps, 1, 8)))
        loss = tg.stack(run.outputs).sum()
        tg.backward(loss)
        nodes = len(tg.topological_order(loss, needs_grad_only=False))
        build = []
        for _ in range(repeats):
            start = time.perf_counter()
            source = tg.draw(loss).source
            build.append(time.perf_counter() - start)
        render = "no dot"
        if shutil.which("dot") and render_timeout > 0:
            start = time.perf_counter()
            try:
                subprocess.run(["dot", "-Tsvg", "-o", os.devnull], input=source.encode(), check=True,
                               timeout=render_timeout, capture_output=True)
                render = f"{time.perf_counter() - start:.1f}"
            except subprocess.TimeoutExpired:
                render = f"> {render_timeout:g} (stopped)"
        rows.append(dict(graph=f"BlogLSTM unrolled T={steps} (B=1, N=8, H=16)", nodes=nodes,
                         dot_lines=source.count("\n"), build_ms=min(build) * 1e3, render_s=render))
    return rows


# --- output ---------------------------------------------------------------------

def table(rows, columns, markdown):
    """Rows of dicts as an aligned text table or a Markdown table; columns: (key, title, format)."""
    cells = [[title for _, title, _ in columns]]
    for row in rows:
        cells.append([("" if row[key] is None else fmt.format(row[key])) for key, _, fmt in columns])
    if markdown:
        lines = ["| " + " | ".join(cells[0]) + " |", "|" + "|".join("---" for _ in columns) + "|"]
        lines += ["| " + " | ".join(r) + " |" for r in cells[1:]]
        return "\n".join(lines)
    widths = [max(len(r[i]) for r in cells) for i in range(len(columns))]
    return "\n".join("  ".join(c.ljust(w) if i < 3 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths)))
                     for r in cells)


SPEED_COLUMNS = [("size", "size", "{}"), ("dtype", "dtype", "{}"), ("name", "implementation", "{}"),
                 ("min_ms", "min ms", "{:.2f}"), ("median_ms", "median ms", "{:.2f}"),
                 ("ratio_min", "× numpy (min)", "{:.2f}"), ("ratio_paired", "× numpy (rounds)", "{:.2f}"),
                 ("gflops", "GFLOP/s", "{:.1f}"), ("agrees", "agrees", "{:.0e}")]
MEMORY_COLUMNS = [("case", "case", "{}"), ("dtype", "dtype", "{}"), ("name", "implementation", "{}"),
                  ("peak_mb", "peak MiB", "{:.1f}"), ("ratio", "× numpy", "{:.2f}"),
                  ("per_step_kb", "KiB per step", "{:.1f}")]
SMALL_COLUMNS = [("name", "implementation", "{}"), ("median_ms", "median ms", "{:.1f}"),
                 ("ratio", "× torch eager (rounds)", "{:.2f}")]
DRAW_COLUMNS = [("graph", "graph", "{}"), ("nodes", "nodes", "{}"), ("dot_lines", "DOT lines", "{}"),
                ("build_ms", "tg.draw ms", "{:.1f}"), ("render_s", "dot -Tsvg s", "{}")]


#: The goals, as the largest "× numpy (rounds)" per implementation and size.
GOALS = {
    "tinygraph": {"tiny": 4.0, "medium": 1.2},
    "tinygraph tape": {"tiny": 4.0, "medium": 1.2},
    "tinygraph tape, batch_steps": {"tiny": 4.0, "medium": 1.2},
    "tinygraph fused": {"tiny": 2.0, "medium": 1.25, "large": 1.25},
    "tinygraph fused tape": {"tiny": 2.0, "medium": 1.25, "large": 1.25},
    "tinygraph fused sequence": {"tiny": 3.0, "medium": 1.25, "large": 1.25},
}


def goals(rows, memory, small=()):
    """The goals, each with the measured numbers and met / NOT met."""
    by = {(r["size"], r["dtype"], r["name"]): r for r in rows}
    lines = []
    for size, dtype, name in sorted({(r["size"], r["dtype"], r["name"]) for r in rows}):
        if not name.startswith("tinygraph"):
            continue
        r = by[size, dtype, name]
        limit = GOALS[name].get(size)
        if limit is not None:
            ok = r["ratio_paired"] <= limit
            lines.append(f"{size} {dtype} {name}: {r['ratio_paired']:.2f}× numpy (rounds; min {r['ratio_min']:.2f}×), "
                         f"goal ≤ {limit}×: {'met' if ok else 'NOT met'}")
        cell_loop = by.get((size, dtype, TorchLSTMCellLoop.name))
        if size in ("tiny", "small") and cell_loop is not None:
            ok = r["ratio_paired"] < cell_loop["ratio_paired"]
            lines.append(f"{size} {dtype} {name}: {r['ratio_paired']:.2f}× numpy vs torch LSTMCell loop "
                         f"{cell_loop['ratio_paired']:.2f}× (min {r['min_ms']:.2f} vs {cell_loop['min_ms']:.2f} ms), "
                         f"goal faster: {'met' if ok else 'NOT met'}")
    for r in memory:
        if r["name"].startswith("tinygraph"):
            ok = r["ratio"] <= 1.5
            lines.append(f"peak memory {r['case']} {r['dtype']} {r['name']}: {r['ratio']:.2f}× numpy, "
                         f"goal ≤ 1.5×: {'met' if ok else 'NOT met'}")
    for r in small:
        if r["name"].startswith("tinygraph") and r["ratio"] is not None:
            ok = r["ratio"] <= 0.5
            lines.append(f"small vectors, 2-layer LSTM: {r['name']} {r['ratio']:.2f}× torch eager's time, "
                         f"goal ≥ 2× faster (≤ 0.5×): {'met' if ok else 'NOT met'}")
    return lines


def machine(use_torch=True):
    import numpy
    blas = "unknown"
    try:
        config = numpy.show_config(mode="dicts")
        info = config["Build Dependencies"]["blas"]
        blas = f"{info.get('name')} {info.get('version')}"
    except Exception:                      # older numpy: no dict mode
        pass
    cpu = machine_info.cpu_name()
    torch = _torch() if use_torch else None
    load = " / ".join(f"{x:.1f}" for x in os.getloadavg())
    return (f"{cpu}, {os.cpu_count()} CPUs (load average {load}); Python {platform.python_version()}, numpy {numpy.__version__} "
            f"({blas}), torch {torch.__version__ if torch else 'not used'}; "
            f"threads {os.environ.get('OPENBLAS_NUM_THREADS', 'default')}")


def main(args):
    sys.stdout.reconfigure(line_buffering=True)
    sizes = args.sizes.split(",") if args.sizes else (["tiny", "small", "medium"] if args.quick else list(SIZES))
    dtypes = args.dtypes.split(",")
    for s in sizes:
        if s not in SIZES:
            raise SystemExit(f"bench: unknown size {s!r}; choose from {', '.join(SIZES)}")
    for d in dtypes:
        if d not in ("float64", "float32"):
            raise SystemExit(f"bench: unknown dtype {d!r}; choose float64 or float32")
    use_torch = not args.no_torch
    if use_torch and _torch() is not None:
        _torch().set_num_threads(args.threads)
    print(f"machine: {machine(use_torch)}", flush=True)
    if use_torch and _torch() is None:
        print("PyTorch is not installed: its columns are left out (pip install torch==2.13.0)")
    classes = implementations(use_torch)
    rows = []
    for size in sizes:
        B, N, H, T = SIZES[size]
        repeats = args.repeats or (QUICK_REPEATS if args.quick else REPEATS)[size]
        for dtype in dtypes:
            case = Case(size, B, N, H, T, dtype)
            started = time.perf_counter()
            rows += time_case(case, classes, repeats)
            print(f"  timed {size} (B={B}, N={N}, H={H}, T={T}) {dtype}: {repeats} repeats "
                  f"in {time.perf_counter() - started:.1f} s", file=sys.stderr, flush=True)
    print("\nforward + backward through time, L = Σ_t Σ G_t ⊙ H_t "
          "(sizes as (B, N, H, T): " + ", ".join(f"{s} {SIZES[s]}" for s in sizes) + ")")
    print(table(rows, SPEED_COLUMNS, args.markdown))
    memory = []
    if args.memory_steps:
        memory = memory_rows(args.memory_steps, dtypes[:1], include_plain=not args.quick)
        print(f"\npeak memory of forward + backward (tracemalloc), medium size with T = {args.memory_steps}")
        print(table(memory, MEMORY_COLUMNS, args.markdown))
    small = []
    if args.small_steps:
        small, ops, trace_s = small_vectors.measure(args.small_steps, rounds=3 if args.quick else 5,
                                                    use_torch=use_torch)
        print(f"\nsmall vectors: 2-layer BlogLSTM (7, 7) over {args.small_steps} characters, {ops} ops, float64, "
              f"fwd + bwd; the tape's trace took {trace_s:.1f} s (not timed)")
        print(table(small, SMALL_COLUMNS, args.markdown))
    if not args.no_draw:
        print("\ndrawing (tg.draw builds the DOT source; dot renders it)")
        print(table(draw_rows(args.render_timeout), DRAW_COLUMNS, args.markdown))
    print(f"\nmachine at the end: {machine(use_torch)}")
    print("\ngoals (× numpy: median over rounds of the time / the reference's time in the same round):")
    for line in goals(rows, memory, small):
        print("  " + line)
    return 0


if __name__ == "__main__":
    sys.exit(main(ARGS))
