"""Daiban's web application (Flask app factory).

Configuration comes from defaults, then ``instance/config.py``, then the
environment (``DATABASE_URL``, ``SECRET_KEY``). One SQLAlchemy session per
request, committed once by the view that changes something.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from flask import Flask, g
from flask_login import LoginManager

from workflow.db import default_url, make_engine, make_session_factory

login_manager = LoginManager()


def create_app(test_config: dict | None = None) -> Flask:
    app = Flask(__name__, instance_path=str(Path(os.environ.get(
        "DAIBAN_INSTANCE", Path.cwd() / "instance")).resolve()), instance_relative_config=True)
    app.config.from_mapping(
        SECRET_KEY=os.environ.get("SECRET_KEY") or _instance_secret(app),
        DATABASE_URL=None,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=os.environ.get("DAIBAN_INSECURE_COOKIES") != "1",
        DEMO=os.environ.get("DAIBAN_DEMO") == "1",
    )
    app.config.from_pyfile("config.py", silent=True)
    if test_config:
        app.config.update(test_config)
    if app.config["DEMO"]:
        # The local demo is served over plain http on localhost.
        app.config["SESSION_COOKIE_SECURE"] = False

    engine = make_engine(app.config["DATABASE_URL"] or default_url())
    app.extensions["daiban_engine"] = engine
    app.extensions["daiban_sessions"] = make_session_factory(engine)

    login_manager.init_app(app)
    login_manager.login_view = "auth.login"

    from web import auth, home

    app.register_blueprint(auth.bp)
    app.register_blueprint(home.bp)

    @app.teardown_appcontext
    def _close_session(_exc):
        session = g.pop("db", None)
        if session is not None:
            session.rollback()
            session.close()

    return app


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
