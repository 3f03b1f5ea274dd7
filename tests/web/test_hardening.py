"""Issue 10's findings on the pages (SQLite): formula injection in the
exports, CSRF with a bogus bearer, no-store on every signed-in page, the
enterprise on the staff routes, uploads that fail half-way, and the answer
during a database outage. The races and the outage on PostgreSQL are in
``test_hardening_pg.py``."""

from __future__ import annotations

import io

import pytest
from openpyxl import load_workbook
from sqlalchemy import select, update

from tests import factories as f
from tests.web.test_intentions import register
from web.support import excel
from workflow.kernel import tabular
from workflow.models import Attachment, Comment, Project

FORMULA = '=HYPERLINK("http://x","y")'


def cells_of(data: bytes):
    """Every cell of the workbook's first sheet, read back as openpyxl sees it."""
    sheet = load_workbook(io.BytesIO(data)).active
    return [cell for row in sheet.iter_rows() for cell in row]


def assert_no_formula(data: bytes) -> list:
    cells = cells_of(data)
    formulas = [c.coordinate for c in cells if c.data_type == "f"]
    assert not formulas, f"formula cells: {formulas}"
    return cells


# -- finding 3: formula injection in the exports ----------------------------------------------

def test_an_intention_named_like_a_formula_exports_as_text(as_user, db):
    client, token = as_user("lead")
    register(client, token, name=FORMULA, hesitation="+1+2", asks="@SUM(A1)")
    cells = assert_no_formula(client.get("/intentions.xlsx").data)
    values = {c.value for c in cells}
    assert FORMULA in values and "+1+2" in values and "@SUM(A1)" in values
    risky = [c for c in cells if c.value in (FORMULA, "+1+2", "@SUM(A1)")]
    assert all(c.data_type == "s" and c.quotePrefix for c in risky)
    investment = [c for c in cells if c.value == 120000]
    assert investment and investment[0].data_type == "n"  # numbers stay numbers


def test_the_supervision_ledger_exports_a_formula_name_as_text(as_user, world, db):
    db.execute(update(Project).where(Project.id == world["project"].id).values(name=FORMULA))
    db.commit()
    client, _ = as_user("sup")
    cells = assert_no_formula(client.get("/supervision/ledger.xlsx").data)
    assert FORMULA in {c.value for c in cells}


def test_the_sheet_writer_quotes_every_trigger_but_keeps_negative_numbers():
    out = io.BytesIO()
    risky = ["=1+1", "+1+2", "-1+1", "@A1", "\tx", "\rx", "-"]
    excel.write(out, "t", ["a"] * 9, [[*risky, -5, -2.5]])
    cells = assert_no_formula(out.getvalue())
    row = [c for c in cells if c.row == 2]
    assert [c.value for c in row[:7]] == risky
    assert all(c.data_type == "s" and c.quotePrefix for c in row[:7])
    assert [(c.value, c.data_type) for c in row[7:]] == [(-5, "n"), (-2.5, "n")]


def test_the_chemicals_csv_quotes_formula_text_and_imports_back_unchanged(as_user, world, db):
    from workflow.models import HazardousChemical

    db.add(HazardousChemical(name="=cmd|' /C calc'!A0", cas=None, level="controlled",
                             note="-2+3", example=False))
    db.add(HazardousChemical(name="普通品", cas=None, level="controlled", note="-5", example=False))
    db.commit()
    client, _ = as_user("admin")
    text = client.get("/chemicals/export/catalogue.csv").get_data(as_text=True)
    assert "'=cmd|' /C calc'!A0" in text and ",'-2+3" in text
    assert ",-5" in text and "'-5" not in text  # a number is no formula
    table = tabular.read_table("x.csv", text.encode("utf-8"))
    names = {row["name"]: row for _, row in table.rows}
    assert names["=cmd|' /C calc'!A0"]["note"] == "-2+3"


# -- finding 4: CSRF with a bogus bearer ------------------------------------------------------

def test_a_bogus_bearer_with_the_session_cookie_neither_skips_csrf_nor_authenticates(
        as_user, world, db):
    task = f.task(world["project"], "u01_survey")
    db.commit()
    client, _ = as_user("alice")
    response = client.post(f"/api/v1/tasks/{task.id}/comment", json={"body": "无令牌留言"},
                           headers={"Authorization": "Bearer dbn_bogus"})
    assert response.status_code == 401, response.get_data(as_text=True)
    assert db.scalar(select(Comment).where(Comment.body == "无令牌留言")) is None
    db.commit()
    # A page with a bearer header does not fall back to the cookie either.
    page = client.get("/inbox", headers={"Authorization": "Bearer dbn_bogus"})
    assert page.status_code == 302 and "/login" in page.headers["Location"]
    assert client.get("/inbox").status_code == 200  # the cookie alone still works


# -- finding 8: no-store on every signed-in page ----------------------------------------------

@pytest.mark.parametrize("path", ["/inbox", "/desk", "/supervision", "/notifications",
                                  "/intentions", "/"])
def test_every_page_of_a_signed_in_user_is_no_store(as_user, path):
    client, _ = as_user("lead")
    response = client.get(path)
    assert response.status_code in (200, 302), path
    assert response.headers.get("Cache-Control") == "no-store", path


def test_the_public_login_page_and_static_files_may_be_cached(app, as_user):
    assert app.test_client().get("/login").headers.get("Cache-Control") != "no-store"
    client, _ = as_user("lead")
    style = client.get("/static/app.css")
    assert style.status_code == 200 and style.headers.get("Cache-Control") != "no-store"
    style.close()


# -- finding 10: the enterprise on the staff routes -------------------------------------------

def test_an_enterprise_is_refused_on_the_staff_routes(as_user, world, db):
    task = f.task(world["project"], "u01_survey")
    db.commit()
    client, token = as_user("acme")
    code = world["project"].code
    posts = [f"/tasks/{task.id}/comment", f"/tasks/{task.id}/claim",
             f"/projects/{code}/comments", f"/projects/{code}/lifecycle/advance",
             f"/projects/{code}/access-code"]
    for url in posts:
        response = client.post(url, data={"csrf_token": token, "body": "内部留言", "public": "0"})
        assert response.status_code == 403, url
    upload = client.post(f"/projects/{code}/files", data={
        "csrf_token": token, "file": (io.BytesIO(b"%PDF-1.4 x"), "a.pdf")},
        content_type="multipart/form-data")
    assert upload.status_code == 403
    assert db.scalar(select(Comment).where(Comment.body == "内部留言")) is None
    db.commit()


def test_an_enterprise_still_asks_for_an_item_and_comments_from_its_portal(as_user, world, db):
    client, token = as_user("acme")
    code = world["project"].code
    response = client.post(f"/portal/projects/{code}/comments",
                           data={"csrf_token": token, "body": "企业留言"})
    assert response.status_code == 302
    comment = db.scalar(select(Comment).where(Comment.body == "企业留言"))
    db.commit()
    assert comment.public


# -- finding 2: uploads --------------------------------------------------------------------------

def upload_files(app) -> list[str]:
    from pathlib import Path

    folder = Path(app.config["UPLOAD_FOLDER"])
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def test_a_nul_in_an_upload_s_name_is_cleaned_and_the_file_stored_with_its_row(
        app, as_user, world, db):
    client, token = as_user("alice")
    code = world["project"].code
    response = client.post(f"/projects/{code}/files", data={
        "csrf_token": token, "file": (io.BytesIO(b"%PDF-1.4 x"), "x\x00.pdf")},
        content_type="multipart/form-data")
    assert response.status_code == 302, response.get_data(as_text=True)
    row = db.scalar(select(Attachment))
    db.commit()
    assert row.original_name == "x.pdf"
    assert upload_files(app) == [row.storage_name]


def test_an_upload_whose_row_fails_leaves_no_file_and_the_error_page_renders(
        app, as_user, world, db, clock, monkeypatch):
    """Any failure after the file was received (here: the database refuses the
    row) answers the error page, with its navigation, and leaves no file."""
    from workflow.core import operations as ops

    def refused(session, *args, **kwargs):
        session.add(Comment(project_id=world["project"].id, author_id=999_999, body="x",
                            created_at=clock.moment))
        session.flush()  # a foreign key the database refuses: the transaction fails

    monkeypatch.setattr(ops, "record_attachment", refused)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    client, token = as_user("alice")
    response = client.post(f"/projects/{world['project'].code}/files", data={
        "csrf_token": token, "file": (io.BytesIO(b"%PDF-1.4 x"), "a.pdf")},
        content_type="multipart/form-data")
    assert response.status_code == 500
    assert "我的待办" in response.get_data(as_text=True)  # the navigation rendered
    assert upload_files(app) == []


def test_an_enterprise_s_internal_comment_through_the_api_is_refused(app, world, db, clock):
    from workflow.accounts import tokens

    task = f.task(world["project"], "u01_survey")
    _, token = tokens.issue_token(db, world["users"]["acme"], name="t", now=clock.moment)
    db.commit()
    response = app.test_client().post(
        f"/api/v1/tasks/{task.id}/comment", json={"body": "内部", "public": False},
        headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 403
