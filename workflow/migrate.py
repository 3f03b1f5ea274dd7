"""Schema migrations (Alembic) run from code, for ``daiban init`` and tests."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine

SCRIPTS = Path(__file__).parent / "migrations"


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(SCRIPTS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


@contextmanager
def _migration_connection(engine: Engine) -> Iterator[tuple[Config, Connection]]:
    """A connection for Alembic. On SQLite, batch migrations rebuild tables
    (copy, drop, rename), which foreign keys would refuse: they are switched
    off for the migration — outside its transaction, where SQLite honours the
    pragma — and the result is checked before they come back on."""
    config = alembic_config(engine.url.render_as_string(hide_password=False))
    sqlite = engine.dialect.name == "sqlite"
    with engine.connect() as connection:
        raw = connection.connection.driver_connection
        if sqlite:
            raw.execute("PRAGMA foreign_keys=OFF")
        try:
            with connection.begin():
                config.attributes["connection"] = connection
                yield config, connection
            if sqlite:
                broken = raw.execute("PRAGMA foreign_key_check").fetchall()
                if broken:
                    raise RuntimeError(f"migration left dangling foreign keys: {broken[:5]}")
        finally:
            if sqlite:
                raw.execute("PRAGMA foreign_keys=ON")


def include_object(dialect: str):
    """Alembic's ``include_object`` for a database of ``dialect``: an index the
    models declare for other databases only (``info["dialects"]``, e.g. the
    PostgreSQL trigram indexes) is not expected there."""
    def include(obj, name, type_, reflected, compare_to) -> bool:
        if type_ == "index":
            dialects = (obj.info if not reflected else (compare_to.info if compare_to is not None
                                                        else {})).get("dialects")
            return dialects is None or dialect in dialects
        return True
    return include


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Create or migrate the schema of ``engine``'s database to ``revision``."""
    with _migration_connection(engine) as (config, _connection):
        command.upgrade(config, revision)


def downgrade(engine: Engine, revision: str) -> None:
    with _migration_connection(engine) as (config, _connection):
        command.downgrade(config, revision)
