"""tg.compile(fn, batch_steps=True): matmuls that share a weight are joined; not bit for bit.

- on the recurrent cells, losses and gradients agree with the engine to 1e-12 (relative, float64)
  over several calls with new inputs and parameter values, and with central differences;
- on random graphs that share weights among matmuls of several shapes, some of them
  recurrent, the same two checks;
- where the pattern does not apply (a weight used once, left operands of different shapes,
  1-D or stacked operands, mixed dtypes), nothing is joined and the replay is the default
  tape's, bit for bit;
- forward joining happens only when every left operand is known before the first product.
"""
import numpy as np
import pytest

import tinygraph as tg
from lstm.cells import GRU, BlogLSTM, PeepholeLSTM, VanillaRNN
from lstm.fused_cell import FusedBlogLSTM

RNG = np.random.default_rng(5)


def engine_run(fn, params, args):
    tg.zero_grad(params)
    loss = fn(*[tg.tensor(a) if isinstance(a, np.ndarray) else [tg.tensor(x) for x in a] for a in args])
    tg.backward(loss, retain_grads=False)
    return loss.item(), [p.grad for p in params]


def relative(a, b):
    return float(np.max(np.abs(np.asarray(a) - b)) / max(np.max(np.abs(b)), 1e-300))


def check_against_engine(fn, params, make_args, calls=3):
    """The batched replay against a fresh engine run, ``calls`` times with new arguments and
    parameter values; returns the compiled function."""
    step = tg.compile(fn, batch_steps=True)
    for call in range(calls):
        args = make_args()
        for p in params:
            p.assign(p.value * 0.8 + RNG.uniform(-0.2, 0.2, p.shape))
        loss, grads = engine_run(fn, params, args)
        tg.zero_grad(params)
        got = step(*args)
        assert relative(got, loss) <= 1e-12, f"call {call}: loss {got} vs {loss}"
        for p, g in zip(params, grads):
            assert relative(p.grad, g) <= 1e-12, f"call {call}: gradient of {p.label()!r}"
            assert not p.grad.flags.writeable
    return step


def check_finite_differences(step, params, args, eps=1e-6, rtol=1e-6):
    """The batched replay's gradients against central differences of its own loss."""
    tg.zero_grad(params)
    step(*args)
    grads = [p.grad for p in params]
    for p, g in zip(params, grads):
        base = p.value.copy()
        numeric = np.zeros_like(base)
        for i in np.ndindex(base.shape):
            shifted = base.copy()
            shifted[i] += eps
            p.assign(shifted)
            up = step(*args)
            shifted[i] -= 2 * eps
            p.assign(shifted)
            numeric[i] = (up - step(*args)) / (2 * eps)
        p.assign(base)
        np.testing.assert_allclose(g, numeric, rtol=rtol, atol=1e-8, err_msg=p.label())


def cell_loss(cell, steps, batch):
    G = RNG.standard_normal((steps,) + cell.state_shape(batch))

    def loss(xs):
        return (tg.stack(cell.unroll(list(xs)).outputs) * G).sum()
    return loss


@pytest.mark.parametrize("cell_class", [BlogLSTM, PeepholeLSTM, VanillaRNN, GRU])
def test_recurrent_cells_agree_with_the_engine_and_with_finite_differences(cell_class):
    steps, batch = 4, 2
    cell = cell_class(3, 4, seed=1)
    params = list(cell.parameters().values())
    loss = cell_loss(cell, steps, batch)
    step = check_against_engine(loss, params, lambda: [list(RNG.standard_normal((steps, batch, 3)))])
    assert step.tape.batches, "nothing was joined"
    check_finite_differences(step, params, [list(RNG.standard_normal((steps, batch, 3)))])


def test_blog_lstm_joins_the_input_products_in_forward_and_the_recurrent_ones_in_backward():
    cell = BlogLSTM(3, 4, seed=0)
    step = tg.compile(cell_loss(cell, 5, 2), batch_steps=True)
    step(list(RNG.standard_normal((5, 2, 3))))
    joined = {batch.weight.name: (len(batch.products), batch.forward) for batch in step.tape.batches}
    assert joined == {**{f"W_{g}x": (5, True) for g in "ifoc"}, **{f"W_{g}h": (5, False) for g in "ifoc"}}
    assert step.tape.source.count("concatenate([") == 2      # X and H stacked once each


def random_shared_graph(rng):
    """A random graph over weights shared by matmuls: a recurrence over T steps mixing
    inputs (r × d, known up front) and the state (r × d), a second family of left operands
    with another row count, a weight used once, a weight used on the left, and a 1-D matmul."""
    d, T = int(rng.integers(2, 5)), int(rng.integers(2, 6))
    r1, r2 = int(rng.integers(1, 4)), int(rng.integers(4, 6))
    weights = [tg.parameter(rng.standard_normal((d, d)) * 0.5, name=f"W{k}") for k in range(4)]
    v = tg.parameter(rng.standard_normal(d), name="v")
    shapes = [(T, r1, d), (T, r2, d)]
    plan = rng.integers(0, 4, size=(T, 4))

    def loss(xs, ys):
        h, total = tg.tensor(np.zeros((r1, d))), 0.0
        for t in range(T):
            a, b, c, e = (weights[k] for k in plan[t])
            h = tg.tanh(xs[t] @ a + h @ b)
            total = total + (tg.sigmoid(ys[t] @ c) * 0.5).sum() + (h @ e).sum()
        return total + (weights[0] @ v).sum() + (h @ weights[3] @ v).sum() + (h * h).sum()

    def make_args():
        return [list(rng.standard_normal(s)) for s in shapes]
    return loss, weights + [v], make_args


@pytest.mark.parametrize("seed", range(12))
def test_random_graphs_with_shared_weights_agree_with_the_engine_and_finite_differences(seed):
    rng = np.random.default_rng(seed)
    loss, params, make_args = random_shared_graph(rng)
    step = check_against_engine(loss, params, make_args)
    check_finite_differences(step, params, make_args())


def _bit_for_bit_with_the_default_tape(fn, params, args):
    results = []
    for batch_steps in (False, True):
        step = tg.compile(fn, batch_steps=batch_steps)
        tg.zero_grad(params)
        step(*args)
        tg.zero_grad(params)
        results.append((step(*args), [p.grad for p in params], step))
    (plain, plain_grads, _), (batched, batched_grads, step) = results
    assert step.tape.batches == []
    assert batched == plain
    for a, b in zip(batched_grads, plain_grads):
        assert (a is None and b is None) or (a.dtype == b.dtype and a.tobytes() == b.tobytes())


W = tg.parameter(RNG.standard_normal((3, 3)), name="W")
W32 = tg.parameter(RNG.standard_normal((3, 3)).astype(np.float32), name="W32")
NOT_JOINED = {
    "a weight used once": lambda a, b: (a @ W).sum(),
    "left operands of different shapes": lambda a, b: (a @ W).sum() + (b[:2] @ W).sum(),
    "1-D left operands": lambda a, b: (a[0] @ W).sum() + (a[1] @ W).sum(),
    "stacked (3-D) left operands": lambda a, b: (tg.stack([a, a]) @ W).sum() + (tg.stack([b[:3], a]) @ W).sum(),
    "mixed dtypes": lambda a, b: (a @ W32).sum() + (b[:3] @ W32).sum(),
    "the weight on the left": lambda a, b: (W @ a.T).sum() + (W @ b[:3].T).sum(),
}


@pytest.mark.parametrize("case", NOT_JOINED, ids=list(NOT_JOINED))
def test_where_the_pattern_does_not_apply_nothing_is_joined_and_the_replay_is_bit_for_bit(case):
    args = [RNG.standard_normal((3, 3)), RNG.standard_normal((4, 3))]
    _bit_for_bit_with_the_default_tape(NOT_JOINED[case], [W, W32], args)


def test_the_fused_cell_has_no_matmul_to_join_and_replays_bit_for_bit():
    cell = FusedBlogLSTM(3, 4, seed=0)
    xs = list(RNG.standard_normal((3, 2, 3)))
    _bit_for_bit_with_the_default_tape(cell_loss(cell, 3, 2), list(cell.parameters().values()), [xs])


@pytest.mark.parametrize("batch_steps", [False, True])
def test_gradients_handed_out_stay_as_they_were_when_the_tape_runs_again(batch_steps):
    # the tape writes values into buffers it reuses at every call; what it handed out must not change
    cell = BlogLSTM(3, 4, seed=0)
    params = list(cell.parameters().values())
    step = tg.compile(cell_loss(cell, 3, 2), batch_steps=batch_steps)
    step(list(RNG.standard_normal((3, 2, 3))))
    tg.zero_grad(params)
    step(list(RNG.standard_normal((3, 2, 3))))
    kept = [(p.grad, p.grad.copy()) for p in params]
    tg.zero_grad(params)
    step(list(RNG.standard_normal((3, 2, 3))))
    for (grad, copy), p in zip(kept, params):
        assert grad is not p.grad and np.array_equal(grad, copy)


class _PassValueOn(tg.Op):
    """y = a * b, with a backward that hands the value b itself on as a's gradient when the
    incoming gradient is all ones (correct then; a shortcut an op may take)."""

    name = "pass value on"
    operands = ("a", "b")
    rule = r"\bar a = \bar y b"

    def forward(self, a, b):
        return a * b

    def backward(self, g, out, a, b):
        return (b if np.all(g == 1) else g * b), g * a


def test_a_gradient_that_is_a_tapes_value_is_copied_before_it_is_handed_out():
    a = tg.parameter(np.array([1.0, 2.0]), name="a")
    step = tg.compile(lambda x: tg.apply(_PassValueOn(), (a, tg.exp(x))).sum())
    step(np.array([0.0, 1.0]))
    tg.zero_grad([a])
    step(np.array([0.0, 1.0]))                  # replayed: exp(x) is in a buffer of the tape
    first = a.grad.copy()
    kept = a.grad
    tg.zero_grad([a])
    step(np.array([2.0, 3.0]))
    assert np.array_equal(kept, first) and np.array_equal(first, np.exp([0.0, 1.0]))
