"""lstm.tasks: the adding problem and next-character prediction, reproducible from a seed."""
from collections import Counter

import numpy as np
import pytest

from lstm.tasks import AddingTask, CharTask, adding_problem, load_text, make_task


def test_adding_problem_marks_one_step_in_each_half_and_targets_their_sum():
    X, y = adding_problem(200, 11, np.random.default_rng(0))
    values, markers = X[..., 0], X[..., 1]
    assert X.shape == (11, 200, 2) and y.shape == (200,)
    assert set(np.unique(markers)) == {0.0, 1.0}
    assert (markers[:5].sum(axis=0) == 1).all() and (markers[5:].sum(axis=0) == 1).all()
    np.testing.assert_allclose(y, (values * markers).sum(axis=0))
    assert values.min() >= 0 and values.max() < 1


def test_predicting_the_mean_scores_the_stated_baseline_by_simulation():
    _, y = adding_problem(200_000, 6, np.random.default_rng(123))
    assert y.mean() == pytest.approx(1.0, abs=0.005)           # the best constant prediction is 1
    assert np.mean((y - 1.0) ** 2) == pytest.approx(AddingTask.baseline, abs=0.002)
    assert AddingTask.baseline == pytest.approx(0.1667, abs=1e-4)


@pytest.mark.parametrize("name", ["adding", "chars"])
def test_tasks_are_deterministic_per_seed(name):
    a, b, c = make_task(name, 12, seed=5), make_task(name, 12, seed=5), make_task(name, 12, seed=6)
    for k in range(3):
        (Xa, ya), (Xb, yb), (Xc, yc) = a.batch(8), b.batch(8), c.batch(8)
        np.testing.assert_array_equal(Xa, Xb)
        np.testing.assert_array_equal(ya, yb)
        assert not np.array_equal(Xa, Xc) and not np.array_equal(ya, yc)
    np.testing.assert_array_equal(a.eval_batch[1], b.eval_batch[1])


def test_evaluation_batch_does_not_depend_on_training_draws():
    a, b = AddingTask(10, seed=1), AddingTask(10, seed=1)
    a.batch(100)
    np.testing.assert_array_equal(a.eval_batch[0], b.eval_batch[0])
    X_train, _ = b.batch(len(b.eval_batch[1]))
    assert not np.array_equal(X_train, b.eval_batch[0])


def test_adding_problem_refuses_too_short_sequences():
    with pytest.raises(ValueError, match="seq_len must be at least 2"):
        AddingTask(1)


def test_char_batches_are_one_hot_windows_of_the_text_shifted_by_one():
    task = CharTask(20, seed=0)
    X, Y = task.batch(5)
    assert X.shape == (20, 5, len(task.vocab)) and Y.shape == (20, 5)
    np.testing.assert_array_equal(X.sum(axis=-1), 1.0)
    inputs = X.argmax(axis=-1)
    np.testing.assert_array_equal(inputs[1:], Y[:-1])           # each target is the next input
    for row in range(5):
        window = task.decode(inputs[:, row]) + task.vocab[Y[-1, row]]
        assert window in task.text


def test_char_baseline_is_unigram_cross_entropy_of_training_counts_on_held_out_text():
    text = "abababababcabababababababababab" * 4
    task = CharTask(5, text=text, held_out=0.25)
    split = int(len(text) * 0.75)
    counts = Counter(text[:split])
    total = sum(counts.values()) + len(task.vocab)
    expected = -np.mean([np.log((counts[c] + 1) / total) for c in text[split:]])
    assert task.baseline == pytest.approx(expected, rel=1e-12)
    assert task.baseline < np.log(len(task.vocab))


def test_shipped_text_encodes_and_decodes_exactly():
    text = load_text()
    task = CharTask(25)
    assert len(text) > 3000 and task.text == text
    assert task.decode(task.encode(text)) == text
    assert task.baseline < np.log(len(task.vocab))
    with pytest.raises(ValueError, match="not in the vocabulary"):
        task.encode("~")


def test_char_task_refuses_windows_longer_than_the_text():
    with pytest.raises(ValueError, match="fewer than seq_len"):
        CharTask(50, text="short text, much shorter than fifty characters in its evaluation part")
