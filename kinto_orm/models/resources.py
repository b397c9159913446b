"""Bucket, Group, Collection and Record models."""

from __future__ import annotations

import os
import warnings
from typing import IO, TYPE_CHECKING, Any, ClassVar, TypeVar, overload

from pydantic import Field
from pydantic.json_schema import PydanticJsonSchemaWarning
from typing_extensions import Self

from ..endpoints import check_id
from ..protocol import Op
from ..reconcile import ReconcileReport, reconcile_op
from .base import KintoObject
from .extra import Attachment, HistoryEntry
from .lists import list_query, sources_query
from .schema import read_back, sent_names, to_kinto_schema
from .state import Binding

if TYPE_CHECKING:
    from collections.abc import Iterable

    from .._client_like import ClientLike
    from ..query import Query

R = TypeVar("R", bound="Record")
def records_query(
    client: ClientLike, Model: type[Any] | None, bucket: str | None, collection: str | None
) -> Query[Any]:
    """``client.records(Model, ...)``. Where: the arguments, else ``Model``'s class
    keywords, else the client's defaults."""
    model = Model or Record
    if not (isinstance(model, type) and issubclass(model, Record)):
        raise TypeError(f"records() takes a Record subclass, got {model!r}.")
    bucket = bucket or model.kinto_bucket or client.bucket_name or "default"
    collection = collection or model.kinto_collection or client.collection_name
    if collection is None:
        raise ValueError(
            f"No collection for {model.__name__}: pass records({model.__name__}, "
            f"collection='...'), declare it on the class, or set Client(collection='...')."
        )
    return list_query(client, model, "records", bucket=bucket, collection=collection)


class Bucket(KintoObject):
    """A Kinto bucket: the top of the tree, holding collections and groups.

    >>> blog = client.bucket("blog").create(if_not_exists=True)
    >>> posts = blog.collection("posts").create(if_not_exists=True)
    """

    kinto_kind: ClassVar[str] = "bucket"
    _id_key: ClassVar[str] = "bucket"

    def _binding_for(self, client: Any, loc: Any = None) -> Binding:
        return Binding(client, self.id)

    @property
    def parent(self) -> None:
        """Buckets have no parent."""
        return None

    def collection(self, id: str) -> Collection:
        """This bucket's collection ``id`` (bound, not fetched)."""
        coll = Collection(id=check_id(id, "collection id"))
        return coll.bind(self._client_or_fail(), bucket=self.id)

    def group(self, id: str) -> Group:
        """This bucket's group ``id`` (bound, not fetched)."""
        return Group(id=check_id(id, "group id")).bind(self._client_or_fail(), bucket=self.id)

    def collections(self) -> Query[Collection]:
        """A query over this bucket's collections."""
        return list_query(self._client_or_fail(), Collection, "collections", self._own_id())

    def groups(self) -> Query[Group]:
        """A query over this bucket's groups."""
        return list_query(self._client_or_fail(), Group, "groups", self._own_id())

    def history(self, **filters: Any) -> Query[HistoryEntry]:
        """The bucket's history entries (history plugin), newest first, filtered by
        ``filters`` (``resource_name="record"``, ``action="delete"``, ...)."""
        query = list_query(self._client_or_fail(), HistoryEntry, "history", self._own_id())
        return query.filter(**filters) if filters else query

    @overload
    def children(self, kind: None = None) -> Query[Collection | Group]: ...
    @overload
    def children(self, kind: type[Collection]) -> Query[Collection]: ...
    @overload
    def children(self, kind: type[Group]) -> Query[Group]: ...
    def children(self, kind: type[Collection] | type[Group] | None = None) -> Query[Any]:
        """Collections and groups of this bucket (``kind=`` picks one kind)."""
        if kind is Collection:
            return self.collections()
        if kind is Group:
            return self.groups()
        if kind is not None:
            raise TypeError("A bucket's children are Collection or Group.")
        kinds: list[tuple[type[KintoObject], str]] = [
            (Collection, "collections"), (Group, "groups")
        ]
        return sources_query(self._client_or_fail(), kinds, self._own_id())

    def _own_id(self) -> str:
        return self.id

    def _client_or_fail(self) -> ClientLike:
        return self._require_client(None, "a query")


class _Child(KintoObject):
    """An object inside a bucket."""

    def _locate(self) -> dict[str, str | None]:
        return {"bucket": self._default_bucket()}

    @property
    def bucket_id(self) -> str:
        """The id of the bucket this object lives in."""
        bucket = self._locate()["bucket"]
        assert bucket is not None
        return bucket

    @property
    def parent(self) -> Bucket:
        """The parent bucket (bound, not fetched)."""
        bucket = Bucket(id=self.bucket_id)
        if self.client is not None:
            bucket.bind(self.client)
        return bucket


class Group(_Child):
    """A group of principals in a bucket; use its URI ``/buckets/b/groups/g`` in
    permissions."""

    kinto_kind: ClassVar[str] = "group"
    _id_key: ClassVar[str] = "group"

    members: list[str] = Field(default_factory=list)

    def children(self, kind: Any = None) -> Query[Any]:
        """Groups have no children: an empty query."""
        return sources_query(self._require_client(None, "children"), [], self.bucket_id)


class Collection(_Child):
    """A collection of records in a bucket.

    >>> todos = client.collection("todos", bucket="blog")
    >>> todos.records(Todo).filter(done=False).count()
    """

    kinto_kind: ClassVar[str] = "collection"
    _id_key: ClassVar[str] = "collection"
    _omit_when_none: ClassVar[frozenset[str]] = frozenset({"schema", "cache_expires"})

    schema_: dict[str, Any] | None = Field(default=None, alias="schema")
    cache_expires: int | None = None

    def _binding_for(self, client: Any, loc: Any = None) -> Binding:
        return Binding(client, self.bucket_id, self.id)

    @overload
    def records(self) -> Query[Record]: ...
    @overload
    def records(self, Model: type[R]) -> Query[R]: ...
    def records(self, Model: type[Any] | None = None) -> Query[Any]:
        """A query over this collection's records, typed as ``Model``."""
        client = self._require_client(None, "records")
        return records_query(client, Model or Record, self.bucket_id, self._own_id())

    @overload
    def record(self, id: str, Model: None = None, **fields: Any) -> Record: ...
    @overload
    def record(self, id: str, Model: type[R], **fields: Any) -> R: ...
    def record(self, id: str, Model: type[Any] | None = None, **fields: Any) -> Any:
        """Record ``id`` of this collection: with ``fields``, validated like
        ``Model(id=id, **fields)``; without, an unfetched reference to ``refresh()``."""
        model = Model or Record
        check_id(id)
        obj = model(id=id, **fields) if fields else model.model_construct(id=id)
        binding = Binding(self.client, self.bucket_id, self._own_id())
        obj._binding = binding
        return obj

    def set_schema(self, Model: type[Record] | None, *, client: ClientLike | None = None) -> Self:
        """Make the server validate this collection's records with ``Model``'s JSON
        schema (``Model.kinto_schema()``); ``None`` removes the schema. Needs the
        server's schema capability (``experimental_collection_schema_validation``)."""
        changes = {"schema": Model.kinto_schema() if Model is not None else {}}
        return self.patch(changes, client=client)

    async def aset_schema(
        self, Model: type[Record] | None, *, client: ClientLike | None = None
    ) -> Self:
        """Async :meth:`set_schema`."""
        changes = {"schema": Model.kinto_schema() if Model is not None else {}}
        return await self.apatch(changes, client=client)

    @overload
    def children(self, kind: None = None) -> Query[Record]: ...
    @overload
    def children(self, kind: type[R]) -> Query[R]: ...
    def children(self, kind: type[R] | None = None) -> Query[Any]:
        """This collection's records (``kind=Todo`` to type them)."""
        return self.records(kind or Record)

    def _own_id(self) -> str:
        return self.id

    # ------------------------------------------------------------------ declarative sync

    def _op_reconcile(
        self, client: ClientLike, records: Iterable[Any], model: type[Record] | None,
        delete_missing: bool, dry_run: bool,
    ) -> Op[ReconcileReport]:
        return reconcile_op(client, self.bucket_id, self._own_id(), records, model=model,
                            default_model=Record, delete_missing=delete_missing,
                            dry_run=dry_run)

    def reconcile(
        self, records: Iterable[Any], *, delete_missing: bool = False, dry_run: bool = False,
        model: type[Record] | None = None, client: ClientLike | None = None,
    ) -> ReconcileReport:
        """Make this collection hold exactly ``records`` (models or dicts, matched by id):
        create the missing ones, replace those whose data or named permissions differ,
        and with ``delete_missing`` delete the others; unchanged records are not written.
        Writes go in batch with ``If-None-Match``/``If-Match``; ``dry_run`` sends none.
        Dicts are validated with ``model`` (default: the type of the model instances
        among ``records``, else :class:`Record`).

        >>> report = todos.reconcile([Todo(id="t1", title="write docs")], delete_missing=True)
        >>> report.created, report.updated, report.deleted, report.unchanged, report.failed
        """
        chosen = self._require_client(client, "reconcile")
        op = self._op_reconcile(chosen, records, model, delete_missing, dry_run)
        result: ReconcileReport = chosen._run(op, name="reconcile")
        return result

    async def areconcile(
        self, records: Iterable[Any], *, delete_missing: bool = False, dry_run: bool = False,
        model: type[Record] | None = None, client: ClientLike | None = None,
    ) -> ReconcileReport:
        """Async :meth:`reconcile`."""
        chosen = self._require_client(client, "areconcile")
        op = self._op_reconcile(chosen, records, model, delete_missing, dry_run)
        result: ReconcileReport = await chosen._arun(op, name="areconcile")
        return result


class Record(KintoObject):
    """A record. Subclass it with typed fields, naming where it lives::

        class Todo(Record, bucket="blog", collection="todos"):
            title: str
            done: bool = False

    Fields not declared are kept as extra fields (``todo["color"]``).
    """

    kinto_kind: ClassVar[str] = "record"
    _id_key: ClassVar[str] = "id"
    #: Default bucket/collection of this model (class keywords ``bucket=``/``collection=``).
    kinto_bucket: ClassVar[str | None] = None
    kinto_collection: ClassVar[str | None] = None


    def __init_subclass__(
        cls, bucket: str | None = None, collection: str | None = None, **kwargs: Any
    ) -> None:
        super().__init_subclass__(**kwargs)
        if bucket is not None:
            cls.kinto_bucket = check_id(bucket, "bucket id")
        if collection is not None:
            cls.kinto_collection = check_id(collection, "collection id")

    @classmethod
    def incoming(cls, data: dict[str, Any]) -> dict[str, Any]:
        """Server data with the keys this model reads. ``schema``, the timestamp Kinto
        stamps on records of a collection with a schema, is kept as an extra field, or
        left out for models that forbid extra fields (Kinto stamps it again on write)."""
        # read_back() called directly, not through super(): twice per record written.
        data = read_back(cls, data)
        if (
            "schema" in data and cls.model_config.get("extra") == "forbid"
            and cls._field_name("schema") is None
        ):
            data = {key: value for key, value in data.items() if key != "schema"}
        return data

    @classmethod
    def kinto_schema(cls) -> dict[str, Any]:
        """This model's JSON schema in the Draft 7 form Kinto validates records with
        (see :meth:`Collection.set_schema`)."""
        with warnings.catch_warnings():  # the envelope's permissions are left out anyway
            warnings.filterwarnings("ignore", category=PydanticJsonSchemaWarning)
            schema = cls.model_json_schema()
        return to_kinto_schema(schema, sent_names(cls))

    def _locate(self) -> dict[str, str | None]:
        binding = self._binding
        bucket = (binding.bucket if binding else None) or self.kinto_bucket
        collection = (binding.collection if binding else None) or self.kinto_collection
        client = binding.client if binding else None
        if collection is None and client is not None:
            collection = client.collection_name
        if collection is None:
            raise ValueError(
                f"{type(self).__name__} does not know its collection: declare "
                f"`class {type(self).__name__}(Record, collection='...')`, bind it with "
                "obj.bind(client, collection='...'), or set Client(collection='...')."
            )
        return {"bucket": bucket or self._default_bucket(), "collection": collection}

    @property
    def parent(self) -> Collection:
        """The collection of this record (bound, not fetched)."""
        loc = self._locate()
        coll = Collection(id=loc["collection"])
        coll._binding = Binding(self.client, loc["bucket"])
        return coll

    @property
    def attachment(self) -> Attachment | None:
        """The file attached by the kinto-attachment plugin, if any."""
        raw = (self.__pydantic_extra__ or {}).get("attachment")
        return Attachment.model_validate(raw) if isinstance(raw, dict) else None

    # ------------------------------------------------------------------ attachments

    def _op_attach(
        self, client: ClientLike, source: Any, mimetype: str | None, filename: str | None,
        force: bool,
    ) -> Op[Self]:
        loc = self._locate()
        yield from client._op_add_attachment(
            self.id, source, filename, bucket=loc["bucket"], collection=loc["collection"],
            data=self._write_data(), mimetype=mimetype, force=force,
        )
        return (yield from self._op_refresh(client))

    def _op_detach(self, client: ClientLike) -> Op[Self]:
        loc = self._locate()
        yield from client._op_remove_attachment(
            self.id, bucket=loc["bucket"], collection=loc["collection"]
        )
        return (yield from self._op_refresh(client))

    def attach(
        self, source: str | os.PathLike[str] | bytes | IO[bytes], mimetype: str | None = None,
        *, filename: str | None = None, force: bool = False, client: ClientLike | None = None,
    ) -> Self:
        """Upload a file as this record's attachment (kinto-attachment): a path, bytes,
        or a binary file object. Bytes and unnamed file objects need ``filename`` (or a
        ``mimetype`` to name them after); the mimetype is guessed from the name.

        A new record is created with the upload, in one request: if the server refuses
        the file, nothing is created. When the server's attachment already has the same
        sha256 and size, the file is not sent again (unless ``force``). The instance
        then holds the server's record with its ``attachment``.

        >>> report.attach(b"%PDF-1.7 ...", filename="report.pdf")
        """
        return self._sync(
            client, "attach", lambda c: self._op_attach(c, source, mimetype, filename, force),
            queue=False,
        )

    def detach(self, *, client: ClientLike | None = None) -> Self:
        """Remove this record's attachment (the record stays)."""
        return self._sync(client, "detach", self._op_detach, queue=False)

    def download(
        self, to: str | os.PathLike[str] | None = None, *, client: ClientLike | None = None
    ) -> str:
        """Download the attachment to ``to`` (file or folder), verify its sha256 and size,
        and return the path of the verified file."""
        chosen = self._require_client(client, "download")
        if chosen._is_async:
            raise TypeError("This record is bound to an AsyncClient: use "
                            "`await record.adownload()`.")
        path: str = chosen.download_attachment(self.to_data(include_meta=True), to)
        return path

    async def aattach(
        self, source: str | os.PathLike[str] | bytes | IO[bytes], mimetype: str | None = None,
        *, filename: str | None = None, force: bool = False, client: ClientLike | None = None,
    ) -> Self:
        """Async :meth:`attach`."""
        return await self._async(
            client, "aattach",
            lambda c: self._op_attach(c, source, mimetype, filename, force), queue=False,
        )

    async def adetach(self, *, client: ClientLike | None = None) -> Self:
        """Async :meth:`detach`."""
        return await self._async(client, "adetach", self._op_detach, queue=False)

    async def adownload(
        self, to: str | os.PathLike[str] | None = None, *, client: ClientLike | None = None
    ) -> str:
        """Async :meth:`download`."""
        chosen = self._require_client(client, "adownload")
        if not chosen._is_async:
            raise TypeError("This record is bound to a sync Client: use record.download().")
        data = self.to_data(include_meta=True)
        path: str = await chosen.download_attachment(data, to)
        return path

    def children(self, kind: Any = None) -> Query[Any]:
        """Records have no children: an empty query."""
        client = self._require_client(None, "children")
        return sources_query(client, [], self._locate()["bucket"])
