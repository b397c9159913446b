"""A griffe extension used only to build the API reference (``mkdocs.yml``).

1. The kinto-http method set of ``Client`` is made of ``KintoMethod`` descriptors
   (``create_bucket = KintoMethod(BucketOperations._op_create_bucket)`` in
   ``kinto_orm.http_api``): griffe sees attributes without docstrings. This turns each
   one into a method with the signature and docstring of its ``_op_*`` builder, so the
   reference lists them like any method.
2. The package's docstrings are written in reST flavour (``:class:`X```, ``>>>``
   examples, ``::`` literal blocks). This rewrites them into the Markdown mkdocstrings
   renders: roles become code spans, doctest lines become a Python code block.

Nothing here changes the package: only what the documentation shows.
"""

from __future__ import annotations

import re
from typing import Any

import griffe

ROLE = re.compile(r":(?:py:)?(?:class|meth|func|attr|data|exc|mod|obj):`~?([^`]+)`")
KINTO_METHOD = re.compile(r"^KintoMethod\((?:\w+\.)?(_op_\w+)\)$")


def _markdown(text: str) -> str:
    """reST-flavoured docstring text -> Markdown."""
    text = ROLE.sub(lambda m: f"`{m.group(1)}`", text)
    out: list[str] = []
    in_doctest = False
    for line in text.splitlines():
        is_doctest = line.lstrip().startswith((">>> ", "... ")) or line.strip() in (">>>", "...")
        if is_doctest and not in_doctest:
            if out and out[-1].strip():
                out.append("")
            out.append("```python")
            in_doctest = True
        elif in_doctest and not is_doctest:
            # A doctest's expected output: keep it as a comment inside the block.
            if line.strip():
                out.append("# " + line.strip())
                continue
            out.append("```")
            in_doctest = False
        if is_doctest:
            out.append(line.lstrip()[4:])
        else:
            out.append(line[:-1] if line.endswith("::") else line)
    if in_doctest:
        out.append("```")
    return "\n".join(out)


def _builders(obj: Any, found: dict[str, Any], seen: set[int]) -> dict[str, Any]:
    """Every ``_op_*`` function of the package's classes, by name (wherever the
    operations live: the package may split them over several modules)."""
    if id(obj) in seen or getattr(obj, "is_alias", False):
        return found
    seen.add(id(obj))
    for name, member in getattr(obj, "members", {}).items():
        if getattr(member, "is_alias", False):
            continue
        if isinstance(member, griffe.Function) and name.startswith("_op_"):
            found.setdefault(name, member)
        elif isinstance(member, (griffe.Module, griffe.Class)):
            _builders(member, found, seen)
    return found


def _classes(obj: Any, seen: set[int]) -> list[Any]:
    """Every class defined in the package (not the imported aliases)."""
    if id(obj) in seen or getattr(obj, "is_alias", False):
        return []
    seen.add(id(obj))
    found = [obj] if isinstance(obj, griffe.Class) else []
    for member in getattr(obj, "members", {}).values():
        if isinstance(member, (griffe.Module, griffe.Class)):
            found += _classes(member, seen)
    return found


class KintoDocs(griffe.Extension):
    """See the module docstring."""

    def on_package(self, *, pkg: griffe.Module, **kwargs: Any) -> None:
        if pkg.name != "kinto_orm":
            return
        self._methods(pkg)
        self._rewrite(pkg, set())

    def _methods(self, pkg: griffe.Module) -> None:
        builders = _builders(pkg, {}, set())
        for cls in _classes(pkg, set()):
            for name, member in list(cls.members.items()):
                if not isinstance(member, griffe.Attribute) or member.value is None:
                    continue
                match = KINTO_METHOD.match(str(member.value))
                builder = builders.get(match.group(1)) if match else None
                if builder is None:
                    continue
                returns = builder.returns
                if isinstance(returns, griffe.ExprSubscript) and str(returns.left) == "Op":
                    returns = returns.slice  # Op[Data] -> Data: what the method returns
                text = builder.docstring.value if builder.docstring else "kinto-http method."
                cls.set_member(name, griffe.Function(
                    name,
                    lineno=member.lineno,
                    endlineno=member.endlineno,
                    parameters=griffe.Parameters(
                        *(p for p in builder.parameters if p.name != "self")
                    ),
                    returns=returns,
                    docstring=griffe.Docstring(text),
                ))

    def _rewrite(self, obj: Any, seen: set[int]) -> None:
        if id(obj) in seen or getattr(obj, "is_alias", False):
            return
        seen.add(id(obj))
        docstring = getattr(obj, "docstring", None)
        if docstring is not None:
            docstring.value = _markdown(docstring.value)
        for member in getattr(obj, "members", {}).values():
            self._rewrite(member, seen)
