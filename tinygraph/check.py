"""Gradient checks: autodiff against central finite differences, in float64.

``gradcheck(f, inputs)`` compares every entry; ``check_directions(f, inputs)`` compares
directional derivatives along random directions (cheap for large inputs). Both
return a ``GradReport`` with one row per input (max absolute and relative error).

>>> import numpy as np, tinygraph as tg
>>> report = tg.gradcheck(lambda w, x: tg.tanh(w @ x).sum(),
...                       [np.ones((2, 3)), np.arange(3.0)], names=["w", "x"])
>>> report.ok
True

``f`` takes one Node per input and returns a Node. A non-scalar output is checked
through a fixed random projection ``sum(out * R)``.
"""
from dataclasses import dataclass, field

import numpy as np

from .backprop import grad
from .modes import no_grad
from .node import Node, parameter, tensor


@dataclass
class GradRow:
    name: str
    shape: tuple
    max_abs_error: float
    max_rel_error: float
    ok: bool


@dataclass
class GradReport:
    rows: list = field(default_factory=list)

    @property
    def ok(self):
        return all(row.ok for row in self.rows)

    def __str__(self):
        lines = [f"{'input':<16}{'shape':<16}{'max abs err':>14}{'max rel err':>14}  ok"]
        for r in self.rows:
            lines.append(f"{r.name:<16}{str(r.shape):<16}{r.max_abs_error:>14.3e}{r.max_rel_error:>14.3e}  "
                         f"{'yes' if r.ok else 'NO'}")
        return "\n".join(lines)

    def raise_if_failed(self):
        """Raise AssertionError with the table when any row failed."""
        if not self.ok:
            raise AssertionError("gradient check failed:\n" + str(self))
        return self


def compare(name, analytic, numeric, rtol, atol):
    """One report row: errors of ``analytic`` against ``numeric``, relative to their scale."""
    analytic, numeric = np.asarray(analytic, float), np.asarray(numeric, float)
    abs_err = float(np.max(np.abs(analytic - numeric))) if analytic.size else 0.0
    scale = float(max(np.max(np.abs(numeric), initial=0.0), np.max(np.abs(analytic), initial=0.0)))
    rel_err = abs_err / scale if scale > 0 else abs_err
    return GradRow(name, analytic.shape, abs_err, rel_err, bool(abs_err <= atol + rtol * scale))


def _prepare(f, inputs, seed):
    arrays = [np.array(x.value if isinstance(x, Node) else x, dtype=np.float64) for x in inputs]
    out = f(*[parameter(a) for a in arrays])
    if not isinstance(out, Node):
        raise TypeError(f"gradcheck: f must return a Node, got {type(out).__name__}")
    projection = None
    if out.size != 1:
        projection = np.random.default_rng(seed).standard_normal(out.shape)
    return arrays, projection


def _scalar(f, arrays, projection):
    with no_grad():                     # only the value is needed: no graph is recorded
        out = f(*[tensor(a) for a in arrays]).value
    return float(out.sum() if projection is None else (out * projection).sum())


def _analytic(f, arrays, projection):
    params = [parameter(a) for a in arrays]
    return grad(f(*params), params, grad=projection)


def numerical_gradient(f, arrays, eps=1e-6, projection=None):
    """∂f/∂arrays by central differences, one entry at a time."""
    result = []
    for k, a in enumerate(arrays):
        g = np.zeros_like(a)
        for idx in np.ndindex(a.shape):
            values = []
            for step in (eps, -eps):
                moved = a.copy()            # a fresh array: tensor() freezes what it is given
                moved[idx] += step
                values.append(_scalar(f, arrays[:k] + [moved] + arrays[k + 1:], projection))
            g[idx] = (values[0] - values[1]) / (2 * eps)
        result.append(g)
    return result


def _names(inputs, names):
    if names is not None:
        return list(names)
    return [(x.name if isinstance(x, Node) and x.name else f"input {i}") for i, x in enumerate(inputs)]


def gradcheck(f, inputs, names=None, eps=1e-6, rtol=1e-6, atol=1e-8, seed=0):
    """Compare autodiff with central finite differences for every entry of every input."""
    arrays, projection = _prepare(f, inputs, seed)
    analytic = _analytic(f, arrays, projection)
    numeric = numerical_gradient(f, arrays, eps, projection)
    rows = [compare(n, a, b, rtol, atol) for n, a, b in zip(_names(inputs, names), analytic, numeric)]
    return GradReport(rows)


def check_directions(f, inputs, directions=4, eps=1e-6, rtol=1e-6, atol=1e-8, seed=0):
    """Compare ⟨∇f, v⟩ with (f(x + εv) − f(x − εv)) / 2ε along random unit directions v.

    Costs two evaluations per direction whatever the size of the inputs.
    """
    arrays, projection = _prepare(f, inputs, seed)
    analytic = _analytic(f, arrays, projection)
    rng = np.random.default_rng(seed + 1)
    rows = []
    for d in range(directions):
        v = [rng.standard_normal(a.shape) for a in arrays]
        norm = np.sqrt(sum(float((x * x).sum()) for x in v)) or 1.0
        v = [x / norm for x in v]
        plus = _scalar(f, [a + eps * x for a, x in zip(arrays, v)], projection)
        minus = _scalar(f, [a - eps * x for a, x in zip(arrays, v)], projection)
        numeric = (plus - minus) / (2 * eps)
        exact = sum(float((g * x).sum()) for g, x in zip(analytic, v))
        rows.append(compare(f"direction {d}", exact, numeric, rtol, atol))
    return GradReport(rows)
