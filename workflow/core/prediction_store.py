"""The database side of the predictions (``workflow.core.predict``): the
loader that reads a project into the prediction's plain data, the stored rows
(``item_prediction``, ``project_prediction``) and their refresh, and the
handling-time history rollup (``handling_history``) with the lifecycle gaps.
``workflow.core.predict`` re-exports every public name here."""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import delete, or_, select
from sqlalchemy.orm import Session, selectinload

from definitions import Definition, Item
from workflow.core import hooks, workload
from workflow.core.models import AuditEvent, ItemTask, Project, RollupState
from workflow.core.predict import (
    DEFAULT_MIN_HISTORY,
    GAP,
    GAP_SUBJECT,
    MILESTONES,
    SERVICE,
    STATUTORY,
    History,
    ItemFacts,
    Prediction,
    _Flag,
    predict,
)
from workflow.core.prediction_models import HandlingHistory, ProjectPrediction
from workflow.core.prediction_models import ItemPrediction as ItemPredictionRow
from workflow.kernel import clock as wd
from workflow.kernel.db import dialect_insert
from workflow.kernel.moments import aware, stored_day, utc, zone_today
from workflow.kernel.registry import definition_by_id

# Projects that no longer move: nothing to predict.
FINISHED_STAGES = ("intention", "signed", "verified", "terminated", "suspended")
# A history length beyond this many days is clipped (a task forgotten for years).
MAX_HISTORY_DAYS = 2000


def facts_of(task: ItemTask, item: Item, present: Iterable[str] = ()) -> ItemFacts:
    """The prediction's view of one task (``present``: the codes the project does)."""
    codes = set(present)
    checkpoint = item.checkpoint
    return ItemFacts(
        code=task.item_code, department=task.department, service_limit=item.service_limit,
        limit=item.limit, state=task.state, requires=tuple(c for c in item.requires if c in codes),
        group_id=task.group_id, gates=item.gates, available_from=item.available_from,
        opens_on_request=item.opens_on_request,
        checkpoint_months=checkpoint.months if checkpoint and checkpoint.reach == "started" else None,
        clock=task.clock, released_on=task.released_on, submitted_on=task.submitted_on,
        accepted_on=task.accepted_on, decided_on=task.decided_on, closed_on=task.closed_on,
        paused_since=task.paused_since, service_paused_days=task.service_paused_days or 0,
        statutory_paused_days=task.statutory_paused_days or 0,
        service_extension_days=task.service_extension_days or 0,
        extension_days=task.extension_days or 0)


def milestone_dates(session: Session, project_ids: Sequence[int]) -> dict[int, dict[str, date]]:
    """The day each project first reached each milestone, from its audit trail."""
    found: dict[int, dict[str, date]] = {pid: {} for pid in project_ids}
    if not project_ids:
        return found
    rows = session.execute(
        select(AuditEvent.project_id, AuditEvent.to_state, AuditEvent.at)
        .where(AuditEvent.project_id.in_(project_ids), AuditEvent.task_id.is_(None),
               AuditEvent.to_state.in_(MILESTONES))
        .order_by(AuditEvent.project_id, AuditEvent.seq))
    for project_id, stage, at in rows:
        found[project_id].setdefault(stage, stored_day(at))
    return found


def load_history(session: Session) -> History:
    """The whole ``handling_history`` rollup (a few thousand rows at most)."""
    counts: dict[tuple[str, str, str], dict[int, int]] = {}
    for subject, department, clock_, days, n in session.execute(
            select(HandlingHistory.subject, HandlingHistory.department, HandlingHistory.clock,
                   HandlingHistory.days, HandlingHistory.n)):
        counts.setdefault((subject, department, clock_), {})[days] = n
    return History(counts)


def load(session: Session, project: Project, *, today: date, history: History | None = None,
         reached: Mapping[str, date] | None = None,
         min_history: int = DEFAULT_MIN_HISTORY) -> Prediction:
    """The prediction of ``project`` on ``today`` from its tasks, its audit
    trail and the zone's history (read when not given)."""
    definition = definition_by_id(session, project.definition_version_id)
    tasks = [t for t in project.tasks if t.item_code in definition.items]
    codes = [t.item_code for t in tasks]
    facts = [facts_of(t, definition.items[t.item_code], codes) for t in tasks]
    if reached is None:
        reached = milestone_dates(session, [project.id])[project.id]
    return predict(facts, today=today, stage=project.stage, reached=reached,
                   history=history if history is not None else load_history(session),
                   min_history=min_history)


def store(session: Session, project: Project, prediction: Prediction, *, now: datetime) -> None:
    """Replace the project's stored prediction with ``prediction``."""
    store_many(session, [(project, prediction)], now=now)


def store_many(session: Session, predicted: Sequence[tuple[Project, Prediction]], *,
               now: datetime) -> None:
    """Replace the stored predictions of these projects: one delete, one
    insert of the items and one upsert of the projects for the whole batch."""
    if not predicted:
        return
    at = utc(now)
    ids = [project.id for project, _ in predicted]
    old = workload.delete_rows(session, ids)
    items, projects = [], []
    for project, prediction in predicted:
        item_rows, project_row = stored_rows(
            project.id, project.group_id, project.audit_seq or 0,
            {t.item_code: t.id for t in project.tasks}, prediction, at)
        items += item_rows
        projects.append(project_row)
    if items:
        session.execute(ItemPredictionRow.__table__.insert(), items)
    # The workload forecast's rollup follows the rows it counts.
    workload.adjust(session, old, [(i["group_id"], i["department"], i["released"],
                                    i["predicted_start"], i["predicted_end"]) for i in items])
    insert = dialect_insert(session)(ProjectPrediction.__table__)
    session.execute(insert.on_conflict_do_update(
        index_elements=["project_id"],
        set_={name: insert.excluded[name] for name in projects[0] if name != "project_id"}),
        projects)
    # The areas that compare predictions with their own dates (land: the agreement).
    hooks.run("predictions.stored", session, ids)


def stored_rows(project_id: int, group_id: int, audit_seq: int, task_ids: Mapping[str, int],
                prediction: Prediction, at: datetime) -> tuple[list[dict], dict]:
    """The ``item_prediction`` rows and the ``project_prediction`` row that
    store ``prediction`` of one project (``task_ids``: its tasks by item code;
    ``audit_seq``: the change it was made from). ``store_many`` writes them;
    the benchmark's bulk loader copies them."""
    items = [dict(project_id=project_id, item_code=p.code, task_id=task_ids[p.code],
                  group_id=p.group_id if p.group_id is not None else group_id,
                  department=p.department, released=p.released, predicted_start=p.start,
                  predicted_end=p.end, critical=p.critical, provisional=p.provisional,
                  basis=p.basis, driver=p.driver, as_of=at) for p in prediction.items]
    project = dict(
        project_id=project_id, group_id=group_id,
        reached=",".join(m for m in MILESTONES if m in prediction.reached),
        critical_item=prediction.critical_item, provisional=prediction.provisional,
        basis_seq=audit_seq, as_of=at, valid_until=prediction.valid_until,
        **{f"{m}_on": prediction.milestones[m] for m in MILESTONES})
    return items, project


def forget(session: Session, project_ids: Sequence[int]) -> None:
    """Drop the predictions of projects that no longer move."""
    if project_ids:
        workload.adjust(session, workload.delete_rows(session, project_ids), [])
        session.execute(delete(ProjectPrediction).where(ProjectPrediction.project_id.in_(project_ids)))
        hooks.run("predictions.stored", session, project_ids)


def changed_projects(session: Session, *, limit: int) -> list[int]:
    """Open projects whose prediction is missing, older than their last change
    (``basis_seq`` < ``audit_seq``) or made before ``valid_until`` existed;
    the oldest prediction first. One pass over the open projects joined to
    their predictions (the comparison of two tables' columns has no index):
    the sweep runs it once per sweep, not once per batch."""
    pp = ProjectPrediction
    rows = session.execute(
        select(Project.id).outerjoin(pp, pp.project_id == Project.id)
        .where(Project.stage.notin_(FINISHED_STAGES),
               or_(pp.project_id.is_(None), pp.basis_seq != Project.audit_seq,
                   pp.valid_until.is_(None)))
        .order_by(pp.as_of.is_not(None), pp.as_of, Project.id).limit(limit))
    return [r[0] for r in rows]


def expired_projects(session: Session, *, today: date, limit: int,
                     skip: Iterable[int] = ()) -> list[int]:
    """Open projects whose prediction held only until a day before ``today``
    (``valid_until``: an overdue item expected "today", a pause in progress,
    a milestone due): a range of ``ix_project_prediction_valid_until``, the
    earliest first, however many predictions are stored. ``skip``: ids
    already taken."""
    pp = ProjectPrediction
    skip = set(skip)
    rows = session.execute(
        select(pp.project_id).join(Project, Project.id == pp.project_id)
        .where(pp.valid_until < today, Project.stage.notin_(FINISHED_STAGES))
        .order_by(pp.valid_until, pp.project_id).limit(limit + len(skip)))
    return [r[0] for r in rows if r[0] not in skip][:limit]


def stale_projects(session: Session, *, today: date, limit: int) -> list[int]:
    """Open projects whose prediction must be made again: the changed ones
    first (``changed_projects``, a project someone just worked on), then
    those no longer valid on ``today`` (``expired_projects``). A quiet
    project whose dates all lie ahead is not recomputed each day."""
    return _stale(session, today=today, limit=limit, changed=True)[0]


def _stale(session: Session, *, today: date, limit: int,
           changed: bool) -> tuple[list[int], int]:
    """(``stale_projects``' ids, how many of them changed); ``changed``
    False: the expired ones only."""
    ids = changed_projects(session, limit=limit) if changed else []
    n_changed = len(ids)
    if len(ids) < limit:
        ids += expired_projects(session, today=today, limit=limit - len(ids), skip=ids)
    return ids, n_changed


def finished_with_prediction(session: Session, *, limit: int) -> list[int]:
    rows = session.execute(
        select(ProjectPrediction.project_id).join(Project, Project.id == ProjectPrediction.project_id)
        .where(Project.stage.in_(FINISHED_STAGES)).limit(limit))
    return [r[0] for r in rows]


PREDICTIONS = "predictions"


def _claim(session: Session, name: str, now: datetime) -> datetime | None:
    """Take the ``rollup_state`` row ``name`` (locked until the commit); when
    the previous refresh ran, None the first time."""
    before = session.scalar(select(RollupState.refreshed_at).where(RollupState.name == name))
    insert = dialect_insert(session)(RollupState).values(name=name, refreshed_at=utc(now),
                                                          as_of=zone_today(now))
    session.execute(insert.on_conflict_do_update(
        index_elements=["name"], set_={"refreshed_at": insert.excluded.refreshed_at,
                                       "as_of": insert.excluded.as_of}))
    return before


def refresh(session: Session, *, now: datetime, limit: int = 2000,
            changed: bool = True) -> dict[str, int]:
    """Recompute at most ``limit`` stale predictions and drop those of
    finished projects (``FINISHED_STAGES``); each call is one transaction's
    work. ``changed``: look for changed and finished projects first (a pass
    over the open projects); False takes expired predictions only (an index
    range), as the sweep does for its further batches of a day's wave.
    Answers how many were predicted, of them how many had ``changed``, and
    how many ``dropped``."""
    today = zone_today(now)
    # The state row's lock makes a second refresh (another scheduler) wait for
    # this one rather than write the same rows; its first run counts the
    # history of a database that had tasks before the rollup existed.
    if _claim(session, PREDICTIONS, now) is None:
        rebuild_history(session)
    history = load_history(session)
    ids, n_changed = _stale(session, today=today, limit=limit, changed=changed)
    done = refresh_projects(session, ids, now=now, history=history)
    gone = finished_with_prediction(session, limit=limit) if changed else []
    forget(session, gone)
    session.flush()
    return {"predicted": done, "changed": n_changed, "dropped": len(gone)}


def refresh_for(session_scope, *, now: datetime, seconds: float, limit: int = 2000,
                clock=None) -> dict[str, int]:
    """The sweep's share of predicting: ``refresh`` batch after batch, each
    in its own transaction (``session_scope()``: a context manager giving a
    session that commits on exit), until nothing is stale or ``seconds`` have
    passed (at least one batch). The first batch looks for changed projects;
    the next ones too while changed projects fill whole batches, then only
    expired predictions (a quiet day's wave after midnight: overdue clocks
    move with the day), so the next sweep, minutes later, sees new changes
    first. Answers the totals and the batches run."""
    clock = clock or time.monotonic
    deadline = clock() + seconds
    totals = {"predicted": 0, "changed": 0, "dropped": 0, "batches": 0}
    changed = True
    while True:
        with session_scope() as session:
            counts = refresh(session, now=now, limit=limit, changed=changed)
        totals["batches"] += 1
        for key in ("predicted", "changed", "dropped"):
            totals[key] += counts[key]
        changed = counts["changed"] >= limit or counts["dropped"] >= limit
        if (counts["predicted"] < limit and not changed) or clock() >= deadline:
            return totals


def refresh_projects(session: Session, ids: Sequence[int], *, now: datetime,
                     history: History | None = None) -> int:
    """Recompute and store the predictions of the projects ``ids`` (open ones);
    how many."""
    today = zone_today(now)
    history = history if history is not None else load_history(session)
    reached = milestone_dates(session, ids)
    projects = session.scalars(
        select(Project).where(Project.id.in_(ids), Project.stage.notin_(FINISHED_STAGES))
        .options(selectinload(Project.tasks))).all()
    store_many(session, [(project, load(session, project, today=today, history=history,
                                        reached=reached[project.id]))
                         for project in projects], now=now)
    done = len(projects)
    session.flush()
    return done


# -- the handling-time history -----------------------------------------------------------------

def task_lengths(task: ItemTask, item: Item) -> list[tuple[str, int]]:
    """(clock, days) a closed, done task took on each clock, gross of pauses,
    in the clock's limit's unit: release → submission, 受理 (or submission) →
    closing. Covered and terminated tasks did not run their clocks."""
    if task.state != "done" or task.closed_on is None:
        return []
    found = []
    flag = _Flag()
    if task.released_on and task.submitted_on:
        found.append((SERVICE, flag.elapsed(task.released_on, task.submitted_on,
                                            item.service_limit)))
    start = task.accepted_on or task.submitted_on
    if start:
        found.append((STATUTORY, flag.elapsed(start, task.closed_on, item.limit)))
    return [(c, min(d, MAX_HISTORY_DAYS)) for c, d in found]


def _count(session: Session, rows: Iterable[tuple[str, str, str, int, int]]) -> None:
    insert = dialect_insert(session)
    for subject, department, clock_, days, n in rows:
        statement = insert(HandlingHistory).values(subject=subject, department=department,
                                                   clock=clock_, days=days, n=n)
        session.execute(statement.on_conflict_do_update(
            index_elements=["subject", "department", "clock", "days"],
            set_={"n": HandlingHistory.n + statement.excluded.n}))


def task_done(session: Session, task: ItemTask, item: Item | None) -> None:
    """Count a just-completed task into ``handling_history`` (one upsert per
    clock, in the completing transaction; ``workflow.core.rollups.task_done``)."""
    if item is not None:
        _count(session, [(task.item_code, task.department, c, d, 1)
                         for c, d in task_lengths(task, item)])


def project_gaps(dates: Mapping[str, date], requested: date | None) -> dict[str, int]:
    """The lifecycle gaps a project completed, in working days: ``started``
    (ready to start → started), ``construction`` (started → the first item
    opened on request, 竣工验收), ``producing`` (completed → producing),
    ``at_capacity`` (producing → at capacity)."""
    spans = {"started": ("ready_to_start", dates.get("started")),
             "construction": ("started", requested),
             "producing": ("completed", dates.get("producing")),
             "at_capacity": ("producing", dates.get("at_capacity"))}
    found = {}
    for name, (since, until) in spans.items():
        begin = dates.get(since)
        if begin is not None and until is not None and until >= begin:
            found[name] = min(wd.working_days_between(begin, until).days, MAX_HISTORY_DAYS)
    return found


def _requested(definition: Definition, tasks: Iterable[tuple[str, date | None]]) -> date | None:
    days = [released for code, released in tasks if released is not None
            and code in definition.items and definition.items[code].opens_on_request]
    return min(days) if days else None


def record_gap(session: Session, project: Project, reached: str, *, now: datetime) -> None:
    """Count the lifecycle gap that ends as ``project`` reaches ``reached``
    (``project_gaps``: reaching completed ends the construction gap), in the
    advancing transaction."""
    name = {"completed": "construction"}.get(reached, reached)
    if name not in GAP_SUBJECT:
        return
    dates = milestone_dates(session, [project.id])[project.id]
    requested = _requested(definition_by_id(session, project.definition_version_id),
                           ((t.item_code, t.released_on) for t in project.tasks))
    days = project_gaps(dates, requested).get(name)
    if days is not None:
        _count(session, [(GAP_SUBJECT[name], "", GAP, days, 1)])


def rebuild_history(session: Session, batch: int = 5000) -> int:
    """Recount ``handling_history`` from the closed tasks and the projects'
    audit trails (a database filled before the rollup existed, or by a bulk
    load); the number of tasks counted. Reads columns only, in batches."""
    session.execute(delete(HandlingHistory))
    history, counted, last = History(), 0, 0
    columns = (ItemTask.id, ItemTask.item_code, ItemTask.department, ItemTask.state,
               ItemTask.released_on, ItemTask.submitted_on, ItemTask.accepted_on,
               ItemTask.closed_on, Project.definition_version_id)
    while True:
        rows = session.execute(
            select(*columns).join(Project, Project.id == ItemTask.project_id)
            .where(ItemTask.state == "done", ItemTask.id > last)
            .order_by(ItemTask.id).limit(batch)).all()
        if not rows:
            break
        for row in rows:
            item = definition_by_id(session, row.definition_version_id).items.get(row.item_code)
            if item is not None:
                for c, d in task_lengths(row, item):
                    history.add(row.item_code, row.department, c, d)
                counted += 1
            last = row.id
    last = 0
    while True:
        ids = list(session.scalars(
            select(AuditEvent.project_id).where(AuditEvent.project_id > last,
                                                AuditEvent.task_id.is_(None),
                                                AuditEvent.to_state.in_(MILESTONES[1:]))
            .group_by(AuditEvent.project_id).order_by(AuditEvent.project_id).limit(batch)))
        if not ids:
            break
        dates = milestone_dates(session, ids)
        versions = dict(session.execute(select(Project.id, Project.definition_version_id)
                                        .where(Project.id.in_(ids))).all())
        tasks: dict[int, list[tuple[str, date | None]]] = {i: [] for i in ids}
        for project_id, code, released in session.execute(
                select(ItemTask.project_id, ItemTask.item_code, ItemTask.released_on)
                .where(ItemTask.project_id.in_(ids), ItemTask.released_on.is_not(None))):
            tasks[project_id].append((code, released))
        for project_id in ids:
            requested = _requested(definition_by_id(session, versions[project_id]),
                                   tasks[project_id])
            for name, days in project_gaps(dates[project_id], requested).items():
                history.add(GAP_SUBJECT[name], "", GAP, days)
        last = ids[-1]
    _count(session, list(history.rows()))
    return counted


# -- reading a project's prediction ------------------------------------------------------------

@dataclass(frozen=True)
class ItemForecast:
    """One open item's predicted dates as the pages show them."""

    start: date
    end: date
    released: bool
    critical: bool
    provisional: bool
    basis: str


@dataclass(frozen=True)
class Forecast:
    """A project's prediction as the pages read it: the stored one (``stale``
    when the project changed since, or it was made before today: the sweep
    will redo it), or, for a project never predicted, one computed now and
    not stored (``computed``). ``as_of``: when it was made."""

    milestones: Mapping[str, date]
    reached: frozenset[str]
    items: Mapping[str, ItemForecast]
    critical_item: str | None
    provisional: bool
    as_of: datetime
    stale: bool = False
    computed: bool = False
    # Stale because the project changed (else: its dates moved with the day).
    changed: bool = False


def forecast_of(session: Session, project: Project, *, now: datetime) -> Forecast | None:
    """The prediction of ``project`` (None for a project that no longer
    moves, ``FINISHED_STAGES``): two primary-key reads of the stored rows;
    only a project never predicted is predicted here, without storing it."""
    if project.stage in FINISHED_STAGES:
        return None
    row = session.get(ProjectPrediction, project.id)
    if row is None:
        prediction = load(session, project, today=zone_today(now))
        return Forecast(
            milestones=dict(prediction.milestones), reached=prediction.reached,
            items={p.code: ItemForecast(p.start, p.end, p.released, p.critical, p.provisional,
                                        p.basis) for p in prediction.items},
            critical_item=prediction.critical_item, provisional=prediction.provisional,
            as_of=utc(now), computed=True)
    items = session.scalars(select(ItemPredictionRow)
                            .where(ItemPredictionRow.project_id == project.id)).all()
    as_of = aware(row.as_of)
    # Stale as the sweep sees it: the project moved since, or the dates held
    # only until a day now gone (``valid_until``; older rows have none).
    valid_until = row.valid_until
    if valid_until is None:
        valid_until = zone_today(as_of)
    changed = row.basis_seq != (project.audit_seq or 0)
    stale = changed or valid_until < zone_today(now)
    return Forecast(
        milestones={m: getattr(row, f"{m}_on") for m in MILESTONES},
        reached=frozenset(m for m in row.reached.split(",") if m),
        items={r.item_code: ItemForecast(r.predicted_start, r.predicted_end, r.released,
                                         r.critical, r.provisional, r.basis) for r in items},
        critical_item=row.critical_item, provisional=row.provisional, as_of=as_of, stale=stale,
        changed=changed)
