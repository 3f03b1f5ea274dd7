"""The classes of chemicals a rule bans as a whole (氰化物, 氯酸盐, 剧毒化学品,
特别管控危险化学品): a class row parsed and validated, which class a name
belongs to by its patterns, the classes in their order, and an admin's edit
of one class.

A name belongs to a class when, once every ``excludes`` fragment is taken
out of it, it still holds one of the class's ``patterns``: 氰化亚铜 holds
氰化 (a cyanide), 亚铁氰化钾 holds nothing once 亚铁氰化 is out (no cyanide),
高氯酸铵 likewise for chlorates. Fragments are plain text, compared as
``_normal`` names (full-width folded, no spaces, lower case), never regular
expressions an admin could get wrong."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflow.kernel.errors import NotFound, ValidationError
from workflow.kernel.models import User
from workflow.reforms.chemicals.editing import (
    EditedTable,
    RowError,
    TableChange,
    _names,
    _normal,
    _untypeable,
    delete_row,
    save_row,
)
from workflow.reforms.chemicals.models import CHEMICAL_LEVELS, ChemicalClass, HazardousChemical

_CODE = re.compile(r"^[a-z][a-z0-9_]*$")
LEVEL_RANK = {level: n for n, level in enumerate(CHEMICAL_LEVELS)}  # prohibited strictest
_LEVELS = {"prohibited": "prohibited", "禁止": "prohibited", "禁止类": "prohibited", "禁": "prohibited",
           "restricted": "restricted", "限制": "restricted", "限制类": "restricted", "限": "restricted",
           "controlled": "controlled", "控制": "controlled", "控制类": "controlled", "控": "controlled"}
MAX_NAMES = 50  # aliases of a chemical, patterns or exclusions of a class
MAX_FRAGMENT = 100


def level_of(raw: str) -> str | None:
    """A level as an admin writes it (prohibited / 禁止 / 禁止类 …)."""
    raw = (raw or "").strip()
    return _LEVELS.get(raw.lower()) or _LEVELS.get(raw)


def _fragments(column: str, value: str, number: int, errors: list[RowError]) -> list[str]:
    parts = list(dict.fromkeys(_names(value)))
    if len(parts) > MAX_NAMES:
        errors.append(RowError(number, column, "too_many", str(MAX_NAMES)))
    if any(len(part) > MAX_FRAGMENT for part in parts):
        errors.append(RowError(number, column, "too_long"))
    return parts


def parse_class(row: Mapping[str, str], number: int = 0
                ) -> tuple[dict[str, Any] | None, list[RowError]]:
    """Validate one class row (``code, name, level, patterns, excludes,
    note, source``): a code of lower-case letters, digits and ``_``."""
    errors = _untypeable(row, number)
    code = (row.get("code") or "").strip()
    name = (row.get("name") or "").strip()
    raw_level = (row.get("level") or "").strip()
    level = level_of(raw_level)
    if not code:
        errors.append(RowError(number, "code", "required"))
    elif len(code) > 40 or not _CODE.match(code):
        errors.append(RowError(number, "code", "too_long" if len(code) > 40 else "bad_code", code))
    if not name:
        errors.append(RowError(number, "name", "required"))
    elif len(name) > 100:
        errors.append(RowError(number, "name", "too_long"))
    if not raw_level:
        errors.append(RowError(number, "level", "required"))
    elif level is None:
        errors.append(RowError(number, "level", "unknown_level", raw_level))
    patterns = _fragments("patterns", row.get("patterns") or "", number, errors)
    excludes = _fragments("excludes", row.get("excludes") or "", number, errors)
    source = (row.get("source") or "").strip()
    if len(source) > 300:
        errors.append(RowError(number, "source", "too_long"))
    if errors:
        return None, errors
    return {"code": code, "name": name, "level": level, "patterns": patterns, "excludes": excludes,
            "note": (row.get("note") or "").strip(), "source": source}, []


def pattern_in(klass: ChemicalClass, name: str) -> str | None:
    """The pattern of ``klass`` that ``name`` holds once the class's
    exclusions are taken out of it (None: the name is not of the class)."""
    text = _normal(name)
    for exclude in sorted((_normal(x) for x in klass.excludes or []), key=len, reverse=True):
        if exclude:
            text = text.replace(exclude, "\u0000")
    for pattern in klass.patterns or []:
        if _normal(pattern) and _normal(pattern) in text:
            return pattern
    return None


def chemical_classes(session: Session) -> list[ChemicalClass]:
    """Every class: the provincial ones first, then by code."""
    return list(session.scalars(select(ChemicalClass)
                                .order_by(ChemicalClass.provincial.desc(), ChemicalClass.code)))


def class_lookup(classes: Iterable[ChemicalClass | Mapping[str, Any]]) -> dict[str, str]:
    """A class as an admin names it (its code or its name) → its code."""
    lookup: dict[str, str] = {}
    for klass in classes:
        code = klass["code"] if isinstance(klass, Mapping) else klass.code
        name = klass["name"] if isinstance(klass, Mapping) else klass.name
        lookup[_normal(code)] = code
        lookup[_normal(name)] = code
    return lookup


# -- an admin's edit of one class ------------------------------------------------------------

def _class_clash(session: Session, row: ChemicalClass | None, fields: dict[str, Any]) -> None:
    for other in session.scalars(select(ChemicalClass)):
        if other is row:
            continue
        if other.code == fields["code"]:
            raise ValidationError("Class code {code} is already used.", field="code",
                                  code=fields["code"])
        if _normal(other.name) == _normal(fields["name"]):
            raise ValidationError("A class named {name} already exists.", field="name",
                                  name=fields["name"])
    if row is not None and row.provincial:
        if fields["code"] != row.code:
            raise ValidationError("{name} is a class the provincial conditions name: its code "
                                  "stays.", field="code", code=row.code, name=row.name)
        if fields["level"] != "prohibited":
            raise ValidationError("{name} is a class the provincial conditions prohibit: its "
                                  "level stays prohibited.", field="level", level=fields["level"],
                                  name=row.name)


def _class_in_use(session: Session, row: ChemicalClass) -> None:
    if row.provincial:
        raise ValidationError("{name} is a class the provincial conditions name: it is not "
                              "deleted.", code=row.code, name=row.name)
    members = [c.name for c in session.scalars(select(HazardousChemical))
               if row.code in (c.classes or [])]
    if members:
        raise ValidationError("{name} is still the class of {count} catalogue rows "
                              "({listed}).", members=members[:20], name=row.name,
                              count=len(members), listed=", ".join(members[:5]))


CLASS_TABLE = EditedTable(ChemicalClass, "class",
                          lambda row_id: NotFound("Class {id} does not exist.", id=row_id), "code",
                          lambda session, row: parse_class(row), _class_clash, _class_in_use)


def save_class(session: Session, class_id: int | None, *, code: str, name: str, level: str,
               patterns: Iterable[str] | str = (), excludes: Iterable[str] | str = (),
               note: str = "", source: str = "", actor: User | None, now: datetime) -> TableChange:
    """Create a class of chemicals or change one (a provincial class keeps its
    code and stays prohibited)."""
    def cell(value: Iterable[str] | str) -> str:
        return value if isinstance(value, str) else "|".join(value)

    return save_row(session, CLASS_TABLE, class_id,
                    {"code": code, "name": name, "level": level, "patterns": cell(patterns),
                     "excludes": cell(excludes), "note": note, "source": source},
                    actor=actor, now=now)


def delete_class(session: Session, class_id: int, *, actor: User | None, now: datetime) -> TableChange:
    """Delete a class no catalogue row names (a provincial class stays)."""
    return delete_row(session, CLASS_TABLE, class_id, actor=actor, now=now)
