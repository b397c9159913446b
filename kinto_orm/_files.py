"""Attachments (kinto-attachment plugin): the parts that need no network.

Reading what to upload (path, bytes or file object) and building the multipart request,
choosing where a download goes, and checking that what arrived is what the record
describes (sha256 ``hash`` and ``size``).
"""

from __future__ import annotations

import hashlib
import json
import mimetypes
import os
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any
from urllib.parse import urljoin

from .errors import KintoException
from .protocol import Request, dumps, envelope

#: What can be attached: a path, the bytes themselves, or a binary file object.
Source = str | os.PathLike[str] | bytes | bytearray | memoryview | IO[bytes]


@dataclass(frozen=True, slots=True)
class Upload:
    """A file ready to be sent: its name (Kinto checks its extension), bytes, type, and
    the ``hash``/``size`` the server will record for it."""

    filename: str
    content: bytes
    mimetype: str

    @property
    def size(self) -> int:
        return len(self.content)

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.content).hexdigest()

    def matches(self, attachment: Any) -> bool:
        """Whether ``attachment`` (a record's metadata) already describes these bytes."""
        return (
            isinstance(attachment, dict)
            and attachment.get("size") == self.size
            and attachment.get("hash") == self.sha256
        )


def prepare_upload(
    source: Source, *, filename: str | None = None, mimetype: str | None = None
) -> Upload:
    """Read ``source`` and settle its file name and mimetype.

    A path or a named file object gives its own name; bytes and unnamed file objects
    (``io.BytesIO``) need ``filename``, or a ``mimetype`` to name them
    ``attachment<.ext>``. The mimetype is guessed from the name when not given.
    """
    if isinstance(source, (str, os.PathLike)):
        file_path = Path(source)
        if not file_path.is_file():
            raise FileNotFoundError(f"No file to attach at {str(file_path)!r}.")
        content = file_path.read_bytes()
        filename = filename or file_path.name
    elif isinstance(source, (bytes, bytearray, memoryview)):
        content = bytes(source)
    elif callable(getattr(source, "read", None)):
        content = source.read()
        if not isinstance(content, bytes):
            raise TypeError(
                "The file object gave text, not bytes: open it in binary mode ('rb')."
            )
        name = getattr(source, "name", None)
        if not filename and isinstance(name, str) and name:
            filename = os.path.basename(name)
    else:
        raise TypeError(
            f"Cannot attach a {type(source).__name__}: pass a path, bytes, or a binary "
            "file object."
        )
    if not filename:
        extension = mimetypes.guess_extension(mimetype) if mimetype else None
        if extension is None:
            raise ValueError(
                "Name the attachment: pass filename='report.pdf' (Kinto checks its "
                "extension), or a mimetype= to name it after."
            )
        filename = "attachment" + extension
    if mimetype is None:
        mimetype = mimetypes.guess_type(filename)[0] or "application/octet-stream"
    return Upload(filename, content, mimetype)


def upload_request(
    path: str,
    upload: Upload,
    *,
    data: dict[str, Any] | None = None,
    permissions: Any = None,
) -> Request:
    """``POST {record}/attachment`` with the file in the ``attachment`` field; Kinto
    creates the record (with ``data``) if needed, in the same request."""
    form: dict[str, str] = {}
    if data is not None:
        form["data"] = dumps(data).decode()
    if permissions is not None:
        form["permissions"] = dumps(envelope(permissions=permissions)["permissions"]).decode()
    return Request(
        "POST", path, files=[("attachment", (upload.filename, upload.content, upload.mimetype))],
        form=form or None,
        idempotent=True,  # re-uploading the same file to the same record changes nothing
    )


def changed_fields(current: dict[str, Any], data: dict[str, Any] | None) -> dict[str, Any]:
    """The fields of ``data`` whose (JSON) value differs from the record ``current``,
    leaving out what the server manages."""
    if not data:
        return {}
    sent = json.loads(dumps(data))
    managed = ("id", "last_modified", "attachment", "schema")
    return {k: v for k, v in sent.items() if k not in managed and current.get(k) != v}


def changed_permissions(current: dict[str, Any], permissions: Any) -> dict[str, Any]:
    """The permissions of ``permissions`` whose principals differ from ``current``'s."""
    if permissions is None:
        return {}
    wanted = envelope(permissions=permissions)["permissions"]
    return {
        name: principals for name, principals in wanted.items()
        if set(principals or ()) != set(current.get(name) or ())
    }


def attachment_of(record: dict[str, Any]) -> dict[str, Any]:
    """The ``attachment`` metadata of a record (its data dict, or an envelope)."""
    data = record.get("data", record) if isinstance(record, dict) else None
    attachment = data.get("attachment") if isinstance(data, dict) else None
    if not isinstance(attachment, dict) or "location" not in attachment:
        raise ValueError("Specified record has no attachment")
    return attachment


def download_url(server_info: dict[str, Any], attachment: dict[str, Any]) -> str:
    """Where the file is served: the server's attachments ``base_url`` + ``location``."""
    capability = (server_info.get("capabilities") or {}).get("attachments") or {}
    base_url = capability.get("base_url")
    location = str(attachment["location"])
    if location.startswith(("http://", "https://")):
        return location
    if not base_url:
        raise KintoException(
            "The server does not tell where attachments are served (no "
            "capabilities.attachments.base_url): is kinto-attachment installed?"
        )
    return urljoin(str(base_url).rstrip("/") + "/", location.lstrip("/"))


def target_path(attachment: dict[str, Any], filepath: str | os.PathLike[str] | None) -> Path:
    """Where to write: ``filepath``, a file named like the attachment inside a folder
    ``filepath``, or the attachment's file name in the current folder."""
    name = os.path.basename(str(attachment.get("filename") or "attachment")) or "attachment"
    if filepath is None:
        return Path(name)
    path = Path(filepath)
    is_folder = path.is_dir() or str(filepath).endswith(("/", os.sep))
    return path / name if is_folder else path


def matches(path: Path, attachment: dict[str, Any]) -> bool:
    """Whether the file at ``path`` already is this attachment (size and sha256)."""
    if not path.is_file() or path.stat().st_size != attachment.get("size"):
        return False
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 16), b""):
            digest.update(block)
    return digest.hexdigest() == attachment.get("hash")


def verify(attachment: dict[str, Any], size: int, sha256: str, url: str) -> None:
    """Raise when the downloaded bytes are not the ones the record describes."""
    expected_size, expected_hash = attachment.get("size"), attachment.get("hash")
    if expected_size is not None and size != expected_size:
        raise KintoException(
            f"Download of {url} is incomplete or wrong: {size} bytes, the record says "
            f"{expected_size}. Nothing was kept; try again."
        )
    if expected_hash and sha256 != expected_hash:
        raise KintoException(
            f"Download of {url} does not match the record's sha256 ({sha256} != "
            f"{expected_hash}). Nothing was kept; try again."
        )


def save_metadata(path: Path, record: dict[str, Any]) -> None:
    """kinto-http's ``save_metadata``: the record beside the file, as ``<file>.meta.json``."""
    Path(str(path) + ".meta.json").write_text(json.dumps(record))


class DownloadPlan:
    """What a download needs: where from, where to, and whether it is already there."""

    def __init__(
        self,
        server_info: dict[str, Any],
        record: dict[str, Any],
        filepath: str | os.PathLike[str] | None,
        overwrite: bool,
    ) -> None:
        self.record = record
        self.attachment = attachment_of(record)
        self.url = download_url(server_info, self.attachment)
        self.target = target_path(self.attachment, filepath)
        self.partial = self.target.with_name(self.target.name + ".part")
        self.up_to_date = not overwrite and matches(self.target, self.attachment)
        if not self.up_to_date and self.target.parent != Path(""):
            self.target.parent.mkdir(parents=True, exist_ok=True)

    def finish(self, size: int, sha256: str, save_meta: bool) -> str:
        """Check what arrived, then move it in place (a bad download leaves nothing)."""
        try:
            verify(self.attachment, size, sha256, self.url)
        except KintoException:
            self.partial.unlink(missing_ok=True)
            raise
        os.replace(self.partial, self.target)
        if save_meta:
            save_metadata(self.target, self.record)
        return str(self.target)

    def abandon(self) -> None:
        self.partial.unlink(missing_ok=True)
