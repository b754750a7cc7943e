"""``tg.compile(fn, batch_steps=True)``: join the matmuls that share a weight, as a
hand-written RNN does. Not bit for bit.

A weight W (any Node) that is the right operand of several matmuls A_1 W, ..., A_k W whose
left operands are 2-D and of one shape (the k time steps of an unrolled cell, say) is a
*batch*. The tape then replays, with the row blocks A_j stacked into one (k·r) × d matrix:

- backward: W's gradient Σ_j A_jᵀ Ḡ_j as one matmul [A_1; ...; A_k]ᵀ [Ḡ_1; ...; Ḡ_k], after
  the last of the k products' backward lines, instead of k matmuls and k − 1 sums;
- forward, when every A_j is known before the first product is needed (the inputs X_t, not
  the recurrent state H_{t-1}): the k products as one matmul [A_1; ...; A_k] W, each
  product a row block of it.

Both change the order of floating-point sums, so values and gradients differ from the
engine's in the last bits (tests/test_batch_steps.py checks ≤ 1e-12 relative in float64,
and finite differences). Everything else is replayed as the default tape does it: a matmul
with 1-D or stacked operands, left operands of other shapes, mixed dtypes, a weight used once.
"""
from .ops import MatMul


class Batch:
    """The weight ``weight`` and its ``products`` A_j @ W (in forward order); ``forward``
    is True when the products are computed as one matmul too."""

    def __init__(self, index, weight, products, forward):
        self.index, self.weight, self.products, self.forward = index, weight, products, forward
        self.rows = products[0].inputs[0].shape[0]
        self.block = {product: j for j, product in enumerate(products)}

    def __repr__(self):
        side = "forward and backward" if self.forward else "backward"
        return f"Batch({self.weight.label()!r}, {len(self.products)} matmuls, {side})"


def find_batches(order, root):
    """The batches of a traced graph; ``order`` is the tape's forward order (leaves first,
    then the ops, each after its inputs). The root is never joined: it holds the seed."""
    position = {node: (-1 if node.op is None else k) for k, node in enumerate(order)}
    groups = {}
    for node in order:
        if type(node.op) is MatMul and node is not root:
            a, w = node.inputs
            if a.ndim == 2 and w.ndim == 2 and a.dtype == w.dtype == node.dtype:
                groups.setdefault((w, a.shape), []).append(node)
    batches = []
    for (w, _), products in groups.items():
        if len(products) < 2:
            continue
        ready = max(position[p.inputs[0]] for p in products)
        forward = ready < position[products[0]]     # every A_j is there before the first product
        if forward or w.requires_grad:
            batches.append(Batch(len(batches), w, products, forward))
    return batches
