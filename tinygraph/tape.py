"""A recorded tape: trace a function once, then replay its numpy calls without the engine.

``tg.compile(fn)`` is tracing, as ``jax.jit`` and ``torch.compile`` do it. The first call
runs ``fn`` on the engine (building Nodes, checking every op) and ``tg.backward`` on its
result. The graph it built is then written down as a straight-line Python function: one
line per op calling the op's own ``forward``, then one line per op calling its own
``backward`` in the order ``tg.backward`` visits the nodes, summing gradients in the same
order. Later calls with arguments of the same shapes run that function: no Node objects,
no shape or dtype checks, no graph walk. The numbers are the engine's, bit for bit,
because the same numpy calls run on the same arrays in the same order (tests/test_tape.py
checks every op and the LSTM cells).

>>> import numpy as np, tinygraph as tg
>>> w = tg.parameter([1.0, 2.0], name="w")
>>> step = tg.compile(lambda x: tg.tanh(w * x).sum())
>>> round(step(np.array([0.5, -1.0])), 6)   # traced: the engine runs, w.grad is filled
-0.50191
>>> first = w.grad
>>> tg.zero_grad([w])
>>> round(step(np.array([0.5, -1.0])), 6)   # replayed: no Nodes are built
-0.50191
>>> bool((w.grad == first).all())           # the same gradient, bit for bit
True
>>> print(step.tape.source)                # the recorded program
def replay(A):
    v0 = L0.value    # leaf 'w' (2,)
    v1 = A[0]    # argument 0 (2,)
    v2 = F2(v0, v1, out=V2)    # mul (2,)
    v3 = F3(v2, out=V3)    # tanh (2,)
    v4 = asarray(F4(v3))    # sum ()
    g4 = SEED
    r = B4(g4, v4, v3)    # sum
    g3 = r[0]
    r = B3(g3, v3, v2)    # tanh
    g2 = r[0]
    del g3
    r = B2(g2, v2, v0, v1)    # mul
    g0 = r[0]
    del g2
    return v4, (g0,)

What a call is: ``step(*args)`` returns the value of ``fn(*args)`` (a scalar) as a float
and adds its gradient to ``.grad`` of every parameter it depends on, as
``tg.backward(fn(*args), retain_grads=False)`` would.

- Float64/float32 arrays among the arguments (also inside lists, tuples and dicts) are
  the traced inputs: ``fn`` receives them as ``tg.tensor`` Nodes. Leaf Nodes may be passed
  too (a parameter passed in gets its gradient).
- Everything else in the arguments (integer arrays such as class indices, numbers,
  strings) is part of the trace: a call with a different value traces again.
- A call whose arguments have new shapes or dtypes traces again; each tape is kept
  (``step.tapes``, keyed by the arguments' signature).
- Leaf Nodes that ``fn`` reaches without being given them (a cell's parameters) are read
  at every call, so an optimizer's ``assign`` is seen. Anything else ``fn`` computes from
  outside data, or reads from values (``node.value``, ``.item()``, Python ``if`` on a
  number, ``tg.no_grad`` or ``tg.detach`` inside ``fn``), is fixed when it is traced, as in
  ``jax.jit``.
- Inside ``tg.anomaly_mode()`` every call runs on the engine (so anomalies are caught).
- Ops whose forward is one numpy function (``INTO``: add, mul, tanh, matmul, ...) write
  their values into arrays the tape owns (``F2(v0, v1, out=V2)``), reused at every call:
  the same numbers, without fresh memory (and its page faults) at every call. So a tape
  is not reentrant: it must not be called again from inside its own call.
- ``tg.compile(fn, batch_steps=True)`` is opt-in and *not* bit for bit: matmuls that share
  a weight are joined, as a hand-written RNN does (a weight's gradient over all time
  steps as one matmul; the input products of all steps as one). It changes the order of
  floating-point sums, so the numbers differ from the engine's in the last bits
  (tinygraph/batch_steps.py; tests/test_batch_steps.py checks ≤ 1e-12 relative in float64).
"""
import builtins

import numpy as np

from .backprop import backward, topological_order
from .batch_steps import find_batches
from .errors import GraphError
from .modes import modes
from .node import FLOAT32, FLOAT64, Node, freeze, tensor
from .ops import Add, Div, Exp, Log, MatMul, Mul, Neg, Sub, Tanh

TRACED_DTYPES = (FLOAT64, FLOAT32)
#: Ops whose forward is exactly this numpy function of its inputs: the tape calls it with
#: ``out=`` a buffer it owns, the same numbers without a fresh array at every call.
INTO = {Add: np.add, Sub: np.subtract, Mul: np.multiply, Div: np.divide, Neg: np.negative, Exp: np.exp,
        Log: np.log, Tanh: np.tanh, MatMul: np.matmul}


def compile(fn, batch_steps=False):  # noqa: A001 - named after torch.compile
    """Trace ``fn`` (Nodes in, a scalar Node out) on its first call; replay it afterwards.
    See the module's documentation. ``batch_steps=True`` joins the matmuls that share a
    weight (tinygraph/batch_steps.py): faster for unrolled cells, but not bit for bit."""
    if not callable(fn):
        raise TypeError(f"compile: expects a function, got {type(fn).__name__}")
    return Compiled(fn, batch_steps)


class Compiled:
    """``fn`` traced once per argument signature: ``tapes`` maps a signature to its
    ``Tape``; ``tape`` is the one the last call used."""

    def __init__(self, fn, batch_steps=False):
        self.fn = fn
        self.batch_steps = batch_steps
        self.tapes = {}
        self.tape = None

    def __call__(self, *args):
        key, flat, nodes = [], [], []
        for arg in args:
            _flatten(arg, key, flat, nodes)
        key = tuple(key)
        tape = self.tapes.get(key)
        if tape is None or modes.anomaly or not modes.grad_enabled:
            return self._trace(key, args)
        self.tape = tape
        return tape.run(flat, nodes)

    def _trace(self, key, args):
        if not modes.grad_enabled:
            raise GraphError("compile: called inside tg.no_grad() (or tg.jvp); a compiled function computes "
                             "gradients in reverse mode")
        made = []
        root = self.fn(*[_as_nodes(arg, made) for arg in args])
        if not isinstance(root, Node):
            raise TypeError(f"compile: the function must return a Node (a scalar loss), got {type(root).__name__}")
        backward(root, retain_grads=False)
        if not modes.anomaly:
            self.tape = self.tapes[key] = Tape(root, made, self.batch_steps)
        return root.value.item()

    def __repr__(self):
        return f"compile({getattr(self.fn, '__name__', self.fn)!r}, {len(self.tapes)} tapes)"


def _flatten(arg, key, flat, nodes):
    """The signature of one argument (into ``key``) and its traced arrays (into ``flat``,
    with the leaf Node each came from, or None, into ``nodes``)."""
    if type(arg) is np.ndarray and arg.dtype in TRACED_DTYPES:
        key.append((arg.shape, arg.dtype.char))
        flat.append(arg)
        nodes.append(None)
    elif isinstance(arg, Node):
        if arg.op is not None:
            raise TypeError(f"compile: argument {arg.label()!r} is computed by {arg.op.name}; pass arrays or "
                            f"leaf Nodes (tg.tensor, tg.parameter)")
        key.append(("node", arg.shape, arg.dtype.char, arg.requires_grad))
        flat.append(arg.value)
        nodes.append(arg)
    elif isinstance(arg, (list, tuple, dict)):
        items = arg.values() if isinstance(arg, dict) else arg
        key.append((type(arg), tuple(arg) if isinstance(arg, dict) else len(arg)))
        for item in items:
            _flatten(item, key, flat, nodes)
    elif isinstance(arg, np.ndarray):
        key.append(("fixed array", arg.shape, arg.dtype.str, arg.tobytes()))
    else:
        try:
            key.append(("fixed", type(arg), arg, hash(arg)))
        except TypeError:
            raise TypeError(f"compile: cannot trace an argument of type {type(arg).__name__}: pass float arrays, "
                            f"leaf Nodes, lists/tuples/dicts of them, or hashable constants") from None


def _as_nodes(arg, made):
    """``arg`` as ``fn`` receives it: traced arrays become tensors (recorded in ``made``)."""
    if type(arg) is np.ndarray and arg.dtype in TRACED_DTYPES:
        made.append(tensor(arg))
        return made[-1]
    if isinstance(arg, Node):
        made.append(arg)
        return arg
    if isinstance(arg, dict):
        return {k: _as_nodes(v, made) for k, v in arg.items()}
    if isinstance(arg, (list, tuple)):
        return type(arg)([_as_nodes(item, made) for item in arg])
    return arg


def _fit(g, dtype):
    """A gradient in the dtype of the node it is for (as tg.backward casts it)."""
    if type(g) is not np.ndarray:
        g = np.asarray(g)
    return g if g.dtype is dtype else g.astype(dtype)


class Tape:
    """One traced graph as a Python function ``replay(A)``: ``A`` holds the traced arrays;
    it returns the root's value and the gradients of the leaves that take one.
    ``source`` is its code, ``ops`` the number of ops it replays, ``batches`` the joined
    matmuls (with ``batch_steps``)."""

    def __init__(self, root, arg_nodes, batch_steps=False):
        order = topological_order(root, needs_grad_only=False)
        self.batches, self.batch_of, self.stacks, self.buffers = [], {}, {}, set()      # buffers: ids
        if batch_steps:             # leaves first: every input is there before the first op
            order = [n for n in order if n.op is None] + [n for n in order if n.op is not None]
            self.batches = find_batches(order, root)
            self.batch_of = {p: batch for batch in self.batches for p in batch.products}
        self.slot = {node: k for k, node in enumerate(order)}
        self.names = {"asarray": np.asarray, "fit": _fit, "SEED": freeze(np.ones_like(root.value)),
                      "concatenate": np.concatenate, "matmul": np.matmul}
        args = {}
        for position, node in enumerate(arg_nodes):
            args.setdefault(node, position)
        lines = ["def replay(A):"]
        lines += [self._forward_line(node, args) for node in order]
        self.grad_leaves = []           # per gradient returned: its Node, or the argument position
        returned = []
        lines += self._backward_lines(root, args, returned)
        lines.append(f"    return v{self.slot[root]}, ({', '.join(returned)},)")
        self.source = "\n".join(lines)
        self.ops = sum(1 for node in order if node.op is not None)
        exec(builtins.compile(self.source, "<tape>", "exec"), self.names)     # noqa: S102 - code written just above
        self.replay = self.names["replay"]

    def _forward_line(self, node, args):
        k = self.slot[node]
        shape = node.value.shape
        if node.op is None:
            if node in args:
                return f"    v{k} = A[{args[node]}]    # argument {args[node]} {shape}"
            self.names[f"L{k}"] = node
            return f"    v{k} = L{k}.value    # leaf {node.label()!r} {shape}"
        batch = self.batch_of.get(node)
        if batch is not None and batch.forward:
            return self._joined_forward(node, batch)
        operands = ", ".join(f"v{self.slot[p]}" for p in node.inputs)
        into = INTO.get(type(node.op))
        if into is not None and node.value.ndim:
            self.names[f"F{k}"] = into
            buffer = self._buffer(f"V{k}", node.value.shape, node.value.dtype)
            return f"    v{k} = F{k}({operands}, out={buffer})    # {node.op.describe()}" \
                   f"{' ' + repr(node.name) if node.name else ''} {shape}"
        self.names[f"F{k}"] = node.op.forward
        call = f"F{k}({operands})"
        if node.value.ndim == 0:        # numpy returns scalars for 0-d results; the engine keeps arrays
            call = f"asarray({call})"
        return f"    v{k} = {call}    # {node.op.describe()}{' ' + repr(node.name) if node.name else ''} {shape}"

    def _joined_forward(self, node, batch):
        """A product of a batch joined in forward: the first one computes them all, as one
        matmul of the stacked left operands; each product is its block of rows."""
        b, j, r = batch.index, batch.block[node], batch.rows
        lines = []
        if j == 0:
            stacked = self._stacked(batch, lines)
            self._buffer(f"Z{b}", (len(batch.products) * r,) + node.shape[1:], node.dtype)
            lines.append(f"    matmul({stacked}, v{self.slot[batch.weight]}, out=Z{b})    "
                         f"# {len(batch.products)} matmuls joined")
        lines.append(f"    v{self.slot[node]} = Z{b}[{j * r}:{(j + 1) * r}]    # matmul {node.shape}, block {j}")
        return "\n".join(lines)

    def _joined_backward(self, node, batch, seen, waiting):
        """A product's backward in a batch: the left operand's part as MatMul.backward
        computes it (Ḡ Wᵀ); Ḡ is kept in the batch's rows, and after the last product the
        weight's part is one matmul."""
        slot, (a, w) = self.slot, node.inputs
        b, j, r, k = batch.index, batch.block[node], batch.rows, slot[node]
        lines = []
        if a.requires_grad:
            lines.append(f"    r = (g{k} @ v{slot[w]}.swapaxes(-1, -2), None)    # matmul, left part")
            lines.append(self._sum_line(node, a, 0, seen))
        self._buffer(f"G{b}", (len(batch.products) * r,) + node.shape[1:], node.dtype)
        lines.append(f"    G{b}[{j * r}:{(j + 1) * r}] = g{k}")
        lines.append(f"    del g{k}")
        waiting[batch] = waiting.get(batch, len(batch.products)) - 1
        if waiting[batch] == 0:
            stacked = self._stacked(batch, lines)
            lines.append(f"    r = (None, {stacked}.T @ G{b})    # {len(batch.products)} matmuls joined: the weight's part")
            lines.append(self._sum_line(node, w, 1, seen))
        return lines

    def _stacked(self, batch, lines):
        """The name of the batch's left operands stacked by rows; the stacking line is added
        to ``lines`` unless a batch before made the same stack (a cell's gates share X_t)."""
        lefts = tuple(self.slot[p.inputs[0]] for p in batch.products)
        name = self.stacks.get(lefts)
        if name is None:
            a = batch.products[0].inputs[0]
            name = self.stacks[lefts] = self._buffer(f"S{len(self.stacks)}", (len(lefts) * a.shape[0], a.shape[1]),
                                                     a.dtype)
            lines.append(f"    concatenate([{', '.join(f'v{k}' for k in lefts)}], out={name})")
        return name

    def _buffer(self, name, shape, dtype):
        """A name for an array the tape owns and refills at every call: values, and the
        stacks, products and gradients of batches. Fresh arrays at every call would cost
        page faults when malloc has handed the last call's memory back to the system."""
        if name not in self.names:
            self.names[name] = np.empty(shape, dtype)
            self.buffers.add(id(self.names[name]))
        return name

    def _backward_lines(self, root, args, returned):
        """Backward in tg.backward's order; a node's gradient is the first contribution,
        then a new sum, then sums in place, exactly as tg.backward adds them."""
        slot = self.slot
        lines = [f"    g{slot[root]} = SEED"]
        seen, waiting = {}, {}
        for node in reversed(topological_order(root)):
            k = slot[node]
            if node.op is None:
                self.grad_leaves.append(args.get(node, node))
                returned.append(f"g{k}")
                continue
            batch = self.batch_of.get(node)
            if batch is not None and batch.weight.requires_grad:
                lines += self._joined_backward(node, batch, seen, waiting)
                continue
            self.names[f"B{k}"] = node.op.backward
            operands = ", ".join([f"g{k}", f"v{k}"] + [f"v{slot[p]}" for p in node.inputs])
            lines.append(f"    r = B{k}({operands})    # {node.op.describe()}")
            for position, parent in enumerate(node.inputs):
                if parent.requires_grad:
                    lines.append(self._sum_line(node, parent, position, seen))
            if node is not root:
                lines.append(f"    del g{k}")
        return lines

    def _sum_line(self, node, parent, position, seen):
        j = self.slot[parent]
        g = f"r[{position}]"
        dtype = parent.value.dtype
        mixed = any(p.value.dtype is not dtype for p in node.inputs) or node.value.dtype is not dtype
        if mixed or not type(node.op).__module__.startswith("tinygraph."):
            self.names[f"D{j}"] = dtype         # ops from elsewhere may return another dtype
            g = f"fit({g}, D{j})"
        elif parent.value.ndim == 0:
            g = f"asarray({g})"
        count = seen[parent] = seen.get(parent, 0) + 1
        if count == 1:
            return f"    g{j} = {g}"
        if count == 2:
            total = f"g{j} + {g}"
            return f"    g{j} = {'asarray(' + total + ')' if parent.value.ndim == 0 else total}"
        return f"    g{j} += {g}"

    def run(self, flat, nodes):
        """Replay on the traced arrays ``flat``; add the leaves' gradients to ``.grad``."""
        value, grads = self.replay(flat)
        for target, g in zip(self.grad_leaves, grads):
            node = nodes[target] if type(target) is int else target
            if id(g if g.base is None else g.base) in self.buffers:
                g = g.copy()            # an op handed a value (or a view of one) on as a gradient
            g.setflags(write=False)
            node.grad = g if node.grad is None else freeze(np.asarray(node.grad + g))
        return value.item()


