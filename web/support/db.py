"""The request's database session."""

from __future__ import annotations

from flask import current_app, g, request
from sqlalchemy.orm import Session

from workflow.kernel import zone_audit


def db() -> Session:
    if "db" not in g:
        g.db = current_app.extensions["daiban_sessions"]()
        # Where this request's changes come from, for the zone's change log.
        g.db.info[zone_audit.VIA] = "api" if request.path.startswith("/api/") else "web"
    return g.db
