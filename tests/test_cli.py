"""The `python -m lstm` front door: help lists the commands, a bad command fails cleanly."""
import subprocess
import sys

import pytest

from lstm.__main__ import build_parser, main


def test_help_lists_every_available_command(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    parser = build_parser()
    commands = parser._subparsers._group_actions[0].choices
    assert commands, "no command is registered"
    for name in commands:
        assert name in out


def test_unknown_command_exits_with_usage_error():
    result = subprocess.run([sys.executable, "-m", "lstm", "no-such-command"], capture_output=True, text=True)
    assert result.returncode == 2
    assert "invalid choice" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_reader_that_leaves_early_gets_no_traceback():
    result = subprocess.run(f"'{sys.executable}' -m lstm check | head -1", shell=True,
                            capture_output=True, text=True)
    assert result.stdout.strip()
    assert "Traceback" not in result.stderr and "BrokenPipe" not in result.stderr


def test_train_without_its_optional_packages_says_what_to_install(monkeypatch, capsys):
    import importlib.util

    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "tqdm" else real_find_spec(name, *a))
    status = main(["train", "--task", "adding", "--model", "rnn", "--steps", "1"])
    assert status == 2
    err = capsys.readouterr().err
    assert "tqdm" in err and "tinygraph-lstm[train]" in err
