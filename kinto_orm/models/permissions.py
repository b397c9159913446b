"""The permissions of a Kinto object."""

from __future__ import annotations

from typing import Any

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
        dumped: dict[str, Any] = self.model_dump(by_alias=True)
        aliases = {
            name: (field.alias or name) for name, field in type(self).model_fields.items()
        }
        explicit = {aliases.get(name, name) for name in self.model_fields_set}
        return {
            key: list(value)
            for key, value in dumped.items()
            if value or key in explicit
        }

    def __bool__(self) -> bool:
        return bool(self.as_dict())
