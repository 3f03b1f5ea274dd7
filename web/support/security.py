"""Sessions, login throttling, bearer tokens and response headers.

- A login creates a ``LoginSession`` row; the cookie carries only its random
  token. Logging out revokes the row, so a copied cookie stops working.
- Failed logins are counted in the database, per username and per address,
  so the limit holds across every web worker.
- The API also accepts ``Authorization: Bearer <token>`` issued by
  ``daiban token create USERNAME`` (only the SHA-256 is stored).
- A user with a second factor logs in in two steps: the password leaves only a
  short-lived mark in the signed cookie (``SECOND_STEP``), the code opens the
  session. A user who must have a factor and has none gets a session marked
  ``must_enrol``, which reaches nothing but the enrolment page.
- A session unused for ``IDLE_MINUTES_STAFF`` (enterprises:
  ``IDLE_MINUTES_ENTERPRISE``) ends: its row remembers the last request, to
  the minute.
- Logins, failures, logouts, idle ends and lockouts go to the security log
  (``workflow.accounts.security_log``).
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta

from flask import Flask, abort, current_app, g, jsonify, redirect, request, session, url_for
from flask_login import UserMixin, current_user, login_user, logout_user
from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import joinedload

from web.support.db import db
from web.support.extensions import csrf, login_manager
from workflow.accounts import security_log, twofactor
from workflow.accounts.lockout import Limit
from workflow.accounts.security_log import Client
from workflow.accounts.tokens import token_hash
from workflow.kernel.db import is_postgres
from workflow.kernel.moments import aware
from workflow.models import ApiToken, LoginAttempt, LoginSession, User


def now() -> datetime:
    """The request's time in UTC (injected in tests through ``CLOCK``). Always
    UTC: SQLite keeps a timestamp's wall time and drops its offset."""
    return current_app.config["CLOCK"]().astimezone(UTC)


class SessionUser(UserMixin):
    """What Flask-Login keeps for a request: the engine's ``User`` row."""

    def __init__(self, user: User, via_token: bool = False,
                 login: LoginSession | None = None) -> None:
        self.user = user
        self.id = str(user.id)
        self.via_token = via_token
        self.login = login  # the session row (None for a bearer token)

    @property
    def must_enrol(self) -> bool:
        return self.login is not None and self.login.must_enrol


def client() -> Client:
    """The request's address and browser, for the security log."""
    return Client(request.remote_addr or "?", request.headers.get("User-Agent", "")[:300])


def policy() -> twofactor.Policy:
    cfg = current_app.config
    return twofactor.Policy(enforced=bool(cfg["TOTP_REQUIRED"]),
                            agents=bool(cfg["TOTP_REQUIRED_FOR_AGENTS"]))


def keys() -> twofactor.Keys:
    """The keys sealing second factors, derived from the app's secret key."""
    found = current_app.extensions.get("daiban_totp_keys")
    if found is None:
        found = current_app.extensions["daiban_totp_keys"] = twofactor.Keys(
            current_app.config["SECRET_KEY"])
    return found


def limit() -> Limit:
    cfg = current_app.config
    return Limit(failures=cfg["LOGIN_FAILURES_PER_USER"],
                 window=timedelta(minutes=cfg["LOGIN_WINDOW_MINUTES"]))


def log(kind: str, *, user: User | None = None, username: str | None = None,
        detail: str = "") -> None:
    """One event of the security log, from this request, in its transaction."""
    security_log.record(db(), kind, now=now(), user=user, username=username, client=client(),
                        detail=detail)


class TooManyAttempts(Exception):
    pass


# The first keys of the login's advisory locks (the second is the hash of the
# username, of the address).
LOGIN_LOCK = 0x6C6F67  # "log"
LOGIN_IP_LOCK = 0x6970  # "ip"


def check_login_allowed(username: str, ip: str) -> None:
    """Refuse a login past the limits of failures per username and per address.

    Counting and the attempt it admits are one step: on PostgreSQL the check
    takes transaction-level advisory locks on the username and on the
    address, held until the request commits its attempt (``record_attempt``)
    or rolls back, so that simultaneous wrong passwords over several workers
    are evaluated one after the other and never more than either limit (24 at
    once were evaluated 8 times against a limit of 5). The username's lock is
    always taken first, so two logins never wait for each other in a circle.
    An address's logins therefore queue behind one another for the time of a
    password check (about 25 ms of argon2id): an office behind one address
    logs in some 40 people a second. SQLite's ``BEGIN IMMEDIATE`` serialises
    them already."""
    session = db()
    if is_postgres(session):
        session.execute(select(func.pg_advisory_xact_lock(LOGIN_LOCK, func.hashtext(username))))
        session.execute(select(func.pg_advisory_xact_lock(LOGIN_IP_LOCK, func.hashtext(ip))))
    cfg = current_app.config
    since = now() - timedelta(minutes=cfg["LOGIN_WINDOW_MINUTES"])
    failures = select(func.count(LoginAttempt.id)).where(
        LoginAttempt.success.is_(False), LoginAttempt.at >= since)
    by_user = session.scalar(failures.where(LoginAttempt.username == username))
    by_ip = session.scalar(failures.where(LoginAttempt.ip == ip))
    if by_user >= cfg["LOGIN_FAILURES_PER_USER"] or by_ip >= cfg["LOGIN_FAILURES_PER_IP"]:
        raise TooManyAttempts()


def record_attempt(username: str, ip: str, success: bool) -> None:
    db().add(LoginAttempt(username=username[:80], ip=ip[:64], at=now(), success=success))


def _fresh_cookie() -> None:
    """Empty the signed cookie but for the chosen language (no fixation)."""
    lang = session.get("lang")
    session.clear()
    if lang:
        session["lang"] = lang


def _revoke_cookie_session() -> None:
    """End the server-side session the cookie names, if any."""
    token = session.get("sid")
    if token:
        row = db().scalar(select(LoginSession).where(LoginSession.token_hash == token_hash(token)))
        if row is not None and row.revoked_at is None:
            row.revoked_at = now()


def start_session(user: User, *, must_enrol: bool = False) -> None:
    """Log ``user`` in with a fresh server-side session (no fixation): the
    session the cookie named before (a login over an open session, the
    password-only session of an enrolment) ends, and a new row and token
    replace it; the caller commits."""
    _revoke_cookie_session()
    token = secrets.token_urlsafe(32)
    lifetime = current_app.config["PERMANENT_SESSION_LIFETIME"]
    db().add(LoginSession(token_hash=token_hash(token), user_id=user.id, created_at=now(),
                          expires_at=now() + lifetime, last_seen_at=now(), must_enrol=must_enrol))
    _fresh_cookie()
    session["sid"] = token
    session.permanent = True
    login_user(SessionUser(user))


def end_session() -> None:
    _revoke_cookie_session()
    logout_user()
    _fresh_cookie()


SECOND_STEP = "second_step"  # the cookie's mark: the password was right, the code is due


def begin_second_step(user: User) -> None:
    """The password was right and ``user`` has a factor: remember who, for a
    few minutes, in the signed cookie (no session yet; one the cookie had
    before ends)."""
    _revoke_cookie_session()
    _fresh_cookie()
    until = now() + timedelta(minutes=current_app.config["SECOND_STEP_MINUTES"])
    session[SECOND_STEP] = {"user": user.id, "until": until.timestamp()}


def second_step_user() -> User | None:
    """The user whose code is due, while the mark is fresh."""
    mark = session.get(SECOND_STEP)
    if not isinstance(mark, dict) or mark.get("until", 0) <= now().timestamp():
        return None
    user = db().get(User, mark.get("user"))
    return user if user is not None and user.active else None


def end_second_step() -> None:
    session.pop(SECOND_STEP, None)


# The login session, its user and the user's groups in one statement: every
# request needs all three (permissions, the navigation's counts).
_SESSION_USER = (select(LoginSession)
                 .options(joinedload(LoginSession.user).joinedload(User.memberships)))


def bearer_header(req=None) -> str | None:
    """The token of an ``Authorization: Bearer …`` header, or None."""
    header = (req or request).headers.get("Authorization", "")
    return header[7:].strip() if header.startswith("Bearer ") else None


@login_manager.user_loader
def _load_user(user_id: str) -> SessionUser | None:
    token = session.get("sid")
    if bearer_header() is not None:
        # A request that names a token is that token's or nobody's: never the
        # cookie's (a bogus bearer must not ride on the session, past CSRF).
        return None
    if not token or not user_id.isdigit():
        return None
    row = db().execute(_SESSION_USER.where(LoginSession.token_hash == token_hash(token))
                       ).unique().scalar_one_or_none()
    if (row is None or row.revoked_at is not None or row.user_id != int(user_id)
            or aware(row.expires_at) <= now()):
        return None
    if not row.user.active:
        return None
    if _idle(row):
        return None
    return SessionUser(row.user, login=row)


SEEN_EVERY = timedelta(minutes=1)


def _idle(row: LoginSession) -> bool:
    """End ``row`` when it has been idle too long (and say so); else note the
    request, at most once a minute. Either commits at once, before the
    request's own work, as ``_touch`` does for tokens."""
    cfg = current_app.config
    minutes = cfg["IDLE_MINUTES_ENTERPRISE" if row.user.role == "enterprise" else "IDLE_MINUTES_STAFF"]
    at = now()
    seen = aware(row.last_seen_at or row.created_at)
    if minutes is not None and seen + timedelta(minutes=minutes) <= at:
        row.revoked_at = at
        security_log.record(db(), "session_idle", now=at, user=row.user, client=client(),
                            detail=f"idle since {seen.isoformat()}")
        db().commit()
        return True
    if seen <= at - SEEN_EVERY:
        db().execute(update(LoginSession).where(LoginSession.id == row.id)
                     .values(last_seen_at=at).execution_options(synchronize_session=False))
        db().commit()
        row.last_seen_at = at
    return False


@login_manager.request_loader
def _load_user_from_token(req) -> SessionUser | None:
    bearer = bearer_header(req)
    if bearer is None or not req.path.startswith("/api/"):
        return None
    row = db().scalar(select(ApiToken).where(ApiToken.token_hash == token_hash(bearer)))
    if row is None or row.revoked_at is not None or not row.user.active:
        return None
    _touch(row)
    return SessionUser(row.user, via_token=True)


TOKEN_TOUCH_EVERY = timedelta(minutes=1)
ENROL_OPEN = {"auth.two_factor", "auth.logout", "auth.set_language", "auth.login",
              "auth.login_code", "static"}
MAX_FLASHES = 5
# Pages that carry a project's, an enterprise's or the zone's particulars: never
# kept by a browser or proxy cache, whatever their status. The one place for it.
NO_STORE = ("/api/", "/tasks/", "/projects/", "/portal", "/admin", "/lookup", "/documents/",
            "/commitments/", "/gaps/", "/rectifications/", "/land/", "/supervision", "/account/")


def _signed_in() -> bool:
    """Whether the response is for a signed-in user: every such page is
    no-store (an inbox, a desk, notifications …), not only NO_STORE's. Asks
    the login cookie and the user already loaded, never the database (a
    static file's response would otherwise load the user)."""
    if request.endpoint == "static":  # the app's own CSS and scripts: no one's particulars
        return False
    loaded = g.get("_login_user")
    return bool(session.get("sid")) or (loaded is not None and loaded.is_authenticated)


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


# Posts a mail client sends by itself, authenticated by the secret in their URL
# and riding on no session: the one-click unsubscribe of digests (RFC 8058).
CSRF_EXEMPT = frozenset({"account.unsubscribe"})


def init_app(app: Flask) -> None:
    @app.before_request
    def _csrf_unless_bearer():
        # A call the bearer token authenticated needs no CSRF token (a browser
        # never sends it by itself); everything else (forms and cookie-
        # authenticated API calls) does. A bearer header that authenticates
        # nobody is a 401: the cookie never stands in for it (_load_user).
        if request.method in ("GET", "HEAD", "OPTIONS"):
            return None
        if request.path.startswith("/api/") and bearer_header() is not None:
            if current_user.is_authenticated and current_user.via_token:
                return None
            response = jsonify(error="unauthorized", message="The bearer token is not valid.")
            response.headers["WWW-Authenticate"] = 'Bearer realm="daiban", error="invalid_token"'
            return response, 401
        if request.path.startswith("/api/") and not current_user.is_authenticated:
            return None  # no session to ride on: the API answers its 401, not a CSRF 400
        if request.endpoint in CSRF_EXEMPT:
            return None
        csrf.protect()
        return None

    @app.before_request
    def _enrol_first():
        # A session opened by the password of someone who must have a second
        # factor reaches the enrolment page, logging out and the language only.
        if request.endpoint in ENROL_OPEN or not current_user.is_authenticated:
            return None
        if not current_user.must_enrol:
            return None
        if request.path.startswith("/api/"):
            abort(403)
        return redirect(url_for("auth.two_factor"))

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
        if request.path.startswith(NO_STORE) or _signed_in():
            response.headers["Cache-Control"] = "no-store"  # over send_file's no-cache too
        return response
