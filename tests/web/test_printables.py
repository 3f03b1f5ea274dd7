"""What the enterprise prints and reads (issue 12, items 8–10): the mandate's
font, agents and access code; the printable 一次性告知单; the portal project
page's order (what to do first) and its rating without a default."""

from __future__ import annotations

import io
import re

import pypdf
from reportlab.pdfbase import pdfmetrics

from tests.web.test_documents import documents, flat, fresh, pdf_text
from tests.web.test_portal import ask_for_materials, task_of
from web.support import pdf as pdf_support
from workflow.accounts import access_codes
from workflow.core import operations as ops
from workflow.models import Project
from workflow.reforms import documents as docs


def pdf_fonts(data: bytes) -> list:
    reader = pypdf.PdfReader(io.BytesIO(data))
    fonts = []
    for page in reader.pages:
        for font in page["/Resources"]["/Font"].values():
            fonts.append(font.get_object())
    return fonts


# -- item 8: the mandate PDF ----------------------------------------------------------------

def test_the_pdf_embeds_a_font_that_has_every_character_it_prints(as_user, world, db):
    """'·' printed as a box: the PDF now embeds WenQuanYi Micro Hei (a subset),
    whose glyphs cover every character of the mandate, '·' included."""
    client, _ = as_user("lead")
    [mandate] = documents(db, world, "mandate")
    data = client.get(f"/documents/{mandate.id}.pdf").data
    # reportlab always lists Helvetica (its canvas' initial font); the text is set in the other.
    fonts = [f for f in pdf_fonts(data) if f["/BaseFont"] != "/Helvetica"]
    assert fonts and all("WenQuanYi" in str(f["/BaseFont"]) for f in fonts)
    assert all("/FontFile2" in f["/FontDescriptor"] for f in fonts)  # embedded
    text = "".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(data)).pages)
    assert "出具 · 内容校验码" in text
    face = pdfmetrics.getFont(pdf_support.EMBEDDED_FONT).face
    missing = {ch for ch in text if not ch.isspace() and ord(ch) not in face.charToGlyph}
    assert not missing


def test_without_the_font_file_the_builtin_font_gets_no_character_it_lacks():
    assert "依据 X 出具 · 校验".translate(pdf_support.FALLBACK_GLYPHS) == "依据 X 出具 ｜ 校验"


def test_the_mandate_names_each_items_agent_or_the_group_queue(as_user, world, db, clock):
    """At issue no item has an agent yet: the column names the group whose
    queue holds it (a snapshot: the later claim does not change it)."""
    [mandate] = documents(db, world, "mandate")
    group = world["project"].group.name_zh
    db.commit()
    assert {i["queue"] for i in mandate.data["items"]} == {group}
    client, _ = as_user("lead")
    queue = f"{group}队列（待认领）"
    html = flat(client.get(f"/documents/{mandate.id}").get_data(as_text=True))
    assert html.count(flat(queue)) == len(mandate.data["items"])
    assert flat(queue) in pdf_text(client, mandate.id)
    task = task_of(db, world)
    ops.claim_task(db, task.id, actor=world["users"]["alice"], now=clock.moment)
    db.commit()
    assert flat(queue) in pdf_text(client, mandate.id)  # the stored snapshot


def test_an_item_line_with_an_agent_names_the_agent(as_user, world, db):
    from web.views.documents import _agent
    assert _agent({"agent": "孙丽娟", "queue": None}) == "孙丽娟"
    assert _agent({}) == "—"  # a document issued before the queue was recorded


def test_the_mandate_prints_the_access_code_the_portal_shows(as_user, world, db):
    """The mandate carries a new access code; only its hash is on the project,
    the code itself is readable on the mandate (and in the portal while it is
    current). A code issued later replaces it: the portal then shows none."""
    [mandate] = documents(db, world, "mandate")
    code = mandate.data["access_code"]
    assert re.fullmatch(r"[A-Z2-9]{4}-[A-Z2-9]{4}", code)
    project = db.get(Project, world["project"].id)
    assert code.replace("-", "") not in project.access_code_hash
    assert access_codes.check_access_code(db, "P-ACME-1", code).id == project.id
    db.commit()
    lead, token = as_user("lead")
    assert code in lead.get(f"/documents/{mandate.id}").get_data(as_text=True)
    assert code in pdf_text(lead, mandate.id) and "/lookup" in pdf_text(lead, mandate.id)
    acme, _ = as_user("acme")
    page = acme.get("/portal/projects/P-ACME-1").get_data(as_text=True)
    assert f"<code class=\"access-code\" data-access-code>{code}</code>" in page
    rival = fresh(db, Project, code="P-OTHER-1")[0]
    other = docs.documents_of(db, rival.id, "mandate")[0].data["access_code"]
    db.commit()
    assert other != code and other not in page
    # The lead issues a new code (told by phone): the mandate's is void, the portal hides it.
    newer = lead.post("/projects/P-ACME-1/access-code", data={"csrf_token": token})
    assert newer.status_code == 200
    page = acme.get("/portal/projects/P-ACME-1").get_data(as_text=True)
    assert "data-access-code" not in page and code not in page
    assert access_codes.check_access_code(db, "P-ACME-1", code) is None
    db.commit()


# -- item 9: the printable 一次性告知单 -------------------------------------------------------

def test_the_materials_notice_prints_as_a_sheet_and_a_pdf(as_user, world, db, clock):
    request = ask_for_materials(db, world, clock)
    task = task_of(db, world)
    basis = ops.definition_for(task.project).items[task.item_code].basis
    db.commit()
    expected = ["一次性告知单", "甲科技有限公司", "P-ACME-1", "地形图测绘及土地勘测定界",
                "宗地界址图", "营业执照副本", "加盖公章", "请于2026-03-09前提交", "请扫描为PDF后上传",
                "第三十二条", basis, "alice", "lead", "申请人（签收）", "告知人（代办员）"]
    for name in ("alice", "acme"):
        client, _ = as_user(name)
        html = flat(client.get(f"/requests/{request.id}/notice").get_data(as_text=True))
        response = client.get(f"/requests/{request.id}/notice.pdf")
        assert response.status_code == 200 and response.mimetype == "application/pdf"
        pdf = flat("".join(p.extract_text()
                           for p in pypdf.PdfReader(io.BytesIO(response.data)).pages))
        for text in expected:
            assert flat(text) in html, f"{text} missing from the print view"
            assert flat(text) in pdf, f"{text} missing from the PDF"
    # Linked from the task page and from the enterprise's portal page.
    alice, _ = as_user("alice")
    assert f'/requests/{request.id}/notice"' in alice.get(f"/tasks/{task.id}").get_data(
        as_text=True)
    acme, _ = as_user("acme")
    assert f'/requests/{request.id}/notice"' in acme.get("/portal/projects/P-ACME-1").get_data(
        as_text=True)


def test_the_notice_is_read_only_by_who_sees_the_project(as_user, world, db, clock):
    request = ask_for_materials(db, world, clock)
    for name in ("other", "olga"):
        client, _ = as_user(name)
        assert client.get(f"/requests/{request.id}/notice").status_code == 404
        assert client.get(f"/requests/{request.id}/notice.pdf").status_code == 404
    client, _ = as_user("lead")
    assert client.get("/requests/999999/notice").status_code == 404


# -- item 10: the enterprise's project page ----------------------------------------------

def rateable_with_materials(db, world, clock):
    """An item covered (so it may be rated) and materials asked for another."""
    mineral = task_of(db, world, item="u03_mineral")
    ops.cover_task(db, mineral.id, reference="左开评〔2025〕3号", kind="evaluation",
                   actor=world["users"]["lead"], now=clock.moment)
    db.commit()
    return ask_for_materials(db, world, clock)


def test_what_the_enterprise_must_supply_comes_before_the_rating(as_user, world, db, clock):
    rateable_with_materials(db, world, clock)
    client, token = as_user("acme")
    page = client.get("/portal/projects/P-ACME-1").get_data(as_text=True)
    assert 'data-action="rate"' in page
    assert page.index('id="requests"') < page.index('data-action="rate"')
    levels = re.findall(r'<input type="radio" name="level"[^>]*>', page)
    assert len(levels) == 5 and not any("checked" in x for x in levels)
    assert all("required" in x for x in levels)
    # Sent without a choice: refused, nothing rated.
    mineral = task_of(db, world, item="u03_mineral")
    db.commit()
    response = client.post("/portal/projects/P-ACME-1/ratings",
                           data={"csrf_token": token, "task_id": mineral.id})
    assert response.status_code == 400
