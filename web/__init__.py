"""Daiban's web application (Flask app factory).

Configuration comes from defaults, then ``instance/config.py``, then the
``test_config`` mapping. One SQLAlchemy session per request; a view that
changes something calls one engine operation and commits once; side effects
(mail, webhooks) leave later from the outbox. Everything is served by the app
itself (no CDN).
"""

from __future__ import annotations

import base64
import os
import secrets
from datetime import UTC, datetime, timedelta
from pathlib import Path

from flask import Flask, g, request, session

from web.support.extensions import LANGUAGES, babel, csrf, login_manager
from workflow import zone  # noqa: F401 - plugs the reform areas into the core
from workflow.core import notify
from workflow.kernel import clock, outbox
from workflow.kernel.config import Config
from workflow.kernel.db import default_url, make_engine, make_session_factory


def _utc_now() -> datetime:
    return datetime.now(UTC)


def create_app(test_config: dict | None = None) -> Flask:
    instance = Path(os.environ.get("DAIBAN_INSTANCE", Path.cwd() / "instance")).resolve()
    app = Flask(__name__, instance_path=str(instance), instance_relative_config=True)
    app.config.from_mapping(
        SECRET_KEY=os.environ.get("SECRET_KEY"),
        DATABASE_URL=None,
        DEMO=os.environ.get("DAIBAN_DEMO") == "1",
        CLOCK=_utc_now,  # tests inject a fixed clock
        MAX_CONTENT_LENGTH=20 * 1024 * 1024,
        UPLOAD_FOLDER=str(instance / "uploads"),
        SESSION_COOKIE_NAME="daiban_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=os.environ.get("DAIBAN_INSECURE_COOKIES") != "1",
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SAMESITE="Lax",
        REMEMBER_COOKIE_SECURE=os.environ.get("DAIBAN_INSECURE_COOKIES") != "1",
        PERMANENT_SESSION_LIFETIME=timedelta(hours=8),
        LOGIN_FAILURES_PER_USER=5,
        LOGIN_FAILURES_PER_IP=20,
        LOGIN_WINDOW_MINUTES=15,
        # Second factors (workflow.accounts.twofactor): admins, supervisors and
        # lead handlers must enrol one; agents too when TOTP_REQUIRED_FOR_AGENTS
        # (the zone's choice, made by its deployment). None: required except in
        # the demo. The tests' fixtures switch it off and its own tests on.
        TOTP_REQUIRED=_flag("DAIBAN_REQUIRE_TOTP"),
        TOTP_REQUIRED_FOR_AGENTS=_flag("DAIBAN_TOTP_AGENTS") or False,
        SECOND_STEP_MINUTES=5,  # between the password and the code
        # A session with no request for this long ends (None: only the lifetime).
        IDLE_MINUTES_STAFF=_minutes("DAIBAN_IDLE_MINUTES", 30),
        IDLE_MINUTES_ENTERPRISE=_minutes("DAIBAN_IDLE_MINUTES_ENTERPRISE", 120),
        WTF_CSRF_TIME_LIMIT=None,
        WTF_CSRF_CHECK_DEFAULT=False,  # web.support.security checks it, except for bearer API calls
        BABEL_DEFAULT_LOCALE="zh_CN",
        BABEL_DEFAULT_TIMEZONE="Asia/Shanghai",
        BABEL_TRANSLATION_DIRECTORIES=str(Path(__file__).parent / "translations"),
    )
    app.config.from_pyfile("config.py", silent=True)
    if test_config:
        app.config.update(test_config)
    if app.config["DEMO"]:
        # The local demo is served over plain http on localhost.
        app.config["SESSION_COOKIE_SECURE"] = app.config["REMEMBER_COOKIE_SECURE"] = False
    if app.config["TOTP_REQUIRED"] is None:
        app.config["TOTP_REQUIRED"] = not app.config["DEMO"]
    if not app.config["SECRET_KEY"]:
        app.config["SECRET_KEY"] = _instance_secret(app)

    engine = make_engine(app.config["DATABASE_URL"] or default_url())
    app.extensions["daiban_engine"] = engine
    # Notifications written during a request also go out by mail / webhook
    # when those channels are configured (DAIBAN_SMTP_*, DAIBAN_WEBHOOK_URL).
    settings = Config.from_env()
    channels = app.config.get("CHANNELS") or settings.channels
    # The deliveries page names the webhook and the end of its secret, never all of it.
    app.config.setdefault("WEBHOOK_URL", settings.webhook_url)
    app.config.setdefault("WEBHOOK_SECRET_HINT", outbox.secret_hint(settings.webhook_secret))
    app.extensions["daiban_sessions"] = make_session_factory(
        engine, info=notify.session_info(channels))

    app.json.ensure_ascii = False  # the API speaks Chinese: send it as UTF-8, not \u escapes
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = None
    csrf.init_app(app)
    babel.init_app(app, locale_selector=_select_locale)

    from web.support import errors, inputs, labels, nav, paging, security

    # <int:…> in every route is a row id within INTEGER's range: a larger
    # number matches no route (404) instead of reaching the database.
    app.url_map.converters["int"] = inputs.RowId
    inputs.init_app(app)

    labels.init_app(app)  # after Babel: its catalogue binding and template gettext
    security.init_app(app)
    errors.init_app(app)
    nav.init_app(app)
    paging.init_app(app)
    _register_blueprints(app)
    _register_template_helpers(app)

    @app.before_request
    def _holiday_files():
        # A holiday file an admin drops in counts without a restart (a few stat calls a minute).
        clock.refresh(at_most_every=60)

    @app.teardown_appcontext
    def _close_session(_exc):
        db_session = g.pop("db", None)
        if db_session is not None:
            db_session.rollback()
            db_session.close()

    return app


def _register_blueprints(app: Flask) -> None:
    from web.views import (
        account,
        admin,
        api,
        auth,
        baolian,
        cases,
        chemicals,
        commitments,
        desk,
        documents,
        fees,
        gantt,
        inbox,
        intentions,
        land,
        lists,
        notices,
        notifications,
        portal,
        requests,
        supervision,
        workload,
    )

    for module in (auth, inbox, cases, desk, portal, supervision, admin, api, notifications,
                   commitments, land, intentions, chemicals, documents, notices, account,
                   lists, requests, baolian, fees, gantt,
                   workload):
        app.register_blueprint(module.bp)


def _register_template_helpers(app: Flask) -> None:
    from web.support import labels, present

    app.jinja_env.globals.update(labels=labels, languages=LANGUAGES)
    app.jinja_env.filters["zone_time"] = present.zone_time
    # The icon travels inside every page (a data: URI, allowed by the CSP's
    # img-src): no request of its own, so no conditional 304 of a static file
    # whose handle the server would leave open.
    icon = (Path(__file__).parent / "static" / "favicon.svg").read_bytes()
    app.jinja_env.globals["favicon_uri"] = (
        "data:image/svg+xml;base64," + base64.b64encode(icon).decode("ascii"))
    app.jinja_env.filters["item_name"] = present.item_name
    app.jinja_env.filters["state_label"] = labels.state_label
    app.jinja_env.filters["stage_label"] = labels.stage_label


def _flag(name: str) -> bool | None:
    """An on/off environment setting: ``1`` or ``0``; ``None`` when unset."""
    value = os.environ.get(name)
    return None if value is None else value.strip() not in ("0", "", "false", "no", "off")


def _minutes(name: str, default: int | None) -> int | None:
    """Minutes from the environment; ``0`` or ``none`` is no limit."""
    value = (os.environ.get(name) or "").strip().lower()
    if not value:
        return default
    return None if value in ("0", "none") else int(value)


def _select_locale() -> str:
    """Chinese unless the user chose English (the zone's working language is
    Chinese; a browser set to English must not switch the staff's pages)."""
    chosen = session.get("lang") or request.cookies.get("lang")
    return chosen if chosen in LANGUAGES else "zh_CN"


def _instance_secret(app: Flask) -> str:
    """A per-instance secret kept in the instance folder (never in the repo)."""
    path = Path(app.instance_path) / "secret_key"
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    path.write_text(key)
    path.chmod(0o600)
    return key
