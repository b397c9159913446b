"""Plain JSON: data made only of ``str``, ``int``, ``float``, ``bool``, ``None``, lists,
tuples and dicts with ``str`` keys (exactly those types, not subclasses such as enums).
pydantic-core encodes such data as ``json.dumps`` does, four times faster
(``protocol.encoding.dumps_plain``), and a write's answer that echoes it needs no
validation (``echo.py``). The data sent is looked at itself, not its model's types: a
lax validation, a validator or a value changed in place can leave a ``Decimal`` in a
``float`` field, which only the standard encoder writes as a number.
"""

from __future__ import annotations

from typing import Any

_JSON_TYPES = frozenset({str, int, float, bool, type(None)})


def plain_values(value: Any) -> bool:
    """Whether ``value`` is made of JSON's own types only (see the module's text)."""
    kind = type(value)
    if kind is dict:
        for key, item in value.items():
            if type(key) is not str or (type(item) not in _JSON_TYPES and not plain_values(item)):
                return False
        return True
    if kind is list or kind is tuple:
        for item in value:  # noqa: SIM110 (a loop: all() and its generator cost twice as much)
            if type(item) not in _JSON_TYPES and not plain_values(item):
                return False
        return True
    return kind in _JSON_TYPES


__all__ = ["plain_values"]
