"""lstm.docgen: the committed docs hold exactly what the code measures now."""
import pytest

from lstm import docgen


def test_committed_docs_are_not_stale():
    assert docgen.stale() == [], "run: .venv/bin/python -m lstm.docgen"


def test_a_changed_number_in_a_generated_block_is_found():
    text = (docgen.ROOT / "docs/errata.md").read_text(encoding="utf-8")
    start = text.index("<!-- BEGIN GENERATED errata-table")
    tampered = text[:start] + text[start:].replace("| 21 | ", "| 21 | tampered ", 1)
    assert docgen.render(tampered)[0] == text


def test_a_block_without_a_generator_is_refused():
    with pytest.raises(ValueError, match="no generator for block 'nothing'"):
        docgen.render("<!-- BEGIN GENERATED nothing (x) -->\nold\n<!-- END GENERATED nothing -->\n")


def test_markdown_escaping_keeps_the_notation_literal():
    assert docgen.md("δ_zh | w_ω,s * 2") == "δ\\_zh \\| w\\_ω,s \\* 2"
