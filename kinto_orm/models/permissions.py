"""The permissions of a Kinto object."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class Permissions(BaseModel):
    """Who may do what on an object: lists of principals per permission.

    Kinto's ``collection:create``, ``group:create`` and ``record:create`` are the
    attributes ``collection_create``, ``group_create`` and ``record_create``::

        todo.permissions.read = ["system.Everyone"]
        todo.save()

    Kinto only shows an object's permissions to the principals in its ``write`` list;
    for everybody else they come back empty.
    """

    model_config = ConfigDict(populate_by_name=True, extra="allow", validate_assignment=True)

    read: list[str] = Field(default_factory=list)
    write: list[str] = Field(default_factory=list)
    collection_create: list[str] = Field(default_factory=list, alias="collection:create")
    group_create: list[str] = Field(default_factory=list, alias="group:create")
    record_create: list[str] = Field(default_factory=list, alias="record:create")

    def as_dict(self) -> dict[str, list[str]]:
        """The permissions in Kinto's names: every non-empty list, plus those set
        explicitly (an explicit ``[]`` clears that permission on save)."""
        explicit = self.__pydantic_fields_set__
        values = self.__dict__
        out = {
            key: list(values[name])
            for name, key in _KINTO_NAMES.items()
            if values.get(name) or name in explicit
        }
        for key, value in (self.__pydantic_extra__ or {}).items():
            if value or key in explicit:
                out[key] = list(value)
        return out

    def __bool__(self) -> bool:
        return bool(self.as_dict())


#: Attribute name -> Kinto's permission name.
_KINTO_NAMES = {
    "read": "read",
    "write": "write",
    "collection_create": "collection:create",
    "group_create": "group:create",
    "record_create": "record:create",
}
