"""How a model's attributes behave: assignments are validated and marked as changes,
typed models refuse unknown names (``strict.py``), and values that may change in place
are remembered when read (``tracking.py``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from .state import _LAZY_PERMISSIONS, _STATE, SharedState, own_fields_set
from .strict import check_attribute, check_keywords, field_for_alias
from .tracking import remember, track_fields


class AttributeModel(BaseModel):
    """The base of :class:`KintoObject`: its attribute access and per-object state."""

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        track_fields(cls)  # in-place changes of its list, dict, set and model fields

    @property
    def model_extra(self) -> dict[str, Any] | None:
        """Pydantic's ``model_extra``: the extra fields, which may be changed in place."""
        extra = self.__pydantic_extra__
        for key, value in (extra or {}).items():
            remember(self, key, value)
        return extra

    if not TYPE_CHECKING:  # hidden from type checkers, so an unknown attribute is an error

        def __init__(self, /, **data: Any) -> None:
            check_keywords(type(self), data)  # a typed model: no unknown keyword
            # What BaseModel.__init__ does, at the same depth of the stack: Pydantic finds
            # the names of a model not fully defined yet in the caller's frame.
            self.__pydantic_validator__.validate_python(data, self_instance=self)

        # Pydantic's own mark: not a custom __init__, so model_validate() and pages (the
        # server's data, whose undeclared fields are kept) do not call it.
        __init__.__pydantic_base_init__ = True

        def __setattr__(self, name: str, value: Any) -> None:
            if name in _STATE:
                self._state()[name] = value
                return
            self._assign(name, value, item=False)

        def __getattr__(self, name: str) -> Any:
            value = super().__getattr__(name)  # an extra field (or a private attribute)
            extra = self.__pydantic_extra__
            if extra is not None and name in extra:
                remember(self, name, value)
            return value

    def _assign(self, name: str, value: Any, item: bool) -> None:
        """``obj.name = value`` (``item``: ``obj[name] = value``, which may add an extra
        field to a typed model; an attribute may not, see ``strict.py``)."""
        if name not in type(self).model_fields and not name.startswith("_"):
            field = field_for_alias(type(self), name)  # coll.schema = {...}
            if field is not None:
                name = field
            elif not item:
                check_attribute(self, name)
        if name in _STATE:
            self._state()[name] = value
            return
        if name == "permissions":  # Pydantic does not see the property (see state.py)
            _LAZY_PERMISSIONS._set(self, value)
            return
        own_fields_set(self)  # Pydantic adds ``name`` to it: not to the page's shared one
        super().__setattr__(name, value)
        if not name.startswith("_") and name not in ("permissions", "last_modified"):
            self._mark_changed(name)

    @property
    def model_fields_set(self) -> set[str]:
        """Pydantic's ``model_fields_set``, this object's own (see ``SharedFieldsSet``)."""
        return own_fields_set(self)

    def _state(self) -> dict[str, Any]:
        """This object's own state, to write into (a page's shared state is copied)."""
        private = self.__pydantic_private__
        if private is None or type(private) is SharedState:
            private = {} if private is None else dict(private)
            object.__setattr__(self, "__pydantic_private__", private)
        return private

    def _mark_changed(self, name: str) -> None:
        state = self._state()
        if state.get("_changed") is None:
            state["_changed"] = set()
        state["_changed"].add(name)



__all__ = ["AttributeModel"]
