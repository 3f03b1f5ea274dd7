"""A refused page form comes back as the page the user was on, with what was
typed and the reason beside the field, in the user's language (issue 10:
"pages: the form again with the message beside the field"; issue 12, 4:
"show a refusal inline, in the user's language, keeping the input")."""

from __future__ import annotations

import re

from sqlalchemy import func, select
from werkzeug.datastructures import MultiDict

from web.support.echo import fill
from workflow.models import Comment, Project

LEDGER = "http://localhost/intentions"


def _field(html: str, name: str) -> str:
    match = re.search(rf'<(?:input|textarea|select)[^>]*name="{name}"[^>]*>', html)
    assert match, f"no field {name}"
    return match.group(0)


def test_a_bad_number_comes_back_beside_its_field_with_the_input_kept(as_user, db):
    client, token = as_user("lead")
    before = db.scalar(select(func.count()).select_from(Project))
    db.rollback()  # the app writes next
    response = client.post("/intentions", headers={"Referer": LEDGER}, data={
        "csrf_token": token, "name": "新材料项目", "industry": "equipment_manufacturing",
        "investment_wan": "99999999999999999999", "hesitation": "等待电价<政策>",
        "is_chemical": "1"})
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert response.headers["Cache-Control"] == "no-store"
    # The same page, the form filled again: text, text area, box.
    assert "已转签约" in html
    assert 'value="新材料项目"' in _field(html, "name")
    assert "等待电价&lt;政策&gt;</textarea>" in html
    assert "checked" in _field(html, "is_chemical")
    # The reason beside the field, which is marked and focused.
    number = _field(html, "investment_wan")
    assert 'aria-invalid="true"' in number and 'aria-describedby="error-investment_wan"' in number
    assert re.search(r'name="investment_wan"[^>]*>\s*<span class="field-error" '
                     r'id="error-investment_wan">须为 0 至 2147483647 之间的整数</span>', html)
    assert "输入有误，请修改标出的内容后重新提交" in html
    # A fresh CSRF token for the next try, and nothing was stored.
    assert 'name="csrf_token" value="' in html
    db.expire_all()
    assert db.scalar(select(func.count()).select_from(Project)) == before


def test_the_refusal_speaks_the_users_language(as_user):
    client, token = as_user("lead")
    client.post("/lang/en", data={"csrf_token": token, "next": "/"})
    response = client.post("/intentions", headers={"Referer": LEDGER}, data={
        "csrf_token": token, "name": "x" * 201, "industry": "equipment_manufacturing",
        "investment_wan": "10"})
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert re.search(r"id=\"error-name\">at most 200 characters", html, re.I), html[-3000:]
    assert "Please correct" in html or "correct the marked" in html.lower()


def test_an_engine_refusal_is_shown_at_the_form_keeping_the_comment(as_user, world, db):
    client, token = as_user("alice")
    code = world["project"].code
    # The enterprise-only comment box does not exist for staff; a staff comment
    # too long for the column is refused by the input layer, and the text stays.
    page = f"http://localhost/projects/{code}"
    response = client.post(f"/projects/{code}/comments", headers={"Referer": page},
                           data={"csrf_token": token, "body": "很长" * 5000})
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "很长很长" in html and 'role="alert"' in html
    assert "autofocus" in _field(html, "body")  # the refused field has the focus
    assert db.scalar(select(func.count()).select_from(Comment)) == 0


def test_without_a_usable_referer_the_plain_error_page_answers(as_user):
    client, token = as_user("lead")
    data = {"csrf_token": token, "name": "x", "industry": "equipment_manufacturing",
            "investment_wan": "-1"}
    for headers in ({}, {"Referer": "http://evil.example/intentions"},
                    {"Referer": "http://localhost/no/such/page"},
                    {"Referer": "javascript:alert(1)"}):
        response = client.post("/intentions", headers=headers, data=data)
        html = response.get_data(as_text=True)
        assert response.status_code == 400
        assert "error-investment_wan" not in html and "输入有误" in html


def test_the_rewrite_touches_only_the_form_that_posted():
    html = ('<!doctype html><main><form method="get" action="/x"><input name="q"></form>\n'
            '<details><summary>s</summary><form method="post" action="/x">'
            '<input type="hidden" name="csrf_token" value="new">'
            '<input name="q" maxlength="3"><select name="k"><option value="a" selected>A'
            '<option value="b">B</select><input type="password" name="p">'
            '<textarea name="t">old</textarea></form></details><svg viewBox="0 0 1 1"></svg>')
    posted = MultiDict([("csrf_token", "old"), ("q", "abcdef\x00"), ("k", "b"), ("p", "secret"),
                        ("t", "x</textarea><script>")])
    out = fill(html, "/x", posted, "msg", "q", "太长")
    assert out.startswith('<!doctype html><main><form method="get" action="/x"><input name="q">')
    assert '<details open>' in out and 'value="new"' in out and "secret" not in out
    assert '<input name="q" maxlength="3" value="abc" aria-invalid="true"' in out
    assert '<option value="a">A<option value="b" selected>B' in out
    assert "x&lt;/textarea&gt;&lt;script&gt;</textarea>" in out
    assert '<span class="field-error" id="error-q">太长</span>' in out
    # The refused field has the focus; without a field named, the reason has it.
    assert re.search(r'<input name="q" maxlength="3"[^>]* autofocus', out)
    assert '<p class="flash error form-error" role="alert">' in out
    unnamed = fill(html, "/x", posted, "msg", None, None)
    assert "autofocus" not in unnamed.split('role="alert"')[0]
    assert '<p class="flash error form-error" role="alert" tabindex="-1" autofocus>msg</p>' in unnamed
    assert out.endswith('<svg viewBox="0 0 1 1"></svg>')
    assert fill(html, "/elsewhere", posted, "msg", None, None) is None
