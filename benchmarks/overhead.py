"""Where the engine's time goes per node: each piece of the work of one op, timed alone.

On a 16-element float64 array (where numpy's own call is the floor), the script times
the numpy call, then each piece the engine adds around it in forward (the operator's
dispatch, lifting the constant, the Op object, the Node, the scope, freezing the output)
and in backward (the op's VJP, the pending-gradient dict, the shape/dtype fit, freezing
what ``.grad`` keeps, the step tuple that only ``backward_steps`` builds), and compares their sum with a measured chain of
``y = y * 1.0``. Then it counts page faults (minor faults, ``getrusage``) of one forward +
backward of the teaching BlogLSTM at the medium size: the engine keeps every intermediate
alive, so glibc hands it fresh memory, and the kernel faults it in page by page.

    .venv/bin/python benchmarks/overhead.py
"""
import os
import resource
import subprocess
import sys
import timeit

for _variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")

import numpy as np  # noqa: E402

import checkout  # noqa: E402,F401  (benchmarks/checkout.py: this checkout's tinygraph and lstm)
import tinygraph as tg  # noqa: E402
from tinygraph.ops import Mul, _lift, as_node  # noqa: E402

N = 16


def per_call(stmt, names, number=20000, repeat=7):
    """Best time of one execution of ``stmt`` in µs."""
    return min(timeit.repeat(stmt, globals=names, number=number, repeat=repeat)) / number * 1e6


def forward_pieces():
    x = np.linspace(0.1, 1.0, N)
    p = tg.parameter(x.copy())
    c = tg.tensor(1.0)
    names = dict(np=np, tg=tg, x=x, one=np.array(1.0), p=p, c=c, Mul=Mul, as_node=as_node, lift=_lift,
                 Node=tg.Node, out=x * 1.0, apply=tg.ops._apply)
    return [
        ("numpy call y * 1.0 (the floor)", per_call("x * one", names)),
        ("Op object (Mul())", per_call("Mul()", names)),
        ("lift the constant 1.0 (as_node)", per_call("as_node(1.0, p)", names)),
        ("... from the cache, as operators do (_lift)", per_call("lift(1.0, p, Mul, 'second')", names)),
        ("Node(...) incl. reading the scope", per_call("Node(out, None, (), None, True)", names)),
        ("freeze the output (setflags)", per_call("out.setflags(write=False)", names)),
        ("_apply(Mul(), (p, c)) in all", per_call("apply(Mul(), (p, c), None)", names)),
        ("p * 1.0 in all (operator, lift, apply)", per_call("p * 1.0", names)),
    ]


def backward_pieces():
    x = np.linspace(0.1, 1.0, N)
    op = Mul()
    op.needs = (True, False)
    g = x * 1.0
    node, parent = tg.parameter(x), tg.parameter(x)
    names = dict(op=op, g=g, x=x, one=np.array(1.0), node=node, parent=parent, pending={parent: g},
                 step=tg.BackwardStep, new=tuple.__new__, np=np)
    return [
        ("op.backward (Mul: g * b, unbroadcast)", per_call("op.backward(g, x, x, one)", names)),
        ("pending dict: get, set, pop", per_call("pending.get(parent); pending[parent] = g; pending.pop(parent)",
                                                 names)),
        ("fit check (dtype is, shape ==)", per_call("g.dtype is not x.dtype or g.shape != x.shape", names)),
        ("freeze a gradient kept in .grad (setflags)", per_call("g.setflags(write=False)", names)),
        ("the step tuple (backward_steps only)", per_call("new(step, (0, node, g, (g,)))", names)),
    ]


def chain(n=1000):
    x = np.linspace(0.1, 1.0, N)

    def forward():
        y = tg.parameter(x)
        for _ in range(n):
            y = y * 1.0
        return y.sum()

    def forward_backward():
        tg.backward(forward(), retain_grads=False)

    def numpy_forward_backward():
        y = x
        for _ in range(n):
            y = y * 1.0
        g = np.ones(N)
        for _ in range(n):
            g = g * 1.0
        return g

    times = {}
    for name, fn in (("fwd", forward), ("fwd+bwd", forward_backward), ("numpy fwd+bwd", numpy_forward_backward)):
        times[name] = min(timeit.repeat(fn, number=10, repeat=7)) / 10 / n * 1e6
    return times


def page_faults(name, repeats=3):
    """Minor page faults per forward + backward of the medium BlogLSTM, after two warm-up
    calls, for one implementation: "numpy reference", "engine" or "tape"."""
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import reference_numpy
    from lstm.cells import BlogLSTM
    B, D, H, T = 32, 128, 256, 100
    cell = BlogLSTM(D, H, seed=0)
    rng = np.random.default_rng(0)
    X, G = rng.standard_normal((T, B, D)), rng.standard_normal((T, B, H))
    xs = list(X)

    def loss(steps):
        return (tg.stack(cell.unroll(list(steps)).outputs) * G).sum()

    if name == "numpy reference":
        model = reference_numpy.NumpyBlogLSTM({k: p.value for k, p in cell.parameters().items()}, T, B, np.float64)

        def fn():
            model.forward(X)
            model.backward(G)
    elif name == "engine":
        def fn():
            tg.backward(loss(xs), retain_grads=False)
    else:
        step = tg.compile(loss)

        def fn():
            step(xs)
    fn()
    fn()                                    # the tape's first call traces; warm up past it
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(repeats):
        fn()
    return (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / repeats


def page_fault_rows():
    """``page_faults`` of each implementation, each in a fresh process (the heap's history
    decides what glibc reuses)."""
    rows = []
    for name in ("numpy reference", "engine", "tape"):
        out = subprocess.run([sys.executable, os.path.abspath(__file__), "--faults", name], check=True,
                             capture_output=True, text=True).stdout
        rows.append((name, float(out)))
    return rows


def main():
    print(f"per node on a {N}-element float64 array, best of 7 (µs); load average {os.getloadavg()[0]:.1f}\n")
    print("forward: y = p * 1.0")
    for name, us in forward_pieces():
        print(f"  {name:<44}{us:6.2f}")
    print("backward, per node")
    for name, us in backward_pieces():
        print(f"  {name:<44}{us:6.2f}")
    times = chain()
    print(f"measured chain y = y * 1.0 x1000: fwd {times['fwd']:.2f}, fwd+bwd {times['fwd+bwd']:.2f}, "
          f"plain numpy fwd+bwd {times['numpy fwd+bwd']:.2f} µs per node")
    print("\nminor page faults per forward + backward, BlogLSTM (B, D, H, T) = (32, 128, 256, 100)")
    for name, faults in page_fault_rows():
        print(f"  {name:<20}{faults:10.0f}  ({faults * 4 / 1024:.0f} MiB of 4 KiB pages)")
    return 0


if __name__ == "__main__":
    if sys.argv[1:2] == ["--faults"]:
        print(page_faults(sys.argv[2]))
        sys.exit(0)
    sys.exit(main())
