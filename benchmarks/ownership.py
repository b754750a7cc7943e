"""What the ownership rule costs: tg.tensor of a caller's writable array (copied) against
tg.tensor of a read-only one (used as it is), and the same for a constant in ``w * c``.

    .venv/bin/python benchmarks/ownership.py

Prints CPU time per call (best of 7 rounds) and the extra memory: one copy of the array.
"""
import os

for variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(variable, "1")

import numpy as np  # noqa: E402

import checkout  # noqa: E402,F401  (benchmarks/checkout.py: this checkout's tinygraph and lstm)
import tinygraph as tg  # noqa: E402
from rounds import best_cpu_time as best  # noqa: E402  (benchmarks/rounds.py)


def main():
    print(f"{'shape':<14}{'bytes':>10} | {'tensor(read-only)':>18}{'tensor(writable)':>18}{'extra':>10} |"
          f" {'w*c read-only':>14}{'w*c writable':>14}{'extra':>10}")
    for shape in [(3,), (64, 64), (256, 512), (1000, 1000)]:
        writable = np.random.default_rng(0).standard_normal(shape)
        frozen = writable.copy()
        frozen.setflags(write=False)
        w = tg.parameter(np.ones(shape))
        number = max(1, int(2e6 // writable.size))
        t_frozen = best(lambda: tg.tensor(frozen), number)
        t_copy = best(lambda: tg.tensor(writable), number)
        m_frozen = best(lambda: w * frozen, number)
        m_copy = best(lambda: w * writable, number)
        print(f"{str(shape):<14}{writable.nbytes:>10} | {t_frozen * 1e6:>15.2f} µs{t_copy * 1e6:>15.2f} µs"
              f"{(t_copy - t_frozen) * 1e6:>7.2f} µs | {m_frozen * 1e6:>11.2f} µs{m_copy * 1e6:>11.2f} µs"
              f"{(m_copy - m_frozen) * 1e6:>7.2f} µs")


if __name__ == "__main__":
    main()
