"""How long do drawings take? Times tinygraph.draw and Graphviz on large graphs.

Cases (all from real executed graphs, BlogLSTM with a cross-entropy loss):
  - "ops, ~2,000 nodes": every op of 76 unrolled steps (1,993 tinygraph nodes, about
    4,900 drawn nodes: ops, records, repeated weights), clustered per step and gate;
  - "ops, ~2,000 nodes, collapse t=*": the same graph, each step drawn as one node;
  - "unrolled T=20, grads": ``lstm.diagrams.unrolled("blog", steps=20, grads=True)``, the
    lecture view with the backward overlay;
  - "ops T=20, weights not repeated": 20 steps collapsed per step with
    ``repeat_leaves=False`` (each weight drawn once, with an edge into every step), to
    show why shared weights are repeated per step by default. Graphviz gets 60 s.

For each case the table shows the time to build the ``graphviz.Digraph`` in Python
(``draw``) and the time of Graphviz's ``dot`` to lay it out and write SVG (``render``).
The reference, measured in the same run, is ``dot`` on the plain graph: the same nodes,
edges and clusters with one-letter labels; render / plain is what the records, labels
and overlay cost in layout time.

    .venv/bin/python benchmarks/draw.py            # best of 3
    .venv/bin/python benchmarks/draw.py --quick    # each timing once
"""
import argparse
import os
import platform
import subprocess
import sys
import time

import graphviz

import checkout  # noqa: F401  (benchmarks/checkout.py: this checkout's tinygraph and lstm)
import tinygraph as tg
from lstm import diagrams


def best_of(repeat, function):
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - start)
    return min(times), result


def plain_source(dot):
    """The same nodes, edges and clusters with one-letter labels: the reference."""
    lines = ["digraph plain {", "rankdir=LR"]
    by_scope = {}
    for v in dot.vertices:
        by_scope.setdefault(v.scope, []).append(v)
    for number, (scope, vertices) in enumerate(sorted(by_scope.items())):
        nodes = " ".join(f'{v.id} [label="{v.kind[0]}"]' for v in vertices)
        lines.append(nodes if not scope else f"subgraph cluster_{number} {{ {nodes} }}")
    lines += [f"{e.src.id} -> {e.dst.id}" for e in dot.edges]
    return "\n".join(lines + ["}"])


def run_dot(source, timeout=None):
    subprocess.run(["dot", "-Tsvg", "-o", os.devnull], input=source.encode(), check=True, timeout=timeout)


def cases():
    big = diagrams.example("blog", steps=76)
    twenty = diagrams.example("blog", steps=20)
    return [
        ("ops, ~2,000 nodes", big.loss, lambda: tg.draw(big.loss)),
        ("ops, ~2,000 nodes, collapse t=*", big.loss, lambda: tg.draw(big.loss, collapse="t=*")),
        ("unrolled T=20, grads", twenty.loss, lambda: diagrams.unrolled(twenty, grads=True)),
        ("ops T=20, collapse t=*, weights not repeated", twenty.loss,
         lambda: tg.draw(twenty.loss, collapse="t=*", repeat_leaves=False)),
    ]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="time each step once instead of best of 3")
    args = parser.parse_args(argv)
    repeat = 1 if args.quick else 3
    version = subprocess.run(["dot", "-V"], capture_output=True, text=True).stderr.strip()
    print(f"python {platform.python_version()}, graphviz package {graphviz.__version__}, {version}")
    print(f"{'case':46} {'tg nodes':>8} {'drawn':>6} {'edges':>6} {'draw s':>7} {'render s':>8} "
          f"{'plain s':>7} {'render/plain':>12}")
    for label, root, build in cases():
        t_draw, dot = best_of(repeat, build)
        try:
            t_render, _ = best_of(repeat, lambda: run_dot(dot.source, timeout=60))
            render = f"{t_render:8.2f}"
        except subprocess.TimeoutExpired:
            t_render, render = None, "   > 60"
        t_plain, _ = best_of(1 if t_render is None else repeat, lambda: run_dot(plain_source(dot), timeout=600))
        ratio = f"{t_render / t_plain:12.2f}" if t_render is not None else "           -"
        count = len(tg.topological_order(root, needs_grad_only=False))
        print(f"{label:46} {count:8d} {len(dot.vertices):6d} {len(dot.edges):6d} {t_draw:7.3f} "
              f"{render} {t_plain:7.2f} {ratio}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
