"""A big graph of small arrays: a 2-layer BlogLSTM on 7-element vectors, unrolled over 1,000
characters (about 50,000 ops), forward + backward, tinygraph against the same code in PyTorch
eager on one thread.

This is where a Python engine on numpy can beat PyTorch eager: every op works on 7 numbers,
so the time is the engines' per-op cost, not arithmetic. Every implementation computes

    L = Σ_t Σ G_t ⊙ H_t⁽²⁾        (H⁽²⁾ the top layer's output; G fixed random weights)

from the same one-hot characters and parameters, and its gradients with respect to the 24
parameters. Before timing, the losses and gradients are checked equal (relative 1e-10, float64).

- ``tinygraph``: ``lstm.cells.Stacked([BlogLSTM(7, 7), BlogLSTM(7, 7)])``, the teaching graph,
  built and backpropagated by the engine on every call;
- ``tinygraph tape``: the same function through ``tg.compile`` (traced once before timing,
  replayed in the timed calls);
- ``torch eager``: the same equations with torch tensors, op by op, ``loss.backward()``.

The functions take turns in rounds; the result is each one's median over the rounds of its
time divided by PyTorch's time in the same round.

    .venv/bin/python benchmarks/small_vectors.py            # about half a minute
    .venv/bin/python benchmarks/small_vectors.py --steps 200 --rounds 3
"""
import argparse
import os
import sys
import time

for _variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")

import numpy as np  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))      # loaded by path from lstm_speed.py too
from rounds import interleaved, median_ratio  # noqa: E402  (benchmarks/rounds.py)

import checkout  # noqa: E402,F401  (benchmarks/checkout.py: this checkout's tinygraph and lstm)
import tinygraph as tg  # noqa: E402
from lstm.cells import BlogLSTM, Stacked  # noqa: E402

SIZE = 7            # characters in the alphabet = input size = hidden size


class Workload:
    """The shared inputs: a 2-layer stack's parameters, T one-hot characters, the weights G."""

    def __init__(self, steps, seed=0):
        self.steps = steps
        self.stack = Stacked([BlogLSTM(SIZE, SIZE, seed=seed), BlogLSTM(SIZE, SIZE, seed=seed + 1)])
        self.params = list(self.stack.parameters().values())
        rng = np.random.default_rng(seed)
        self.X = np.eye(SIZE)[rng.integers(0, SIZE, steps)][:, None, :]      # (T, 1, 7)
        self.G = rng.standard_normal((steps, 1, SIZE))

    def tinygraph_loss(self, xs):
        run = self.stack.unroll(list(xs))
        return (tg.stack(run.outputs) * self.G).sum()

    def ops(self):
        loss = self.tinygraph_loss(list(self.X))
        return sum(1 for node in tg.topological_order(loss, needs_grad_only=False) if node.op is not None)


class Tinygraph:
    name = "tinygraph"

    def __init__(self, work):
        self.work, self.xs = work, list(work.X)

    def run(self):
        tg.zero_grad(self.work.params)
        loss = self.work.tinygraph_loss(self.xs)
        tg.backward(loss, retain_grads=False)
        return loss.item()

    def result(self):
        return self.run(), [p.grad for p in self.work.params]


class TinygraphTape(Tinygraph):
    name = "tinygraph tape"

    def __init__(self, work):
        super().__init__(work)
        self.step = tg.compile(work.tinygraph_loss)

    def run(self):
        tg.zero_grad(self.work.params)
        return self.step(self.xs)


class TorchEager:
    """The same equations as BlogLSTM._build, op by op, on torch tensors."""

    name = "torch eager"

    def __init__(self, work):
        import torch
        torch.set_num_threads(1)
        self.torch, self.work = torch, work
        self.layers = [{k: torch.tensor(p.value, requires_grad=True) for k, p in cell.parameters().items()}
                       for cell in work.stack.layers]
        self.X = [torch.tensor(x) for x in work.X]
        self.G = torch.tensor(work.G)

    def run(self):
        torch = self.torch
        for layer in self.layers:
            for p in layer.values():
                p.grad = None
        state = [(torch.zeros(1, SIZE, dtype=torch.float64),) * 2 for _ in self.layers]
        outputs = []
        for x in self.X:
            for l, p in enumerate(self.layers):
                H, C = state[l]
                I = torch.sigmoid(x @ p["W_ix"] + H @ p["W_ih"] + p["b_i"])
                F = torch.sigmoid(x @ p["W_fx"] + H @ p["W_fh"] + p["b_f"])
                C_i = torch.tanh(x @ p["W_cx"] + H @ p["W_ch"] + p["b_c"])
                C_t = F * C + I * C_i
                O = torch.sigmoid(x @ p["W_ox"] + H @ p["W_oh"] + p["b_o"])
                x = O * torch.tanh(C_t)
                state[l] = (x, C_t)
            outputs.append(x)
        loss = (torch.stack(outputs) * self.G).sum()
        loss.backward()
        return loss.item()

    def result(self):
        loss = self.run()
        return loss, [p.grad.numpy() for layer in self.layers for p in layer.values()]


def check_equal(results, names):
    """Every implementation's loss and gradients against the first one's (relative 1e-10)."""
    loss_ref, grads_ref = results[0]
    for name, (loss, grads) in zip(names[1:], results[1:]):
        worst = abs(loss - loss_ref) / abs(loss_ref)
        for a, b in zip(grads_ref, grads):
            worst = max(worst, float(np.abs(a - b).max() / np.abs(a).max()))
        if not worst <= 1e-10:
            raise SystemExit(f"small vectors: {name} disagrees with {names[0]}: relative difference {worst:.1e}")


def measure(steps=1000, rounds=5, use_torch=True):
    """Rows (name, median ms, × torch eager (rounds)) and the graph's op count; the ratio
    column is None without PyTorch."""
    work = Workload(steps)
    classes = [Tinygraph, TinygraphTape]
    try:
        import torch  # noqa: F401
        if use_torch:
            classes.append(TorchEager)
    except ImportError:
        pass
    started = time.perf_counter()
    impls = [cls(work) for cls in classes]
    impls[1].run()                                     # the trace: not timed
    trace_s = time.perf_counter() - started
    check_equal([impl.result() for impl in impls], [impl.name for impl in impls])
    times = interleaved([impl.run for impl in impls], rounds)
    ref = times[-1] if classes[-1] is TorchEager else None
    rows = []
    for impl, record in zip(impls, times):
        ratio = median_ratio(record, ref) if ref else None
        rows.append(dict(name=impl.name, median_ms=float(np.median(record)) * 1e3, ratio=ratio))
    return rows, work.ops(), trace_s


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=1000, help="characters to unroll over (default 1000)")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds (default 5)")
    args = parser.parse_args(argv)
    rows, ops, trace_s = measure(args.steps, args.rounds)
    print(f"2-layer BlogLSTM, 7-element vectors, T={args.steps}: {ops} ops; load average "
          f"{os.getloadavg()[0]:.1f}; tracing took {trace_s:.1f} s")
    for row in rows:
        ratio = "" if row["ratio"] is None else f"{row['ratio']:.2f}× torch eager"
        print(f"  {row['name']:<16}{row['median_ms']:>10.1f} ms  {ratio}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
