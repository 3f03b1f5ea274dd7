"""At province scale on PostgreSQL: with more than 70,000 watched tasks (once
a 500: one bound parameter per task, past PostgreSQL's 65,535), the
supervisors' watch list answers with one page and its export holds every row."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime, timedelta

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from tests.conftest import PG_DB, drop_pg_database, fresh_pg_engine, pg_url
from tests.factories import at
from tests.web.conftest import Clock, login, password_hash
from web import create_app
from workflow.kernel.db import make_session_factory, transaction
from workflow.kernel.registry import definition_of
from workflow.models import DefinitionVersion, IndustryGroup, User

pytestmark = pytest.mark.postgres

PROJECTS, ITEMS = 6_000, 12  # 72,000 overdue tasks
TODAY = date(2026, 3, 16)


def _load(engine) -> None:
    """One enterprise, PROJECTS projects of ITEMS overdue tasks each (COPY)."""
    with transaction(make_session_factory(engine)) as session:
        version = session.scalar(select(DefinitionVersion))
        definition = definition_of(version)
        group = session.scalar(select(IndustryGroup).order_by(IndustryGroup.id))
        items = list(definition.items.values())[:ITEMS]
        user = User(username="sup", display_name="督查", role="supervisor", active=True,
                    password_hash=password_hash())
        session.add(user)
        version_id, group_id = version.id, group.id
    now = datetime(2026, 3, 16, 1, tzinfo=UTC)
    raw = engine.raw_connection()
    try:
        with raw.driver_connection.cursor() as cur:
            cur.execute("INSERT INTO enterprise (id, name) VALUES (1, '规模测试企业')")
            with cur.copy("COPY project (id, code, name, enterprise_id, industry, group_id, stage, "
                          "definition_version_id, created_at, audit_seq, audit_head, version, "
                          "is_chemical) FROM STDIN") as copy:
                for p in range(1, PROJECTS + 1):
                    copy.write_row((p, f"S-{p:06d}", f"规模项目{p}", 1, "equipment_manufacturing",
                                    group_id, "approving", version_id, now, 0, "", 1, False))
            # Ready items wait in the queue on their service clock (代办).
            with cur.copy("COPY item_task (project_id, item_code, state, group_id, department, "
                          "released_on, clock, service_due_on, due_on, warn_on, due_provisional, "
                          "statutory_paused_days, extension_days, updated_at, version) "
                          "FROM STDIN") as copy:
                for p in range(1, PROJECTS + 1):
                    due = TODAY - timedelta(days=1 + p % 40)
                    for item in items:
                        copy.write_row((p, item.code, "ready", group_id, item.department,
                                        due - timedelta(days=7), "service", due, due,
                                        due - timedelta(days=3), False, 0, 0, now, 1))
            cur.execute("SELECT setval(pg_get_serial_sequence('project', 'id'), %s)", (PROJECTS,))
            cur.execute("ANALYZE item_task")
        raw.driver_connection.commit()
    finally:
        raw.close()


@pytest.fixture(scope="module")
def big_app(tmp_path_factory):
    name = f"{PG_DB}_scale"
    engine = fresh_pg_engine(name)
    _load(engine)
    engine.dispose()
    app = create_app({"TESTING": True, "DATABASE_URL": pg_url(name), "SECRET_KEY": "test",
                      "CLOCK": Clock(at("2026-03-16", 10)), "SESSION_COOKIE_SECURE": False,
                      "UPLOAD_FOLDER": str(tmp_path_factory.mktemp("uploads")),
                      "TOTP_REQUIRED": False})
    yield app
    app.extensions["daiban_engine"].dispose()
    drop_pg_database(name)


def test_the_watch_list_answers_one_page_of_seventy_thousand(big_app):
    client = big_app.test_client()
    assert login(client, "sup").status_code == 302
    response = client.get("/supervision")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert page.count('<tr data-task="') == 50 and 'rel="next"' in page
    assert '<span class="kpi red">1,000+</span>' in page  # counted up to the cap
    assert len(response.data) < 300_000
    api = client.get("/api/v1/supervision/overdue?limit=200")
    assert api.status_code == 200 and len(api.get_json()["tasks"]) == 200


def test_the_export_of_seventy_thousand_rows_completes(big_app):
    client = big_app.test_client()
    assert login(client, "sup").status_code == 302
    response = client.get("/supervision/overdue.xlsx")
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.data), read_only=True).active
    rows = sum(1 for _ in sheet.iter_rows(min_row=3, values_only=True))  # caption, header
    assert rows == PROJECTS * ITEMS
