"""tg.compile: a replayed tape gives exactly the engine's numbers.

Every comparison is bit for bit (``assert_identical``): the tape replays the ops' own
forward and backward, so anything short of equality is a bug in the tape. Each case is
called three times with different inputs and parameter values: the first call traces
(and runs the engine), the others replay and are compared with a fresh engine run.
"""
import numpy as np
import pytest
from hypothesis import given, settings

import tinygraph as tg
from lstm.cells import BlogLSTM, PaperLSTM, PeepholeLSTM, VanillaRNN
from lstm.fused_cell import FusedBlogLSTM
from tinygraph.ops import REGISTRY
from op_cases import all_cases, call_numpy, call_tinygraph, case_id, input_values, leaves
from test_properties import loss_of, recipes, run, sinks

RNG = np.random.default_rng(0)


def assert_identical(actual, expected, what):
    assert actual.dtype == expected.dtype and actual.shape == expected.shape, what
    assert np.array_equal(actual, expected, equal_nan=True), f"{what}: largest difference " \
        f"{np.max(np.abs(actual.astype(float) - expected.astype(float)))}"


def engine_run(fn, params, args):
    """Loss and leaf gradients from the engine, as tg.backward gives them."""
    tg.zero_grad(params)
    nodes = [tg.tensor(a) if isinstance(a, np.ndarray) and a.dtype.kind == "f" else a for a in args]
    loss = fn(*nodes)
    tg.backward(loss, retain_grads=False)
    return loss.value.item(), [p.grad for p in params]


def check_replay(fn, params, make_args, calls=3):
    """Call the compiled ``fn`` ``calls`` times, each with new arguments and new parameter
    values, and compare each call with the engine on the same inputs."""
    step = tg.compile(fn)
    for call in range(calls):
        args = make_args(call)
        for p in params:
            p.assign(RNG.uniform(0.5, 1.5, p.shape) * np.sign(p.value + 0.5) * (1 + 0.1 * call))
        loss, grads = engine_run(fn, params, args)
        tg.zero_grad(params)
        got = step(*args)
        assert got == loss or (np.isnan(got) and np.isnan(loss)), f"call {call}: loss {got} != {loss}"
        for p, g in zip(params, grads):
            assert_identical(p.grad, g, f"call {call}: gradient of {p.label()!r}")
            assert not p.grad.flags.writeable
    assert len(step.tapes) == 1
    return step


def arrays(*shapes, dtype=np.float64, positive=False):
    def make(call):
        out = [RNG.standard_normal(s).astype(dtype) for s in shapes]
        return [np.abs(a) + 0.1 for a in out] if positive else out
    return make


# Ops in typical uses, with traced array arguments, in float64 and float32 (the registry's
# cases below cover every op's whole argument space): (name, parameter shapes, argument
# shapes, fn(params, *args)).
OP_CASES = [
    ("add broadcast", [(3, 4)], [(4,)], lambda p, x: (p[0] + x).sum()),
    ("add scalar", [()], [(3,)], lambda p, x: (x + p[0] + 1.0).sum()),
    ("sub", [(3, 1)], [(1, 4)], lambda p, x: (x - p[0]).sum()),
    ("mul", [(3, 4), (4,)], [(3, 4)], lambda p, x: (p[0] * p[1] * x).sum()),
    ("div", [(2, 3), (3,)], [(2, 3)], lambda p, x: (p[0] / (p[1] * p[1] + 1.0) * x).sum()),
    ("neg", [(4,)], [(4,)], lambda p, x: (-p[0] * x).sum()),
    ("power 2 and 3", [(4,)], [(4,)], lambda p, x: (p[0] ** 2 + p[0] ** 3 * x).sum()),
    ("power 0.5", [(4,)], [(4,)], lambda p, x: ((p[0] * p[0] + 1.0) ** 0.5 * x).sum()),
    ("exp", [(4,)], [(4,)], lambda p, x: (tg.exp(p[0]) * x).sum()),
    ("log", [(4,)], [(4,)], lambda p, x: (tg.log(p[0] * p[0] + 0.5) * x).sum()),
    ("tanh", [(2, 3)], [(2, 3)], lambda p, x: (tg.tanh(p[0]) * x).sum()),
    ("sigmoid small", [(2, 3)], [(2, 3)], lambda p, x: (tg.sigmoid(p[0] * 3.0) * x).sum()),
    ("sigmoid large", [(8, 9)], [(8, 9)], lambda p, x: (tg.sigmoid(p[0] * 30.0) * x).sum()),
    ("relu", [(5,)], [(5,)], lambda p, x: (tg.relu(p[0] - 1.0) * x).sum()),
    ("matmul matrix", [(3, 4), (4, 2)], [(2,)], lambda p, x: ((p[0] @ p[1]) * x).sum()),
    ("matmul vector", [(4,), (4, 3)], [(3,)], lambda p, x: ((p[0] @ p[1]) @ x)),
    ("matmul matrix-vector", [(3, 4)], [(4,)], lambda p, x: (p[0] @ x).sum()),
    ("matmul batched", [(2, 3, 4), (4, 2)], [(2,)], lambda p, x: ((p[0] @ p[1]) * x).sum()),
    ("sum axis keepdims", [(3, 4)], [(3, 1)], lambda p, x: (tg.sum(p[0], axis=1, keepdims=True) * x).sum()),
    ("mean", [(3, 4)], [(4,)], lambda p, x: (tg.mean(p[0], axis=0) * x).mean()),
    ("reshape transpose", [(2, 6)], [(4, 3)], lambda p, x: (p[0].reshape((3, 4)).T * x).sum()),
    ("transpose axes", [(2, 3, 4)], [(4, 2, 3)], lambda p, x: (tg.transpose(p[0], (2, 0, 1)) * x).sum()),
    ("concat with a constant", [(3,), (2,)], [(6,)], lambda p, x: (tg.concat([p[0], p[1], 1.0]) * x).sum()),
    ("stack", [(3,), (3,)], [(2, 3)], lambda p, x: (tg.stack([p[0], p[1]]) * x).sum()),
    ("getitem slice", [(4, 5)], [(2, 5)], lambda p, x: (p[0][1:3] * x).sum()),
    ("getitem repeated", [(5,)], [(4,)], lambda p, x: (p[0][[0, 2, 2, 4]] * x).sum()),
    ("getitem mask", [(4,)], [(2,)], lambda p, x: (p[0][np.array([True, False, True, False])] * x).sum()),
    ("cross_entropy", [(3, 4)], [(3, 4)], lambda p, x: tg.cross_entropy(p[0] * x, [1, 0, 3])),
    ("cross_entropy mean", [(3, 4)], [(3, 4)], lambda p, x: tg.cross_entropy(p[0] + x, [2, 2, 0], reduction="mean")),
    ("used three times", [(3,)], [(3,)], lambda p, x: (p[0] * x + tg.tanh(p[0]) + p[0] * p[0]).sum()),
    ("a 0-d parameter used three times", [()], [(3,)], lambda p, x: (p[0] * x + p[0] * p[0] + tg.exp(p[0])).sum()),
]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name, param_shapes, arg_shapes, body", OP_CASES, ids=[c[0] for c in OP_CASES])
def test_every_op_replays_the_engines_gradients_bit_for_bit(name, param_shapes, arg_shapes, body, dtype):
    params = [tg.parameter(np.ones(s, dtype=dtype), name=f"p{i}") for i, s in enumerate(param_shapes)]
    check_replay(lambda *xs: body(params, *xs), params, arrays(*arg_shapes, dtype=dtype))


@pytest.mark.parametrize("case", all_cases(), ids=case_id)
def test_every_registered_op_with_every_argument_replays_bit_for_bit(case):
    name, shapes, kwargs = case
    entry = REGISTRY[name]
    rng = np.random.default_rng(1)
    params = leaves(input_values(entry, shapes, rng))
    out_shape = np.shape(call_numpy(entry, [p.value for p in params], kwargs))
    weights = rng.uniform(0.5, 1.5, out_shape)          # every output entry gets its own gradient

    def loss(*ps):
        return (call_tinygraph(entry, ps, kwargs) * weights).sum()

    step = tg.compile(loss)
    for call in range(3):
        for p in params:
            p.assign(p.value * (1 + 0.25 * call))
        expected_loss, expected = engine_run(lambda: loss(*params), params, [])
        tg.zero_grad(params)
        assert step(*params) == expected_loss
        for p, g in zip(params, expected):
            assert_identical(p.grad, g, f"{name} {shapes} {kwargs}: gradient of {p.label()}")
    assert len(step.tapes) == 1


def test_mixed_float32_and_float64_replays_the_engines_casts():
    p32 = tg.parameter(np.ones(3, dtype=np.float32), name="p32")
    p64 = tg.parameter(np.ones(3), name="p64")
    check_replay(lambda x: (p32 * p64 * x).sum(), [p32, p64], arrays((3,), dtype=np.float32))
    assert p32.grad.dtype == np.float32


@pytest.mark.parametrize("cell_class, shape", [(BlogLSTM, (4, 2, 3)), (PeepholeLSTM, (4, 2, 3)),
                                               (VanillaRNN, (4, 2, 3)), (PaperLSTM, (4, 3)),
                                               (FusedBlogLSTM, (4, 2, 3))])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_lstm_cells_replay_the_engines_gradients_bit_for_bit(cell_class, shape, dtype):
    cell = cell_class(3, 5, seed=1, dtype=dtype)
    params = list(cell.parameters().values())
    G = RNG.standard_normal((shape[0],) + cell.state_shape(shape[1] if len(shape) == 3 else 1)).astype(dtype)

    def loss(xs):
        run = cell.unroll(list(xs))
        return (tg.stack(run.outputs) * G).sum()

    check_replay(loss, params, lambda call: [list(RNG.standard_normal(shape).astype(dtype))])


def test_fused_sequence_replays_the_engines_gradients_bit_for_bit():
    cell = FusedBlogLSTM(3, 4, seed=2)
    params = list(cell.parameters().values())
    G = RNG.standard_normal((5, 2, 4))
    check_replay(lambda X: (cell.sequence(X).H * G).sum(), params, arrays((5, 2, 3)))


@settings(max_examples=60, deadline=None)
@given(recipes())
def test_random_graphs_replay_the_engines_gradients_bit_for_bit(recipe):
    leaves, steps = recipe
    params = [tg.parameter(np.array(a), name=f"leaf{i}") for i, a in enumerate(leaves)]

    def loss(*ps):
        nodes = run(list(ps), steps, "tg")
        return loss_of([nodes[k] for k in sinks(leaves, steps)], "tg")

    step = tg.compile(loss)
    for call in range(3):
        for p in params:
            p.assign(p.value * 0.9 + 0.1 * call)
        expected_loss, expected = engine_run(lambda: loss(*params), params, [])
        tg.zero_grad(params)
        assert step(*params) == expected_loss
        for p, g in zip(params, expected):
            assert_identical(p.grad, g, f"{p.label()} in {steps}")


def test_gradients_accumulate_across_calls_as_with_backward():
    w = tg.parameter([1.0, -2.0], name="w")
    step = tg.compile(lambda x: (w * x).sum())
    x = np.array([3.0, 4.0])
    step(x)
    step(x)
    np.testing.assert_array_equal(w.grad, 2 * x)


def test_a_new_input_shape_traces_again_and_keeps_both_tapes():
    w = tg.parameter(2.0, name="w")
    step = tg.compile(lambda x: (tg.tanh(w * x)).sum())
    for n in (3, 5, 3, 5):
        x = np.linspace(-1, 1, n)
        tg.zero_grad([w])
        value = step(x)
        expected = np.tanh(2 * x)
        assert value == pytest.approx(expected.sum(), rel=1e-12)
        assert w.grad == pytest.approx(((1 - expected ** 2) * x).sum(), rel=1e-12)
    assert [k[0][0] for k in step.tapes] == [(3,), (5,)]
    step(np.linspace(-1, 1, 3).astype(np.float32))      # a new dtype is a new signature too
    assert len(step.tapes) == 3


def test_integer_arguments_are_part_of_the_trace_and_a_new_value_traces_again():
    z = tg.parameter(np.zeros((2, 3)), name="z")
    step = tg.compile(lambda logits, targets: tg.cross_entropy(z + logits, targets))
    logits = RNG.standard_normal((2, 3))
    for targets in ([0, 1], [2, 2], [0, 1]):
        tg.zero_grad([z])
        loss, (expected,) = engine_run(lambda: tg.cross_entropy(z + tg.tensor(logits), targets), [z], [])
        tg.zero_grad([z])
        assert step(logits, np.array(targets)) == loss
        assert_identical(z.grad, expected, f"targets {targets}")
    assert len(step.tapes) == 2


def test_a_parameter_given_a_new_value_is_read_at_every_call():
    w = tg.parameter([1.0], name="w")
    step = tg.compile(lambda x: (w * w * x).sum())
    x = np.array([1.0])
    assert step(x) == 1.0
    w.assign([3.0])
    assert step(x) == 9.0


def test_parameters_passed_as_arguments_get_their_gradients():
    step = tg.compile(lambda a, b: (a * b).sum())
    a, b = tg.parameter([1.0, 2.0], name="a"), tg.parameter([3.0, 4.0], name="b")
    step(a, b)
    c = tg.parameter([5.0, 6.0], name="c")
    step(c, b)                                  # replayed: the gradient goes to the Node of this call
    np.testing.assert_array_equal(c.grad, [3.0, 4.0])
    np.testing.assert_array_equal(b.grad, [1.0 + 5.0, 2.0 + 6.0])
    assert len(step.tapes) == 1


def test_anomaly_mode_runs_on_the_engine_and_catches_the_nan():
    w = tg.parameter([1.0], name="w")
    step = tg.compile(lambda x: tg.log(w * x).sum())
    step(np.array([2.0]))
    with tg.anomaly_mode(), pytest.raises(tg.AnomalyError, match="log"):
        step(np.array([-2.0]))


@pytest.mark.parametrize("fn, args, error, words", [
    (lambda x: x.value.sum(), (np.ones(2),), TypeError, "must return a Node"),
    (lambda x: x * tg.parameter([1.0, 2.0]), (np.ones(2),), tg.GraphError, "non-scalar"),
    (lambda x: x.sum(), (np.ones(2),), tg.GraphError, "does not depend on any parameter"),
    (lambda x: x, ({1, 2},), TypeError, "cannot trace an argument of type set"),
    (lambda x: x, (tg.parameter([1.0]) * 2,), TypeError, "is computed by mul"),
])
def test_bad_functions_and_arguments_are_refused_clearly(fn, args, error, words):
    with pytest.raises(error, match=words):
        tg.compile(fn)(*args)


def test_inside_no_grad_a_compiled_function_refuses():
    w = tg.parameter([1.0], name="w")
    step = tg.compile(lambda x: (w * x).sum())
    step(np.ones(1))
    with tg.no_grad(), pytest.raises(tg.GraphError, match="no_grad"):
        step(np.ones(1))


def test_the_tape_builds_no_nodes_when_it_replays(monkeypatch):
    w = tg.parameter(np.ones(3), name="w")
    step = tg.compile(lambda x: tg.tanh(w * x).sum())
    step(np.ones(3))

    def no_nodes(*args, **kwargs):
        raise AssertionError("a Node was built during replay")

    monkeypatch.setattr(tg.Node, "__init__", no_nodes)
    assert step(np.ones(3)) == pytest.approx(3 * np.tanh(1.0))
