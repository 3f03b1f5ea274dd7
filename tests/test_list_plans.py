"""Each task list reads the index declared for it (both databases), and the
lists' text search reads a trigram index on PostgreSQL: no list is read
whole and sorted."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from tests import factories as f
from tests.factories import at
from tests.pages import first_select, plan
from workflow.core import calendar_refresh, figures, queries
from workflow.core import desk as lead_desk
from workflow.core.figures import WatchFilter
from workflow.models import Project
from workflow.reforms.land import forecast as land_forecast

TODAY = date(2026, 3, 16)


@pytest.fixture
def team(session):
    lead = f.user(session, "lead_plans", "lead", groups=("equipment",))
    alice = f.user(session, "alice_plans", "agent", groups=("equipment", "food"))
    project = f.project(session, at("2026-03-02"), lead=lead, code="P-PLANS-1")
    session.flush()
    return {"lead": lead, "alice": alice, "project": project}


def test_each_task_list_reads_its_index(session, team):
    alice, lead = team["alice"], team["lead"]
    groups = [m.group_id for m in lead.memberships]
    lists = {
        "mine by due": (lambda: queries.my_tasks(session, alice, TODAY), "ix_item_task_inbox_due"),
        "mine by item": (lambda: queries.my_tasks(session, alice, TODAY, sort="item"),
                         "ix_item_task_inbox_item"),
        "mine by state": (lambda: queries.my_tasks(session, alice, TODAY, sort="state"),
                          "ix_item_task_inbox_state"),
        # A group's open tasks by due date serve its queue in order too.
        "queue by due": (lambda: queries.group_queue(session, alice, TODAY),
                         ("ix_item_task_queue_due", "ix_item_task_open_due")),
        "queue by item": (lambda: queries.group_queue(session, alice, TODAY, sort="item"),
                          "ix_item_task_queue_item"),
        "archive": (lambda: queries.archive(session, alice, TODAY), "ix_item_task_archive"),
        "desk": (lambda: queries.group_tasks(session, groups, TODAY), "ix_item_task_open_due"),
        # Reversed, the undated tasks come first: their own small index, not
        # a backward walk of the primary key through every task.
        "desk by state, reversed": (lambda: queries.group_tasks(
            session, groups, TODAY, sort="state", direction="desc"),
            ("ix_item_task_open_undated", "ix_item_task_open_due")),
        "watch list": (lambda: figures.watch_page(session, TODAY), "ix_item_task_clock_due"),
        "watch by department": (lambda: figures.watch_page(
            session, TODAY, WatchFilter(department="nature_resources")),
            "ix_item_task_clock_department"),
        "watch by item": (lambda: figures.watch_page(session, TODAY, WatchFilter(item_code="u01_survey")),
                          "ix_item_task_clock_item"),
        "notices": (lambda: figures.notices(session, TODAY), "ix_supervision_notice_issued"),
        "led projects": (lambda: lead_desk.led_projects(session, lead, TODAY), "ix_project_lead_code"),
        "extensions": (lambda: lead_desk.pending_extensions(session, groups),
                       "ix_extension_request_pending"),
        # Only the misses are paged; their predictions and agreements come after
        # by key (joined in, PostgreSQL hashed every stored prediction).
        "agreement misses": (lambda: land_forecast.agreement_misses(session),
                             "ix_agreement_miss_late"),
        "agreement misses by group": (lambda: land_forecast.agreement_misses(
            session, group_ids=groups), "ix_agreement_miss_group_late"),
    }
    tables = ("item_task", "supervision_notice", "project", "extension_request", "agreement_miss")
    for name, (fn, indexes) in lists.items():
        indexes = (indexes,) if isinstance(indexes, str) else indexes
        table = next(t for t in tables if indexes[0].startswith(f"ix_{t}_"))
        statement, params = first_select(session, fn, table)
        assert table != "agreement_miss" or "project_prediction" not in statement, statement
        shown = plan(session, statement, params, no_sort=True)
        assert any(index in shown for index in indexes), (name, shown)
        # Read in the list's order: no sort of the matching rows (a list merged
        # from one scan per group sorts only those scans' first rows).
        if "UNION ALL" not in shown and "Append" not in shown:
            assert "TEMP B-TREE" not in shown and "Sort Key: item_task" not in shown, (name, shown)


def test_the_text_search_reads_a_trigram_index_on_postgresql(session, team, db_kind):
    if db_kind != "postgresql":
        pytest.skip("SQLite has no trigram index: the embedded database scans")
    statement = select(Project.id).where(Project.name.ilike("%测试项%"))
    compiled = statement.compile(session.get_bind())
    shown = plan(session, str(compiled), compiled.params)
    assert "ix_project_name_trgm" in shown, shown
    found = session.scalars(select(Project.code).where(Project.name.ilike("%测试项%"))).all()
    assert "P-PLANS-1" in found


def test_the_calendar_panel_counts_provisional_tasks_on_their_index(session, team, db_kind):
    """The admin's count of open tasks on provisional dates reads the partial
    index of those tasks, not the whole task table (1.2 s at 1 M projects)."""
    if db_kind != "postgresql":
        pytest.skip("SQLite: the embedded database's count is bounded by its cap only")
    statement, params = first_select(
        session, lambda: calendar_refresh.provisional_task_count(session), "item_task")
    shown = plan(session, statement, params)
    assert "ix_item_task_provisional" in shown, shown
