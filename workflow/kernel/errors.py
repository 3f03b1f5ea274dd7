"""The engine's error hierarchy. ``web/`` maps these to HTTP status codes in
one place; the CLI prints their message. Each message is a sentence a user can
act on; structured details ride along in ``details`` for logs and the API.

A message is a literal English template whose ``{placeholders}`` are filled
from the details (``ValidationError("Parcel {parcel} is sold.", parcel=code)``),
never an f-string: the web layer looks the template up in the engine's Chinese
catalogue (``web/translations/zh_CN/LC_MESSAGES/engine.po``, extracted from
these calls) and fills the translation with the same details, so a refusal
reads in the user's language. A detail that is itself a catalogued word
(marked with :func:`term`, or a state, stage or role the pages name), or a
list of such words joined by ", ", is translated too; one that is a
``WorkflowError`` is told by its own sentence. ``tests/web/
test_engine_messages.py`` holds every raise to this rule and every template
to a translation.
"""

from __future__ import annotations

import string
from typing import Any


def term(word: str, detail: str | None = None) -> str:
    """Mark a word a message's detail carries (a field's or an object's name)
    for the catalogue: the web layer shows it translated inside the sentence.
    ``detail`` names the detail it is translated for when the same word means
    something else elsewhere (``term("start", "kind")``: the start check)."""
    return word


def fill(template: str, details: dict[str, Any]) -> str | None:
    """``template`` with its placeholders filled from ``details``, or None when
    it names a detail that is missing or cannot be formatted so."""
    if "{" not in template:
        return template
    try:
        return template.format_map(details)
    except (KeyError, IndexError, ValueError, AttributeError, TypeError):
        return None


def render(template: str, details: dict[str, Any]) -> str:
    """``template`` filled from ``details``; the template itself when it
    cannot be (never an error while raising one)."""
    filled = fill(template, details)
    return template if filled is None else filled


def placeholders(template: str) -> set[str]:
    """The detail names a template fills (``{limit:,}`` names ``limit``)."""
    names = set()
    for _text, field, _spec, _conversion in string.Formatter().parse(template):
        if field is not None:
            names.add(field.split(".")[0].split("[")[0])
    return names


class WorkflowError(Exception):
    """Base of every domain error the engine raises on purpose."""

    code = "workflow_error"

    def __init__(self, message: str, **details: Any) -> None:
        self.template = message
        self.details = details
        self.message = render(message, details)
        # Exception's own: the filled sentence is no catalogue template.
        Exception.__init__(self, self.message)


class InvalidTransition(WorkflowError):
    """The event is not allowed in the current state, or a guard refused it."""

    code = "invalid_transition"


class Conflict(WorkflowError):
    """Someone else changed the object first (stale version, lost race)."""

    code = "conflict"


class NotPermitted(WorkflowError):
    """The actor may not do this to this object."""

    code = "not_permitted"


class NotFound(WorkflowError):
    code = "not_found"


class ValidationError(WorkflowError):
    """Bad input: a value out of range, a missing reason, an unknown code."""

    code = "invalid_input"


class NoEligibleAgent(WorkflowError):
    """Automatic assignment found nobody to take the task."""

    code = "no_eligible_agent"
