"""Dict-style access to a model's data: ``record["field"]``, ``record["field"] = value``,
``del record["extra"]``, ``"field" in record``, ``record.get()``, ``record.keys()``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .tracking import remember


class MappingAccess:
    """A mixin of :class:`KintoObject`: its fields and extra fields by Kinto's names."""

    if TYPE_CHECKING:  # from KintoObject (base.py) and Pydantic
        __pydantic_extra__: dict[str, Any] | None

        @classmethod
        def _field_name(cls, key: str) -> str | None: ...

        def _mark_changed(self, name: str) -> None: ...

        def _assign(self, name: str, value: Any, item: bool) -> None: ...

        def to_data(self, include_meta: bool = False) -> dict[str, Any]: ...

    def __getitem__(self, key: str) -> Any:
        name = self._field_name(key)
        if name is not None:
            return getattr(self, name)
        extra = self.__pydantic_extra__ or {}
        if key in extra:
            value = extra[key]
            remember(self, key, value)  # it may be changed in place: rec["info"]["b"] = 2
            return value
        raise KeyError(key)

    def __setitem__(self, key: str, value: Any) -> None:
        self._assign(self._field_name(key) or key, value, item=True)

    def __delitem__(self, key: str) -> None:
        extra = self.__pydantic_extra__ or {}
        if key not in extra:
            raise KeyError(
                f"{key!r} is not an extra field; typed fields cannot be deleted, set them "
                "to None instead."
            )
        del extra[key]
        self._mark_changed(key)

    def __contains__(self, key: object) -> bool:
        if not isinstance(key, str):
            return False
        if self._field_name(key) is not None:
            return True
        return key in (self.__pydantic_extra__ or {})

    def get(self, key: str, default: Any = None) -> Any:
        """``record.get("field", default)`` like a dict."""
        try:
            return self[key]
        except KeyError:
            return default

    def keys(self) -> list[str]:
        """The data keys (as Kinto names them)."""
        return list(self.to_data(include_meta=True))


__all__ = ["MappingAccess"]
