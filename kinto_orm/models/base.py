"""What every Kinto object model shares: id, timestamp, permissions, binding, mapping
access, and the operations its I/O methods (``api.py``) run."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from typing_extensions import Self

from ..endpoints import endpoint
from ..errors import UnboundError
from ..patch_type import BasicPatch
from ..protocol import Op, new_record_id
from .api import ObjectAPI
from .attributes import AttributeModel
from .changes import dirty_patch, permission_changes
from .echo import take_echo
from .mapping import MappingAccess
from .permissions import Permissions
from .plain import plain_values
from .schema import read_back
from .state import _LAZY_PERMISSIONS, _STATE, Binding, _state_property
from .tracking import changed_in_place, reapply, unsent, unsent_permissions
from .validation import checked_patch, sent_data
from .writes import incomplete, odd_defaults, write_validator

if TYPE_CHECKING:
    from .._client_like import ClientLike


#: What :meth:`KintoObject.to_data` leaves out (never changed: the serializer only reads;
#: dicts, which pydantic-core reads as they are, where it converts a frozenset each time).
_EXCLUDED: dict[str, bool] = {"permissions": True, "last_modified": True}
_META_EXCLUDED: dict[str, bool] = {"permissions": True}
_MODEL_DUMP = BaseModel.model_dump


class KintoObject(MappingAccess, ObjectAPI, AttributeModel):
    """Base of :class:`Bucket`, :class:`Group`, :class:`Collection` and :class:`Record`.

    Data fields are model fields (typed) or extra fields (kept as they come: Kinto is
    schemaless). ``permissions`` is the envelope's permissions, never sent inside data.
    """

    model_config = ConfigDict(
        extra="allow", populate_by_name=True, ser_json_inf_nan="null", validate_assignment=True
    )

    #: The object's id: given, read from the server, or a fresh UUID4 made at construction
    #: (as kinto-http's ``create_record`` does), so that it is always a ``str``.
    id: str = Field(default_factory=new_record_id)
    last_modified: int | None = None
    # Stored as None until first used (see _LazyPermissions): building a Permissions
    # model for each listed record would cost more than the record itself.
    permissions: Permissions = Field(  # type: ignore[assignment]
        default=None, exclude=True, repr=False, validate_default=False
    )

    if TYPE_CHECKING:
        # Per-instance state, kept in ``__pydantic_private__`` by hand (see _STATE): Pydantic
        # private attributes would cost a dict of defaults for every listed record. Declared
        # as properties, not annotations, so that type checkers keep them out of __init__.
        @property
        def _binding(self) -> Binding | None: ...
        @_binding.setter
        def _binding(self, value: Binding | None) -> None: ...
        @property
        def _changed(self) -> set[str] | None: ...
        @_changed.setter
        def _changed(self, value: set[str] | None) -> None: ...
        @property
        def _loaded_permissions(self) -> dict[str, list[str]] | None: ...
        @_loaded_permissions.setter
        def _loaded_permissions(self, value: dict[str, list[str]] | None) -> None: ...
        @property
        def _unchecked(self) -> bool:
            """Made without validation (``model_construct``): check in full before sending."""
        @_unchecked.setter
        def _unchecked(self, value: bool) -> None: ...
        @property
        def _partial(self) -> bool:
            """Read with ``Query.fields()``: only some fields came from the server."""
        @_partial.setter
        def _partial(self, value: bool) -> None: ...
        @property
        def _originals(self) -> dict[str, Any] | None:
            """Copies of the mutable values read since the object was loaded
            (see ``tracking.py``)."""
        @_originals.setter
        def _originals(self, value: dict[str, Any] | None) -> None: ...

    #: Kinto's name for this kind of object ("bucket", "collection", ...).
    kinto_kind: ClassVar[str] = ""
    #: The endpoint keyword that carries this object's own id.
    _id_key: ClassVar[str] = "id"
    #: Fields left out of the sent data when they are None.
    _omit_when_none: ClassVar[frozenset[str]] = frozenset()

    @classmethod
    def _field_name(cls, key: str) -> str | None:
        fields = cls.model_fields
        if key in fields and key != "permissions":
            return key
        for name, info in fields.items():
            if info.alias == key:
                return name
        return None

    # ------------------------------------------------------------------ data

    def to_data(self, include_meta: bool = False) -> dict[str, Any]:
        """The object's data as sent to Kinto: Kinto's field names, Python values (the
        JSON encoder turns dates into ISO strings, Decimals into numbers...).

        ``id`` is left out when None and ``last_modified`` unless ``include_meta``.
        """
        exclude = _META_EXCLUDED if include_meta else _EXCLUDED
        # Python mode: the JSON encoder then sends Decimals as numbers (Pydantic's JSON
        # mode would make them strings) and everything else as Pydantic would.
        # No serializer warnings: writes check the data against the model (_write_data).
        # Pydantic's serializer called directly (a third of model_dump's cost is its own
        # keyword handling), unless the model has a model_dump of its own.
        if type(self).model_dump is _MODEL_DUMP:
            data: dict[str, Any] = self.__pydantic_serializer__.to_python(
                self, by_alias=True, exclude=exclude, warnings=False
            )
        else:
            data = self.model_dump(by_alias=True, exclude=set(exclude), warnings=False)
        if data.get("id") is None:
            data.pop("id", None)
        for key in self._omit_when_none:
            if data.get(key) is None:
                data.pop(key, None)
        return data

    def _write_data(self) -> dict[str, Any]:
        """:meth:`to_data`, once checked against the model: what assignment validation cannot
        have seen (``todo.tags.append(1)``, see ``writes.write_validator``), an object made
        without validation in full. Raises ``pydantic.ValidationError``; nothing is sent."""
        return self._checked_data()[0]

    def _checked_data(self) -> tuple[dict[str, Any], bool, dict[str, Any] | None]:
        """:meth:`_write_data`; whether it is plain JSON (``plain.py``); and, when an answer
        that echoes that data needs no validation (``echo.py``), the values the write check
        made of the fields it checked (those that can change in place): the others were
        validated when set, the model's validation is nothing more than its fields' types
        (``writes.odd_defaults``), and its fields left at their default hold it as
        validation would make it. None otherwise."""
        data = self.to_data()
        model = type(self)
        whole = model.__pydantic_validator__
        private = self.__pydantic_private__ or {}
        if private.get("_unchecked") or incomplete(self):
            whole.validate_python(model.incoming(data))
            self._unchecked = False
            return data, plain_values(data), None
        validator = write_validator(model)
        checked: dict[str, Any] = {}
        if validator is not None:
            checked = validator.validate_python(model.incoming(data))
        plain = plain_values(data)
        if not plain or validator is whole:
            return data, plain, None
        odd = odd_defaults(model)
        if odd is None or not odd <= self.__pydantic_fields_set__:
            return data, plain, None
        return data, plain, checked

    if not TYPE_CHECKING:  # checkers keep Pydantic's own (plugin-typed) signature

        @classmethod
        def model_construct(cls, _fields_set=None, **values):
            """Pydantic's ``model_construct`` (no validation): the object is checked in
            full before it is ever sent."""
            obj = super().model_construct(_fields_set, **values)
            obj._unchecked = True
            return obj

    def model_copy(self, *, update: Mapping[str, Any] | None = None, deep: bool = False) -> Self:
        """Pydantic's ``model_copy``; ``update`` values are not validated, so the copy is
        checked in full before it is ever sent."""
        copied = super().model_copy(update=update, deep=deep)
        if update:
            copied._unchecked = True
        return copied

    @classmethod
    def from_kinto(cls, body: dict[str, Any], binding: Binding | None = None) -> Self:
        """Build an instance from a Kinto answer ``{"data": ..., "permissions": ...}``."""
        obj = cls.model_validate(cls.incoming(body.get("data") or {}))
        obj._loaded(body.get("permissions"), binding)
        return obj

    @classmethod
    def incoming(cls, data: dict[str, Any]) -> dict[str, Any]:
        """Server data with the keys this model reads: a field sent under a
        ``serialization_alias`` is read back under its own name."""
        return read_back(cls, data)

    def _load(self, body: dict[str, Any], binding: Binding | None = None) -> None:
        """Take the server's answer as the new state of this instance (validated into it:
        no second instance to build and copy)."""
        binding = binding if binding is not None else self._binding
        model = type(self)
        model.__pydantic_validator__.validate_python(
            model.incoming(body.get("data") or {}), self_instance=self
        )
        self._loaded(body.get("permissions"), binding)

    def _loaded(self, permissions: dict[str, list[str]] | None, binding: Binding | None) -> None:
        """Mark this object as just read from the server, with these permissions (the
        :class:`Permissions` model is only built if ``obj.permissions`` is read)."""
        state = {"_binding": binding, "_loaded_permissions": dict(permissions or {})}
        object.__setattr__(self, "__pydantic_private__", state)

    def _permissions_dict(self) -> dict[str, list[str]]:
        """``permissions.as_dict()``, without creating the Permissions model: while it
        was not read, the permissions are the loaded ones."""
        value = self.__dict__.get("permissions")
        if value is None or value is _LAZY_PERMISSIONS:
            loaded = self._loaded_permissions
            return {key: list(principals) for key, principals in loaded.items()} if loaded else {}
        return value.as_dict()  # type: ignore[no-any-return]

    def _mark_clean(self) -> None:
        state = self._state()
        state["_changed"] = None
        state["_originals"] = None
        state["_partial"] = False
        state["_loaded_permissions"] = self._permissions_dict()

    def changes(self) -> dict[str, Any]:
        """The data fields changed since the object was loaded (removed ones as None):
        assigned, or changed in place (``todo.tags.append("x")``, see ``tracking.py``)."""
        changed = set(self._changed or ())
        changed.update(changed_in_place(self))
        if not changed:
            return {}
        data = self.to_data()
        out: dict[str, Any] = {}
        for name in changed:
            info = type(self).model_fields.get(name)
            key = (info.alias or name) if info is not None else name
            out[key] = data.get(key)
        return out

    def _permission_changes(self) -> dict[str, list[str]]:
        return permission_changes(self._loaded_permissions or {}, self._permissions_dict())

    # ------------------------------------------------------------------ place

    def bind(
        self,
        client: ClientLike,
        *,
        bucket: str | None = None,
        collection: str | None = None,
    ) -> Self:
        """Bind to ``client`` (and optionally a bucket/collection); returns ``self``.

        >>> todo = Todo(title="buy milk").bind(client)
        >>> todo.save()
        """
        current = self._binding
        self._binding = Binding(
            client,
            bucket or (current.bucket if current else None),
            collection or (current.collection if current else None),
        )
        return self

    @property
    def client(self) -> ClientLike | None:
        """The client this object is bound to, if any."""
        return self._binding.client if self._binding is not None else None

    def _locate(self) -> dict[str, str | None]:
        """The parent ids of this object (bucket, collection), in a new dict each time."""
        return {}

    def _default_bucket(self) -> str:
        binding = self._binding
        if binding is not None and binding.bucket:
            return binding.bucket
        client = binding.client if binding is not None else None
        if client is not None and client.bucket_name:
            return client.bucket_name
        return "default"

    @property
    def path(self) -> str:
        """This object's path on the server, e.g. ``/buckets/blog/collections/todos``."""
        return endpoint(self.kinto_kind, **self._locate(), **{self._id_key: self.id})

    @property
    def _plural_path(self) -> str:
        return endpoint(self.kinto_kind + "s", **self._locate())

    def _require_client(self, client: ClientLike | None, method: str) -> ClientLike:
        chosen = client or self.client
        if chosen is None:
            name = type(self).__name__
            raise UnboundError(
                f"{name}(id={self.id!r}) is not bound to a client, so {method}() cannot "
                f"reach a server. Call obj.bind(client) first, pass {method}(client=...), "
                "or get the object from a client (client.records(...), client.bucket(...))."
            )
        return chosen

    def _use_client(self, client: ClientLike | None, method: str) -> ClientLike:
        """The client for an I/O call; an explicit ``client=`` also becomes this object's
        client, so that its defaults (bucket, collection) place the object."""
        chosen = self._require_client(client, method)
        if client is not None and client is not self.client:
            current = self._binding
            self._binding = Binding(
                client, current.bucket if current else None,
                current.collection if current else None,
            )
        return chosen

    def _where(self, client: ClientLike) -> tuple[str, Binding]:
        """This object's path, and its binding to ``client`` there (its parents looked up
        once for both)."""
        loc = self._locate()
        binding = self._binding_for(client, loc)
        loc[self._id_key] = self.id  # a dict of its own (see _locate)
        return endpoint(self.kinto_kind, **loc), binding

    def _binding_for(self, client: ClientLike, loc: dict[str, str | None] | None = None) -> Binding:
        current = self._binding
        if loc is None:
            loc = self._locate()
        bucket, collection = loc.get("bucket"), loc.get("collection")
        if current and current.client is client and (
            (current.bucket, current.collection) == (bucket, collection)
        ):
            return current  # already placed there (bindings are never changed in place)
        return Binding(client, bucket, collection)

    # ------------------------------------------------------------------ operations

    def _op_create(
        self, client: ClientLike, if_not_exists: bool, safe: bool, server_id: bool = False
    ) -> Op[Self]:
        perms = self._permissions_dict() or None
        data, plain, echo = self._checked_data()
        if server_id:
            del data["id"]
            binding = self._binding_for(client)
            body = yield from client._op_object_post(self._plural_path, data, perms)
        else:
            path, binding = self._where(client)
            plain = plain and (perms is None or plain_values(perms))
            body = yield from client._op_object_create(
                path, data, perms, safe, if_not_exists, plain=plain
            )
        self._after_write(client, body, data, perms or {}, echo=echo, binding=binding)
        return self

    def _op_save(self, client: ClientLike, safe: bool) -> Op[Self]:
        if self._partial:
            raise ValueError(
                f"{type(self).__name__}(id={self.id!r}) was read with fields(): save() would "
                "replace the record with only those fields. Use patch() to send changes, "
                "or refresh() it first."
            )
        perms = self._permissions_dict() or None
        data, plain, echo = self._checked_data()
        path, binding = self._where(client)
        plain = plain and (perms is None or plain_values(perms))
        body = yield from client._op_object_save(
            path, data, perms, safe, self.last_modified, plain=plain
        )
        self._after_write(client, body, data, perms or {}, echo=echo, binding=binding)
        return self

    def _op_patch(self, client: ClientLike, changes: Any, safe: bool) -> Op[Self]:
        if changes is None:
            sent, sent_perms = self.changes(), self._permission_changes()
            patch = dirty_patch(sent, sent_perms, self.to_data())
        else:
            patch = checked_patch(self, changes)
            sent = sent_data(patch)
            sent_perms = (patch.permissions if isinstance(patch, BasicPatch) else None) or {}
        if patch is None:
            return self
        body = yield from client._op_object_patch(self.path, patch, safe, self.last_modified)
        self._after_write(client, body, sent, sent_perms)
        return self

    def _op_delete(self, client: ClientLike, if_exists: bool, safe: bool) -> Op[Self]:
        yield from client._op_object_delete(
            self.path, safe, self.last_modified, if_exists, self.kinto_kind == "bucket"
        )
        return self

    def _op_refresh(self, client: ClientLike) -> Op[Self]:
        body = yield from client._op_object_get(self.path)
        try:
            self._after_write(client, body, refresh=True)
        except ValidationError as exc:  # named, as a query's reads name it
            raise ValueError(
                f"Object {self.id!r} at {self.path} does not fit {type(self).__name__}: {exc}"
            ) from exc
        return self

    def _after_write(
        self, client: ClientLike, body: dict[str, Any], sent: dict[str, Any] | None = None,
        sent_perms: dict[str, list[str]] | None = None, refresh: bool = False,
        echo: dict[str, Any] | None = None, binding: Binding | None = None,
    ) -> None:
        """Take the server's answer to a write that sent ``sent`` (data by Kinto's names)
        and ``sent_perms`` (None: no data, no permissions), keeping the local changes it
        did not send (made meanwhile, or left out of an explicit patch): they stay
        changes, to be sent. ``refresh`` takes the server's state over everything.
        ``echo``: the checked values of a write whose answer needs no validation when it
        echoes the data sent (see ``_checked_data``). ``binding``: where the write went,
        when known."""
        if binding is None:
            binding = self._binding_for(client)
        if body:  # a dry-mode answer is {}: the instance stays as it is
            pending = {} if refresh else unsent(self, sent)
            perms = {} if refresh else unsent_permissions(self, sent_perms)
            if echo is not None and sent is not None and not (pending or perms) and take_echo(
                self, body, sent, echo
            ):
                self._loaded(body.get("permissions"), binding)
                return
            self._load(body, binding)
            if pending:
                reapply(self, pending)
            if perms:
                self.permissions = {**self._permissions_dict(), **perms}  # type: ignore[assignment]
        else:
            self._binding = binding

    # ------------------------------------------------------------------ running

    def _sync(
        self, client: ClientLike | None, name: str, make: Callable[[ClientLike], Op[Self]],
        queue: bool = True,
    ) -> Self:
        chosen = self._use_client(client, name)
        result: Self = chosen._run(make(chosen), placeholder=self if queue else None, name=name)
        return result

    async def _async(
        self, client: ClientLike | None, name: str, make: Callable[[ClientLike], Op[Self]],
        queue: bool = True,
    ) -> Self:
        chosen = self._use_client(client, name)
        placeholder = self if queue else None
        result: Self = await chosen._arun(make(chosen), placeholder=placeholder, name=name)
        return result


KintoObject.permissions = _LAZY_PERMISSIONS  # type: ignore[assignment]

for _name in _STATE:
    setattr(KintoObject, _name, _state_property(_name))

