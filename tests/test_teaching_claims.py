"""The docs' claims that hold only under some condition say which: "the LSTM does not start
with a better gradient" is true with PyTorch-style initialisation (b_f ≈ 0) only."""
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
TEXTS = [ROOT / "README.md"] + sorted((ROOT / "docs").glob("*.md"))
CLAIM = re.compile(r"(does not|doesn't) start with a better gradient")
CONDITION = re.compile(r"b_f ≈ 0|PyTorch-style")


def paragraphs_claiming(text):
    return [p for p in re.split(r"\n\s*\n|\n(?=\s*- )", text) if CLAIM.search(" ".join(p.split()))]


@pytest.mark.parametrize("path", TEXTS, ids=lambda p: p.name)
def test_no_better_gradient_claim_without_its_initialisation(path):
    for paragraph in paragraphs_claiming(path.read_text(encoding="utf-8")):
        assert CONDITION.search(paragraph), f"{path.name}: say for which initialisation:\n{paragraph}"


def test_an_unqualified_claim_is_found():
    text = "Intro.\n\nLike the LSTM, it does not start with a\nbetter gradient, it learns one.\n"
    assert paragraphs_claiming(text) and not CONDITION.search(paragraphs_claiming(text)[0])
