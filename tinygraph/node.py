"""Node: one value in a computational graph.

A Node wraps a read-only float ndarray (float64 unless float32 is asked for) and
remembers how it was made: the ``op`` and its ``inputs``. Leaves have no op.

>>> import tinygraph as tg
>>> W = tg.parameter([[1.0, 2.0]], name="W")     # a leaf that wants a gradient
>>> x = tg.tensor([[3.0], [4.0]], name="x")      # a leaf that does not
>>> y = (W @ x).sum()
>>> tg.backward(y)
>>> W.grad
array([[3., 4.]])

Values are frozen: ``W.value[0, 0] = 5`` raises, so an array cannot change after a
gradient was computed from it. Use ``node.assign(new_array)`` to give a parameter a
new value (optimizers do).
"""
import numpy as np

from .errors import DtypeError, ShapeError
from .modes import modes
from .scope import scopes

FLOAT64 = np.dtype(np.float64)
FLOAT32 = np.dtype(np.float32)
FLOAT_DTYPES = (FLOAT64, FLOAT32)
#: Real numbers that take the float dtype of the node they meet (``x32 * 2`` stays float32).
SCALAR_TYPES = (bool, int, float, np.bool_, np.integer, np.floating)


def as_float_array(data, dtype=None, what="value"):
    """Convert ``data`` to a float ndarray by tinygraph's dtype rule.

    - float64 and float32 arrays are kept as they are (no copy);
    - Python numbers, bool/int arrays and other real floats (float16, longdouble)
      become float64: integers and booleans are exact data, they carry no precision;
    - complex, object, string and other arrays are refused with ``DtypeError``
      (tinygraph never drops an imaginary part or guesses at objects);
    - ``dtype`` ("float64" or "float32") forces one of the two float types (as a copy).
    """
    arr = np.asarray(data) if not isinstance(data, np.ndarray) else data
    kind = arr.dtype.kind
    if kind not in "biuf":
        raise DtypeError(
            f"{what}: tinygraph works on real floating point arrays; got dtype {arr.dtype} "
            f"(shape {arr.shape}). Complex, object and string arrays are refused; "
            f"convert explicitly, e.g. np.asarray(a, dtype=float)."
        )
    if dtype is not None:
        target = np.dtype(dtype)
        if target not in FLOAT_DTYPES:
            raise DtypeError(f"{what}: dtype must be float64 or float32, got {target}")
    elif arr.dtype in FLOAT_DTYPES:
        return arr
    else:
        target = FLOAT64
    return arr.astype(target)


def freeze(arr):
    """Make an ndarray read-only and return it (a numpy scalar becomes a 0-d array).
    Only for arrays tinygraph made itself; what a caller hands in goes through ``owned``."""
    if type(arr) is not np.ndarray:
        arr = np.asarray(arr)
    arr.setflags(write=False)
    return arr


def _writable_somewhere(arr):
    """True when something can still write to ``arr``'s memory: it or an array it views
    is writable, or it views memory that is not an ndarray (a buffer, another library's)."""
    while arr is not None:
        if arr.flags.writeable:
            return True
        base = arr.base
        if base is not None and not isinstance(base, np.ndarray):
            return not isinstance(base, bytes)
        arr = base
    return False


def owned(data, dtype=None, what="value"):
    """The ownership rule: every array in the graph belongs to tinygraph and cannot change.

    ``data`` becomes a float array (``as_float_array``); an array made by that conversion
    is frozen as it is; an array the caller still holds is copied, unless nothing can
    write to it (it and everything it views are read-only), and then it is used as is.
    The caller's arrays are never frozen or changed. Cost: one copy of each writable
    array that enters (docs/engine.md gives the measured time and memory).
    """
    if isinstance(data, np.ma.MaskedArray):
        raise DtypeError(f"{what}: masked arrays are refused, their mask would be lost; pass "
                         f"np.ma.filled(a, fill_value) or a.data explicitly")
    arr = as_float_array(data, dtype, what)
    if arr is not data and arr.flags.owndata:        # made here (a list, a dtype conversion)
        arr.setflags(write=False)
        return arr
    if _writable_somewhere(arr):
        arr = arr.copy()
    arr.setflags(write=False)
    return arr


# The functions and op classes Node's operators call, filled in by ``connect_operators``
# when tinygraph.ops loads (ops imports node, so node cannot import ops).
_binary = _unary = _Add = _Sub = _Mul = _Div = _MatMul = _Neg = None
_power = _getitem = _sum = _mean = _reshape = _transpose = _exp = _log = _tanh = _sigmoid = _relu = None


def connect_operators(**functions):
    """Give Node's operators the ops they call: ``connect_operators(binary=..., Add=...)``."""
    for name, function in functions.items():
        if "_" + name not in globals():
            raise NameError(f"connect_operators: Node has no operator that uses {name!r}")
        globals()["_" + name] = function


class Node:
    """A value in the graph: ``value``, ``grad``, ``op``, ``inputs``, ``name``, ``scope``.

    ``requires_grad`` is True for parameters and for every node computed from one
    (while gradients are recorded, see ``tg.no_grad``).
    """

    __slots__ = ("value", "grad", "op", "inputs", "name", "scope", "requires_grad", "stamp", "_adjoint_of",
                 "__weakref__")

    # numpy defers to Node's reflected operators: np.ones(3) * node -> node.__rmul__
    __array_ufunc__ = None

    def __init__(self, value, op=None, inputs=(), name=None, requires_grad=False):
        self.value = value
        self.grad = None
        self.op = op
        self.inputs = inputs
        self.name = name
        self.scope = scopes.current
        self.requires_grad = requires_grad

    # --- what a user reads -------------------------------------------------
    @property
    def shape(self):
        return self.value.shape

    @property
    def ndim(self):
        return self.value.ndim

    @property
    def size(self):
        return self.value.size

    @property
    def dtype(self):
        return self.value.dtype

    @property
    def is_leaf(self):
        return self.op is None

    @property
    def adjoint_of(self):
        """The forward node whose total gradient this node is (built by ``backward`` with
        ``create_graph=True``); None for every other node."""
        return getattr(self, "_adjoint_of", None)

    def numpy(self):
        """The value as a (read-only) ndarray."""
        return self.value

    def item(self):
        """The value of a one-element node as a Python float."""
        if self.value.size != 1:
            raise ShapeError(f"item() of node {self.describe()}: only a one-element node is one number; "
                            f"read node.value, or reduce it first (node.sum())")
        return self.value.item()

    def label(self):
        """The node's name, or the op that made it, or "?" for a nameless leaf."""
        if self.name:
            return self.name
        return self.op.name if self.op is not None else "?"

    def describe(self):
        """How errors name the node: ``'W' (3, 4)``, or ``unnamed tanh (3, 4)`` without a name."""
        if self.name:
            return f"{self.name!r} {self.shape}"
        return f"unnamed {self.op.name if self.op is not None else 'leaf'} {self.shape}"

    def named(self, name):
        """Give the node a name (shown in drawings and errors) and return it."""
        self.name = name
        return self

    def assign(self, new_value):
        """Replace the value of a leaf (e.g. an optimizer step); shape and dtype must match.

        Nodes already computed from the old value keep it; ``backward`` through them then
        raises ``GraphError`` naming this node (see ``stamp``), instead of mixing values."""
        if self.op is not None:
            raise ValueError(f"assign: {self.label()!r} is computed by {self.op.name}; only leaves can be assigned")
        what = f"assign to {self.label()!r}"
        arr = owned(new_value, self.value.dtype, what)
        if arr.shape != self.value.shape:
            raise ShapeError(
                f"assign: {self.label()!r} has shape {self.value.shape}, new value has shape {arr.shape}"
            )
        modes.assignments += 1
        self.value = arr
        self.stamp = modes.assignments

    def __repr__(self):
        kind = "parameter" if self.requires_grad and self.op is None else ("op " + self.op.name if self.op else "tensor")
        return f"Node({self.label()!r}, {kind}, shape={self.shape}, dtype={self.dtype})"

    def __len__(self):
        return len(self.value)

    def __bool__(self):
        raise TypeError(
            f"the truth value of node {self.label()!r} is ambiguous; compare node.value instead"
        )

    def __iter__(self):
        raise TypeError(f"node {self.label()!r} is not iterable; index it (node[i]) instead")

    def __array__(self, dtype=None, copy=None):
        raise TypeError(
            f"numpy cannot take node {self.label()!r} {self.shape} as an array: that would drop the graph. "
            f"Use tinygraph's ops (tg.concat, tg.stack, tg.tanh, ...) or node.value for the plain numbers"
        )

    # --- Python operators: each calls straight into the op (tinygraph.ops connects them) ---
    def __add__(self, other):
        return _binary(_Add, self, other, None)

    def __radd__(self, other):
        return _binary(_Add, other, self, None)

    def __sub__(self, other):
        return _binary(_Sub, self, other, None)

    def __rsub__(self, other):
        return _binary(_Sub, other, self, None)

    def __mul__(self, other):
        return _binary(_Mul, self, other, None)

    def __rmul__(self, other):
        return _binary(_Mul, other, self, None)

    def __truediv__(self, other):
        return _binary(_Div, self, other, None)

    def __rtruediv__(self, other):
        return _binary(_Div, other, self, None)

    def __matmul__(self, other):
        return _binary(_MatMul, self, other, None)

    def __rmatmul__(self, other):
        return _binary(_MatMul, other, self, None)

    def __neg__(self):
        return _unary(_Neg(), self, None)

    def __pow__(self, p):
        return _power(self, p)

    def __rpow__(self, other):
        raise TypeError(f"{type(other).__name__} ** Node is not supported (the exponent must be a constant); "
                        f"write exp(node * log(base))")

    def __getitem__(self, index):
        return _getitem(self, index)

    def sum(self, axis=None, keepdims=False, *, dtype=None, out=None):
        """``node.sum(axis)``, also what ``np.sum(node)`` calls."""
        self._no_numpy_options("sum", dtype, out)
        return _sum(self, axis, keepdims)

    def mean(self, axis=None, keepdims=False, *, dtype=None, out=None):
        """``node.mean(axis)``, also what ``np.mean(node)`` calls."""
        self._no_numpy_options("mean", dtype, out)
        return _mean(self, axis, keepdims)

    def _no_numpy_options(self, what, dtype, out):
        if dtype is not None or out is not None:
            raise TypeError(f"{what} of node {self.label()!r}: dtype= and out= are not supported; "
                            f"the result keeps the node's dtype and is a new node")

    def reshape(self, *shape):
        return _reshape(self, shape[0] if len(shape) == 1 and not isinstance(shape[0], (int, np.integer)) else shape)

    def transpose(self, axes=None):
        return _transpose(self, axes)

    @property
    def T(self):
        return _transpose(self)

    def exp(self):
        return _exp(self)

    def log(self):
        return _log(self)

    def tanh(self):
        return _tanh(self)

    def sigmoid(self):
        return _sigmoid(self)

    def relu(self):
        return _relu(self)

    def __float__(self):
        """``float(loss)``: the value of a one-element node (no gradient flows through it)."""
        if self.value.size != 1:
            raise ShapeError(f"float() of node {self.describe()}: only a one-element node is one number; "
                            f"read node.value, or reduce it first (node.sum())")
        return float(self.value.item())


def tensor(data, name=None, dtype=None):
    """A leaf that takes no gradient (inputs, targets, constants).

    The value is ``owned(data)``: a copy of an array the caller can still change, so the
    caller's array stays theirs (writable, unchanged) and the graph's cannot change.
    """
    return Node(owned(data, dtype, what=f"tensor {name!r}"), name=name)


def parameter(data, name=None, dtype=None):
    """A leaf whose gradient ``backward`` computes (weights, biases, and anything to check)."""
    return Node(owned(data, dtype, what=f"parameter {name!r}"), name=name, requires_grad=True)


def detach(node, name=None):
    """A new leaf with the same value and no history: gradients stop here."""
    return Node(node.value, name=name if name is not None else node.name)
