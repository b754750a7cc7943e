"""Where a command writes: every output path checked before any computing, then written safely.

Every command that writes a file uses this module, in two steps:

    from lstm.commands import files

    def add_arguments(parser):
        parser.add_argument("--out", type=Path)
        files.add_force(parser)                       # --force: replace an existing file

    def run(args):
        out = files.output(args.out, force=args.force, inputs={"--params": args.params})
        ...                                           # compute only after the check
        out.write_arrays(grads)                       # or .write_text(s), .write_bytes(b),
                                                      # .write(lambda tmp: fig.savefig(tmp))

For a folder of outputs (``main``'s out/, ``train``'s run folder, ``--example DIR``):
``outs = files.output_folder(folder, ["a.npz", "b.npz"], force=args.force)`` checks the
folder and every file in it, and returns a dict name -> output; the folder is made at the
first write.

The rules: only a regular file or a new path is written; an existing file only with
``--force``; never an input (same file, also through a symlink or a hard link); never a
symlink, folder, FIFO, device or read-only file; never into a missing or read-only folder.
A write goes to a temporary file in the same folder that then replaces the target, so
nothing is left half-written; a new file gets the permissions of the user's umask.

A refusal raises ``Refused``; ``python -m lstm`` prints it as one line ``error: ...``
naming the path and why, and exits with status 2. Nothing has been written by then.
"""
import os
import stat
from pathlib import Path

from tinygraph.io import OutputPathError, check_writable, kind_of, save_arrays, write_file


class Refused(Exception):
    """An output path the command will not write: one line naming the path and why."""


def add_force(parser):
    """The ``--force`` option every writing command takes."""
    parser.add_argument("--force", action="store_true",
                        help="replace output files that already exist (never a symlink, device or input)")


class Output:
    """One checked output path; its ``write*`` methods check it again and write it safely."""

    def __init__(self, path, force, inputs, make_folder=False):
        self.path, self.force, self.inputs, self.make_folder = Path(path), force, inputs, make_folder

    def __str__(self):
        return str(self.path)

    def check(self):
        """Raise ``Refused`` unless this path may be written now."""
        _check(self.path, self.force, self.inputs, folder_made_later=self.make_folder)

    def write(self, write):
        """Write through ``write(tmp)``, which writes a temporary file with the same suffix."""
        if self.make_folder:
            _make_folder(self.path.parent)
        self.check()
        try:
            return write_file(self.path, write)
        except OutputPathError as err:
            raise Refused(str(err)) from None
        except OSError as err:
            raise Refused(f"cannot write {str(self.path)!r}: {err.strerror or err}") from None

    def write_bytes(self, data):
        return self.write(lambda tmp: tmp.write_bytes(data))

    def write_text(self, text):
        return self.write(lambda tmp: tmp.write_text(text, encoding="utf-8"))

    def write_arrays(self, arrays):
        """An .npz file of named arrays (``tinygraph.io.save_arrays``)."""
        return self.write(lambda tmp: save_arrays(tmp, arrays))


def _inputs(inputs):
    """{label: path} from a dict, or from a list of paths (labelled by themselves); Nones dropped."""
    pairs = inputs.items() if isinstance(inputs, dict) else ((str(p), p) for p in inputs)
    return {label: Path(p) for label, p in pairs if p is not None}


def _same_as_input(path, st, inputs):
    for label, given in _inputs(inputs).items():
        try:
            other = os.stat(given)
        except OSError:
            continue
        if (other.st_dev, other.st_ino) == (st.st_dev, st.st_ino):
            option = "" if label == str(given) else f" {label}"
            alias = "" if Path(path) == Path(given) else " under another name"
            return f"it is the input{option} ({str(given)!r}){alias}; write the output to another file"
    return None


def _check(path, force, inputs, folder_made_later=False):
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        st = None
    except OSError as err:
        raise Refused(f"cannot write {str(path)!r}: {err.strerror}") from None
    if st is not None:
        why = _same_as_input(path, st, inputs) if stat.S_ISREG(st.st_mode) else None
        if why is None and stat.S_ISREG(st.st_mode) and not force:
            why = "the file exists; use --force to replace it"
        if why is not None:
            raise Refused(f"cannot write {str(path)!r}: {why}")
    if folder_made_later and not path.parent.exists():
        _check_folder(path.parent)
        return
    try:
        check_writable(path)
    except OutputPathError as err:
        raise Refused(str(err)) from None


def _check_folder(folder):
    """A folder that may be written into, or made: an existing writable folder, or a new
    path whose nearest existing parent is a writable folder."""
    try:
        st = os.stat(folder)
    except FileNotFoundError:
        st = None
    except OSError as err:
        raise Refused(f"cannot write into {str(folder)!r}: {err.strerror}") from None
    if st is not None and not stat.S_ISDIR(st.st_mode):
        raise Refused(f"cannot write into {str(folder)!r}: it is {kind_of(st)}, not a folder")
    existing = folder
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir():
        raise Refused(f"cannot make the folder {str(folder)!r}: {str(existing)!r} is not a folder")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise Refused(f"cannot write into {str(folder)!r}: the folder {str(existing)!r} is read-only")


def _make_folder(folder):
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise Refused(f"cannot make the folder {str(folder)!r}: {err.strerror or err}") from None


def output(path, force=False, inputs=()):
    """Check ``path`` as an output file before computing; returns its ``Output``.

    ``inputs``: the paths the command reads, as a dict {"--params": path, ...} (the label
    names the option in the message) or a list; None entries are skipped.
    """
    out = Output(path, force, inputs)
    out.check()
    return out


def output_folder(folder, names, force=False, inputs=()):
    """Check the folder ``folder`` and each file ``names`` in it before computing; returns
    a dict name -> ``Output``. A missing folder (and its missing parents) is made at the
    first write."""
    folder = Path(folder)
    _check_folder(folder)
    outs = {name: Output(folder / name, force, inputs, make_folder=True) for name in names}
    for out in outs.values():
        out.check()
    return outs
