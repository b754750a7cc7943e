"""The vanishing-gradient experiment: VanillaRNN vs BlogLSTM vs GRU on the adding problem.

For each model, on a fixed batch of the adding problem (loss only at the last step T):

- ‖∂L/∂h_t‖ (RNN), ‖∂L/∂H_t‖, ‖∂L/∂C_t‖ (LSTM) and ‖∂L/∂H_t‖ (GRU) against the distance T − t from the
  loss, at initialisation and after training. The gradients are the graph's own: one
  ``tg.grad(L, [H_1, ..., H_T, C_1, ..., C_T])`` over the step nodes of the unrolled run.
- Training: Adam, clipping the global gradient norm (seed 001's remedy for exploding
  gradients), the evaluation MSE every ``--eval-every`` steps against the baseline 1/6
  of predicting the mean, for several seeds and two learning rates (the LSTM at the
  second one for the first seed only, to save time); as a control, the RNN on short
  sequences (T = 10), where its gradients do reach the markers.

Writes vanishing_gradients.png, vanishing_loss.png and vanishing.json to ``--out``
(default docs/img) and prints a summary. Not part of the test suite: the default
settings take several minutes on two cores.

    python experiments/vanishing.py                     # the run reported in docs/training.md
    python experiments/vanishing.py --models blog --forget-bias 1 --rnn-control-seq-len \
        --out docs/img/vanishing_bf1                    # the LSTM with b_f = 1 at initialisation
    python experiments/vanishing.py --seeds 0 --lstm-steps 200 --rnn-steps 200 --out /tmp/v   # a quick look
"""
import argparse
import json
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

import tinygraph as tg  # noqa: E402
from lstm.tasks import AddingTask  # noqa: E402
from lstm.train import Model, train  # noqa: E402

#: The state nodes whose gradients are measured, per cell variant (node names of a step).
STATES = {"rnn": ["h_t"], "blog": ["H_t", "C_t"], "gru": ["H_t"]}
NAMES = {"rnn": "VanillaRNN", "blog": "BlogLSTM", "gru": "GRU"}


def gradient_profile(model, task, batch):
    """‖∂L/∂state_t‖ (Frobenius norm over the batch × hidden matrix) for t = 1..T, per
    state name, from one backward pass of the graph. Returns name -> array indexed by
    distance T − t (index 0 is the last step)."""
    X, y = batch
    L, runs = model.loss(task, X, y)
    names = STATES[model.variant]
    nodes = [step[name] for name in names for step in runs[0].steps]
    grads = tg.grad(L, nodes)
    T = len(runs[0].steps)
    profile = {}
    for i, name in enumerate(names):
        norms = np.array([np.linalg.norm(g) for g in grads[i * T:(i + 1) * T]])
        profile[name] = norms[::-1]
    return profile


def run_model(variant, seed, args, lr, seq_len=None):
    """Train one model; returns its record (gradient profiles before/after, eval curve, times)."""
    seq_len = args.seq_len if seq_len is None else seq_len
    task = AddingTask(seq_len, seed=seed)
    model = Model(variant, task.input_size, args.hidden, task.output_size, seed=seed)
    if variant == "blog" and args.forget_bias is not None:
        b_f = model.cell.parameters()["b_f"]
        b_f.assign(np.full(b_f.shape, args.forget_bias))
    probe = (task.eval_batch[0][:, :args.probe], task.eval_batch[1][:args.probe])
    before = gradient_profile(model, task, probe)
    steps = {"blog": args.lstm_steps, "gru": args.gru_steps}.get(variant, args.rnn_steps)
    curve = [(0, model.evaluate(task))]
    started = time.perf_counter()
    evaluating = [0.0]

    def record(k, _loss):
        if (k + 1) % args.eval_every == 0:
            t0 = time.perf_counter()
            curve.append((k + 1, model.evaluate(task)))
            evaluating[0] += time.perf_counter() - t0

    history = train(model, task, steps, batch_size=args.batch, lr=lr, clip=args.clip,
                    progress=not args.no_progress, callback=record)
    seconds = time.perf_counter() - started - evaluating[0]
    after = gradient_profile(model, task, probe)
    below = [k for k, loss in curve if loss < 0.1 * task.baseline]
    return {
        "variant": variant, "seed": seed, "lr": lr, "seq_len": seq_len, "steps": steps,
        "forget_bias": args.forget_bias if variant == "blog" else None,
        "train_seconds": round(seconds, 1),
        "eval_before": history.eval_before, "eval_after": history.eval_after,
        "fraction_of_baseline": history.eval_after / task.baseline,
        "first_eval_below_10pct_baseline": below[0] if below else None,
        "curve": curve,
        "grad_before": {k: v.tolist() for k, v in before.items()},
        "grad_after": {k: v.tolist() for k, v in after.items()},
        "max_grad_norm": float(np.max(history.grad_norms)) if history.grad_norms else None,
    }


def plot_gradients(panels, path, seq_len):
    """One panel per model: its first record's profiles at initialisation and after training,
    and the after-training profile of each further record (another learning rate)."""
    fig, axes = plt.subplots(1, len(panels), figsize=(5.5 * len(panels), 4.4), dpi=110, sharey=True, squeeze=False)
    axes = axes[0]
    colors = {"h_t": "tab:red", "H_t": "tab:blue", "C_t": "tab:green"}
    for ax, recs in zip(axes, panels):
        main_rec = recs[0]
        curves = [(main_rec, "before", ":", "at initialisation"),
                  (main_rec, "after", "-", f"after training (lr {main_rec['lr']:g})")]
        curves += [(rec, "after", "--", f"after training (lr {rec['lr']:g})") for rec in recs[1:]]
        for name in STATES[main_rec["variant"]]:
            for rec, when, dash, text in curves:
                norms = np.asarray(rec[f"grad_{when}"][name])
                ax.semilogy(np.arange(len(norms)), norms, dash, color=colors[name], label=f"‖∂L/∂{name}‖ {text}")
        title = NAMES[main_rec["variant"]] + (
            "" if main_rec.get("forget_bias") is None else f", b_f = {main_rec['forget_bias']:g}")
        ax.set_title(f"{title} on the adding problem, T = {seq_len} (seed {main_rec['seed']})")
        ax.set_xlabel("distance from the loss, T − t (steps)")
        ax.grid(True, which="major", alpha=0.3)
        ax.legend(fontsize=7.5)
    axes[0].set_ylabel("gradient norm (probe batch of 100 sequences)")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def plot_losses(records, path, baseline, seq_len):
    fig, ax = plt.subplots(figsize=(10, 4.2), dpi=110)
    colors = {"blog": "tab:blue", "rnn": "tab:red", "gru": "tab:purple"}
    dashes = {}
    for rec in records:
        steps, losses = zip(*rec["curve"])
        key = (rec["variant"], rec["lr"], rec["seq_len"])
        style = dashes.setdefault(key, ["-", "--", ":"][len([k for k in dashes if k[0] == rec["variant"]])])
        name = NAMES[rec["variant"]]
        first = rec is next(r for r in records if (r["variant"], r["lr"], r["seq_len"]) == key)
        control = rec["seq_len"] != seq_len
        ax.semilogy(steps, losses, style, color="tab:orange" if control else colors[rec["variant"]], alpha=0.8,
                    label=(f"{name}, T = {rec['seq_len']}{' (control)' if control else ''}, Adam lr {rec['lr']:g}"
                           if first else None))
    ax.axhline(baseline, color="black", linestyle="--", linewidth=1, label="baseline 1/6 (predict the mean)")
    ax.set_xlabel("training step (batch of 32)")
    ax.set_ylabel("evaluation MSE (500 fixed sequences)")
    ax.set_title(f"Adding problem, T = {seq_len}: one line per seed and setting")
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def summary(records, baseline):
    lines = []
    for rec in records:
        name = NAMES[rec["variant"]]
        g = rec["grad_before"][STATES[rec["variant"]][0]], rec["grad_after"][STATES[rec["variant"]][0]]
        far = len(g[0]) - 1
        lines.append(
            f"{name:10s} T={rec['seq_len']} seed {rec['seed']} lr {rec['lr']:g}: eval MSE {rec['eval_before']:.4f} -> "
            f"{rec['eval_after']:.4f} ({rec['fraction_of_baseline']:.1%} of baseline {baseline:.4f}) after "
            f"{rec['steps']} steps, {rec['train_seconds']:.0f} s; first eval below 10% of baseline at step "
            f"{rec['first_eval_below_10pct_baseline']}; gradient ratio ‖∂L/∂state at distance {far}‖ / "
            f"‖at distance 0‖: init {g[0][far] / g[0][0]:.2e}, trained {g[1][far] / g[1][0]:.2e}")
    return "\n".join(lines)


def draw(records, settings, out):
    """Both plots from the run records: gradients of the first seed's models at T, and losses."""
    seed, seq_len = settings["seeds"][0], settings["seq_len"]
    panels = [[r for r in records if r["variant"] == v and r["seed"] == seed and r["seq_len"] == seq_len]
              for v in ("rnn", "blog", "gru")]
    plot_gradients([panel for panel in panels if panel], out / "vanishing_gradients.png", seq_len)
    plot_losses(records, out / "vanishing_loss.png", AddingTask.baseline, seq_len)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seq-len", type=int, default=50)
    parser.add_argument("--hidden", type=int, default=32)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--lstm-steps", type=int, default=1500)
    parser.add_argument("--rnn-steps", type=int, default=6000)
    parser.add_argument("--gru-steps", type=int, default=1500)
    parser.add_argument("--lr", type=float, nargs="+", default=[1e-2, 1e-3],
                        help="Adam learning rates; the first for both models on every seed, the others for the "
                             "RNN on every seed and for the LSTM on the first seed")
    parser.add_argument("--rnn-control-seq-len", type=int, nargs="*", default=[10],
                        help="short sequence lengths the RNN is also trained on (first seed): can it learn the task at all?")
    parser.add_argument("--models", nargs="+", choices=("rnn", "blog", "gru"), default=["rnn", "blog", "gru"],
                        help="which models to train (default all three)")
    parser.add_argument("--forget-bias", type=float, default=None,
                        help="set the LSTM's forget-gate bias b_f to this value at initialisation "
                             "(default: drawn like the other parameters, about 0)")
    parser.add_argument("--clip", type=float, default=1.0)
    parser.add_argument("--eval-every", type=int, default=100)
    parser.add_argument("--probe", type=int, default=100, help="sequences in the gradient-probe batch")
    parser.add_argument("--out", type=Path, default=Path("docs/img"))
    parser.add_argument("--no-progress", action="store_true")
    parser.add_argument("--replot", action="store_true",
                        help="only redraw the plots from the vanishing.json already in --out (no training)")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    if args.replot:
        saved = json.loads((args.out / "vanishing.json").read_text())
        draw(saved["runs"], saved["settings"], args.out)
        return 0

    started = time.perf_counter()
    records = []
    plan = [(variant, seed, args.lr[0]) for seed in args.seeds for variant in ("rnn", "blog", "gru")]
    plan += [("rnn", seed, lr) for lr in args.lr[1:] for seed in args.seeds]
    plan += [("blog", args.seeds[0], lr) for lr in args.lr[1:]]
    plan = [entry for entry in plan if entry[0] in args.models]
    for variant, seed, lr in plan:
        records.append(run_model(variant, seed, args, lr))
        print(summary(records[-1:], AddingTask.baseline), flush=True)
    for seq_len in args.rnn_control_seq_len if "rnn" in args.models else []:
        records.append(run_model("rnn", args.seeds[0], args, args.lr[0], seq_len=seq_len))
        print(summary(records[-1:], AddingTask.baseline), flush=True)
    total = time.perf_counter() - started

    settings = {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()}
    draw(records, settings, args.out)
    (args.out / "vanishing.json").write_text(json.dumps({"settings": settings, "total_seconds": round(total, 1),
                                                         "runs": records}, indent=1) + "\n")
    print(f"total {total:.0f} s; wrote {args.out / 'vanishing_gradients.png'}, {args.out / 'vanishing_loss.png'}, "
          f"{args.out / 'vanishing.json'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
