"""Conflict resolution: two editors, one record, no lost update.

Kinto's optimistic concurrency: every write says which version it replaces
(``If-Match``); when someone else changed the record meanwhile the server answers 412
and kinto-orm raises ``PreconditionFailed`` with the server's copy in ``.existing``.

    python examples/conflicts.py            # embedded local Kinto
"""

from __future__ import annotations

import sys

from kinto_orm import Client, PreconditionFailed, Record
from kinto_orm.testing import KintoServer, new_credentials


class Article(Record, bucket="news", collection="articles"):
    title: str
    body: str = ""
    tags: list[str] = []


def save_with_merge(article: Article, attempts: int = 3) -> Article:
    """Save our changes; on a conflict, re-apply them on top of the server's version."""
    ours = article.changes()
    for _ in range(attempts):
        try:
            return article.patch()                  # only our changed fields, If-Match
        except PreconditionFailed as conflict:
            print(f"  conflict: the server has {conflict.existing}")
            article.refresh()                       # take their version...
            for field, value in ours.items():       # ...and put our changes back on top
                if field == "tags":
                    value = sorted(set(article.tags) | set(value))
                article[field] = value
    raise RuntimeError("gave up after repeated conflicts")


def run(server_url: str) -> None:
    credentials = new_credentials()
    alice = Client(server_url, auth=credentials)
    bob = Client(server_url, auth=credentials)
    alice.bucket("news").create(if_not_exists=True)
    alice.collection("articles", bucket="news").create(if_not_exists=True)
    Article(id="kinto", title="Kinto 26", tags=["release"]).bind(alice).save()

    mine = alice.records(Article).get("kinto")
    theirs = bob.records(Article).get("kinto")

    theirs.body = "Bob wrote the body."
    theirs.tags = [*theirs.tags, "storage"]
    theirs.patch()
    print("bob saved his version")

    mine.title = "Kinto 26 is out"
    mine.tags = [*mine.tags, "python"]
    print("alice saves hers, based on an older version:")
    save_with_merge(mine)

    final = alice.records(Article).get("kinto")
    print(f"final: title={final.title!r} body={final.body!r} tags={final.tags}")
    assert final.body == "Bob wrote the body." and final.title == "Kinto 26 is out"
    assert set(final.tags) == {"release", "storage", "python"}

    stale = Article(id="kinto", title="overwrite?").bind(bob)
    try:
        stale.save()       # no last_modified known: If-None-Match: *, refuses to overwrite
    except PreconditionFailed:
        print("a blind save of an existing record is refused (use safe=False to force)")


def main() -> None:
    if len(sys.argv) > 1:
        run(sys.argv[1])
        return
    with KintoServer(history=False, attachments=False) as server:
        run(server.url)


if __name__ == "__main__":
    main()
