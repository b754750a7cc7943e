"""Render the pictures of docs/drawing.md and the README into docs/gallery/.

    .venv/bin/python docs/gallery/make_gallery.py

- {variant}_cell.png, {variant}_unrolled.png for blog, paper, peephole, rnn: what
  ``lstm.diagrams.render_all`` writes (cell view plain, unrolled over 4 steps with the
  gradient norms of L on the edges);
- blog_cell_grads.png: the BlogLSTM cell with the gradient norms of L on the edges and the
  caption that says what they are;
- blog_unrolled_6_slide.png: six BlogLSTM steps laid out for a slide (rows of two, at most
  1,920 pixels wide), each step shaded by the norm of the gradient of L for its state;
- blog_ops.svg: every op of one BlogLSTM step, with gradients (large: an SVG to zoom);
- blog_unrolled_20.svg, rnn_unrolled_20.svg: 20 steps with gradients, the vanishing of
  ∂L/∂C_t and ∂L/∂h_t side by side;
- draw_step.png: ``tinygraph.draw`` on a small graph in the middle of backward (legend,
  highlighted step, visited nodes, gradients sent so far).

Every picture comes from a real executed graph with fixed seeds, so rerunning the script
gives the same files (up to Graphviz's version).
"""
from pathlib import Path

import numpy as np

import tinygraph as tg
from lstm import diagrams

HERE = Path(__file__).resolve().parent


def draw_step_example():
    """y = σ(W x + b), L = Σ y²: drawn at the step where backward reaches the σ node."""
    W = tg.parameter(np.array([[0.5, -1.0, 0.25], [0.3, 0.2, -0.7]]), name="W")
    b = tg.parameter(np.array([[0.1], [-0.2]]), name="b")
    x = tg.tensor(np.array([[1.0], [2.0], [-1.0]]), name="x")
    with tg.scope("layer"):
        a = tg.add(tg.matmul(W, x, name="W x"), b, name="a")
        y = tg.sigmoid(a, name="y")
    L = tg.sum(y * y, name="L")
    steps = list(tg.backward_steps(L, accumulate=False))
    current = next(s for s in steps if s.node is y)
    sent = {}
    for s in steps[:current.index + 1]:
        for parent, g in zip(s.node.inputs, s.input_grads):
            if g is not None:
                sent[(parent, s.node)] = sent.get((parent, s.node), 0) + g
    return tg.draw(L, highlight=current, visited=[s.node for s in steps[:current.index + 1]],
                   edge_grads=sent, legend=True, title="backward at the σ node")


def main():
    paths = diagrams.render_all(HERE, fmt="png", steps=4)
    paths.append(diagrams.save(diagrams.cell("blog", grads=True), HERE / "blog_cell_grads.png", "png"))
    paths.append(diagrams.save(diagrams.unrolled("blog", steps=6, grads=True, per_row=2),
                               HERE / "blog_unrolled_6_slide.png", "png", max_width=1920))
    paths.append(diagrams.save(diagrams.ops("blog", grads=True), HERE / "blog_ops.svg", "svg"))
    for variant in ("blog", "rnn"):
        paths.append(diagrams.save(diagrams.unrolled(variant, steps=20, grads=True),
                                   HERE / f"{variant}_unrolled_20.svg", "svg"))
    paths.append(diagrams.save(draw_step_example(), HERE / "draw_step.png", "png"))
    for path in paths:
        print(f"wrote {path.relative_to(HERE.parent.parent)} ({path.stat().st_size // 1024} KB)")


if __name__ == "__main__":
    main()
