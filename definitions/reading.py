"""Reading the parsed TOML of a definition: the error that names the file and
the dotted key, one table being read with its typed field readers, and the
entries of an ``[[section]]`` array. Standard library only."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

WHOLE = "<definition>"  # the "file" of an error about the definition as a whole

_CODE = re.compile(r"^[a-z][a-z0-9_]*$")


class DefinitionError(ValueError):
    """A definition was refused. ``file`` is the source file (or
    ``<definition>`` for a problem of the whole), ``key`` the dotted path of
    the offending value, ``reason`` the sentence without them."""

    def __init__(self, file: str, key: str, reason: str) -> None:
        self.file = file
        self.key = key
        self.reason = reason
        super().__init__(f"{file}: {key}: {reason}" if key else f"{file}: {reason}")


# -- field readers --------------------------------------------------------------------


@dataclass
class _Table:
    """One TOML table being read, with where it came from for error messages."""

    file: str
    key: str
    data: Mapping[str, Any]

    def fail(self, field: str | None, reason: str) -> DefinitionError:
        return DefinitionError(self.file, f"{self.key}.{field}" if field else self.key, reason)

    def check_keys(self, keys: tuple[set[str], set[str]]) -> None:
        required, optional = keys
        for name in self.data:
            if name not in required and name not in optional:
                allowed = ", ".join(sorted(required | optional))
                raise self.fail(name, f"unknown key '{name}' (allowed: {allowed})")
        for name in sorted(required):
            if name not in self.data:
                raise self.fail(name, f"missing required key '{name}'")

    def string(self, name: str, default: str | None = None) -> str | None:
        value = self.data.get(name, default)
        if value is None:
            return None
        if not isinstance(value, str):
            raise self.fail(name, f"expected a string, got {_kind(value)}")
        if not value.strip():
            raise self.fail(name, "must not be empty")
        return value

    def text(self, name: str, default: str = "") -> str:
        value = self.data.get(name, default)
        if not isinstance(value, str):
            raise self.fail(name, f"expected a string, got {_kind(value)}")
        return value

    def code(self, name: str = "code") -> str:
        value = self.string(name)
        assert value is not None
        if not _CODE.match(value):
            raise self.fail(name, f"invalid code '{value}' (use lower-case letters, digits, _)")
        return value

    def boolean(self, name: str, default: bool = False) -> bool:
        value = self.data.get(name, default)
        if not isinstance(value, bool):
            raise self.fail(name, f"expected true or false, got {_kind(value)}")
        return value

    def integer(self, name: str, default: int = 0) -> int:
        value = self.data.get(name, default)
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail(name, f"expected an integer, got {_kind(value)}")
        return value

    def codes(self, name: str) -> tuple[str, ...]:
        value = self.data.get(name, [])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self.fail(name, f"expected a list of strings, got {_kind(value)}")
        seen: set[str] = set()
        for v in value:
            if v in seen:
                raise self.fail(name, f"'{v}' is listed twice")
            seen.add(v)
        return tuple(value)

    def table(self, name: str) -> _Table | None:
        value = self.data.get(name)
        if value is None:
            return None
        if not isinstance(value, Mapping):
            raise self.fail(name, f"expected a table, got {_kind(value)}")
        return _Table(self.file, f"{self.key}.{name}", value)


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return f"the integer {value}"
    if isinstance(value, float):
        return f"the number {value}"
    if isinstance(value, str):
        return f"the string '{value}'"
    if isinstance(value, Mapping):
        return "a table"
    if isinstance(value, list):
        return "a list"
    return type(value).__name__


def _entries(file: str, section: str, value: Any) -> list[tuple[_Table, str]]:
    """The tables of an ``[[section]]`` array, each with its code checked and
    its key renamed to ``section.code`` for the errors that follow."""
    if not isinstance(value, list):
        raise DefinitionError(file, section, f"expected a list of tables, got {_kind(value)}")
    out = []
    for index, entry in enumerate(value):
        if not isinstance(entry, Mapping):
            raise DefinitionError(file, f"{section}[{index}]",
                                  f"expected a table, got {_kind(entry)}")
        table = _Table(file, f"{section}[{index}]", entry)
        if "code" not in entry:
            raise table.fail("code", "missing required key 'code'")
        code = table.code()
        table.key = f"{section}.{code}"
        out.append((table, code))
    return out
