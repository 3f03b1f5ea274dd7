"""The engine's error hierarchy. ``web/`` maps these to HTTP status codes in
one place; the CLI prints their message. Each message is a sentence a user can
act on; structured details ride along in ``details`` for logs and the API."""

from __future__ import annotations

from typing import Any


class WorkflowError(Exception):
    """Base of every domain error the engine raises on purpose."""

    code = "workflow_error"

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


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
