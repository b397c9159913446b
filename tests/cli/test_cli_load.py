"""``kinto-orm load``, kinto-wizard style, run as a user runs it (the console script in a
subprocess) against the real Kinto of the fixtures: unchanged objects are skipped (their
timestamps do not move), ``--delete-records``, a ``--dry-run`` plan, and attachments sent
again only when their hash differs.
"""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
from pathlib import Path
from typing import Any

from kinto_orm import Record

from .conftest import SCRIPT, Cli


def kinto_orm(cli: Cli, *args: str) -> subprocess.CompletedProcess[str]:
    run = subprocess.run([SCRIPT, *args], capture_output=True, text=True, env=cli.env(),
                         timeout=120, stdin=subprocess.DEVNULL)
    assert "Traceback" not in run.stderr, run.stderr
    return run


def stamps(cli: Cli, bucket: str) -> dict[str, Any]:
    """Every timestamp of a bucket: its own, its collections', its records'."""
    client = cli.client
    found: dict[str, Any] = {"bucket": client.get_bucket(id=bucket)["data"]["last_modified"]}
    for coll in client.get_collections(bucket=bucket):
        found[coll["id"]] = coll["last_modified"]
        for record in client.get_records(bucket=bucket, collection=coll["id"]):
            found[f"{coll['id']}/{record['id']}"] = record["last_modified"]
    return found


def seeded_dump(cli: Cli, tmp_path: Path) -> tuple[Path, str]:
    """A bucket with a group, two collections and records, dumped; and a copy loaded
    from the dump (the bucket the tests then load into again)."""
    cli.client.create_group(id="editors", bucket=cli.bucket, data={"members": ["alice"]})
    cli.seed("posts", [{"id": f"p{i}", "title": f"Post {i}"} for i in range(12)],
             data={"cache_expires": 60})
    cli.seed("notes", [{"id": "n1", "text": "hello"}])
    cli.client.update_record(id="p0", data={"title": "public"}, bucket=cli.bucket,
                             collection="posts", permissions={"read": ["system.Everyone"]})
    dump = tmp_path / "blog.json"
    assert kinto_orm(cli, "dump", "-b", cli.bucket, "-o", str(dump)).returncode == 0
    copy = cli.new_bucket_id("copy")
    first = kinto_orm(cli, "load", "-b", copy, str(dump))
    assert first.returncode == 0, first.stderr
    assert "  posts: 12 created, 0 updated, 0 deleted, 0 unchanged" in first.stderr
    return dump, copy


def test_load_again_changes_nothing_and_moves_no_timestamp(cli: Cli, tmp_path: Path) -> None:
    dump, copy = seeded_dump(cli, tmp_path)
    before = stamps(cli, copy)
    run = kinto_orm(cli, "load", "-b", copy, str(dump))
    assert run.returncode == 0, run.stderr
    assert run.stderr.splitlines() == [
        "  notes: 0 created, 0 updated, 0 deleted, 1 unchanged",
        "  posts: 0 created, 0 updated, 0 deleted, 12 unchanged",
        f"loaded bucket {copy}",
    ] or run.stderr.splitlines() == [
        "  posts: 0 created, 0 updated, 0 deleted, 12 unchanged",
        "  notes: 0 created, 0 updated, 0 deleted, 1 unchanged",
        f"loaded bucket {copy}",
    ], run.stderr
    assert stamps(cli, copy) == before
    group = cli.client.get_group(id="editors", bucket=copy)["data"]
    assert group["members"] == ["alice"]


def test_load_writes_only_what_differs(cli: Cli, tmp_path: Path) -> None:
    dump, copy = seeded_dump(cli, tmp_path)
    cli.client.update_record(id="p3", data={"title": "edited"}, bucket=copy, collection="posts")
    cli.client.delete_record(id="p4", bucket=copy, collection="posts")
    # Permissions are compared too: p0 lost its public read in the copy.
    cli.client.update_record(id="p0", data={"title": "public"}, bucket=copy,
                             collection="posts", permissions={"read": []})
    before = stamps(cli, copy)
    run = kinto_orm(cli, "load", "-b", copy, str(dump))
    assert run.returncode == 0, run.stderr
    assert "  posts: 1 created, 2 updated, 0 deleted, 9 unchanged" in run.stderr.splitlines()
    after = stamps(cli, copy)
    moved = {key for key in after if after[key] != before.get(key)}
    assert moved == {"posts/p0", "posts/p3", "posts/p4"}, moved
    assert cli.records("posts", copy)["p3"]["title"] == "Post 3"
    public = cli.client.get_record(id="p0", bucket=copy, collection="posts")
    assert public["permissions"]["read"] == ["system.Everyone"]


def test_load_delete_records_removes_what_the_dump_lacks(cli: Cli, tmp_path: Path) -> None:
    dump, copy = seeded_dump(cli, tmp_path)
    cli.client.create_record(data={"id": "stray"}, bucket=copy, collection="posts")
    run = kinto_orm(cli, "load", "-b", copy, str(dump))
    assert "stray" in cli.records("posts", copy)  # kept without the option
    assert "  posts: 0 created, 0 updated, 0 deleted, 12 unchanged" in run.stderr.splitlines()
    run = kinto_orm(cli, "load", "--delete-records", "-b", copy, str(dump))
    assert run.returncode == 0, run.stderr
    assert "  posts: 0 created, 0 updated, 1 deleted, 12 unchanged" in run.stderr.splitlines()
    assert "stray" not in cli.records("posts", copy) and len(cli.records("posts", copy)) == 12


def test_load_dry_run_shows_the_plan_and_writes_nothing(cli: Cli, tmp_path: Path) -> None:
    dump, copy = seeded_dump(cli, tmp_path)
    cli.client.update_record(id="p3", data={"title": "edited"}, bucket=copy, collection="posts")
    cli.client.create_record(data={"id": "stray"}, bucket=copy, collection="posts")
    cli.client.delete_collection(id="notes", bucket=copy)
    cli.client.patch_group(id="editors", bucket=copy, data={"members": ["bob"]})
    before = stamps(cli, copy)
    run = kinto_orm(cli, "load", "--dry-run", "--delete-records", "-b", copy, str(dump))
    assert run.returncode == 0, run.stderr
    assert stamps(cli, copy) == before
    assert "notes" not in {c["id"] for c in cli.client.get_collections(bucket=copy)}
    rows = [re.split(r"\s{2,}", line.strip()) for line in run.stdout.splitlines()]
    assert ["Plan (nothing written)"] in rows
    assert [f"bucket {copy}", "unchanged"] in rows
    assert ["group editors", "update"] in rows
    assert ["collection posts", "unchanged",
            "0 created, 1 updated, 1 deleted, 11 unchanged"] in rows
    assert ["collection notes", "create", "1 created, 0 updated, 0 deleted, 0 unchanged"] in rows
    assert "\x1b" not in run.stdout  # a pipe gets plain text
    quiet = kinto_orm(cli, "load", "-q", "--dry-run", "-b", copy, str(dump))
    assert (quiet.returncode, quiet.stdout, quiet.stderr) == (0, "", "")


def test_load_sends_attachments_only_when_their_hash_differs(cli: Cli, tmp_path: Path) -> None:
    cli.seed("files", [{"id": "plain"}, {"id": "doc", "title": "Q3 report"}])
    report = tmp_path / "report.txt"
    report.write_bytes(b"quarterly numbers\n" * 50)
    cli.client.collection("files", bucket=cli.bucket).record("doc").bind(cli.client) \
        .attach(report, "text/plain")
    folder, dump = tmp_path / "files", tmp_path / "blog.json"
    run = kinto_orm(cli, "dump", "-b", cli.bucket, "-o", str(dump), "--attachments", str(folder))
    assert run.returncode == 0, run.stderr
    saved = folder / "files" / "doc" / "report.txt"
    assert saved.read_bytes() == report.read_bytes()

    copy = cli.new_bucket_id("copy")
    run = kinto_orm(cli, "load", "-b", copy, str(dump), "--attachments", str(folder))
    assert run.returncode == 0, run.stderr
    assert "  files: 2 created, 0 updated, 0 deleted, 0 unchanged, 1 file(s) sent" \
        in run.stderr.splitlines()
    doc = cli.client.collection("files", bucket=copy).record("doc").bind(cli.client).refresh()
    assert doc.attachment is not None
    digest = hashlib.sha256(report.read_bytes()).hexdigest()
    assert doc.attachment.hash == digest and doc["title"] == "Q3 report"
    location = doc.attachment.location
    assert location != cli.records("files")["doc"]["attachment"]["location"]  # its own copy
    source = cli.client.collection("files", bucket=cli.bucket).record("doc").bind(cli.client)
    assert Path(source.refresh().download(tmp_path / "check")).read_bytes() == \
        report.read_bytes()  # the source's file is still there

    before = stamps(cli, copy)
    run = kinto_orm(cli, "load", "-b", copy, str(dump), "--attachments", str(folder))
    assert "  files: 0 created, 0 updated, 0 deleted, 2 unchanged" in run.stderr.splitlines()
    assert stamps(cli, copy) == before  # same hash: not sent again

    other = tmp_path / "other.txt"
    other.write_bytes(b"something else")
    doc.attach(other)  # the copy's file now differs from the dump's
    run = kinto_orm(cli, "load", "-b", copy, str(dump), "--attachments", str(folder))
    assert run.returncode == 0, run.stderr
    assert "1 file(s) sent" in run.stderr
    assert Path(source.refresh().download(tmp_path / "check2")).read_bytes() == \
        report.read_bytes()
    again = cli.client.collection("files", bucket=copy).record("doc", Record) \
        .bind(cli.client).refresh()
    assert again.attachment is not None and again.attachment.hash == digest


def test_load_reports_records_the_server_refuses(cli: Cli, tmp_path: Path) -> None:
    dump, copy = seeded_dump(cli, tmp_path)
    data = json.loads(dump.read_text())
    posts = next(c for c in data["collections"] if c["data"]["id"] == "posts")
    posts["data"]["schema"] = {"type": "object", "properties": {"title": {"type": "string"}},
                               "required": ["title"]}
    posts["records"].append({"data": {"id": "untitled"}, "permissions": {}})
    dump.write_text(json.dumps(data))
    run = kinto_orm(cli, "load", "-b", copy, str(dump))
    assert run.returncode == 1
    refused = [line for line in run.stderr.splitlines() if line.startswith("posts: ")]
    assert len(refused) == 1 and "untitled" in refused[0] and "400" in refused[0], run.stderr
    assert run.stderr.splitlines()[-1] == f"loaded bucket {copy}, 1 record(s) failed"
    assert "untitled" not in cli.records("posts", copy) and len(cli.records("posts", copy)) == 12
