"""What create_graph=True costs: backward that builds the gradients as a graph of
tinygraph ops, against the plain numpy backward, on the same forward graphs.

    .venv/bin/python benchmarks/create_graph.py

Prints CPU time per backward (best of 7 interleaved rounds, the forward built anew each
call and timed separately so it is subtracted), the ratio, and how many nodes the
backward graph adds.
"""
import os

for variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(variable, "1")

import numpy as np  # noqa: E402

import checkout  # noqa: E402,F401  (benchmarks/checkout.py: this checkout's tinygraph and lstm)
import tinygraph as tg  # noqa: E402
from rounds import best_cpu_time as best  # noqa: E402  (benchmarks/rounds.py)
from lstm.cells import BlogLSTM  # noqa: E402


def mlp(r=8, d=16, h=32):
    rng = np.random.default_rng(0)
    X, W, b = rng.standard_normal((r, d)), rng.standard_normal((d, h)), rng.standard_normal(h)
    return lambda: tg.tanh(X @ tg.parameter(W) + tg.parameter(b)).sum()


def lstm(T, r, d, h):
    cell = BlogLSTM(d, h, seed=0)
    X = np.random.default_rng(0).standard_normal((T, r, d))

    def forward():
        tg.zero_grad(list(cell.parameters().values()))
        return tg.stack(cell.unroll(X).outputs).sum()
    return forward


def main():
    cases = {"MLP tanh(XW+b) 8x16x32": (mlp(), 200), "BlogLSTM T=5 batch 1 d=8 h=16": (lstm(5, 1, 8, 16), 20),
             "BlogLSTM T=20 batch 32 d=32 h=32": (lstm(20, 32, 32, 32), 3)}
    print(f"{'case':<34}{'nodes':>7}{'+bwd nodes':>11}{'backward':>12}{'create_graph':>14}{'ratio':>7}")
    for label, (forward, number) in cases.items():
        loss = forward()
        nodes = len(tg.topological_order(loss, needs_grad_only=False))
        tg.backward(loss, create_graph=True)
        leaves = [n for n in tg.topological_order(loss) if n.op is None]
        added = len(tg.topological_order([n.grad for n in leaves], needs_grad_only=False)) - nodes
        t_forward = best(forward, number)
        t_plain = best(lambda: tg.backward(forward()), number) - t_forward
        t_graph = best(lambda: tg.backward(forward(), create_graph=True), number) - t_forward
        print(f"{label:<34}{nodes:>7}{added:>11}{t_plain * 1e3:>9.2f} ms{t_graph * 1e3:>11.2f} ms{t_graph / t_plain:>7.1f}")


if __name__ == "__main__":
    main()
