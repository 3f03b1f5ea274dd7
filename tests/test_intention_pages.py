"""The intention ledger and the pipeline read a page at a time, on both
databases: every list paged in SQL on its index, filters and the viewer's
permission in SQL (the same rule as ``permissions.can_view_project``), figures
counted by the database, the pipeline's totals from the refreshed rollup, and
the stale-intention sweep in batches, still exactly once."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import event, func, select, text

from tests import factories as f
from tests.factories import at
from tests.pages import walk
from workflow.core import operations, permissions, rollups
from workflow.kernel.errors import ValidationError
from workflow.kernel.paging import BadCursor
from workflow.models import Notification, Project
from workflow.reforms import intentions

NOW = at("2026-03-02", 10)
TODAY = date(2026, 3, 2)


@pytest.fixture
def people(session):
    return {
        "lead": f.user(session, "lead_eq", "lead", groups=("equipment",)),
        "lead2": f.user(session, "lead_eq2", "lead", groups=("equipment",)),
        "chem_lead": f.user(session, "lead_chem", "lead", groups=("coal_chemical",)),
        "admin": f.user(session, "admin1", "admin"),
        "agent": f.user(session, "agent_eq", "agent", groups=("equipment",)),
        "sup": f.user(session, "sup1", "supervisor"),
    }


def intention(session, people, name, wan, *, actor="admin", industry="equipment_manufacturing",
              now=NOW, **kw):
    return intentions.create_intention(
        session, name=name, industry=industry, investment_wan=wan, enterprise_name=f"{name}公司",
        actor=people[actor], now=now, **kw)


def ids(rows):
    return [getattr(row, "project", row).id for row in rows]


# -- the open intentions ---------------------------------------------------------------------

def test_open_intentions_page_by_investment_then_code(session, people):
    amounts = [500, 120000, 500, 0, 300000, 500, 7, 120000, 42, 500, 9, 1, 2]
    made = [intention(session, people, f"项目{n:02d}", wan) for n, wan in enumerate(amounts)]
    made[3].investment_wan = None  # none stated: counts as 0, after the positive ones
    session.flush()
    expected = sorted(made, key=lambda p: (-(p.investment_wan or 0), p.code, p.id))
    pages = walk(lambda **kw: intentions.open_intentions(session, people["admin"], **kw), 4)
    assert [len(p) for p in pages] == [4, 4, 4, 1]
    assert [i for p in pages for i in ids(p)] == [p.id for p in expected]
    back = intentions.open_intentions(session, people["admin"], cursor=pages[2].prev, limit=4)
    assert ids(back) == ids(pages[1])
    # The export reads the same list in batches.
    assert ids(intentions.open_lines(session, people["admin"], batch=3)) == [p.id for p in expected]


def test_filters_are_sql_conditions(session, people):
    lead = people["lead"]
    a = intention(session, people, "100%绿色项目", 10, hesitation="担心电价_上涨", lead=lead)
    b = intention(session, people, "100绿色项目", 20, asks="协调专线", lead=lead)
    c = intention(session, people, "煤化项目", 30, industry="coal_chemical")
    d = intention(session, people, "另一个项目", 40, actor="lead")
    company = a.enterprise

    def found(**kw):
        return ids(intentions.open_intentions(session, people["admin"], intentions.LedgerFilter(**kw)))

    assert found(text="100%") == [a.id]  # % and _ are not wildcards
    assert found(text="100") == [b.id, a.id]
    assert found(text="电价_上") == [a.id]
    assert found(text="专线") == [b.id]
    assert found(text=company.name) == [a.id]  # the enterprise's name
    assert found(text=c.code) == [c.id]
    assert found(group="coal_chemical") == [c.id]
    assert found(group="nonesuch") == []
    assert found(lead_id=people["lead"].id) == [d.id, b.id, a.id]  # the equipment lead leads those
    assert found(lead_id=people["lead"].id, text="绿色") == [b.id, a.id]


@pytest.mark.parametrize("args", [{"lead": "x1"}, {"q": "a" * 101}, {"q": "bad\x00"},
                                  {"group": "g" * 65}])
def test_bad_filters_are_refused(args):
    with pytest.raises(ValidationError):
        intentions.LedgerFilter.parse(args)


def test_filters_parse_from_query_arguments():
    parsed = intentions.LedgerFilter.parse({"q": " 绿色 ", "group": "equipment", "lead": "7"})
    assert parsed == intentions.LedgerFilter(group="equipment", lead_id=7, text="绿色")
    assert intentions.LedgerFilter.parse({}) == intentions.LedgerFilter()


# -- converted and dropped -------------------------------------------------------------------

def test_converted_and_dropped_page_newest_first_from_the_audit_events(session, people):
    made = [intention(session, people, f"项目{n}", 100 * n) for n in range(7)]
    for n, project in enumerate(made[:5]):  # signed on 3, 4, 5, 6, 7 March
        intentions.convert_intention(session, project.id, actor=people["admin"],
                                     now=at(f"2026-03-0{3 + n}"))
    for n, project in enumerate(made[5:]):
        operations.terminate_project(session, project.id, actor=people["admin"],
                                     now=at(f"2026-03-1{n}"), reason="企业放弃")
    # A signed project terminated later stays converted; it was not dropped as an intention.
    operations.terminate_project(session, made[0].id, actor=people["admin"], now=at("2026-03-20"),
                                 reason="企业退出")
    pages = walk(lambda **kw: intentions.converted(session, people["admin"], **kw), 2)
    lines = [line for p in pages for line in p]
    assert ids(lines) == [p.id for p in reversed(made[:5])]
    assert [line.moved_at.day for line in lines] == [7, 6, 5, 4, 3]
    dropped = intentions.dropped(session, people["admin"])
    assert ids(dropped) == [made[6].id, made[5].id]
    book = intentions.ledger(session, people["admin"], today=TODAY,
                             cursors={"converted": pages[1].next}, limit=2)
    assert ids(book.converted) == ids(pages[2]) and not book.open
    # A cursor of one list is refused by another.
    with pytest.raises(BadCursor):
        intentions.dropped(session, people["admin"], cursor=pages[0].next)
    summary = intentions.summary(session, people["admin"], today=TODAY)
    assert (str(summary.converted), str(summary.dropped)) == ("5", "2")
    capped = intentions.summary(session, people["admin"], today=TODAY, cap=3)
    assert str(capped.converted) == "3+" and not capped.converted.exact and capped.dropped.exact


# -- who sees what -----------------------------------------------------------------------------

def test_the_sql_rule_is_can_view_project_for_every_role(session, people):
    eq, chem = people["lead"], people["chem_lead"]
    acme = f.enterprise(session)
    projects = [
        f.project(session, NOW, company=acme, lead=eq),
        f.project(session, NOW, industry="coal_chemical", lead=eq),  # led outside the lead's group
        f.project(session, NOW, industry="coal_chemical", lead=chem),
        f.project(session, NOW, industry="food_processing", mandate=False),
    ]
    food_agent = f.user(session, "agent_food", "agent", groups=("food",))
    projects[2].tasks[0].assignee_id = food_agent.id  # holds a task of a chemical project
    grouped = f.user(session, "lead_none", "lead")
    users = [*people.values(), food_agent, grouped, f.user(session, "ent", "enterprise", company=acme),
             f.user(session, "ent0", "enterprise"), f.user(session, "gone", "admin")]
    users[-1].active = False
    session.flush()
    everything = session.scalars(select(Project)).all()
    for user in users:
        sql = set(session.scalars(select(Project.id).where(permissions.visible_projects(user))))
        assert sql == {p.id for p in everything if permissions.can_view_project(user, p)}, user
        assert intentions.viewable_ids(session, user, [p.id for p in everything]) == sql


def test_a_lead_reads_their_groups_and_what_they_lead_an_agent_nothing(session, people):
    mine = intention(session, people, "装备项目", 100)
    led = intention(session, people, "煤化项目", 300, industry="coal_chemical", lead=people["lead"])
    other = intention(session, people, "另一个煤化项目", 200, industry="coal_chemical")
    assert other.lead_id == people["chem_lead"].id
    for project in (mine, led, other):
        project.is_chemical = False  # (no screening needed to sign, for this test)
        intentions.convert_intention(session, project.id, actor=people["admin"], now=NOW)
    again = intention(session, people, "装备项目二", 50)
    stale_other = intention(session, people, "煤化项目二", 70, industry="coal_chemical",
                            now=at("2026-01-05"))

    def book(user):
        return intentions.ledger(session, user, today=TODAY)

    lead = book(people["lead"])
    assert ids(lead.open) == [again.id]
    assert ids(lead.converted) == [led.id, mine.id]  # signed together: the later event first
    assert (lead.summary.open, lead.summary.open_investment_wan, str(lead.summary.stale)) == (1, 50, "0")
    chem = book(people["chem_lead"])
    assert ids(chem.open) == [stale_other.id] and str(chem.summary.stale) == "1"
    assert ids(chem.converted) == [other.id, led.id]  # their group's, whoever leads
    for user in (people["admin"], people["sup"]):
        everyone = book(user)
        assert ids(everyone.open) == [stale_other.id, again.id]
        assert everyone.summary.open_investment_wan == 120 and int(everyone.summary.converted) == 3
    # An agent may view the equipment projects but does not read the ledger.
    agent = book(people["agent"])
    assert not agent.open and not agent.converted and agent.summary.open == 0
    assert int(agent.summary.converted) == 0
    assert intentions.viewable_ids(session, people["agent"], [again.id]) == {again.id}


# -- the stale count -----------------------------------------------------------------------------

@pytest.mark.parametrize("today", ["2026-03-02", "2026-03-03", "2026-03-04", "2026-04-10"])
def test_the_stale_count_is_the_lines_that_show_stale(session, people, today):
    quiet = intention(session, people, "久未联系", 1, now=at("2026-01-05"))
    contacted = intention(session, people, "一月底联系过", 2, now=at("2026-01-05"))
    intentions.record_follow_up(session, contacted.id, contacted_on="2026-01-31", summary="电话",
                                actor=people["admin"], now=NOW)
    early = intention(session, people, "登记前就联系过", 3, now=at("2026-02-03"))
    intentions.record_follow_up(session, early.id, contacted_on="2026-01-02", summary="走访",
                                actor=people["admin"], now=NOW)
    # Registered on 1 February in the zone (31 January in UTC): silent from the zone's day.
    intention(session, people, "新登记", 4, now=at("2026-02-01", 7))
    assert quiet and early
    day = date.fromisoformat(today)
    lines = list(intentions.open_lines(session, people["admin"]))
    summary = intentions.summary(session, people["admin"], today=day)
    assert int(summary.stale) == sum(line.stale(day) for line in lines)
    shown = {line.project.name for line in lines if line.stale(day)}
    expected = {"2026-03-02": {"久未联系", "登记前就联系过"},
                "2026-03-03": {"久未联系", "登记前就联系过", "一月底联系过"},
                "2026-03-04": {"久未联系", "登记前就联系过", "一月底联系过", "新登记"}}
    if today in expected:
        assert shown == expected[today]


# -- the pipeline --------------------------------------------------------------------------------

def _hand_built(session, people):
    company = f.enterprise(session)
    made = {}

    def make(code, industry, stage, wan, lead, suspended_from=None):
        project = operations.create_project(
            session, code=code, name=code, enterprise=company, industry=industry, actor=None,
            now=NOW, lead=lead, investment_wan=wan,
            stage="intention" if stage == "intention" else "signed")
        project.stage, project.suspended_from = stage, suspended_from  # the pipeline reads stages
        made[code] = project

    eq, chem = people["lead"], people["chem_lead"]
    make("A-1", "equipment_manufacturing", "signed", 500, eq)
    make("A-2", "machinery", "mandated", 500, eq)
    make("A-3", "coal_chemical", "approving", 900, chem)
    make("A-4", "machinery", "ready_to_start", None, eq)
    make("A-5", "coal_chemical", "suspended", 700, chem, suspended_from="approving")
    make("A-6", "machinery", "suspended", 800, eq, suspended_from="started")  # another step
    make("A-7", "machinery", "terminated", 9999, eq)
    make("A-8", "fine_chemical", "mandated", 0, chem)
    make("A-9", "equipment_manufacturing", "intention", 100, eq)
    made["A-4"].lead_id = None
    session.flush()
    return made


def test_a_steps_projects_page_across_its_stages_and_suspended_ones(session, people):
    _hand_built(session, people)
    pages = walk(lambda **kw: intentions.step_projects(session, "signed", **kw), 2)
    assert [p.code for page in pages for p in page] == ["A-3", "A-5", "A-1", "A-2", "A-4", "A-8"]
    assert [p.code for p in intentions.step_projects(session, "started")] == ["A-6"]
    assert [p.code for p in intentions.step_projects(session, "intention")] == ["A-9"]
    assert all(not intentions.step_projects(session, s) for s in ("producing", "at_capacity"))
    with pytest.raises(BadCursor):  # a cursor of one step is refused by another
        intentions.step_projects(session, "started", cursor=pages[0].next)
    with pytest.raises(ValidationError):
        intentions.step_projects(session, "terminated")


def test_pipeline_totals_come_from_the_refreshed_rollup(session, people):
    made = _hand_built(session, people)
    before = intentions.pipeline(session)
    assert before.refreshed_at is None and before.total.count == 0 and before.leads == []
    assert [row.total.count for row in before.groups] == [0] * len(before.groups)
    rollups.refresh(session, now=at("2026-03-02", 8))
    view = intentions.pipeline(session)
    assert view.refreshed_at is not None
    assert {s: (t.count, t.investment_wan) for s, t in view.steps.items()} == {
        "intention": (1, 100), "signed": (6, 2600), "started": (1, 800), "producing": (0, 0),
        "at_capacity": (0, 0)}
    assert (view.total.count, view.total.investment_wan) == (8, 3500)  # A-7 (terminated) nowhere
    groups = {row.key.code: row for row in view.groups}
    assert groups["coal_chemical"].steps["signed"].investment_wan == 1600
    assert groups["equipment"].total.count == 5
    leads = {row.key.username if row.key else None: row for row in view.leads}
    assert leads[None].total.count == 1 and view.leads[-1].key is None  # nobody leads it
    assert leads["lead_chem"].steps["signed"].count == 3
    assert [row.key.username for row in view.leads[:-1]] == ["lead_eq", "lead_chem"]  # 1900, 1600
    # What happens after the refresh shows with the next one; the lists are live.
    made["A-9"].stage = "signed"
    session.flush()
    assert intentions.pipeline(session).steps["intention"].count == 1
    assert "A-9" in [p.code for p in intentions.step_projects(session, "signed")]
    rollups.refresh(session, now=at("2026-03-02", 9))
    later = intentions.pipeline(session)
    assert later.steps["intention"].count == 0 and later.steps["signed"].count == 7


def test_the_step_rule_in_sql_is_step_of(session, people):
    _hand_built(session, people)
    rows = session.execute(select(Project, intentions.step_column(Project.stage,
                                                                  Project.suspended_from))).all()
    assert rows and all(step == intentions.step_of(project) for project, step in rows)


# -- the sweep, in batches ---------------------------------------------------------------------

def test_the_sweep_reads_in_batches_and_reminds_each_silence_once(session, people):
    lead = people["lead"]
    silent = [intention(session, people, f"沉默{n}", n, now=at("2026-01-05"), lead=lead)
              for n in range(7)]
    fresh = intention(session, people, "刚联系", 100, now=at("2026-01-05"), lead=lead)
    intentions.record_follow_up(session, fresh.id, contacted_on="2026-02-20", summary="电话",
                                actor=people["admin"], now=NOW)
    away = intention(session, people, "领导已离任", 5, now=at("2026-01-05"), lead=people["lead2"])
    people["lead2"].active = False
    session.flush()
    lines = intentions.sweep(session, now=NOW, batch=2)
    assert sorted(line.split(":")[0] for line in lines) == sorted(f"intention {p.code}"
                                                                  for p in silent)
    assert intentions.sweep(session, now=NOW, batch=2) == []
    assert intentions.sweep(session, now=NOW + timedelta(days=3), batch=3) == []
    told = session.scalars(select(Notification.project_id).where(
        Notification.kind == "intention_stale")).all()
    assert sorted(told) == sorted(p.id for p in silent) and away.id not in told
    # A new contact, then a new silence: reminded once more.
    intentions.record_follow_up(session, silent[0].id, contacted_on="2026-03-02", summary="再访",
                                actor=people["admin"], now=NOW)
    later = at("2026-04-02", 10)  # the one contacted on 20 February has gone quiet too
    assert [line.split(":")[0] for line in intentions.sweep(session, now=later, batch=2)] == [
        f"intention {fresh.code}", f"intention {silent[0].code}"]
    assert intentions.sweep(session, now=later, batch=2) == []
    assert session.scalar(select(func.count(Notification.id)).where(
        Notification.kind == "intention_stale")) == 9


# -- on their indexes ---------------------------------------------------------------------------

def _plans(session, db_kind, run):
    """The query plan of each statement ``run`` sends (PostgreSQL: with
    sequential scans and sorts discouraged, so the plan says which indexes
    the query can use, whatever the size of the test's tables)."""
    statements = []
    engine = session.get_bind().engine

    def capture(conn, cursor, statement, parameters, context, executemany):
        statements.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", capture)
    try:
        run()
    finally:
        event.remove(engine, "before_cursor_execute", capture)
    connection = session.connection()
    if db_kind == "postgresql":
        connection.execute(text("SET LOCAL enable_seqscan = off"))
        connection.execute(text("SET LOCAL enable_sort = off"))
        explain = "EXPLAIN "
    else:
        explain = "EXPLAIN QUERY PLAN "
    return [" ".join(str(row[-1]) for row in connection.exec_driver_sql(explain + sql, params))
            for sql, params in statements if sql.lstrip().upper().startswith("SELECT")]


def test_the_lists_read_their_indexes(session, people, db_kind):
    made = [intention(session, people, f"项目{n}", n, now=at("2026-01-05")) for n in range(4)]
    intentions.convert_intention(session, made[0].id, actor=people["admin"], now=NOW)
    operations.terminate_project(session, made[1].id, actor=people["admin"], now=NOW, reason="放弃")
    admin = people["admin"]
    session.flush()

    def used(run, index):
        assert any(index in plan for plan in _plans(session, db_kind, run)), index

    used(lambda: intentions.open_intentions(session, admin), "ix_project_stage_investment")
    used(lambda: intentions.converted(session, admin), "ix_audit_event_signed")
    used(lambda: intentions.dropped(session, admin), "ix_audit_event_dropped")
    used(lambda: intentions.step_projects(session, "signed"), "ix_project_stage_investment")
    used(lambda: intentions.step_projects(session, "signed"), "ix_project_suspended_investment")
    used(lambda: intentions.sweep(session, now=NOW), "ix_notification_intention_stale")
    used(lambda: intentions.summary(session, admin, today=TODAY), "ix_follow_up_project_contacted")
