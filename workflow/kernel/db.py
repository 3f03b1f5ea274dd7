"""Database engines and sessions.

SQLite is the embedded default for one process: WAL, foreign keys on, and
``BEGIN IMMEDIATE`` so that a write transaction takes its lock up front and a
lost race shows as a wait rather than a failed upgrade mid-transaction.
PostgreSQL is the production database shared by web workers and the
scheduler; there the engine relies on row locks and version columns.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

DEFAULT_INSTANCE = Path(os.environ.get("DAIBAN_INSTANCE", Path.cwd() / "instance"))


def default_url() -> str:
    """``DATABASE_URL`` if set, else a SQLite file in the instance folder."""
    url = os.environ.get("DATABASE_URL")
    if url:
        if url.startswith("postgres://"):  # Heroku-style spelling
            url = "postgresql://" + url[len("postgres://") :]
        if url.startswith("postgresql://"):
            url = "postgresql+psycopg://" + url[len("postgresql://") :]
        return url
    DEFAULT_INSTANCE.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{DEFAULT_INSTANCE / 'daiban.sqlite3'}"


def make_engine(url: str | None = None, **kwargs) -> Engine:
    url = url or default_url()
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30}, **kwargs)
        _configure_sqlite(engine)
        return engine
    # A connection the server or the network dropped (a restart, a failover,
    # pg_terminate_backend) is found by a ping at checkout and replaced, so
    # the request after an outage succeeds instead of failing on a dead
    # connection. The ping costs a round trip per transaction; operators who
    # would rather not pay it may turn it off (DAIBAN_DB_PRE_PING=0).
    kwargs.setdefault("pool_pre_ping", os.environ.get("DAIBAN_DB_PRE_PING", "1") != "0")
    kwargs.setdefault("pool_recycle", 1800)
    return create_engine(url, **kwargs)


def _configure_sqlite(engine: Engine) -> None:
    # pysqlite's own transaction handling defers BEGIN and cannot do IMMEDIATE;
    # take it over (the recipe from SQLAlchemy's SQLite dialect documentation).
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        if engine.url.database not in (None, "", ":memory:"):
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def make_session_factory(engine: Engine, **session_kw) -> sessionmaker[Session]:
    """Sessions on ``engine``; keyword arguments go to every session, e.g.
    ``info=notify.session_info(config.channels)`` so that the notifications
    they write also queue email and webhooks."""
    return sessionmaker(engine, expire_on_commit=False, **session_kw)


@contextmanager
def transaction(factory: sessionmaker[Session], **session_kw) -> Iterator[Session]:
    """One unit of work: commit on success, roll back on any error. Keyword
    arguments go to the session (e.g. ``info=notify.session_info(channels)``)."""
    session = factory(**session_kw)
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def is_postgres(session_or_engine) -> bool:
    bind = session_or_engine.get_bind() if isinstance(session_or_engine, Session) else session_or_engine
    return bind.dialect.name == "postgresql"


def dialect_insert(session: Session):
    """The ``insert`` of the session's database, which offers
    ``on_conflict_do_nothing`` (the claims that keep a job from acting twice)."""
    from sqlalchemy.dialects import postgresql, sqlite

    return postgresql.insert if is_postgres(session) else sqlite.insert
