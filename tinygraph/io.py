"""Safe .npz files: named arrays in, named arrays out, with pickle disabled.

``save_arrays(path, {"W_ix": ..., "b_i": ...})`` writes an ordinary .npz archive (a zip of
.npy files, readable by ``np.load``). ``load_arrays(path, expected={"W_ix": (2, 4), ...})``
reads one back and checks it before anything uses it: every expected array present, no
extra ones, each of the expected shape and kind, no NaN or Inf. Anything else raises
``ArrayFileError`` naming the file, the array, what was expected and what was found.

>>> save_arrays("weights.npz", {"W": np.eye(2), "b": np.zeros(2)})     # doctest: +SKIP
>>> load_arrays("weights.npz", expected={"W": (2, 2), "b": (3,)})      # doctest: +SKIP
ArrayFileError: parameters file 'weights.npz': array 'b' has shape (2,), expected (3,)

Pickle is never used, for writing or reading: a pickled object array in a file from
elsewhere could run code when loaded. Before any array is allocated, every .npy header in
the archive is read and checked: the sizes it claims must match the bytes stored and stay
under ``MAX_BYTES``, and no two members may share a name.

Writing (``write_file``, which ``save_arrays`` uses) replaces only a regular, writable
file or creates a new one, never a symlink, folder, FIFO or device; it writes a temporary
file in the same folder and renames it over the target, so a crash leaves the previous
file intact, and a new file gets the permissions the user's umask gives.
"""
import contextlib
import math
import os
import stat
import tempfile
import zipfile
from pathlib import Path

import numpy as np

from .errors import TinygraphError

KINDS = ("float", "int")

#: The most bytes the arrays of one .npz file may hold together (1 GiB): a header that
#: claims more is refused before anything is allocated.
MAX_BYTES = 1 << 30


class ArrayFileError(TinygraphError, ValueError):
    """An .npz file is missing, unreadable, or does not hold the arrays that were expected."""


class OutputPathError(TinygraphError, ValueError):
    """A path that must not be written: not a regular file or new path, read-only, or in a
    folder that is missing or read-only."""


def _shape_text(shape):
    return "(any shape)" if shape is None else str(tuple(shape))


def size_text(nbytes):
    """A byte count for people: '1.5 GiB', '12 KiB', '100 bytes'."""
    for unit, size in (("TiB", 1 << 40), ("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if nbytes >= size:
            return f"{nbytes / size:.3g} {unit}"
    return f"{nbytes} bytes"


def kind_of(st):
    """What an ``os.stat`` result is, in words: 'a regular file', 'a folder', 'a FIFO' ..."""
    for test, words in ((stat.S_ISREG, "a regular file"), (stat.S_ISDIR, "a folder"),
                        (stat.S_ISLNK, "a symbolic link"), (stat.S_ISFIFO, "a FIFO (named pipe)"),
                        (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
                        (stat.S_ISSOCK, "a socket")):
        if test(st.st_mode):
            return words
    return "not a regular file"


def check_writable(path):
    """Raise ``OutputPathError`` unless ``path`` may be written by ``write_file``: a new
    name in an existing, writable folder, or a regular file that is writable (by its mode
    bits, which root ignores, and by ``os.access``). Returns ``os.lstat(path)`` or None."""
    path = Path(path)
    folder = path.parent
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        st = None
    except OSError as err:
        raise OutputPathError(f"cannot write {str(path)!r}: {err.strerror}") from None
    if st is not None and not stat.S_ISREG(st.st_mode):
        raise OutputPathError(f"cannot write {str(path)!r}: it is {kind_of(st)}; only a regular file "
                              f"or a new path is written")
    if st is not None and (not st.st_mode & 0o222 or not os.access(path, os.W_OK)):
        raise OutputPathError(f"cannot write {str(path)!r}: the file is read-only")
    if not folder.is_dir():
        what = "is not a folder" if folder.exists() else "does not exist"
        raise OutputPathError(f"cannot write {str(path)!r}: the folder {str(folder)!r} {what}")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise OutputPathError(f"cannot write {str(path)!r}: the folder {str(folder)!r} is read-only")
    return st


def _umask():
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def write_file(path, write):
    """Write ``path`` through ``write(tmp)``, a function that writes the file ``tmp`` (a
    new file in the same folder, with the same suffix); then ``tmp`` replaces ``path``.

    Refuses with ``OutputPathError`` what ``check_writable`` refuses, checked before
    writing and again just before the rename. A new file gets mode 0o666 minus the umask,
    a replaced file keeps its mode. If ``write`` raises, nothing is left behind and the
    error propagates. Returns ``path`` as a ``Path``.
    """
    path = Path(path)
    check_writable(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=f".tmp{path.suffix}")
    os.close(fd)
    try:
        write(Path(tmp))
        st = check_writable(path)
        os.chmod(tmp, stat.S_IMODE(st.st_mode) if st is not None else 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        if os.path.lexists(tmp):
            os.unlink(tmp)
        raise
    return path


def save_arrays(path, arrays):
    """Write the named arrays to ``path`` as an .npz archive (uncompressed, no pickle).

    The file is written exactly at ``path`` (no ".npz" is appended), through
    ``write_file``: atomically, only over a regular file or to a new path. Names must be
    non-empty strings without "/" or "\\"; values must be numeric or bool arrays (object
    and masked arrays are refused). Returns the path as a ``Path``.
    """
    path = Path(path)
    if not isinstance(arrays, dict):
        raise TypeError(f"save_arrays: expects a dict name -> array, got {type(arrays).__name__}")
    prepared = {}
    for name, value in arrays.items():
        if not isinstance(name, str) or not name or any(c in name for c in "/\\\0"):
            raise ValueError(f"save_arrays({str(path)!r}): array name {name!r} must be a non-empty string "
                             f"without '/', '\\' or NUL")
        if isinstance(value, np.ma.MaskedArray):
            raise ValueError(f"save_arrays({str(path)!r}): array {name!r} is a masked array, whose mask would "
                             f"be lost; save value.filled(...) and the mask as arrays of their own")
        arr = np.asarray(getattr(value, "value", value))    # a tinygraph Node saves its value
        if arr.dtype.kind not in "biuf":
            raise ValueError(f"save_arrays({str(path)!r}): array {name!r} has dtype {arr.dtype}; "
                             f"only bool, integer and real float arrays can be saved (no pickle)")
        prepared[name] = arr

    def write(tmp):
        with open(tmp, "wb") as fh, zipfile.ZipFile(fh, "w", zipfile.ZIP_STORED) as archive:
            for name, arr in prepared.items():
                with archive.open(f"{name}.npy", "w", force_zip64=True) as member:
                    np.lib.format.write_array(member, arr, allow_pickle=False)

    return write_file(path, write)


@contextlib.contextmanager
def _open(path, what):
    """The file opened as a zip archive whose .npy members have all been checked."""
    label = f"{what} file {str(path)!r}"
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise ArrayFileError(f"{label} does not exist") from None
    except OSError as err:
        raise ArrayFileError(f"{label} cannot be read: {err.strerror}") from None
    if stat.S_ISDIR(st.st_mode):
        raise ArrayFileError(f"{label} is a folder, not an .npz file")
    if not stat.S_ISREG(st.st_mode):
        raise ArrayFileError(f"{label} is {kind_of(st)}, not an .npz file")
    try:
        fh = open(path, "rb")
    except OSError as err:
        raise ArrayFileError(f"{label} cannot be read: {err.strerror}") from None
    with fh:
        try:
            if not zipfile.is_zipfile(fh):
                fh.seek(0)
                found = "a single-array .npy file" if fh.read(6) == b"\x93NUMPY" else "not a zip archive"
                raise ArrayFileError(f"{label} is not an .npz archive (a zip of .npy arrays): it is {found}")
            fh.seek(0)
            archive = zipfile.ZipFile(fh)
        except (OSError, ValueError, EOFError, zipfile.BadZipFile) as err:
            if isinstance(err, ArrayFileError):
                raise
            raise ArrayFileError(f"{label} cannot be read as .npz: {err}") from err
        with archive:
            _check_members(archive, label)
            yield archive


def _member_names(archive):
    """Array name -> zip member, as ``np.load`` names them (".npy" dropped)."""
    return {(info.filename[:-4] if info.filename.endswith(".npy") else info.filename): info
            for info in archive.infolist()}


HEADER_READERS = {(1, 0): np.lib.format.read_array_header_1_0, (2, 0): np.lib.format.read_array_header_2_0}


def _read_header(archive, info, name, label):
    """(shape, dtype, bytes claimed) from a member's .npy header, with the header checked."""
    try:
        with archive.open(info) as fh:
            version = np.lib.format.read_magic(fh)
            if version not in HEADER_READERS:
                raise ValueError(f".npy format version {version[0]}.{version[1]} is not supported")
            shape, _, dtype = HEADER_READERS[version](fh)
            start = fh.tell()
    except (ValueError, EOFError, OSError, RuntimeError, zipfile.BadZipFile, NotImplementedError) as err:
        raise ArrayFileError(f"{label}: array {name!r} cannot be read (damaged file?): {err}") from err
    if dtype.hasobject:
        raise ArrayFileError(f"{label}: array {name!r} holds pickled Python objects (an object array); "
                             f"refused, since unpickling can run arbitrary code")
    if any(n < 0 for n in shape):
        raise ArrayFileError(f"{label}: array {name!r}: its header claims the shape {shape}")
    claimed = math.prod(shape) * dtype.itemsize
    if claimed != info.file_size - start and claimed <= MAX_BYTES:
        raise ArrayFileError(f"{label}: array {name!r}: its header claims shape {shape} of {dtype} "
                             f"({size_text(claimed)}) but the file holds {size_text(info.file_size - start)} "
                             f"of data for it (damaged file?)")
    return shape, dtype, claimed


def _check_members(archive, label):
    """Refuse duplicate names, and headers that claim absurd or wrong sizes, before reading."""
    names = [info.filename[:-4] if info.filename.endswith(".npy") else info.filename
             for info in archive.infolist()]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise ArrayFileError(f"{label}: the name {twice[0]!r} is used by {names.count(twice[0])} members; "
                             f"every array of an .npz file needs its own name")
    total = 0
    for name, info in _member_names(archive).items():
        if info.filename.endswith(".npy"):
            shape, dtype, claimed = _read_header(archive, info, name, label)
            total += claimed
            if total > MAX_BYTES:
                raise ArrayFileError(f"{label}: array {name!r}: its header claims shape {shape} of {dtype} "
                                     f"({size_text(claimed)}); the arrays of one file may hold at most "
                                     f"{size_text(MAX_BYTES)}")


def _read_member(archive, name, label):
    info = _member_names(archive)[name]
    if not info.filename.endswith(".npy"):
        raise ArrayFileError(f"{label}: member {name!r} is not an .npy array")
    try:
        with archive.open(info) as fh:
            return np.lib.format.read_array(fh, allow_pickle=False)
    except (OSError, EOFError, ValueError, RuntimeError, zipfile.BadZipFile, NotImplementedError) as err:
        raise ArrayFileError(f"{label}: array {name!r} cannot be read (damaged file?): {err}") from err


def _check_kind(arr, name, kind, label):
    if kind == "float":
        if arr.dtype.kind != "f":
            raise ArrayFileError(f"{label}: array {name!r} has dtype {arr.dtype}, expected a real float array")
        bad = ~np.isfinite(arr)
        if bad.any():
            first = tuple(int(i) for i in np.argwhere(bad)[0])
            raise ArrayFileError(f"{label}: array {name!r} {arr.shape} holds {int(bad.sum())} NaN/Inf "
                                 f"value(s), first at index {first}: {arr[first]}")
    elif arr.dtype.kind not in "iu":
        raise ArrayFileError(f"{label}: array {name!r} has dtype {arr.dtype}, expected an integer array")


def load_arrays(path, expected=None, kind="float", what="parameters"):
    """Read the arrays of the .npz file ``path`` into a dict name -> ndarray, checked.

    - ``expected``: a mapping name -> shape (a tuple, or None for any shape). The file
      must hold exactly those names; the result follows ``expected``'s order. Without it,
      every array in the file is returned in file order.
    - ``kind="float"``: every array must be real floating point with no NaN or Inf
      (parameters); ``kind="int"``: every array must be an integer array (class indices).
    - ``what`` names the file's role in error messages ("parameters", "targets", ...).

    Raises ``ArrayFileError`` (a ValueError) for a missing, non-.npz or damaged file, a
    pickled/object array, a missing, extra or mis-shaped array, or a wrong kind.
    """
    if kind not in KINDS:
        raise ValueError(f"load_arrays: kind must be one of {KINDS}, got {kind!r}")
    path = Path(path)
    label = f"{what} file {str(path)!r}"
    with _open(path, what) as archive:
        names = list(_member_names(archive))
        if expected is not None:
            expected = {name: (None if shape is None else tuple(shape)) for name, shape in expected.items()}
            missing = [n for n in expected if n not in names]
            extra = [n for n in names if n not in expected]
            if missing or extra:
                parts = []
                if missing:
                    parts.append("missing " + ", ".join(f"{n!r} {_shape_text(expected[n])}" for n in missing))
                if extra:
                    parts.append("unexpected " + ", ".join(repr(n) for n in extra))
                raise ArrayFileError(f"{label}: {'; '.join(parts)} (expected arrays "
                                     f"{list(expected)}, found {names})")
            names = list(expected)
        result = {}
        for name in names:
            arr = _read_member(archive, name, label)
            want = None if expected is None else expected[name]
            if want is not None and arr.shape != want:
                raise ArrayFileError(f"{label}: array {name!r} has shape {arr.shape}, expected {want}")
            _check_kind(arr, name, kind, label)
            result[name] = arr
    return result
