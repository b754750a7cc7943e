"""Every cell's autodiff gradients (parameters, inputs, initial states) against central
finite differences, entry by entry, in float64: T = 1 and T = 5, sizes down to 1."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygraph as tg
from lstm.cells import VARIANTS
from lstm.losses import LOSSES


def sequence_loss(variant, input_size, hidden_size, T, batch, loss, **options):
    """(f, arrays, names): f(*nodes) unrolls the cell on the given parameter, input and
    initial-state Nodes and returns the loss; arrays are random starting values."""
    cls = VARIANTS[variant]
    rng = np.random.default_rng([input_size, hidden_size, T, batch or 0])
    shapes = cls.parameter_shapes(input_size, hidden_size)
    cell = cls(input_size, hidden_size, seed=5, **options)
    step_shape = cell.input_shape(batch)
    state_shape = cell.state_shape(batch)
    arrays = [p.value for p in cell.parameters().values()]
    arrays.append(rng.standard_normal((T,) + step_shape))
    arrays += [0.5 * rng.standard_normal(state_shape) for _ in cls.STATE]
    names = list(shapes) + [cls.INPUT] + list(cls.STATE)
    if loss == "ce":
        targets = rng.integers(0, hidden_size, size=(T,) + state_shape[:-1])
    else:
        targets = rng.uniform(-0.9, 0.9, size=(T,) + state_shape)

    def f(*nodes):
        k = len(shapes)
        params = dict(zip(shapes, nodes[:k]))
        X, state = nodes[k], dict(zip(cls.STATE, nodes[k + 1:]))
        run = cls(input_size, hidden_size, parameters=params, **options).unroll(
            [X[t] for t in range(T)], initial_state=state)
        return LOSSES[loss](run, targets)

    return f, arrays, names


CASES = [
    # variant, input size, hidden size, batch rows, loss, paper activations
    ("blog", 1, 1, 1, "mse", {}),
    ("blog", 3, 2, 4, "ce", {}),
    ("peephole", 1, 1, 1, "ce", {}),
    ("peephole", 2, 3, 2, "mse", {}),
    ("rnn", 1, 1, 1, "mse", {}),
    ("rnn", 3, 2, 3, "ce", {}),
    ("gru", 1, 1, 1, "mse", {}),
    ("gru", 3, 2, 2, "ce", {}),
    ("paper", 1, 1, None, "mse", {}),
    ("paper", 3, 2, None, "ce", {}),
    ("paper", 2, 3, None, "mse", {"f_iota": "tanh", "f_phi": "identity", "f_omega": "tanh",
                                  "f_c": "sigmoid", "f_h": "identity"}),
    ("paper", 2, 1, None, "mse", {"f_c": "identity", "f_h": "sigmoid"}),
]


@pytest.mark.parametrize("T", [1, 5])
@pytest.mark.parametrize("variant, d, h, r, loss, options", CASES,
                         ids=[f"{c[0]}-d{c[1]}-h{c[2]}-r{c[3]}-{c[4]}-{len(c[5])}acts" for c in CASES])
def test_autodiff_matches_finite_differences_for_all_parameters_inputs_and_initial_states(
        variant, d, h, r, loss, options, T):
    f, arrays, names = sequence_loss(variant, d, h, T, r, loss, **options)
    report = tg.gradcheck(f, arrays, names=names)
    assert [row.name for row in report.rows] == names
    report.raise_if_failed()


@settings(max_examples=20)
@given(variant=st.sampled_from(list(VARIANTS)), d=st.integers(1, 5), h=st.integers(1, 5),
       r=st.integers(1, 4), T=st.integers(1, 8), loss=st.sampled_from(list(LOSSES)),
       f_c=st.sampled_from(["tanh", "sigmoid", "identity"]), f_omega=st.sampled_from(["sigmoid", "tanh"]))
def test_directional_derivatives_match_finite_differences_for_random_sizes(variant, d, h, r, T, loss,
                                                                             f_c, f_omega):
    options = {"f_c": f_c, "f_omega": f_omega} if variant == "paper" else {}
    f, arrays, names = sequence_loss(variant, d, h, T, None if variant == "paper" else r, loss, **options)
    tg.check_directions(f, arrays, directions=3).raise_if_failed()
