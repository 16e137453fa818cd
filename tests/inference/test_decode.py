"""Raw input decoding: hostile and malformed files get one clear error, before any large work."""

from __future__ import annotations

import resource
from pathlib import Path

import numpy as np
import pytest

from profond.errors import ProfondError
from profond.inference.decode import file_rows, read_csv, read_npy, rows_to_array
from profond.inference.errors import InputError


def _npy_claiming(path: Path, shape: tuple[int, ...], descr: str = "<f4") -> Path:
    with path.open("wb") as f:
        np.lib.format.write_array_header_1_0(
            f, {"descr": descr, "fortran_order": False, "shape": shape}
        )
        f.write(b"\0" * 64)  # far less than the header claims
    return path


def test_a_header_claiming_a_trillion_elements_is_refused_without_allocating(tmp_path) -> None:
    path = _npy_claiming(tmp_path / "huge.npy", (1_000_000, 1_000_000))
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with pytest.raises(InputError, match="claims 1000000000000 elements") as error:
        read_npy(path)
    assert error.value.status == 413
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 50_000  # KiB


@pytest.mark.parametrize(
    ("array", "says"),
    [
        (np.array(["a", "b"]), "<U1"),
        (np.array([True, False]), "bool"),
        (np.array([1 + 2j]), "complex"),
    ],
)
def test_non_numeric_arrays_are_refused(tmp_path, array: np.ndarray, says: str) -> None:
    np.save(tmp_path / "x.npy", array)
    with pytest.raises(InputError, match=says):
        read_npy(tmp_path / "x.npy")


def test_an_object_array_is_refused_without_unpickling(tmp_path) -> None:
    np.save(tmp_path / "x.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(InputError, match="object"):
        read_npy(tmp_path / "x.npy")


def test_a_truncated_npy_is_refused(tmp_path) -> None:
    path = _npy_claiming(tmp_path / "short.npy", (100, 64))
    with pytest.raises(InputError, match="truncated or corrupt"):
        read_npy(path)


def test_csv_with_and_without_a_header_line(tmp_path) -> None:
    (tmp_path / "plain.csv").write_text("1,2,3\n4,5,6\n")
    (tmp_path / "header.csv").write_text("a,b,c\n1,2,3\n4,5,6\n")
    np.testing.assert_array_equal(read_csv(tmp_path / "plain.csv"), [[1, 2, 3], [4, 5, 6]])
    np.testing.assert_array_equal(read_csv(tmp_path / "header.csv"), [[1, 2, 3], [4, 5, 6]])
    (tmp_path / "column.csv").write_text("value\n1.5\n2.5\n")
    np.testing.assert_array_equal(read_csv(tmp_path / "column.csv"), [1.5, 2.5])
    (tmp_path / "bad.csv").write_text("1,2\n3,x\n")
    with pytest.raises(InputError, match="cannot read numbers"):
        read_csv(tmp_path / "bad.csv")


def test_file_rows_fit_the_model_input(tmp_path) -> None:
    np.save(tmp_path / "rows.npy", np.arange(128, dtype=np.float64).reshape(2, 64))
    assert file_rows(tmp_path / "rows.npy", (1, 8, 8)).shape == (2, 1, 8, 8)
    np.save(tmp_path / "odd.npy", np.zeros(63))
    with pytest.raises(ProfondError, match="64 values per sample"):
        file_rows(tmp_path / "odd.npy", (1, 8, 8))


@pytest.mark.parametrize(
    ("instances", "kind"),
    [
        ("zeros", "invalid_type"),
        ([], "empty_batch"),
        ([[0.0] * 4] * 3, "batch_too_large"),
        ([[0.0] * 4, [0.0] * 3], "invalid_shape"),
        ([["1", "2", "3", "4"]], "invalid_type"),
        ([[None] * 4], "invalid_type"),
        ([[1.0, 2.0, True, 4.0]], "invalid_type"),
        ([[1e39] * 4], "invalid_value"),
        ([[0.0] * 5], "invalid_shape"),
    ],
)
def test_rows_are_refused_with_a_kind(instances, kind: str) -> None:
    with pytest.raises(InputError) as error:
        rows_to_array(instances, (2, 2), max_instances=2)
    assert error.value.kind == kind and error.value.status == 422


def test_rows_flat_or_nested_without_unit_axes() -> None:
    flat = rows_to_array([[1, 2, 3, 4]], (1, 2, 2), 8)
    nested = rows_to_array([[[1, 2], [3, 4]]], (1, 2, 2), 8)
    assert flat.dtype == np.float32 and flat.shape == nested.shape == (1, 1, 2, 2)
    np.testing.assert_array_equal(flat, nested)


def test_parse_json_reads_nan_refuses_depth_and_garbage() -> None:
    from profond.inference.decode import parse_json

    assert parse_json(b'{"instances": [[1, 2.5]]}') == {"instances": [[1, 2.5]]}
    nan = parse_json(b'{"instances": [[NaN, 1]]}')["instances"][0][0]
    assert nan != nan  # read, so that rows_to_array refuses it as a value (invalid_value)
    for body, says in [
        (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
        (b"{no", "not valid"),
    ]:
        with pytest.raises(InputError, match=says) as error:
            parse_json(body)
        assert error.value.status == 400 and error.value.kind == "invalid_json"
