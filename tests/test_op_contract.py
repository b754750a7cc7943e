"""The op contract declared on tg.Op: checked when a class is defined; the registry that
makes every op's tests find it; Node's operators in Node's class body; step/layer scopes.

The registry-driven table: every registered op, every example shape and every keyword
combination of its argument space -- forward equals the numpy twin, backward equals
central differences of the twin (float64)."""
import inspect

import numpy as np
import pytest

import tinygraph as tg
import tinygraph.ops as ops
from op_cases import all_cases, case_id, check_forward_and_backward, input_values
from tinygraph.notebook import written_rule

CASES = all_cases()


# --- checks at class definition ------------------------------------------------------------

def test_a_rule_written_with_undeclared_letters_is_refused_when_the_class_is_defined():
    with pytest.raises(TypeError, match=r"op class Twice: its rule uses the letters \['u', 'v'\]"):
        class Twice(tg.Op):
            name, rule = "twice", r"\bar u = 2 \bar v"

            def forward(self, x):
                return 2 * x

            def backward(self, g, out, x):
                return (2 * g,)


def test_a_rule_with_declared_letters_is_written_out_with_the_graph_names():
    class Twice(tg.Op):
        name, rule, operands, output = "twice_uv", r"\bar u = 2 \bar v", ("u",), "v"

        def forward(self, x):
            return 2 * x

        def backward(self, g, out, x):
            return (2 * g,)

    x = tg.parameter([1.0], name="x")
    y = tg.apply(Twice(), (x,), name="y")
    assert written_rule(y) == r"\overline{x} = 2 \overline{y}"


def test_parts_declared_without_a_parts_method_are_refused():
    with pytest.raises(TypeError, match="declares part_symbols but no parts"):
        class Fused(tg.Op):
            name, part_symbols = "fused_no_parts", {"z": "tanh"}

            def forward(self, x):
                return x

            def backward(self, g, out, x):
                return (g,)


def test_an_op_without_forward_or_backward_is_refused_unless_abstract():
    with pytest.raises(TypeError, match="op class NoBackward: an op defines forward and backward"):
        class NoBackward(tg.Op):
            name = "no_backward"

            def forward(self, x):
                return x

    class Base(tg.Op, abstract=True):
        operands = ("a", "b")
    assert "no_backward" not in tg.Op.classes


def test_the_default_parts_protocol_draws_nothing_and_grads_nothing():
    op = ops.Tanh()
    assert op.parts() == {} and op.part_grads(None, None) == {} and op.part_symbols == {}


def test_every_op_class_in_tinygraph_is_registered_with_examples():
    defined = {cls.name for cls in tg.Op.classes.values() if cls.__module__ == "tinygraph.ops"}
    assert defined == set(ops.REGISTRY)
    for name, entry in ops.REGISTRY.items():
        assert entry.shapes, name
        assert entry.op.name == name


def test_node_operators_are_defined_in_the_node_class_body():
    for method in ("__add__", "__rmul__", "__matmul__", "__neg__", "__pow__", "__getitem__", "sum", "T", "tanh"):
        assert method in tg.Node.__dict__, method
    assert "setattr(Node" not in inspect.getsource(ops)


def test_an_op_without_a_jvp_or_backward_graph_says_which_method_to_write():
    class Plain(tg.Op):
        name = "plain_square"

        def forward(self, x):
            return x * x

        def backward(self, g, out, x):
            return (2 * x * g,)

    with pytest.raises(tg.GraphError, match="plain_square has no jvp rule.*give Plain a jvp method"):
        Plain().jvp((np.ones(2),), None, np.ones(2))
    with pytest.raises(tg.GraphError, match="plain_square has no backward_graph.*create_graph=True"):
        Plain().backward_graph(None, None, None)


# --- scopes ----------------------------------------------------------------------------------

def test_step_and_layer_scopes_are_made_and_read_by_one_helper():
    with tg.scope(tg.layer_scope(2)), tg.scope(tg.step_scope(13)), tg.scope("forget gate"):
        F = tg.tensor(1.0)
    assert F.scope == ("layer=2", "t=13", "forget gate")
    assert (tg.step_of(F), tg.layer_of(F)) == (13, 2)
    assert tg.step_of(tg.tensor(0.0)) is None and tg.layer_of(("t=1",)) is None
    assert tg.step_scope(1, 20) == "t=1..20" and tg.step_of(("t=1..20",)) is None
    with pytest.raises(TypeError, match="must be an int"):
        tg.step_scope("3")


def test_the_lstm_cells_name_their_steps_with_the_helper():
    from lstm.cells import BlogLSTM
    run = BlogLSTM(2, 3, seed=0).unroll(np.ones((3, 1, 2)))
    assert [tg.step_of(step["H_t"]) for step in run.steps] == [1, 2, 3]


# --- the registry-driven table ---------------------------------------------------------------

@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_every_op_over_its_argument_space_matches_numpy_and_finite_differences(case):
    name, shapes, kwargs = case
    entry = ops.REGISTRY[name]
    arrays = input_values(entry, shapes, np.random.default_rng(len(CASES)))
    check_forward_and_backward(entry, arrays, kwargs, seed=1, label=name)
