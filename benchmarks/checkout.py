"""Import this before tinygraph or lstm: it puts the root of this checkout first on
``sys.path``, so a benchmark measures the code beside it, not a copy installed in the
environment (a shared virtualenv or a second checkout would otherwise be timed silently)."""
import sys
from pathlib import Path

ROOT = str(Path(__file__).resolve().parents[1])
if sys.path[:1] != [ROOT]:
    sys.path.insert(0, ROOT)
