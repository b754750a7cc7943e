"""Hold the paper's closed-form gradients (eqs. 17-32) against autodiff, equation by equation.

Each printed equation is fed the true upstream gradients of PaperLSTM (from autodiff)
and compared with the true value of its left-hand side, on six random float64
configurations (D = 1 and D > 1, T from 1 to 10, several activations). The report says
per equation what kind of erratum it has (wrong numbers, a false derivation step, a
notation slip, an artefact of our copy of the text, or none), with the corrected formula
and the reason, from the records in lstm/data/errata.toml; then how far the whole
as-printed backward lands from the truth; then BlogLSTM's closed-form backward.

  python -m lstm check              the readable report
  python -m lstm check --json       one JSON object per equation: equation, quantity, kind
                                    ("numbers" | "derivation" | "notation" | "transcription" |
                                    "ok"), printed_rel_error and step_rel_error (null where
                                    there is nothing to evaluate), corrected_rel_error, note,
                                    printed, corrected

Exit status 0 when the corrected closed forms (and BlogLSTM's) equal autodiff to a
relative 1e-9, 1 otherwise.
"""
from . import non_negative_int

HELP = "check the paper's closed-form deltas (and BlogLSTM's closed form) against autodiff"


def add_arguments(parser):
    parser.add_argument("--json", action="store_true", help="print the per-equation results as JSON")
    parser.add_argument("--seed", type=non_negative_int, default=0,
                        help="seed of the random configurations (default: 0)")


def run(args):
    from lstm import errata

    result = errata.run_check(seed=args.seed)
    print(errata.to_json_text(result) if args.json else result.format_table())
    return 0 if result.ok else 1
