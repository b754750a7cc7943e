"""Exercises for students, and what checks them.

- ``check(name, answer, truth)``: the check cell of a predict-then-check exercise in a notebook.
"""
from .predict import check

__all__ = ["check"]
