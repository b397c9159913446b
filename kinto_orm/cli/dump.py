"""``kinto-orm dump`` and ``load``: a bucket's whole structure in one YAML/JSON file, and
putting it back the kinto-wizard way (unchanged objects skipped, ``--delete-records``,
a ``--dry-run`` plan, attachments re-sent only when their hash differs).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import Collection, Forbidden, NotFound, ReconcileReport, Record, __version__
from .files import atomic_output
from .hints import UsageError

if TYPE_CHECKING:
    from .. import Client
    from .ui import Output


META = ("last_modified", "schema")


def strip(obj: dict[str, Any]) -> dict[str, Any]:
    """Data without what the server sets (a record's ``schema`` is a timestamp; a
    collection's ``schema`` is a dict and stays)."""
    return {k: v for k, v in obj.items() if k not in META} | (
        {"schema": obj["schema"]} if isinstance(obj.get("schema"), dict) else {}
    )


def records_of(client: Client, bucket: str, collection: str) -> Iterable[dict[str, Any]]:
    """The records of a collection, page by page."""
    for page in client.get_paginated_records(bucket=bucket, collection=collection):
        yield from page["data"]


def with_permissions(client: Client, bucket: str, collection: str) -> list[dict[str, Any]]:
    """Every record with its own permissions (lists do not carry them: one batched GET
    per record)."""
    ids = [record["id"] for record in records_of(client, bucket, collection)]
    if not ids:
        return []
    with client.batch() as batch:
        for record_id in ids:
            batch.get_record(id=record_id, bucket=bucket, collection=collection)
    return [
        {"data": body["data"], "permissions": body.get("permissions") or {}}
        for body in batch.results()
        if isinstance(body, dict) and "data" in body
    ]


# ---------------------------------------------------------------------------- dump


def cmd_dump(client: Client, args: argparse.Namespace, out: Output) -> int:
    if not args.bucket:
        raise UsageError("--bucket is required for 'dump'.")
    if args.output and args.output.endswith((".yaml", ".yml")):
        yaml_module()  # before anything is fetched
    bucket = client.get_bucket(id=args.bucket)
    dump: dict[str, Any] = {
        "kinto-orm": __version__,
        "bucket": {"data": bucket["data"], "permissions": bucket.get("permissions", {})},
        "groups": [client.get_group(id=g["id"], bucket=args.bucket)
                   for g in client.get_groups(bucket=args.bucket)],
        "collections": [],
    }
    for coll in client.get_collections(bucket=args.bucket):
        full = client.get_collection(id=coll["id"], bucket=args.bucket)
        full["records"] = with_permissions(client, args.bucket, coll["id"])
        dump["collections"].append(full)
        if args.attachments:
            _save_files(client, args.bucket, coll["id"], full["records"], args.attachments)
        out.say(f"  {coll['id']}: {len(full['records'])} record(s)")
    write_structured(dump, args.output)
    out.say(f"dumped bucket {args.bucket}")
    return 0


def _save_files(client: Client, bucket: str, cid: str, records: list[dict[str, Any]],
                folder: str) -> None:
    """Each attached file into ``FOLDER/<collection>/<record id>/<file name>``."""
    for entry in records:
        if isinstance(entry["data"].get("attachment"), dict):
            target = Path(folder, cid, entry["data"]["id"])
            target.mkdir(parents=True, exist_ok=True)
            client.download_attachment(entry["data"], str(target))


# ---------------------------------------------------------------------------- compare


def _same(wanted: dict[str, Any], current: dict[str, Any] | None, me: str | None) -> bool:
    """Same data and permissions; the server adds the writer to ``write``, no change."""
    if current is None or strip(wanted["data"]) != strip(current["data"]):
        return False
    mine = {me} if me else set()
    keys = set(wanted.get("permissions") or {}) | set(current.get("permissions") or {})
    for key in keys:
        want = set((wanted.get("permissions") or {}).get(key) or [])
        have = set((current.get("permissions") or {}).get(key) or [])
        if want != have and not (key == "write" and have - want <= mine and want <= have):
            return False
    return True


def _hash(data: dict[str, Any]) -> str | None:
    attachment = data.get("attachment")
    return attachment.get("hash") if isinstance(attachment, dict) else None


# ---------------------------------------------------------------------------- load


def _record_of(entry: dict[str, Any]) -> Record:
    """A dumped record: ``{"data", "permissions"}`` (or, from older dumps, bare data)."""
    if set(entry) == {"data", "permissions"} and isinstance(entry["data"], dict):
        return Record.from_kinto({"data": strip(entry["data"]),
                                  "permissions": entry["permissions"]})
    return Record.model_validate(strip(entry))


def _put_object(client: Client, kind: str, entry: dict[str, Any], me: str | None,
                dry_run: bool, **where: str) -> str:
    """Create or update a bucket, group or collection when it differs: the action."""
    data, perms = strip(entry["data"]), entry.get("permissions") or None
    oid = data["id"]
    try:
        current = getattr(client, f"get_{kind}")(id=oid, **where)
    except (NotFound, Forbidden):  # a missing bucket is a 403
        current = None
    if _same({"data": data, "permissions": entry.get("permissions") or {}}, current, me):
        return "unchanged"
    if not dry_run:
        getattr(client, f"update_{kind}")(id=oid, data=data, permissions=perms, safe=False,
                                          **where)
    return "update" if current is not None else "create"


def cmd_load(client: Client, args: argparse.Namespace, out: Output) -> int:
    dump = read_structured(args.file)
    bucket_id = args.bucket or dump["bucket"]["data"]["id"]
    me = (client.server_info().get("user") or {}).get("id")
    entry = {**dump["bucket"], "data": dump["bucket"]["data"] | {"id": bucket_id}}
    plan = [(f"bucket {bucket_id}",
             _put_object(client, "bucket", entry, me, args.dry_run), "")]
    for group in dump.get("groups", []):
        action = _put_object(client, "group", group, me, args.dry_run, bucket=bucket_id)
        plan.append((f"group {group['data']['id']}", action, ""))
    failed = 0
    for coll in dump.get("collections", []):
        cid = coll["data"]["id"]
        action = _put_object(client, "collection", coll, me, args.dry_run, bucket=bucket_id)
        records = [_record_of(r) for r in coll.get("records", [])]
        collection = client.collection(cid, bucket=bucket_id)
        if action == "create" and args.dry_run:  # nothing there yet to compare with
            report, files = ReconcileReport(created=[str(r.id) for r in records]), []
        else:
            files = _attachments_to_send(client, bucket_id, cid, records,
                                         bool(args.attachments))
            with out.progress(f"  {cid}", len(records)) as show:
                report = collection.reconcile(records, delete_missing=args.delete_records,
                                              dry_run=args.dry_run)
                show(len(records), None)
        sent = _send_files(collection, files, args, out)
        counts = (f"{len(report.created)} created, {len(report.updated)} updated, "
                  f"{len(report.deleted)} deleted, {len(report.unchanged)} unchanged"
                  + (f", {sent} file(s) sent" if sent else ""))
        plan.append((f"collection {cid}", action, counts))
        for failure in report.failed:
            out.warn(f"{cid}: {failure}")  # "<id>: <why>"
        failed += len(report.failed)
        if not args.dry_run:
            out.say(f"  {cid}: {counts}")
    if args.dry_run:
        if not out.quiet:
            out.table(["object", "action", "records"], plan, title="Plan (nothing written)")
        return 0
    out.say(f"loaded bucket {bucket_id}" + (f", {failed} record(s) failed" if failed else ""))
    return 1 if failed else 0


def _attachments_to_send(client: Client, bucket: str, cid: str, records: list[Record],
                         uploading: bool) -> list[tuple[str, dict[str, Any]]]:
    """(record id, dumped attachment) of each attachment the server lacks (by hash).

    A record keeps the server's attachment metadata when it has one: kinto-attachment
    refuses a write that changes it (400, failing the whole batch); a file that
    differs is uploaded instead, through the attachment endpoint. A record that has
    none on the server is written without the dumped metadata when its file is to be
    uploaded: that metadata points at the source's file, which kinto-attachment would
    delete when the upload replaces it."""
    wanted = [(r, r.to_data()["attachment"]) for r in records if _hash(r.to_data())]
    if not wanted:
        return []
    current = {r["id"]: r.get("attachment") for r in records_of(client, bucket, cid)}
    missing = []
    for record, attachment in wanted:
        there = current.get(str(record.id))
        extra = record.__pydantic_extra__ or {}  # where the `attachment` property reads
        if isinstance(there, dict):
            extra["attachment"] = there
        elif uploading:
            extra.pop("attachment", None)
        if not isinstance(there, dict) or there.get("hash") != attachment.get("hash"):
            missing.append((str(record.id), attachment))
    return missing


def _send_files(collection: Collection, files: list[tuple[str, dict[str, Any]]],
                args: argparse.Namespace, out: Output) -> int:
    """Upload the files the server lacks from ``--attachments FOLDER`` (checked by hash)."""
    if files and not args.attachments:
        out.warn(f"{collection.id}: {len(files)} attachment(s) differ from the server's; "
                 "give --attachments FOLDER (from `dump --attachments`) to send them")
        return 0
    sent = 0
    for record_id, want in files:
        path = Path(args.attachments, str(collection.id), record_id, want["filename"])
        if not path.is_file() or hashlib.sha256(path.read_bytes()).hexdigest() != want["hash"]:
            out.warn(f"{collection.id}/{record_id}: {path} is missing or is not the dumped "
                     "file (its hash differs): attachment not sent")
            continue
        if not args.dry_run:
            # Forced: the record may already carry the dumped metadata (same hash) that
            # points at the source's file; the copy needs its own. No ``data``: the
            # record as reconciled stays as it is.
            client: Any = collection._require_client(None, "attach")
            client.add_attachment(id=record_id, filepath=str(path), bucket=collection.bucket_id,
                                  collection=str(collection.id), mimetype=want.get("mimetype"),
                                  force=True)
        sent += 1
    return sent


# ---------------------------------------------------------------------------- files


def write_structured(data: Any, path: str | None) -> None:
    """JSON (or YAML for a ``.yaml``/``.yml`` name) to ``path`` or stdout, atomically."""
    if path and path.endswith((".yaml", ".yml")):
        text = yaml_module().safe_dump(data, sort_keys=False, allow_unicode=True)
    else:
        text = json.dumps(data, indent=2, ensure_ascii=False, sort_keys=False) + "\n"
    with atomic_output(path) as handle:
        handle.write(text)


def read_structured(path: str) -> dict[str, Any]:
    """A dump file (``-`` for stdin), checked to be one."""
    yaml_file = path.endswith((".yaml", ".yml"))
    if yaml_file:
        yaml_module()
    try:
        text = sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror or exc}") from exc
    try:
        data = yaml_module().safe_load(text) if yaml_file else json.loads(text)
    except ValueError as exc:
        raise UsageError(f"{path} is not valid JSON: {exc}") from exc
    except Exception as exc:  # yaml.YAMLError: PyYAML is optional, its class too
        raise UsageError(f"{path} is not valid YAML: {exc}") from exc
    if not isinstance(data, dict) or "bucket" not in data:
        raise UsageError(f"{path} is not a kinto-orm dump (no 'bucket').")
    return data


def yaml_module() -> Any:
    """PyYAML, or a usage error saying how to install it."""
    try:
        import yaml
    except ImportError:
        raise UsageError('YAML needs PyYAML: pip install "kinto-orm[cli]" (or use a .json '
                         "file).") from None
    return yaml


__all__ = ["cmd_dump", "cmd_load"]
