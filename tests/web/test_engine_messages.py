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

from web.support import i18n
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
        known = catalogue.get(message.id)
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
