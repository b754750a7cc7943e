"""The errors tinygraph raises. Each message names the op, the nodes and the shapes."""


class TinygraphError(Exception):
    """Base class of every error raised by tinygraph."""


class ShapeError(TinygraphError, ValueError):
    """An op was given inputs whose shapes do not fit together."""


class DtypeError(TinygraphError, TypeError):
    """An array of a kind tinygraph refuses (complex, object, strings) was given."""


class AnomalyError(TinygraphError, FloatingPointError):
    """Anomaly mode found a NaN or Inf in an op's output or in a gradient."""


class GraphError(TinygraphError, RuntimeError):
    """backward() was asked for something the graph cannot give."""
