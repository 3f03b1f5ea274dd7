"""The rows the pages need beyond projects and tasks, for the ``pages`` figure.

``PagesData`` plugs into ``bench.dataset.load`` (``extension=``): it adds the
people the pages are measured as, rewrites each generated chunk of projects
and tasks, and writes its own tables in the same ``COPY`` transaction. Every
list a measured page shows grows with the number of projects N:

- an enterprise user per enterprise (N/4); enterprise 1 (user ``ent0000001``)
  owns every 200th project, so its portal lists N/200 projects;
- closed tasks keep their last assignee (the agents' archive);
- notifications: N/10 each for agent01 and for the lead of the busiest group
  (70 % read), N/100 for ``ent0000001``;
- supervision notices (督办单): N/50 on overdue tasks, addressed to the task's
  agent or its group's lead, in every status;
- intention projects (stage ``intention``, no tasks): N/50, with 0–5
  follow-ups each;
- parcels: N/100 with four control indicators, a few regional evaluations;
  every 100th project stands on one, and those already started have an
  investment agreement with its four checkpoints (some reviewed);
- audit history: project BENCH-0000001 has 2,000 events, every 1,000th project
  20; the chains are hashed with ``workflow.core.audit.event_hash`` itself, so
  ``workflow.core.audit.verify`` accepts them;
- failed outbox messages (N/100) and a few pending ones; credit records
  (N/200); pending extension requests (N/1000);
- the shipped chemical rules and catalogue plus 3,000 synthetic chemicals;
- every open project's prediction (``item_prediction``, ``project_prediction``),
  made by ``workflow.core.predict.predict`` itself from the chunk's task rows
  with an empty history (every item at its legal limit, as a zone with no
  closed tasks yet); the workload rollup and the agreement misses are then
  counted from them by ``bench.pagescli`` as the engine's own code counts them.

Its own random generator is separate from the dataset's, so the projects and
tasks are those ``python -m bench`` loads, apart from the columns rewritten
here (enterprise of every 200th project, parcel, audit head, assignee of
closed tasks).
"""

from __future__ import annotations

import json
import random
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from bench.dataset import PROJECT_COLUMNS, TASK_COLUMNS, _present, enterprise_count
from workflow.accounts.passwords import hash_password
from workflow.core import audit
from workflow.core.predict import predict
from workflow.core.prediction_models import ItemPrediction, ProjectPrediction
from workflow.core.prediction_store import FINISHED_STAGES, facts_of, stored_rows
from workflow.models import (
    CLOCK_STATES,
    CREDIT_SEVERITIES,
    NOTICE_LEVELS,
    OPEN_STATES,
    AuditEvent,
    Checkpoint,
    CreditRecord,
    ExtensionRequest,
    FollowUp,
    HazardousChemical,
    InvestmentAgreement,
    Notification,
    OutboxMessage,
    Parcel,
    ParcelEvaluation,
    ParcelIndicator,
    Project,
    RegionalEvaluation,
    SupervisionNotice,
    User,
)
from workflow.reforms.chemicals import install_shipped

DUE = TASK_COLUMNS.index("due_on")  # a task row's due date (the clock that runs)

GENERATOR = "pages-3"  # bump when the generated data changes (``--reuse`` checks it)
PASSWORD = "bench-pages-password"  # every measured user's (a throw-away database only)
ENTERPRISE_USER_BASE = 1_000  # enterprise e's user has id ENTERPRISE_USER_BASE + e
BIG_ENTERPRISE_EVERY = 200  # every 200th project belongs to enterprise 1
PARCEL_EVERY = 100  # every 100th project (pid % 100 == 7) stands on a parcel
LONG_HISTORY = 2_000  # events of BENCH-0000001
HISTORY_EVERY = 1_000  # pid % 1000 == 500: 20 events
SYNTHETIC_CHEMICALS = 3_000
CLOSED = ("done", "covered")
ITEM_PREDICTION_COLUMNS = ("project_id", "item_code", "task_id", "group_id", "department",
                           "released", "predicted_start", "predicted_end", "critical",
                           "provisional", "basis", "driver", "as_of")
PROJECT_PREDICTION_COLUMNS = ("project_id", "group_id", "reached", "critical_item", "provisional",
                              "basis_seq", "as_of", "valid_until", "ready_to_start_on",
                              "started_on", "completed_on", "producing_on", "at_capacity_on")
TASK_STEPS = (("task.claim", "ready", "assigned"), ("task.start", "assigned", "in_progress"),
              ("task.submit", "in_progress", "submitted"), ("task.approve", "submitted", "approved"),
              ("task.complete", "approved", "done"))
INDICATORS = (("investment_intensity", "固定资产投资强度", "万元/亩", "min"),
              ("floor_area_ratio", "容积率", "", "min"),
              ("tax_per_mu", "亩均税收", "万元/亩", "min"),
              ("output_per_mu", "亩均产值", "万元/亩", "min"))


def _json(value) -> str:
    return json.dumps(value, ensure_ascii=False)


def parcel_indicators(parcel_id: int) -> list[tuple[str, str, str, str, str]]:
    """(code, name, unit, bound, value) of a parcel's control indicators."""
    rng = random.Random(parcel_id)
    values = (rng.randint(250, 450), f"{rng.randint(10, 20) / 10:.1f}", rng.randint(10, 30),
              rng.randint(200, 500))
    return [(code, name, unit, bound, str(value))
            for (code, name, unit, bound), value in zip(INDICATORS, values, strict=True)]


class PagesData:
    """``bench.dataset.load``'s extension for the pages figure (see the module)."""

    project_columns = ("parcel_id",)

    def __init__(self, projects: int, *, today: date, now: datetime, seed: int = 20260106) -> None:
        self.n = projects
        self.today, self.now = today, now
        self.rng = random.Random(seed)
        self.n_parcels = max(5, projects // 100)
        self.n_enterprises = enterprise_count(projects)
        self.open_by_group: Counter = Counter()
        self.overdue_sample: list[tuple[int, int, int, int | None]] = []
        self.worked_sample: list[tuple[int, int, int]] = []
        self.counts: Counter = Counter()
        self.timeline_project: dict[int, str] = {}  # group id -> an approving project past N/2
        # ~N/50 notices from ~0.6 overdue tasks per project: sample 1 in 15.
        self._overdue_rate = 1 / 15

    # -- people --------------------------------------------------------------------------

    def add_people(self, session: Session, definition, groups, agents, leads) -> None:
        self.definition = definition
        self.groups = groups
        self.agents = agents
        self.leads = leads  # group id -> lead's user id
        self.password_hash = hash_password(PASSWORD)
        session.execute(update(User).where(User.role.in_(("agent", "lead")))
                        .values(password_hash=self.password_hash))
        supervisor = User(username="supervisor1", display_name="督查员1", role="supervisor",
                          password_hash=self.password_hash, active=True, away=False)
        admin = User(username="admin1", display_name="管理员1", role="admin",
                     password_hash=self.password_hash, active=True, away=False)
        session.add_all([supervisor, admin])
        session.flush()
        self.supervisor_id, self.admin_id = supervisor.id, admin.id
        self.usernames = {u.id: u.username for u in session.scalars(select(User))}
        self.staff: dict[int, list[int]] = {}
        for agent in agents:
            for group_id in agent.group_ids:
                self.staff.setdefault(group_id, []).append(agent.id)
        install_shipped(session)  # the chemical rules and catalogue, as `daiban init`
        self.industries = list(definition.industries.values())
        self.evaluation_kinds = sorted({i.coverage.evaluation for i in definition.items.values()
                                        if i.coverage.evaluation})

    # -- before the projects ---------------------------------------------------------------

    def before_projects(self):
        rng = self.rng
        users = ((ENTERPRISE_USER_BASE + e, f"ent{e:07d}", f"企业用户{e}", "enterprise",
                  self.password_hash if e == 1 else None, e, True, False)
                 for e in range(1, self.n_enterprises + 1))
        yield _present(User, ("id", "username", "display_name", "role", "password_hash",
                              "enterprise_id", "active", "away"), users)
        self.counts["enterprise_users"] = self.n_enterprises
        parks = ("左云经开区化工园区", "左云经开区装备制造园", "左云经开区新能源园")
        parcels = []
        for n in range(1, self.n_parcels + 1):
            transferred = self.today - timedelta(days=rng.randint(30, 1500)) if rng.random() < 0.7 \
                else None
            parcels.append((n, f"ZY-P{n:06d}", f"标准地{n}号", parks[n % 3], f"规划路{n % 50}号",
                            f"{rng.randint(3000, 50000) / 100:.2f}", ("三通一平", "五通一平")[n % 2],
                            rng.randint(500, 20000), transferred))
        yield _present(Parcel, ("id", "code", "name", "park", "location", "area_mu", "servicing",
                                "land_price_wan", "transferred_on"), parcels)
        yield _present(ParcelIndicator, ("parcel_id", "code", "name", "unit", "bound", "value"),
                       ((p, *row) for p in range(1, self.n_parcels + 1)
                        for row in parcel_indicators(p)))
        evaluations = [(n, f"左开评〔2025〕{n}号", kind, f"区域评估{n}", self.today - timedelta(days=400 + n),
                        self.today + timedelta(days=(-30 if n % 5 == 0 else 700)))
                       for n, kind in enumerate(self.evaluation_kinds * 2, 1)]
        yield _present(RegionalEvaluation, ("id", "reference", "kind", "title", "done_on",
                                            "valid_until"), evaluations)
        if evaluations:
            yield _present(ParcelEvaluation, ("parcel_id", "evaluation_id"),
                           ((p, 1 + (p + k) % len(evaluations)) for p in range(1, self.n_parcels + 1)
                            for k in range(p % 3)))
        levels = ("prohibited", "restricted", "controlled")
        yield _present(HazardousChemical, ("name", "cas", "level", "note", "example"),
                       ((f"基准化学品{i:05d}", f"{10000 + i}-{i % 90 + 10:02d}-{i % 10}", levels[i % 3],
                         f"合成目录第{i}条", False) for i in range(1, SYNTHETIC_CHEMICALS + 1)))
        self.counts.update(parcels=self.n_parcels, chemicals=SYNTHETIC_CHEMICALS,
                           evaluations=len(evaluations))

    # -- each chunk of projects and tasks ----------------------------------------------------

    def chunk(self, project_rows: list[tuple], task_rows: list[tuple]):
        rng, today = self.rng, self.today
        tasks_of: dict[int, list[tuple]] = {}
        for n, row in enumerate(task_rows):
            task_id, pid, state, group_id = row[0], row[1], row[3], row[4]
            if state in CLOSED:
                staff = self.staff[group_id]
                row = task_rows[n] = (*row[:6], staff[(task_id * 7919) % len(staff)], *row[7:])
            elif state in OPEN_STATES:
                self.open_by_group[group_id] += 1
                if state in CLOCK_STATES and row[DUE] < today and rng.random() < self._overdue_rate:
                    self.overdue_sample.append((task_id, pid, group_id, row[6]))
                if state in ("assigned", "in_progress") and rng.random() < 0.01:
                    self.worked_sample.append((task_id, row[6], group_id))
            if pid == 1 or pid % HISTORY_EVERY == 500:
                tasks_of.setdefault(pid, []).append(row)
        events, agreements, checkpoints = [], [], []
        rows = []
        item_predictions, project_predictions = self._predictions(project_rows, task_rows)
        for row in project_rows:
            pid, stage, group_id, created_at = row[0], row[9], row[5], row[12]
            if stage == "approving" and pid > self.n // 2 and group_id not in self.timeline_project:
                self.timeline_project[group_id] = row[1]
            if pid % BIG_ENTERPRISE_EVERY == 0:
                row = (*row[:3], 1, *row[4:])
            parcel_id = None
            if pid % PARCEL_EVERY == 7 and stage != "terminated":
                parcel_id = (pid // PARCEL_EVERY) % self.n_parcels + 1
                if stage == "started":
                    agreement, points = self._agreement(pid, parcel_id, created_at)
                    agreements.append(agreement)
                    checkpoints += points
            if pid in tasks_of:
                history, seq, head = self._history(pid, group_id, created_at, tasks_of[pid],
                                                   LONG_HISTORY if pid == 1 else 20)
                events += history
                row = (*row[:13], seq, head, *row[15:])
            rows.append((*row, parcel_id))
        extra = []
        if project_predictions:
            extra.append(_present(ItemPrediction, ITEM_PREDICTION_COLUMNS, item_predictions))
            extra.append(_present(ProjectPrediction, PROJECT_PREDICTION_COLUMNS,
                                  project_predictions))
        if events:
            extra.append(_present(AuditEvent, ("project_id", "seq", "at", "actor_id", "action",
                                               "task_id", "from_state", "to_state", "data", "public",
                                               "prev_hash", "hash"), events))
        if agreements:
            extra.append(_present(InvestmentAgreement, (
                "project_id", "parcel_id", "signed_on", "land_price_wan", "indicators", "start_by",
                "complete_by", "produce_by", "capacity_by", "created_by_id", "created_at"), agreements))
            extra.append(_present(Checkpoint, ("project_id", "kind", "due_on", "status", "rectify_by",
                                               "result", "decided_by_id", "decided_at"), checkpoints))
        self.counts.update(item_predictions=len(item_predictions),
                           project_predictions=len(project_predictions))
        self.counts.update(audit_events=len(events), agreements=len(agreements),
                           checkpoints=len(checkpoints))
        return rows, extra

    def _predictions(self, project_rows: list[tuple], task_rows: list[tuple]):
        """The stored predictions of the chunk's open projects, as the sweep
        would store them on ``today`` with no history yet."""
        items = self.definition.items
        tasks_of: dict[int, list] = {}
        for row in task_rows:
            tasks_of.setdefault(row[1], []).append(SimpleNamespace(**dict(zip(TASK_COLUMNS, row,
                                                                               strict=True))))
        item_rows, project_rows_out = [], []
        for row in project_rows:
            pid, group_id, stage, audit_seq = row[0], row[5], row[9], row[13]
            if stage in FINISHED_STAGES or pid not in tasks_of:
                continue
            tasks = tasks_of[pid]
            codes = [t.item_code for t in tasks]
            prediction = predict([facts_of(t, items[t.item_code], codes) for t in tasks],
                                 today=self.today, stage=stage)
            mine, project = stored_rows(pid, group_id, audit_seq or 0,
                                        {t.item_code: t.id for t in tasks}, prediction, self.now)
            item_rows += [tuple(r[c] for c in ITEM_PREDICTION_COLUMNS) for r in mine]
            project_rows_out.append(tuple(project[c] for c in PROJECT_PREDICTION_COLUMNS))
        return item_rows, project_rows_out

    def _history(self, pid: int, group_id: int, created_at: datetime, tasks: list[tuple], n: int):
        """``n`` chained audit events of project ``pid``, hashed by ``workflow.core.audit``."""
        rng = self.rng
        staff = self.staff[group_id]
        lead = self.leads[group_id]
        at = created_at.astimezone(UTC)
        prev, rows = audit.GENESIS, []
        for seq in range(1, n + 1):
            at = at + timedelta(minutes=rng.randint(1, 240), microseconds=rng.randint(0, 999_999))
            if seq == 1:
                action, task, before, after, actor = "project.created", None, None, "signed", lead
                data = {"name": f"基准项目{pid}"}
            elif seq == 2:
                action, task, before, after, actor = "project.mandate", None, "signed", "mandated", lead
                data = {}
            else:
                step = (seq - 3) % (len(TASK_STEPS) * len(tasks))
                task = tasks[step // len(TASK_STEPS)]
                action, before, after = TASK_STEPS[step % len(TASK_STEPS)]
                actor = staff[(seq * 31) % len(staff)]
                data = {"item": task[2], "assignee": self.usernames[actor]}
                task = task[0]
            public = action in ("task.complete", "project.mandate")
            event = SimpleNamespace(project_id=pid, seq=seq, at=at, actor_id=actor, action=action,
                                    task_id=task, from_state=before, to_state=after, data=data,
                                    public=public, prev_hash=prev)
            digest = audit.event_hash(event)
            rows.append((pid, seq, at, actor, action, task, before, after, _json(data), public, prev,
                         digest))
            prev = digest
        return rows, n, prev

    def _agreement(self, pid: int, parcel_id: int, created_at: datetime):
        rng, today = self.rng, self.today
        signed = created_at.date() + timedelta(days=20)
        dates = {"start": signed + timedelta(days=180), "completion": signed + timedelta(days=540),
                 "production": signed + timedelta(days=720), "capacity": signed + timedelta(days=1080)}
        committed = {code: {"name": name, "unit": unit, "bound": bound, "value": value}
                     for code, name, unit, bound, value in parcel_indicators(parcel_id)}
        agreement = (pid, parcel_id, signed, rng.randint(500, 20000), _json(committed),
                     dates["start"], dates["completion"], dates["production"], dates["capacity"],
                     self.admin_id, datetime.combine(signed, datetime.min.time(), tzinfo=UTC))
        points = []
        for kind, due in dates.items():
            status, rectify_by, result, decided_at = "open", None, None, None
            if due < today and (kind != "capacity" and rng.random() < 0.8):
                status, decided_at = "passed", datetime.combine(due, datetime.min.time(), tzinfo=UTC)
            elif due < today and kind == "capacity" and rng.random() < 0.6:
                status = rng.choice(("passed", "passed", "rectifying", "breached"))
                lines = []
                for code, spec in committed.items():
                    actual = float(spec["value"]) * rng.uniform(0.6, 1.4)
                    lines.append({"code": code, "name": spec["name"], "bound": spec["bound"],
                                  "committed": spec["value"], "actual": f"{actual:.2f}",
                                  "met": actual >= float(spec["value"])})
                rectify_by = due + timedelta(days=180) if status == "rectifying" else None
                result = _json({"reviews": [{"indicators": lines, "verdict": status,
                                             "decided_on": due.isoformat(), "decided_by": "专班组长",
                                             "rectify_by": rectify_by.isoformat() if rectify_by
                                             else None, "note": None}], "pending": None})
                decided_at = datetime.combine(due, datetime.min.time(), tzinfo=UTC)
            points.append((pid, kind, due, status, rectify_by, result,
                           self.admin_id if decided_at else None, decided_at))
        return agreement, points

    # -- after the projects ----------------------------------------------------------------------

    def busiest_group(self) -> int:
        return max(sorted(self.open_by_group), key=lambda g: self.open_by_group[g])

    def after_projects(self):
        rng, n, now, today = self.rng, self.n, self.now, self.today
        agent01 = next(a.id for a in self.agents if a.username == "agent01")
        lead = self.leads[self.busiest_group()]
        enterprise_user = ENTERPRISE_USER_BASE + 1

        # Intention projects (no tasks yet) and their follow-ups.
        n_intentions = max(1, n // 50)
        version_id = self._version_id
        intentions, follow_ups = [], []
        for k in range(1, n_intentions + 1):
            pid = n + k
            industry = self.industries[rng.randrange(len(self.industries))]
            group_id = self.groups[industry.group]
            created = now - timedelta(days=rng.randint(1, 200))
            intentions.append((pid, f"BENCH-I{k:07d}", f"意向项目{k}", rng.randint(1, self.n_enterprises),
                               industry.code, group_id, self.leads[group_id], None,
                               rng.randint(1000, 800000), "intention", None, version_id, created, 0,
                               "", 1, f"观望原因{k % 7}：等待用地指标与配套政策",
                               f"企业要求{k % 5}：协调供水供电", None))
            for f in range(rng.randint(0, 5)):
                contacted = created.date() + timedelta(days=rng.randint(0, 180))
                follow_ups.append((pid, min(contacted, today), f"联系人{k % 97}",
                                   ("visit", "call", "meeting", "online")[f % 4],
                                   f"第{f + 1}次跟进：洽谈进展",
                                   "观望用地价格", "协调配套", self.leads[group_id], now))
        yield _present(Project, PROJECT_COLUMNS + ("hesitation", "asks", "parcel_id"), intentions)
        yield _present(FollowUp, ("project_id", "contacted_on", "contact", "channel", "summary",
                                  "hesitation", "asks", "recorded_by_id", "recorded_at"), follow_ups)

        def notifications(user_id: int, count: int):
            for k in range(count):
                created = now - timedelta(seconds=rng.randint(0, 180 * 86400))
                project = rng.randint(1, n)
                task = (project - 1) * 14 + rng.randint(1, 14) if k % 2 else None
                yield (user_id, "task_event", f"【事项提醒】基准项目{project}",
                       f"事项有新进展（第{k}条），请及时处理。", project, task, created,
                       created + timedelta(hours=1) if rng.random() < 0.7 else None)
        columns = ("user_id", "kind", "title", "body", "project_id", "task_id", "created_at", "read_at")
        for user_id, count in ((agent01, n // 10), (lead, n // 10), (enterprise_user, n // 100)):
            yield _present(Notification, columns, notifications(user_id, count))
        self.counts["notifications"] = 2 * (n // 10) + n // 100

        # Supervision notices on overdue tasks, in every status.
        rng.shuffle(self.overdue_sample)
        notices = []
        for task_id, pid, group_id, assignee in self.overdue_sample[:max(1, n // 50)]:
            level = rng.choice(NOTICE_LEVELS)
            addressee = assignee if assignee is not None and rng.random() < 0.6 else self.leads[group_id]
            issued = now - timedelta(days=rng.randint(0, 60), seconds=rng.randint(0, 86400))
            day = issued.date()
            ack = report = closed = reported = None
            r = rng.random()
            if r < 0.2:
                ack = issued + timedelta(hours=3)
            elif r < 0.45:
                ack, reported = issued + timedelta(hours=3), issued + timedelta(days=2)
                report, closed = "已督促办理，预计本周办结", reported
            elif r < 0.6:
                closed = issued + timedelta(days=4)
            notices.append((task_id, pid, level, self.supervisor_id if level == "manual" else None,
                            addressee, f"事项已超期，请于期限内办结（督办{len(notices) + 1}）", issued,
                            day + timedelta(days=1), day + timedelta(days=5), ack, reported, report, closed))
        yield _present(SupervisionNotice, ("task_id", "project_id", "level", "issued_by_id",
                                           "addressee_id", "reason", "issued_at", "ack_due",
                                           "report_due", "acknowledged_at", "reported_at", "report",
                                           "closed_at"), notices)

        extensions = []
        for task_id, assignee, group_id in self.worked_sample[:max(1, n // 1000)]:
            requested = now - timedelta(days=rng.randint(0, 10))
            decided = rng.random() < 0.2
            extensions.append((task_id, rng.randint(3, 10), "企业材料需第三方出具，申请延期", assignee,
                               requested,
                               self.leads[group_id] if decided else None,
                               requested + timedelta(days=1) if decided else None, True if decided else None))
        yield _present(ExtensionRequest, ("task_id", "days", "reason", "requested_by_id", "requested_at",
                                          "decided_by_id", "decided_at", "approved"), extensions)

        def outbox():
            for k in range(n // 100 + n // 1000):
                failed = k < n // 100
                created = now - timedelta(seconds=rng.randint(0, 90 * 86400))
                yield ("email" if k % 3 else "webhook", f"user{k % 500}@bench.invalid", f"【代办】提醒{k}",
                       "您有新的待办事项。", None, f"bench:{k}", "failed" if failed else "pending",
                       8 if failed else 1, created + timedelta(hours=9), None,
                       "550 mailbox unavailable" if failed else None, created, None)
        yield _present(OutboxMessage, ("channel", "recipient", "subject", "body", "payload",
                                       "dedupe_key", "status", "attempts", "next_attempt_at",
                                       "locked_until", "last_error", "created_at", "sent_at"), outbox())

        def credit():
            for k in range(max(1, n // 200)):
                created = now - timedelta(seconds=rng.randint(0, 365 * 86400))
                cleared = rng.random() < 0.3
                yield (rng.randint(1, self.n_enterprises), rng.randint(1, n), CREDIT_SEVERITIES[k % 2],
                       ("commitment_broken", "gap_expired")[k % 2], f"容缺材料逾期未补齐（{k}）", f"REF-{k}",
                       self.admin_id, created, self.admin_id if cleared else None,
                       created + timedelta(days=30) if cleared else None, "已整改" if cleared else None)
        yield _present(CreditRecord, ("enterprise_id", "project_id", "severity", "source", "reason",
                                      "reference", "created_by_id", "created_at", "cleared_by_id",
                                      "cleared_at", "clear_note"), credit())
        self.counts.update(intention_projects=n_intentions, follow_ups=len(follow_ups),
                           supervision_notices=len(notices), extension_requests=len(extensions),
                           failed_deliveries=n // 100, credit_records=max(1, n // 200))

    # -- what the pages figure needs to know -----------------------------------------------------

    def set_version(self, version_id: int) -> None:
        self._version_id = version_id

    def context(self) -> dict:
        """The measured users and objects (kept in the database for ``--reuse``)."""
        group = self.busiest_group()
        return {
            "users": {"agent": "agent01", "lead": self.usernames[self.leads[group]],
                      "supervisor": "supervisor1", "admin": "admin1", "enterprise": "ent0000001"},
            "busiest_group_id": group,
            "open_tasks_by_group": dict(sorted(self.open_by_group.items())),
            "long_history_project": "BENCH-0000001",
            "timeline_project": self.timeline_project.get(group),
            "rows": dict(sorted(self.counts.items())),
        }
