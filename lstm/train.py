"""Training a cell on a toy task with tinygraph: the model, the loop, the loss plot, sampling.

The model is a cell (``make_cell``) with a linear readout on its output, the usual head
of a recurrent net:

    ŷ_t = H_t W_y + b_y            (H_t; z_h for PaperLSTM; h_t for VanillaRNN)

- adding problem: one prediction from the last step, ŷ_T (r × 1); loss = mean over the
  batch of (ŷ_T − y)², i.e. the MSE the baseline 1/6 refers to;
- characters: logits ŷ_t (r × V) at every step; loss = seed 001's cross-entropy on the
  next letter, softmax over ŷ_t, averaged over steps and rows (nats per character).

PaperLSTM has no batch axis (x is (N,), one sequence): its model unrolls one graph per
sequence of the batch and averages their losses, which is exact but r times the graph.

>>> from lstm.tasks import AddingTask
>>> task = AddingTask(seq_len=8, seed=0)
>>> model = Model("blog", task.input_size, 6, task.output_size, seed=0)
>>> history = train(model, task, steps=30, batch_size=16, lr=0.02, progress=False)
>>> history.eval_after < history.eval_before
True
"""
import json
import math
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

import tinygraph as tg
from tinygraph import optim
from tinygraph.io import write_file

from .cells import VARIANTS, make_cell


class Model:
    """A cell (``num_layers`` > 1: that many stacked layers) plus a linear readout on its top
    layer. ``parameters()`` holds the cell's parameters and the readout's ``W_y`` (h × k,
    uniform ±1/√h from the seed) and ``b_y`` (k,, zeros)."""

    def __init__(self, variant, input_size, hidden_size, output_size, seed=0, num_layers=1):
        if variant not in VARIANTS:
            raise ValueError(f"Model: unknown cell variant {variant!r}; choose one of {list(VARIANTS)}")
        self.variant = variant
        self.cell = make_cell(variant, input_size, hidden_size, seed=seed, num_layers=num_layers)
        self.batched = variant != "paper"
        self.hidden_size, self.output_size = hidden_size, output_size
        rng = np.random.default_rng([seed, 1])
        bound = 1.0 / math.sqrt(hidden_size)
        self.W_y = tg.parameter(rng.uniform(-bound, bound, size=(hidden_size, output_size)), name="W_y")
        self.b_y = tg.parameter(np.zeros(output_size), name="b_y")

    def parameters(self):
        """Every trainable parameter by key: the cell's, then "W_y" and "b_y"."""
        return {**self.cell.parameters(), "W_y": self.W_y, "b_y": self.b_y}

    def readout(self, h):
        """ŷ = h W_y + b_y (works on (D,), (r, h) and stacked (T, r, h) outputs)."""
        with tg.scope("readout"):
            return tg.add(tg.matmul(h, self.W_y, name=f"{h.label()} W_y"), self.b_y, name="ŷ")

    def unroll(self, X):
        """The runs for a batch ``X`` (T, r, d): one batched run, or (PaperLSTM) one run
        per sequence of the batch."""
        if self.batched:
            return [self.cell.unroll(X)]
        return [self.cell.unroll(X[:, b, :]) for b in range(X.shape[1])]

    def loss(self, task, X, targets):
        """The task's loss on one batch: returns ``(L, runs)``; ``runs`` give access to
        every step's nodes (for the gradients ∂L/∂H_t)."""
        runs = self.unroll(X)
        if task.loss == "mse":
            y = np.asarray(targets, dtype=float)
            preds = [self.readout(run.outputs[-1]) for run in runs]        # ŷ_T: (r, 1), or (1,) per sequence
            wanted = [y[:, None]] if self.batched else [y[b:b + 1] for b in range(len(y))]
            with tg.scope("loss"):
                squares = [tg.sum((p - tg.tensor(w, name="y")) ** 2, name="Σ(ŷ − y)²") for p, w in zip(preds, wanted)]
                total = squares[0] if len(squares) == 1 else tg.sum(tg.stack(squares))
                L = tg.div(total, float(len(y)), name="L")
        elif task.loss == "ce":
            Y = np.asarray(targets)
            if self.batched:
                logits = [self.readout(tg.stack(runs[0].outputs, name="H"))]       # (T, r, V)
                wanted = [Y]
            else:
                logits = [self.readout(tg.stack(run.outputs, name="z_h")) for run in runs]   # (T, V) each
                wanted = [Y[:, b] for b in range(Y.shape[1])]
            with tg.scope("loss"):
                terms = [tg.cross_entropy(z, w) for z, w in zip(logits, wanted)]
                total = terms[0] if len(terms) == 1 else tg.sum(tg.stack(terms))
                L = tg.div(total, float(Y.size), name="L")
        else:
            raise ValueError(f"Model.loss: unknown task loss {task.loss!r}")
        return L, runs

    def evaluate(self, task, batch=None):
        """The task's loss on ``batch`` (default: the task's fixed evaluation batch), as a float."""
        X, targets = task.eval_batch if batch is None else batch
        with tg.no_grad():
            L, _ = self.loss(task, X, targets)
        return L.item()

    def step(self, x, state, t):
        """One step for a single sequence (sampling): ``x`` (d,) -> (logits (k,), new state)."""
        with tg.no_grad():
            nodes = self.cell.step(x if not self.batched else x[None, :], state, t)
            logits = self.readout(nodes[self.cell.OUTPUT]).value
        return (logits if not self.batched else logits[0]), nodes


@dataclass
class History:
    """What a training run measured: the training loss and global gradient norm (before
    clipping) per step, the evaluation loss as (step, loss) pairs (before training, every
    ``eval_every`` steps, after training) and the wall time of the loop."""

    losses: list = field(default_factory=list)
    grad_norms: list = field(default_factory=list)
    evals: list = field(default_factory=list)
    seconds: float = 0.0

    @property
    def eval_before(self):
        return self.evals[0][1]

    @property
    def eval_after(self):
        return self.evals[-1][1]

    @property
    def best_eval(self):
        """(step, loss) of the lowest evaluation loss seen."""
        return min(self.evals, key=lambda pair: pair[1])


def running_mean(values, window):
    """The mean of the last ``window`` values at each position (shorter at the start)."""
    values = np.asarray(values, dtype=float)
    if values.size == 0:
        return values
    csum = np.concatenate([[0.0], np.cumsum(values)])
    idx = np.arange(1, values.size + 1)
    lo = np.maximum(idx - window, 0)
    return (csum[idx] - csum[lo]) / (idx - lo)


def make_optimizer(params, name="adam", lr=None, momentum=0.9):
    """Adam (default lr 1e-2) or SGD with momentum (default lr 0.1) over ``params``."""
    if name == "adam":
        return optim.Adam(params, lr=1e-2 if lr is None else lr)
    if name == "sgd":
        return optim.SGD(params, lr=0.1 if lr is None else lr, momentum=momentum)
    raise ValueError(f"make_optimizer: unknown optimizer {name!r}; choose 'adam' or 'sgd'")


def train(model, task, steps, batch_size=32, optimizer="adam", lr=None, clip=None, progress=True,
          callback=None, eval_every=None):
    """Train ``model`` on ``task`` for ``steps`` batches; returns a ``History``.

    Each step: a fresh batch, forward, backward (keeping only the parameters' gradients),
    optional clipping of the global gradient norm to ``clip``, an optimizer step. With
    ``progress`` a tqdm bar shows the running loss (mean of the last 50 steps).
    The evaluation loss (the task's fixed held-out batch) is measured before and after
    training and, with ``eval_every``, every that many steps (to see overfitting).
    ``callback(step, loss)``, if given, is called after every step.
    """
    if steps < 0 or batch_size < 1:
        raise ValueError(f"train: steps must be >= 0 and batch_size >= 1, got {steps} and {batch_size}")
    if clip is not None and not clip > 0:
        raise ValueError(f"train: clip must be a positive number, got {clip!r}")
    params = model.parameters()
    opt = optimizer if isinstance(optimizer, optim.Optimizer) else make_optimizer(params, optimizer, lr)
    if eval_every is not None and eval_every < 1:
        raise ValueError(f"train: eval_every must be a positive number of steps, got {eval_every!r}")
    history = History(evals=[(0, model.evaluate(task))])
    start = time.perf_counter()
    bar = None
    if progress:
        from tqdm.auto import tqdm
        bar = tqdm(total=steps, desc=f"{task.name}/{model.variant}", unit="step", dynamic_ncols=True)
    try:
        for k in range(steps):
            X, targets = task.batch(batch_size)
            opt.zero_grad()
            L, _ = model.loss(task, X, targets)
            tg.backward(L, retain_grads=False)
            norm = optim.clip_grad_norm(params, clip) if clip is not None else optim.global_norm(params)
            opt.step()
            history.losses.append(L.item())
            history.grad_norms.append(norm)
            if eval_every and (k + 1) % eval_every == 0 and k + 1 < steps:
                history.evals.append((k + 1, model.evaluate(task)))
            if bar is not None:
                bar.update(1)
                if k % 10 == 0 or k == steps - 1:
                    bar.set_postfix(loss=f"{np.mean(history.losses[-50:]):.4f}",
                                    eval=f"{history.evals[-1][1]:.4f}", refresh=False)
            if callback is not None:
                callback(k, L.item())
    finally:
        if bar is not None:
            bar.close()
    history.seconds = time.perf_counter() - start
    if steps:
        history.evals.append((steps, model.evaluate(task)))
    return history


def plot_losses(history, baseline, path, title, baseline_label="baseline"):
    """Save the loss curve (per step and its running mean, with the baseline) as a PNG."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4), dpi=110)
    steps = np.arange(1, len(history.losses) + 1)
    if len(steps):
        ax.plot(steps, history.losses, color="tab:blue", alpha=0.3, linewidth=0.8, label="training loss (batch)")
        window = min(50, max(1, len(steps) // 10))
        ax.plot(steps, running_mean(history.losses, window), color="tab:blue",
                label=f"running mean ({window} steps)")
    at, values = zip(*history.evals)
    ax.plot(at, values, "o-", color="black", markersize=3,
            label=f"held-out evaluation loss: {history.eval_before:.4g} -> {history.eval_after:.4g}")
    ax.axhline(baseline, color="tab:red", linestyle="--", label=f"{baseline_label} = {baseline:.4g}")
    ax.set_xlabel("training step")
    ax.set_ylabel("loss")
    ax.set_title(title)
    shown = [v for v in [*history.losses, *values, baseline] if np.isfinite(v)]
    if shown and min(shown) > 0 and max(shown) / min(shown) > 20:
        ax.set_yscale("log")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return Path(path)


def sample(model, task, prime="The ", length=200, temperature=1.0, seed=0):
    """Text generated by a model trained on a ``CharTask``: feed ``prime`` one character
    at a time, then draw each next character from softmax(ŷ / temperature) and feed it
    back. Reproducible from ``seed``. Returns prime + the ``length`` new characters."""
    if not prime:
        raise ValueError("sample: prime must hold at least one character")
    if not temperature > 0:
        raise ValueError(f"sample: temperature must be positive, got {temperature!r}")
    rng = np.random.default_rng(seed)
    codes = list(task.encode(prime))
    state, logits = None, None
    for t, code in enumerate(codes, start=1):
        logits, state = model.step(task.one_hot(code), state, t)
    for t in range(len(codes) + 1, len(codes) + length + 1):
        z = logits / temperature
        p = np.exp(z - z.max())
        code = int(rng.choice(len(p), p=p / p.sum()))
        codes.append(code)
        logits, state = model.step(task.one_hot(code), state, t)
    return task.decode(codes)


def save_run(out, model, task, history, settings):
    """Write a run's outputs to the folder ``out``: ``parameters.npz`` (every parameter by
    key, loadable with ``tinygraph.optim.load``), ``run.json`` (settings, vocabulary,
    losses) and ``loss.png``, each atomically (``tinygraph.io.write_file``). Returns the
    dict of written paths."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    paths = {"parameters": out / "parameters.npz", "run": out / "run.json", "plot": out / "loss.png"}
    optim.save(paths["parameters"], model.parameters())
    record = {
        **settings,
        "input_size": task.input_size, "output_size": task.output_size,
        "vocab": getattr(task, "vocab", None),
        "baseline": task.baseline, "baseline_means": task.baseline_text,
        "eval_loss_before": history.eval_before, "eval_loss_after": history.eval_after,
        "eval_losses": history.evals,
        "seconds": round(history.seconds, 3),
        "train_losses": history.losses, "grad_norms": history.grad_norms,
    }
    text = json.dumps(record, indent=1, ensure_ascii=False) + "\n"
    write_file(paths["run"], lambda tmp: tmp.write_text(text, encoding="utf-8"))
    title = f"{task.name} / {model.variant}: T={task.seq_len}, h={model.hidden_size}, seed={settings.get('seed')}"
    write_file(paths["plot"], lambda tmp: plot_losses(history, task.baseline, tmp, title, baseline_label="baseline"))
    return paths
