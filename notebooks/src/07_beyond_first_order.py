# %% [markdown]
# # 7 · Beyond first order
#
# Backpropagation is one of two ways to apply the chain rule to a graph. This notebook
# puts the other one, **forward mode**, beside it on the same graph; then differentiates a
# gradient again (**gradients of gradients**, Hessian-vector products); and finally looks at
# the backward pass itself as what it is: **another computational graph**.
#
# 1. forward mode and reverse mode, counted: passes, time and memory for a full Jacobian;
# 2. gradients of gradients: `create_graph=True`, `tg.hvp`, third derivatives;
# 3. the backward pass as a graph: adjoint nodes $\bar v$ you can draw, inspect and differentiate.
#
# **Notation.** For a function $f: \mathbb{R}^n \to \mathbb{R}^m$ with Jacobian $J$ ($m \times n$):
# forward mode computes $J v$ for one direction $v \in \mathbb{R}^n$ per pass (a *JVP*);
# reverse mode computes $u^\top J$ for one $u \in \mathbb{R}^m$ per pass (a *VJP*).

# %%
import time
import tracemalloc

import numpy as np

import tinygraph as tg
from lstm.exercises import check

# %% [markdown]
# ## 1. Forward mode and reverse mode on the same graph
#
# Our function: a deep tanh network from $\mathbb{R}^n$ to $\mathbb{R}^m$, 30 layers of width
# 256, $y = W_{out} \tanh(W_{30} \cdots \tanh(W_{in} x))$. Each op of tinygraph carries both
# rules: `backward` (its VJP) and `jvp`. `tg.jvp(f, [x], [v])` runs $f$ once and pushes the
# tangent $v$ along, op by op; nothing is kept for later. `tg.grad(y, x, grad=u)` builds the
# graph, then sweeps it backwards once. (The weights are read-only arrays, so the graph uses
# them without a copy: see "The graph owns its values" in docs/engine.md.)

# %%
def make_f(n, m, hidden=256, depth=30, seed=0):
    rng = np.random.default_rng(seed)
    W_in = rng.standard_normal((hidden, n)) / np.sqrt(n)
    Ws = [rng.standard_normal((hidden, hidden)) / np.sqrt(hidden) for _ in range(depth)]
    W_out = rng.standard_normal((m, hidden)) / np.sqrt(hidden)
    for W in [W_in, W_out] + Ws:
        W.setflags(write=False)

    def f(x):
        h = tg.tanh(W_in @ x)
        for W in Ws:
            h = tg.tanh(W @ h)
        return W_out @ h
    return f


def unit(size, k):
    e = np.zeros(size)
    e[k] = 1.0
    return e


def jacobian_forward(f, x):
    """One forward-mode pass per input direction e_j: column j of J."""
    columns = [tg.jvp(f, [x], [unit(x.size, j)])[1] for j in range(x.size)]
    return np.stack(columns, axis=1), len(columns)


def jacobian_reverse(f, x):
    """One graph, then one backward pass per output direction e_i: row i of J."""
    xp = tg.parameter(x)
    y = f(xp)
    rows = [tg.grad(y, xp, grad=unit(y.size, i)) for i in range(y.size)]
    return np.stack(rows, axis=0), len(rows)


def measure(method, f, x):
    """(Jacobian, passes, CPU seconds, peak bytes traced while computing it), from a second
    run (the first warms caches up)."""
    method(f, x)
    tracemalloc.start()
    start = time.process_time()
    J, passes = method(f, x)
    seconds = time.process_time() - start
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return J, passes, seconds, peak


results = {}
for n, m in [(4, 100), (100, 4)]:
    f, x = make_f(n, m), np.random.default_rng(1).standard_normal(n)
    J_fwd, *fwd = measure(jacobian_forward, f, x)
    J_rev, *rev = measure(jacobian_reverse, f, x)
    assert np.allclose(J_fwd, J_rev, rtol=1e-12, atol=1e-12)      # the same Jacobian both ways
    results[n, m] = {"forward": fwd, "reverse": rev}

print(f"{'f: R^n -> R^m':<16}{'mode':<9}{'passes':>7}{'CPU time':>11}{'peak memory':>13}")
for (n, m), by_mode in results.items():
    for mode, (passes, seconds, peak) in by_mode.items():
        print(f"{f'n={n}, m={m}':<16}{mode:<9}{passes:>7}{seconds * 1e3:>8.1f} ms{peak / 1024:>10.0f} KiB")

# %% [markdown]
# Every number comes from the run above. The pass counts are the rule: forward mode needs
# one pass per **input**, reverse mode one per **output**, and the CPU times follow them.
# So for a loss ($m = 1$) reverse mode wins by a factor of $n$ — which is why training uses
# it. For a function with few inputs and many outputs (a trajectory from a handful of
# parameters, the sensitivity of every pixel to one knob) forward mode wins.
#
# Memory is the other side of the trade, and it does not depend on $n$ or $m$ here: a
# forward-mode pass keeps only the values and tangents still alive (a layer or two), while
# reverse mode keeps the whole graph of the forward pass — every layer's values — until the
# backward sweep has used it. The deeper the network, the larger that gap.
#
# **Exercise 7.1 (predict, then check).** For $f: \mathbb{R}^{10} \to \mathbb{R}^{3}$, how many
# forward-mode passes and how many reverse-mode passes give the full Jacobian?

# %%
### BEGIN SOLUTION
passes_forward_10_3 = 10
passes_reverse_10_3 = 3
### END SOLUTION

# %%
f10 = make_f(10, 3)
x10 = np.random.default_rng(2).standard_normal(10)
check("forward-mode passes", passes_forward_10_3, jacobian_forward(f10, x10)[1],
      hint="forward mode gives one column J e_j per pass")
check("reverse-mode passes", passes_reverse_10_3, jacobian_reverse(f10, x10)[1],
      hint="reverse mode gives one row e_iᵀ J per pass")

# %% [markdown]
# **The two modes agree through one identity.** For any $u$ and $v$,
# $\langle u, J v\rangle = \langle J^\top u, v\rangle$: the left side is one forward-mode pass,
# the right one reverse-mode pass. (tinygraph's tests check this on hundreds of random graphs.)

# %%
f, x = make_f(6, 5), np.random.default_rng(3).standard_normal(6)
u, v = np.random.default_rng(4).standard_normal(5), np.random.default_rng(5).standard_normal(6)
_, Jv = tg.jvp(f, [x], [v])
xp = tg.parameter(x)
JTu = tg.grad(f(xp), xp, grad=u)
print(f"<u, J v> = {u @ Jv:.15f}\n<Jᵀu, v> = {JTu @ v:.15f}")

# %% [markdown]
# ## 2. Gradients of gradients
#
# With `create_graph=True`, backward does not compute its gradients as plain numbers but
# **builds them from tinygraph ops**: each op's `backward_graph` writes its VJP with `+`,
# `×`, `tanh` ... So a gradient is a `Node` like any other, and it can be differentiated again.

# %%
x = tg.parameter(0.5, name="x")
y = tg.tanh(x)
dy = tg.grad(y, x, create_graph=True)        # 1 − tanh²(x), as a Node
d2y = tg.grad(dy, x, create_graph=True)      # −2 tanh(x) (1 − tanh²(x))
d3y = tg.grad(d2y, x)                        # third derivative, a plain array
print(f"y' = {float(dy):.6f}, y'' = {float(d2y):.6f}, y''' = {float(d3y):.6f}")

# %% [markdown]
# **Exercise 7.2 (predict, then check).** Write $\tanh''(0.5)$ in numpy from the formula
# $\tanh'' = -2\tanh\,(1 - \tanh^2)$, and compare it with the gradient of the gradient above.

# %%
### BEGIN SOLUTION
second_derivative = -2 * np.tanh(0.5) * (1 - np.tanh(0.5) ** 2)
### END SOLUTION

# %%
check("tanh''(0.5)", second_derivative, float(d2y), hint="differentiate 1 − tanh² once more (chain rule)")

# %% [markdown]
# **Hessian-vector products.** The Hessian $H$ of a scalar function of $n$ inputs has $n^2$
# entries, too many to build for a network. But $H v = \nabla_x \langle \nabla f(x), v\rangle$
# is one gradient of a gradient: two backward passes, whatever $n$ is. `tg.hvp(f, inputs, v)`
# does exactly that.
#
# **Exercise 7.3 (predict, then check).** For $f(x_1, x_2) = x_1^2\, x_2$ at $x = (1, 3)$,
# what is $H v$ for $v = (1, 0)$? (Write $H$ out by hand first.)

# %%
### BEGIN SOLUTION
Hv_predicted = [6.0, 2.0]          # H = [[2 x2, 2 x1], [2 x1, 0]] = [[6, 2], [2, 0]]; first column
### END SOLUTION

# %%
(Hv,) = tg.hvp(lambda x: x[0] ** 2 * x[1], [np.array([1.0, 3.0])], [np.array([1.0, 0.0])])
check("H v", Hv_predicted, Hv, hint="∂²f/∂x1² = 2 x2 and ∂²f/∂x1∂x2 = 2 x1")

# %% [markdown]
# **Double backprop.** A gradient penalty (used to train critics in GANs, or to make a model
# robust to small input changes) puts $\|\nabla_W L\|^2$ into the loss, so training needs its
# gradient: the gradient of a gradient norm.

# %%
rng = np.random.default_rng(6)
X, targets = rng.standard_normal((5, 3)), np.array([0, 1, 1, 0, 1])
W = tg.parameter(rng.standard_normal((3, 2)), name="W")
loss = tg.cross_entropy(tg.tanh(X @ W), targets)
g = tg.grad(loss, W, create_graph=True)
penalty = (g * g).sum()
print("‖∇L‖² =", round(float(penalty), 6), "  its gradient with respect to W:\n", tg.grad(penalty, W).round(6))

# %% [markdown]
# ## 3. The backward pass is a graph
#
# Every gradient `create_graph=True` returns is a node of a second graph, built while
# backward ran. Its nodes sit in scopes starting with `backward` (the adjoint of a node built
# in step `t=3` sits in `backward/t=3`); each node's **total** gradient is named after it in
# the texts' notation ($F \to \bar F$, $C_t \to \bar C_t$) and points back to its forward
# node through `adjoint_of`.

# %%
x_in = tg.tensor([0.5, -1.0], name="x")
C = tg.parameter([0.2, 0.4], name="C")
w = tg.parameter([1.5, -0.5], name="w")
with tg.scope(tg.step_scope(1)):
    F = tg.sigmoid(w * x_in, name="F")
    C_t = (F * C).named("C_t")
L = C_t.sum().named("L")
w_bar, C_bar = tg.grad(L, [w, C], create_graph=True)

backward_nodes = [n for n in tg.topological_order([w_bar, C_bar], needs_grad_only=False)
                  if n.scope[:1] == ("backward",)]
print(f"{'node':<10}{'op':<14}{'adjoint of':<12}{'scope':<15}value")
for n in backward_nodes:
    print(f"{n.label():<10}{n.op.name if n.op else 'leaf':<14}{n.adjoint_of.label() if n.adjoint_of is not None else '':<12}"
          f"{tg.scope_path(n):<15}{np.round(n.value, 4).tolist()}")
forward_ops = [n for n in tg.topological_order(L, needs_grad_only=False) if n.op is not None]
backward_ops = [n for n in backward_nodes if n.op is not None]
print(f"\nforward graph: {len(forward_ops)} ops; backward graph: {len(backward_ops)} ops")

# %% [markdown]
# The table lists the backward graph node by node: the seed $\bar L$, then $\bar C_t$,
# $\bar F$, $\bar w$ and $\bar C$, and the products, sums and constants that compute them
# (an adjoint of a node without a name, like `w * x`, is listed by its op). It reads like
# the rules of the ops: $\bar F = \bar C_t \odot C$ is a `mul` node whose inputs are the node
# $\bar C_t$ and the *forward* node $C$ — the backward graph hangs on the forward one. That is
# why it can be differentiated again. Drawn:

# %%
tg.draw([w_bar, C_bar])

# %% [markdown]
# The backward graph has about twice as many ops as the forward one (the counts above).
# Building gradients as a graph costs time too: `benchmarks/create_graph.py`
# measures 2-4× the plain backward on an LSTM (see docs/engine.md). Plain training never
# needs it; second-order methods, gradient penalties and meta-learning do.

# %% [markdown]
# ## 4. Tracing versus eager: `tg.compile`
#
# Everything so far ran **eagerly**: each call of the loss builds its graph again, Node by
# Node, with every check, and `tg.backward` walks it. That is what PyTorch does by default,
# and what makes stepping and drawing possible. But a training loop builds *the same graph
# shape* thousands of times.
#
# **Tracing** records the graph once and replays it: `jax.jit` and `torch.compile` do this,
# and so does `tg.compile(fn)`. Its first call runs `fn` and `tg.backward` on the engine. The
# graph that call built is then written down as a plain Python function: one line per op
# calling the op's own `forward`, then one line per op calling its own `backward`, in the
# order `tg.backward` visits the nodes. Later calls with arguments of the same shapes run that
# function: no Nodes, no checks, no graph walk.

# %%
import timeit

import numpy as np

import tinygraph as tg
from lstm.cells import BlogLSTM

cell = BlogLSTM(8, 16, seed=0)
rng = np.random.default_rng(0)
X = rng.standard_normal((20, 1, 8))          # T = 20 steps, one row, d = 8
G = rng.standard_normal((20, 1, 16))


def loss(xs):
    """L = Σ_t Σ G_t ⊙ H_t of a BlogLSTM unrolled over the steps xs."""
    return (tg.stack(cell.unroll(list(xs)).outputs) * G[:len(xs)]).sum()


step = tg.compile(loss)
value = step(list(X))                         # the first call traces (it runs the engine)
print(f"L = {value:.6f}; the tape replays {step.tape.ops} ops")
print("\n".join(step.tape.source.splitlines()[:8]))
print("...")

# %% [markdown]
# The recorded program is ordinary Python: `v…` are values, `g…` gradients, `F…`/`B…` the
# ops' own `forward`/`backward`. Because it calls the same numpy functions on the same
# arrays, in the same order, its gradients are the engine's **bit for bit**:

# %%
params = list(cell.parameters().values())


def eager_gradients(X):
    tg.zero_grad(params)
    tg.backward(loss(list(X)), retain_grads=False)
    return [p.grad for p in params]


def replayed_gradients(X):
    tg.zero_grad(params)
    step(list(X))
    return [p.grad for p in params]


X2 = rng.standard_normal((20, 1, 8))          # new inputs, same shapes: replayed
assert all(np.array_equal(a, b) for a, b in zip(eager_gradients(X2), replayed_gradients(X2)))
print("replayed gradients == eager gradients, bit for bit, for all", len(params), "parameters")

# %% [markdown]
# What does it buy? Timed here, eager and replayed forward + backward, in alternating rounds
# (the median of the per-round ratio):

# %%
ratios = []
for _ in range(5):
    eager = min(timeit.repeat(lambda: eager_gradients(X2), number=5, repeat=3)) / 5
    replay = min(timeit.repeat(lambda: replayed_gradients(X2), number=5, repeat=3)) / 5
    ratios.append(eager / replay)
print(f"eager {eager * 1e3:.2f} ms, replayed {replay * 1e3:.2f} ms per forward + backward: "
      f"replay is {np.median(ratios):.1f}x faster (median of {len(ratios)} rounds)")

# %% [markdown]
# The price of tracing is what the trace cannot see. The tape records *which ops ran*, not
# the Python that chose them. A Python `if` on a value is decided once, at trace time. Here
# the branch taken for the first input is replayed for the second, and the answer is wrong for
# it. `jax.jit` has the same rule: control flow on values needs `lax.cond`, or no tracing.

# %%
w = tg.parameter([1.0, 1.0], name="w")


def relu_by_hand(x):
    s = (w * x).sum()
    return s if s.item() > 0 else s * 0.0         # the `if` reads a value: fixed when traced


traced = tg.compile(relu_by_hand)
print("traced with a positive sum:", traced(np.array([1.0, 2.0])))
replayed, eager = traced(np.array([-1.0, -2.0])), relu_by_hand(tg.tensor([-1.0, -2.0])).item()
print(f"replayed on a negative sum: {replayed} (eager gives {eager})")
assert replayed == -3.0 and eager == 0.0

# %% [markdown]
# Shapes, on the other hand, are checked. A call whose arrays have new shapes (or dtypes)
# traces again, and each tape is kept. Integer arguments, such as class indices, are part of
# the trace, so a new value traces again too.

# %%
step(list(rng.standard_normal((5, 1, 8))))          # T = 5: a new shape, a new trace
print(len(step.tapes), "tapes, for T =", [key[0][1] for key in step.tapes])
assert len(step.tapes) == 2

# %% [markdown]
# **Tracing versus eager, in short.** Eager builds the graph on every call: slower, but every
# node is there to draw, step through and check, and Python's control flow sees the values.
# A trace records the graph once and replays the same numpy calls: the same numbers, bit for
# bit, and faster on small arrays: the ratio printed above, 1.8-2.8× in our runs of this
# tiny LSTM; on the 50,000-op small-vector LSTM of `benchmarks/small_vectors.py` the replay
# took 0.43-0.48× PyTorch eager's time. The
# cost: choices made from values are frozen at trace time, and a new shape means a new trace.
# docs/performance.md has the measurements.
