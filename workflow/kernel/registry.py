"""Definition versions in the database.

A definition is stored whole (its parsed source) under its content hash, so a
running project rebuilds exactly the definition it started under, whatever the
files on disk say today. Installing a new version only changes which one new
projects get.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from sqlalchemy import select, update
from sqlalchemy.orm import Session

import definitions
from definitions import Definition, load_definition, load_definition_from_source
from workflow.kernel import zone_audit
from workflow.kernel.errors import NotFound
from workflow.kernel.models import DefinitionVersion, IndustryGroup

DEFAULT_DIR = Path(definitions.__file__).parent / "zuoyun"


def install_definition(session: Session, definition: Definition, *, now: datetime,
                       make_current: bool = True) -> DefinitionVersion:
    """Store ``definition`` (idempotent by version) and sync the industry groups.
    A new version, or a version put in force, is written to the zone's change
    log; installing what is already stored and in force records nothing."""
    row = session.scalar(
        select(DefinitionVersion).where(DefinitionVersion.version == definition.version)
    )
    new = row is None
    if new:
        row = DefinitionVersion(zone=definition.zone, version=definition.version,
                                source=dict(definition.source), loaded_at=now)
        session.add(row)
    previous = None
    if make_current and not row.is_current:
        previous = session.scalar(select(DefinitionVersion.version)
                                  .where(DefinitionVersion.is_current.is_(True)))
        session.execute(update(DefinitionVersion).values(is_current=False))
        row.is_current = True
        current = True
    else:
        current = False
    _sync_groups(session, definition)
    session.flush()
    if new or current:
        zone_audit.record(session, actor=None, now=now, zone=definition.zone,
                          action="definition.installed" if new else "definition.in_force",
                          subject=f"definition:{definition.version}",
                          data={"in_force": bool(row.is_current), "previous": previous})
    return row


def _sync_groups(session: Session, definition: Definition) -> None:
    existing = {g.code: g for g in session.scalars(select(IndustryGroup))}
    for group in definition.groups.values():
        row = existing.get(group.code)
        if row is None:
            session.add(IndustryGroup(code=group.code, name_zh=group.name_zh,
                                      name_en=group.name_en))
        else:
            row.name_zh, row.name_en = group.name_zh, group.name_en


def install_from_dir(session: Session, path: Path | str | None, *, now: datetime) -> DefinitionVersion:
    return install_definition(session, load_definition(Path(path or DEFAULT_DIR)), now=now)


def current_version(session: Session) -> DefinitionVersion:
    row = session.scalar(select(DefinitionVersion).where(DefinitionVersion.is_current.is_(True)))
    if row is None:
        raise NotFound("No definition is installed yet: run `daiban init` first.")
    return row


_built: dict[str, Definition] = {}
_version_of_id: dict[int, str] = {}


def definition_of(row: DefinitionVersion) -> Definition:
    """The frozen definition stored in ``row``, built once per version (the
    version is the content hash, so the cache can never serve stale content)."""
    definition = _built.get(row.version)
    if definition is None:
        # Validated when it was installed: rules added since for new
        # definitions do not refuse the version running projects keep.
        definition = load_definition_from_source(row.source, stored=True)
        _built[row.version] = definition
    return definition


def group_by_code(session: Session, code: str) -> IndustryGroup:
    group = session.scalar(select(IndustryGroup).where(IndustryGroup.code == code))
    if group is None:
        raise NotFound("Industry group '{code}' does not exist.", code=code)
    return group


def definition_by_id(session: Session, version_id: int) -> Definition:
    """The definition of a stored version id, without touching the database
    once this process has built it (ids and content hashes never change)."""
    version = _version_of_id.get(version_id)
    if version is not None and version in _built:
        return _built[version]
    row = session.get(DefinitionVersion, version_id)
    if row is None:
        raise NotFound("Definition version {version} does not exist.", version=version_id)
    _version_of_id[version_id] = row.version
    return definition_of(row)
