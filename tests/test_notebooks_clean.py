"""The teaching notebooks as committed: outputs stripped, built from their sources, complete.

(Running them is the job of ``pytest --nbmake notebooks``.)"""
import importlib.util
import json
from pathlib import Path

import nbformat
import pytest

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
EXPECTED = ["01_autodiff_from_scratch", "02_lstm_cell_as_a_graph", "03_stepping_through_backprop",
            "05_vanishing_gradients", "06_paper_errata"]


def build_module():
    spec = importlib.util.spec_from_file_location("notebooks_build", NOTEBOOKS / "build.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def committed():
    return sorted(NOTEBOOKS.glob("*.ipynb"))


def sources():
    return sorted((NOTEBOOKS / "src").glob("*.py"))


def test_the_five_teaching_notebooks_and_their_sources_are_there():
    stems = [p.stem for p in committed()]
    assert set(EXPECTED) <= set(stems)
    assert set(EXPECTED) <= {p.stem for p in sources()}
    assert {p.stem for p in sources()} <= set(stems), "a source whose notebook was not built"


@pytest.mark.parametrize("path", committed(), ids=lambda p: p.stem)
def test_notebook_is_valid_and_has_no_outputs(path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    assert nb.metadata.kernelspec.name == "python3"
    assert "widgets" not in nb.metadata                 # no saved widget state
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, cell.source[:60]
        assert "attachments" not in cell


@pytest.mark.parametrize("source", sources(), ids=lambda p: p.stem)
def test_notebook_is_what_its_source_builds(source):
    build = build_module()
    path = NOTEBOOKS / f"{source.stem}.ipynb"
    assert path.read_text(encoding="utf-8") == build.render(build.notebook_of(source)), (
        f"{path.name} differs from notebooks/src/{source.name}; edit the source and run "
        f"`.venv/bin/python notebooks/build.py`")


@pytest.mark.parametrize("path", committed(), ids=lambda p: p.stem)
def test_notebook_opens_with_a_title_and_ends_with_a_summary(path):
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    assert cells[0]["cell_type"] == "markdown" and "".join(cells[0]["source"]).startswith("# ")
    assert cells[-1]["cell_type"] == "markdown"


def test_markdown_cells_are_split_from_code_by_the_percent_markers():
    build = build_module()
    cells = build.cells_of("# %% [markdown]\n# # Title\n#\n# text\n\n# %%\nx = 1\n\n# %%\ny = 2\n")
    assert cells == [("markdown", "# Title\n\ntext"), ("code", "x = 1"), ("code", "y = 2")]
    with pytest.raises(ValueError, match="must start with '#'"):
        build.cells_of("# %% [markdown]\nnot a comment\n")
