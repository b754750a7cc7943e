"""The exercises' grader: each reference solution is graded all right; a bug planted in one
function is reported as that one quantity (first, and alone: every function gets the true
inputs); a student's missing function, wrong shape, exception or syntax error is said in
words; the command line; the templates are the solutions with their answers blanked."""
import importlib.util
import inspect
import os
import re
from pathlib import Path

import pytest

from lstm import exercises
from lstm.__main__ import main
from lstm.exercises import blanks
from lstm.exercises.exercise import ROOT
from tinygraph.draw import HIGHLIGHT

SOLUTIONS = ROOT / "exercises" / "solutions"


def solution_text(name):
    return (SOLUTIONS / f"{name}.py").read_text(encoding="utf-8")


def planted(tmp_path, name, old, new):
    """The reference solution of ``name`` with ``old`` replaced by ``new`` (exactly once)."""
    text = solution_text(name)
    assert text.count(old) == 1, f"{old!r} is not in {name}'s solution exactly once"
    path = tmp_path / f"{name}_planted.py"
    path.write_text(text.replace(old, new), encoding="utf-8")
    return path


@pytest.mark.parametrize("name", list(exercises.EXERCISES))
def test_the_reference_solution_is_graded_all_right(name, capsys):
    report = exercises.grade(name, SOLUTIONS / f"{name}.py")
    assert report.ok and report.first_wrong is None, report.format_table()
    assert all(row.error <= exercises.TOLERANCE for row in report.rows)
    assert "OK: all" in report.format_table()


# (exercise, planted quantity, the solution's text, the bug): each a mistake a student makes
BUGS = [
    ("blog_step", "O_bar", "return H_bar * tanh_C_t", "return H_bar"),
    ("blog_step", "C_t_bar", "(1 - tanh_C_t ** 2) + C_t_bar_next", "(1 - tanh_C_t ** 2)"),   # forgot the pipe
    ("blog_step", "F_bar", "return C_t_bar * C_prev", "return C_prev"),
    ("blog_step", "I_bar", "return C_t_bar * C_i", "return C_t_bar * (1 - C_i ** 2)"),
    ("blog_step", "C_i_bar", "return C_t_bar * I", "return C_t_bar * I * (1 - I)"),
    ("blog_step", "A_f_bar", "return F_bar * F * (1 - F)", "return F_bar * (1 - F ** 2)"),     # tanh' for σ'
    ("blog_step", "A_c_bar", "return C_i_bar * (1 - C_i ** 2)", "return C_i_bar * C_i * (1 - C_i)"),
    ("blog_step", "A_o_bar", "return O_bar * O * (1 - O)", "return O_bar * O"),
    ("blog_step", "C_prev_bar", "return C_t_bar * F", "return C_t_bar"),
    ("blog_step", "H_prev_bar", " + A_o_bar @ W_oh.T", ""),                                 # one gate left out
    ("blog_step", "b_f", 'grads[f"b_{g}"] = sum(s[f"A_{g}_bar"].sum(axis=0) for s in steps)',
     'grads[f"b_{g}"] = steps[-1][f"A_{g}_bar"].sum(axis=0)'),                              # last step only
    ("rnn_step", "A_bar", "return h_bar * (1 - h_t ** 2)", "return h_bar * (1 - h_t)"),
    ("rnn_step", "h_prev_bar", "return A_bar @ W_h.T", "return A_bar @ W_h"),               # h × h: no shape error
    ("rnn_step", "W_h", '"W_h": sum(s["h_prev"].T @ s["A_bar"] for s in steps)',
     '"W_h": steps[0]["h_prev"].T @ steps[0]["A_bar"]'),
    # in the loop everything after a mistake is wrong too: the first wrong row names the step and the path
    ("blog_bptt", "C_bar_2", 'C_bar[t] = H_bar[t] * s["O"] * (1 - s["tanh_C_t"] ** 2) + C_from_next',
     'C_bar[t] = H_bar[t] * s["O"] * (1 - s["tanh_C_t"] ** 2)'),                         # the pipe forgotten
    ("blog_bptt", "H_bar_2", "H_bar[t] = dH[t] + H_from_next", "H_bar[t] = dH[t]"),           # the H path forgotten
    ("blog_bptt", "X", 'X_bar[t] = sum(A[g] @ W[f"W_{g}x"].T for g in A)', 'X_bar[t] = A["f"] @ W["W_fx"].T'),
    ("paper_step", "delta_s_to_t", "c.delta_z_h * c.df_h(c.g_omega * c.s)", "c.delta_z_h * c.df_omega(c.g_omega * c.s)"),
    ("paper_step", "delta_s_to_t", "\n            + c.delta_g_omega * c.df_omega(c.a_omega) * c.w_omega_s)", ")"),  # no peephole
    ("paper_step", "Delta_c", "np.outer(c.u, c.delta_z_c * c.df_c(c.a_c))",
     "np.outer(np.concatenate([c.x, c.s_prev, [1.0]]), c.delta_z_c * c.df_c(c.a_c))"),     # s(t-1) for z_h(t-1)
    # a wrong VJP also fails the checks that run it inside a graph (gradcheck, the stepper)
    ("op_vjp", "b_bar", "tg.unbroadcast(g * s, np.shape(b))", "g * s"),                    # not summed back
    ("op_vjp", "a_bar", "g * b * s * (1 - s), np.shape(a)", "g * b * (1 - s ** 2), np.shape(a)"),
]
ALONE = {"b_f": [f"b_{g}" for g in "fico"]}


@pytest.mark.parametrize("name, key, old, new", BUGS, ids=[f"{b[0]}-{b[1]}" for b in BUGS])
def test_a_planted_bug_is_named_first_and_alone(tmp_path, name, key, old, new):
    report = exercises.grade(name, planted(tmp_path, name, old, new))
    assert not report.ok
    assert report.first_wrong.quantity.key == key, report.format_table()
    wrong = [row.quantity.key for row in report.rows if not row.ok]
    if name not in ("blog_bptt", "op_vjp"):
        assert wrong == ALONE.get(key, [key]), report.format_table()
    assert f"The first wrong quantity is {report.first_wrong.quantity.symbol} " in report.format_table()


def test_a_transposed_weight_is_reported_as_a_wrong_shape(tmp_path):
    sum_ = "A_f_bar @ W_fx.T + A_i_bar @ W_ix.T + A_c_bar @ W_cx.T + A_o_bar @ W_ox.T"
    path = planted(tmp_path, "blog_step", f"return {sum_}", f"return ({sum_}).T")
    row = exercises.grade("blog_step", path).row("X_bar")
    assert row.status == "shape"
    assert row.explain() == "X_bar() returned shape (3, 2), expected (2, 3) (at run 1 (d, h, r, T) = (3, 4, 2, 3), t=1)"


def test_an_exception_in_the_students_code_names_the_function_file_and_line(tmp_path):
    path = planted(tmp_path, "blog_step", "return C_t_bar * I\n", "return C_t_bar * I / undefined_name\n")
    report = exercises.grade("blog_step", path)
    row = report.row("C_i_bar")
    line = path.read_text().split("\n").index("    return C_t_bar * I / undefined_name") + 1
    assert row.status == "error"
    assert row.explain() == (f"C_i_bar() raised NameError: name 'undefined_name' is not defined "
                             f"({path.name}, line {line}: return C_t_bar * I / undefined_name)")
    assert [r.quantity.key for r in report.rows if not r.ok] == ["C_i_bar"]


def test_a_numpy_warning_in_the_students_code_is_an_error_with_its_line(tmp_path):
    path = planted(tmp_path, "blog_step", "return O_bar * O * (1 - O)", "return O_bar * O * (1 - O) / (O - O)")
    row = exercises.grade("blog_step", path).row("A_o_bar")
    assert row.status == "error" and "FloatingPointError" in row.explain() and "line" in row.explain()


def test_a_function_that_never_returns_is_stopped_and_said_in_words(tmp_path, monkeypatch):
    from lstm.exercises import grader

    monkeypatch.setattr(grader, "TIME_LIMIT", 0.2)
    path = planted(tmp_path, "blog_step", "return C_t_bar * I\n",
                   "while True:\n        try:\n            pass\n        except Exception:\n            pass\n")
    report = exercises.grade("blog_step", path)
    row = report.row("C_i_bar")
    assert row.status == "slow"
    assert row.explain() == "C_i_bar() did not return within 0.2 s; it was stopped (a loop that never ends?)"
    assert [r.quantity.key for r in report.rows if not r.ok] == ["C_i_bar"]


def test_a_missing_function_and_a_wrong_signature_are_said_in_words(tmp_path):
    path = planted(tmp_path, "blog_step", "def I_bar(C_t_bar, C_i):", "def I_bar_typo(C_t_bar, C_i):")
    assert exercises.grade("blog_step", path).row("I_bar").explain() == (
        f"{path.name} has no function I_bar(C_t_bar, C_i)")
    path = planted(tmp_path, "blog_step", "def I_bar(C_t_bar, C_i):", "def I_bar(C_t_bar, Ci):")
    assert exercises.grade("blog_step", path).row("I_bar").explain().startswith(
        "could not be called as I_bar(C_t_bar, C_i): ")


def test_a_wrong_return_type_is_said_in_words(tmp_path):
    path = planted(tmp_path, "blog_step", "    return grads\n", "    return list(grads.values())\n")
    row = exercises.grade("blog_step", path).row("W_fx")
    assert row.explain().startswith("parameter_grads() must return a dict with key 'W_fx' (got list)")


def test_a_file_that_does_not_load_is_reported_with_its_line(tmp_path):
    path = planted(tmp_path, "blog_step", "def F_bar(C_t_bar, C_prev):", "def F_bar(C_t_bar, C_prev)")
    report = exercises.grade("blog_step", path)
    assert not report.ok and report.problem.startswith(f"{path}, line ")
    assert "syntax error" in report.format_table()


def test_the_students_code_cannot_change_the_true_values(tmp_path):
    path = planted(tmp_path, "blog_step", "    return H_bar * tanh_C_t\n",
                   "    H_bar *= 0\n    return H_bar * tanh_C_t\n")
    report = exercises.grade("blog_step", path)
    assert [r.quantity.key for r in report.rows if not r.ok] == ["O_bar"]


def test_the_drawing_highlights_the_first_wrong_quantitys_node(tmp_path):
    report = exercises.grade("blog_step", planted(tmp_path, "blog_step", "return C_t_bar * C_prev", "return C_prev"))
    source = report.drawing().source
    red = [line for line in source.splitlines() if HIGHLIGHT in line and "->" not in line and "<B>" in line]
    assert [re.search(r"<B>(.*?)</B>", line).group(1) for line in red] == ["F"]
    assert "red: where F̄ belongs" in source


@pytest.mark.parametrize("name", list(exercises.EXERCISES))
def test_the_template_is_the_solution_with_every_answer_blanked(name):
    template = ROOT / exercises.EXERCISES[name].template
    assert template.read_text(encoding="utf-8") == blanks.template_of(solution_text(name)), (
        f"{template.name} is out of date: run `.venv/bin/python exercises/build.py`")
    report = exercises.grade(name, template)
    assert {row.status for row in report.rows} == {"todo"}, report.format_table()

    def signatures(path):
        spec = importlib.util.spec_from_file_location(f"_sig_{path.parent.name}", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        if name == "op_vjp":                    # the student writes a method of the op's class
            return {"Valve.backward": tuple(inspect.signature(module.Valve.backward).parameters)}
        return {f.name: tuple(inspect.signature(getattr(module, f.name)).parameters) for f in
                exercises.EXERCISES[name].functions}

    expected = ({"Valve.backward": ("self", "g", "out", "a", "b")} if name == "op_vjp" else
                {f.name: f.args for f in exercises.EXERCISES[name].functions})
    assert signatures(template) == signatures(SOLUTIONS / f"{name}.py") == expected


def test_grade_list_prints_each_exercise_and_its_solution(capsys):
    assert main(["grade", "--list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines] == list(exercises.EXERCISES)
    for line in lines:
        name, path = line.split()
        assert path == f"exercises/solutions/{name}.py" and (ROOT / path).is_file()


def test_grade_exits_0_when_right_1_when_wrong_2_when_it_cannot_grade(tmp_path, capsys):
    assert main(["grade", "blog_step", str(SOLUTIONS / "blog_step.py")]) == 0
    assert "OK: all 24 quantities are right" in capsys.readouterr().out
    assert main(["grade", "blog_step", str(planted(tmp_path, "blog_step", "return C_t_bar * F", "return F"))]) == 1
    out = capsys.readouterr().out
    assert "C̄_t-1       wrong" in out and "The first wrong quantity is C̄_t-1" in out
    for argv, message in ((["grade", "blog_step", str(tmp_path / "nothing.py")], "is not a file"),
                          (["grade", "nothing", str(SOLUTIONS / "blog_step.py")], "unknown exercise 'nothing'"),
                          (["grade", "blog_step"], "give an EXERCISE and a FILE")):
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert message in err and len(err.strip().splitlines()) == 1


def test_predict_check_says_what_is_wrong(capsys):
    exercises.check("rate", 0.62, 0.6201, rtol=0.01)
    assert capsys.readouterr().out == "ok: rate = 0.62\n"
    with pytest.raises(AssertionError, match=r"^rate: not answered yet"):
        exercises.check("rate", ..., 0.62)
    with pytest.raises(AssertionError, match=r"your answer has shape \(2,\), the answer has shape \(3,\)"):
        exercises.check("b̄", [1.0, 2.0], [1.0, 2.0, 3.0])
    with pytest.raises(AssertionError, match=r"'b' should not be there .* Hint: look again"):
        exercises.check("zero", {"a", "b"}, {"a"}, hint="look again")
    with pytest.raises(AssertionError, match="you answered 'H path', the answer is 'C path'"):
        exercises.check("route", "H path", "C path")
    exercises.check("route", " c PATH ", "C path")


def test_grade_draws_the_first_wrong_node_into_a_checked_file(tmp_path, capsys):
    student = planted(tmp_path, "blog_step", "return C_t_bar * F", "return F")
    picture = tmp_path / "wrong.dot"
    same_file = tmp_path / "same.svg"
    os.link(student, same_file)                                     # the student's file under another name
    assert main(["grade", "blog_step", str(student), "--draw", str(picture)]) == 1
    assert f"wrote {picture} (cell view): C̄_t-1's node in red" in capsys.readouterr().out
    assert "red: where C̄_t-1 belongs" in picture.read_text(encoding="utf-8")
    for argv, message in ((["--draw", str(picture)], "the file exists; use --force"),
                          (["--draw", str(same_file)], "write the output to another file"),
                          (["--draw", str(tmp_path / "wrong.txt")], "must end in one of .svg")):
        assert main(["grade", "blog_step", str(student)] + argv) == 2
        captured = capsys.readouterr()
        assert message in captured.err and captured.out == ""      # refused before grading
    assert main(["grade", "blog_step", str(student), "--draw", str(picture), "--force"]) == 1


def test_the_loop_must_return_every_step(tmp_path):
    path = planted(tmp_path, "blog_bptt", '"H_bar": H_bar,', '"H_bar": H_bar[-1],')
    report = exercises.grade("blog_bptt", path)
    assert report.first_wrong.quantity.key == "H_bar_3"
    assert report.first_wrong.explain().startswith(
        "backward() returned H_bar of shape (2, 4): give the T = 3 steps' totals, (T, r, h)")


def test_functions_written_in_a_notebook_are_graded_in_place(tmp_path):
    cell = solution_text("blog_step").replace("return C_t_bar * I\n", "return C_t_bar * I / 0\n")
    namespace = {}
    exec(compile(cell, "/tmp/ipykernel_1/cell.py", "exec"), namespace)   # as Jupyter runs a cell
    report = exercises.grade_here("blog_step", namespace)
    assert [r.quantity.key for r in report.rows if not r.ok] == ["C_i_bar"]
    assert "(cell.py, line " in report.row("C_i_bar").explain()
    with pytest.raises(AssertionError, match="The first wrong quantity is C̄_i"):
        report.check()
    del namespace["F_bar"]
    assert exercises.grade_here("blog_step", namespace).row("F_bar").explain() == (
        "the notebook has no function F_bar(C_t_bar, C_prev)")


def test_a_new_ops_backward_is_checked_in_a_graph_and_by_the_stepper(tmp_path):
    path = planted(tmp_path, "op_vjp", "tg.unbroadcast(g * s, np.shape(b))", "g * s")
    report = exercises.grade("op_vjp", path)
    assert report.row("b_bar").explain() == ("Valve.backward(g, out, a, b) returned shape (3, 4), expected (4,) "
                                             "(at a (3, 4), b (4,) (b broadcast over rows))")
    for key, caller in (("gradcheck", "tg.gradcheck"), ("stepper", "the stepper")):
        assert report.row(key).explain().startswith(f"Valve.backward (called by {caller}) raised GraphError: ")
    assert report.row("a_bar").ok


def test_the_papers_equations_graded_as_printed_and_corrected(tmp_path):
    """The paper's printed equations (lstm.paper) fail exactly eqs. 21 and 25 of the order of
    computation, eq. 21 first; its corrected forms are all right."""
    from lstm import paper

    for version, wrong in (("printed", ["delta_s_to_t", "Delta_c"]), ("corrected", [])):
        lines = ["from lstm import paper"] + [
            f"def {paper.EQUATIONS[n].quantity}(c):\n    return paper.EQUATIONS[{n!r}].{version}(c)"
            for n in paper.ORDER_OF_COMPUTATION]
        path = tmp_path / f"paper_{version}.py"
        path.write_text("\n\n".join(lines) + "\n", encoding="utf-8")
        report = exercises.grade("paper_step", path)
        assert [row.quantity.key for row in report.rows if not row.ok] == wrong, report.format_table()


def quantity(name, key):
    return next(q for f in exercises.EXERCISES[name].functions for q in f.returns if q.key == key)


def red_boxes(dot):
    """Each vertex drawn with a red border in the rendered SVG: {svg id: its texts}."""
    import xml.etree.ElementTree as ET

    ns = {"svg": "http://www.w3.org/2000/svg"}
    root = ET.fromstring(dot.pipe(format="svg", encoding="utf-8").encode())
    red = {}
    for g in root.iterfind(".//svg:g[@class='node']", ns):
        shapes = [el for tag in ("path", "polygon", "ellipse") for el in g.iterfind(f".//svg:{tag}", ns)]
        if any(el.get("stroke", "").lower() == HIGHLIGHT.lower() for el in shapes):
            red[g.get("id")] = [t.text for t in g.iterfind(".//svg:text", ns) if t.text]
    return red


# (exercise, quantity, the view chosen by default, the text of the red box in the cell view and in the ops view)
VIEWS = [
    ("blog_step", "F_bar", "cell", "forget gate", "F"),                       # a gate: its box
    ("blog_step", "C_t_bar", "cell", "C_t", "C_t"),                           # a state
    ("blog_step", "C_prev_bar", "cell", "C_t-1", "C0"),                       # the state handed in
    ("blog_step", "A_f_bar", "ops", "forget gate", "X W_fx + H W_fh + b_f"),  # inside the gate's box
    ("blog_step", "b_f", "ops", "forget gate", "b_f"),                        # a weight: not drawn in the cell view
    ("rnn_step", "A_bar", "cell", "X W_x + h W_h + b", "X W_x + h W_h + b"),  # the RNN's cell view draws every op
    ("paper_step", "delta_z_c", "cell", "input value", "z_c"),
]


@pytest.mark.parametrize("name, key, default, in_cell, in_ops", VIEWS)
def test_the_drawing_lights_the_wrong_quantitys_node_in_either_view(name, key, default, in_cell, in_ops):
    exercise, q = exercises.EXERCISES[name], quantity(name, key)
    for view, text in (("cell", in_cell), ("ops", in_ops)):
        dot = exercise.draw(q, view)
        red = red_boxes(dot)
        assert any(text in texts for texts in red.values()), (view, red)      # it reads the quantity's name
        drawn = {f"v_{v.id}": v for v in dot.vertices if v.kind != "junction"}
        common = set.intersection(*({id(n) for n in drawn[i].nodes} for i in red))
        assert any({i for i, v in drawn.items() if any(id(n) == c for n in v.nodes)} == set(red)
                   for c in common), (view, red)                            # and red is that one node's boxes
        assert dot.exercise_view == view and f"where {q.symbol} belongs" in dot.source
    assert exercise.draw(q).exercise_view == default


def test_the_default_view_is_the_cell_view_exactly_for_a_gate_valve_or_state_box():
    from lstm import diagrams
    from lstm.exercises.drawing import own_box

    ex = diagrams.example("blog")
    cell = diagrams.cell(ex)
    step = ex.run.steps[0]
    boxes = {key for key, node in {**step, **ex.cell.parameters(), **ex.run.initial_state}.items()
             if own_box(cell, node)}
    assert {"F", "I", "C_i", "O", "F×C", "I×C_i", "C_t", "tanh(C_t)", "H_t", "X", "H0", "C0"} == boxes


def test_grade_view_chooses_the_drawing_and_is_refused_where_it_means_nothing(tmp_path, capsys):
    student = planted(tmp_path, "blog_step", "return C_t_bar * C_prev", "return C_prev")
    for view in ("cell", "ops"):
        picture = tmp_path / f"wrong_{view}.svg"
        assert main(["grade", "blog_step", str(student), "--draw", str(picture), "--view", view]) == 1
        assert f"wrote {picture} ({view} view): F̄'s node in red" in capsys.readouterr().out
        assert ("forget gate" if view == "cell" else "H W_fh") in picture.read_text(encoding="utf-8")
    assert main(["grade", "blog_step", str(student), "--draw", str(tmp_path / "auto.svg")]) == 1
    assert "(cell view)" in capsys.readouterr().out
    for argv, message in ((["blog_step", str(student), "--view", "ops"], "add --draw PICTURE"),
                          (["op_vjp", str(SOLUTIONS / "op_vjp.py"), "--draw", str(tmp_path / "o.svg"), "--view", "cell"],
                           "op_vjp draws the op's own graph")):
        assert main(["grade"] + argv) == 2
        captured = capsys.readouterr()
        assert message in captured.err and len(captured.err.strip().splitlines()) == 1 and captured.out == ""
