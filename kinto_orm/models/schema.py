"""Pydantic JSON Schema -> the Draft 7 JSON Schema that Kinto validates records with.

Pydantic writes JSON Schema 2020-12: ``$defs`` and ``#/$defs/...`` references,
``prefixItems`` for tuples. Kinto checks collection schemas as Draft 7, so those become
``definitions``, ``#/definitions/...`` and ``items: [...]``. The fields Kinto manages
(``id``, ``last_modified``, ``schema``) and the envelope's ``permissions`` are left out.
"""

from __future__ import annotations

import functools
from typing import Any

from pydantic import BaseModel

DRAFT7 = "http://json-schema.org/draft-07/schema#"
KINTO_FIELDS = ("id", "last_modified", "schema", "permissions")


def _convert(node: Any) -> Any:
    if isinstance(node, list):
        return [_convert(item) for item in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key == "$defs":
            out["definitions"] = {name: _convert(sub) for name, sub in value.items()}
        elif key == "$ref" and isinstance(value, str):
            out["$ref"] = value.replace("#/$defs/", "#/definitions/")
        elif key == "prefixItems":
            out["items"] = _convert(value)
            if "items" in node and node["items"] is not False:
                out["additionalItems"] = _convert(node["items"])
            else:
                out["additionalItems"] = False
        elif key == "items" and "prefixItems" in node:
            continue
        elif key in ("properties", "patternProperties", "definitions"):
            out[key] = {name: _convert(sub) for name, sub in value.items()}
        else:
            out[key] = _convert(value)
    return out


def sent_names(model: type[BaseModel]) -> dict[str, str]:
    """Validation name -> name in the data sent, where they differ
    (``Field(serialization_alias=...)``)."""
    names: dict[str, str] = {}
    for name, field in model.model_fields.items():
        read = field.validation_alias if isinstance(field.validation_alias, str) else None
        read = read or field.alias or name
        sent = field.serialization_alias or field.alias or name
        if read != sent:
            names[read] = sent
    return names


@functools.lru_cache(maxsize=512)
def read_names(model: type[BaseModel]) -> dict[str, str]:
    """Name in the data sent -> validation name, where they differ: how the data of an
    answer is read back (the reverse of :func:`sent_names`)."""
    return {sent: read for read, sent in sent_names(model).items()}


def read_back(model: type[BaseModel], data: dict[str, Any]) -> dict[str, Any]:
    """Server ``data`` with a field sent under a ``serialization_alias`` read back under
    its own name (``data`` itself when the model renames nothing)."""
    renames = read_names(model)
    if not renames:
        return data
    return {renames.get(key, key): value for key, value in data.items()}


def to_kinto_schema(
    schema: dict[str, Any], renames: dict[str, str] | None = None
) -> dict[str, Any]:
    """Convert a Pydantic model JSON schema into Kinto's Draft 7 record schema
    (``renames``: properties to rename to the names the data is sent with)."""
    converted: dict[str, Any] = _convert(schema)
    properties = converted.get("properties") or {}
    for read, sent in (renames or {}).items():
        if read in properties:
            properties[sent] = properties.pop(read)
            converted["required"] = [
                sent if name == read else name for name in converted.get("required", [])
            ]
    for name in KINTO_FIELDS:
        properties.pop(name, None)
    required = [name for name in converted.get("required", []) if name not in KINTO_FIELDS]
    if required:
        converted["required"] = required
    else:
        converted.pop("required", None)
    _prune_definitions(converted)
    converted["$schema"] = DRAFT7
    return converted


def _prune_definitions(schema: dict[str, Any]) -> None:
    """Drop the definitions nothing refers to any more (e.g. ``Permissions``)."""
    definitions = schema.get("definitions")
    if not definitions:
        return
    while True:
        text = repr({k: v for k, v in schema.items() if k != "definitions"})
        text += repr(definitions)
        unused = [name for name in definitions if f"#/definitions/{name}'" not in text]
        if not unused:
            break
        for name in unused:
            del definitions[name]
    if not definitions:
        del schema["definitions"]
