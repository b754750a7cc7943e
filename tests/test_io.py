"""tinygraph.io: .npz files round-trip exactly and bad files are refused with clear errors."""
import io
import os
import stat
import warnings
import zipfile

import numpy as np
import pytest

import tinygraph as tg
from tinygraph.io import ArrayFileError, OutputPathError, load_arrays, save_arrays


@pytest.fixture
def arrays():
    rng = np.random.default_rng(0)
    return {"W_ix": rng.normal(size=(2, 3)), "b_i": rng.normal(size=3), "scale": np.float32(0.5) * np.ones((4,), np.float32)}


def test_round_trip_is_bit_exact_and_keeps_dtype_and_order(tmp_path, arrays):
    path = save_arrays(tmp_path / "p.npz", arrays)
    loaded = load_arrays(path)
    assert list(loaded) == list(arrays)
    for name, arr in arrays.items():
        assert loaded[name].dtype == arr.dtype
        assert loaded[name].tobytes() == arr.tobytes()


def test_saved_file_is_an_ordinary_npz(tmp_path, arrays):
    save_arrays(tmp_path / "p.npz", arrays)
    with np.load(tmp_path / "p.npz", allow_pickle=False) as npz:
        np.testing.assert_array_equal(npz["W_ix"], arrays["W_ix"])


def test_save_writes_exactly_the_given_path_and_accepts_nodes(tmp_path):
    save_arrays(tmp_path / "weights", {"W": tg.parameter(np.eye(2))})
    assert (tmp_path / "weights").exists() and not (tmp_path / "weights.npz").exists()
    np.testing.assert_array_equal(load_arrays(tmp_path / "weights")["W"], np.eye(2))


def test_expected_shapes_accept_matching_file_in_expected_order(tmp_path, arrays):
    save_arrays(tmp_path / "p.npz", arrays)
    loaded = load_arrays(tmp_path / "p.npz", expected={"scale": None, "b_i": (3,), "W_ix": (2, 3)})
    assert list(loaded) == ["scale", "b_i", "W_ix"]


@pytest.mark.parametrize("expected, words", [
    ({"W_ix": (2, 3), "b_i": (3,), "scale": (4,), "b_f": (3,)}, ["missing", "'b_f'", "(3,)"]),
    ({"W_ix": (2, 3), "b_i": (3,)}, ["unexpected", "'scale'"]),
    ({"W_ix": (3, 2), "b_i": (3,), "scale": (4,)}, ["'W_ix'", "shape (2, 3)", "expected (3, 2)"]),
])
def test_missing_extra_and_misshaped_arrays_are_named(tmp_path, arrays, expected, words):
    save_arrays(tmp_path / "p.npz", arrays)
    with pytest.raises(ArrayFileError) as info:
        load_arrays(tmp_path / "p.npz", expected=expected)
    message = str(info.value)
    assert "p.npz" in message
    for word in words:
        assert word in message


def test_missing_file_folder_and_non_npz_files_are_refused(tmp_path):
    with pytest.raises(ArrayFileError, match="does not exist"):
        load_arrays(tmp_path / "nope.npz")
    with pytest.raises(ArrayFileError, match="folder"):
        load_arrays(tmp_path)
    (tmp_path / "text.npz").write_text("hello")
    with pytest.raises(ArrayFileError, match="not an .npz archive"):
        load_arrays(tmp_path / "text.npz")
    np.save(tmp_path / "single.npy", np.ones(3))
    with pytest.raises(ArrayFileError, match="single-array .npy"):
        load_arrays(tmp_path / "single.npy")


def test_pickled_object_array_is_refused_without_unpickling(tmp_path):
    np.savez(tmp_path / "evil.npz", obj=np.array([{"a": 1}, None], dtype=object))
    with pytest.raises(ArrayFileError, match="'obj'.*pickled"):
        load_arrays(tmp_path / "evil.npz")
    with pytest.raises(ValueError, match="dtype object"):
        save_arrays(tmp_path / "out.npz", {"obj": np.array([None], dtype=object)})


def test_damaged_archive_is_refused(tmp_path, arrays):
    path = save_arrays(tmp_path / "p.npz", arrays)
    data = bytearray(path.read_bytes())
    start = data.index(b"\x93NUMPY")            # the first .npy header inside the zip
    data[start:start + 6] = b"BROKEN"
    path.write_bytes(bytes(data))
    with pytest.raises(ArrayFileError, match="W_ix"):
        load_arrays(path)


def test_non_npy_member_is_refused(tmp_path):
    with zipfile.ZipFile(tmp_path / "odd.npz", "w") as archive:
        archive.writestr("notes.txt", "not an array")
    with pytest.raises(ArrayFileError, match="notes.txt"):
        load_arrays(tmp_path / "odd.npz")


@pytest.mark.parametrize("bad", [np.array([1, 2]), np.array([True]), np.array([1 + 2j])])
def test_float_kind_refuses_int_bool_and_complex(tmp_path, bad):
    np.savez(tmp_path / "p.npz", x=bad)
    with pytest.raises(ArrayFileError, match=f"'x' has dtype {bad.dtype}"):
        load_arrays(tmp_path / "p.npz")


@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf])
def test_float_kind_refuses_nan_and_inf_and_says_where(tmp_path, value):
    x = np.zeros((2, 3))
    x[1, 2] = value
    save_arrays(tmp_path / "p.npz", {"x": x})
    with pytest.raises(ArrayFileError, match=r"'x' \(2, 3\) holds 1 NaN/Inf value\(s\), first at index \(1, 2\)"):
        load_arrays(tmp_path / "p.npz")


def test_int_kind_requires_integer_arrays(tmp_path):
    save_arrays(tmp_path / "y.npz", {"y": np.array([0, 3, 1]), "f": np.zeros(3)})
    with pytest.raises(ArrayFileError, match="'f' has dtype float64, expected an integer array"):
        load_arrays(tmp_path / "y.npz", kind="int", what="targets")
    save_arrays(tmp_path / "y.npz", {"y": np.array([0, 3, 1], dtype=np.uint8)})
    assert load_arrays(tmp_path / "y.npz", kind="int")["y"].tolist() == [0, 3, 1]


def test_what_names_the_role_of_the_file(tmp_path):
    with pytest.raises(ArrayFileError, match="^targets file"):
        load_arrays(tmp_path / "t.npz", what="targets")


def test_bad_names_and_missing_folder_are_refused_on_save(tmp_path):
    with pytest.raises(ValueError, match="name"):
        save_arrays(tmp_path / "p.npz", {"a/b": np.ones(1)})
    with pytest.raises(OutputPathError, match="does not exist"):
        save_arrays(tmp_path / "no" / "p.npz", {"a": np.ones(1)})
    with pytest.raises(ValueError, match="kind"):
        load_arrays(tmp_path / "p.npz", kind="complex")


def test_failed_save_leaves_previous_file_intact(tmp_path):
    save_arrays(tmp_path / "p.npz", {"a": np.ones(2)})
    with pytest.raises(ValueError):
        save_arrays(tmp_path / "p.npz", {"a": np.zeros(2), "b": np.array(["text"])})
    np.testing.assert_array_equal(load_arrays(tmp_path / "p.npz")["a"], np.ones(2))
    assert [p.name for p in tmp_path.iterdir()] == ["p.npz"]


# --- headers are checked before anything is allocated; writes never replace what is not a file ---

def npz_with_member(path, name, header, payload):
    """An .npz whose member ``name`` has the given .npy header fields and raw payload."""
    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(buffer, {"descr": "<f8", "fortran_order": False, **header})
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(name, buffer.getvalue() + payload)
    return path


@pytest.mark.parametrize("shape, words", [
    ((1000,), ["claims shape (1000,)", "7.81 KiB", "holds 16 bytes"]),
    ((2**40,), ["claims shape (1099511627776,)", "8 TiB", "at most 1 GiB"]),
    ((3, -2), ["claims the shape (3, -2)"]),
])
def test_a_header_that_does_not_match_its_data_is_refused_before_reading(tmp_path, shape, words):
    path = npz_with_member(tmp_path / "p.npz", "W.npy", {"shape": shape}, b"\0" * 16)
    with pytest.raises(ArrayFileError, match="'W'") as info:
        load_arrays(path)
    for word in words:
        assert word in str(info.value)


def test_arrays_of_one_file_may_hold_at_most_max_bytes_together(tmp_path, monkeypatch):
    import tinygraph.io as tio
    save_arrays(tmp_path / "p.npz", {"a": np.zeros(100), "b": np.zeros(100)})
    monkeypatch.setattr(tio, "MAX_BYTES", 1200)
    with pytest.raises(ArrayFileError, match="'b'.*at most 1.17 KiB"):
        load_arrays(tmp_path / "p.npz")
    monkeypatch.setattr(tio, "MAX_BYTES", 1600)
    assert list(load_arrays(tmp_path / "p.npz")) == ["a", "b"]


def test_duplicate_names_are_refused(tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        with zipfile.ZipFile(tmp_path / "d.npz", "w") as archive:
            for _ in range(2):
                with archive.open("W.npy", "w") as member:
                    np.lib.format.write_array(member, np.ones(2))
    with pytest.raises(ArrayFileError, match="'W' is used by 2 members"):
        load_arrays(tmp_path / "d.npz")


def test_a_fifo_is_refused_as_input_without_opening_it(tmp_path):
    os.mkfifo(tmp_path / "pipe")
    with pytest.raises(ArrayFileError, match="is a FIFO"):
        load_arrays(tmp_path / "pipe")


@pytest.mark.parametrize("make, kind", [
    (lambda p: p.mkdir(), "a folder"),
    (lambda p: os.mkfifo(p), "a FIFO"),
    (lambda p: p.symlink_to(p.parent / "elsewhere.npz"), "a symbolic link"),
])
def test_save_replaces_only_a_regular_file_and_leaves_no_temporary_file(tmp_path, make, kind):
    make(tmp_path / "p.npz")
    before = sorted(p.name for p in tmp_path.iterdir())
    with pytest.raises(OutputPathError, match=kind):
        save_arrays(tmp_path / "p.npz", {"a": np.ones(2)})
    assert sorted(p.name for p in tmp_path.iterdir()) == before


def test_new_files_get_the_umask_and_replaced_files_keep_their_mode(tmp_path):
    old = os.umask(0o027)
    try:
        save_arrays(tmp_path / "new.npz", {"a": np.ones(2)})
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "new.npz").stat().st_mode) == 0o640
    (tmp_path / "new.npz").chmod(0o604)
    save_arrays(tmp_path / "new.npz", {"a": np.zeros(2)})
    assert stat.S_IMODE((tmp_path / "new.npz").stat().st_mode) == 0o604
    np.testing.assert_array_equal(load_arrays(tmp_path / "new.npz")["a"], np.zeros(2))


def test_a_masked_array_is_refused_instead_of_losing_its_mask(tmp_path):
    masked = np.ma.masked_array([1.0, 2.0], mask=[False, True])
    with pytest.raises(ValueError, match="'m' is a masked array"):
        save_arrays(tmp_path / "p.npz", {"m": masked})
    assert list(tmp_path.iterdir()) == []


def test_an_encrypted_member_is_refused_in_one_line(tmp_path):
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, np.ones(3))
    with zipfile.ZipFile(tmp_path / "e.npz", "w") as archive:
        archive.writestr("X.npy", buffer.getvalue())
    data = bytearray((tmp_path / "e.npz").read_bytes())
    for signature, flags_at in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):    # local and central headers
        data[data.index(signature) + flags_at] |= 1                            # bit 0: encrypted
    (tmp_path / "e.npz").write_bytes(bytes(data))
    with pytest.raises(ArrayFileError, match="'X' cannot be read.*encrypted"):
        load_arrays(tmp_path / "e.npz")
