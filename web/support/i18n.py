"""The two catalogues: extract their msgids and compile them.

The interface is written in Chinese: ``web/translations/en/LC_MESSAGES/
messages.po`` holds its English. The engine's refusals are written in English
(the CLI and the API speak it): ``web/translations/zh_CN/LC_MESSAGES/engine.po``
holds their Chinese, extracted from every ``WorkflowError`` raised in
``workflow/`` with a literal template and every ``term()`` (see
``workflow.kernel.errors``).

``python -m web.support.i18n extract`` refreshes both from the code (keeping
existing translations); ``python -m web.support.i18n compile`` writes the
``.mo`` files the app loads. The test suite checks that every msgid has its
translation and that the compiled files match the catalogues.
"""

from __future__ import annotations

import ast
import importlib
import io
import pkgutil
import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent  # web/
PO = ROOT / "translations" / "en" / "LC_MESSAGES" / "messages.po"
MO = PO.with_suffix(".mo")
WORKFLOW = ROOT.parent / "workflow"
ENGINE_LOCALE = "zh_CN"
ENGINE_DOMAIN = "engine"
ENGINE_PO = ROOT / "translations" / ENGINE_LOCALE / "LC_MESSAGES" / f"{ENGINE_DOMAIN}.po"
ENGINE_MO = ENGINE_PO.with_suffix(".mo")
METHODS = [("**.py", "python"), ("templates/**.html", "jinja2")]
KEYWORDS = {"_": None, "gettext": None, "lazy_gettext": None, "_l": None, "ngettext": (1, 2),
            "N_": None}


def N_(message: str) -> str:  # noqa: N802 - the conventional name of the marker
    """Mark a msgid for extraction where it is translated later (``_(variable)``)."""
    return message


def extracted() -> Catalog:
    catalog = Catalog(locale="en", project="daiban")
    for filename, lineno, message, _comments, _context in extract_from_dir(
            ROOT, METHODS, keywords=KEYWORDS,
            options_map={"templates/**.html": {"extensions": "jinja2.ext.i18n"}}):
        catalog.add(message, locations=[(f"web/{filename}", lineno)])
    return catalog


def load(path: Path = PO, locale: str = "en") -> Catalog:
    if not path.exists():
        return Catalog(locale=locale, project="daiban")
    with path.open("rb") as handle:
        return read_po(handle, locale=locale)


def extract(current: Catalog | None = None, fresh: Catalog | None = None) -> Catalog:
    """The catalogue with every msgid now in use; known translations kept,
    and its creation date (a refresh that changes no message changes no byte)."""
    current = load() if current is None else current
    fresh = extracted() if fresh is None else fresh
    fresh.creation_date = current.creation_date
    for message in fresh:
        known = current.get(message.id, context=message.context) if message.id else None
        if known is not None:
            message.string = known.string
    return fresh


def save(catalog: Catalog, path: Path = PO) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as handle:
        write_po(handle, catalog, width=100, omit_header=False, sort_output=True)


# -- the engine's refusals ---------------------------------------------------------------

def error_classes() -> dict[str, bool]:
    """Every ``WorkflowError`` class by name, with whether it takes a message
    first (a class with its own ``__init__`` builds its message itself, in
    its ``super().__init__`` call)."""
    from workflow.kernel.errors import WorkflowError

    for module in pkgutil.walk_packages([str(WORKFLOW)], prefix="workflow."):
        importlib.import_module(module.name)
    found: dict[str, bool] = {}
    pending = [WorkflowError]
    while pending:
        cls = pending.pop()
        found[cls.__name__] = "__init__" not in vars(cls) or cls is WorkflowError
        pending.extend(cls.__subclasses__())
    return found


def engine_calls():
    """``(path, line, call, first)`` for every call that gives the engine's
    catalogue a msgid: a ``WorkflowError`` class called with its message, a
    ``super().__init__`` inside such a class, and ``term()``. ``first`` is the
    call's first argument node (a literal when the rule is kept)."""
    classes = error_classes()
    takes_message = {name for name, plain in classes.items() if plain}
    for path in sorted(WORKFLOW.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        where = f"workflow/{path.relative_to(WORKFLOW).as_posix()}"
        inside = {}
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef) and node.name in classes:
                for child in ast.walk(node):
                    inside[id(child)] = node.name
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call) or not node.args:
                continue
            func = node.func
            name = func.id if isinstance(func, ast.Name) else (
                func.attr if isinstance(func, ast.Attribute) else None)
            is_super = (name == "__init__" and isinstance(func, ast.Attribute)
                        and isinstance(func.value, ast.Call)
                        and isinstance(func.value.func, ast.Name) and func.value.func.id == "super"
                        and id(node) in inside)
            if name in takes_message or name == "term" or is_super:
                yield where, node.lineno, node, node.args[0]


def extracted_engine() -> Catalog:
    catalog = Catalog(locale=ENGINE_LOCALE, project="daiban", domain=ENGINE_DOMAIN)
    for where, line, call, first in engine_calls():
        if isinstance(first, ast.Constant) and isinstance(first.value, str):
            catalog.add(first.value, locations=[(where, line)], context=term_detail(call))
    return catalog


def term_detail(call: ast.Call) -> str | None:
    """The detail a ``term(word, detail)`` call's word is translated for (the
    catalogue's message context), or None."""
    name = call.func.id if isinstance(call.func, ast.Name) else getattr(call.func, "attr", None)
    if name != "term":
        return None
    given = [*call.args[1:2], *(k.value for k in call.keywords if k.arg == "detail")]
    for node in given:
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return node.value
    return None


def load_engine() -> Catalog:
    return load(ENGINE_PO, ENGINE_LOCALE)


def compiled(catalog: Catalog) -> bytes:
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    return buffer.getvalue()


def main(argv: list[str]) -> int:
    command = argv[1] if len(argv) > 1 else ""
    if command == "extract":
        catalog = extract()
        save(catalog)
        missing = [m.id for m in catalog if m.id and not m.string]
        print(f"{len(catalog)} messages, {len(missing)} without English")
        engine = extract(load_engine(), extracted_engine())
        save(engine, ENGINE_PO)
        missing = [m.id for m in engine if m.id and not m.string]
        print(f"{len(engine)} engine messages, {len(missing)} without Chinese")
        return 0
    if command == "compile":
        MO.write_bytes(compiled(load()))
        print(f"wrote {MO}")
        ENGINE_MO.write_bytes(compiled(load_engine()))
        print(f"wrote {ENGINE_MO}")
        return 0
    print("usage: python -m web.support.i18n extract|compile", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
