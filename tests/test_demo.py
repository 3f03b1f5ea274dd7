"""The demo data mirrors the zone and shows every kind of situation on any day.

Seeding takes a few seconds, so each database and day is seeded once and the
checks below run on that one seed.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from demo import seed as demo
from tests.factories import at
from workflow.accounts.passwords import verify_password
from workflow.core import audit, lights, predict
from workflow.core import operations as ops
from workflow.core.prediction_models import ProjectPrediction
from workflow.kernel.db import make_engine, make_session_factory
from workflow.kernel.registry import current_version, definition_of
from workflow.models import (
    Attachment,
    AuditEvent,
    CommitmentLetter,
    CreditRecord,
    Enterprise,
    ExtensionRequest,
    GapAcceptance,
    GroupMembership,
    IndustryGroup,
    ItemTask,
    MaterialRequest,
    Project,
    Rating,
    Rectification,
    Screening,
    User,
)
from workflow.reforms.land.models import AgreementMiss
from workflow.setup import initialise

WORKING_DAY = at("2026-11-27", 10)  # a Friday
NATIONAL_DAY = at("2026-10-05", 10)  # inside 国庆 (10-01..10-07)
SATURDAY = at("2026-11-28", 10)
EVE_OF_HOLIDAY = at("2026-09-30", 10)  # the last working day before 国庆
TODAY = datetime.now(ops.ZONE_TZ).replace(microsecond=0)  # the day `daiban demo` runs


def users_by_role(session) -> dict[str, list[User]]:
    by_role: dict[str, list[User]] = {}
    for user in session.scalars(select(User).order_by(User.username)):
        by_role.setdefault(user.role, []).append(user)
    return by_role


def check_people(session) -> None:
    by_role = users_by_role(session)
    assert [u.username for u in by_role["lead"]] == [f"lead{n:02d}" for n in range(1, 7)]
    assert [u.username for u in by_role["agent"]] == [f"agent{n:02d}" for n in range(1, 22)]
    assert [u.username for u in by_role["supervisor"]] == ["finance", "supervisor"]
    assert [u.username for u in by_role["admin"]] == ["admin"]
    definition = definition_of(current_version(session))

    agents_per_group: Counter[str] = Counter()
    leads_per_group: Counter[str] = Counter()
    for role, code, department in session.execute(
            select(User.role, IndustryGroup.code, User.department)
            .join(GroupMembership, GroupMembership.user_id == User.id)
            .join(IndustryGroup, IndustryGroup.id == GroupMembership.group_id)):
        if role == "agent":
            agents_per_group[code] += 1
            assert department in definition.groups[code].departments
        elif role == "lead":
            leads_per_group[code] += 1
    assert set(agents_per_group) == set(definition.groups) and len(definition.groups) == 5
    assert all(4 <= n <= 5 for n in agents_per_group.values()), agents_per_group
    assert sum(agents_per_group.values()) == 21  # each agent in exactly one group
    assert all(leads_per_group[code] >= 1 for code in definition.groups), leads_per_group
    assert all(len(u.memberships) >= 1 for u in by_role["lead"])

    owners = by_role["enterprise"]
    assert len(owners) >= 10
    projects_of = Counter(session.scalars(select(Project.enterprise_id)))
    for owner in owners:
        assert owner.enterprise is not None and len(owner.enterprise.credit_code) == 18
        assert projects_of[owner.enterprise_id] >= 2, owner.username
    # Every enterprise with a landed project has an account; prospects on the
    # intention ledger have none yet.
    landed_owners = set(session.scalars(select(Project.enterprise_id)
                                        .where(Project.stage != "intention")))
    assert landed_owners <= {o.enterprise_id for o in owners}
    assert session.scalar(select(func.count()).select_from(Enterprise)) >= len(owners)


def check_projects(session) -> None:
    definition = definition_of(current_version(session))
    projects = session.scalars(select(Project)).all()
    intentions = [p for p in projects if p.stage == "intention"]
    assert 25 <= len(projects) - len(intentions) + 2 <= 35  # ~30 projects + the ledger
    # The intention ledger mirrors the zone's: 20+ projects, ¥23 bn+ (230 亿 = 2,300,000 万元).
    assert len(intentions) >= 20 and sum(p.investment_wan for p in intentions) >= 2_300_000
    assert all(p.lead_id for p in intentions)
    assert sum(bool(p.hesitation and p.asks) for p in intentions) >= 18  # the ledger's own
    assert {p.stage for p in projects} == set(definition.stages)  # every lifecycle stage
    assert {p.group_id for p in projects} == set(session.scalars(select(IndustryGroup.id)))
    # Every project with tasks was mandated, and its signed mandate is on file.
    from workflow.models import AgencyDocument

    mandated = {p.id for p in projects if p.tasks}
    mandates = session.scalars(select(AgencyDocument.project_id)
                               .where(AgencyDocument.kind == "mandate")).all()
    assert mandated and sorted(mandates) == sorted(mandated)
    # Signed by the enterprise in its portal, but one still waits for it (the
    # project mandated two days ago, whose approvals begin with the signature).
    answers = Counter(session.scalars(select(AgencyDocument.status)
                                      .where(AgencyDocument.kind == "mandate")))
    assert answers["awaiting"] == 1 and answers["signed"] == len(mandated) - 1
    waiting = session.scalar(select(Project).join(AgencyDocument).where(
        AgencyDocument.status == "awaiting"))
    assert waiting.stage == "mandated" and {t.state for t in waiting.tasks} == {"blocked"}
    assert set(session.scalars(select(AgencyDocument.signed_via).where(
        AgencyDocument.status == "signed"))) == {"portal"}
    landed = [p for p in projects if p.stage != "intention"]
    total = sum(p.investment_wan for p in landed)
    assert 850_000 <= total <= 890_000  # ¥8.684 bn in the zone's report
    assert sum(p.investment_wan > 10_000 for p in landed) == 26  # above ¥100 M


def check_lights(session, now) -> None:
    today = ops.zone_today(now)
    tasks = session.scalars(select(ItemTask)).all()
    seen = Counter(lights.light(t, today) for t in tasks)
    assert seen["yellow"] >= 1 and seen["red"] >= 1, seen
    assert seen["green"] > seen["yellow"] + seen["red"], seen
    waiting = [t for t in tasks if t.state == "awaiting_enterprise"]
    assert waiting
    deadlines = session.scalars(select(MaterialRequest.deadline).where(
        MaterialRequest.task_id.in_([t.id for t in waiting]),
        MaterialRequest.fulfilled_at.is_(None))).all()
    assert any(d > today for d in deadlines)
    assert session.scalar(select(func.count()).select_from(ExtensionRequest)
                          .where(ExtensionRequest.decided_at.is_(None))) >= 1


def check_queue(session, now) -> None:
    """Every group's queue holds work to claim (ready, nobody's yet), and in
    the queues themselves some of it is yellow and some red (issue 12, item 1:
    a new agent meets the claim step, and the urgent work first)."""
    today = ops.zone_today(now)
    definition = definition_of(current_version(session))
    ready: Counter[str] = Counter()
    queued: Counter[str] = Counter()
    for task in session.scalars(select(ItemTask).where(ItemTask.state == "ready")):
        assert task.assignee_id is None
        ready[task.project.group.code] += 1
        queued[lights.light(task, today)] += 1
    assert all(ready[code] >= 1 for code in definition.groups), ready
    assert queued["yellow"] >= 1 and queued["red"] >= 1, queued


def check_numbers(session) -> None:
    """Numbers follow dates: in each year's series (commitment letters, each
    kind of agency document, each department's references) the first number
    is the earliest, as an office numbers its papers the day it issues them."""
    from workflow.models import AgencyDocument

    def in_order(rows) -> None:
        series: dict[tuple, list[tuple[int, datetime]]] = {}
        for key, number, at_ in rows:
            series.setdefault(key, []).append((number, at_))
        assert series
        for key, numbered in series.items():
            numbered.sort()
            assert numbered[0][0] == 1, (key, numbered[:3])
            moments = [m for _, m in numbered]
            assert moments == sorted(moments), (key, numbered)

    def serial(number: str) -> int:
        return int(re.search(r"(\d+)号", number).group(1))

    letters = session.execute(select(CommitmentLetter.number, CommitmentLetter.issued_at)).all()
    assert len(letters) >= 20
    in_order(((n[n.index("〔"):n.index("〕")],), serial(n), at_) for n, at_ in letters)
    papers = session.execute(select(AgencyDocument.kind, AgencyDocument.number,
                                    AgencyDocument.issued_at)).all()
    in_order(((kind, n[n.index("〔"):n.index("〕")]), serial(n), at_) for kind, n, at_ in papers)
    # The departments' approvals (批复文号) recorded on the items, dated by their step.
    refs = session.execute(select(AuditEvent.data, AuditEvent.at).where(
        AuditEvent.action == "task.approve").order_by(AuditEvent.at)).all()
    found = [(data.get("reference"), at_) for data, at_ in refs if data.get("reference")]
    assert len(found) >= 20
    in_order(((r[:r.index("〔")], r[r.index("〔"):r.index("〕")]), serial(r), at_)
             for r, at_ in found if re.fullmatch(r".+〔\d{4}〕\d+号", r))


def check_reforms(session) -> None:
    """Every reform shows in every state, made by the engine's operations."""
    def tally(column) -> Counter:
        return Counter(session.scalars(select(column)))

    letters = tally(CommitmentLetter.status)
    assert {"issued", "signed", "kept", "rectifying", "broken"} <= set(letters), letters
    # Every item closed "by commitment" was closed by a signed letter.
    by_commitment = set(session.scalars(select(ItemTask.covered_ref).where(
        ItemTask.covered_ref.startswith("commitment: "))))
    numbers = set(session.scalars(select(CommitmentLetter.number).where(
        CommitmentLetter.status != "issued")))
    assert by_commitment and {ref.removeprefix("commitment: ") for ref in by_commitment} == numbers
    promises = tally(GapAcceptance.status)
    assert {"open", "fulfilled", "expired"} <= set(promises), promises
    assert all(session.scalars(select(GapAcceptance.promised_at)))  # each promise signed
    credit = tally(CreditRecord.severity)
    assert credit["serious"] >= 1 and credit["minor"] >= 1, credit  # broken letter, missed 容缺
    ratings = tally(Rating.level)
    assert ratings["dissatisfied"] >= 1 and ratings["very_satisfied"] + ratings["satisfied"] >= 2
    assert set(tally(Rectification.status)) == {"open", "closed"}
    attached = session.scalars(select(Attachment)).all()
    assert len(attached) >= 20 and all(a.task_id for a in attached)
    assert {"pass", "restricted", "prohibited"} <= set(tally(Screening.verdict))
    reviewed = session.scalars(select(Screening).where(Screening.reviewed_at.is_not(None))).all()
    assert [s.review["conclusion"] for s in reviewed] == ["approve"]


def check_predictions(session) -> None:
    """Every open project is predicted, and at least one is predicted to miss
    its investment agreement because of an open item (the supervisors' list)."""
    open_ids = set(session.scalars(select(Project.id).where(
        Project.stage.notin_(predict.FINISHED_STAGES))))
    assert open_ids and open_ids == set(session.scalars(select(ProjectPrediction.project_id)))
    misses = session.execute(
        select(AgreementMiss.days_late, ProjectPrediction.critical_item, ItemTask.state)
        .join(ProjectPrediction, ProjectPrediction.project_id == AgreementMiss.project_id)
        .join(ItemTask, (ItemTask.project_id == AgreementMiss.project_id)
              & (ItemTask.item_code == ProjectPrediction.critical_item))).all()
    assert any(days > 0 and state not in ("done", "covered") for days, _, state in misses), misses


def check_history(session, now) -> None:
    assert audit.verify(session) == []
    latest = session.scalar(select(func.max(AuditEvent.at)))
    latest = latest if latest.tzinfo else latest.replace(tzinfo=UTC)
    assert latest < now  # the whole history lies before the moment of seeding
    actions = set(session.scalars(select(AuditEvent.action).distinct()))
    assert {"commitment.offered", "commitment.signed", "commitment.checked", "gap.accepted",
            "gap.promised", "gap.fulfilled", "gap.expired", "rating.recorded",
            "rectification.opened", "rectification.closed", "attachment.added",
            "chemicals.reviewed"} <= actions
    assert {"task.reassign", "task.request_materials", "task.supply_materials",
            "task.decide_extension", "task.department_return", "task.cover",
            "comment.added", "project.suspend", "project.terminate"} <= actions


@pytest.mark.parametrize("now", [WORKING_DAY, NATIONAL_DAY, SATURDAY, EVE_OF_HOLIDAY, TODAY],
                         ids=["working-day", "national-day", "saturday", "eve-of-holiday", "today"])
def test_the_demo_mirrors_the_zone_on_any_day(session, now):
    demo.seed_into(session, now=now)
    session.flush()
    check_people(session)
    check_projects(session)
    check_lights(session, now)
    check_queue(session, now)
    check_numbers(session)
    check_reforms(session)
    check_predictions(session)
    check_history(session, now)


def counts(url: str) -> dict[str, int]:
    engine = make_engine(url)
    try:
        with make_session_factory(engine)() as session:
            return {model.__name__: session.scalar(select(func.count()).select_from(model))
                    for model in (User, Enterprise, Project, ItemTask, AuditEvent)}
    finally:
        engine.dispose()


@pytest.fixture(scope="module")
def demo_file(tmp_path_factory):
    """A SQLite file made the way `daiban demo` makes it: migrated, then seeded."""
    folder = tmp_path_factory.mktemp("demo")
    url = f"sqlite:///{folder / 'demo.sqlite3'}"
    initialise(None, now=at("2024-01-02"), url=url)
    assert demo.seed_demo(now=WORKING_DAY, url=url, uploads=folder / "uploads") is True
    return url


def test_the_files_on_tasks_are_in_the_upload_folder(demo_file):
    """Each attachment row has its file, a PDF with the recorded digest, and
    nothing else (no ``.part`` left behind)."""
    folder = Path(demo_file.removeprefix("sqlite:///")).parent / "uploads"
    engine = make_engine(demo_file)
    with make_session_factory(engine)() as session:
        rows = session.execute(select(Attachment.storage_name, Attachment.sha256,
                                      Attachment.size)).all()
    engine.dispose()
    assert rows and {p.name for p in folder.iterdir()} == {name for name, _, _ in rows}
    for name, digest, size in rows:
        data = (folder / name).read_bytes()
        assert data.startswith(b"%PDF-") and data.rstrip().endswith(b"%%EOF")
        assert hashlib.sha256(data).hexdigest() == digest and len(data) == size


def test_seeding_twice_adds_nothing_the_second_time(demo_file):
    first = counts(demo_file)
    # 6 leads, 21 agents, admin, supervisor, the finance office, ent01–ent12
    assert first["Project"] >= 25 and first["User"] == 6 + 21 + 3 + 12
    assert demo.seed_demo(now=WORKING_DAY, url=demo_file) is False
    assert demo.seed_demo(now=at("2026-12-01"), url=demo_file) is False
    assert counts(demo_file) == first


def test_demo_users_sign_in_with_the_printed_password(demo_file):
    engine = make_engine(demo_file)
    with make_session_factory(engine)() as session:
        hashes = {name: hashed for name, hashed in session.execute(
            select(User.username, User.password_hash))}
    engine.dispose()
    assert len(demo.DEMO_PASSWORD) >= 8
    for username in ("admin", "supervisor", "finance", "lead01", "agent21", "ent12"):
        assert verify_password(hashes[username], demo.DEMO_PASSWORD), username
    assert not verify_password(hashes["lead01"], "wrong-password")
    assert len(set(hashes.values())) == 1  # hashed once, shared by every demo account


def test_the_demo_staff_have_mobile_numbers_mostly_verified(demo_file):
    """demo/messages.py: the SMS gateway reaches every lead and agent but the one
    whose number waits for the admin, and ent01/ent03 (not ent02)."""
    from workflow.core import notify

    engine = make_engine(demo_file)
    with make_session_factory(engine)() as session:
        people = {u.username: u for u in session.scalars(select(User))}
        reached = {name for name, u in people.items() if notify.verified_mobile(u)}
        staff = {name for name, u in people.items() if u.role in ("lead", "agent")}
        assert reached == (staff - {"agent21"}) | {"ent01", "ent03"}
        assert people["agent21"].mobile and people["ent02"].mobile
        assert len({u.mobile for u in people.values() if u.mobile}) == len(staff) + 3
    engine.dispose()
