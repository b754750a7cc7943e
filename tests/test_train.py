"""lstm.train and `python -m lstm train`: the model, short training runs, sampling, outputs."""
import json

import numpy as np
import pytest

import tinygraph as tg
from lstm.__main__ import main
from lstm.tasks import AddingTask, CharTask
from lstm.train import Model, running_mean, sample, save_run, train
from tinygraph import optim


@pytest.mark.parametrize("variant", ["blog", "peephole", "rnn", "paper"])
def test_short_training_run_reduces_the_adding_loss(variant):
    task = AddingTask(seq_len=6, seed=0, eval_size=64)
    model = Model(variant, task.input_size, 6, task.output_size, seed=0)
    history = train(model, task, steps=40, batch_size=8, lr=0.02, progress=False)
    assert len(history.losses) == len(history.grad_norms) == 40
    assert history.eval_after < 0.5 * history.eval_before


def test_short_training_run_reduces_the_character_loss_below_uniform_guessing():
    task = CharTask(seq_len=12, seed=0, eval_size=16)
    model = Model("blog", task.input_size, 16, task.output_size, seed=0)
    history = train(model, task, steps=60, batch_size=8, lr=0.02, progress=False)
    assert history.eval_before == pytest.approx(np.log(len(task.vocab)), abs=0.1)
    assert history.eval_after < np.log(len(task.vocab)) - 0.5


@pytest.mark.parametrize("task", [AddingTask(5, seed=2, eval_size=4), CharTask(5, seed=2, eval_size=4)],
                         ids=["adding", "chars"])
@pytest.mark.parametrize("variant", ["blog", "paper"])
def test_batch_loss_is_the_mean_of_per_sequence_losses(task, variant):
    model = Model(variant, task.input_size, 4, task.output_size, seed=1)
    X, targets = task.eval_batch
    whole = model.evaluate(task, (X, targets))
    singles = [model.evaluate(task, (X[:, b:b + 1], targets[..., b:b + 1])) for b in range(X.shape[1])]
    assert whole == pytest.approx(np.mean(singles), rel=1e-12)


def test_adding_loss_is_the_squared_error_of_the_readout_of_the_last_output():
    task = AddingTask(4, seed=0, eval_size=3)
    model = Model("rnn", 2, 3, 1, seed=0)
    X, y = task.eval_batch
    p = {k: n.value for k, n in model.parameters().items()}
    h = np.zeros((3, 3))
    for x in X:                                                 # an independent numpy forward pass
        h = np.tanh(x @ p["W_x"] + h @ p["W_h"] + p["b"])
    expected = np.mean((h @ p["W_y"] + p["b_y"] - y[:, None]) ** 2)
    assert model.evaluate(task) == pytest.approx(expected, rel=1e-12)


def test_model_loss_gradient_matches_finite_differences():
    task = CharTask(3, seed=0, eval_size=2)
    model = Model("blog", task.input_size, 3, task.output_size, seed=0)
    X, Y = task.eval_batch
    L, _ = model.loss(task, X, Y)
    got = tg.grad(L, [model.W_y, model.parameters()["W_ch"]])
    for node, g in zip([model.W_y, model.parameters()["W_ch"]], got):
        numeric = np.zeros_like(g)
        for idx in np.ndindex(g.shape):
            for sign in (1, -1):
                shifted = node.value.copy()
                shifted[idx] += sign * 1e-6
                original = node.value
                node.assign(shifted)
                numeric[idx] += sign * model.evaluate(task) / 2e-6
                node.assign(original)
        np.testing.assert_allclose(g, numeric, rtol=1e-5, atol=1e-8)


def test_evaluation_every_n_steps_is_recorded_with_its_step():
    task = AddingTask(5, seed=0, eval_size=8)
    model = Model("rnn", 2, 4, 1, seed=0)
    history = train(model, task, steps=10, batch_size=4, progress=False, eval_every=4)
    assert [step for step, _ in history.evals] == [0, 4, 8, 10]
    assert history.evals[-1][1] == model.evaluate(task)
    assert history.best_eval == min(history.evals, key=lambda pair: pair[1])


def test_clipping_during_training_bounds_each_update_and_records_norms_before_clipping():
    task = AddingTask(5, seed=0, eval_size=8)
    model, start = Model("rnn", 2, 4, 1, seed=0), Model("rnn", 2, 4, 1, seed=0)
    history = train(model, task, steps=5, batch_size=4, optimizer="sgd", lr=0.1, clip=1e-3, progress=False)
    assert min(history.grad_norms) > 1e-3                       # every step was clipped
    moved = np.sqrt(sum(np.sum((model.parameters()[k].value - p.value) ** 2)
                        for k, p in start.parameters().items()))
    # SGD with momentum 0.9: the k-th velocity has norm <= k · 1e-3, so the total move is
    # at most lr · (1 + 2 + 3 + 4 + 5) · 1e-3
    assert 0 < moved <= 0.1 * 15 * 1e-3 * (1 + 1e-9)


def test_sampling_is_reproducible_and_uses_the_vocabulary():
    task = CharTask(8, seed=0, eval_size=4)
    for variant in ("blog", "paper"):
        model = Model(variant, task.input_size, 5, task.output_size, seed=0)
        a = sample(model, task, prime="The", length=30, seed=3)
        assert a == sample(model, task, prime="The", length=30, seed=3)
        assert a != sample(model, task, prime="The", length=30, seed=4)
        assert a.startswith("The") and len(a) == 33 and set(a) <= set(task.vocab)


def test_low_temperature_sampling_follows_the_most_likely_character():
    task = CharTask(8, seed=0, eval_size=4)
    model = Model("blog", task.input_size, 5, task.output_size, seed=0)
    text = sample(model, task, prime="a", length=1, temperature=1e-3)
    logits, _ = model.step(task.one_hot(task.index["a"]), None, 1)
    assert text[-1] == task.vocab[int(np.argmax(logits))]


def test_saved_run_reloads_to_the_same_model(tmp_path):
    task = AddingTask(5, seed=0, eval_size=16)
    model = Model("peephole", 2, 4, 1, seed=0)
    history = train(model, task, steps=10, batch_size=4, progress=False)
    paths = save_run(tmp_path, model, task, history, {"seed": 0})
    fresh = Model("peephole", 2, 4, 1, seed=9)
    optim.load(paths["parameters"], fresh.parameters())
    assert fresh.evaluate(task) == model.evaluate(task)
    record = json.loads(paths["run"].read_text())
    assert record["baseline"] == pytest.approx(1 / 6) and len(record["train_losses"]) == 10
    assert paths["plot"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_running_mean_averages_the_last_window():
    np.testing.assert_allclose(running_mean([1, 2, 3, 4], 2), [1, 1.5, 2.5, 3.5])


def test_cli_train_writes_parameters_plot_and_summary(tmp_path, capsys):
    out = tmp_path / "run"
    code = main(["train", "--task", "adding", "--model", "blog", "--steps", "5", "--seq-len", "4",
                 "--hidden", "3", "--seed", "1", "--clip", "1", "--batch", "4", "--out", str(out)])
    assert code == 0
    assert {p.name for p in out.iterdir()} == {"parameters.npz", "loss.png", "run.json"}
    line = capsys.readouterr().out.strip().splitlines()[-1]
    assert line.startswith("adding/blog T=4 h=3 seed=1: held-out MSE") and "baseline 0.1667" in line
    assert json.loads((out / "run.json").read_text())["clip"] == 1.0


def test_cli_train_chars_writes_a_sample_and_can_start_from_saved_parameters(tmp_path, capsys):
    first, second = tmp_path / "a", tmp_path / "b"
    args = ["train", "--task", "chars", "--model", "rnn", "--seq-len", "6", "--hidden", "4", "--batch", "2",
            "--sample", "20", "--no-progress"]
    assert main(args + ["--steps", "3", "--out", str(first)]) == 0
    assert len((first / "sample.txt").read_text()) == len("The ") + 20 + 1
    assert main(args + ["--steps", "0", "--out", str(second), "--load", str(first / "parameters.npz")]) == 0
    saved = [json.loads((d / "run.json").read_text()) for d in (first, second)]
    assert saved[1]["eval_loss_before"] == pytest.approx(saved[0]["eval_loss_after"], rel=1e-12)


def test_cli_train_refuses_bad_parameters_file_and_bad_arguments(tmp_path, capsys):
    optim.save(tmp_path / "p.npz", Model("rnn", 2, 5, 1).parameters())
    code = main(["train", "--model", "rnn", "--hidden", "4", "--steps", "1", "--seq-len", "3", "--no-progress",
                 "--out", str(tmp_path / "o"), "--load", str(tmp_path / "p.npz")])
    assert code == 2
    assert "has shape (2, 5), expected (2, 4)" in capsys.readouterr().err
    for bad in (["--steps", "-1"], ["--hidden", "0"], ["--clip", "0"], ["--model", "lstm"]):
        with pytest.raises(SystemExit) as info:
            main(["train", *bad])
        assert info.value.code == 2
