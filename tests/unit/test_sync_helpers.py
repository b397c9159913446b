"""The pure parts of reconcile, history snapshots, grants and capability checks (no
server: these take decisions on data; the functional tests check them live)."""

from __future__ import annotations

from typing import Any

import pytest

from kinto_orm import MissingCapability, Record
from kinto_orm.capabilities import requires
from kinto_orm.grants import _pointer, permission_name
from kinto_orm.history import HistoryUnavailable, rebuild
from kinto_orm.protocol import Request, Response, start
from kinto_orm.reconcile import (
    Desired,
    ReconcileFailure,
    ReconcileReport,
    data_changes,
    diff,
    permission_changes,
    prepare,
    write_request,
)


class Item(Record):
    title: str


# ---------------------------------------------------------------------------- reconcile


def test_data_changes_ignore_server_stamps() -> None:
    stored = {"id": "a", "title": "x", "last_modified": 5, "schema": 4}
    assert data_changes({"id": "a", "title": "x"}, stored) == []
    assert data_changes({"id": "a", "title": "y", "n": None}, stored) == ["n", "title"]
    assert data_changes({"id": "a"}, stored) == ["title"]  # a removed field is a change


def test_permission_changes_only_named_and_not_the_writer() -> None:
    stored = {"read": ["a", "b"], "write": ["me", "bob"]}
    assert permission_changes({"read": ["b", "a"]}, stored, "me") == []
    assert permission_changes({"write": ["bob"]}, stored, "me") == []
    assert permission_changes({"write": ["bob"]}, stored, None) == ["permissions.write"]
    assert permission_changes({"read": []}, stored, "me") == ["permissions.read"]
    assert permission_changes({"record:create": []}, stored, "me") == []


def test_prepare_validates_dicts_and_keeps_bad_ids_from_deletion() -> None:
    failed: list[ReconcileFailure] = []
    desired, keep = prepare(
        [{"id": "a", "title": "x"}, {"id": "b", "title": 1}, {"title": "no id"},
         {"id": "a", "title": "again"}, Item(id="c", title="z")],
        Item, failed,
    )
    assert list(desired) == ["a", "c"] and keep == {"a", "b"}
    assert [(f.id, f.action) for f in failed] == [
        ("b", "validate"), (None, "validate"), ("a", "validate")]
    assert desired["a"].data == {"id": "a", "title": "x"}


def test_prepare_refuses_partial_records() -> None:
    partial = Item(id="p", title="x")
    partial._partial = True  # as read with query.fields(...)
    failed: list[ReconcileFailure] = []
    desired, keep = prepare([partial], None, failed)
    assert desired == {} and keep == {"p"} and "fields()" in failed[0].reason


def test_prepare_takes_the_model_of_the_instances() -> None:
    desired, _ = prepare([Item(id="a", title="x"), {"id": "b", "title": "y"}], None, [])
    assert isinstance(desired["b"].obj, Item)


def test_diff_plans_each_kind_of_write() -> None:
    want = {rid: Desired(Item(id=rid, title=rid), {"id": rid, "title": rid}, {})
            for rid in ("same", "changed", "new")}
    stored = {
        "same": {"id": "same", "title": "same", "last_modified": 1},
        "changed": {"id": "changed", "title": "old", "last_modified": 2},
        "extra": {"id": "extra", "last_modified": 3},
        "invalid": {"id": "invalid", "last_modified": 4},
    }
    report = ReconcileReport()
    plan = diff(want, stored, {}, delete_missing=True, keep={"invalid"}, writer=None,
                report=report)
    assert [(a, rid, lm) for a, rid, _, lm in plan.writes] == [
        ("update", "changed", 2), ("create", "new", None), ("delete", "extra", 3)]
    assert report.unchanged == ["same"] and report.changes == {"changed": ["title"]}


def test_write_requests_are_conditional_and_keep_unnamed_permissions() -> None:
    want = Desired(Item(id="a", title="x"), {"id": "a", "title": "x"}, {"read": ["bob"]})
    update = write_request("/p", "update", want, 7, {"write": ["me"], "read": ["old"]})
    assert update.headers == {"If-Match": '"7"'}
    assert update.json["permissions"] == {"write": ["me"], "read": ["bob"]}
    create = write_request("/p", "create", want, None, None)
    assert create.headers == {"If-None-Match": "*"} and create.method == "PUT"
    plain = Desired(want.obj, want.data, {})
    assert "permissions" not in write_request("/p", "update", plain, 7, None).json
    delete = write_request("/p", "delete", None, 9, None)
    assert (delete.method, delete.headers) == ("DELETE", {"If-Match": '"9"'})


def test_report_text() -> None:
    report = ReconcileReport(created=["n"], updated=["u"], unchanged=["s"],
                             changes={"u": ["title", "permissions.read"]},
                             failed=[ReconcileFailure("x", "update", "changed meanwhile")])
    assert report.rows() == [("create", "n", ""), ("update", "u", "title, permissions.read"),
                             ("failed update", "x", "changed meanwhile")]
    assert str(report).splitlines()[0] == (
        "1 created, 1 updated, 0 deleted, 1 unchanged, 1 failed")
    assert report.writes == 2 and not report.ok
    many = ReconcileReport(created=[f"r{i}" for i in range(5)])
    assert many.summary(max_rows=2).splitlines()[-1] == "  ... and 3 more"


# ---------------------------------------------------------------------------- history


def entry(rid: str | None, action: str, stamp: int, **data: Any) -> dict[str, Any]:
    resource = "record" if rid else "collection"
    target = {"data": {"id": rid, "last_modified": stamp, **data}, "permissions": {"read": []}}
    return {"resource_name": resource, "record_id": rid, "action": action,
            "last_modified": stamp + 1, "target": target}


HISTORY = [
    entry(None, "create", 10),
    entry("a", "create", 20, title="a1"),
    entry("b", "create", 30, title="b1"),
    entry("a", "update", 40, title="a2"),
    entry("b", "delete", 50),
    entry("c", "create", 60, title="c1"),
]


def titles(bodies: list[dict[str, Any]]) -> dict[str, Any]:
    return {b["data"]["id"]: b["data"].get("title") for b in bodies}


def test_rebuild_at_each_moment() -> None:
    assert titles(rebuild(HISTORY, [], 10, "c")) == {}
    assert titles(rebuild(HISTORY, [], 35, "c")) == {"a": "a1", "b": "b1"}
    assert titles(rebuild(HISTORY, [], 55, "c")) == {"a": "a2"}
    assert titles(rebuild(HISTORY, [], 99, "c")) == {"a": "a2", "c": "c1"}


def test_rebuild_refuses_what_history_cannot_tell() -> None:
    with pytest.raises(HistoryUnavailable, match="only reaches back") as caught:
        rebuild(HISTORY, [], 5, "c")
    assert caught.value.reaches_back_to == 10
    purged = [e for e in HISTORY if not (e["record_id"] == "a" and e["action"] == "create")]
    with pytest.raises(HistoryUnavailable, match="record 'a'"):
        rebuild(purged, [], 30, "c")
    with pytest.raises(HistoryUnavailable, match="No history"):
        rebuild([], [], 30, "c")
    untracked = {"id": "z", "last_modified": 70}
    with pytest.raises(HistoryUnavailable, match="without a history entry"):
        rebuild(HISTORY, [untracked], 65, "c")


def test_rebuild_forgets_records_of_a_deleted_collection() -> None:
    recreated = [*HISTORY, entry(None, "delete", 70), entry(None, "create", 80),
                 entry("d", "create", 90, title="d1")]
    assert titles(rebuild(recreated, [], 65, "c")) == {"a": "a2", "c": "c1"}
    assert titles(rebuild(recreated, [], 75, "c")) == {}         # the collection was gone
    assert titles(rebuild(recreated, [], 95, "c")) == {"d": "d1"}


def test_rebuild_keeps_records_unchanged_since_before() -> None:
    old = {"id": "z", "title": "old", "last_modified": 15}
    assert titles(rebuild(HISTORY, [old], 35, "c")) == {"a": "a1", "b": "b1", "z": "old"}


# ---------------------------------------------------------------------------- grants


def test_permission_names_and_pointers() -> None:
    assert permission_name("record_create") == "record:create"
    with pytest.raises(ValueError, match="Unknown permission"):
        permission_name("admin")
    assert _pointer("read", "/buckets/b/groups/g") == "/permissions/read/~1buckets~1b~1groups~1g"
    assert _pointer("read", "a~b") == "/permissions/read/a~0b"


# ---------------------------------------------------------------------------- capabilities


class Info:
    """Just enough of a client for the decorator: a server description."""

    server_url = "http://kinto.example/v1"

    def __init__(self, capabilities: dict[str, Any] | None, dry_mode: bool = False) -> None:
        self.capabilities = capabilities
        self.session = type("Session", (), {"dry_mode": dry_mode})()

    def _op_server_info(self) -> Any:
        if self.capabilities is None:
            response = yield Request("GET", "/")
            return response.json()
        return {"capabilities": self.capabilities}
        yield  # pragma: no cover


@requires("history")
def _op_thing(client: Any, id: str) -> Any:
    if "/" in id:
        raise ValueError("bad id")
    response = yield Request("GET", f"/things/{id}")
    return response.status


def test_requires_sends_first_and_explains_a_404_afterwards() -> None:
    """kinto-http's methods send their request as kinto-http does: no GET /v1/ first;
    only a 404 makes them read the capabilities (then MissingCapability, keeping the 404)."""
    from kinto_orm.protocol import Headers, resume
    from kinto_orm.protocol.errors import NotFound

    with pytest.raises(ValueError):
        start(_op_thing(Info({}), "a/b"))          # bad arguments first, nothing sent
    op = _op_thing(Info(None), "a")
    step = start(op)
    assert isinstance(step, Request) and step.path == "/things/a"  # no probe
    assert resume(op, Response(200, Headers(), b"{}", step)).value == 200  # type: ignore[union-attr]

    op = _op_thing(Info(None), "a")
    step = start(op)
    assert isinstance(step, Request)
    missing = NotFound("404 - {}", request=step, response=Response(404, Headers(), b"{}", step))
    probe = resume(op, error=missing)
    assert isinstance(probe, Request) and probe.path == "/"  # read after the 404
    with pytest.raises(MissingCapability, match="history plugin") as caught:
        resume(op, Response(200, Headers(), b'{"capabilities": {}}', probe))
    assert caught.value.status_code == 404 and caught.value.__cause__ is missing

    op = _op_thing(Info({"history": {}}), "a")      # the plugin is there: a real 404
    step = start(op)
    assert isinstance(step, Request)
    with pytest.raises(NotFound) as real:
        resume(op, error=missing)
    assert not isinstance(real.value, MissingCapability)
