"""How much does tinygraph add on top of numpy? Times the same computations both ways.

Each case is computed in the same run
  - in plain numpy: the forward, and forward + a hand-written backward;
  - through tinygraph: the forward (building the graph), and forward +
    ``tg.backward(loss, retain_grads=False)`` (leaf gradients only, like the numpy side);
  - through ``tg.compile``: forward + backward replayed from a tape traced once;
and the table prints the times, the ratios tinygraph / numpy and the overhead per op
in microseconds: (tinygraph time − numpy time) / number of ops in the graph. Before
timing, each case checks that the hand-written numpy gradients equal tinygraph's, so
both sides compute the same thing.

    .venv/bin/python benchmarks/engine.py            # all cases (about a minute)
    .venv/bin/python benchmarks/engine.py --quick    # shorter timings

Cases: a chain of tiny ``y = y * 1.0`` ops (pure overhead), a chain of elementwise
ops, an MLP layer, and an unrolled LSTM written with the ops (seed 001's batched cell),
each at a small and a medium size.
"""
import argparse
import os
import sys
import time
import timeit

# One BLAS thread: the comparison is about per-op overhead, and threads make it noisy.
for variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(variable, "1")

import numpy as np  # noqa: E402  (after the thread settings)

import checkout  # noqa: E402,F401  (benchmarks/checkout.py: this checkout's tinygraph and lstm)
import tinygraph as tg  # noqa: E402
from machine import describe  # noqa: E402  (benchmarks/machine.py)


def sigmoid(x):
    """The same plain-numpy σ tinygraph's forward runs, so both sides do the same work."""
    return tg.ops.stable_sigmoid(x)


# --- the cases: each gives (numpy forward, numpy forward+backward, tinygraph builder) -----

class TinyChain:
    """y = y * 1.0, n times, on 3 numbers: all cost is per-op overhead."""

    def __init__(self, n):
        self.n = n
        self.label = f"tiny chain y*1.0 x{n} on (3,)"
        self.x = np.linspace(0.1, 0.3, 3)

    def numpy_forward(self):
        y = self.x
        for _ in range(self.n):
            y = y * 1.0
        return y.sum()

    def numpy_backward(self):
        self.numpy_forward()
        g = np.ones(3)
        for _ in range(self.n):
            g = g * 1.0
        return [g]

    def tinygraph_forward(self, params):
        (y,) = params
        for _ in range(self.n):
            y = y * 1.0
        return y.sum()

    def arrays(self):
        return [self.x]


class ElementwiseChain:
    """y = tanh(y * a + b), k times, on an (r, h) array: 3 elementwise ops per round."""

    def __init__(self, k, shape, seed=0):
        rng = np.random.default_rng(seed)
        self.k = k
        self.label = f"elementwise chain tanh(y*a+b) x{k} on {shape}"
        self.x, self.a, self.b = (rng.standard_normal(shape) * 0.5 for _ in range(3))

    def numpy_forward(self):
        y = self.x
        for _ in range(self.k):
            y = np.tanh(y * self.a + self.b)
        return y.sum()

    def numpy_backward(self):
        ys = [self.x]
        for _ in range(self.k):
            ys.append(np.tanh(ys[-1] * self.a + self.b))
        g = np.ones_like(self.x)
        ga = np.zeros_like(self.a)
        gb = np.zeros_like(self.b)
        for i in range(self.k, 0, -1):
            gz = g * (1 - ys[i] * ys[i])
            ga += gz * ys[i - 1]
            gb += gz
            g = gz * self.a
        return [g, ga, gb]

    def tinygraph_forward(self, params):
        y, a, b = params
        for _ in range(self.k):
            y = tg.tanh(y * a + b)
        return y.sum()

    def arrays(self):
        return [self.x, self.a, self.b]


class MLPLayer:
    """loss = sum(tanh(X @ W + b)) for a batch X (r, d), W (d, h), b (h,)."""

    def __init__(self, r, d, h, seed=0):
        rng = np.random.default_rng(seed)
        self.label = f"MLP layer tanh(XW+b), X {r}x{d}, W {d}x{h}"
        self.X = rng.standard_normal((r, d))
        self.W = rng.standard_normal((d, h)) / np.sqrt(d)
        self.b = rng.standard_normal(h) * 0.1

    def numpy_forward(self):
        return np.tanh(self.X @ self.W + self.b).sum()

    def numpy_backward(self):
        out = np.tanh(self.X @ self.W + self.b)
        gz = 1 - out * out
        return [self.X.T @ gz, gz.sum(axis=0)]

    def tinygraph_forward(self, params):
        W, b = params
        return tg.tanh(tg.tensor(self.X) @ W + b).sum()

    def arrays(self):
        return [self.W, self.b]


LSTM_KEYS = ("W_ix", "W_fx", "W_ox", "W_cx", "W_ih", "W_fh", "W_oh", "W_ch", "b_i", "b_f", "b_o", "b_c")


class LSTMUnrolled:
    """Seed 001's batched LSTM over T steps, loss = sum(H_T); 12 parameters."""

    def __init__(self, T, r, d, h, seed=0):
        rng = np.random.default_rng(seed)
        self.label = f"LSTM T={T}, batch {r}, d={d}, h={h}"
        self.T = T
        self.X = rng.standard_normal((T, r, d))
        self.H0 = np.zeros((r, h))
        self.C0 = np.zeros((r, h))
        shapes = {"x": (d, h), "h": (h, h)}
        self.p = {}
        for key in LSTM_KEYS:
            if key.startswith("b"):
                self.p[key] = rng.standard_normal(h) * 0.1
            else:
                self.p[key] = rng.standard_normal(shapes[key[-1]]) / np.sqrt(shapes[key[-1]][0])

    def _step(self, X, H, C):
        p = self.p
        I = sigmoid(X @ p["W_ix"] + H @ p["W_ih"] + p["b_i"])
        F = sigmoid(X @ p["W_fx"] + H @ p["W_fh"] + p["b_f"])
        O = sigmoid(X @ p["W_ox"] + H @ p["W_oh"] + p["b_o"])
        C_i = np.tanh(X @ p["W_cx"] + H @ p["W_ch"] + p["b_c"])
        C_t = F * C + I * C_i
        tanh_C = np.tanh(C_t)
        return I, F, O, C_i, C_t, tanh_C, O * tanh_C

    def numpy_forward(self):
        H, C = self.H0, self.C0
        for t in range(self.T):
            *_, C, _, H = self._step(self.X[t], H, C)
        return H.sum()

    def numpy_backward(self):
        p = self.p
        H, C = self.H0, self.C0
        cache = []
        for t in range(self.T):
            I, F, O, C_i, C_t, tanh_C, H_t = self._step(self.X[t], H, C)
            cache.append((self.X[t], H, C, I, F, O, C_i, tanh_C))
            H, C = H_t, C_t
        grads = {k: np.zeros_like(v) for k, v in p.items()}
        dH = np.ones_like(H)
        dC = np.zeros_like(C)
        for X, H_prev, C_prev, I, F, O, C_i, tanh_C in reversed(cache):
            dO = dH * tanh_C
            dC = dC + dH * O * (1 - tanh_C * tanh_C)
            dI, dF, dC_i = dC * C_i, dC * C_prev, dC * I
            dC = dC * F
            da = {"i": dI * I * (1 - I), "f": dF * F * (1 - F), "o": dO * O * (1 - O),
                  "c": dC_i * (1 - C_i * C_i)}
            dH = 0
            for gate, g in da.items():
                grads[f"W_{gate}x"] += X.T @ g
                grads[f"W_{gate}h"] += H_prev.T @ g
                grads[f"b_{gate}"] += g.sum(axis=0)
                dH = dH + g @ p[f"W_{gate}h"].T
        return [grads[k] for k in LSTM_KEYS]

    def tinygraph_forward(self, params):
        p = dict(zip(LSTM_KEYS, params))
        H, C = tg.tensor(self.H0), tg.tensor(self.C0)
        for t in range(self.T):
            X = tg.tensor(self.X[t])
            I = tg.sigmoid(X @ p["W_ix"] + H @ p["W_ih"] + p["b_i"])
            F = tg.sigmoid(X @ p["W_fx"] + H @ p["W_fh"] + p["b_f"])
            O = tg.sigmoid(X @ p["W_ox"] + H @ p["W_oh"] + p["b_o"])
            C_i = tg.tanh(X @ p["W_cx"] + H @ p["W_ch"] + p["b_c"])
            C = F * C + I * C_i
            H = O * tg.tanh(C)
        return H.sum()

    def arrays(self):
        return [self.p[k] for k in LSTM_KEYS]


def cases():
    return [
        TinyChain(1000),
        ElementwiseChain(100, (4, 8)),
        ElementwiseChain(100, (64, 256)),
        MLPLayer(8, 16, 32),
        MLPLayer(256, 512, 512),
        LSTMUnrolled(20, 1, 8, 16),
        LSTMUnrolled(20, 32, 128, 128),
    ]


# --- timing ---------------------------------------------------------------------------

def best_times(fns, budget, rounds=7):
    """Best time of one call of each function, in seconds.

    Times are CPU time of this process (``time.process_time``), so other programs on a
    shared machine do not count; the functions take turns, round after round, so what
    still varies (caches, frequency) hits all of them alike. Each round runs a function
    for about ``budget / rounds`` seconds and the best round counts.
    """
    timers = {key: timeit.Timer(fn, timer=time.process_time) for key, fn in fns.items()}
    numbers = {}
    for key, timer in timers.items():
        number, took = timer.autorange()
        numbers[key] = max(1, int(number * (budget / rounds) / max(took, 1e-9)))
    best = dict.fromkeys(timers, float("inf"))
    for _ in range(rounds):
        for key, timer in timers.items():
            best[key] = min(best[key], timer.timeit(numbers[key]) / numbers[key])
    return best


def check_same_gradients(case):
    params = [tg.parameter(a) for a in case.arrays()]
    loss = case.tinygraph_forward(params)
    assert np.isclose(loss.item(), case.numpy_forward()), case.label
    tg.backward(loss)
    for param, expected in zip(params, case.numpy_backward()):
        np.testing.assert_allclose(param.grad, expected, rtol=1e-9, atol=1e-12, err_msg=case.label)
    return sum(1 for node in tg.topological_order(loss, needs_grad_only=False) if node.op is not None)


def run_case(case, budget):
    ops = check_same_gradients(case)
    arrays = case.arrays()

    def tg_forward():
        return case.tinygraph_forward([tg.parameter(a) for a in arrays])

    def tg_forward_backward():
        tg.backward(tg_forward(), retain_grads=False)

    params = [tg.parameter(a) for a in arrays]
    step = tg.compile(case.tinygraph_forward)
    step(params)                    # traced here; the timed calls replay

    def tape_forward_backward():
        step(params)

    times = best_times({"np_f": case.numpy_forward, "tg_f": tg_forward, "np_fb": case.numpy_backward,
                        "tg_fb": tg_forward_backward, "tape_fb": tape_forward_backward}, budget)
    return ops, times


def machine():
    return f"{describe()}, numpy {np.__version__}"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="shorter timings (noisier)")
    args = parser.parse_args(argv)
    budget = 0.3 if args.quick else 1.5
    print(f"machine: {machine()}")
    print("CPU time per call, best of 7 interleaved rounds; one BLAS thread; µs/op = (tinygraph − numpy) / ops;\n"
          "tape: the same fwd+bwd through tg.compile (replayed), its ratio to numpy and its whole time per op\n")
    header = (f"{'case':<48}{'ops':>6} | {'numpy fwd':>10}{'tg fwd':>10}{'ratio':>7}{'µs/op':>7} | "
              f"{'np fwd+bwd':>11}{'tg fwd+bwd':>11}{'ratio':>7}{'µs/op':>7} | "
              f"{'tape':>10}{'ratio':>7}{'µs/op all':>10}")
    print(header)
    print("-" * len(header))
    for case in cases():
        ops, t = run_case(case, budget)
        print(f"{case.label:<48}{ops:>6} | {fmt(t['np_f']):>10}{fmt(t['tg_f']):>10}"
              f"{t['tg_f'] / t['np_f']:>7.1f}{(t['tg_f'] - t['np_f']) / ops * 1e6:>7.2f} | "
              f"{fmt(t['np_fb']):>11}{fmt(t['tg_fb']):>11}{t['tg_fb'] / t['np_fb']:>7.1f}"
              f"{(t['tg_fb'] - t['np_fb']) / ops * 1e6:>7.2f} | {fmt(t['tape_fb']):>10}"
              f"{t['tape_fb'] / t['np_fb']:>7.1f}{t['tape_fb'] / ops * 1e6:>10.2f}", flush=True)
    return 0


def fmt(seconds):
    if seconds < 1e-3:
        return f"{seconds * 1e6:.1f} µs"
    return f"{seconds * 1e3:.2f} ms"


if __name__ == "__main__":
    sys.exit(main())
