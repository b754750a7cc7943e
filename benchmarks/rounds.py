"""Timing in rounds: implementations take turns (A, B, C, A, B, C, ...), so load from other
processes slows them alike, and each is judged by the median over the rounds of its time
divided by a reference's time in the same round."""
import gc
import time

import numpy as np


def best_cpu_time(fn, number, rounds=7):
    """The best over ``rounds`` of the CPU time per call of ``fn``, called ``number`` times a round."""
    times = []
    for _ in range(rounds):
        start = time.process_time()
        for _ in range(number):
            fn()
        times.append((time.process_time() - start) / number)
    return min(times)


def interleaved(runs, rounds):
    """Wall times of each callable in ``runs``, one list per callable, over ``rounds`` rounds."""
    times = [[] for _ in runs]
    gc.collect()
    for _ in range(rounds):
        for run, record in zip(runs, times):
            start = time.perf_counter()
            run()
            record.append(time.perf_counter() - start)
    return times


def median_ratio(record, reference):
    """The median over the rounds of time / the reference's time in the same round."""
    return float(np.median([t / r for t, r in zip(record, reference)]))
