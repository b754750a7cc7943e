"""diagrams.unrolled(shared=[W]): a weight every step uses, drawn once on the unrolled view with
an edge into each step, so the per-step parts of its gradient can be labelled there."""
import numpy as np

from lstm import diagrams
from lstm.exercises.truth import gradients, part


def drawn_from(dot, node):
    return [e for e in dot.edges if e.src.nodes[0] is node]


def test_a_shared_weight_is_drawn_once_with_one_edge_into_each_step_labelled_with_its_part():
    ex = diagrams.example("blog", steps=3)
    W_ix = ex.cell.parameters()["W_ix"]
    _, parts = gradients(ex.loss, tracked=[W_ix])
    step_parts = {step["X W_ix"]: part(parts, W_ix, t) for t, step in enumerate(ex.run.steps, start=1)}
    dot = diagrams.unrolled(ex, shared=[W_ix], edge_grads={(W_ix, use): p for use, p in step_parts.items()})
    assert [v.nodes[0] for v in dot.vertices].count(W_ix) == 1
    edges = drawn_from(dot, W_ix)
    assert [e.consumers for e in edges] == [[step["X W_ix"]] for step in ex.run.steps]
    assert [e.dst.scope[-1] for e in edges] == ["t=1", "t=2", "t=3"]          # into each step's cluster
    for p in step_parts.values():
        assert f"label={np.linalg.norm(p):.3g} " in dot.source
    assert "on an edge from a shared weight: the part of its gradient that step sends back" in dot.source


def test_without_shared_the_unrolled_view_leaves_every_parameter_out():
    ex = diagrams.example("blog", steps=2)
    dot = diagrams.unrolled(ex)
    assert all(not drawn_from(dot, p) for p in ex.cell.parameters().values())
    assert "shared weight" not in dot.source
