"""``python -m lstm bench``: options survive the trip to the benchmark's own process, and a
one-repeat run at the tiny size finishes with every implementation agreeing (no timing is
asserted)."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

from lstm.__main__ import build_parser
from lstm.commands import bench


def test_bench_options_are_passed_on_unchanged():
    argv = ["bench", "--sizes", "tiny,small", "--dtypes", "float32", "--repeats", "4", "--threads", "2",
            "--no-torch", "--memory-steps", "0", "--small-steps", "7", "--no-draw", "--markdown", "--render-timeout", "5"]
    args = build_parser().parse_args(argv)
    again = build_parser().parse_args(["bench", *bench._benchmark().to_argv(args)])
    assert vars(again) == vars(args)


def test_a_tiny_benchmark_run_checks_every_implementation_and_prints_the_table():
    result = subprocess.run(
        [sys.executable, "-m", "lstm", "bench", "--sizes", "tiny", "--repeats", "1", "--memory-steps", "0",
         "--small-steps", "5", "--no-draw", "--no-torch"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    for name in ("numpy reference", "tinygraph fused sequence", "tinygraph fused tape", "tinygraph fused",
                 "tinygraph tape", "tinygraph"):
        assert f"tiny  float64  {name}" in out and f"tiny  float32  {name}" in out, name
    assert "small vectors: 2-layer BlogLSTM (7, 7) over 5 characters" in out and "tinygraph tape" in out
    assert "goals" in out


def test_unknown_size_is_refused():
    result = subprocess.run([sys.executable, "-m", "lstm", "bench", "--sizes", "huge", "--no-torch"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode != 0 and "unknown size 'huge'" in result.stderr


@pytest.mark.parametrize("option", ["--threads", "--repeats"])
def test_counts_below_one_are_refused(option):
    result = subprocess.run([sys.executable, "-m", "lstm", "bench", option, "0", "--no-torch"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode != 0 and option in result.stderr


def test_torch_implementations_agree_with_the_reference_when_torch_is_installed():
    pytest.importorskip("torch")
    result = subprocess.run(
        [sys.executable, "-m", "lstm", "bench", "--sizes", "tiny", "--repeats", "1", "--memory-steps", "0",
         "--small-steps", "5", "--no-draw"], capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stderr          # the run stops if any implementation disagrees
    for name in ("torch nn.LSTM", "torch LSTMCell loop"):
        assert f"tiny  float64  {name}" in result.stdout and f"tiny  float32  {name}" in result.stdout, name


def test_a_benchmark_measures_this_checkouts_tinygraph_not_an_installed_copy(tmp_path):
    """A decoy ``tinygraph`` placed first on PYTHONPATH (as a shared virtualenv or another
    checkout would be) must lose to the checkout the benchmark script sits in."""
    decoy = tmp_path / "tinygraph"
    decoy.mkdir()
    (decoy / "__init__.py").write_text("raise ImportError('the decoy tinygraph was imported')\n")
    root = Path(__file__).resolve().parents[1]
    script = tmp_path / "which.py"
    script.write_text(f"import sys\nsys.path.insert(0, {str(root / 'benchmarks')!r})\n"
                      "import checkout\nimport tinygraph\nprint(tinygraph.__file__)\n")
    result = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=60,
                            cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(tmp_path)})
    assert result.returncode == 0, result.stderr
    assert Path(result.stdout.strip()).resolve() == root / "tinygraph" / "__init__.py"
