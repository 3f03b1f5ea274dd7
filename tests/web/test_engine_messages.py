"""The engine's refusals in the user's language.

The engine writes its refusals in English templates whose placeholders are
the error's details (``workflow.kernel.errors``); ``web/translations/zh_CN/
LC_MESSAGES/engine.po`` holds their Chinese. A developer who adds or changes a
refusal runs ``python -m web.support.i18n extract``, writes its Chinese and
runs ``python -m web.support.i18n compile``; these tests fail until all three
are done, and fail on a refusal written so it cannot be looked up (an
f-string, a message built elsewhere) or filled (a placeholder no detail fills).
"""

from __future__ import annotations

import ast

import pytest

from web.support import i18n, labels
from workflow.kernel.errors import placeholders


@pytest.fixture(scope="module")
def calls():
    return list(i18n.engine_calls())


@pytest.fixture(scope="module")
def catalogue():
    return i18n.load_engine()


def _where(path, line) -> str:
    return f"{path}:{line}"


def test_every_refusal_is_a_literal_template(calls):
    built = [f"{_where(path, line)} {ast.unparse(first)[:80]}" for path, line, _call, first in calls
             if not (isinstance(first, ast.Constant) and isinstance(first.value, str))]
    assert not built, (
        "refusals whose message is not a literal template (an f-string, a variable): the "
        "catalogue cannot find them; write the literal with {placeholders} filled from the "
        "error's details:\n  " + "\n  ".join(built))


def test_every_placeholder_is_one_of_the_calls_details(calls):
    unfilled = []
    for path, line, call, first in calls:
        if not (isinstance(first, ast.Constant) and isinstance(first.value, str)):
            continue
        given = {keyword.arg for keyword in call.keywords}
        if None in given:  # **details: known only when it runs
            continue
        missing = placeholders(first.value) - given
        if missing:
            unfilled.append(f"{_where(path, line)} {first.value[:60]!r} lacks {sorted(missing)}")
    assert not unfilled, "placeholders no detail fills:\n  " + "\n  ".join(unfilled)


def test_every_engine_message_has_chinese(catalogue):
    missing = []
    for message in i18n.extracted_engine():
        if not message.id:
            continue
        known = catalogue.get(message.id, context=message.context)
        if known is None or not (known.string or "").strip():
            path, line = message.locations[0]
            missing.append(f"{message.id!r} ({_where(path, line)})")
    assert not missing, (
        f"{len(missing)} engine message(s) without Chinese; run `python -m web.support.i18n "
        "extract`, translate them in web/translations/zh_CN/LC_MESSAGES/engine.po and run "
        "`python -m web.support.i18n compile`:\n  " + "\n  ".join(missing))


def test_the_chinese_fills_the_same_placeholders(catalogue):
    wrong = [f"{m.id!r} → {m.string!r}" for m in catalogue
             if m.id and m.string and placeholders(m.string) != placeholders(m.id)]
    assert not wrong, "placeholders differ:\n  " + "\n  ".join(wrong)


def test_the_compiled_engine_catalogue_is_up_to_date(catalogue):
    assert i18n.ENGINE_MO.exists(), "run `python -m web.support.i18n compile`"
    assert i18n.ENGINE_MO.read_bytes() == i18n.compiled(catalogue), (
        "engine.mo is stale: run `python -m web.support.i18n compile`")


def test_the_rule_sees_what_breaks_it(tmp_path, monkeypatch):
    """The checks above read the code as it is written: an f-string, a
    variable and a missing detail are each found."""
    package = tmp_path / "workflow"
    package.mkdir()
    (package / "bad.py").write_text(
        "from workflow.kernel.errors import Conflict, ValidationError, term\n"
        "def f(code, text):\n"
        "    if code: raise ValidationError(f'Parcel {code} is sold.')\n"
        "    if text: raise Conflict(text)\n"
        "    raise ValidationError('Parcel {code} is {state}.', code=code)\n"
        "WORD = term('the fee')\n", encoding="utf-8")
    monkeypatch.setattr(i18n, "WORKFLOW", package)
    monkeypatch.setattr(i18n, "error_classes", lambda: {
        "WorkflowError": True, "Conflict": True, "ValidationError": True})
    found = list(i18n.engine_calls())
    literal = [first.value for _p, _l, _c, first in found if isinstance(first, ast.Constant)]
    assert sorted(literal) == ["Parcel {code} is {state}.", "the fee"]
    assert {type(first).__name__ for _p, _l, _c, first in found} == {"JoinedStr", "Name", "Constant"}
    assert sorted(m.id for m in i18n.extracted_engine() if m.id) == ["Parcel {code} is {state}.", "the fee"]
    assert placeholders("Parcel {code} is {state}.") - {"code"} == {"state"}


def _what_positions(trees):
    """Where each function of ``workflow/`` that names its subject ``what``
    takes it: ``{(path or None, name): index}`` (``None``: any file's call)."""
    positions: dict = {}
    defaults = []
    for path, tree in trees:
        for node in ast.walk(tree):
            if not isinstance(node, ast.FunctionDef):
                continue
            params = [*node.args.posonlyargs, *node.args.args]
            names = [p.arg for p in params]
            index = names.index("what") if "what" in names else None
            if index is None and "what" not in [p.arg for p in node.args.kwonlyargs]:
                continue
            positions[(path, node.name)] = index
            positions.setdefault((None, node.name), index)
            for default in [*node.args.defaults, *node.args.kw_defaults]:
                if isinstance(default, ast.Constant) and isinstance(default.value, str):
                    defaults.append(f"{path}:{default.lineno} {node.name}(what={default.value!r})")
    return positions, defaults


def test_every_word_a_refusal_names_is_catalogued():
    """A function that refuses "the {what} …" is given its word through
    ``term()``, so the catalogue holds the word and the sentence shows it in
    Chinese: a bare literal there would read in English inside the Chinese."""
    trees = [(path.relative_to(i18n.WORKFLOW.parent).as_posix(),
              ast.parse(path.read_text(encoding="utf-8")))
             for path in sorted(i18n.WORKFLOW.rglob("*.py"))]
    positions, bare = _what_positions(trees)
    for path, tree in trees:
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            name = func.id if isinstance(func, ast.Name) else (
                func.attr if isinstance(func, ast.Attribute) else None)
            key = (path, name) if (path, name) in positions else (None, name)
            if key not in positions:
                continue
            index = positions[key]
            given = [k.value for k in node.keywords if k.arg == "what"]
            if index is not None and len(node.args) > index:
                given.append(node.args[index])
            bare += [f"{path}:{node.lineno} {name}(… {g.value!r} …)" for g in given
                     if isinstance(g, ast.Constant) and isinstance(g.value, str)]
    assert not bare, ("words given to a refusing function bare; wrap them in term() so the "
                      "catalogue translates them:\n  " + "\n  ".join(bare))


# -- the sentence a page shows ------------------------------------------------------------

def test_a_refusal_reads_in_chinese_and_in_english(app):
    from flask_babel import force_locale

    from web.support.errors import engine_sentence, user_message
    from workflow.kernel.errors import ValidationError

    exc = ValidationError("The {field} is at most {limit} characters.", field="memo", limit=20)
    assert exc.message == "The memo is at most 20 characters."
    with app.test_request_context("/"):
        assert engine_sentence(exc) == "memo最多 20 个字符。"
        assert user_message(exc) == "输入有误：memo最多 20 个字符。"
        with force_locale("en"):
            assert engine_sentence(exc) == "The memo is at most 20 characters."


def test_a_catalogued_word_and_a_nested_refusal_are_told_in_chinese_too(app, catalogue):
    from web.support.errors import engine_sentence
    from workflow.core.bulk import BulkRefused
    from workflow.kernel.errors import ValidationError

    words = {m.id: m.string for m in catalogue  # the words term() marks: no sentence, no placeholder
             if m.id and m.string and not placeholders(m.id) and not m.id.endswith(".")}
    word, chinese = sorted(words.items())[0]
    inner = ValidationError("A {field} is required.", field=word)
    outer = BulkRefused(7, inner)  # one task of a bulk request refused
    with app.test_request_context("/"):
        assert engine_sentence(inner) == f"请填写{chinese}。"
        told = engine_sentence(outer)
    assert outer.message == f"Task 7: A {word} is required."
    assert f"请填写{chinese}。" in told and "7" in told and word not in told


def test_a_refusal_without_chinese_or_that_cannot_be_filled_keeps_its_english(app, monkeypatch):
    from babel.support import NullTranslations

    from web.support import errors
    from workflow.kernel.errors import ValidationError

    untranslated = ValidationError("Nothing in the catalogue says {what}.", what="this")
    with app.test_request_context("/"):
        assert errors.engine_sentence(untranslated) == "Nothing in the catalogue says this."

    class Wrong(NullTranslations):  # a translation naming a detail the error lacks
        def gettext(self, message):
            return "{nobody}最多。" if message.startswith("The {field}") else message

    monkeypatch.setattr(errors, "_engine_catalogue", lambda: Wrong())
    exc = ValidationError("The {field} is at most {limit} characters.", field="memo", limit=3)
    with app.test_request_context("/"):
        assert errors.engine_sentence(exc) == "The memo is at most 3 characters."


def test_a_word_is_told_for_the_detail_that_names_it_and_codes_by_the_pages_labels(app):
    """"start" is the start check where a check's ``kind`` names it and the
    task's event elsewhere; a role and a task's state read as the pages name
    them."""
    from web.support.errors import engine_sentence
    from workflow.kernel.errors import Conflict, InvalidTransition, NotPermitted

    check = InvalidTransition("The {kind} check of {project} has already passed.",
                              kind="start", project="P-1")
    event = InvalidTransition("Cannot {action}: a condition refused it while the {kind} is {state}.",
                              action="start", kind="task", state="awaiting_enterprise")
    who = NotPermitted("{user} ({role}) may not manage project {project}.",
                       user="alice", role="agent", project="P-1")
    with app.test_request_context("/"):
        assert engine_sentence(check) == "项目 P-1 的开工核查已通过。"
        told = engine_sentence(event)
        assert engine_sentence(who) == "alice（代办员）无权管理项目 P-1。"
    assert "开始办理" in told and "待企业补正" in told and "start" not in told, told
    listed = InvalidTransition("Cannot {action}: the {kind} is {state} (allowed now: {allowed_now}).",
                               action="claim", kind="item", state="assigned",
                               allowed_now="start, reassign")
    with app.test_request_context("/"):
        assert "开始办理、改派" in engine_sentence(listed)
    # An assign that lost its race names the state it expected as the pages do, too.
    lost = Conflict("Task {task} is no longer {expected_state}: it is {state}; reload and reassign it "
                    "if you must.", task=7, expected_state="ready", state="in_progress",
                    assignee=None)
    with app.test_request_context("/"):
        told = engine_sentence(lost)
        ready, working = str(labels.STATES["ready"]), str(labels.STATES["in_progress"])
    assert ready in told and working in told and "ready" not in told, told
