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
elsewhere could run code when loaded.
"""
import os
import tempfile
import zipfile
from pathlib import Path

import numpy as np

from .errors import TinygraphError

KINDS = ("float", "int")


class ArrayFileError(TinygraphError, ValueError):
    """An .npz file is missing, unreadable, or does not hold the arrays that were expected."""


def _shape_text(shape):
    return "any shape" if shape is None else str(tuple(shape))


def save_arrays(path, arrays):
    """Write the named arrays to ``path`` as an .npz archive (uncompressed, no pickle).

    The file is written exactly at ``path`` (no ".npz" is appended) and atomically:
    a crash mid-write leaves any previous file intact. Names must be non-empty strings
    without "/" or "\\"; values must be numeric or bool arrays (object arrays are refused).
    Returns the path as a ``Path``.
    """
    path = Path(path)
    if not isinstance(arrays, dict):
        raise TypeError(f"save_arrays: expects a dict name -> array, got {type(arrays).__name__}")
    prepared = {}
    for name, value in arrays.items():
        if not isinstance(name, str) or not name or any(c in name for c in "/\\\0"):
            raise ValueError(f"save_arrays({str(path)!r}): array name {name!r} must be a non-empty string "
                             f"without '/', '\\' or NUL")
        arr = np.asarray(getattr(value, "value", value))    # a tinygraph Node saves its value
        if arr.dtype.kind not in "biuf":
            raise ValueError(f"save_arrays({str(path)!r}): array {name!r} has dtype {arr.dtype}; "
                             f"only bool, integer and real float arrays can be saved (no pickle)")
        prepared[name] = arr
    directory = path.parent if str(path.parent) else Path(".")
    if not directory.is_dir():
        raise ArrayFileError(f"save_arrays: folder {str(directory)!r} does not exist (writing {str(path)!r})")
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh, zipfile.ZipFile(fh, "w", zipfile.ZIP_STORED) as archive:
            for name, arr in prepared.items():
                with archive.open(f"{name}.npy", "w", force_zip64=True) as member:
                    np.lib.format.write_array(member, arr, allow_pickle=False)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def _open(path, what):
    label = f"{what} file {str(path)!r}"
    if not path.exists():
        raise ArrayFileError(f"{label} does not exist")
    if path.is_dir():
        raise ArrayFileError(f"{label} is a folder, not an .npz file")
    if not zipfile.is_zipfile(path):
        with open(path, "rb") as fh:
            head = fh.read(6)
        found = "a single-array .npy file" if head == b"\x93NUMPY" else "not a zip archive"
        raise ArrayFileError(f"{label} is not an .npz archive (a zip of .npy arrays): it is {found}")
    try:
        return np.load(path, allow_pickle=False)
    except (OSError, ValueError, zipfile.BadZipFile) as err:
        raise ArrayFileError(f"{label} cannot be read as .npz: {err}") from err


def _read_member(npz, name, label):
    try:
        arr = npz[name]
    except ValueError as err:
        if "pickle" in str(err).lower():
            raise ArrayFileError(
                f"{label}: array {name!r} holds pickled Python objects (an object array); "
                f"refused, since unpickling can run arbitrary code"
            ) from err
        raise ArrayFileError(f"{label}: array {name!r} cannot be read: {err}") from err
    except (OSError, EOFError, zipfile.BadZipFile, KeyError) as err:
        raise ArrayFileError(f"{label}: array {name!r} cannot be read (damaged file?): {err}") from err
    if not isinstance(arr, np.ndarray):
        raise ArrayFileError(f"{label}: member {name!r} is not an .npy array")
    return arr


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
    with _open(path, what) as npz:
        names = list(npz.files)
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
            arr = _read_member(npz, name, label)
            want = None if expected is None else expected[name]
            if want is not None and arr.shape != want:
                raise ArrayFileError(f"{label}: array {name!r} has shape {arr.shape}, expected {want}")
            _check_kind(arr, name, kind, label)
            result[name] = arr
    return result
