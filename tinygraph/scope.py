"""Scopes: ``with tg.scope("forget gate"):`` tags every node created inside.

Scopes nest; a node's ``scope`` is the tuple of names from outermost to innermost,
e.g. ``("t=3", "forget gate")``, and ``scope_path(node)`` gives ``"t=3/forget gate"``.
Drawings turn scopes into clusters.
"""
from contextlib import contextmanager


class _ScopeStack:
    __slots__ = ("current",)

    def __init__(self):
        self.current = ()


scopes = _ScopeStack()


@contextmanager
def scope(name):
    """Tag the nodes created in this block with ``name`` (nested inside enclosing scopes)."""
    if not isinstance(name, str) or not name:
        raise TypeError(f"scope name must be a non-empty string, got {name!r}")
    previous = scopes.current
    scopes.current = previous + (name,)
    try:
        yield
    finally:
        scopes.current = previous


def scope_path(node_or_scope, sep="/"):
    """The scope of a node (or a scope tuple) as one string, e.g. ``"t=3/forget gate"``."""
    parts = getattr(node_or_scope, "scope", node_or_scope)
    return sep.join(parts)


# --- numbered scopes: time steps ("t=3") and layers ("layer=2") -------------------------

STEP, LAYER = "t", "layer"


def step_scope(t, last=None):
    """The scope name of time step ``t``: ``"t=3"``; with ``last``, a span of steps ``"t=1..20"``.

    >>> step_scope(3), step_scope(1, 20), layer_scope(2)
    ('t=3', 't=1..20', 'layer=2')
    """
    return _numbered(STEP, t) + ("" if last is None else f"..{_number(last)}")


def layer_scope(k):
    """The scope name of layer ``k``: ``"layer=2"`` (layers nest steps: ``layer=2/t=3/...``)."""
    return _numbered(LAYER, k)


def step_of(node_or_scope):
    """The time step a node (or scope tuple) sits in, as an int, or None outside any single step.

    >>> import tinygraph as tg
    >>> with tg.scope(layer_scope(2)), tg.scope(step_scope(3)), tg.scope("forget gate"):
    ...     F = tg.tensor(1.0)
    >>> step_of(F), layer_of(F), step_of(("t=1..20",))
    (3, 2, None)
    """
    return _index_in(node_or_scope, STEP)


def layer_of(node_or_scope):
    """The layer a node (or scope tuple) sits in, as an int, or None."""
    return _index_in(node_or_scope, LAYER)


def _number(k):
    if isinstance(k, bool) or not isinstance(k, int) and not hasattr(k, "__index__"):
        raise TypeError(f"a step or layer number must be an int, got {k!r}")
    return int(k)


def _numbered(kind, k):
    return f"{kind}={_number(k)}"


def _index_in(node_or_scope, kind):
    prefix = kind + "="
    for name in reversed(getattr(node_or_scope, "scope", node_or_scope)):
        if name.startswith(prefix) and name[len(prefix):].isdigit():
            return int(name[len(prefix):])
    return None
