"""The zone's change log: who changed what outside any project.

A project's events are chained per project (``workflow.core.audit``). Changes
that belong to no project — accounts, roles, group membership, away and
substitute settings, API tokens, parcels and their evaluations, chemical rules
and the catalogue, definitions installed — are chained per zone here, written
by the engine operation that makes the change, in the same transaction. So a
change that rolls back leaves no record, and a record cannot be missing for a
change that committed.

Where a change came from (``via``: the web pages, the JSON API, the CLI, the
scheduler) is taken from the session: the caller that opens the transaction
says so once (``session.info[VIA] = "cli"``); the default is ``system``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflow.kernel import paging
from workflow.kernel.models import ZONE_AUDIT_CHANNELS, User, ZoneAuditChain, ZoneAuditEvent

GENESIS = "0" * 64
VIA = "daiban.via"  # session.info key: where the session's changes come from
DEFAULT_ZONE = "zone"


# -- what both chains share (a project's, in workflow.core.audit, and the zone's) ----------

def jsonable(value: Any) -> Any:
    """``value`` as plain JSON data (dates as ISO text), as an event stores it."""
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [jsonable(v) for v in value]
    return value


def utc_text(at: datetime) -> str:
    """A stored moment as hashed: naive UTC (SQLite hands timestamps back naive)."""
    if at.tzinfo is not None:
        at = at.astimezone(UTC).replace(tzinfo=None)
    return at.isoformat(timespec="microseconds")


def chain_hash(body: dict[str, Any]) -> str:
    """SHA-256 of an event's canonical JSON: what links it into its chain."""
    raw = json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(raw.encode()).hexdigest()


def event_hash(event: ZoneAuditEvent) -> str:
    return chain_hash({"zone": event.zone, "seq": event.seq, "at": utc_text(event.at),
                       "actor": event.actor_id, "via": event.via, "action": event.action,
                       "subject": event.subject, "data": event.data, "prev": event.prev_hash})


def zone_of(session: Session) -> str:
    """The zone whose log a change goes to: the zone of the definition in
    force (one zone per database today; a province platform keeps one chain
    per zone)."""
    from workflow.kernel.models import DefinitionVersion

    zone = session.scalar(select(DefinitionVersion.zone)
                          .where(DefinitionVersion.is_current.is_(True)).limit(1))
    return zone or DEFAULT_ZONE


def record(session: Session, *, actor: User | None, now: datetime, action: str, subject: str,
           data: dict[str, Any] | None = None, zone: str | None = None) -> ZoneAuditEvent:
    """Append one change to the zone's chain (locking its head row) and return it."""
    zone = zone or zone_of(session)
    via = session.info.get(VIA, "system")
    if via not in ZONE_AUDIT_CHANNELS:
        raise ValueError(f"Unknown channel {via!r}")
    chain = session.get(ZoneAuditChain, zone, with_for_update=True, populate_existing=True)
    if chain is None:
        chain = ZoneAuditChain(zone=zone, seq=0, head=GENESIS)
        session.add(chain)
        session.flush()
    event = ZoneAuditEvent(zone=zone, seq=chain.seq + 1, at=now.astimezone(UTC),
                           actor_id=actor.id if actor is not None else None, via=via,
                           action=action, subject=subject[:200], data=jsonable(data or {}),
                           prev_hash=chain.head)
    event.hash = event_hash(event)
    chain.seq, chain.head = event.seq, event.hash
    session.add(event)
    return event


@dataclass(frozen=True)
class Finding:
    zone: str
    seq: int | None
    problem: str

    def __str__(self) -> str:
        where = f" change #{self.seq}" if self.seq is not None else ""
        return f"zone {self.zone}{where}: {self.problem}"


def _events(session: Session, zone: str, batch: int = 1000) -> Iterator[ZoneAuditEvent]:
    after = 0
    while True:
        rows = session.scalars(select(ZoneAuditEvent)
                               .where(ZoneAuditEvent.zone == zone, ZoneAuditEvent.seq > after)
                               .order_by(ZoneAuditEvent.seq).limit(batch)).all()
        if not rows:
            return
        yield from rows
        after = rows[-1].seq
        session.expunge_all()


def verify(session: Session) -> tuple[list[Finding], int]:
    """Walk every zone's chain in batches; return what is wrong and how many
    changes were checked. An edited event no longer matches its hash; a
    deleted one leaves a gap in the sequence or a broken link; a deleted
    tail no longer reaches the chain's head."""
    findings: list[Finding] = []
    checked = 0
    zones = session.scalars(select(ZoneAuditChain.zone).order_by(ZoneAuditChain.zone)).all()
    heads = {c.zone: (c.seq, c.head) for c in session.scalars(select(ZoneAuditChain))}
    for zone in zones:
        expected_seq, prev = 1, GENESIS
        for event in _events(session, zone):
            checked += 1
            if event.seq != expected_seq:
                findings.append(Finding(zone, expected_seq, f"missing (next found is #{event.seq})"))
            if event.prev_hash != prev:
                findings.append(Finding(zone, event.seq, "link to the previous change broken"))
            if event_hash(event) != event.hash:
                findings.append(Finding(zone, event.seq, "content edited after it was recorded"))
            expected_seq, prev = event.seq + 1, event.hash
        seq, head = heads[zone]
        if seq != expected_seq - 1 or head != prev:
            findings.append(Finding(zone, None, f"the chain ends at #{expected_seq - 1} but its "
                                                f"head says #{seq}: changes deleted at the end"))
    return findings, checked


def page(session: Session, *, cursor: str | None = None, limit: int = paging.DEFAULT_LIMIT,
         zone: str | None = None) -> paging.Page:
    """The zone's changes, newest first, a keyset page at a time (the admin's page)."""
    zone = zone or zone_of(session)
    query = select(ZoneAuditEvent).where(ZoneAuditEvent.zone == zone)
    return paging.fetch(session, query, _NEWEST_FIRST, cursor=cursor, limit=limit)


_NEWEST_FIRST = paging.Order.by("zone-changes", paging.Key(ZoneAuditEvent.seq, int, descending=True))
