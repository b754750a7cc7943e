"""Time BlogLSTM forward + backward through time: tinygraph (the teaching graph and the fused
cell, each also replayed through tg.compile's tape) against a hand-written numpy BPTT and
PyTorch, at four sizes, in float64 and float32; a 2-layer LSTM on 7-element vectors over
1,000 characters (~50,000 ops) against the same code in PyTorch eager; the peak memory at
T = 1,000 steps; and drawing an unrolled graph.

Runs benchmarks/lstm_speed.py in a fresh Python, so that BLAS starts with --threads threads.
The full run takes 1.5 to 3.5 minutes (more on a loaded machine); --quick about half a minute.

examples:
  python -m lstm bench
  python -m lstm bench --quick
  python -m lstm bench --sizes tiny,small --dtypes float64 --repeats 30 --no-draw
"""
import importlib.util
import subprocess
import sys
from pathlib import Path

HELP = "time tinygraph's LSTM (teaching graph, fused, with and without the tape) against numpy and PyTorch"

BENCHMARK = Path(__file__).resolve().parents[2] / "benchmarks" / "lstm_speed.py"


def _benchmark():
    """benchmarks/lstm_speed.py as a module (its options and how to write them back as a command line)."""
    spec = importlib.util.spec_from_file_location("lstm_benchmark", BENCHMARK)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def add_arguments(parser):
    if BENCHMARK.exists():
        _benchmark().add_arguments(parser)


def run(args):
    if not BENCHMARK.exists():
        print(f"bench: the benchmark script {BENCHMARK} is missing; it ships with the source checkout, "
              f"not with an installed package", file=sys.stderr)
        return 2
    argv = _benchmark().to_argv(args)
    return subprocess.call([sys.executable, str(BENCHMARK), *argv])
