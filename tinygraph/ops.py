"""The primitive ops: one small class each, forward and backward side by side.

An op's ``forward(*arrays)`` computes the output value; ``backward(g, out, *arrays)``
returns one vector-Jacobian product per input: given ``g = ∂L/∂out`` it gives
``∂L/∂input``. ``rule`` writes that product out in LaTeX for the notebook stepper and
``symbol`` is what drawings show.

The lowercase functions (``tg.tanh(x)``, ``tg.concat([a, b, 1.0])``) and Node's
Python operators build the ops:

>>> import tinygraph as tg
>>> a = tg.parameter(2.0, name="a")
>>> b = tg.parameter(3.0, name="b")
>>> y = a * b + a              # a diamond: a is used twice
>>> tg.backward(y)
>>> a.grad, b.grad             # ∂y/∂a = b + 1, ∂y/∂b = a
(array(4.), array(2.))

Shapes are checked when the op is built: an op whose inputs do not fit raises
``ShapeError`` naming the op, the input nodes and their shapes.
"""
import numpy as np

from .errors import AnomalyError, DtypeError, GraphError, ShapeError, TinygraphError
from .modes import modes
from .node import FLOAT32, FLOAT64, SCALAR_TYPES, Node, as_float_array, freeze


def unbroadcast(grad, shape):
    """Sum ``grad`` down to ``shape``: the backward of numpy broadcasting.

    Broadcasting copies an input along new leading axes and along axes of length 1;
    the gradient of a copy is the sum over the copies.
    """
    if grad.shape == shape:
        return grad
    extra = grad.ndim - len(shape)
    if extra:
        grad = grad.sum(axis=tuple(range(extra)))
    axes = tuple(i for i, n in enumerate(shape) if n == 1 and grad.shape[i] != 1)
    if axes:
        grad = grad.sum(axis=axes, keepdims=True)
    return grad


def describe_nodes(nodes):
    """``'W' (3, 4), 'x' (4,)``: how errors name a list of nodes."""
    return ", ".join(f"{n.label()!r} {n.shape}" for n in nodes)


class Op:
    """Base class. Subclasses set ``name``, ``symbol``, ``rule`` and define
    ``forward`` and ``backward``. One instance per graph node; ``needs[i]`` tells
    ``backward`` whether input ``i`` wants a gradient (to skip work).

    A new op in five lines (``tg.apply`` records it in the graph)::

        class Square(tg.Op):
            name, symbol, rule = "square", "²", r"\bar x = 2 x \bar y"
            def forward(self, x): return x * x
            def backward(self, g, out, x): return (2 * x * g,)

        y = tg.apply(Square(), (x,), name="x²")

    ``forward`` must return a float array; ``backward`` one array of the input's
    shape (or None for an input with ``needs[i]`` False) per input.
    """

    __slots__ = ("needs",)
    name = "op"
    symbol = "?"
    rule = ""

    def forward(self, *xs):
        raise NotImplementedError

    def backward(self, g, out, *xs):
        raise NotImplementedError

    def describe(self):
        """The op as drawings and errors name it, with its settings, e.g. ``sum(axis=1)``."""
        return self.name

    def explain(self, nodes):
        """Why ``nodes`` do not fit this op; called only when forward raised a ValueError
        or IndexError (numpy's way of saying so), to word the ``ShapeError``."""
        return ""


# Frozen 0-d arrays of the constants met so far, by (value, dtype): ``y * 0.5`` in a
# loop lifts the same number each time. Zeros (0.0 == -0.0) and NaN are not cached.
_scalar_cache = {}


def _scalar_array(x, dtype):
    arr = _scalar_cache.get((x, dtype))
    if arr is None:
        arr = np.array(x, dtype)
        arr.setflags(write=False)
        if x and x == x and len(_scalar_cache) < 4096:
            _scalar_cache[x, dtype] = arr
    return arr


def as_node(x, like=None, what="constant"):
    """A Node as it is, anything else as a constant leaf (no gradient).

    The dtype rule for constants: data without a float precision of its own -- Python
    and numpy numbers, bool and int arrays -- takes the float dtype of ``like`` (so
    ``x32 * 2`` and ``x32 / np.sqrt(d)`` stay float32), float64 without ``like``.
    Float arrays keep their dtype; complex, object and string data is refused.
    """
    if isinstance(x, Node):
        return x
    dtype = like.value.dtype if like is not None else FLOAT64
    if isinstance(x, SCALAR_TYPES):
        return Node(_scalar_array(x, dtype))
    arr = x if isinstance(x, np.ndarray) else np.asarray(x)
    if arr.dtype.kind in "biu":
        arr = arr.astype(dtype)
    return Node(freeze(as_float_array(arr, what=what)))


def apply(op, inputs, name=None):
    """Run ``op`` on input nodes and record the result in the graph (unless ``no_grad``).

    This is how a new op joins the graph (see ``Op``). Each call needs a fresh ``op``
    instance: the op belongs to the node it makes.
    """
    inputs = tuple(inputs)
    for n in inputs:
        if not isinstance(n, Node):
            raise TypeError(f"apply {op.describe()}: inputs must be Nodes (use tg.tensor(...) for data), "
                            f"got {type(n).__name__}")
    if getattr(op, "needs", None) is not None:
        raise GraphError(f"apply {op.describe()}: this op instance already made a node; "
                         f"create a new instance for each node")
    return _apply(op, inputs, name)


def _apply(op, inputs, name):
    """``apply`` without the argument checks: the ops' own functions call this."""
    arity = len(inputs)
    try:
        if modes.anomaly:                           # numpy stays quiet; the AnomalyError below speaks
            with np.errstate(all="ignore"):
                out = op.forward(*[n.value for n in inputs])
        elif arity == 1:
            out = op.forward(inputs[0].value)
        elif arity == 2:
            out = op.forward(inputs[0].value, inputs[1].value)
        else:
            out = op.forward(*[n.value for n in inputs])
    except TinygraphError:
        raise
    except (ValueError, IndexError) as err:       # numpy's broadcasting, matmul, axis and index errors
        why = op.explain(inputs) or str(err)
        raise ShapeError(f"{op.describe()}: inputs {describe_nodes(inputs)} do not fit: {why}") from None
    if type(out) is not np.ndarray:
        out = np.asarray(out)
    dtype = out.dtype
    if dtype is not FLOAT64 and dtype is not FLOAT32:
        out = _float_output(op, inputs, out)
    out.setflags(write=False)
    if modes.anomaly and not np.isfinite(out).all():
        raise AnomalyError(
            f"anomaly: {op.describe()} of {describe_nodes(inputs)} produced NaN/Inf "
            f"(output {name!r}, shape {out.shape}, {_count_bad(out)})"
        )
    if not modes.grad_enabled:
        return Node(out, None, (), name)
    if arity == 1:
        needs = (inputs[0].requires_grad,)
    elif arity == 2:
        needs = (inputs[0].requires_grad, inputs[1].requires_grad)
    else:
        needs = tuple([n.requires_grad for n in inputs])
    op.needs = needs
    return Node(out, op, inputs, name, True in needs)


def _float_output(op, inputs, out):
    if out.dtype.kind == "f" and out.dtype.itemsize in (4, 8):     # e.g. a non-native byte order
        return out.astype(out.dtype.newbyteorder("="))
    raise DtypeError(f"{op.describe()}: forward returned dtype {out.dtype} for inputs {describe_nodes(inputs)}; "
                     f"an op must return a float64 or float32 array")


def _count_bad(arr):
    nan = int(np.isnan(arr).sum())
    return f"{nan} NaN and {arr.size - nan - int(np.isfinite(arr).sum())} Inf of {arr.size} entries"


# --- elementwise binary ops (numpy broadcasting) ------------------------------

class _Binary(Op):
    __slots__ = ()

    def explain(self, nodes):
        a, b = nodes
        return f"shapes {a.shape} and {b.shape} do not broadcast together"


class Add(_Binary):
    __slots__ = ()
    name, symbol = "add", "+"
    rule = r"\bar a = \bar y,\quad \bar b = \bar y"

    def forward(self, a, b):
        return a + b

    def backward(self, g, out, a, b):
        return unbroadcast(g, a.shape), unbroadcast(g, b.shape)


class Sub(_Binary):
    __slots__ = ()
    name, symbol = "sub", "−"
    rule = r"\bar a = \bar y,\quad \bar b = -\bar y"

    def forward(self, a, b):
        return a - b

    def backward(self, g, out, a, b):
        return unbroadcast(g, a.shape), (unbroadcast(-g, b.shape) if self.needs[1] else None)


class Mul(_Binary):
    __slots__ = ()
    name, symbol = "mul", "×"
    rule = r"\bar a = \bar y \odot b,\quad \bar b = \bar y \odot a"

    def forward(self, a, b):
        return a * b

    def backward(self, g, out, a, b):
        ga = unbroadcast(g * b, a.shape) if self.needs[0] else None
        gb = unbroadcast(g * a, b.shape) if self.needs[1] else None
        return ga, gb


class Div(_Binary):
    __slots__ = ()
    name, symbol = "div", "÷"
    rule = r"\bar a = \bar y / b,\quad \bar b = -\bar y \odot a / b^2"

    def forward(self, a, b):
        return a / b

    def backward(self, g, out, a, b):
        ga = g / b
        gb = unbroadcast(-ga * out, b.shape) if self.needs[1] else None
        return unbroadcast(ga, a.shape), gb


# --- elementwise unary ops ---------------------------------------------------

class Neg(Op):
    __slots__ = ()
    name, symbol = "neg", "−"
    rule = r"\bar x = -\bar y"

    def forward(self, x):
        return -x

    def backward(self, g, out, x):
        return (-g,)


class Pow(Op):
    """``x ** p`` for a constant exponent ``p``."""

    __slots__ = ("p",)
    name = "pow"
    rule = r"\bar x = \bar y \odot p\,x^{p-1}"

    def __init__(self, p):
        self.p = p

    @property
    def symbol(self):
        return f"^{self.p:g}"

    def describe(self):
        return f"pow(p={self.p:g})"

    def forward(self, x):
        return x ** self.p

    def backward(self, g, out, x):
        p = self.p
        if p == 2:
            return (g * 2 * x,)
        if p == 1:
            return (g,)
        if p == 0:
            return (np.zeros_like(x),)
        return (g * p * x ** (p - 1),)


class Exp(Op):
    __slots__ = ()
    name, symbol = "exp", "exp"
    rule = r"\bar x = \bar y \odot e^{x}"

    def forward(self, x):
        return np.exp(x)

    def backward(self, g, out, x):
        return (g * out,)


class Log(Op):
    __slots__ = ()
    name, symbol = "log", "log"
    rule = r"\bar x = \bar y / x"

    def forward(self, x):
        return np.log(x)

    def backward(self, g, out, x):
        return (g / x,)


class Tanh(Op):
    __slots__ = ()
    name, symbol = "tanh", "tanh"
    rule = r"\bar x = \bar y \odot (1 - \tanh^2 x)"

    def forward(self, x):
        return np.tanh(x)

    def backward(self, g, out, x):
        return (g * (1 - out * out),)


def stable_sigmoid(x):
    """1 / (1 + e^-x) of an ndarray, with no overflow and full relative accuracy in both tails.

    Small arrays use e^(-log(1 + e^-x)) (logaddexp: fewest numpy calls); larger ones
    use e = e^-|x| ∈ (0, 1], σ = 1/(1 + e) for x ≥ 0 and e/(1 + e) below, which
    avoids logaddexp's slow log1p/exp pair (6x faster on 4,096 entries).
    """
    if x.size <= 32:
        return np.exp(-np.logaddexp(0, -x))
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0, e) / (1 + e)


class Sigmoid(Op):
    __slots__ = ()
    name, symbol = "sigmoid", "σ"
    rule = r"\bar x = \bar y \odot \sigma(x)\,(1 - \sigma(x))"

    def forward(self, x):
        return stable_sigmoid(x)

    def backward(self, g, out, x):
        # from the output, as PyTorch and JAX do: exact to ~1e-16 absolute; for x ≳ 37,
        # where σ' < 1e-16, 1 − σ(x) rounds to 0 and so does the gradient
        return (g * out * (1 - out),)


class Relu(Op):
    __slots__ = ()
    name, symbol = "relu", "relu"
    rule = r"\bar x = \bar y \odot [x > 0]"

    def forward(self, x):
        return np.maximum(x, 0)

    def backward(self, g, out, x):
        return (g * (x > 0),)


# --- linear algebra and shapes -----------------------------------------------

class MatMul(Op):
    """``a @ b`` as numpy defines it: vector·vector, matrix·vector, vector·matrix,
    matrix·matrix and stacks of matrices (broadcast over leading axes)."""

    __slots__ = ()
    name, symbol = "matmul", "@"
    rule = r"\bar A = \bar Y B^\top,\quad \bar B = A^\top \bar Y"

    def forward(self, a, b):
        return a @ b

    def explain(self, nodes):
        a, b = nodes
        if a.ndim == 0 or b.ndim == 0:
            return "matmul needs arrays of at least one dimension (use * for a scalar)"
        k_a = a.shape[-1]
        k_b = b.shape[0] if b.ndim == 1 else b.shape[-2]
        if k_a != k_b:
            return f"inner dimensions differ: {k_a} (last axis of {a.label()!r}) vs {k_b} of {b.label()!r}"
        return f"leading (batch) axes {a.shape[:-2]} and {b.shape[:-2]} do not broadcast"

    def backward(self, g, out, a, b):
        need_a, need_b = self.needs
        ga = gb = None
        if a.ndim == 1 and b.ndim == 1:
            return (g * b if need_a else None), (g * a if need_b else None)
        if a.ndim == 1:                       # (k,) @ (..., k, m) -> (..., m)
            if need_a:
                ga = unbroadcast((b @ g[..., None])[..., 0], a.shape)
            if need_b:
                gb = unbroadcast(a[:, None] * g[..., None, :], b.shape)
        elif b.ndim == 1:                     # (..., n, k) @ (k,) -> (..., n)
            if need_a:
                ga = unbroadcast(g[..., None] * b, a.shape)
            if need_b:
                gb = unbroadcast((np.swapaxes(a, -1, -2) @ g[..., None])[..., 0], b.shape)
        else:
            if need_a:
                ga = unbroadcast(g @ np.swapaxes(b, -1, -2), a.shape)
            if need_b:
                gb = unbroadcast(np.swapaxes(a, -1, -2) @ g, b.shape)
        return ga, gb


def _axes_tuple(axis, ndim):
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    return tuple(int(a) % ndim if ndim else 0 for a in axes)


class Sum(Op):
    __slots__ = ("axis", "keepdims")
    name, symbol = "sum", "Σ"
    rule = r"\bar x = \text{broadcast}(\bar y)"

    def __init__(self, axis=None, keepdims=False):
        self.axis, self.keepdims = axis, keepdims

    def describe(self):
        settings = ([] if self.axis is None else [f"axis={self.axis}"]) + (["keepdims"] if self.keepdims else [])
        return f"sum({', '.join(settings)})" if settings else "sum"

    def forward(self, x):
        return np.sum(x, axis=self.axis, keepdims=self.keepdims)

    def backward(self, g, out, x):
        if not self.keepdims and x.ndim:
            g = np.expand_dims(g, _axes_tuple(self.axis, x.ndim))
        return (np.broadcast_to(g, x.shape),)


class Mean(Op):
    __slots__ = ("axis", "keepdims")
    name, symbol = "mean", "mean"
    rule = r"\bar x = \text{broadcast}(\bar y) / n"

    def __init__(self, axis=None, keepdims=False):
        self.axis, self.keepdims = axis, keepdims

    def describe(self):
        settings = ([] if self.axis is None else [f"axis={self.axis}"]) + (["keepdims"] if self.keepdims else [])
        return f"mean({', '.join(settings)})" if settings else "mean"

    def forward(self, x):
        return np.mean(x, axis=self.axis, keepdims=self.keepdims)

    def backward(self, g, out, x):
        axes = _axes_tuple(self.axis, x.ndim)
        count = int(np.prod([x.shape[a] for a in axes])) if x.ndim else 1
        if not self.keepdims and x.ndim:
            g = np.expand_dims(g, axes)
        return (np.broadcast_to(g / count, x.shape),)


class Reshape(Op):
    __slots__ = ("shape",)
    name, symbol = "reshape", "reshape"
    rule = r"\bar x = \text{reshape}(\bar y, \text{shape of } x)"

    def __init__(self, shape):
        self.shape = shape

    def describe(self):
        return f"reshape{tuple(self.shape)}"

    def forward(self, x):
        return np.reshape(x, self.shape)

    def explain(self, nodes):
        return f"cannot reshape {nodes[0].size} elements into shape {tuple(self.shape)}"

    def backward(self, g, out, x):
        return (np.reshape(g, x.shape),)


class Transpose(Op):
    __slots__ = ("axes",)
    name, symbol = "transpose", "ᵀ"
    rule = r"\bar x = \bar y^\top"

    def __init__(self, axes=None):
        self.axes = axes

    def describe(self):
        return "transpose" if self.axes is None else f"transpose{self.axes}"

    def forward(self, x):
        return np.transpose(x, self.axes)

    def backward(self, g, out, x):
        if self.axes is None:
            return (np.transpose(g),)
        return (np.transpose(g, np.argsort([a % x.ndim for a in self.axes])),)


class Concat(Op):
    """``[a; b; ...]``: the paper's vertical concatenation, along any axis."""

    __slots__ = ("axis",)
    name, symbol = "concat", "[;]"
    rule = r"\bar a_i = \text{the slice of } \bar y \text{ that } a_i \text{ filled}"

    def __init__(self, axis=0):
        self.axis = axis

    def forward(self, *xs):
        return np.concatenate(xs, axis=self.axis)

    def explain(self, nodes):
        return f"all inputs must have the same number of axes and equal sizes except along axis {self.axis}"

    def backward(self, g, out, *xs):
        ends = np.cumsum([x.shape[self.axis] for x in xs])[:-1]
        return tuple(np.split(g, ends, axis=self.axis))


class Stack(Op):
    """Stack equally shaped inputs along a new axis."""

    __slots__ = ("axis",)
    name, symbol = "stack", "stack"
    rule = r"\bar a_i = \bar y[i]"

    def __init__(self, axis=0):
        self.axis = axis

    def forward(self, *xs):
        return np.stack(xs, axis=self.axis)

    def explain(self, nodes):
        return "all inputs must have the same shape"

    def backward(self, g, out, *xs):
        return tuple(np.moveaxis(g, self.axis, 0))


def _is_basic_index(index):
    items = index if isinstance(index, tuple) else (index,)
    return all(isinstance(i, (int, np.integer, slice)) or i is None or i is Ellipsis for i in items)


def _own_index(index):
    """A copy of the arrays and lists in ``index``, so changing them later cannot change a gradient."""
    if isinstance(index, tuple):
        return tuple(_own_index(i) for i in index)
    if isinstance(index, (np.ndarray, list)):
        arr = np.array(index)
        if arr.size == 0 and arr.dtype.kind == "f":     # x[[]]: an empty list of positions
            arr = arr.astype(np.intp)
        arr.setflags(write=False)
        return arr
    return index


def format_index(index):
    """An index as Python writes it: ``format_index((slice(None), 7)) == ":, 7"``."""
    items = index if isinstance(index, tuple) else (index,)
    return ", ".join(_format_index_item(i) for i in items)


def _format_index_item(item):
    if isinstance(item, slice):
        text = ("" if item.start is None else f"{item.start}") + ":" + ("" if item.stop is None else f"{item.stop}")
        return text if item.step is None else f"{text}:{item.step}"
    if item is Ellipsis:
        return "..."
    if isinstance(item, np.ndarray):
        if item.dtype == bool:
            return f"mask{item.shape}"
        return str(item.tolist()) if item.size <= 6 else f"array{item.shape}"
    return repr(item)


class GetItem(Op):
    """``x[index]``: slicing and indexing, including integer-array and boolean-mask
    indexing. A repeated index gathers a value twice, so its gradient adds up."""

    __slots__ = ("index", "basic")
    name, symbol = "getitem", "[·]"
    rule = r"\bar x = \text{zeros with } \bar y \text{ added at the indexed places}"

    def __init__(self, index):
        self.basic = _is_basic_index(index)
        self.index = index if self.basic else _own_index(index)

    def describe(self):
        return f"getitem[{format_index(self.index)}]"

    def forward(self, x):
        return x[self.index]

    def backward(self, g, out, x):
        full = np.zeros_like(x)
        if self.basic:
            full[self.index] = g
        else:
            np.add.at(full, self.index, g)      # repeated indices add up
        return (full,)


class CrossEntropy(Op):
    """Softmax cross-entropy of ``logits`` (..., C) against integer class ``targets`` (...),
    summed (or averaged) over all positions. Stable: uses log-sum-exp."""

    __slots__ = ("targets", "reduction")
    name, symbol = "cross_entropy", "CE"
    rule = r"\bar z = \bar y\,(\mathrm{softmax}(z) - \mathrm{onehot}(t))"

    def __init__(self, targets, reduction="sum"):
        self.targets, self.reduction = targets, reduction

    def describe(self):
        return f"cross_entropy({self.reduction})"

    def _log_softmax(self, z):
        shifted = z - z.max(axis=-1, keepdims=True)
        return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))

    def forward(self, z):
        logp = self._log_softmax(z)
        picked = np.take_along_axis(logp, self.targets[..., None], axis=-1)
        total = -picked.sum()
        return total / self.targets.size if self.reduction == "mean" else total

    def backward(self, g, out, z):
        p = np.exp(self._log_softmax(z))
        np.put_along_axis(p, self.targets[..., None], np.take_along_axis(p, self.targets[..., None], axis=-1) - 1, axis=-1)
        if self.reduction == "mean":
            g = g / self.targets.size
        return (g * p,)


# --- the lowercase functions -------------------------------------------------

def _binary(op_class, a, b, name):
    if isinstance(a, Node):
        if not isinstance(b, Node):
            b = as_node(b, a, what=f"{op_class.name}: second operand")
    elif isinstance(b, Node):
        a = as_node(a, b, what=f"{op_class.name}: first operand")
    else:
        b = as_node(b, what=f"{op_class.name}: second operand")
        a = as_node(a, b, what=f"{op_class.name}: first operand")
    return _apply(op_class(), (a, b), name)


def _unary(op, x, name):
    if not isinstance(x, Node):
        x = as_node(x, what=f"{op.name}: operand")
    return _apply(op, (x,), name)


def add(a, b, name=None):
    """a + b with numpy broadcasting."""
    return _binary(Add, a, b, name)


def sub(a, b, name=None):
    """a − b with numpy broadcasting."""
    return _binary(Sub, a, b, name)


def mul(a, b, name=None):
    """Element-wise a × b (the texts' ⊙ and ×) with numpy broadcasting."""
    return _binary(Mul, a, b, name)


def div(a, b, name=None):
    """Element-wise a / b with numpy broadcasting."""
    return _binary(Div, a, b, name)


def neg(x, name=None):
    """−x."""
    return _unary(Neg(), x, name)


def power(x, p, name=None):
    """x ** p for a constant real number p (a Node exponent is refused)."""
    if isinstance(p, Node) or not isinstance(p, SCALAR_TYPES):
        base = repr(x.label()) if isinstance(x, Node) else type(x).__name__
        raise TypeError(f"power: the exponent of {base} must be a constant real number, got {type(p).__name__}; "
                        f"for a variable exponent write exp(p * log(x))")
    return _unary(Pow(float(p)), x, name)


def exp(x, name=None):
    """e^x."""
    return _unary(Exp(), x, name)


def log(x, name=None):
    """Natural log. For log-probabilities prefer cross_entropy, which is stable."""
    return _unary(Log(), x, name)


def tanh(x, name=None):
    """tanh(x)."""
    return _unary(Tanh(), x, name)


def sigmoid(x, name=None):
    """The logistic function 1 / (1 + e^−x), computed without overflow for any x."""
    return _unary(Sigmoid(), x, name)


def relu(x, name=None):
    """max(x, 0); its gradient at 0 is taken as 0."""
    return _unary(Relu(), x, name)


def matmul(a, b, name=None):
    """a @ b as numpy defines it (vectors, matrices, stacks of matrices)."""
    return _binary(MatMul, a, b, name)


def sum(x, axis=None, keepdims=False, name=None):  # noqa: A001 - mirrors numpy's name
    """Sum over ``axis`` (an int, a tuple, or None for all), as numpy's sum."""
    return _unary(Sum(axis, keepdims), x, name)


def mean(x, axis=None, keepdims=False, name=None):
    """Mean over ``axis`` (an int, a tuple, or None for all), as numpy's mean."""
    return _unary(Mean(axis, keepdims), x, name)


def reshape(x, shape, name=None):
    """x with a new shape of the same size (one entry may be -1)."""
    return _unary(Reshape(tuple(shape) if not isinstance(shape, (int, np.integer)) else (int(shape),)), x, name)


def transpose(x, axes=None, name=None):
    """Reverse the axes (``x.T``), or permute them as ``axes`` says."""
    return _unary(Transpose(None if axes is None else tuple(axes)), x, name)


def _parts(xs, op_name):
    if isinstance(xs, Node) or not isinstance(xs, (list, tuple)) or not xs:
        raise TypeError(f"{op_name}: expects a non-empty list of nodes/arrays, got {type(xs).__name__}")
    like = next((x for x in xs if isinstance(x, Node)), None)
    return like, [as_node(x, like, what=f"{op_name}: part {i}") for i, x in enumerate(xs)]


def _as_part(n):
    """A 0-d node as a length-1 part: a constant is reshaped in place, anything else by an op."""
    if n.ndim:
        return n
    if n.op is None and not n.requires_grad:
        return Node(freeze(n.value.reshape(1)), name=n.name)
    return reshape(n, (1,))


def concat(xs, axis=0, name=None):
    """Concatenate along ``axis``. ``concat([x, z_h, s, 1.0])`` is the paper's [x; z_h; s; 1]:
    a Python number among 1-D parts becomes a constant of length 1."""
    like, nodes = _parts(xs, "concat")
    if any(n.ndim == 0 for n in nodes):
        if any(n.ndim > 1 for n in nodes):
            raise ShapeError(f"concat: a scalar can only be joined to 1-D parts; got {describe_nodes(nodes)}")
        nodes = [_as_part(n) for n in nodes]
    return _apply(Concat(axis), tuple(nodes), name)


def stack(xs, axis=0, name=None):
    """Stack equally shaped nodes along a new axis."""
    _, nodes = _parts(xs, "stack")
    return _apply(Stack(axis), tuple(nodes), name)


def getitem(x, index, name=None):
    """x[index]: basic slicing, integer arrays (repeats allowed) or boolean masks.

    The index is data, not part of the graph: a Node index is refused (index with
    ``node.value`` if the positions come from a computed value; no gradient flows there).
    """
    if isinstance(index, Node) or (isinstance(index, tuple) and any(isinstance(i, Node) for i in index)):
        who = x.label() if isinstance(x, Node) else "an array"
        raise TypeError(f"getitem: {who!r} indexed with a Node; index with integers, slices, integer "
                        f"arrays or boolean masks (e.g. node.value), not with a Node")
    return _unary(GetItem(index), x, name)


def cross_entropy(logits, targets, reduction="sum", name=None):
    """Softmax cross-entropy: Σ over positions of −log softmax(logits)[target].

    ``logits`` has shape (..., C); ``targets`` holds integer class indices of shape (...).
    ``reduction="mean"`` divides by the number of positions.
    """
    z = as_node(logits, what="cross_entropy: logits")
    t = np.asarray(targets.value if isinstance(targets, Node) else targets)
    if t.dtype.kind not in "iu":
        if t.dtype.kind == "f" and t.size and np.all(t == np.round(t)):
            raise DtypeError(f"cross_entropy: targets must be an integer array of class indices, "
                             f"got dtype {t.dtype}; convert with targets.astype(int)")
        raise DtypeError(f"cross_entropy: targets must be integer class indices, got dtype {t.dtype}")
    if z.ndim == 0 or t.shape != z.shape[:-1]:
        raise ShapeError(f"cross_entropy: logits {describe_nodes([z])} need targets of shape {z.shape[:-1]} "
                         f"(one class index per row), got {t.shape}")
    classes = z.shape[-1]
    if t.size and (t.min() < 0 or t.max() >= classes):
        raise ValueError(f"cross_entropy: target indices must lie in [0, {classes}) for logits "
                         f"{describe_nodes([z])}; got values from {t.min()} to {t.max()}")
    if reduction not in ("sum", "mean"):
        raise ValueError(f"cross_entropy: reduction must be 'sum' or 'mean', got {reduction!r}")
    return _apply(CrossEntropy(t.astype(np.intp), reduction), (z,), name)


# --- Python operators on Node --------------------------------------------------

def _install_operators():
    """Python's operators on Node, each a direct call into the op's function."""

    def __add__(self, other):
        return _binary(Add, self, other, None)

    def __radd__(self, other):
        return _binary(Add, other, self, None)

    def __sub__(self, other):
        return _binary(Sub, self, other, None)

    def __rsub__(self, other):
        return _binary(Sub, other, self, None)

    def __mul__(self, other):
        return _binary(Mul, self, other, None)

    def __rmul__(self, other):
        return _binary(Mul, other, self, None)

    def __truediv__(self, other):
        return _binary(Div, self, other, None)

    def __rtruediv__(self, other):
        return _binary(Div, other, self, None)

    def __matmul__(self, other):
        return _binary(MatMul, self, other, None)

    def __rmatmul__(self, other):
        return _binary(MatMul, other, self, None)

    def __rpow__(self, other):
        raise TypeError(f"{type(other).__name__} ** Node is not supported (the exponent must be a constant); "
                        f"write exp(node * log(base))")

    def reshape_method(self, *shape):
        return reshape(self, shape[0] if len(shape) == 1 and not isinstance(shape[0], (int, np.integer)) else shape)

    for method in (__add__, __radd__, __sub__, __rsub__, __mul__, __rmul__, __truediv__, __rtruediv__,
                   __matmul__, __rmatmul__, __rpow__):
        setattr(Node, method.__name__, method)
    Node.__pow__ = lambda self, p: power(self, p)
    Node.__neg__ = lambda self: _apply(Neg(), (self,), None)
    Node.__getitem__ = lambda self, index: getitem(self, index)
    def reduction_method(function):
        # np.sum(node) and np.mean(node) call node.sum(axis=..., dtype=..., out=...) by keyword
        def method(self, axis=None, keepdims=False, *, dtype=None, out=None):
            if dtype is not None or out is not None:
                raise TypeError(f"{function.__name__} of node {self.label()!r}: dtype= and out= are not "
                                f"supported; the result keeps the node's dtype and is a new node")
            return function(self, axis, keepdims)
        method.__name__ = function.__name__
        return method

    Node.sum = reduction_method(sum)
    Node.mean = reduction_method(mean)
    Node.reshape = reshape_method
    Node.transpose = lambda self, axes=None: transpose(self, axes)
    Node.T = property(lambda self: transpose(self))
    Node.exp = lambda self: exp(self)
    Node.log = lambda self: log(self)
    Node.tanh = lambda self: tanh(self)
    Node.sigmoid = lambda self: sigmoid(self)
    Node.relu = lambda self: relu(self)


_install_operators()
