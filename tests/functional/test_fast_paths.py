"""What the fast paths must not change: objects of one page stay independent, permissions
read lazily are the server's, a batch's results are not the saved models' data, and the
sync transport still reads proxy settings from the environment."""

from __future__ import annotations

import copy
import pickle
from typing import Any

import pytest
from pydantic import ConfigDict

from kinto_orm import Client, KintoException

from .conftest import Note, Raw, rec_path, seed


@pytest.fixture
def notes(client: Client, raw: Raw, bid: str, cid: str) -> list[Note]:
    seed(raw, bid, cid, [{"id": f"n{i}", "title": f"note {i}", "n": i} for i in range(3)])
    return client.records(Note, collection=cid).sort("n").all()


def test_objects_of_one_page_keep_their_own_state(
    client: Client, raw: Raw, bid: str, cid: str, notes: list[Note]
) -> None:
    first, second, third = notes
    first.title = "changed"
    second.bind(client, collection="elsewhere")
    assert first.changes() == {"title": "changed"}
    assert second.changes() == {} and third.changes() == {}
    assert second.path.endswith("/collections/elsewhere/records/n1")
    assert first.path == third.path.replace("n2", "n0") == rec_path(bid, cid, "n0")
    first.patch()
    assert raw.data(rec_path(bid, cid, "n0"))["title"] == "changed"
    assert third.client is client and third.changes() == {}
    third.save()
    assert raw.data(rec_path(bid, cid, "n2"))["title"] == "note 2"


def test_partial_objects_of_one_page_are_refreshed_one_by_one(
    client: Client, raw: Raw, bid: str, cid: str, notes: list[Note]
) -> None:
    first, second = client.records(Note, collection=cid).sort("n").fields("n").all()[:2]
    first.refresh()
    assert first.title == "note 0"
    first.save()  # whole again: save() is allowed
    with pytest.raises(ValueError, match="fields"):
        second.save()


def test_permissions_are_the_servers_until_changed(
    client: Client, raw: Raw, bid: str, cid: str
) -> None:
    raw.put(rec_path(bid, cid, "p"), {"title": "p"}, permissions={"read": ["system.Everyone"]})
    note = client.records(Note, collection=cid).get("p")
    assert note.permissions.read == ["system.Everyone"]
    assert raw.user_id() in note.permissions.write
    note.title = "q"
    note.patch()  # data only: the permissions are not sent again
    note.permissions.read = []
    note.patch()
    assert raw.body(rec_path(bid, cid, "p"))["permissions"].get("read", []) == []
    again = client.records(Note, collection=cid).get("p")
    again.permissions = None  # type: ignore[assignment]
    assert again.permissions.as_dict() == {}


def test_batch_results_are_not_the_saved_models_data(
    client: Client, raw: Raw, bid: str, cid: str
) -> None:
    note = Note.model_validate({"id": "b1", "title": "b", "labels": ["x"]})
    note.bind(client, collection=cid)
    with client.batch():
        note.save()
    assert note.last_modified == raw.data(rec_path(bid, cid, "b1"))["last_modified"]
    note["labels"].append("y")  # an extra field, as the server answered it
    assert client.results()[0]["data"]["labels"] == ["x"]
    assert client.results() == client.results()


def test_proxy_variables_set_later_are_honoured(
    client: Client, cid: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("no_proxy", "NO_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
    query = client.records(Note, collection=cid)
    assert query.count() == 0
    monkeypatch.setenv("http_proxy", "http://127.0.0.1:9")  # nothing listens there
    with pytest.raises(KintoException) as info:
        query.count()
    assert "proxy" in str(info.value).lower()
    monkeypatch.delenv("http_proxy")
    assert query.count() == 0


def test_a_page_read_twice_gives_equal_but_separate_objects(
    client: Client, cid: str, notes: list[Note]
) -> None:
    again: list[Any] = client.records(Note, collection=cid).sort("n").all()
    assert [a.to_data() for a in again] == [n.to_data() for n in notes]
    again[0].title = "other"
    assert notes[0].title == "note 0"


def test_a_response_hook_reading_the_body_leaves_it_to_the_client(
    client: Client, raw: Raw, bid: str, cid: str
) -> None:
    raw.put(rec_path(bid, cid, "h"), {"title": "hooked"})
    seen: list[bytes] = []
    client.session.session.hooks["response"].append(lambda r, *a, **k: seen.append(r.content))
    assert client.records(Note, collection=cid).get("h").title == "hooked"
    assert b"hooked" in seen[-1]


# ---------------------------------------------------------------- the page's shared fields set


@pytest.fixture
def mixed(client: Client, raw: Raw, bid: str, cid: str) -> list[Note]:
    """One page whose records came with different keys (no ``n``, an extra ``colour``)."""
    seed(raw, bid, cid, [
        {"id": "m0", "title": "no n"},
        {"id": "m1", "title": "no n either"},
        {"id": "m2", "title": "full", "n": 2},
        {"id": "m3", "title": "extra", "n": 3, "colour": "red"},
        {"id": "m4", "title": "no n again"},
    ])
    return client.records(Note, collection=cid).sort("id").all()


def _unset_excluded(objects: list[Note]) -> list[list[str]]:
    return [sorted(o.model_dump(exclude_unset=True)) for o in objects]


SHORT = ["id", "last_modified", "title"]
FULL = ["id", "last_modified", "n", "title"]


def test_each_object_of_a_page_keeps_the_keys_it_came_with(mixed: list[Note]) -> None:
    assert _unset_excluded(mixed) == [SHORT, SHORT, FULL, sorted([*FULL, "colour"]), SHORT]
    assert [sorted(o.model_fields_set) for o in mixed] == _unset_excluded(mixed)


def test_setting_fields_on_one_object_of_a_page_leaves_the_others_as_read(
    mixed: list[Note],
) -> None:
    m0, m1, m2, _, m4 = mixed
    m4.permissions = {"read": ["system.Everyone"]}  # type: ignore[assignment]
    m0.n = 1  # Pydantic adds the name to the object's fields set
    m1["colour"] = "blue"  # an extra field: the same
    m2["size"] = 3  # dict-style
    assert _unset_excluded(mixed) == [
        FULL, sorted([*SHORT, "colour"]), sorted([*FULL, "size"]), sorted([*FULL, "colour"]),
        SHORT,
    ]
    assert [sorted(o.model_fields_set) for o in mixed] == [
        FULL, sorted([*SHORT, "colour"]), sorted([*FULL, "size"]), sorted([*FULL, "colour"]),
        sorted([*SHORT, "permissions"]),
    ]


def test_the_fields_set_a_user_changes_is_that_objects_own(notes: list[Note]) -> None:
    first = notes[0]
    first.model_fields_set.discard("n")
    assert "n" not in first.model_dump(exclude_unset=True)
    assert all(o.model_dump(exclude_unset=True)["n"] == i for i, o in enumerate(notes) if i)


def test_copies_of_a_page_object_are_independent(notes: list[Note]) -> None:
    first, second, _ = notes
    updated = first.model_copy(update={"title": "copy"})
    assert updated.title == "copy" and first.title == "note 0"
    shallow = first.model_copy()
    shallow["kind"] = "draft"  # an extra field, on the copy only
    assert "kind" in shallow.model_fields_set
    assert "kind" not in first.model_fields_set and "kind" not in second.model_fields_set
    copies = copy.deepcopy(_unbound(notes))
    assert copies == notes
    copies[0]["size"] = 1
    assert all("size" not in o.model_fields_set for o in [*copies[1:], *notes])


def _unbound(objects: list[Note]) -> list[Note]:
    # Bound objects hold their client, which neither pickles nor deep-copies.
    for obj in objects:
        obj._binding = None
    return objects


def test_objects_of_a_page_unpickled_together_stay_independent(
    client: Client, raw: Raw, bid: str, cid: str, notes: list[Note]
) -> None:
    loaded: list[Note] = pickle.loads(pickle.dumps(_unbound(notes)))
    assert loaded == notes
    loaded[0]["size"] = 1
    loaded[1].n = 10
    assert "size" in loaded[0].model_fields_set
    assert "size" not in loaded[1].model_fields_set and "size" not in loaded[2].model_fields_set
    assert loaded[2].model_dump(exclude_unset=True) == notes[2].model_dump(exclude_unset=True)
    loaded[1].bind(client, collection=cid).patch()
    assert raw.data(rec_path(bid, cid, "n1"))["n"] == 10


class Tagged(Note):
    tag: str = ""


class TaggedUncached(Tagged):
    model_config = ConfigDict(cache_strings="keys")


def test_a_page_parses_strings_as_the_models_cache_strings_says(
    client: Client, raw: Raw, bid: str, cid: str
) -> None:
    seed(raw, bid, cid, [{"id": f"t{i}", "title": f"t {i}", "tag": "urgent"} for i in range(3)])
    shared = client.records(Tagged, collection=cid).sort("id").all()
    own = client.records(TaggedUncached, collection=cid).sort("id").all()
    # By default a short value repeated from record to record is one string (memory).
    assert shared[0].tag is shared[1].tag is shared[2].tag
    # With cache_strings="keys" on the model, as for its model_validate_json().
    assert own[0].tag == own[1].tag == "urgent" and own[0].tag is not own[1].tag
    single = TaggedUncached.model_validate_json(b'{"id": "x", "title": "x", "tag": "urgent"}')
    assert single.tag is not own[0].tag
