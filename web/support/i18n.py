"""The English catalogue: extract the Chinese msgids and compile the catalogue.

``python -m web.support.i18n extract`` refreshes ``web/translations/en/LC_MESSAGES/
messages.po`` from the templates and code (keeping existing translations);
``python -m web.support.i18n compile`` writes the ``.mo`` the app loads. The test
suite checks that every msgid has an English translation and that the
compiled file matches the catalogue.
"""

from __future__ import annotations

import io
import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent  # web/
PO = ROOT / "translations" / "en" / "LC_MESSAGES" / "messages.po"
MO = PO.with_suffix(".mo")
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


def load() -> Catalog:
    if not PO.exists():
        return Catalog(locale="en", project="daiban")
    with PO.open("rb") as handle:
        return read_po(handle, locale="en")


def extract() -> Catalog:
    """The catalogue with every msgid now in use; known translations kept."""
    current, fresh = load(), extracted()
    for message in fresh:
        if message.id and message.id in current:
            message.string = current[message.id].string
    return fresh


def save(catalog: Catalog) -> None:
    PO.parent.mkdir(parents=True, exist_ok=True)
    with PO.open("wb") as handle:
        write_po(handle, catalog, width=100, omit_header=False, sort_output=True)


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
        return 0
    if command == "compile":
        MO.write_bytes(compiled(load()))
        print(f"wrote {MO}")
        return 0
    print("usage: python -m web.support.i18n extract|compile", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
