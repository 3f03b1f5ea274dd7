"""Where the predicted dates show: the staff project page's timeline (Gantt)
with its actual, predicted and planned dates, the critical path, today's line
and the provisional note; the portal's expected dates (an enterprise sees
only its own); the API's prediction; and the supervisors' list of projects
predicted to miss their investment agreement (paging, the group filter,
the export)."""

from __future__ import annotations

import io
import re
from datetime import date, timedelta

import pytest
from openpyxl import load_workbook
from sqlalchemy import select, update

from tests import factories as f
from tests.factories import at
from workflow.core import predict
from workflow.kernel import clock as wd
from workflow.models import ItemPrediction, Project, ProjectPrediction
from workflow.reforms import land

NOW = at("2026-03-02", 10)


def refresh(db, moment=NOW):
    db.rollback()
    predict.refresh(db, now=moment, limit=10_000)
    db.commit()


def make_parcel(db, admin, code="ZY2026-01"):
    row = land.save_parcel(db, actor=admin, now=NOW, code=code, name="装备园一号地", area_mu="150",
                           park="装备制造园", servicing="五通一平", land_price_wan="3000",
                           transferred_on="2026-02-01")
    land.set_indicator(db, row.id, code="investment_intensity", name="", unit=None, bound="min",
                       value="300", actor=admin, now=NOW)
    return row


def agree(db, world, project, parcel, *, start_by, complete_by, produce_by,
          capacity_by="2031-12-31"):
    lead = world["users"]["lead"]
    land.assign_parcel(db, project.id, parcel.id, actor=lead, now=NOW)
    land.record_agreement(db, project.id, actor=lead, now=NOW, signed_on="2026-03-02",
                          start_by=start_by, complete_by=complete_by, produce_by=produce_by,
                          capacity_by=capacity_by)


def stored(db, project):
    row = db.get(ProjectPrediction, project.id, populate_existing=True)
    items = {r.item_code: r for r in db.scalars(
        select(ItemPrediction).where(ItemPrediction.project_id == project.id)
        .execution_options(populate_existing=True))}
    db.commit()
    return row, items


def svg_of(page: str) -> str:
    match = re.search(r'<svg[^>]*class="gantt".*?</svg>', page, re.S)
    assert match, "no timeline on the page"
    return match.group(0)


def test_the_staff_project_page_draws_the_timeline(as_user, world, db):
    project = world["project"]
    refresh(db)
    row, items = stored(db, project)
    client, _ = as_user("lead")
    page = client.get(f"/projects/{project.code}").get_data(as_text=True)
    svg = svg_of(page)
    assert 'role="img"' in svg and "<title id=" in svg
    # Today's line on the clock's day.
    assert 'class="gantt-today" data-day="2026-03-02"' in svg
    # Each open item: its predicted bar with the stored dates; the critical ones red.
    for code, r in items.items():
        group = re.search(rf'<g class="gantt-row( critical)?" data-item="{code}">(.*?)</g>', svg, re.S)
        assert group, code
        assert (group.group(1) is not None) == r.critical
        assert (f'class="gantt-predicted" data-start="{r.predicted_start}" '
                f'data-end="{r.predicted_end}"') in group.group(2)
        # Released items have an actual bar from their release to today.
        assert ('class="gantt-actual" data-start="2026-03-02" data-end="2026-03-02"'
                in group.group(2)) == r.released
        assert ('fill="#d0312d"' in group.group(2)) == r.critical
    assert any(r.critical for r in items.values()) and not all(r.critical for r in items.values())
    # The predicted milestones, and the 包联 plan's planned ones (hollow).
    for m in predict.MILESTONES:
        assert f'data-milestone="{m}" data-day="{getattr(row, m + "_on")}"' in svg
    assert 'class="gantt-marker planned"' in svg
    # The as-of time (the zone's) and the critical item, and the same dates as a table.
    assert "预测截至 2026-03-02 10:00（北京时间）" in page
    assert f'data-critical-item="{row.critical_item}"' in page
    assert f'<tr data-item="{row.critical_item}" data-critical>' in page
    assert ("data-provisional" in page) == row.provisional


def test_a_closed_item_has_its_actual_bar_and_no_predicted_one(as_user, world, db):
    project = db.get(Project, world["project"].id)
    task = f.task(project, "u01_survey")
    db.execute(update(type(task)).where(type(task).id == task.id).values(
        state="done", released_on=date(2026, 2, 2), closed_on=date(2026, 2, 20)))
    db.commit()
    refresh(db)
    client, _ = as_user("lead")
    svg = svg_of(client.get(f"/projects/{project.code}").get_data(as_text=True))
    group = re.search(r'data-item="u01_survey">(.*?)</g>', svg, re.S).group(1)
    assert 'class="gantt-actual" data-start="2026-02-02" data-end="2026-02-20"' in group
    assert "gantt-predicted" not in group


def test_a_provisional_prediction_is_marked_and_a_stale_one_keeps_its_time(as_user, world, db,
                                                                           clock):
    project = world["project"]
    refresh(db)
    # Dates that held only for the day they were made: stale the next day.
    db.execute(update(ProjectPrediction).where(ProjectPrediction.project_id == project.id)
               .values(provisional=True, valid_until=date(2026, 3, 2)))
    db.execute(update(ItemPrediction).where(ItemPrediction.project_id == project.id)
               .values(provisional=True))
    db.commit()
    clock.moment = NOW + timedelta(days=1)
    client, _ = as_user("lead")
    page = client.get(f"/projects/{project.code}").get_data(as_text=True)
    api = client.get(f"/api/v1/projects/{project.code}/prediction").get_json()
    assert api["stale"] is True and api["stale_reason"] == "day"
    assert "data-provisional" in page and "暂定" in page
    assert "预测截至 2026-03-02 10:00（北京时间）" in page and "预测将在下次例行巡检时更新" in page
    # Stale by the day, not by a change of the project: the note says which.
    assert "随日期推移" in page and "项目已有新进展" not in page
    assert " *</text>" in svg_of(page)
    # A change of the project: the other note.
    db.execute(update(ProjectPrediction).where(ProjectPrediction.project_id == project.id)
               .values(basis_seq=ProjectPrediction.basis_seq - 1))
    db.commit()
    page = client.get(f"/projects/{project.code}").get_data(as_text=True)
    assert "项目已有新进展" in page and "随日期推移" not in page
    api = client.get(f"/api/v1/projects/{project.code}/prediction").get_json()
    assert api["stale"] is True and api["stale_reason"] == "changed"


def test_a_project_never_predicted_is_predicted_on_the_fly_and_not_stored(as_user, world, db):
    project = world["project"]
    client, _ = as_user("lead")
    page = client.get(f"/projects/{project.code}").get_data(as_text=True)
    assert "即时计算" in page and 'class="gantt-predicted"' in svg_of(page)
    db.rollback()
    assert db.get(ProjectPrediction, project.id) is None


def test_the_portal_shows_its_own_expected_dates_only(as_user, world, db):
    project, rival = world["project"], world["rival"]
    refresh(db)
    row, _items = stored(db, project)
    client, _ = as_user("acme")
    page = client.get(f"/portal/projects/{project.code}").get_data(as_text=True)
    assert "预计可开工日期" in page and "预计竣工验收" in page
    assert f'data-expected="ready_to_start">{row.ready_to_start_on}' in page
    assert f'data-expected="completed">{row.completed_on}' in page
    assert f'data-expected="producing">{row.producing_on}' in page
    assert "预测截至" in page and 'class="gantt"' in page
    assert client.get(f"/portal/projects/{rival.code}").status_code == 404
    assert client.get(f"/api/v1/projects/{rival.code}/prediction").status_code == 404
    # An enterprise asking for the staff page is sent to its portal page.
    assert client.get(f"/projects/{project.code}").status_code == 302


def test_the_api_gives_the_prediction(as_user, world, db):
    project = world["project"]
    refresh(db)
    row, items = stored(db, project)
    client, _ = as_user("lead")
    body = client.get(f"/api/v1/projects/{project.code}/prediction").get_json()
    assert body["code"] == project.code and body["stale"] is False
    assert body["stale_reason"] is None
    assert body["critical_item"] == row.critical_item
    assert body["milestones"]["completed"]["predicted_on"] == row.completed_on.isoformat()
    assert body["milestones"]["started"]["planned_on"]  # the 包联 plan's default date
    assert {i["item"]: (i["predicted_start"], i["predicted_end"], i["critical"])
            for i in body["items"]} == {
        c: (r.predicted_start.isoformat(), r.predicted_end.isoformat(), r.critical)
        for c, r in items.items()}
    whole = client.get(f"/api/v1/projects/{project.code}").get_json()
    assert whole["prediction"]["milestones"] == body["milestones"]
    doc = client.get("/api/v1/openapi.json").get_json()
    assert "/api/v1/projects/{code}/prediction" in doc["paths"]


def late_world(db, world, count=3):
    """``count`` projects with agreements their predictions miss, and one on time."""
    admin = world["users"]["admin"]
    parcel = make_parcel(db, admin)
    late = [world["project"], world["rival"]]
    for n in range(len(late), count):
        late.append(f.project(db, NOW, company=world["project"].enterprise,
                              lead=world["users"]["lead"], code=f"P-LATE-{n}"))
    on_time = f.project(db, NOW, company=world["project"].enterprise, lead=world["users"]["lead"],
                        code="P-ON-TIME")
    for project in late:
        agree(db, world, project, parcel, start_by="2026-03-10", complete_by="2026-04-30",
              produce_by="2026-05-30")
    agree(db, world, on_time, parcel, start_by="2030-12-31", complete_by="2031-06-30",
          produce_by="2031-09-30")
    db.commit()
    refresh(db)
    return late, on_time


def test_the_supervisors_list_shows_the_late_projects_with_their_item(as_user, world, db):
    late, on_time = late_world(db, world)
    client, _ = as_user("sup")
    page = client.get("/supervision/agreement-misses").get_data(as_text=True)
    assert 'data-tab="misses"' in page
    listed = re.findall(r'<tr data-project="([^"]+)" data-days-late="(\d+)" '
                        r'data-critical-item="([^"]*)"', page)
    assert {code for code, _, _ in listed} == {p.code for p in late}
    assert on_time.code not in page
    for code, days, item in listed:
        project = db.scalar(select(Project).where(Project.code == code))
        row, _ = stored(db, project)
        assert item == row.critical_item and item
        assert int(days) == max(wd.working_days_between(date.fromisoformat(agreed), predicted).days
                                for agreed, predicted in (("2026-03-10", row.started_on),
                                                          ("2026-04-30", row.completed_on),
                                                          ("2026-05-30", row.producing_on)))
    # One row a page: every late project once, then no more.
    seen, url = [], "/supervision/agreement-misses?limit=1"
    while url:
        html = client.get(url).get_data(as_text=True)
        seen += re.findall(r'<tr data-project="([^"]+)"', html)
        nxt = re.search(r'rel="next" href="([^"]+)"', html)
        url = nxt.group(1).replace("&amp;", "&") if nxt else None
    assert sorted(seen) == sorted(p.code for p in late) and len(seen) == len(set(seen))
    # The group filter: another group has none; the export has every late project.
    assert "data-project" not in client.get("/supervision/agreement-misses?group=food").get_data(
        as_text=True)
    export = client.get("/supervision/agreement-misses.xlsx?group=equipment")
    assert export.status_code == 200
    sheet = load_workbook(io.BytesIO(export.data), read_only=True).active
    codes = [r[0] for r in sheet.iter_rows(values_only=True) if r and r[0] in {p.code for p in late}]
    assert sorted(codes) == sorted(p.code for p in late)


@pytest.mark.parametrize("who,status", [("acme", 403), ("alice", 403), ("lead", 200), ("admin", 200)])
def test_who_may_read_the_list(as_user, world, who, status):
    client, _ = as_user(who)
    assert client.get("/supervision/agreement-misses").status_code == status


def test_a_bad_filter_or_cursor_is_refused(as_user, world):
    client, _ = as_user("sup")
    assert client.get("/supervision/agreement-misses?cursor=nonsense").status_code == 400
    assert client.get("/supervision/agreement-misses?group=" + "x" * 100).status_code == 400
