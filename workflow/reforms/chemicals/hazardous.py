"""The hazardous-chemical catalogue (禁限控): a catalogue row parsed and
validated (names, CAS numbers with their check digit, levels, the other names
a chemical goes by, the classes it belongs to), the whole catalogue in its
order, a page of it, and an admin's edit of one row. A name or an alias
belongs to one row only; a provincial row (a substance the provincial
conditions name) stays prohibited and is never deleted."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import case, select
from sqlalchemy.orm import Session

from workflow.kernel import paging
from workflow.kernel.errors import NotFound, ValidationError
from workflow.kernel.models import User
from workflow.reforms.chemicals.classes import (
    MAX_FRAGMENT,
    MAX_NAMES,
    chemical_classes,
    class_lookup,
    level_of,
)
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
from workflow.reforms.chemicals.models import CHEMICAL_LEVELS, HazardousChemical

LEVEL_NAMES = {"prohibited": "禁止类", "restricted": "限制类", "controlled": "控制类"}

CATALOGUE_HEADERS = {"name": "name", "名称": "name", "品名": "name", "化学品名称": "name",
                     "cas": "cas", "cas号": "cas", "level": "level", "级别": "level",
                     "类别": "level", "note": "note", "备注": "note", "aliases": "aliases",
                     "别名": "aliases", "其他名称": "aliases", "classes": "classes",
                     "所属类别": "classes", "化学品类别": "classes"}
CATALOGUE_REQUIRED = ("name", "level")

_CAS = re.compile(r"^(\d{2,7})-(\d{2})-(\d)$")


def valid_cas(value: str) -> bool:
    """A CAS registry number with a correct check digit (e.g. 75-44-5)."""
    match = _CAS.match(value or "")
    if not match:
        return False
    digits = (match.group(1) + match.group(2))[::-1]
    return sum(n * int(d) for n, d in enumerate(digits, start=1)) % 10 == int(match.group(3))


def parse_chemical(row: Mapping[str, str], number: int = 0, *,
                   classes: Mapping[str, str] | None = None
                   ) -> tuple[dict[str, Any] | None, list[RowError]]:
    """Validate one catalogue row (``name, cas, level, aliases, classes,
    note``); ``classes`` maps a class as written (code or name) to its code
    (``class_lookup``), and a class it does not know is a problem."""
    errors = _untypeable(row, number)
    name = (row.get("name") or "").strip()
    cas = (row.get("cas") or "").strip()
    raw_level = (row.get("level") or "").strip()
    level = level_of(raw_level)
    if not name:
        errors.append(RowError(number, "name", "required"))
    elif len(name) > 200:
        errors.append(RowError(number, "name", "too_long"))
    if len(cas) > 40:
        errors.append(RowError(number, "cas", "too_long"))
    elif cas and not valid_cas(cas):
        errors.append(RowError(number, "cas", "bad_cas", cas))
    if not raw_level:
        errors.append(RowError(number, "level", "required"))
    elif level is None:
        errors.append(RowError(number, "level", "unknown_level", raw_level))
    aliases = list({_normal(a): a for a in _names(row.get("aliases") or "")
                    if _normal(a) != _normal(name)}.values())
    if len(aliases) > MAX_NAMES:
        errors.append(RowError(number, "aliases", "too_many", str(MAX_NAMES)))
    if any(len(a) > MAX_FRAGMENT for a in aliases):
        errors.append(RowError(number, "aliases", "too_long"))
    codes: list[str] = []
    for written in _names(row.get("classes") or ""):
        code = (classes or {}).get(_normal(written))
        if code is None:
            errors.append(RowError(number, "classes", "unknown_class", written))
        elif code not in codes:
            codes.append(code)
    if errors:
        return None, errors
    return {"name": name, "cas": cas or None, "level": level, "aliases": aliases, "classes": codes,
            "note": (row.get("note") or "").strip()}, []


def names_of(entry: HazardousChemical | Mapping[str, Any]) -> set[str]:
    """The compared forms of a catalogue row's name and aliases."""
    if isinstance(entry, Mapping):
        return {_normal(entry["name"]), *(_normal(a) for a in entry.get("aliases") or [])}
    return {_normal(entry.name), *(_normal(a) for a in entry.aliases or [])}


def catalogue(session: Session) -> list[HazardousChemical]:
    """The whole 禁限控 catalogue, prohibited first, then restricted, then
    controlled, each by name: what a screening matches products against."""
    rank = case({level: n for n, level in enumerate(CHEMICAL_LEVELS)}, value=HazardousChemical.level,
                else_=len(CHEMICAL_LEVELS))
    return list(session.scalars(select(HazardousChemical)
                                .order_by(rank, HazardousChemical.name, HazardousChemical.id)))
# The catalogue level by level (prohibited, restricted, controlled), each by
# name: one stretch per level, each an index range of ``ix_hazardous_chemical_level_name``.
CATALOGUE_ORDER = paging.Order("catalogue", tuple(
    paging.Segment(paging.Keyset(paging.Key(HazardousChemical.name, str),
                                 paging.Key(HazardousChemical.id, int)),
                   where=(HazardousChemical.level == level,))
    for level in CHEMICAL_LEVELS))


def catalogue_page(session: Session, *, cursor: str | None = None,
                   limit: int | None = None) -> paging.Page[HazardousChemical]:
    """A page of the catalogue: prohibited chemicals first, then restricted,
    then controlled, each level by name."""
    return paging.fetch(session, select(HazardousChemical), CATALOGUE_ORDER, cursor=cursor,
                        limit=limit)


def catalogue_size(session: Session) -> paging.Count:
    """How many chemicals the catalogue lists (counted up to ``paging.COUNT_CAP``)."""
    return paging.count_upto(session, select(HazardousChemical.id))


def _chemical_clash(session: Session, row: HazardousChemical | None, fields: dict[str, Any]) -> None:
    names = names_of(fields)
    for other in session.scalars(select(HazardousChemical)):
        if other is row:
            continue
        if _normal(other.name) == _normal(fields["name"]):
            raise ValidationError("{name} is already in the catalogue.", field="name",
                                  name=fields["name"])
        shared = names & names_of(other)
        if shared:
            raise ValidationError("{name}: the name {shared} is already "
                                  "{other}'s (a name or an alias belongs to one row).",
                                  name=fields["name"], shared=sorted(shared)[0], other=other.name)
        if fields["cas"] and other.cas == fields["cas"]:
            raise ValidationError("CAS {cas} is already in the catalogue ({other}).",
                                  field="cas", cas=fields["cas"], other=other.name)
    if row is not None and row.provincial and fields["level"] != "prohibited":
        raise ValidationError("{name} is named by the provincial conditions: it stays "
                              "prohibited.", field="level", level=fields["level"], name=row.name)


def _keep_provincial(session: Session, row: HazardousChemical) -> None:
    if row.provincial:
        raise ValidationError("{name} is named by the provincial conditions: it stays in "
                              "the catalogue.", name=row.name)


def _parse_row(session: Session, row: Mapping[str, str]):
    return parse_chemical(row, classes=class_lookup(chemical_classes(session)))


CATALOGUE_TABLE = EditedTable(HazardousChemical, "chemical",
                              lambda row_id: NotFound("Catalogue entry {id} does not exist.", id=row_id),
                              "name", _parse_row, _chemical_clash, _keep_provincial)


def save_chemical(session: Session, chemical_id: int | None, *, name: str, level: str,
                  cas: str = "", aliases: Iterable[str] | str = (), classes: Iterable[str] = (),
                  note: str = "", actor: User | None, now: datetime) -> TableChange:
    """Create or change a catalogue row (an edited example loses its mark):
    its name, CAS number, level, the other names it goes by and the codes
    of the classes it belongs to."""
    return save_row(session, CATALOGUE_TABLE, chemical_id,
                    {"name": name, "cas": cas, "level": level,
                     "aliases": aliases if isinstance(aliases, str) else "|".join(aliases),
                     "classes": "|".join(classes), "note": note},
                    actor=actor, now=now)


def delete_chemical(session: Session, chemical_id: int, *, actor: User | None,
                    now: datetime) -> TableChange:
    """Delete a catalogue row (never one the provincial conditions name)."""
    return delete_row(session, CATALOGUE_TABLE, chemical_id, actor=actor, now=now)
