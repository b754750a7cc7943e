"""lstm.errata: the true quantities read off the graph, the per-equation verdicts, the report."""
import json

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from lstm import errata, paper

# What the derivation (docs/errata.md) says: these printed formulas compute wrong numbers,
# these have a false derivation step but a right final formula, these are right as printed.
WRONG_NUMBERS = {"18", "21", "22", "25"}
FALSE_STEP = {"14", "15", "31", "32"}
RIGHT_AS_PRINTED = {"23", "28", "29", "order"}
OUR_COPY_ONLY = {"1", "2", "24", "26"}


@pytest.fixture(scope="module")
def result():
    return errata.run_check()


def truth_for(config, seed=0):
    return errata.autodiff_truth(acts=dict(config.acts), **errata.random_case(config, seed))


def test_corrected_equations_and_closed_forms_match_autodiff(result):
    assert result.ok
    assert all(row.corrected_rel_error <= errata.TOLERANCE for row in result.rows)
    assert all(errors[-1] <= errata.TOLERANCE for errors in result.end_to_end.values())
    assert result.blog.ok


def test_verdicts_are_those_of_the_derivation(result):
    counts = result.counts()
    assert set(counts["numbers"]) == WRONG_NUMBERS
    assert set(counts["derivation"]) == FALSE_STEP
    assert set(counts["ok"]) == RIGHT_AS_PRINTED
    assert set(counts["transcription"]) == OUR_COPY_ONLY
    for row in result.rows:
        if row.kind == "numbers":
            assert row.printed_rel_error > 1e-3
        if row.kind == "derivation":       # the step read literally is wrong, the formula computed is right
            assert row.step_rel_error > 1e-3 and row.corrected_rel_error <= errata.TOLERANCE
            assert row.printed_rel_error is None or row.printed_rel_error <= errata.TOLERANCE
        if row.kind != "numbers" and row.printed_rel_error is not None:
            assert row.printed_rel_error <= errata.TOLERANCE, row.equation


def test_every_recorded_wrong_number_is_measured_and_every_measured_one_is_explained(result):
    for row in result.rows:
        claims_numbers = any(f.kind == "numbers" for f in errata.ENTRY[row.equation].findings)
        assert claims_numbers == (row.equation in WRONG_NUMBERS), row.equation
        assert "does not say why" not in row.note


def test_as_printed_every_gradient_is_wrong_from_two_steps_on_and_w_omega_exact_at_one(result):
    for config, errors in zip(result.configs, result.as_printed):
        wrong = {key for key, error in errors.items() if error > 1e-3}
        exact = {key for key, error in errors.items() if error <= errata.TOLERANCE}
        if config.T >= 2:
            assert wrong == set(errors), config
        else:
            assert exact == {"w_omega"} and wrong == set(errors) - {"w_omega"}, config
    assert any(config.T == 1 for config in result.configs) and sum(not c.acts for c in result.configs) == 3


@pytest.mark.parametrize("N, D", [(1, 1), (2, 4)])
def test_with_one_step_dE_dw_omega_is_exact_as_printed(N, D):
    case = errata.random_case(errata.Config(N, D, 1), seed=5)
    fwd = paper.forward(case["params"], case["xs"], case["z_h0"], case["s0"])
    printed = paper.backward(fwd, paper.mse_gradient(fwd, case["ys"]), "as_printed").gradients
    corrected = paper.backward(fwd, paper.mse_gradient(fwd, case["ys"]), "corrected").gradients
    assert errata.relative_error(printed["w_omega"], corrected["w_omega"]) <= 1e-14
    assert errata.relative_error(printed["w_iota"], corrected["w_iota"]) > 1e-3


def test_records_cover_every_equation_of_the_paper_and_refuse_unknown_kinds(tmp_path):
    numbers = {entry.equation for entry in errata.CATALOG}
    assert set(paper.EQUATIONS) | {"1", "2", "11", "12", "14", "15", "order"} == numbers
    assert len(errata.RECORDS.conventions) == 3 and errata.RECORDS.choices
    bad = tmp_path / "errata.toml"
    bad.write_text('[[equation]]\nnumber = "9"\nquantity = "q"\nrole = "formula"\nprinted = "p"\n'
                   'corrected = "c"\n[[equation.finding]]\nkind = "typo"\ntext = "t"\n', encoding="utf-8")
    with pytest.raises(ValueError, match="equation 9: unknown kind"):
        errata.load_records(bad)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_each_disagreement_is_stable_across_seeds(result, seed):
    again = errata.run_check(seed=seed, blog=False)
    assert again.ok
    assert [(r.equation, r.kind) for r in again.rows] == [(r.equation, r.kind) for r in result.rows]


def test_eq18_is_wrong_only_when_D_exceeds_1():
    one = errata.run_check([errata.Config(3, 1, 4), errata.Config(1, 1, 6, (("omega", "tanh"),))], blog=False)
    many = errata.run_check([errata.Config(3, 2, 4)], blog=False)
    assert {r.equation: r.kind for r in one.rows}["18"] == "notation"      # only its label slips remain
    assert {r.equation: r.kind for r in many.rows}["18"] == "numbers"


def saturated(fwd, limit=20.0):
    """True when some activation's argument is so large that its derivative is lost to
    float64 rounding (σ'(40) ≈ 4e-18): gradients there are noise, in any method."""
    return max(float(np.max(np.abs(np.concatenate([[s["a_iota"], s["a_phi"], s["a_omega"]], s["a_c"],
                                                   s["g_omega"] * s["s"]]))))
               for s in fwd.steps) > limit


# Bounded activations for the forget gate and z_h (identity there lets the state overflow);
# no relu (a relu that stays dead for the whole sequence zeroes the very terms that
# make eqs. 21 and 25 wrong, so they would rightly agree).
configs = st.builds(
    errata.Config, N=st.integers(1, 4), D=st.integers(1, 4), T=st.integers(2, 8),
    acts=st.tuples(st.tuples(st.just("phi"), st.sampled_from(["sigmoid", "tanh"])),
                   st.tuples(st.just("h"), st.sampled_from(["sigmoid", "tanh"])),
                   st.tuples(st.just("omega"), st.sampled_from(["sigmoid", "tanh", "identity"])),
                   st.tuples(st.just("iota"), st.sampled_from(["sigmoid", "tanh", "identity"])),
                   st.tuples(st.just("c"), st.sampled_from(["sigmoid", "tanh", "identity"]))),
    seed=st.integers(0, 10**6))


@settings(max_examples=25)
@given(config=configs)
def test_in_any_configuration_the_corrections_hold_and_the_same_equations_fail(config):
    case = errata.random_case(config)
    fwd = paper.forward(case["params"], case["xs"], case["z_h0"], case["s0"], dict(config.acts))
    assume(not saturated(fwd))
    result = errata.run_check([config], blog=False)
    assert result.ok
    wrong = {row.equation for row in result.rows if row.kind == "numbers"}
    assert wrong == (WRONG_NUMBERS if config.D > 1 else WRONG_NUMBERS - {"18"})


def test_the_graph_split_of_each_gradient_adds_up_to_the_total():
    """The parts read from backward's steps (by consuming time step) sum to the totals."""
    truth = truth_for(errata.Config(2, 3, 5))
    steps = truth.steps
    for t, step in enumerate(steps, start=1):
        np.testing.assert_allclose(step["delta_s_to_t"] + step["delta_s_from_next"], step["delta_s"], atol=1e-14)
        following = steps[t]["delta_zz_to_prev"] if t < len(steps) else 0.0
        np.testing.assert_allclose(step["direct"] + following, step["delta_z_h"], atol=1e-14)
        if t > 1:
            np.testing.assert_array_equal(step["delta_s_to_prev"], steps[t - 2]["delta_s_from_next"])
    for key, term in (("w_iota", "delta_iota"), ("w_phi", "delta_phi"), ("w_omega", "delta_omega"),
                      ("W_c", "Delta_c")):
        np.testing.assert_allclose(sum(step[term] for step in steps), truth.gradients[key], atol=1e-14)
    np.testing.assert_array_equal(truth.gradients["s0"], steps[0]["delta_s_to_prev"])


def test_the_direct_gradient_is_that_of_the_squared_error():
    config = errata.Config(2, 2, 4)
    case = errata.random_case(config)
    truth = truth_for(config)
    np.testing.assert_allclose([s["direct"] for s in truth.steps], truth.fwd.outputs - case["ys"], atol=1e-14)


def test_every_corrected_per_step_quantity_equals_the_graphs():
    truth = truth_for(errata.Config(2, 3, 6, (("omega", "tanh"), ("c", "identity"))))
    direct = [s["direct"] for s in truth.steps]
    computed = paper.backward(truth.fwd, direct, "corrected")
    for key in paper.QUANTITIES:
        got, want = computed.per_step(key), np.array([s[key] for s in truth.steps])
        assert errata.relative_error(got, want) <= 1e-12, key


def test_definitions_14_and_15_read_literally_hold_at_the_last_step_only():
    truth = truth_for(errata.Config(3, 2, 4))
    last, first = truth.steps[-1], truth.steps[0]
    np.testing.assert_allclose(last["definition_14"], last["delta_x"], atol=1e-14)
    np.testing.assert_allclose(last["definition_15"], last["delta_zz_to_prev"], atol=1e-14)
    assert errata.relative_error(first["definition_14"], first["delta_x"]) > 1e-3


def test_a_wrong_corrected_formula_makes_the_check_fail(monkeypatch):
    printed_25 = paper.EQUATIONS["25"]
    monkeypatch.setitem(paper.EQUATIONS, "25", paper.Equation("25", "Delta_c", printed_25.needs,
                                                              printed_25.printed, printed_25.printed))
    result = errata.run_check(errata.DEFAULT_CONFIGS[:2], blog=False)
    assert not result.ok
    assert {r.equation: r.corrected_rel_error for r in result.rows}["25"] > 1e-3
    assert "FAILED" in result.format_table()


def test_an_order_that_reads_a_quantity_too_early_is_reported(monkeypatch):
    monkeypatch.setattr(paper, "ORDER_OF_COMPUTATION", ("20", "19") + paper.ORDER_OF_COMPUTATION[2:])
    assert errata.order_problems() == ["eq. 20 reads delta_g_omega before it is computed"]


def test_json_rows_follow_the_documented_schema(result):
    rows = json.loads(errata.to_json_text(result))
    assert [row["equation"] for row in rows] == [entry.equation for entry in errata.CATALOG]
    for row in rows:
        assert {"equation", "quantity", "kind", "printed_rel_error", "step_rel_error", "corrected_rel_error",
                "note"} <= set(row)
        assert row["kind"] in errata.KINDS
        assert isinstance(row["equation"], str) and isinstance(row["quantity"], str) and row["note"]
        assert isinstance(row["corrected_rel_error"], float) and row["corrected_rel_error"] >= 0
        if row["printed_rel_error"] is None:
            assert row["kind"] != "numbers"
        else:
            assert isinstance(row["printed_rel_error"], float) and row["printed_rel_error"] >= 0


def test_table_names_every_equation_and_each_erratum_in_full(result):
    text = result.format_table()
    flowing = " ".join(text.split())            # long lines are wrapped
    for row in result.rows:
        assert f"\n{row.equation:<7}{row.kind:<15}" in text
        if row.kind != "ok":
            assert f"eq. {row.equation} [{row.kind}]" in text and " ".join(row.corrected.split()) in flowing
    assert "BlogLSTM" in text and text.rstrip().endswith("tolerance 1e-09).")
