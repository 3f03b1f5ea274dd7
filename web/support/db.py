"""The request's database session."""

from __future__ import annotations

from flask import current_app, g
from sqlalchemy.orm import Session


def db() -> Session:
    if "db" not in g:
        g.db = current_app.extensions["daiban_sessions"]()
    return g.db
