"""The English catalogue: complete, compiled, placeholder-safe, and used.

The interface is written in Chinese (the msgids); ``web/translations/en``
holds the English. A developer who adds Chinese text runs
``python -m web.support.i18n extract``, fills in the English and runs
``python -m web.support.i18n compile``; these tests fail until all three are done.
"""

from __future__ import annotations

import ast
import re

import pytest

from tests.web.conftest import csrf_token, login
from web.support import i18n

# Python %-format placeholders: %(name)s, %s, %d, %.1f … and the literal %%.
PLACEHOLDER = re.compile(r"%(?:\((\w+)\))?[-#0 +]*\d*(?:\.\d+)?[diouxXeEfFgGcrsa%]")


def _strings(value) -> tuple[str, ...]:
    """A message's id or string as a tuple (plural messages have several)."""
    if isinstance(value, (tuple, list)):
        return tuple(value)
    return (value,)


def _placeholders(text: str) -> list[str]:
    return sorted(match.group(0) for match in PLACEHOLDER.finditer(text or ""))


@pytest.fixture(scope="module")
def catalog():
    return i18n.load()


def test_every_msgid_in_use_has_an_english_translation(catalog):
    missing = []
    for message in i18n.extracted():
        if not message.id:
            continue
        msgid = _strings(message.id)[0]
        known = catalog.get(message.id)
        if known is None or not all(s and s.strip() for s in _strings(known.string)):
            where = ", ".join(f"{path}:{line}" for path, line in message.locations[:2])
            missing.append(f"{msgid!r} ({where})")
    assert not missing, (
        f"{len(missing)} msgid(s) without English; run `python -m web.support.i18n extract`, "
        "translate them in web/translations/en/LC_MESSAGES/messages.po and run "
        "`python -m web.support.i18n compile`:\n  " + "\n  ".join(missing))


# gettext calls Babel's extractor cannot see (it reads an f-string as one token,
# so a ``_()`` inside ``f"{...}"`` is never extracted and never translated).
# Each entry is a bug to fix (move the call out of the f-string), then delete here.
KNOWN_UNEXTRACTED: set[tuple[str, str]] = set()


def _gettext_calls():
    """``(path, line, msgid)`` of every gettext call with a literal msgid in web/*.py."""
    for path in sorted(i18n.ROOT.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                    and node.func.id in i18n.KEYWORDS and node.args
                    and isinstance(node.args[0], ast.Constant)
                    and isinstance(node.args[0].value, str)):
                yield f"web/{path.relative_to(i18n.ROOT).as_posix()}", node.lineno, node.args[0].value


def test_every_gettext_call_in_the_code_is_extracted():
    extracted = {_strings(m.id)[0] for m in i18n.extracted() if m.id}
    unseen = {(path, msgid): line for path, line, msgid in _gettext_calls()
              if msgid not in extracted}
    new = sorted(f"{path}:{line} {msgid!r}" for (path, msgid), line in unseen.items()
                 if (path, msgid) not in KNOWN_UNEXTRACTED)
    assert not new, ("gettext calls `python -m web.support.i18n extract` does not see (a call inside "
                     "an f-string?); move the call out so its msgid is extracted:\n  "
                     + "\n  ".join(new))
    fixed = sorted(KNOWN_UNEXTRACTED - set(unseen))
    assert not fixed, f"now extracted: remove from KNOWN_UNEXTRACTED: {fixed}"


def test_compiled_catalogue_is_up_to_date(catalog):
    assert i18n.MO.exists(), "run `python -m web.support.i18n compile`"
    assert i18n.MO.read_bytes() == i18n.compiled(catalog), (
        "messages.mo is stale: run `python -m web.support.i18n compile`")


def test_placeholders_match_between_chinese_and_english(catalog):
    wrong = []
    for message in catalog:
        if not message.id:
            continue
        expected = _placeholders(_strings(message.id)[0])
        for string in _strings(message.string):
            if string and _placeholders(string) != expected:
                wrong.append(f"{message.id!r} → {string!r}")
    assert not wrong, "placeholders differ:\n  " + "\n  ".join(wrong)


def test_placeholder_pattern_sees_names_and_percent_signs():
    assert _placeholders("已办结 %(closed)s / 共 %(total)s 项（%(pct)s%%）") == [
        "%%", "%(closed)s", "%(pct)s", "%(total)s"]
    assert _placeholders("暂无") == []


def test_chinese_is_the_default(as_user):
    client, _token = as_user("alice")
    page = client.get("/inbox").get_data(as_text=True)
    assert "我的待办" in page
    assert "My inbox" not in page
    assert '<html lang="zh-CN">' in page


def test_english_chosen_before_login_survives_login(app, world):
    client = app.test_client()
    token = csrf_token(client)
    response = client.post("/lang/en", data={"csrf_token": token, "next": "/login"})
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/login")
    assert "Log in" in client.get("/login").get_data(as_text=True)

    assert login(client, "alice").status_code == 302
    page = client.get("/inbox").get_data(as_text=True)
    assert '<html lang="en">' in page
    assert "My inbox" in page and "Log out" in page
    assert "我的待办" not in page

    # The choice is kept in the session, not only in the cookie.
    client.delete_cookie("lang")
    assert "My inbox" in client.get("/inbox").get_data(as_text=True)


def test_logged_in_user_switches_to_english_and_back(as_user):
    client, token = as_user("alice")
    response = client.post("/lang/en", data={"csrf_token": token, "next": "/inbox"})
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/inbox")
    page = client.get("/inbox").get_data(as_text=True)
    assert "My inbox" in page and "我的待办" not in page

    token = csrf_token(client, "/inbox")
    client.post("/lang/zh_CN", data={"csrf_token": token, "next": "/inbox"})
    page = client.get("/inbox").get_data(as_text=True)
    assert "我的待办" in page and "My inbox" not in page


def test_language_switch_needs_the_csrf_token(app, world):
    client = app.test_client()
    response = client.post("/lang/en", data={"next": "/login"})
    assert response.status_code == 400
    assert "我的待办" not in client.get("/login").get_data(as_text=True)
    assert "登录" in client.get("/login").get_data(as_text=True)


def test_an_english_browser_still_gets_chinese_until_the_user_chooses(app):
    client = app.test_client()
    page = client.get("/login", headers={"Accept-Language": "en-US,en;q=0.9"})
    assert "登录" in page.get_data(as_text=True)
