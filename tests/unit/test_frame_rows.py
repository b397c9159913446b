"""``bulk_save`` reads a pandas DataFrame column by column, without Arrow: every row must
come out as the Arrow route made it (``Table.from_pandas(...).to_pylist()``, null cells
left out), for every kind of column pandas has, values and their Python types alike."""

from __future__ import annotations

import datetime
import decimal
from typing import Any

import pytest

from kinto_orm.dataframes import EXTRA_COLUMN, Rows, as_rows

pandas = pytest.importorskip("pandas")
pa = pytest.importorskip("pyarrow")
numpy = pytest.importorskip("numpy")


def through_arrow(frame: Any) -> list[dict[str, Any]]:
    rows = pa.Table.from_pandas(frame, preserve_index=False).to_pylist()
    return [{key: value for key, value in row.items() if value is not None} for row in rows]


def typed(value: Any) -> Any:
    """``value`` with the type of every part spelled out, so that ``1 == 1.0`` or a numpy
    scalar equal to a Python one does not pass for the same row."""
    if isinstance(value, dict):
        return {key: typed(item) for key, item in value.items()}
    if isinstance(value, list):
        return [typed(item) for item in value]
    return (type(value).__name__, value)


NAN = float("nan")
FRAMES: dict[str, Any] = {
    "numpy columns": pandas.DataFrame({
        "n": [1, 2, 3], "u": numpy.array([1, 2, 3], dtype="uint8"),
        "x": [1.5, NAN, -0.0], "ok": [True, False, True], "title": ["a", None, "c"],
    }),
    "nullable columns": pandas.DataFrame({
        "n": pandas.array([1, None, 3], dtype="Int64"),
        "ok": pandas.array([True, None, False], dtype="boolean"),
        "x": pandas.array([1.5, None, 2.0], dtype="Float64"),
        "s": pandas.array(["a", None, "c"], dtype="string"),
    }),
    "object cells": pandas.DataFrame({
        "tags": [["a", "b"], [], None],
        "pair": [("x", "1"), ("y", "2"), ("z", "3")],
        "meta": [{"k": [1, 2]}, {"k": []}, None],
        "day": [datetime.date(2026, 1, 1), None, datetime.date(2026, 3, 1)],
        "price": [decimal.Decimal("1.10"), decimal.Decimal("2"), None],
        "mixed_nulls": [NAN, None, "v"],
    }),
    "numpy inside cells": pa.table({
        "tags": [["a", "b"], ["c"], None],
        "nested": [[[1, 2], [3]], [], [[4]]],
        "struct": [{"a": [1, 2], "b": "x"}, None, {"a": [], "b": None}],
    }).to_pandas(),
    "nulls inside cells": pa.table({
        "xs": [[1.5, None], None, [None]],
        "tags": [["a", None], [], None],
        "struct": [{"a": [1.0, None], "b": None}, None, {"a": None, "b": 2.5}],
    }).to_pandas(),
    "times inside cells": pa.table({
        "at": pa.array([[datetime.datetime(2026, 1, 1, 10)], None, []],
                       type=pa.list_(pa.timestamp("ns"))),
        "span": pa.array([[datetime.timedelta(hours=2)], [None], None],
                         type=pa.list_(pa.duration("ns"))),
    }).to_pandas(),
    "periods and intervals": pandas.DataFrame({
        "month": pandas.period_range("2026-01", periods=3, freq="M"),
        "n": [1, 2, 3],
    }),
    "dates and times": pandas.DataFrame({
        "at": pandas.to_datetime(["2026-01-01 10:00", None, "2026-02-01 00:00"]),
        "utc": pandas.to_datetime(["2026-01-01 10:00", "2026-01-02 00:00", None], utc=True),
        "span": pandas.to_timedelta(["1 day", None, "2 hours"]),
    }),
    "categories": pandas.DataFrame({
        "kind": pandas.Categorical(["x", "y", None, "x"]), "n": [1, 2, 3, 4],
    }),
    "arrow dtypes": pa.table({
        "n": pa.array([1, None, 3]), "s": pa.array(["a", "b", None]),
        "tags": pa.array([["a"], None, []]), "day": pa.array(
            [datetime.date(2026, 1, 1), None, datetime.date(2026, 1, 3)]),
    }).to_pandas(types_mapper=pandas.ArrowDtype),
    "names that are not strings": pandas.DataFrame({0: [1, 2], 1.5: ["a", "b"]}),
    "an index with gaps": pandas.DataFrame(
        {"n": list(range(10)), "x": [float(i) if i % 3 else NAN for i in range(10)]}
    ).iloc[::3],
    "no rows": pandas.DataFrame({"n": pandas.Series([], dtype="int64")}),
}


@pytest.mark.parametrize("name", list(FRAMES))
def test_rows_are_those_of_the_arrow_route(name: str) -> None:
    frame = FRAMES[name]
    rows = as_rows(frame)
    assert isinstance(rows, Rows) and len(rows) == len(frame)
    assert typed(list(rows)) == typed(through_arrow(frame))


def test_slices_keep_every_row_and_null() -> None:
    size = 2500  # three slices of at most 1,000 rows
    frame = pandas.DataFrame({
        "id": [f"r{i}" for i in range(size)],
        "n": pandas.array([None if i % 7 == 0 else i for i in range(size)], dtype="Int64"),
        "x": [NAN if i % 999 == 0 else i / 2 for i in range(size)],
        "tags": [["t", str(i)] if i % 5 else None for i in range(size)],
    })
    assert typed(list(as_rows(frame))) == typed(through_arrow(frame))


def test_a_frame_with_rows_and_no_columns_gives_empty_rows() -> None:
    frame = pandas.DataFrame(index=range(3))
    assert list(as_rows(frame)) == [{}, {}, {}]


def test_extra_column_gives_back_the_other_fields_nulls_included() -> None:
    frame = pandas.DataFrame({"n": [1, 2], EXTRA_COLUMN: ['{"note": null, "k": [1]}', None]})
    assert list(as_rows(frame)) == [{"n": 1, "note": None, "k": [1]}, {"n": 2}]
    table = pa.Table.from_pandas(frame, preserve_index=False)
    assert list(as_rows(table)) == [{"n": 1, "note": None, "k": [1]}, {"n": 2}]


def test_values_pandas_holds_that_arrow_refuses_reach_the_model() -> None:
    """A column of mixed types is one Arrow cannot convert at all: read column by column,
    each row meets the model instead, and only the row that does not fit it fails."""
    from pydantic import BaseModel

    class Row(BaseModel):
        n: int

    frame = pandas.DataFrame({"n": [1, "2", "three"]})
    with pytest.raises((pa.ArrowInvalid, pa.ArrowTypeError)):
        pa.Table.from_pandas(frame)
    rows = list(as_rows(frame, Row))
    assert rows[:2] == [Row(n=1), Row(n=2)] and rows[2] == {"n": "three"}


def test_duplicate_column_names_are_refused() -> None:
    frame = pandas.DataFrame([[1, 2]], columns=["a", "a"])
    table = pa.Table.from_arrays([pa.array([1]), pa.array([2])], names=["a", "a"])
    for duplicated in (frame, table):
        with pytest.raises(ValueError, match=r"duplicate column names \['a'\].*rename"):
            as_rows(duplicated)  # at once, before anything is read or sent


def test_a_sparse_column_is_read_as_its_dense_values() -> None:
    frame = pandas.DataFrame({"n": pandas.arrays.SparseArray([1, 0, 2]), "x": [1.0, NAN, 0.0]})
    dense = pandas.DataFrame({"n": [1, 0, 2], "x": [1.0, NAN, 0.0]})
    assert typed(list(as_rows(frame))) == typed(through_arrow(dense))


def test_missing_values_inside_object_cells_are_null() -> None:
    """NaN, ``pd.NA`` and ``NaT`` at any depth of a cell become null (JSON has no NaN),
    and each value keeps its own type (Arrow would make a column's ints floats, and add
    the keys of the other rows' dicts)."""
    frame = pandas.DataFrame({
        "xs": [[1.5, NAN], [pandas.NA], (None, 2)],
        "meta": [{"k": NAN}, {"k": pandas.NaT, "at": numpy.datetime64("NaT", "ns")}, {}],
    })
    assert typed(list(as_rows(frame))) == typed([
        {"xs": [1.5, None], "meta": {"k": None}},
        {"xs": [None], "meta": {"k": None, "at": None}},
        {"xs": [None, 2], "meta": {}},
    ])


def test_a_column_of_the_frame_wins_over_the_same_field_in_extra() -> None:
    frame = pandas.DataFrame({"note": ["mine", None],
                              EXTRA_COLUMN: ['{"note": "old", "k": 1}', '{"note": "kept"}']})
    assert list(as_rows(frame)) == [{"note": "mine", "k": 1}, {"note": "kept"}]
