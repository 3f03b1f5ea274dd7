"""Chemical-project entry (化工项目准入) pages: the rule tables, imports and
the screening of a project, through Flask's test client."""

from __future__ import annotations

import csv
import io
import re
import sqlite3
from html import unescape

import pytest
from openpyxl import Workbook
from sqlalchemy import func, insert, select

from tests import factories as f
from tests.web.conftest import password_hash
from workflow.models import ChemicalClass, HazardousChemical, Project, Screening, ScreeningRule
from workflow.reforms import chemicals, intentions


@pytest.fixture
def chem(world, db, clock):
    """The shipped tables, a lead of the coal-chemical group and one chemical intention."""
    chemicals.install_shipped(db)
    lead = f.user(db, "chemlead", "lead", groups=("coal_chemical",))
    lead.password_hash = password_hash()
    project = intentions.create_intention(
        db, name="年产10万吨煤基新材料项目", industry="coal_chemical", investment_wan=80000,
        enterprise_name="某煤化工有限公司", actor=lead, now=clock.moment)
    db.commit()
    return project


def now_in_db(db, model, *where):
    """Rows as the database has them now (the read transaction ends at once)."""
    rows = db.scalars(select(model).where(*where).execution_options(populate_existing=True)).all()
    db.commit()
    return rows


def count(db, model):
    n = db.scalar(select(func.count(model.id)))
    db.commit()
    return n


def stage(db, project):
    value = db.scalar(select(Project.stage).where(Project.id == project.id))
    db.commit()
    return value


CLEAN = {"in_chemical_park": "1", "park_name": "左云化工园区", "project_kind": "new", "phased": "0",
         "total_investment_wan": "62,000", "land_cost_wan": "2000", "products": "甲醇 67-56-1",
         "processes": ["hydrogenation"], "project_type": "煤制甲醇",
         "attested": ["ADM-EX-04", "ADM-EX-05"]}


def screen(client, token, project, **changes):
    return client.post(f"/projects/{project.code}/screening",
                       data={"csrf_token": token, **CLEAN, **changes})


# -- the tables ------------------------------------------------------------------------------

def test_the_admin_sees_the_provincial_rules_and_the_marked_examples(as_user, chem):
    client, _ = as_user("admin")
    page = client.get("/chemicals/rules").get_data(as_text=True)
    for code in ("SX-1", "SX-2", "SX-3", "SX-4"):
        assert f'data-rule="{code}"' in page
    assert "山西省化工项目安全准入条件" in page
    assert 'data-chemical="光气"' in page and "示例" in page
    assert 'data-action="import"' in page and 'data-action="new_rule"' in page


def test_leads_and_supervisors_read_the_tables_others_are_refused(as_user, chem):
    for username in ("chemlead", "sup"):
        client, _ = as_user(username)
        page = client.get("/chemicals/rules").get_data(as_text=True)
        assert 'data-rule="SX-1"' in page and 'data-action="import"' not in page
    for username in ("alice", "acme"):
        client, _ = as_user(username)
        assert client.get("/chemicals/rules").status_code == 403


def test_only_admins_edit_or_import(as_user, chem, db):
    rule = now_in_db(db, ScreeningRule, ScreeningRule.code == "SX-2")[0]
    client, token = as_user("chemlead")
    form = {"csrf_token": token, "code": "SX-2", "kind": "provincial", "text": "改", "check": "attested",
            "verdict": "notice"}
    assert client.post(f"/chemicals/rules/{rule.id}", data=form).status_code == 403
    assert client.post("/chemicals/import", data={
        "csrf_token": token, "target": "catalogue",
        "file": (io.BytesIO(b"name,level\nx,restricted\n"), "t.csv")}).status_code == 403
    assert client.get(f"/chemicals/rules/{rule.id}").status_code == 403
    assert now_in_db(db, ScreeningRule, ScreeningRule.code == "SX-2")[0].check == "min_fixed_investment"


def test_an_admin_edits_a_rule(as_user, chem, db):
    rule = now_in_db(db, ScreeningRule, ScreeningRule.code == "ADM-EX-01")[0]
    client, token = as_user("admin")
    assert "示例规则" in client.get(f"/chemicals/rules/{rule.id}").get_data(as_text=True)
    response = client.post(f"/chemicals/rules/{rule.id}", data={
        "csrf_token": token, "code": "ADM-EX-01", "kind": "admission", "text": "投资不低于8000万元",
        "check": "min_fixed_investment", "value": "8000", "verdict": "restricted", "active": "1"})
    assert response.status_code == 302
    saved = now_in_db(db, ScreeningRule, ScreeningRule.id == rule.id)[0]
    assert saved.params == {"min_wan": 8000} and not saved.example
    bad = client.post(f"/chemicals/rules/{rule.id}", data={
        "csrf_token": token, "code": "ADM-EX-01", "kind": "admission", "text": "x",
        "check": "min_fixed_investment", "value": "很多", "verdict": "restricted"})
    assert bad.status_code == 400
    # The row's problem in the user's language, by its field.
    assert "value：“很多”不是正数" in bad.get_data(as_text=True)


def test_a_csv_with_errors_is_refused_whole_with_every_problem_listed(as_user, chem, db):
    before = count(db, HazardousChemical)
    client, token = as_user("admin")
    data = ("name,cas,level,note\n氯乙烯,75-01-4,restricted,\n二氯乙烷,107-06-2,forbidden,\n"
            "氯乙烯,,controlled,\n").encode()
    response = client.post("/chemicals/import", data={
        "csrf_token": token, "target": "catalogue", "file": (io.BytesIO(data), "catalogue.csv")},
        content_type="multipart/form-data")
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "数据未作任何修改" in page
    assert "第 3 行，level 列：未知级别“forbidden”" in page
    assert "第 4 行，name 列：与第 2 行重复" in page
    assert count(db, HazardousChemical) == before
    missing = client.post("/chemicals/import", data={
        "csrf_token": token, "target": "admission",
        "file": (io.BytesIO(b"code,text\nA,b\n"), "rules.csv")}, content_type="multipart/form-data")
    assert missing.status_code == 400
    assert "第 1 行，check 列：缺少该列" in missing.get_data(as_text=True)


def test_an_excel_catalogue_replaces_the_examples(as_user, chem, db):
    book = Workbook()
    for row in (["名称", "CAS号", "级别", "备注"], ["光气", "75-44-5", "禁止", "剧毒"],
                ["甲苯", "108-88-3", "控制", ""]):
        book.active.append(row)
    out = io.BytesIO()
    book.save(out)
    out.seek(0)
    client, token = as_user("admin")
    response = client.post("/chemicals/import", data={
        "csrf_token": token, "target": "catalogue", "file": (out, "目录.xlsx")},
        content_type="multipart/form-data")
    assert response.status_code == 302
    rows = now_in_db(db, HazardousChemical)
    assert sorted((c.name, c.level, c.example) for c in rows if not c.provincial) == [
        ("甲苯", "controlled", False)]
    assert len([c for c in rows if c.provincial]) == 9  # the provincial substances stay
    page = client.get("/chemicals/rules").get_data(as_text=True)
    assert "新增 1 行" in page and "更新 1 行" in page and "移除 6 行" in page


def test_the_tables_export_as_csv_with_a_bom(as_user, chem):
    client, _ = as_user("admin")
    response = client.get("/chemicals/export/catalogue.csv")
    assert response.status_code == 200 and response.data.startswith("\ufeff".encode())
    assert "光气,75-44-5,prohibited" in response.get_data(as_text=True)


# -- screening --------------------------------------------------------------------------------

def test_the_project_page_shows_the_screening_box(as_user, chem):
    client, _ = as_user("chemlead")
    page = client.get(f"/projects/{chem.code}").get_data(as_text=True)
    assert 'data-panel="chemicals"' in page and "尚未开展准入评估" in page


def test_a_prohibited_screening_blocks_signing_with_its_reasons(as_user, chem, db):
    client, token = as_user("chemlead")
    assert client.post(f"/projects/{chem.code}/convert", data={"csrf_token": token}).status_code == 409
    response = screen(client, token, chem, processes=["batch_nitration"], in_chemical_park="0",
                      park_name="")
    assert response.status_code == 302
    page = client.get(f"/projects/{chem.code}/screening").get_data(as_text=True)
    assert 'data-verdict="prohibited"' in page and "采用间歇硝化工艺" in page
    assert "项目拟选址不在化工园区内" in page
    refused = client.post(f"/projects/{chem.code}/convert", data={"csrf_token": token})
    assert refused.status_code == 409 and "采用间歇硝化工艺" in refused.get_data(as_text=True)
    assert stage(db, chem) == "intention"
    assert screen(client, token, chem).status_code == 302  # continuous process now: pass
    assert client.post(f"/projects/{chem.code}/convert", data={"csrf_token": token}).status_code == 302
    assert stage(db, chem) == "signed"


def test_a_restricted_screening_needs_the_expert_review(as_user, chem, db):
    client, token = as_user("chemlead")
    screen(client, token, chem, total_investment_wan="8000")  # under the example's 1亿
    page = client.get(f"/projects/{chem.code}/screening").get_data(as_text=True)
    assert 'data-verdict="restricted"' in page and 'data-action="review"' in page
    assert client.post(f"/projects/{chem.code}/convert", data={"csrf_token": token}).status_code == 409
    [screening] = now_in_db(db, Screening, Screening.project_id == chem.id)
    bad = client.post(f"/projects/{chem.code}/screening/{screening.id}/review", data={
        "csrf_token": token, "experts": "张工", "reviewed_on": "2026-03-02", "conclusion": "refuse"})
    assert bad.status_code == 400  # refusing needs a note
    response = client.post(f"/projects/{chem.code}/screening/{screening.id}/review", data={
        "csrf_token": token, "experts": "张工、李工", "reviewed_on": "2026-03-02",
        "conclusion": "approve", "note": "风险可控"})
    assert response.status_code == 302
    page = client.get(f"/projects/{chem.code}/screening").get_data(as_text=True)
    assert 'data-review="approve"' in page and "张工、李工" in page
    assert client.post(f"/projects/{chem.code}/convert", data={"csrf_token": token}).status_code == 302
    assert stage(db, chem) == "signed"


def test_bad_screening_input_is_a_400_and_records_nothing(as_user, chem, db):
    client, token = as_user("chemlead")
    assert screen(client, token, chem, products="").status_code == 400
    assert screen(client, token, chem, in_chemical_park="").status_code == 400
    assert now_in_db(db, Screening) == []


def test_who_may_screen(as_user, chem, db):
    client, token = as_user("acme")  # an enterprise
    assert client.get(f"/projects/{chem.code}/screening").status_code == 403
    client, token = as_user("lead")  # a lead of another group: the project is not theirs
    assert client.get(f"/projects/{chem.code}/screening").status_code == 404
    assert screen(client, token, chem).status_code == 404
    client, token = as_user("sup")  # supervisors read, never screen
    assert client.get(f"/projects/{chem.code}/screening").status_code == 200
    assert screen(client, token, chem).status_code == 403
    client, token = as_user("admin")
    assert screen(client, token, chem).status_code == 302
    assert len(now_in_db(db, Screening)) == 1


def test_a_lead_marks_an_intention_as_chemical(as_user, world, db, clock):
    project = intentions.create_intention(
        db, name="新材料项目", industry="new_materials", investment_wan=1000,
        enterprise_name="材料公司", actor=world["users"]["admin"], now=clock.moment,
        lead=world["users"]["lead"])
    db.commit()
    chemicals.install_shipped(db)
    db.commit()
    client, token = as_user("lead")
    page = client.get(f"/projects/{project.code}").get_data(as_text=True)
    assert "标记为化工项目" in page
    response = client.post(f"/projects/{project.code}/chemical",
                           data={"csrf_token": token, "is_chemical": "1"})
    assert response.status_code == 302
    assert client.post(f"/projects/{project.code}/convert", data={"csrf_token": token}).status_code == 409


# -- the tables a page at a time, the CSV streamed ---------------------------------------------------

def names_of(html):
    return re.findall(r'<tr data-chemical="([^"]+)"', html)


def next_link(html, param):
    nav = re.search(rf'<nav class="pager"[^>]*data-pager="{param}">(.*?)</nav>', html, re.S)
    link = nav and re.search(r'rel="next" href="([^"]+)"', nav.group(1))
    return unescape(link.group(1)) if link else None


def bulk_catalogue(db, n):
    levels = ("prohibited", "restricted", "controlled")
    db.execute(insert(HazardousChemical), [
        {"name": f"测试化学品{i:04d}", "cas": None, "level": levels[i % 3], "note": f"备注,{i}\"引号\"",
         "example": False} for i in range(n)])
    db.commit()


def test_each_table_pages_with_its_own_cursor(as_user, chem):
    client, _ = as_user("sup")
    first = client.get("/chemicals/rules?limit=2").get_data(as_text=True)
    assert re.findall(r'data-rule="(SX-\d)"', first) == ["SX-1", "SX-2"]
    admission = re.findall(r'data-rule="(ADM-[^"]+)"', first)
    catalogue = names_of(first)
    assert len(admission) == 2 and len(catalogue) == 2
    assert "共 15 种" in first
    second = client.get(next_link(first, "provincial")).get_data(as_text=True)
    assert re.findall(r'data-rule="(SX-\d)"', second) == ["SX-3", "SX-4"]
    assert re.findall(r'data-rule="(ADM-[^"]+)"', second) == admission and names_of(second) == catalogue
    assert "provincial=" in next_link(second, "catalogue")  # paging one table keeps the others' place
    third = client.get(next_link(second, "provincial")).get_data(as_text=True)
    assert re.findall(r'data-rule="(SX-\d)"', third) == ["SX-5"]
    assert next_link(third, "provincial") is None


@pytest.mark.parametrize("query", ["provincial=bad", "admission=%00", "prohibited_type=x" * 3,
                                   "catalogue=eyJ4IjoxfQ", "limit=0", "limit=201", "limit=abc"])
def test_bad_page_arguments_of_the_tables_answer_400(as_user, chem, query):
    client, _ = as_user("chemlead")
    assert client.get(f"/chemicals/rules?{query}").status_code == 400


def test_a_cursor_of_one_table_is_refused_by_another(as_user, chem):
    client, _ = as_user("admin")
    link = next_link(client.get("/chemicals/rules?limit=1").get_data(as_text=True), "admission")
    cursor = re.search(r"admission=([^&]+)", link).group(1)
    assert client.get(f"/chemicals/rules?prohibited_type={cursor}").status_code == 400
    assert client.get(f"/chemicals/rules?catalogue={cursor}").status_code == 400


def test_the_catalogue_csv_streams_the_rows_of_the_pages_and_imports_back_unchanged(as_user, chem, db):
    bulk_catalogue(db, 1100)  # more than two batches of the export
    client, token = as_user("admin")
    response = client.get("/chemicals/export/catalogue.csv")
    assert response.status_code == 200 and response.is_streamed
    assert response.headers["Content-Type"].startswith("text/csv")
    assert response.headers["Content-Disposition"] == 'attachment; filename="chemicals-catalogue.csv"'
    data = response.data
    assert data.startswith("\ufeffname,cas,level,aliases,classes,note\r\n".encode())
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows[0] == ["name", "cas", "level", "aliases", "classes", "note"]
    assert len(rows) == 1 + 15 + 1100
    assert ["测试化学品0004", "", "restricted", "", "", '备注,4"引号"'] in rows

    shown, url = [], "/chemicals/rules?limit=200"
    while url:
        html = client.get(url).get_data(as_text=True)
        shown += [unescape(n) for n in names_of(html)]
        url = next_link(html, "catalogue")
    assert [r[0] for r in rows[1:]] == shown

    before = {tuple(r) for r in rows[1:]}
    response = client.post("/chemicals/import", data={
        "csrf_token": token, "target": "catalogue", "file": (io.BytesIO(data), "目录.csv")},
        content_type="multipart/form-data")
    assert response.status_code == 302
    after = {(c.name, c.cas or "", c.level, "|".join(c.aliases), "|".join(c.classes), c.note)
             for c in now_in_db(db, HazardousChemical)}
    assert after == before


def test_the_admission_rules_export_imports_back_unchanged(as_user, chem, db):
    client, token = as_user("admin")
    data = client.get("/chemicals/export/admission.csv").data
    before = {(r.code, r.text, r.check, chemicals.rule_value(r), r.verdict, r.active)
              for r in now_in_db(db, ScreeningRule, ScreeningRule.kind == "admission")}
    response = client.post("/chemicals/import", data={
        "csrf_token": token, "target": "admission", "file": (io.BytesIO(data), "rules.csv")},
        content_type="multipart/form-data")
    assert response.status_code == 302
    after = {(r.code, r.text, r.check, chemicals.rule_value(r), r.verdict, r.active)
             for r in now_in_db(db, ScreeningRule, ScreeningRule.kind == "admission")}
    assert after == before and len(after) == 5
    assert client.get("/chemicals/export/users.csv").status_code == 400


def test_a_slow_download_holds_no_database_lock(as_user, chem, db, app):
    bulk_catalogue(db, 1100)
    client, _ = as_user("admin")
    response = client.get("/chemicals/export/catalogue.csv", buffered=False)
    chunks = response.iter_encoded()
    received = next(chunks) + next(chunks)  # the header, then the first batch of rows
    assert received.count(b"\r\n") == 1 + chemicals.EXPORT_BATCH
    # Meanwhile another writer gets the database at once (SQLite: BEGIN IMMEDIATE).
    other = sqlite3.connect(app.config["DATABASE_URL"].removeprefix("sqlite:///"), timeout=0.2,
                            isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    other.execute("UPDATE hazardous_chemical SET note = 'changed' WHERE name = '光气'")
    other.execute("COMMIT")
    other.close()
    received += b"".join(chunks)
    response.close()
    assert received.count(b"\r\n") == 1 + 15 + 1100


# -- the entry conditions as written (issue 11, items 6 and 7) ------------------------------------

def test_an_expansion_of_30_million_passes_and_the_page_shows_the_computed_figure(as_user, chem, db):
    """An expansion (改扩建) of 3,000 万元 of which 200 land: SX-2 binds new
    projects only, so it passes; the page shows 2,800 = 3,000 − 200."""
    client, token = as_user("chemlead")
    assert screen(client, token, chem, project_kind="expansion", total_investment_wan="3,000",
                  land_cost_wan="200").status_code == 302
    [screening] = now_in_db(db, Screening, Screening.project_id == chem.id)
    assert screening.verdict == "pass" and screening.inputs["fixed_investment_wan"] == 2800
    page = client.get(f"/projects/{chem.code}/screening").get_data(as_text=True)
    assert 'data-kind="expansion"' in page and "改扩建" in page
    assert "2,800 万元 = 总投资 3,000 万元 − 土地费用 200 万元" in page
    assert 'name="project_kind" value="expansion" checked' in page  # the next screening starts there


def test_a_new_project_short_of_5000_or_phased_and_a_cyanide_are_refused_on_the_page(as_user, chem, db):
    """New, 5,299 of which 300 land (4,999), invested in phases, producing
    氰化亚铜 and 液氯: SX-2, SX-3 by class and by alias, SX-5; each hit says
    how the product matched."""
    client, token = as_user("chemlead")
    screen(client, token, chem, total_investment_wan="5299", land_cost_wan="300", phased="1",
           products="氰化亚铜\n液氯")
    page = client.get(f"/projects/{chem.code}/screening").get_data(as_text=True)
    assert 'data-verdict="prohibited"' in page
    assert re.findall(r'data-rule="(SX-\d)"', page) == ["SX-2", "SX-3", "SX-3", "SX-5"]
    assert 'data-match="class"' in page and 'data-match="alias"' in page
    assert "按类别匹配“氰化物”（名称含“氰化”）" in page and "按别名“液氯”匹配“氯气”" in page
    assert "4,999 万元" in page and "新建项目申报固定资产投资分期投入" in page


def counts(db):
    return (count(db, ScreeningRule), count(db, HazardousChemical), count(db, ChemicalClass),
            count(db, Screening))


RULE = {"code": "ZY-9", "kind": "admission", "text": "条件", "check": "attested", "value": "",
        "verdict": "restricted", "active": "1", "source": ""}
CHEMICAL = {"name": "某化学品", "cas": "", "level": "controlled", "aliases": "", "note": ""}
CLASS = {"code": "nitro", "name": "硝基化合物", "level": "restricted", "patterns": "硝基"}


@pytest.mark.parametrize("route, base, bad", [
    ("/chemicals/rules", RULE, {"code": ""}),
    ("/chemicals/rules", RULE, {"code": "x" * 65}),
    ("/chemicals/rules", RULE, {"kind": "national"}),
    ("/chemicals/rules", RULE, {"check": "teleport"}),
    ("/chemicals/rules", RULE, {"verdict": "maybe"}),
    ("/chemicals/rules", RULE, {"active": "perhaps"}),
    ("/chemicals/rules", RULE, {"text": "a\x00b"}),
    ("/chemicals/rules", RULE, {"check": "min_fixed_investment", "value": "5000|rebuild"}),
    ("/chemicals/rules/SX-2", RULE, {"source": "x" * 301}),
    ("/chemicals/catalogue", CHEMICAL, {"level": "forbidden"}),
    ("/chemicals/catalogue", CHEMICAL, {"name": "x" * 201}),
    ("/chemicals/catalogue", CHEMICAL, {"cas": "75-44-6"}),
    ("/chemicals/catalogue", CHEMICAL, {"aliases": "液氯"}),  # 氯气's
    ("/chemicals/catalogue", CHEMICAL, {"classes": "nitro"}),  # no such class
    ("/chemicals/catalogue/光气", CHEMICAL, {"level": "controlled", "name": "光气"}),
    ("/chemicals/classes", CLASS, {"code": "Nitro Compounds"}),
    ("/chemicals/classes", CLASS, {"level": "banned"}),
    ("/chemicals/classes", CLASS, {"name": ""}),
    ("/chemicals/classes", CLASS, {"patterns": "x" * 5001}),
    ("/chemicals/classes/cyanide", CLASS, {"code": "cyanide", "name": "氰化物"}),  # restricted
])
def test_bad_table_edits_answer_400_and_change_nothing(as_user, chem, db, route, base, bad):
    rows = {"SX-2": now_in_db(db, ScreeningRule, ScreeningRule.code == "SX-2")[0].id,
            "光气": now_in_db(db, HazardousChemical, HazardousChemical.name == "光气")[0].id,
            "cyanide": now_in_db(db, ChemicalClass, ChemicalClass.code == "cyanide")[0].id}
    route = re.sub(r"[^/]+$", lambda m: str(rows.get(m.group(0), m.group(0))), route)
    before = counts(db)
    client, token = as_user("admin")
    response = client.post(route, data={"csrf_token": token, **base, **bad})
    assert response.status_code == 400
    assert counts(db) == before
    assert now_in_db(db, ScreeningRule, ScreeningRule.code == "SX-2")[0].source.startswith("山西")
    assert now_in_db(db, HazardousChemical, HazardousChemical.name == "光气")[0].level == "prohibited"
    assert now_in_db(db, ChemicalClass, ChemicalClass.code == "cyanide")[0].level == "prohibited"


@pytest.mark.parametrize("data, files", [
    ({"target": "users"}, {"file": (b"name,level\nx,restricted\n", "t.csv")}),
    ({"target": "catalogue", "replace_all": "maybe"}, {"file": (b"name,level\nx,restricted\n", "t.csv")}),
    ({"target": "catalogue"}, {}),
    ({"target": "catalogue"}, {"file": (b"name,level\nx,restricted\n", "")}),
    ({"target": "catalogue"}, {"file": (b"name,level\nx,restricted\n", "x\x00.csv")}),
    ({"target": "catalogue"}, {"file": (b"name,level\nx\x00,restricted\n", "t.csv")}),
    ({"target": "catalogue"}, {"file": (b"name,level,classes\nx,restricted,nitro\n", "t.csv")}),
])
def test_a_bad_import_answers_400_and_changes_nothing(as_user, chem, db, data, files):
    before = counts(db)
    client, token = as_user("admin")
    body = {"csrf_token": token, **data,
            **{k: (io.BytesIO(content), name) for k, (content, name) in files.items()}}
    response = client.post("/chemicals/import", data=body, content_type="multipart/form-data")
    assert response.status_code == 400
    assert counts(db) == before


@pytest.mark.parametrize("bad", [
    {"project_kind": "rebuild"}, {"project_kind": ""}, {"phased": ""}, {"phased": "2"},
    {"total_investment_wan": "1e999"}, {"total_investment_wan": "NaN"},
    {"total_investment_wan": "5000.00001"}, {"land_cost_wan": "-1"}, {"land_cost_wan": ""},
    {"land_cost_wan": "70000"}, {"in_chemical_park": "yes"}, {"park_name": "x" * 201},
    {"products": ""}, {"products": "光气 75-44-6"}, {"processes": ["alchemy"]},
    {"project_type": "x" * 201}, {"attested": ["x" * 65]},
])
def test_bad_screening_input_answers_400_and_records_nothing(as_user, chem, db, bad):
    client, token = as_user("chemlead")
    assert screen(client, token, chem, **bad).status_code == 400
    assert now_in_db(db, Screening) == []


@pytest.mark.parametrize("bad", [
    {"experts": ""}, {"reviewed_on": "2026-02-30"}, {"reviewed_on": "2026-03-03"},
    {"conclusion": "maybe"}, {"note": "a\x00b"}, {"experts": "x" * 2001},
])
def test_a_bad_review_answers_400_and_records_nothing(as_user, chem, db, bad):
    client, token = as_user("chemlead")
    screen(client, token, chem, total_investment_wan="8000")  # restricted: a review is due
    [screening] = now_in_db(db, Screening, Screening.project_id == chem.id)
    response = client.post(f"/projects/{chem.code}/screening/{screening.id}/review", data={
        "csrf_token": token, "experts": "张工", "reviewed_on": "2026-03-02",
        "conclusion": "approve", "note": "", **bad})
    assert response.status_code == 400
    assert now_in_db(db, Screening, Screening.id == screening.id)[0].review is None


@pytest.mark.parametrize("bad", [{"is_chemical": ""}, {"is_chemical": "2"},
                                 {"reason": "x" * 2001}, {"reason": "a\x1bb"}])
def test_a_bad_mark_answers_400_and_changes_nothing(as_user, world, db, clock, bad):
    project = intentions.create_intention(
        db, name="新材料项目", industry="new_materials", investment_wan=1000,
        enterprise_name="材料公司", actor=world["users"]["admin"], now=clock.moment,
        lead=world["users"]["lead"])
    db.commit()
    client, token = as_user("lead")
    response = client.post(f"/projects/{project.code}/chemical",
                           data={"csrf_token": token, "is_chemical": "1", **bad})
    assert response.status_code == 400
    assert now_in_db(db, Project, Project.id == project.id)[0].is_chemical is False


def test_an_admin_edits_a_chemicals_aliases_and_a_class(as_user, chem, db):
    """Aliases one per line and classes by checkbox reach the row; a class of
    the zone's own is added, edited and deleted through its pages."""
    chlorine = now_in_db(db, HazardousChemical, HazardousChemical.name == "氯气")[0]
    client, token = as_user("admin")
    page = client.get(f"/chemicals/catalogue/{chlorine.id}").get_data(as_text=True)
    assert "省级准入条件点名的物质" in page and 'value="highly_toxic" checked' in page
    response = client.post(f"/chemicals/catalogue/{chlorine.id}", data={
        "csrf_token": token, "name": "氯气", "cas": "7782-50-5", "level": "prohibited",
        "aliases": "液氯\n工业液氯", "classes": ["highly_toxic"], "note": ""})
    assert response.status_code == 302
    saved = now_in_db(db, HazardousChemical, HazardousChemical.id == chlorine.id)[0]
    assert saved.aliases == ["液氯", "工业液氯"] and saved.classes == ["highly_toxic"]
    assert client.post(f"/chemicals/catalogue/{chlorine.id}/delete",
                       data={"csrf_token": token}).status_code == 400
    assert client.post("/chemicals/classes", data={"csrf_token": token, **CLASS}).status_code == 302
    [nitro] = now_in_db(db, ChemicalClass, ChemicalClass.code == "nitro")
    assert (nitro.patterns, nitro.provincial) == (["硝基"], False)
    tables = client.get("/chemicals/rules").get_data(as_text=True)
    assert 'data-class="nitro"' in tables and 'data-class="cyanide"' in tables
    assert "液氯、工业液氯" in tables
    assert "硝基化合物" in client.get(f"/chemicals/classes/{nitro.id}").get_data(as_text=True)
    assert client.post(f"/chemicals/classes/{nitro.id}", data={
        "csrf_token": token, **CLASS, "excludes": "硝基苯"}).status_code == 302
    assert now_in_db(db, ChemicalClass, ChemicalClass.id == nitro.id)[0].excludes == ["硝基苯"]
    assert client.post(f"/chemicals/classes/{nitro.id}/delete",
                       data={"csrf_token": token}).status_code == 302
    assert now_in_db(db, ChemicalClass, ChemicalClass.code == "nitro") == []
