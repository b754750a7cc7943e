"""python -m lstm check: the readable report, --json, and the exit status."""
import json
import subprocess
import sys

from lstm import errata, paper
from lstm.__main__ import main


def test_check_prints_the_table_and_exits_0(capsys):
    assert main(["check"]) == 0
    out = capsys.readouterr().out
    assert "eq. 21 [numbers]" in out and "corrected:" in out
    assert "BlogLSTM: closed-form BPTT" in out
    assert "OK: the corrected closed forms match autodiff" in out


def test_check_json_is_one_object_per_equation(capsys):
    assert main(["check", "--json", "--seed", "3"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [row["equation"] for row in rows] == [entry.equation for entry in errata.CATALOG]
    assert {row["kind"] for row in rows} == set(errata.KINDS)
    assert all(set(row) >= {"equation", "quantity", "kind", "printed_rel_error", "corrected_rel_error", "note"}
               for row in rows)


def test_check_exits_1_when_a_corrected_formula_is_wrong(monkeypatch, capsys):
    printed = paper.EQUATIONS["21"].printed
    monkeypatch.setitem(paper.EQUATIONS, "21", paper.Equation("21", "delta_s_to_t", ("delta_z_h",), printed, printed))
    assert main(["check"]) == 1
    assert "FAILED: the corrected closed forms do NOT match autodiff" in capsys.readouterr().out


def test_check_runs_as_a_module():
    done = subprocess.run([sys.executable, "-m", "lstm", "check", "--json"], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert len(json.loads(done.stdout)) == len(errata.CATALOG)
