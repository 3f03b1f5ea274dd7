"""The intention ledger, read a page at a time on an index: who may read
which projects (a SQL condition), the filters, the open intentions, those
converted and those dropped, the ledger's figures, the export's stream of
open lines, each line's contacts and latest screening, and the leaders a
form offers."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from itertools import islice

from sqlalchemy import Select, and_, false, func, literal, literal_column, or_, select
from sqlalchemy.orm import Session, joinedload

from workflow.core import permissions
from workflow.core.models import AuditEvent, Project
from workflow.kernel import paging, validate
from workflow.kernel.errors import term
from workflow.kernel.models import Enterprise, IndustryGroup, User
from workflow.kernel.moments import ZONE_TZ, stored_day
from workflow.kernel.paging import Key, Order
from workflow.reforms.chemicals.models import Screening
from workflow.reforms.intentions.models import FollowUp

# An intention nobody contacted for this long is reminded to its leader.
STALE_AFTER_DAYS = 30


# -- who sees what, in SQL ----------------------------------------------------------------------

def _lit(value: str):
    """A constant written into the SQL text rather than bound: the planners
    match a partial index's WHERE and an expression index only against literals
    (SQLite always, PostgreSQL once psycopg prepares the statement)."""
    return literal(value, literal_execute=True)


# The pipeline's and the open ledger's sort key: the planned investment, none as 0
# (``ix_project_stage_investment`` indexes this very expression).
INVESTMENT = func.coalesce(Project.investment_wan, literal_column("0"))


def ledger_scope(user: User):
    """The projects of the ledger ``user`` may read: none unless they read the
    ledger at all (``permissions.can_read_ledger``), then those they may view."""
    return permissions.visible_projects(user) if permissions.can_read_ledger(user) else false()


def viewable_ids(session: Session, user: User, project_ids: Iterable[int]) -> set[int]:
    """Which of ``project_ids`` (a page of them) ``user`` may open."""
    ids = sorted(set(project_ids))
    if not ids:
        return set()
    return set(session.scalars(select(Project.id).where(Project.id.in_(ids),
                                                        permissions.visible_projects(user))))


# -- the ledger --------------------------------------------------------------------------------

@dataclass(frozen=True)
class LedgerFilter:
    """The ledger's filters: an industry group (by code), the leader in charge,
    and a text found in the project's name or code, the enterprise's name, the
    hesitation or the asks (case-insensitive)."""

    group: str | None = None
    lead_id: int | None = None
    text: str | None = None

    @classmethod
    def parse(cls, args) -> LedgerFilter:
        """The filters in query arguments (``group``, ``lead``, ``q``), checked."""
        return cls(group=validate.code(args.get("group"), term("group")),
                   lead_id=validate.number(args.get("lead"), term("lead"), low=1, high=2**31 - 1),
                   text=validate.code(args.get("q"), term("search"), limit=100))

    def clauses(self) -> list:
        where = []
        if self.group:
            where.append(Project.group_id == select(IndustryGroup.id).where(
                IndustryGroup.code == self.group).scalar_subquery())
        if self.lead_id:
            where.append(Project.lead_id == self.lead_id)
        if self.text:
            pattern = validate.like_pattern(self.text)
            named = select(Enterprise.id).where(Enterprise.name.ilike(pattern, escape="\\"))
            where.append(or_(*(column.ilike(pattern, escape="\\") for column in (
                Project.name, Project.code, Project.hesitation, Project.asks)),
                Project.enterprise_id.in_(named)))
        return where


@dataclass
class LedgerLine:
    project: Project
    follow_ups: int = 0  # how many contacts were recorded
    last_contact: date | None = None
    screening: Screening | None = None
    moved_at: datetime | None = None  # signed or dropped

    def stale(self, today: date) -> bool:
        """No contact for more than ``STALE_AFTER_DAYS`` (counting from the
        registration day before the first one), as ``silent_before`` says in SQL."""
        since = self.last_contact or stored_day(self.project.created_at)
        return (today - since).days > STALE_AFTER_DAYS


@dataclass(frozen=True)
class LedgerSummary:
    """The ledger's figures for the viewer and the filters: open intentions and
    their planned investment (exact, one aggregate), and the stale, converted
    and dropped ones counted up to ``paging.COUNT_CAP``."""

    open: int
    open_investment_wan: int
    stale: paging.Count
    converted: paging.Count
    dropped: paging.Count


@dataclass
class Ledger:
    open: paging.Page[LedgerLine]
    converted: paging.Page[LedgerLine]
    dropped: paging.Page[LedgerLine]
    summary: LedgerSummary


# Open intentions: largest planned investment first, then by code (ix_project_stage_investment).
STAGE_KEYS = (Key(INVESTMENT, int, descending=True), Key(Project.code, str), Key(Project.id, int))
OPEN = Order.by("intentions", *STAGE_KEYS)
# Converted and dropped: newest first, on the partial indexes of their audit events.
MOVED_KEYS = (Key(AuditEvent.at, datetime, descending=True), Key(AuditEvent.id, int, descending=True))
CONVERTED = Order.by("intentions-converted", *MOVED_KEYS)
DROPPED = Order.by("intentions-dropped", *MOVED_KEYS)
LINE_OPTIONS = (joinedload(Project.enterprise), joinedload(Project.lead), joinedload(Project.group))


def _is_open():
    return Project.stage == _lit("intention")


def _signed():
    """The signing of an intention (at most once per project: only an intention is signed)."""
    return (AuditEvent.action == _lit("project.sign"),)


def _dropped():
    """The termination of an intention (at most once per project)."""
    return AuditEvent.action == _lit("project.terminate"), AuditEvent.from_state == _lit("intention")


def _open_query(viewer: User, filters: LedgerFilter) -> Select:
    return select(Project).where(_is_open(), ledger_scope(viewer), *filters.clauses())


def _moved_query(viewer: User, filters: LedgerFilter, event: tuple) -> Select:
    return (select(Project, AuditEvent.at).join(AuditEvent, AuditEvent.project_id == Project.id)
            .where(*event, ledger_scope(viewer), *filters.clauses()))


def open_intentions(session: Session, viewer: User, filters: LedgerFilter = LedgerFilter(), *,
                    cursor: str | None = None, limit: int | None = None) -> paging.Page[LedgerLine]:
    """A page of the open intentions ``viewer`` may read, largest planned
    investment first, then by code."""
    page = paging.fetch(session, _open_query(viewer, filters), OPEN, cursor=cursor, limit=limit,
                        options=LINE_OPTIONS)
    page.rows = _lines(session, [(p, None) for p in page.rows])
    return page


def converted(session: Session, viewer: User, filters: LedgerFilter = LedgerFilter(), *,
              cursor: str | None = None, limit: int | None = None) -> paging.Page[LedgerLine]:
    """A page of the intentions signed since (whatever their stage now), newest first."""
    page = paging.fetch(session, _moved_query(viewer, filters, _signed()), CONVERTED, cursor=cursor,
                        limit=limit, options=LINE_OPTIONS)
    page.rows = _lines(session, [(row[0], row[1]) for row in page.rows])
    return page


def dropped(session: Session, viewer: User, filters: LedgerFilter = LedgerFilter(), *,
            cursor: str | None = None, limit: int | None = None) -> paging.Page[LedgerLine]:
    """A page of the intentions terminated (the enterprise dropped them), newest first."""
    page = paging.fetch(session, _moved_query(viewer, filters, _dropped()), DROPPED, cursor=cursor,
                        limit=limit, options=LINE_OPTIONS)
    page.rows = _lines(session, [(row[0], row[1]) for row in page.rows])
    return page


def silent_before(cutoff: date):
    """Intentions nobody contacted on or after ``cutoff``: their last contact
    is before it, or, never contacted, they were registered before it."""
    contacts = select(FollowUp.id).where(FollowUp.project_id == Project.id)
    return and_(~contacts.where(FollowUp.contacted_on >= cutoff).exists(),
                or_(contacts.exists(), Project.created_at < _zone_midnight(cutoff)))


def _zone_midnight(day: date) -> datetime:
    """The instant ``day`` begins in the zone, in UTC (as moments are stored)."""
    return datetime.combine(day, time.min, tzinfo=ZONE_TZ).astimezone(UTC)


def summary(session: Session, viewer: User, filters: LedgerFilter = LedgerFilter(), *,
            today: date, cap: int = paging.COUNT_CAP) -> LedgerSummary:
    """The ledger's figures (``LedgerSummary``): one aggregate over the open
    intentions in scope, and three capped counts in one round trip."""
    where = (ledger_scope(viewer), *filters.clauses())
    count, total = session.execute(
        select(func.count(Project.id), func.coalesce(func.sum(INVESTMENT), literal_column("0")))
        .where(_is_open(), *where)).one()
    cutoff = today - timedelta(days=STALE_AFTER_DAYS)
    counts = paging.counts_upto(session, {
        "stale": select(Project.id).where(_is_open(), silent_before(cutoff), *where),
        "converted": select(AuditEvent.id).join(Project, Project.id == AuditEvent.project_id)
        .where(*_signed(), *where),
        "dropped": select(AuditEvent.id).join(Project, Project.id == AuditEvent.project_id)
        .where(*_dropped(), *where),
    }, cap)
    return LedgerSummary(count or 0, int(total or 0), counts["stale"], counts["converted"],
                         counts["dropped"])


def ledger(session: Session, viewer: User, filters: LedgerFilter = LedgerFilter(), *, today: date,
           cursors: dict[str, str | None] | None = None, limit: int | None = None) -> Ledger:
    """The intention ledger ``viewer`` may read: a page each of the open
    intentions (largest planned investment first), those converted into signed
    projects and those the enterprise dropped (newest first), each line with
    its contacts and latest screening; ``cursors`` holds each list's cursor
    (``open``, ``converted``, ``dropped``)."""
    cursors = cursors or {}
    return Ledger(
        open_intentions(session, viewer, filters, cursor=cursors.get("open"), limit=limit),
        converted(session, viewer, filters, cursor=cursors.get("converted"), limit=limit),
        dropped(session, viewer, filters, cursor=cursors.get("dropped"), limit=limit),
        summary(session, viewer, filters, today=today))


def open_lines(session: Session, viewer: User, filters: LedgerFilter = LedgerFilter(), *,
               batch: int = 500, end_reads: bool = False) -> Iterator[LedgerLine]:
    """Every open intention ``viewer`` may read, in the ledger's order, read
    ``batch`` at a time (the Excel export: memory for one batch, not the list;
    ``end_reads`` as ``paging.pages_of``)."""
    rows = paging.pages_of(session, _open_query(viewer, filters), OPEN, batch=batch,
                           options=LINE_OPTIONS, end_reads=end_reads)
    while chunk := list(islice(rows, batch)):
        yield from _lines(session, [(p, None) for p in chunk])


def _lines(session: Session, rows: list[tuple[Project, datetime | None]]) -> list[LedgerLine]:
    """Ledger lines for a page of projects: their contacts (how many, the last)
    and the latest screening of the chemical ones, two queries for the page."""
    ids = [p.id for p, _ in rows]
    contacts = _contacts(session, ids)
    screenings = _latest_screenings(session, [p.id for p, _ in rows if p.is_chemical])
    lines = []
    for project, moved_at in rows:
        n, last = contacts.get(project.id, (0, None))
        lines.append(LedgerLine(project, n, last, screenings.get(project.id), moved_at))
    return lines


def _contacts(session: Session, project_ids: list[int]) -> dict[int, tuple[int, date]]:
    if not project_ids:
        return {}
    return {pid: (n, last) for pid, n, last in session.execute(
        select(FollowUp.project_id, func.count(FollowUp.id), func.max(FollowUp.contacted_on))
        .where(FollowUp.project_id.in_(sorted(set(project_ids)))).group_by(FollowUp.project_id))}


def _follow_ups(session: Session, project_ids: list[int]) -> dict[int, list[FollowUp]]:
    found: dict[int, list[FollowUp]] = {}
    if not project_ids:
        return found
    for row in session.scalars(select(FollowUp).where(FollowUp.project_id.in_(project_ids))
                               .options(joinedload(FollowUp.recorded_by))
                               .order_by(FollowUp.contacted_on.desc(), FollowUp.id.desc())):
        found.setdefault(row.project_id, []).append(row)
    return found


def _latest_screenings(session: Session, project_ids: list[int]) -> dict[int, Screening]:
    found: dict[int, Screening] = {}
    if not project_ids:
        return found
    for row in session.scalars(select(Screening).where(Screening.project_id.in_(project_ids))
                               .order_by(Screening.screened_at, Screening.id)):
        found[row.project_id] = row
    return found


def follow_ups_of(session: Session, project_id: int) -> list[FollowUp]:
    """A project's follow-up contacts, newest first (kept after signing)."""
    return _follow_ups(session, [project_id]).get(project_id, [])


def lead_handlers(session: Session) -> list[User]:
    return list(session.scalars(select(User).where(User.role == "lead", User.active.is_(True))
                                .order_by(User.display_name, User.id)))
