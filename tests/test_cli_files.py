"""Every command that writes: it never destroys what it does not own, and every bad path,
permission or file is one line on stderr with exit status 2, never a traceback.

Each case runs ``python -m lstm ...`` as a program. Permission cases also run as the
unprivileged user ``nobody`` (root ignores permission bits), in a folder it can reach.
"""
import io
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import warnings
import zipfile
from pathlib import Path

import numpy as np
import pytest

from lstm.__main__ import main


@pytest.fixture
def shared():
    """A folder every user may use (pytest's own tmp_path is private to root)."""
    folder = Path(tempfile.mkdtemp(prefix="lstm-cli-"))
    folder.chmod(0o777)
    yield folder
    for path in folder.rglob("*"):
        if path.is_dir() and not path.is_symlink():
            path.chmod(0o755)
    shutil.rmtree(folder)


def unprivileged():
    """The command prefix that runs a program as ``nobody``, or None if there is no way."""
    if os.geteuid() != 0:
        return []
    for prefix in (["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"],
                   ["runuser", "-u", "nobody", "--"]):
        if shutil.which(prefix[0]) is None:
            continue
        probe = subprocess.run([*prefix, sys.executable, "-c", "import os, lstm; print(os.geteuid())"],
                               capture_output=True, text=True, cwd="/", timeout=60)
        if probe.returncode == 0 and probe.stdout.strip() not in ("", "0"):
            return prefix
    return None


@pytest.fixture(scope="module")
def as_nobody():
    prefix = unprivileged()
    if prefix is None:
        pytest.skip("running as root and neither setpriv nor runuser can run Python as 'nobody'")
    return prefix


def lstm_cli(*argv, user=(), umask=None, cwd="/"):
    return subprocess.run([*user, sys.executable, "-m", "lstm", *map(str, argv)], capture_output=True,
                          text=True, timeout=60, cwd=cwd,
                          preexec_fn=None if umask is None else (lambda: os.umask(umask)))


def assert_refused(result, *words):
    """Exit status 2, nothing on stdout, one line on stderr saying why, no traceback."""
    assert result.returncode == 2, (result.returncode, result.stdout, result.stderr)
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    for word in words:
        assert word in lines[0], lines[0]


def example(folder, variant="rnn"):
    """params.npz, inputs.npz, targets.npz in ``folder``, readable by everyone."""
    with open(os.devnull, "w") as null:
        stdout, sys.stdout = sys.stdout, null
        try:
            assert main(["gradients", "--variant", variant, "--example", str(folder)]) == 0
        finally:
            sys.stdout = stdout
    files = {name: folder / f"{name}.npz" for name in ("params", "inputs", "targets")}
    folder.chmod(0o755)
    for path in files.values():
        path.chmod(0o644)
    return files


def gradients_argv(files, out, variant="rnn"):
    return ["gradients", "--variant", variant, "--params", files["params"], "--inputs", files["inputs"],
            "--targets", files["targets"], "--out", out]


# --- item 3: never destroy what the command does not own -------------------------------

def make_fifo(path):
    os.mkfifo(path)


def make_device(path):
    try:
        os.mknod(path, 0o666 | stat.S_IFCHR, os.makedev(1, 3))     # a second /dev/null
    except PermissionError:
        pytest.skip("cannot make a device node here (needs CAP_MKNOD)")


def make_symlink(path):
    target = path.parent / "target.txt"
    target.write_text("not yours")
    path.symlink_to(target)


@pytest.mark.parametrize("make, kind, test", [
    (make_fifo, "FIFO", stat.S_ISFIFO),
    (make_device, "character device", stat.S_ISCHR),
    (make_symlink, "symbolic link", stat.S_ISLNK),
])
def test_a_fifo_device_or_symlink_is_never_replaced_even_with_force(tmp_path, make, kind, test):
    files = example(tmp_path)
    target = tmp_path / "out.npz"
    make(target)
    for force in ([], ["--force"]):
        result = lstm_cli(*gradients_argv(files, target), *force)
        assert test(os.lstat(target).st_mode), f"replaced {force}"
        assert_refused(result, str(target), kind)
    if kind == "symbolic link":
        assert (tmp_path / "target.txt").read_text() == "not yours"


def test_render_writes_no_diagram_into_a_device(tmp_path):
    device = tmp_path / "null"
    make_device(device)
    for force in ([], ["--force"]):
        assert_refused(lstm_cli("render", "--format", "dot", "-o", device, *force), "character device")
        assert stat.S_ISCHR(os.lstat(device).st_mode)


def test_a_read_only_file_is_not_replaced_even_with_force(tmp_path):
    files = example(tmp_path)
    target = tmp_path / "grads.npz"
    target.write_text("keep me")
    target.chmod(0o444)
    for force, why in (([], "use --force"), (["--force"], "read-only")):
        result = lstm_cli(*gradients_argv(files, target), *force)
        assert target.read_text() == "keep me"
        assert_refused(result, why)


@pytest.mark.parametrize("link", ["same path", "hard link", "symlink"])
def test_the_output_is_never_one_of_the_inputs(tmp_path, link):
    files = example(tmp_path)
    before = files["params"].read_bytes()
    out = {"same path": files["params"], "hard link": tmp_path / "linked.npz",
           "symlink": tmp_path / "alias.npz"}[link]
    if link == "hard link":
        os.link(files["params"], out)
    elif link == "symlink":
        out.symlink_to(files["params"])
    for force in ([], ["--force"]):
        result = lstm_cli(*gradients_argv(files, out), *force)
        assert files["params"].read_bytes() == before
        why = "symbolic link" if link == "symlink" else "it is the input --params"
        assert_refused(result, str(out), why)


def test_existing_outputs_are_replaced_only_with_force(tmp_path, capsys):
    """Every command that writes: render, gradients --out and --example, train, main."""
    files = example(tmp_path / "ex")
    commands = {
        "render": (["render", "--format", "dot", "-o", tmp_path / "cell.dot"], tmp_path / "cell.dot"),
        "gradients": (gradients_argv(files, tmp_path / "g.npz"), tmp_path / "g.npz"),
        "example": (["gradients", "--variant", "rnn", "--example", tmp_path / "ex"], files["inputs"]),
        "train": (["train", "--model", "rnn", "--steps", "1", "--seq-len", "2", "--hidden", "2", "--batch", "2",
                   "--no-progress", "--out", tmp_path / "run"], tmp_path / "run" / "run.json"),
        "main": (["main", "-o", tmp_path / "out"], tmp_path / "out" / "paper_unrolled.svg"),
    }
    for name, (argv, path) in commands.items():
        path.parent.mkdir(exist_ok=True)
        path.write_text("mine")
        before = path.read_bytes()
        assert main([str(a) for a in argv]) == 2, name
        err = capsys.readouterr().err
        assert err.startswith("error: ") and "use --force" in err and str(path.parent) in err, err
        assert path.read_bytes() == before, name
        if name != "main":               # main --force renders everything: run.sh main covers it
            assert main([str(a) for a in argv] + ["--force"]) == 0, name
            assert path.read_bytes() != before, name


@pytest.mark.parametrize("umask", [0o002, 0o027])
def test_new_files_get_the_permissions_of_the_umask(shared, umask):
    files = example(shared / "in")
    made = lstm_cli("gradients", "--variant", "rnn", "--example", shared / "ex", umask=umask)
    assert made.returncode == 0, made.stderr
    done = lstm_cli(*gradients_argv(files, shared / "g.npz"), umask=umask)
    assert done.returncode == 0, done.stderr
    drawn = lstm_cli("render", "--format", "dot", "-o", shared / "cell.dot", umask=umask)
    assert drawn.returncode == 0, drawn.stderr
    for path in [shared / "ex" / "params.npz", shared / "g.npz", shared / "cell.dot"]:
        assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~umask, path


# --- item 4: one line and exit 2, never a traceback -----------------------------------

def test_an_output_that_is_a_folder_is_refused(tmp_path):
    files = example(tmp_path)
    folder = tmp_path / "grads"
    folder.mkdir()
    assert_refused(lstm_cli(*gradients_argv(files, folder)), str(folder), "a folder")
    assert_refused(lstm_cli("render", "-o", folder), "a folder")
    assert list(folder.iterdir()) == []


def test_a_missing_output_folder_is_refused_before_the_inputs_are_read(tmp_path):
    files = example(tmp_path)
    files["params"] = tmp_path / "no-such-params.npz"
    result = lstm_cli(*gradients_argv(files, tmp_path / "missing" / "g.npz"))
    assert_refused(result, "missing", "does not exist")
    assert "params" not in result.stderr


def test_a_read_only_output_folder_is_refused_before_computing(shared, as_nobody):
    files = example(shared / "in")
    files["params"] = shared / "no-such-params.npz"       # reading it first would fail differently
    locked = shared / "locked"
    locked.mkdir(mode=0o555)
    locked.chmod(0o555)
    result = lstm_cli(*gradients_argv(files, locked / "g.npz"), user=as_nobody)
    assert_refused(result, str(locked), "read-only")
    assert_refused(lstm_cli("gradients", "--variant", "rnn", "--example", locked / "ex", user=as_nobody),
                   "read-only")
    assert_refused(lstm_cli("render", "--format", "dot", "-o", locked / "a.dot", user=as_nobody), "read-only")
    assert list(locked.iterdir()) == []


def test_an_unreadable_input_is_one_line(shared, as_nobody):
    files = example(shared / "in")
    files["inputs"].chmod(0o000)
    result = lstm_cli(*gradients_argv(files, shared / "g.npz"), user=as_nobody)
    assert_refused(result, "inputs file", "cannot be read", "Permission denied")
    assert not (shared / "g.npz").exists()


def test_an_input_that_is_a_fifo_is_refused_without_waiting_for_a_writer(tmp_path):
    files = example(tmp_path)
    files["targets"] = tmp_path / "pipe"
    os.mkfifo(files["targets"])
    assert_refused(lstm_cli(*gradients_argv(files, tmp_path / "g.npz")), "targets file", "FIFO")


def npy_member(shape, payload=b"\0" * 16, descr="<f8"):
    """The bytes of an .npy file whose header claims ``shape`` whatever the payload holds."""
    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(buffer, {"descr": descr, "fortran_order": False, "shape": shape})
    return buffer.getvalue() + payload


def test_an_npz_header_claiming_an_absurd_shape_is_refused_before_allocating(tmp_path):
    files = example(tmp_path)
    with zipfile.ZipFile(files["inputs"], "w") as archive:
        archive.writestr("X.npy", npy_member((10**6, 10**6, 2)))      # 16 TB claimed, 16 bytes held
    result = lstm_cli(*gradients_argv(files, tmp_path / "g.npz"))
    assert_refused(result, "inputs file", "'X'", "(1000000, 1000000, 2)", "at most 1 GiB")


def test_example_into_a_path_that_is_a_file_is_refused(tmp_path):
    taken = tmp_path / "ex"
    taken.write_text("a file")
    assert_refused(lstm_cli("gradients", "--variant", "blog", "--example", taken), str(taken), "not a folder")
    assert taken.read_text() == "a file"


def test_example_sizes_that_would_not_fit_are_refused_before_allocating(tmp_path):
    result = lstm_cli("gradients", "--variant", "blog", "--example", tmp_path / "ex", "--steps", 10**6,
                      "--batch", 10**6)
    assert_refused(result, "inputs.npz", "--steps 1000000", "at most 1 GiB")
    assert not (tmp_path / "ex").exists()


@pytest.mark.parametrize("names", [["X.npy", "X.npy"], ["X", "X.npy"]])
def test_duplicate_member_names_in_an_npz_are_refused(tmp_path, names):
    files = example(tmp_path)
    with np.load(files["inputs"]) as archive:
        X = archive["X"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)           # zipfile warns about the duplicate
        with zipfile.ZipFile(files["inputs"], "w") as archive:
            for name in names:
                with archive.open(name, "w") as member:
                    np.lib.format.write_array(member, X)
    assert_refused(lstm_cli(*gradients_argv(files, tmp_path / "g.npz")), "'X'", "2 members")



def test_train_refuses_parameters_over_the_file_limit_before_allocating(tmp_path):
    result = lstm_cli("train", "--hidden", 10**9, "--steps", 1, "--out", tmp_path / "run")
    assert_refused(result, "--hidden 1000000000", "parameters.npz may hold at most 1 GiB")
    assert not (tmp_path / "run").exists()


def test_sizes_numpy_cannot_allocate_are_one_line(tmp_path):
    result = lstm_cli("train", "--seq-len", 10**12, "--steps", 1, "--out", tmp_path / "run")
    assert_refused(result, "out of memory", "Unable to allocate")
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("command", [["check"], ["train"], ["gradients", "--variant", "rnn", "--example", "ex"]])
def test_a_negative_seed_is_a_usage_error(tmp_path, command):
    result = lstm_cli(*command, "--seed", "-1", cwd=tmp_path)
    assert result.returncode == 2 and "invalid non-negative integer value: '-1'" in result.stderr
    assert "Traceback" not in result.stderr and list(tmp_path.iterdir()) == []
