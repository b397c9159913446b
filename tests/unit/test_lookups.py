"""Query lookups -> Kinto filters, their negation in exclude(), and value encoding."""

from __future__ import annotations

import datetime
import decimal
import json
import uuid

import pytest
from pydantic import BaseModel

from kinto_orm import Client, Record
from kinto_orm.lookups import LOOKUPS, encode_value, lookup

from .conftest import FakeSend, make_response


def kinto_native_value(value: str):
    """What Kinto does with a filter value (``kinto.core.utils.native_value``)."""
    try:
        return json.loads(value)
    except ValueError:
        return value


# (lookup suffix, value, Kinto parameter, encoded value, negated parameter, negated value)
# A negated parameter of None: the lookup has no negation and exclude() refuses it.
MAPPINGS = [
    ("", 3, "priority", "3", "not_priority", "3"),
    ("__eq", 3, "priority", "3", "not_priority", "3"),
    ("__ne", 3, "not_priority", "3", "priority", "3"),
    ("__lt", 3, "lt_priority", "3", "min_priority", "3"),
    ("__lte", 3, "max_priority", "3", "gt_priority", "3"),
    ("__gt", 3, "gt_priority", "3", "max_priority", "3"),
    ("__gte", 3, "min_priority", "3", "lt_priority", "3"),
    ("__in", [1, 2], "in_priority", "1,2", "exclude_priority", "1,2"),
    ("__not_in", [1, 2], "exclude_priority", "1,2", "in_priority", "1,2"),
    ("__like", "hi*", "like_priority", "hi*", None, None),
    ("__has", True, "has_priority", "true", "has_priority", "false"),
    ("__contains", [1], "contains_priority", "[1]", None, None),
    ("__contains_any", [1, 2], "contains_any_priority", "[1, 2]", None, None),
]


def test_every_lookup_is_in_the_table():
    assert {suffix.removeprefix("__") for suffix, *_ in MAPPINGS} - {""} == set(LOOKUPS)


@pytest.mark.parametrize(("suffix", "value", "param", "encoded", "_n", "_nv"), MAPPINGS)
def test_lookup(suffix, value, param, encoded, _n, _nv):
    assert lookup("priority" + suffix, value) == (param, encoded)


@pytest.mark.parametrize(
    ("suffix", "value", "_p", "_e", "negated", "negated_value"),
    [m for m in MAPPINGS if m[4] is not None],
)
def test_lookup_negated(suffix, value, _p, _e, negated, negated_value):
    assert lookup("priority" + suffix, value, negate=True) == (negated, negated_value)


@pytest.mark.parametrize("suffix", [m[0] for m in MAPPINGS if m[4] is None])
def test_lookups_without_negation_are_refused_in_exclude(suffix):
    with pytest.raises(ValueError, match="no negated form"):
        lookup("priority" + suffix, ["x"] if "contains" in suffix else "x", negate=True)


@pytest.mark.parametrize(("value", "negate", "expected"), [
    (True, False, "true"), (False, False, "false"), (True, True, "false"), (False, True, "true"),
])
def test_has_lookup_values(value, negate, expected):
    assert lookup("tag__has", value, negate=negate) == ("has_tag", expected)


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("author__name", "ann", ("author.name", "ann")),
        ("author__name__gte", "a", ("min_author.name", "a")),
        ("a__b__c__in", ["x"], ("in_a.b.c", "x")),
        ("author.name", "ann", ("author.name", "ann")),
        ("author.name__ne", "ann", ("not_author.name", "ann")),
        ("last_modified__gt", 1700000000000, ("gt_last_modified", "1700000000000")),
        ("id__in", ["a", "b"], ("in_id", "a,b")),
    ],
)
def test_dotted_fields(key, value, expected):
    assert lookup(key, value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (["a", "b"], "a,b"),
        (("a", 1, True, None), "a,1,true,null"),
        (["42", "true", "null"], '"42","true","null"'),
        ([], ""),
    ],
)
def test_in_values_are_encoded_one_by_one(value, expected):
    assert lookup("tag__in", value) == ("in_tag", expected)


def test_in_accepts_sets():
    name, encoded = lookup("tag__in", {"a", "b"})
    assert name == "in_tag"
    assert sorted(encoded.split(",")) == ["a", "b"]


@pytest.mark.parametrize("value", ["abc", b"abc", 3, None])
def test_in_takes_a_list(value):
    with pytest.raises(TypeError, match="takes a list"):
        lookup("tag__in", value)
    with pytest.raises(TypeError, match="takes a list"):
        lookup("tag__not_in", value)


@pytest.mark.parametrize(
    ("value", "expected"),
    [("a", '"a"'), (["a", 1], '["a", 1]'), ({"k": "v"}, '{"k": "v"}'),
     (datetime.date(2024, 1, 2), '"2024-01-02"')],
)
def test_contains_values_are_json(value, expected):
    assert lookup("tags__contains", value) == ("contains_tags", expected)
    assert lookup("tags__contains_any", value) == ("contains_any_tags", expected)


def test_like_takes_a_string():
    assert lookup("title__like", "*ello") == ("like_title", "*ello")
    assert lookup("title__like", "42") == ("like_title", '"42"')
    with pytest.raises(TypeError, match="string pattern"):
        lookup("title__like", 42)


@pytest.mark.parametrize(
    "key", ["title__startswith", "title__icontains", "title__iexact",
            "due__range", "x__isnull", "title__regex", "title__not"],
)
def test_foreign_lookups_are_refused_with_a_hint(key):
    with pytest.raises(ValueError, match=r"Unknown lookup.*__like"):
        lookup(key, "x")


@pytest.mark.parametrize("key", ["__gte", "a____b", "a__", "__"])
def test_empty_field_names_are_refused(key):
    with pytest.raises(ValueError, match="empty field name"):
        lookup(key, 1)


# ---------------------------------------------------------------------------- encode_value


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("42", '"42"'),
        ("-1.5", '"-1.5"'),
        ("1e3", '"1e3"'),
        ("true", '"true"'),
        ("false", '"false"'),
        ("null", '"null"'),
        ("[1]", '"[1]"'),
        ('{"a": 1}', '"{\\"a\\": 1}"'),
        ("hello", "hello"),
        ("", ""),
        ("hello world", "hello world"),
        ("2024-01-02", "2024-01-02"),
        (42, "42"),
        (-3, "-3"),
        (1.5, "1.5"),
        (True, "true"),
        (False, "false"),
        (None, "null"),
        (datetime.date(2024, 1, 2), "2024-01-02"),
        (datetime.datetime(2024, 1, 2, 3, 4, 5), "2024-01-02T03:04:05"),
        (uuid.UUID("12345678-1234-5678-1234-567812345678"),
         "12345678-1234-5678-1234-567812345678"),
    ],
)
def test_encode_value(value, expected):
    assert encode_value(value) == expected


@pytest.mark.parametrize(
    "text",
    ["42", "007", "true", "null", "[1, 2]", '{"a": 1}', "1.5", " 7", "hello", "", "a,b",
     "2024-01-02", "NaN", "Infinity"],
)
def test_kinto_reads_back_the_string_that_was_meant(text):
    assert kinto_native_value(encode_value(text)) == text


def test_kinto_reads_back_a_string_with_quotes():
    # Regression: a JSON string literal went unquoted and Kinto stripped its quotes.
    text = '"quoted"'
    assert kinto_native_value(encode_value(text)) == text


@pytest.mark.parametrize("value", [42, 0, -7, 2.5, True, False, None])
def test_kinto_reads_back_json_values(value):
    assert kinto_native_value(encode_value(value)) == value


@pytest.mark.parametrize("value", [{"a": 1}, [1], decimal.Decimal("1.5"), object(), b"x"])
def test_encode_value_refuses_other_types(value):
    with pytest.raises(TypeError, match="Cannot filter on"):
        encode_value(value)


# ---------------------------------------------------------------------------- Query


class Author(BaseModel):
    name: str


class Todo(Record, bucket="blog", collection="todos"):
    title: str
    done: bool = False
    priority: int = 0
    tag: str | None = None
    status: str = "open"
    author: Author | None = None


def first_request(query):
    """The params of the first request ``query`` sends, answered with an empty page."""
    send = FakeSend([make_response(200, {"data": []})])
    query._client.session.send = send
    assert query.all() == []
    assert len(send.requests) == 1
    return send.requests[0]


@pytest.fixture
def client():
    return Client("http://kinto.test/v1")


def test_query_builds_filters_sort_fields_and_limits(client):
    query = (
        client.records(Todo)
        .filter(done=False, priority__gte=3, title="42", author__name="ann")
        .exclude(tag__in=["x", "y"], status="archived")
        .sort("-priority", "title", "author__name")
        .fields("title", "author__name")
        .page_size(200)
    )
    request = first_request(query)
    assert request.method == "GET"
    assert request.path == "/buckets/blog/collections/todos/records"
    assert request.params == {
        "done": "false",
        "min_priority": "3",
        "title": '"42"',
        "author.name": "ann",
        "exclude_tag": "x,y",
        "not_status": "archived",
        "_sort": "-priority,title,author.name",
        "_fields": "title,author.name",
        "_limit": "200",
    }


def test_query_limit_caps_the_page_size(client):
    assert first_request(client.records(Todo).limit(5)).params == {"_limit": "5"}
    assert first_request(client.records(Todo).page_size(50).limit(5)).params == {"_limit": "5"}
    assert first_request(client.records(Todo).page_size(2).limit(5)).params == {"_limit": "2"}


def test_query_since_and_before(client):
    params = first_request(client.records(Todo).since(10).before('"20"')).params
    assert params == {"_since": '"10"', "_before": '"20"'}
    with pytest.raises(ValueError):
        client.records(Todo).since("yesterday")


def test_query_builders_return_new_queries(client):
    base = client.records(Todo)
    narrowed = base.filter(done=True).sort("title").limit(1)
    assert narrowed is not base
    assert not first_request(base).params
    assert first_request(narrowed).params == {"done": "true", "_sort": "title", "_limit": "1"}


def test_query_sends_nothing_until_read(client):
    send = FakeSend()
    client.session.send = send
    client.records(Todo).filter(done=True).exclude(title="x").sort("title").limit(3)
    assert send.requests == []


@pytest.mark.parametrize(
    "build",
    [
        lambda q: q.sort(""),
        lambda q: q.sort("-"),
        lambda q: q.fields(""),
        lambda q: q.page_size(0),
        lambda q: q.page_size(-1),
        lambda q: q.limit(-1),
        lambda q: q.on_invalid("ignore"),
        lambda q: q.filter(title__startswith="a"),
        lambda q: q.exclude(title__like="a"),
    ],
)
def test_query_builders_refuse_bad_arguments(client, build):
    with pytest.raises(ValueError):
        build(client.records(Todo))


def test_nested_fields_named_like_foreign_lookups_are_fields():
    assert lookup("event__date__gte", "2026-01-01") == ("min_event.date", "2026-01-01")
    assert lookup("stats__max", 3) == ("stats.max", "3")


def test_the_same_kinto_filter_twice_with_two_values_is_refused():
    from kinto_orm.lookups import merge_lookups

    with pytest.raises(ValueError, match="one value per filter"):
        first = merge_lookups({}, {"price__lt": 3}, negate=False)
        merge_lookups(first, {"price__gte": 10}, negate=True)
    assert merge_lookups({"lt_price": "3"}, {"price__lt": 3}, negate=False) == {"lt_price": "3"}
