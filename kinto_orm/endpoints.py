"""Kinto paths: the only place where a URL path is built from ids.

Every id is checked against Kinto's id rule before it goes into a path, so no
``..``, ``/``, ``?`` or ``#`` can ever reach the server through an id.

>>> endpoint("record", bucket="blog", collection="posts", id="p1")
'/buckets/blog/collections/posts/records/p1'
"""

from __future__ import annotations

import functools
import re
from typing import Any

from .errors import KintoException
from .utils import slugify

ID_PATTERN = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_-]*\Z")
#: Kinto refuses ids longer than this in practice (its storage column is 255 chars).
MAX_ID_LENGTH = 255

TEMPLATES: dict[str, str] = {
    "root": "/",
    "batch": "/batch",
    "permissions": "/permissions",
    "buckets": "/buckets",
    "bucket": "/buckets/{bucket}",
    "history": "/buckets/{bucket}/history",
    "groups": "/buckets/{bucket}/groups",
    "group": "/buckets/{bucket}/groups/{group}",
    "collections": "/buckets/{bucket}/collections",
    "collection": "/buckets/{bucket}/collections/{collection}",
    "records": "/buckets/{bucket}/collections/{collection}/records",
    "record": "/buckets/{bucket}/collections/{collection}/records/{id}",
    "attachment": "/buckets/{bucket}/collections/{collection}/records/{id}/attachment",
    "changeset": "/buckets/{bucket}/collections/{collection}/changeset",
}


def check_id(value: object, what: str = "id") -> str:
    """Return ``value`` if it is a valid Kinto object id, else raise ``ValueError``.

    Kinto ids match ``^[a-zA-Z0-9][a-zA-Z0-9_-]*$``.
    """
    if not isinstance(value, str):
        raise ValueError(f"Invalid {what} {value!r}: Kinto ids are strings.")
    if len(value) > MAX_ID_LENGTH or not ID_PATTERN.match(value):
        shown = value if len(value) <= 60 else value[:57] + "..."
        raise ValueError(
            f"Invalid {what} {shown!r}: Kinto ids are 1 to {MAX_ID_LENGTH} characters of "
            "letters, digits, '-' and '_', starting with a letter or digit."
        )
    return value


def endpoint(
    name: str,
    *,
    bucket: str | None = None,
    collection: str | None = None,
    group: str | None = None,
    id: str | None = None,
) -> str:
    """Build the path of endpoint ``name`` (a key of :data:`TEMPLATES`), checking every id."""
    # Paths are built per record: the parents' part is checked and made once.
    try:
        head = _parents_path(name, bucket, collection, group)
    except TypeError:  # an unhashable value: refused with check_id's own message
        head = _parents_path.__wrapped__(name, bucket, collection, group)
    if name not in _HAS_ID:
        return head
    if not (type(id) is str and len(id) <= MAX_ID_LENGTH and ID_PATTERN.match(id)):
        _check_value(name, "id", id)
    return head + id + _HAS_ID[name]  # type: ignore[operator]


@functools.lru_cache(maxsize=256)
def _parents_path(
    name: str, bucket: str | None, collection: str | None, group: str | None
) -> str:
    """The path of ``name`` up to its ``{id}`` (all of it without one), ids checked."""
    try:
        template = TEMPLATES[name]
    except KeyError:
        known = ", ".join(sorted(TEMPLATES))
        raise ValueError(f"Unknown endpoint {name!r}; known endpoints: {known}.") from None
    values = {"bucket": bucket, "collection": collection, "group": group}
    for key in _NEEDED[name]:
        if key != "id":
            _check_value(name, key, values[key])
    return template.partition("{id}")[0].format_map(values)


class MissingArgument(KintoException, ValueError):
    """A path needs a bucket, collection, group or id that was not given.

    A :class:`KintoException`, as kinto-http raises for it (``Cannot get ...
    endpoint``), and a ``ValueError``: the mistake is in the arguments.
    """


def _check_value(name: str, key: str, value: Any) -> None:
    if value is None:
        what = "record id" if key == "id" else key
        raise MissingArgument(
            f"Cannot build the {name} path: no {what} given. Pass {key}=... "
            f"(or set a default, e.g. Client(..., {key}='...'))."
            if key in ("bucket", "collection")
            else f"Cannot build the {name} path: no {what} given. Pass {key}=..."
        )
    check_id(value, f"{key} id" if key != "id" else "id")


#: The ids each template needs, in order.
_NEEDED: dict[str, tuple[str, ...]] = {
    name: tuple(re.findall(r"{(\w+)}", template)) for name, template in TEMPLATES.items()
}
#: The templates holding an ``{id}``: what follows it.
_HAS_ID: dict[str, str] = {
    name: template.partition("{id}")[2] for name, template in TEMPLATES.items()
    if "{id}" in template
}


class Endpoints:
    """kinto-http's endpoint table: ``Endpoints().get("record", bucket="b",
    collection="c", id="r")`` -> ``'/buckets/b/collections/c/records/r'``.

    As in kinto-http, values are slugified (``"My Bucket"`` -> ``my-bucket``) and a
    missing one raises :class:`~kinto_orm.KintoException`. The clients themselves do
    not slugify: they refuse invalid ids (see :func:`check_id`).
    """

    endpoints: dict[str, str] = {name: "{root}" + path for name, path in TEMPLATES.items()}

    def __init__(self, root: str = "") -> None:
        self._root = root

    def get(self, endpoint: str, **kwargs: Any) -> str:
        """The path of ``endpoint``, its ``{bucket}``, ``{collection}``, ``{group}``,
        ``{id}`` filled from ``kwargs`` (empty values count as missing)."""
        values = {key: slugify(value) for key, value in kwargs.items() if value}
        try:
            return self.endpoints[endpoint].format(root=self._root, **values)
        except KeyError as exc:
            missing = ",".join(str(arg) for arg in exc.args)
            raise KintoException(f"Cannot get {endpoint} endpoint, {missing} is missing") from exc
