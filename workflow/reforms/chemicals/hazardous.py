"""The hazardous-chemical catalogue (禁限控): a catalogue row parsed and
validated (names, CAS numbers with their check digit, levels), the whole
catalogue in its order, a page of it, and an admin's edit of one row."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import case, select
from sqlalchemy.orm import Session

from workflow.kernel import paging
from workflow.kernel.errors import ValidationError
from workflow.kernel.models import User
from workflow.reforms.chemicals.editing import EditedTable, RowError, TableChange, delete_row, save_row
from workflow.reforms.chemicals.models import CHEMICAL_LEVELS, HazardousChemical

LEVEL_NAMES = {"prohibited": "禁止类", "restricted": "限制类", "controlled": "控制类"}

_LEVELS = {"prohibited": "prohibited", "禁止": "prohibited", "禁止类": "prohibited", "禁": "prohibited",
           "restricted": "restricted", "限制": "restricted", "限制类": "restricted", "限": "restricted",
           "controlled": "controlled", "控制": "controlled", "控制类": "controlled", "控": "controlled"}
CATALOGUE_HEADERS = {"name": "name", "名称": "name", "品名": "name", "化学品名称": "name",
                     "cas": "cas", "cas号": "cas", "level": "level", "级别": "level",
                     "类别": "level", "note": "note", "备注": "note"}
CATALOGUE_REQUIRED = ("name", "level")

_CAS = re.compile(r"^(\d{2,7})-(\d{2})-(\d)$")


def valid_cas(value: str) -> bool:
    """A CAS registry number with a correct check digit (e.g. 75-44-5)."""
    match = _CAS.match(value or "")
    if not match:
        return False
    digits = (match.group(1) + match.group(2))[::-1]
    return sum(n * int(d) for n, d in enumerate(digits, start=1)) % 10 == int(match.group(3))


def parse_chemical(row: Mapping[str, str], number: int = 0
                   ) -> tuple[dict[str, Any] | None, list[RowError]]:
    """Validate one catalogue row (``name, cas, level, note``)."""
    errors: list[RowError] = []
    name = (row.get("name") or "").strip()
    cas = (row.get("cas") or "").strip()
    raw_level = (row.get("level") or "").strip()
    level = _LEVELS.get(raw_level.lower()) or _LEVELS.get(raw_level)
    if not name:
        errors.append(RowError(number, "name", "required"))
    elif len(name) > 200:
        errors.append(RowError(number, "name", "too_long"))
    if cas and not valid_cas(cas):
        errors.append(RowError(number, "cas", "bad_cas", cas))
    if not raw_level:
        errors.append(RowError(number, "level", "required"))
    elif level is None:
        errors.append(RowError(number, "level", "unknown_level", raw_level))
    if errors:
        return None, errors
    return {"name": name, "cas": cas or None, "level": level,
            "note": (row.get("note") or "").strip()}, []


def _normal(name: str) -> str:
    return re.sub(r"\s+", "", name or "").replace("（", "(").replace("）", ")").lower()


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
    for other in session.scalars(select(HazardousChemical)):
        if other is row:
            continue
        if _normal(other.name) == _normal(fields["name"]):
            raise ValidationError(f"{fields['name']} is already in the catalogue.")
        if fields["cas"] and other.cas == fields["cas"]:
            raise ValidationError(f"CAS {fields['cas']} is already in the catalogue ({other.name}).")


CATALOGUE_TABLE = EditedTable(HazardousChemical, "chemical", "Catalogue entry {id} does not exist.",
                              "name", parse_chemical, _chemical_clash)


def save_chemical(session: Session, chemical_id: int | None, form: Mapping[str, str], *,
                  actor: User | None, now: datetime) -> TableChange:
    """Create or change a catalogue row (an edited example loses its mark)."""
    return save_row(session, CATALOGUE_TABLE, chemical_id, form, actor=actor, now=now)


def delete_chemical(session: Session, chemical_id: int, *, actor: User | None,
                    now: datetime) -> TableChange:
    return delete_row(session, CATALOGUE_TABLE, chemical_id, actor=actor, now=now)
