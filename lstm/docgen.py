"""The measured blocks of the docs, generated from the code, so no number is copied by hand.

A generated block sits between two marker lines in a Markdown file::

    <!-- BEGIN GENERATED errata-table (python -m lstm.docgen) -->
    ...
    <!-- END GENERATED errata-table -->

Everything between them is rewritten by ``python -m lstm.docgen``; everything outside them
is prose a person wrote. ``python -m lstm.docgen --check`` exits 1 and names the stale
blocks when a committed doc differs from what the code gives now (tests/test_docgen.py
runs it). The generators: ``errata-*`` from ``lstm.errata`` (the records in
lstm/data/errata.toml and a fresh check), ``vanishing-*`` from ``lstm.vanishing`` and the
saved runs of experiments/vanishing.py.
"""
import argparse
import functools
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOCS = ("README.md", "docs/errata.md", "docs/training.md", "docs/notebooks.md")
BLOCK = re.compile(r"(<!-- BEGIN GENERATED (?P<name>[\w-]+)[^\n]*-->\n)(?P<body>.*?)(<!-- END GENERATED (?P=name) -->)",
                   re.S)


def md(text):
    """Plain text (with the texts' ASCII notation, δ_zh, w_ω,s ...) made safe for Markdown."""
    return re.sub(r"([\\_*|])", r"\\\1", text)


def _e(value):
    return "—" if value is None else f"{value:.1e}"


# --- errata ----------------------------------------------------------------------------------

@functools.cache
def _check():
    from lstm import errata
    return errata.run_check()


def _rows_of(kind):
    return [row for row in _check().rows if row.kind == kind]


def _pct(value):
    from lstm import errata
    return f"exact ({value:.0e})" if value <= errata.TOLERANCE else f"{value:.2g}" if value >= 1 else f"{value:.1%}"


def errata_summary():
    from lstm import errata
    result = _check()
    pairs = list(zip(result.configs, result.as_printed))
    long = [errors for config, errors in pairs if config.T >= 2]
    smallest = min(min(errors.values()) for errors in long)
    lines = [f"**The result.** Of the {len(result.rows)} items checked, {errata.summary_line(result)}", "",
             f"Implemented as printed, the backward pass gets every gradient wrong whenever the sequence has "
             f"two or more steps: in each of the {len(long)} configurations with T ≥ 2, every gradient is off "
             f"by at least {smallest:.1%} of its size. In the {sum(not c.acts for c, _ in pairs)} configurations "
             f"with the default activations (relative error as printed):", ""]
    for config, errors in pairs:
        if not config.acts:
            others = [v for k, v in errors.items() if k != "w_omega"]
            lines.append(md(f"- {config.label().replace(' default activations', '')}: ∂E/∂w_ω "
                            f"{_pct(errors['w_omega'])}, the others {min(others):.0%}-{max(others):.0%};"))
    lines += ["", md("with one step (T = 1), ∂E/∂w_ω is exact as printed: δ_zh(1) is then the loss's own "
                     "gradient, ∂E/∂w_ω reads only δ_gω (eq. 19, right), and eq. 21's error reaches δ_zh(t) "
                     "only through δ_zz(t+1)→(t), from a later step.")]
    worst = max(max(row.corrected_rel_error for row in result.rows),
                max(e[-1] for e in result.end_to_end.values()))
    lines.append(f"With the corrections every equation and the whole backward equal autodiff to "
                 f"{worst:.0e} relative (float64). The numbers: `python -m lstm check` (seed 0).")
    return "\n".join(lines)


def _section(row, with_step=False):
    from lstm import errata
    entry = errata.ENTRY[row.equation]
    lines = [f"**Eq. {row.equation}: {md(row.quantity)}.**", "", "Printed:", "",
             f"$${entry.printed_tex}$$" if entry.printed_tex else f"`{row.printed}`", "",
             "Correct:" if not with_step else "What the paper computes, and what is true:", "",
             f"$${entry.corrected_tex}$$" if entry.corrected_tex else f"`{row.corrected}`", ""]
    for finding in sorted(row.findings, key=lambda f: errata.KINDS.index(f.kind)):
        lines.append(f"- *{finding.kind}*: {md(finding.text)}.")
    final = ("the final formula, its last line" if row.printed_rel_error is not None
             else f"the formula computed for it (eq. {_DERIVATION_LINE.get(row.equation)}'s last line)")
    measured = (f"the step read literally is off by {row.step_rel_error:.0%}; {final}: "
                f"{_e(row.corrected_rel_error)}" if with_step else
                f"printed off by {row.printed_rel_error:.2g} (relative, largest over the configurations); "
                f"corrected {_e(row.corrected_rel_error)}")
    agree = [c.label() for c, e in zip(_check().configs, row.printed_errors)
             if e is not None and e <= errata.TOLERANCE]
    if agree and not with_step:
        measured += f"; the printed form agrees in {len(agree)} of {len(row.printed_errors)}: {'; '.join(agree)}"
    lines += [f"- *measured*: {md(measured)}.", ""]
    return lines


_DERIVATION_LINE = {"14": "31", "15": "32"}


def _finding_table(kind):
    lines = ["| eq. | printed | what is wrong |", "|---|---|---|"]
    for row in _check().rows:
        for finding in row.findings:
            if finding.kind == kind:
                lines.append(f"| {row.equation} | `{row.printed}` | {md(finding.text)} |")
    return lines


def errata_details():
    from lstm import errata
    lines = ["## Errors that change the numbers", ""]
    for row in _rows_of("numbers"):
        lines += _section(row)
    lines += ["## A false step in the derivation, the final formula right", "",
              md("The paper defines δ_x and δ_zz through z_h(t) alone (eqs. 14-15) and chains every path through "
                 "∂E/∂z_h(t) in the middle lines of eqs. 31-32. That leaves out x → s(t) → step t+1: the path "
                 "backpropagation through time exists for. The last lines, which the backward computes, have it, "
                 "so the final formulas are right; the column ") + "*step* measures the step read literally.", ""]
    for row in _rows_of("derivation"):
        lines += _section(row, with_step=True)
    lines += ["## Slips of notation (the numbers are right)", ""] + _finding_table("notation")
    lines += ["", "## Not the paper's slips: artefacts of our copy of the text", "",
              "Our copy of seed 000 is a transcription; these differ from the paper's own notation in ways a "
              "reading (OCR) of the glyph ι explains. They are listed so that a reader of our copy is not "
              "misled, not counted against the paper.", ""] + _finding_table("transcription")
    lines += ["", "## Conventions, stated once (not counted)", ""]
    lines += [f"- **{md(name)}.** {md(text)}" for name, text in errata.RECORDS.conventions.items()]
    ok = ", ".join(row.equation for row in _rows_of("ok"))
    lines += ["", "## Right as printed", "",
              md(f"{ok} (\"order\": the order of computation; every equation reads only what the step is "
                 "given, δ_zh(t) and δ_s(t+1)→(t), or what an earlier equation computed; ")
              + "`errata.order_problems()` checks it).",
              "", "## What the as-printed backward had to choose", "",
              "To run the printed formulas at all (`lstm.paper.backward(..., version=\"as_printed\")`):", ""]
    lines += [f"- {md(text)}" for text in errata.RECORDS.choices]
    return "\n".join(lines)


def errata_table():
    result = _check()
    lines = [f"`python -m lstm check` (seed 0): relative errors, the largest over the {len(result.configs)} "
             "configurations:", ""]
    lines += [f"- {md(c.label())}" for c in result.configs]
    lines += ["", "| eq. | quantity | kind | printed | step | corrected |", "|---|---|---|---:|---:|---:|"]
    for row in result.rows:
        lines.append(f"| {row.equation} | {md(row.quantity)} | {row.kind} | {_e(row.printed_rel_error)} | "
                     f"{_e(row.step_rel_error)} | {_e(row.corrected_rel_error)} |")
    return "\n".join(lines)


def errata_end_to_end():
    from lstm import errata
    result = _check()
    labels = [label for label, _, _ in errata.END_TO_END_VERSIONS]
    lines = ["| gradient | " + " | ".join(labels) + " |", "|---|" + "---:|" * len(labels)]
    for key, errors in result.end_to_end.items():
        lines.append(f"| {md(errata.END_TO_END_NAMES[key])} | " + " | ".join(_e(e) for e in errors) + " |")
    keys = list(errata.END_TO_END_NAMES)
    lines += ["", "As printed, per configuration:", "",
              "| configuration | " + " | ".join(md(errata.END_TO_END_NAMES[k]) for k in keys) + " |",
              "|---|" + "---:|" * len(keys)]
    for config, errors in zip(result.configs, result.as_printed):
        lines.append(f"| {md(config.label())} | " + " | ".join(_e(errors[k]) for k in keys) + " |")
    return "\n".join(lines)


def errata_readme():
    from lstm import errata
    result = _check()
    long = [errors for config, errors in zip(result.configs, result.as_printed) if config.T >= 2]
    lines = ["| eq. | kind | quantity | printed | step | corrected |", "|---|---|---|---:|---:|---:|"]
    for row in result.rows:
        if row.kind in ("numbers", "derivation"):
            lines.append(f"| {row.equation} | {row.kind} | {md(row.quantity)} | {_e(row.printed_rel_error)} | "
                         f"{_e(row.step_rel_error)} | {_e(row.corrected_rel_error)} |")
    lines += ["", md(f"Of the {len(result.rows)} items checked, {errata.summary_line(result)}"), "",
              md(f"Implemented as printed, the backward pass gets every gradient wrong once T ≥ 2 (in each of "
                 f"the {len(long)} configurations with T ≥ 2, by at least {min(min(e.values()) for e in long):.1%}); "
                 "with T = 1, ∂E/∂w_ω is exact as printed. With the corrections it equals autodiff to "
                 f"{max(e[-1] for e in result.end_to_end.values()):.0e} relative.")]
    return "\n".join(lines)


def errata_blog():
    blog = _check().blog
    return (f"All 12 parameter gradients and those for X, H0 and C0 agree with autodiff to at most "
            f"{max(blog.errors.values()):.1e} relative on the cases (d, h, r, T) = "
            f"{', '.join(str(c) for c in blog.cases)}; the loss to {blog.loss_error:.0e}.")


# --- vanishing gradients ------------------------------------------------------------------------

RUNS = ("docs/img/vanishing.json", "docs/img/vanishing_lr0.001/vanishing.json", "docs/img/vanishing_bf1/vanishing.json")


def vanishing_notebook():
    from lstm import vanishing
    rows = vanishing.summary_rows(vanishing.measure())
    lines = ["| model | ‖∂L/∂state‖ at the loss | at t = 1 | per step, t = 41 → 1 | ‖J_T ⋯ J_2‖^(1/49) | mean ‖J_t‖₂ |",
             "|---|---:|---:|---:|---:|---:|"]
    lines += [f"| {md(label)} | {a:.3g} | {b:.3g} | ×{c:.3f} | {d:.3f} | {e:.3f} |" for label, a, b, c, d, e in rows]
    return "\n".join(lines)


def _runs():
    import json
    seen, runs = set(), []
    for path in RUNS:
        for run in json.loads((ROOT / path).read_text(encoding="utf-8"))["runs"]:
            key = (run["variant"], run.get("forget_bias"), run["lr"], run["steps"], run["seq_len"], run["seed"])
            if key not in seen:
                seen.add(key)
                runs.append(run)
    return runs


def _ratio(profile):
    return profile[-1] / profile[0]


def vanishing_runs():
    groups = {}
    for run in _runs():
        key = (run["variant"], run.get("forget_bias"), run["lr"], run["steps"], run["seq_len"])
        groups.setdefault(key, []).append(run)
    lines = ["| model | lr | steps | seeds | held-out MSE after training (baseline 0.1667) | first eval < 10% of "
             "baseline | ratio at init | ratio after training |", "|---|---|---|---|---|---|---|---|"]
    for (variant, bias, lr, steps, seq_len), runs in groups.items():
        name = {"rnn": "VanillaRNN", "gru": "GRU"}.get(variant) or "BlogLSTM, " + ("b_f ≈ 0" if bias is None
                                                                                  else f"b_f = {bias:g}")
        if seq_len != 50:
            name += f", T = {seq_len} (control)"
        mse = ", ".join(f"{r['eval_after']:.4f}" for r in runs)
        pct = ", ".join(f"{r['fraction_of_baseline']:.1%}" for r in runs)
        first = ", ".join("never" if r["first_eval_below_10pct_baseline"] is None
                          else f"step {r['first_eval_below_10pct_baseline']}" for r in runs)
        ratios = []
        for when in ("grad_before", "grad_after"):
            parts = [f"{state[0]}: " + ", ".join(f"{_ratio(r[when][state]):.1e}" for r in runs)
                     for state in runs[0][when]]
            ratios.append("; ".join(parts) if variant == "blog" else parts[0].split(": ")[1])
        lines.append(f"| {md(name)} | {lr:g} | {steps} | {', '.join(str(r['seed']) for r in runs)} | {mse} ({pct}) | "
                     f"{first} | {md(ratios[0])} | {md(ratios[1])} |")
    return "\n".join(lines)


GENERATORS = {"vanishing-notebook": vanishing_notebook, "vanishing-runs": vanishing_runs,"errata-readme": errata_readme, "errata-summary": errata_summary, "errata-details": errata_details, "errata-table": errata_table,
              "errata-end-to-end": errata_end_to_end, "errata-blog": errata_blog}


# --- the files ---------------------------------------------------------------------------------

def render(text, generators=None):
    """``text`` with every generated block rewritten; returns (new text, names of the blocks)."""
    generators = GENERATORS if generators is None else generators
    names = []

    def replace(match):
        name = match.group("name")
        if name not in generators:
            raise ValueError(f"docgen: no generator for block {name!r} (known: {sorted(generators)})")
        names.append(name)
        return f"{match.group(1)}{generators[name]().rstrip()}\n{match.group(4)}"

    return BLOCK.sub(replace, text), names


def stale(paths=DOCS):
    """The (path, block names) whose committed text differs from what the code gives now."""
    found = []
    for path in paths:
        text = (ROOT / path).read_text(encoding="utf-8")
        new, names = render(text)
        if new != text:
            old_blocks = {m.group("name"): m.group("body") for m in BLOCK.finditer(text)}
            new_blocks = {m.group("name"): m.group("body") for m in BLOCK.finditer(new)}
            found.append((path, [n for n in names if old_blocks.get(n) != new_blocks.get(n)]))
    return found


def main(argv=None):
    parser = argparse.ArgumentParser(description="Regenerate the measured blocks of the docs.")
    parser.add_argument("--check", action="store_true", help="exit 1 if a committed doc is stale")
    args = parser.parse_args(argv)
    if args.check:
        problems = stale()
        for path, names in problems:
            print(f"{path}: stale generated block(s) {', '.join(names)}; run python -m lstm.docgen")
        return 1 if problems else 0
    for path in DOCS:
        file = ROOT / path
        new, names = render(file.read_text(encoding="utf-8"))
        file.write_text(new, encoding="utf-8")
        print(f"{path}: {len(names)} generated block(s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
