"""Two toy tasks to train the cells on, generated reproducibly from a seed.

- ``AddingTask``: the adding problem (Hochreiter & Schmidhuber, 1997). Each time step
  carries two numbers: a value drawn uniformly from [0, 1] and a marker (0 or 1). Exactly
  two steps are marked, one in the first half of the sequence and one in the second; the
  target is the sum of the two marked values. A model that ignores its input and always
  predicts the mean (1.0) scores MSE = Var(u1 + u2) = 2 · 1/12 = 1/6 ≈ 0.167: the baseline.
  To beat it the model must carry a value across up to T steps, which is what vanishing
  gradients make hard.
- ``CharTask``: next-character prediction on the short text the project ships
  (``lstm/data/memory.txt``), with seed 001's cross-entropy on the next letter. Inputs
  are one-hot characters, targets the index of the following character. The baseline
  is a model without memory: it predicts every character from the training part's
  character frequencies alone.

Both give batches as ``X`` of shape (T, r, d) (time first, as ``cell.unroll`` takes them)
and targets; both draw training batches from ``np.random.default_rng(seed)`` and keep a
fixed evaluation batch made from a separate stream of the same seed, so a run is
repeatable end to end.

>>> task = AddingTask(seq_len=10, seed=0)
>>> X, y = task.batch(4)
>>> X.shape, y.shape, X[:, :, 1].sum(axis=0).tolist()     # two markers per sequence
((10, 4, 2), (4,), [2.0, 2.0, 2.0, 2.0])
"""
from importlib import resources

import numpy as np

#: The text ``CharTask`` trains on by default (written for this project).
TEXT_FILE = "memory.txt"


def adding_problem(batch, seq_len, rng):
    """One batch of the adding problem: ``X`` (T, r, 2) with channel 0 the values and
    channel 1 the markers, and the targets ``y`` (r,), the sums of the two marked values.
    One marker is placed uniformly in the first ⌊T/2⌋ steps, the other in the rest."""
    if seq_len < 2:
        raise ValueError(f"adding_problem: seq_len must be at least 2 (two marked steps), got {seq_len}")
    if batch < 1:
        raise ValueError(f"adding_problem: batch must be at least 1, got {batch}")
    half = seq_len // 2
    values = rng.uniform(0.0, 1.0, size=(seq_len, batch))
    first = rng.integers(0, half, size=batch)
    second = rng.integers(half, seq_len, size=batch)
    markers = np.zeros((seq_len, batch))
    rows = np.arange(batch)
    markers[first, rows] = 1.0
    markers[second, rows] = 1.0
    y = values[first, rows] + values[second, rows]
    return np.stack([values, markers], axis=-1), y


class AddingTask:
    """The adding problem over sequences of ``seq_len`` steps; one output, squared error.

    ``batch(r)`` draws a new training batch; ``eval_batch`` is a fixed batch of
    ``eval_size`` sequences for measuring the loss; ``baseline`` = 1/6, the MSE of always
    predicting the mean target 1.0.
    """

    name = "adding"
    loss = "mse"
    input_size = 2
    output_size = 1
    baseline = 1.0 / 6.0
    baseline_text = "predict the mean 1.0 (MSE = Var(u1 + u2) = 1/6)"

    def __init__(self, seq_len, seed=0, eval_size=500):
        self.seq_len = int(seq_len)
        self.seed = seed
        self.rng = np.random.default_rng([seed, 0])
        self.eval_batch = adding_problem(eval_size, self.seq_len, np.random.default_rng([seed, 1]))

    def batch(self, size):
        """A fresh training batch: ``X`` (T, size, 2), targets ``y`` (size,)."""
        return adding_problem(size, self.seq_len, self.rng)


def load_text(name=TEXT_FILE):
    """The text of a file shipped in ``lstm/data``."""
    return (resources.files("lstm") / "data" / name).read_text(encoding="utf-8")


class CharTask:
    """Next-character prediction on ``text`` (default: the shipped ``memory.txt``).

    The vocabulary is the sorted set of characters of the whole text. The first
    ``1 − held_out`` of the text is for training, the rest for evaluation. ``batch(r)``
    gives one-hot inputs ``X`` (T, r, V) and the indices of the next characters
    ``Y`` (T, r), from windows starting at random places of the training part.

    ``baseline`` is the cross-entropy (nats per character) on the evaluation part of
    predicting each character from the training part's character counts (add-one
    smoothed), i.e. the best a model without memory of earlier characters can do.
    """

    name = "chars"
    loss = "ce"
    baseline_text = "character frequencies without context (unigram cross-entropy, nats/char)"

    def __init__(self, seq_len, seed=0, text=None, held_out=0.1, eval_size=64):
        self.text = load_text() if text is None else text
        self.seq_len = int(seq_len)
        self.seed = seed
        self.vocab = "".join(sorted(set(self.text)))
        self.index = {c: i for i, c in enumerate(self.vocab)}
        self.input_size = self.output_size = len(self.vocab)
        codes = self.encode(self.text)
        split = int(len(codes) * (1 - held_out))
        self.train_codes, self.eval_codes = codes[:split], codes[split:]
        for part, codes_part in (("training", self.train_codes), ("evaluation", self.eval_codes)):
            if len(codes_part) < self.seq_len + 1:
                raise ValueError(f"CharTask: the {part} part of the text has {len(codes_part)} characters, "
                                 f"fewer than seq_len + 1 = {self.seq_len + 1}")
        counts = np.bincount(self.train_codes, minlength=len(self.vocab)) + 1.0
        log_p = np.log(counts / counts.sum())
        self.baseline = float(-log_p[self.eval_codes].mean())
        self.rng = np.random.default_rng([seed, 0])
        self.eval_batch = self._windows(self.eval_codes, eval_size, np.random.default_rng([seed, 1]))

    def encode(self, s):
        """Characters -> integer indices (an unknown character is an error naming it)."""
        unknown = sorted(set(s) - set(self.index))
        if unknown:
            raise ValueError(f"CharTask: characters {unknown!r} are not in the vocabulary {self.vocab!r}")
        return np.array([self.index[c] for c in s], dtype=np.intp)

    def decode(self, codes):
        return "".join(self.vocab[int(i)] for i in codes)

    def one_hot(self, codes):
        """Integer indices of any shape -> one-hot float64 array with a trailing axis of size V."""
        return np.eye(len(self.vocab))[np.asarray(codes)]

    def _windows(self, codes, size, rng):
        starts = rng.integers(0, len(codes) - self.seq_len, size=size)
        idx = starts[:, None] + np.arange(self.seq_len + 1)
        windows = codes[idx].T                      # (T + 1, size)
        return self.one_hot(windows[:-1]), windows[1:]

    def batch(self, size):
        """A fresh training batch: ``X`` (T, size, V) one-hot, ``Y`` (T, size) next-character indices."""
        return self._windows(self.train_codes, size, self.rng)


TASKS = {"adding": AddingTask, "chars": CharTask}


def make_task(name, seq_len, seed=0, **options):
    """A task by name: ``make_task("adding", 50, seed=0)``."""
    if name not in TASKS:
        raise ValueError(f"make_task: unknown task {name!r}; choose one of {list(TASKS)}")
    return TASKS[name](seq_len, seed=seed, **options)
