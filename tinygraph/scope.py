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
