"""Queries as dataframes (``to_arrow``, ``to_pandas``, ``to_polars``) and DataFrames into
``bulk_save``, against the real Kinto of the fixtures (``paginate_by=10``: several pages).
"""

from __future__ import annotations

import asyncio
import datetime
import decimal
import enum
import json
import sys
from typing import Any, Literal

import pandas as pd
import polars as pl
import pyarrow as pa
import pytest
from pydantic import BaseModel, Field, field_validator
from typing_extensions import assert_type

from kinto_orm import AsyncClient, Client, Record, dataframes

from .conftest import Raw, rec_path


class Color(enum.Enum):
    RED = "red"
    BLUE = "blue"


class Place(BaseModel):
    city: str
    zip: int | None = None


class Row(Record):
    """Every kind of column the Arrow schema maps."""

    title: str
    count: int
    ratio: float = 0.5
    done: bool = False
    due: datetime.date
    at: datetime.datetime
    color: Color = Color.RED
    status: Literal["draft", "published"] = "draft"
    rank: int | None = None
    tags: list[str] = Field(default_factory=list)
    place: Place | None = None
    price: decimal.Decimal = decimal.Decimal("0")


def rows(count: int) -> list[dict[str, Any]]:
    at = datetime.datetime(2026, 1, 2, 3, 4, 5, tzinfo=datetime.timezone.utc)
    return [
        {"id": f"r{i:02d}", "title": f"row {i}", "count": i, "due": f"2026-03-{i + 1:02d}",
         "at": (at + datetime.timedelta(hours=i)).isoformat(), "color": "blue" if i % 2 else
         "red", "rank": i if i % 3 else None, "tags": ["a", str(i)],
         "place": {"city": "Paris", "zip": 75000 + i} if i % 4 else None, "price": "1.25",
         **({"note": f"extra {i}"} if i % 5 == 0 else {})}
        for i in range(count)
    ]


@pytest.fixture
def query(client: Client, bid: str, cid: str) -> Any:
    """23 rows (three pages) of ``Row`` in a fresh collection."""
    q = client.records(Row, bucket=bid, collection=cid)
    result = q.bulk_save(rows(23), safe=False)
    assert result.ok, result.failed
    return q


def test_to_arrow_has_columns_typed_from_the_model(query: Any) -> None:
    table = query.sort("count").to_arrow()
    assert isinstance(table, pa.Table) and table.num_rows == 23
    schema = table.schema
    assert schema.field("title").type == pa.string()
    assert schema.field("count").type == pa.int64()
    assert schema.field("ratio").type == pa.float64()
    assert schema.field("done").type == pa.bool_()
    assert schema.field("due").type == pa.date32()
    assert schema.field("at").type == pa.timestamp("us", tz="UTC")
    assert schema.field("color").type == pa.dictionary(pa.int32(), pa.string())
    assert schema.field("status").type == pa.dictionary(pa.int32(), pa.string())
    assert schema.field("rank").type == pa.int64() and schema.field("rank").nullable
    assert not schema.field("count").nullable
    assert schema.field("tags").type == pa.list_(pa.string())
    assert schema.field("place").type == pa.struct(
        [pa.field("city", pa.string(), False), pa.field("zip", pa.int64())])
    assert schema.field("price").type == pa.string()  # Decimal: exact, as text
    assert "permissions" not in schema.names
    first, fourth = table.slice(1, 1).to_pylist()[0], table.slice(4, 1).to_pylist()[0]
    assert first["due"] == datetime.date(2026, 3, 2) and first["color"] == "blue"
    assert first["at"] == datetime.datetime(2026, 1, 2, 4, 4, 5, tzinfo=datetime.timezone.utc)
    assert first["place"] == {"city": "Paris", "zip": 75001} and fourth["place"] is None
    assert table.column("rank").null_count == 8  # every third row, as None
    assert isinstance(first["last_modified"], int) and first["id"] == "r01"


def test_extras_as_json_dropped_or_inferred(query: Any) -> None:
    table = query.sort("count").to_arrow()
    extras = table.column(dataframes.EXTRA_COLUMN).to_pylist()
    assert json.loads(extras[5]) == {"note": "extra 5"} and extras[1] is None
    assert dataframes.EXTRA_COLUMN not in query.to_arrow(extras="drop").schema.names
    inferred = query.sort("count").to_arrow(extras="infer")
    assert inferred.schema.field("note").type == pa.string()
    assert inferred.column("note").to_pylist()[:6] == ["extra 0", None, None, None, None,
                                                       "extra 5"]


def test_fields_leave_the_other_columns_empty(query: Any, tmp_path: Any) -> None:
    table = query.fields("title").to_arrow(extras="drop")
    assert table.column("title").null_count == 0 and table.column("count").null_count == 23
    assert table.schema.field("count").nullable  # though `count` is required in the model
    assert dataframes.write_parquet(query.fields("title"), str(tmp_path / "t.parquet")) == 23


def test_pages_are_converted_as_they_arrive(query: Any) -> None:
    tables = list(dataframes.iter_tables(query.filter(count__gte=3)))
    assert [t.num_rows for t in tables] == [10, 10]  # paginate_by=10: two pages of 20
    assert all(t.schema == tables[0].schema for t in tables)


def test_to_pandas_nullable_dtypes(query: Any) -> None:
    frame = query.sort("count").to_pandas()
    assert isinstance(frame, pd.DataFrame) and len(frame) == 23
    dtypes = {name: str(dtype) for name, dtype in frame.dtypes.items()}
    assert dtypes["count"] == "Int64" and dtypes["rank"] == "Int64"
    assert dtypes["done"] == "boolean" and dtypes["ratio"] == "Float64"
    assert dtypes["color"] == "category" and dtypes["at"] == "datetime64[us, UTC]"
    assert dtypes["title"].startswith("str")
    assert frame["rank"].isna().sum() == 8 and frame.loc[1, "due"] == datetime.date(2026, 3, 2)
    assert dtypes["tags"] == "list<item: string>[pyarrow]" and dtypes["place"].startswith("struct")
    assert list(frame.loc[1, "tags"]) == ["a", "1"]
    assert frame.loc[1, "place"] == {"city": "Paris", "zip": 75001}
    arrow_backed = query.to_pandas(dtype_backend="pyarrow")
    assert str(arrow_backed.dtypes["due"]) == "date32[day][pyarrow]"


def test_public_returns_are_typed(client: Client, bid: str, cid: str) -> None:
    query = client.records(Row, bucket=bid, collection=cid)
    assert_type(query.to_pandas(), pd.DataFrame)
    assert_type(query.to_polars(), pl.DataFrame)
    assert isinstance(query.to_arrow(), pa.Table)  # pyarrow ships no type information


def test_to_polars(query: Any) -> None:
    frame = query.filter(done=False).to_polars()
    assert isinstance(frame, pl.DataFrame) and frame.height == 23
    assert frame.schema["due"] == pl.Date and frame.schema["count"] == pl.Int64
    assert frame.schema["at"] == pl.Datetime("us", "UTC")
    assert frame.schema["tags"] == pl.List(pl.String)


def test_async_twins(kinto_server: Any, client: Client, query: Any, bid: str,
                     cid: str) -> None:
    async def main() -> tuple[Any, Any, Any]:
        async with AsyncClient(kinto_server.url, auth=client.session.auth) as aclient:
            aquery = aclient.records(Row, bucket=bid, collection=cid).sort("count")
            return (await aquery.ato_arrow(), await aquery.ato_pandas(),
                    await aquery.ato_polars())

    table, frame, polars_frame = asyncio.run(main())
    assert table.equals(query.sort("count").to_arrow())
    assert frame.equals(query.sort("count").to_pandas())
    assert polars_frame.equals(query.sort("count").to_polars())


def test_empty_query_gives_an_empty_typed_table(client: Client, bid: str, cid: str) -> None:
    table = client.records(Row, bucket=bid, collection=cid).to_arrow()
    assert table.num_rows == 0 and table.schema.field("due").type == pa.date32()
    assert len(client.records(Row, bucket=bid, collection=cid).to_pandas()) == 0


def test_bulk_save_of_a_dataframe_validates_each_row(client: Client, bid: str, cid: str,
                                                     raw: Raw) -> None:
    frame = pd.DataFrame({
        "id": ["a", "b", "c", "d"],
        "title": ["first", "second", None, "fourth"],  # c: a required field missing
        "count": [1, 2, 3, 4],
        "due": [datetime.date(2026, 5, i) for i in (1, 2, 3, 4)],
        "at": pd.to_datetime(["2026-01-01T10:00:00Z"] * 4),
        "color": ["red", "blue", "red", "green"],  # d: not a Color
        "rank": pd.array([1, None, 3, 4], dtype="Int64"),
    })
    query = client.records(Row, bucket=bid, collection=cid)
    seen: list[tuple[int, int | None]] = []
    result = query.bulk_save(frame, progress=lambda done, total: seen.append((done, total)))
    assert result.done == 2 and result.failed_ids == ["c", "d"]
    assert "title" in str(result.failed[0].error) or "title" in str(result.failed[1].error)
    assert all(isinstance(failure.item, dict) for failure in result.failed)  # the rows
    assert seen[-1] == (4, 4)  # the frame's length is the total
    stored = {r["id"]: r for r in raw.all(rec_path(bid, cid))}
    assert set(stored) == {"a", "b"}  # the invalid rows were not sent
    assert stored["a"]["due"] == "2026-05-01" and stored["a"]["rank"] == 1
    assert stored["a"]["at"].startswith("2026-01-01T10:00:00")
    assert "rank" not in stored["b"] or stored["b"]["rank"] is None


def test_round_trip_through_pandas_polars_and_arrow(query: Any, raw: Raw, bid: str,
                                                     cid: str) -> None:
    frame = query.to_pandas()
    frame["count"] = frame["count"] * 10
    assert query.bulk_save(frame, safe=False).done == 23
    stored = {r["id"]: r for r in raw.all(rec_path(bid, cid))}
    assert stored["r05"]["count"] == 50 and stored["r05"]["note"] == "extra 5"  # extras back
    assert stored["r04"]["place"] is None and stored["r05"]["place"]["city"] == "Paris"
    polars_frame = query.to_polars().with_columns(pl.col("title").str.to_uppercase())
    assert query.bulk_save(polars_frame, safe=False).done == 23
    assert raw.data(rec_path(bid, cid, "r01"))["title"] == "ROW 1"
    assert query.bulk_save(query.to_arrow(), safe=False).done == 23


def test_a_missing_extra_names_the_install(monkeypatch: pytest.MonkeyPatch,
                                           query: Any) -> None:
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    with pytest.raises(ImportError, match=r'pip install "kinto-orm\[arrow\]"'):
        query.to_arrow()
    monkeypatch.setitem(sys.modules, "polars", None)
    with pytest.raises(ImportError, match=r'pip install "kinto-orm\[polars\]"'):
        query.to_polars()


# ---------------------------------------------------------------------------- validation


@pytest.fixture
def mixed(query: Any, raw: Raw, bid: str, cid: str) -> Any:
    """The 23 rows plus two records that do not fit ``Row``."""
    good = {key: value for key, value in rows(1)[0].items() if key != "id"}
    raw.put(rec_path(bid, cid, "bad1"), {**good, "count": "many"})
    raw.put(rec_path(bid, cid, "bad2"), {**good, "due": "someday"})
    return query


def test_a_record_that_does_not_fit_is_named(mixed: Any) -> None:
    for read in (lambda q: q.to_arrow(), lambda q: q.to_pandas(), lambda q: q.to_polars()):
        with pytest.raises(ValueError, match=r"(?s)'bad1'.*does not fit Row.*on_invalid"):
            read(mixed.sort("id"))


def test_on_invalid_skip_and_collect(mixed: Any) -> None:
    assert mixed.on_invalid("skip").to_arrow().num_rows == 23
    collecting = mixed.on_invalid("collect").sort("id")
    frame = collecting.to_polars()
    assert frame.height == 23 and "bad1" not in frame["id"].to_list()
    assert sorted(item.id for item in collecting.invalid) == ["bad1", "bad2"]
    assert "count" in str(collecting.invalid[0].error)


def test_async_on_invalid(kinto_server: Any, client: Client, mixed: Any, bid: str,
                          cid: str) -> None:
    async def main() -> tuple[Any, Any]:
        async with AsyncClient(kinto_server.url, auth=client.session.auth) as aclient:
            aquery = aclient.records(Row, bucket=bid, collection=cid).sort("id")
            with pytest.raises(ValueError, match=r"'bad1'.*does not fit Row"):
                await aquery.ato_arrow()
            collecting = aquery.on_invalid("collect")
            frame = await collecting.ato_pandas()
            return frame, collecting.invalid

    frame, invalid = asyncio.run(main())
    assert len(frame) == 23 and sorted(item.id for item in invalid) == ["bad1", "bad2"]


class Checked(Record):
    """A model whose validation changes values: the columns hold what the model made."""

    title: str
    count: int = Field(ge=0)
    label: str = "none"

    @field_validator("title")
    @classmethod
    def shout(cls, value: str) -> str:
        return value.upper()


def test_columns_hold_the_models_values(client: Client, raw: Raw, bid: str,
                                        cid: str) -> None:
    raw.put(rec_path(bid, cid, "a"), {"title": "first", "count": "3"})  # lax: "3" -> 3
    raw.put(rec_path(bid, cid, "b"), {"title": "second", "count": -1})  # ge=0: invalid
    query = client.records(Checked, bucket=bid, collection=cid).on_invalid("collect")
    table = query.to_arrow(extras="drop")
    assert table.to_pylist() == [
        {"id": "a", "last_modified": table.column("last_modified")[0].as_py(),
         "title": "FIRST", "count": 3, "label": "none"}]
    assert [item.id for item in query.invalid] == ["b"]
    assert table.to_pylist()[0] == {**next(iter(query)).to_data(include_meta=True)}


def test_page_table_of_one_page(query: Any) -> None:
    page = next(iter(query.sort("count").pages()))
    table = dataframes.page_table(page.items, dataframes.arrow_schema(Row))
    assert table.equals(query.sort("count").limit(10).to_arrow())
    with pytest.raises(ValueError, match="arrow_schema"):
        dataframes.page_table(page.items, dataframes.arrow_schema(Checked))


def test_abulk_save_of_an_arrow_table(kinto_server: Any, client: Client, bid: str,
                                      cid: str, raw: Raw) -> None:
    table = pa.Table.from_pylist([{**row, "due": datetime.date.fromisoformat(row["due"])}
                                  for row in rows(12)])
    table = table.set_column(2, "count", pa.array([*range(11), None], pa.int64()))

    async def main() -> Any:
        async with AsyncClient(kinto_server.url, auth=client.session.auth) as aclient:
            return await aclient.records(Row, bucket=bid, collection=cid).abulk_save(table)

    result = asyncio.run(main())
    assert result.done == 11 and result.failed_ids == ["r11"]  # count is required
    stored = {r["id"]: r for r in raw.all(rec_path(bid, cid))}
    assert stored["r03"]["due"] == "2026-03-04" and stored["r05"]["note"] == "extra 5"
    assert stored["r03"]["color"] == "blue" and stored["r03"]["count"] == 3
