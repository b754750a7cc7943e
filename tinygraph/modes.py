"""Global switches: gradient recording (``no_grad``) and anomaly detection.

They live in one small object so ``ops.apply`` reads them with one attribute lookup.
"""
from contextlib import contextmanager


class _Modes:
    __slots__ = ("grad_enabled", "anomaly", "assignments", "tangents")

    def __init__(self):
        self.grad_enabled = True
        self.anomaly = False
        self.assignments = 0        # Node.assign calls so far: a clock for values set after use
        self.tangents = None        # inside tg.jvp: node -> its tangent (forward mode)


modes = _Modes()


@contextmanager
def no_grad():
    """Build nodes without recording the graph: results have no op and need no grad.

    >>> import tinygraph as tg
    >>> x = tg.parameter([1.0, 2.0])
    >>> with tg.no_grad():
    ...     y = x * 2
    >>> y.op is None, y.inputs, y.requires_grad
    (True, (), False)
    """
    previous = modes.grad_enabled
    modes.grad_enabled = False
    try:
        yield
    finally:
        modes.grad_enabled = previous


@contextmanager
def anomaly_mode(enabled=True):
    """Raise ``AnomalyError`` at the first op whose output (forward) or gradient
    (backward) holds a NaN or Inf, naming the op and its input nodes."""
    previous = modes.anomaly
    modes.anomaly = enabled
    try:
        yield
    finally:
        modes.anomaly = previous
