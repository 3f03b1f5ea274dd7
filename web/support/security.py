"""Sessions, login throttling, bearer tokens and response headers.

- A login creates a ``LoginSession`` row; the cookie carries only its random
  token. Logging out revokes the row, so a copied cookie stops working.
- Failed logins are counted in the database, per username and per address,
  so the limit holds across every web worker.
- The API also accepts ``Authorization: Bearer <token>`` issued by
  ``daiban token create USERNAME`` (only the SHA-256 is stored).
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta

from flask import Flask, current_app, request, session
from flask_login import UserMixin, current_user, login_user, logout_user
from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import joinedload

from web.support.db import db
from web.support.extensions import csrf, login_manager
from workflow.accounts.tokens import token_hash
from workflow.kernel.moments import aware
from workflow.models import ApiToken, LoginAttempt, LoginSession, User


def now() -> datetime:
    """The request's time in UTC (injected in tests through ``CLOCK``). Always
    UTC: SQLite keeps a timestamp's wall time and drops its offset."""
    return current_app.config["CLOCK"]().astimezone(UTC)


class SessionUser(UserMixin):
    """What Flask-Login keeps for a request: the engine's ``User`` row."""

    def __init__(self, user: User, via_token: bool = False) -> None:
        self.user = user
        self.id = str(user.id)
        self.via_token = via_token


class TooManyAttempts(Exception):
    pass


def check_login_allowed(username: str, ip: str) -> None:
    cfg = current_app.config
    since = now() - timedelta(minutes=cfg["LOGIN_WINDOW_MINUTES"])
    failures = select(func.count(LoginAttempt.id)).where(
        LoginAttempt.success.is_(False), LoginAttempt.at >= since)
    by_user = db().scalar(failures.where(LoginAttempt.username == username))
    by_ip = db().scalar(failures.where(LoginAttempt.ip == ip))
    if by_user >= cfg["LOGIN_FAILURES_PER_USER"] or by_ip >= cfg["LOGIN_FAILURES_PER_IP"]:
        raise TooManyAttempts()


def record_attempt(username: str, ip: str, success: bool) -> None:
    db().add(LoginAttempt(username=username[:80], ip=ip[:64], at=now(), success=success))


def start_session(user: User) -> None:
    """Log ``user`` in with a fresh server-side session (no fixation)."""
    token = secrets.token_urlsafe(32)
    lifetime = current_app.config["PERMANENT_SESSION_LIFETIME"]
    db().add(LoginSession(token_hash=token_hash(token), user_id=user.id, created_at=now(),
                          expires_at=now() + lifetime))
    lang = session.get("lang")
    session.clear()
    if lang:
        session["lang"] = lang
    session["sid"] = token
    session.permanent = True
    login_user(SessionUser(user))


def end_session() -> None:
    token = session.get("sid")
    if token:
        row = db().scalar(select(LoginSession).where(LoginSession.token_hash == token_hash(token)))
        if row is not None and row.revoked_at is None:
            row.revoked_at = now()
    logout_user()
    lang = session.get("lang")
    session.clear()
    if lang:
        session["lang"] = lang


# The login session, its user and the user's groups in one statement: every
# request needs all three (permissions, the navigation's counts).
_SESSION_USER = (select(LoginSession)
                 .options(joinedload(LoginSession.user).joinedload(User.memberships)))


@login_manager.user_loader
def _load_user(user_id: str) -> SessionUser | None:
    token = session.get("sid")
    if not token or not user_id.isdigit():
        return None
    row = db().execute(_SESSION_USER.where(LoginSession.token_hash == token_hash(token))
                       ).unique().scalar_one_or_none()
    if (row is None or row.revoked_at is not None or row.user_id != int(user_id)
            or aware(row.expires_at) <= now()):
        return None
    return SessionUser(row.user) if row.user.active else None


@login_manager.request_loader
def _load_user_from_token(req) -> SessionUser | None:
    header = req.headers.get("Authorization", "")
    if not header.startswith("Bearer ") or not req.path.startswith("/api/"):
        return None
    row = db().scalar(select(ApiToken).where(ApiToken.token_hash == token_hash(header[7:].strip())))
    if row is None or row.revoked_at is not None or not row.user.active:
        return None
    _touch(row)
    return SessionUser(row.user, via_token=True)


TOKEN_TOUCH_EVERY = timedelta(minutes=1)
MAX_FLASHES = 5
# Pages that carry a project's, an enterprise's or the zone's particulars: never
# kept by a browser or proxy cache, whatever their status. The one place for it.
NO_STORE = ("/api/", "/tasks/", "/projects/", "/portal", "/admin", "/lookup", "/documents/",
            "/commitments/", "/gaps/", "/rectifications/", "/land/", "/supervision")


def _touch(token: ApiToken) -> None:
    """Record when a token was last used, at most once a minute (a write on
    every API call would cost more than the call). It commits at once: this
    runs while the request is being authenticated, before its own work, so
    the commit holds nothing but the touch (and on SQLite a second connection
    could not write while the request's holds the lock)."""
    at = now()
    if token.last_used_at is not None and aware(token.last_used_at) > at - TOKEN_TOUCH_EVERY:
        return
    db().execute(update(ApiToken).where(
        ApiToken.id == token.id,
        or_(ApiToken.last_used_at.is_(None), ApiToken.last_used_at <= at - TOKEN_TOUCH_EVERY))
        .values(last_used_at=at).execution_options(synchronize_session=False))
    db().commit()


def init_app(app: Flask) -> None:
    @app.before_request
    def _csrf_unless_bearer():
        # Bearer-token API calls carry no cookie, so they need no CSRF token;
        # everything else (forms and cookie-authenticated API calls) does.
        if request.method in ("GET", "HEAD", "OPTIONS"):
            return
        if request.path.startswith("/api/") and request.headers.get(
                "Authorization", "").startswith("Bearer "):
            return
        if request.path.startswith("/api/") and not current_user.is_authenticated:
            return  # no session to ride on: the API answers its 401, not a CSRF 400
        csrf.protect()

    @app.after_request
    def _bounded_flashes(response):
        # Messages wait in the signed session cookie until a page shows them;
        # a client that never follows the redirects (a script posting forms)
        # would grow the cookie with every post. Keep the latest few.
        flashes = session.get("_flashes")
        if flashes and len(flashes) > MAX_FLASHES:
            session["_flashes"] = flashes[-MAX_FLASHES:]
        return response

    @app.after_request
    def _headers(response):
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
            "frame-ancestors 'none'; form-action 'self'")
        if request.path.startswith(NO_STORE):
            response.headers["Cache-Control"] = "no-store"  # over send_file's no-cache too
        return response
