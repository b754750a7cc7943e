"""A graph's memory is given back as soon as the user drops it: no reference cycles keep
nodes alive, and repeated training steps do not grow the heap."""
import gc
import tracemalloc
import weakref

import numpy as np
import pytest

import tinygraph as tg
from lstm.cells import BlogLSTM
from lstm.fused_cell import FusedBlogLSTM

CELLS = [BlogLSTM, FusedBlogLSTM]


def training_step(cell, X, G, lr=0.01):
    """Forward, backward and a plain SGD update; returns the loss value."""
    run = cell.unroll(X)
    loss = (tg.stack(run.outputs) * G).sum()
    tg.backward(loss, retain_grads=False)
    for p in cell.parameters().values():
        p.assign(p.value - lr * p.grad)
        p.grad = None
    return loss.item()


@pytest.mark.parametrize("cell_class", CELLS, ids=lambda c: c.__name__)
def test_dropping_the_loss_frees_every_node_without_the_garbage_collector(cell_class):
    rng = np.random.default_rng(0)
    cell = cell_class(3, 4, seed=0)
    X, G = rng.standard_normal((5, 2, 3)), rng.standard_normal((5, 2, 4))
    was_enabled = gc.isenabled()
    gc.collect()
    gc.disable()                    # only reference counting may free the graph: no cycles allowed
    try:
        run = cell.unroll(X)
        loss = (tg.stack(run.outputs) * G).sum()
        tg.backward(loss, retain_grads=False)
        refs = [weakref.ref(n) for n in tg.topological_order(loss, needs_grad_only=False) if not n.is_leaf]
        assert len(refs) > 5
        del run, loss
        alive = [r() for r in refs if r() is not None]
        assert alive == [], f"{len(alive)} nodes outlive the loss, e.g. {alive[:3]}"
    finally:
        if was_enabled:
            gc.enable()


@pytest.mark.parametrize("cell_class", CELLS, ids=lambda c: c.__name__)
def test_training_steps_do_not_grow_memory(cell_class):
    rng = np.random.default_rng(1)
    cell = cell_class(4, 8, seed=1)
    X, G = rng.standard_normal((10, 3, 4)), rng.standard_normal((10, 3, 8))
    tracemalloc.start()
    try:
        for _ in range(3):
            training_step(cell, X, G)
        gc.collect()
        before = tracemalloc.get_traced_memory()[0]
        for _ in range(20):
            training_step(cell, X, G)
        gc.collect()
        after = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    assert after - before < 16 * 1024, f"grew by {after - before} bytes over 20 training steps"
