"""python -m lstm render: every format written, default names, --grads, clean failures."""
import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest

from lstm.__main__ import main

SVG = "{http://www.w3.org/2000/svg}"
MAGIC = {"svg": b"<?xml", "png": b"\x89PNG", "pdf": b"%PDF", "dot": b"digraph"}


@pytest.mark.parametrize("fmt", list(MAGIC))
def test_every_format_is_written(tmp_path, fmt, capsys):
    out = tmp_path / f"cell.{fmt}"
    assert main(["render", "--variant", "paper", "--view", "cell", "--format", fmt, "-o", str(out)]) == 0
    assert out.read_bytes().startswith(MAGIC[fmt])
    assert f"wrote {out}" in capsys.readouterr().out


def test_format_follows_the_output_suffix_and_defaults_to_svg(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["render", "-o", "picture.png"]) == 0
    assert (tmp_path / "picture.png").read_bytes().startswith(MAGIC["png"])
    assert main(["render", "--variant", "rnn", "--view", "unrolled", "--steps", "3"]) == 0
    ET.parse(tmp_path / "rnn_unrolled_3.svg")
    assert main(["render", "--variant", "blog", "--view", "ops"]) == 0
    ET.parse(tmp_path / "blog_ops.svg")


def edge_texts(path):
    root = ET.parse(path).getroot()
    return [t.text for g in root.iter(f"{SVG}g") if g.get("class") == "edge" for t in g.iter(f"{SVG}text")]


def test_grads_put_gradient_labels_on_the_edges(tmp_path):
    plain, grads = tmp_path / "plain.svg", tmp_path / "grads.svg"
    common = ["render", "--variant", "blog", "--view", "unrolled", "--steps", "3"]
    assert main(common + ["-o", str(plain)]) == 0
    assert main(common + ["--grads", "-o", str(grads)]) == 0
    assert edge_texts(plain) == []
    labels = edge_texts(grads)
    assert len(labels) > 20 and all(float(t.replace("−", "-")) >= 0 for t in labels)


@pytest.mark.parametrize("argv, message", [
    (["--variant", "lstm"], "invalid choice: 'lstm'"),
    (["--view", "pipe"], "invalid choice: 'pipe'"),
    (["--steps", "0"], "between 1 and 100"),
    (["--steps", "three"], "whole number"),
    (["--format", "gif"], "invalid choice: 'gif'"),
])
def test_bad_options_exit_2_with_a_clear_message(argv, message, capsys):
    with pytest.raises(SystemExit) as info:
        main(["render"] + argv)
    assert info.value.code == 2
    assert message in capsys.readouterr().err


@pytest.mark.parametrize("argv, message", [
    (["--view", "cell", "--steps", "3"], "the cell view draws one step"),
    (["-o", "x.png", "--format", "svg"], "ends in .png but --format is svg"),
])
def test_inconsistent_options_exit_2(tmp_path, monkeypatch, argv, message, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["render"] + argv) == 2
    assert message in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_without_graphviz_dot_source_still_works_and_images_fail_clearly(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("PATH", str(tmp_path))
    assert main(["render", "--format", "dot", "-o", str(tmp_path / "a.dot")]) == 0
    assert main(["render", "-o", str(tmp_path / "a.svg")]) == 1
    err = capsys.readouterr().err
    assert "apt-get install graphviz" in err and "brew install graphviz" in err
    assert not (tmp_path / "a.svg").exists()


def test_help_explains_each_option():
    out = subprocess.run([sys.executable, "-m", "lstm", "render", "--help"], capture_output=True, text=True,
                         check=True).stdout
    for option in ("--variant", "--view", "--steps", "--grads", "--format", "--output"):
        assert option in out
    assert "memory pipe" in out and "python -m lstm render" in out
