"""The baselines: the same work written by hand in SQL on the raw DBAPI
connection (psycopg 3 or sqlite3), no ORM and no SQLAlchemy in between.

Each baseline does what the engine does, minus the engine's machinery:

- ``claim``: one transaction that locks the project row (reading the audit
  head and the task's version in the same statement), moves the task from
  ready to assigned under its version, appends the audit event with the same
  sha256 chain hash as ``workflow.core.audit`` and advances the project's head.
  ``workflow.core.audit.verify`` checks the chain afterwards, so an event written
  here is indistinguishable from the engine's.
- ``inbox``: one statement (PostgreSQL: the queue per group through a LATERAL
  join; SQLite: one UNION ALL branch per group) returning the same 50 rows
  with the same columns as ``workflow.core.queries.inbox`` loads (task + project).
- ``overdue``: the sweep's SELECT with the state list inlined, so that even a
  generic (prepared) plan can use a partial index.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, date, datetime

from sqlalchemy import Engine

from workflow.models import CLOCK_STATES, INBOX_STATES, ItemTask, Project

GENESIS = "0" * 64


def _in_list(states: tuple[str, ...]) -> str:
    return ", ".join(f"'{s}'" for s in states)


# Every column the engine's ORM loads (the models may grow columns).
TASK_SELECT = ", ".join(f"t.{c.name}" for c in ItemTask.__table__.columns)
PROJECT_SELECT = ", ".join(f"p.{c.name}" for c in Project.__table__.columns)

# The ideal index of the overdue sweep: (due_on, id) so that the ORDER BY needs
# no sort. Its predicate carries ``version > 0`` (true of every row, versions
# start at 1) which the baseline's query repeats and the engine's does not, so
# the engine keeps running on the indexes it declares itself.
IDEAL_INDEXES = (
    f"CREATE INDEX bench_ideal_clock_due_id ON item_task (due_on, id) "
    f"WHERE state IN ({_in_list(CLOCK_STATES)}) AND version > 0",
)


class Conflict(Exception):
    pass


def audit_hash(*, project_id: int, seq: int, at: datetime, actor_id: int | None, action: str,
               task_id: int | None, from_state: str | None, to_state: str | None, data: dict,
               public: bool, prev_hash: str) -> str:
    """Same body and encoding as ``workflow.core.audit.event_hash``."""
    at_text = at.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="microseconds")
    body = {"project": project_id, "seq": seq, "at": at_text, "actor": actor_id, "action": action,
            "task": task_id, "from": from_state, "to": to_state, "data": data,
            "public": bool(public), "prev": prev_hash}
    raw = json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(raw.encode()).hexdigest()


class HandWritten:
    """Hand-written SQL on one raw connection held for the whole run."""

    def __init__(self, engine: Engine) -> None:
        self.kind = engine.dialect.name
        self._proxy = engine.raw_connection()
        self.conn = self._proxy.driver_connection
        self.pg = self.kind == "postgresql"
        if not self.pg:
            self.conn.isolation_level = None  # explicit BEGIN IMMEDIATE / COMMIT, like the engine

    def close(self) -> None:
        self._proxy.close()

    def _sql(self, pg_sql: str) -> str:
        return pg_sql if self.pg else pg_sql.replace("%s", "?")

    def create_ideal_indexes(self) -> None:
        cur = self.conn.cursor()
        for ddl in IDEAL_INDEXES:
            cur.execute(ddl)
        if self.pg:
            cur.execute("ANALYZE item_task")
            self.conn.commit()
        else:
            cur.execute("ANALYZE item_task")

    # -- (1) a transition --------------------------------------------------------------

    def claim(self, task_id: int, actor_id: int, actor_username: str, actor_groups: frozenset[int],
              now: datetime) -> None:
        """Claim a ready task for ``actor`` in one transaction, with its audit event."""
        conn = self.conn
        cur = conn.cursor()
        if not self.pg:
            cur.execute("BEGIN IMMEDIATE")
        try:
            cur.execute(self._sql(
                "SELECT p.id, p.audit_seq, p.audit_head, p.version, t.version, t.state, t.item_code,"
                " t.group_id FROM item_task t JOIN project p ON p.id = t.project_id WHERE t.id = %s"
                + (" FOR UPDATE OF p" if self.pg else "")), (task_id,))
            row = cur.fetchone()
            if row is None:
                raise Conflict(f"task {task_id} does not exist")
            project_id, seq, head, project_version, version, state, item_code, group_id = row
            if group_id not in actor_groups:
                raise Conflict(f"{actor_username} may not claim task {task_id}")
            at = now.astimezone(UTC)
            stamp = at if self.pg else at.replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")
            cur.execute(self._sql(
                "UPDATE item_task SET state = 'assigned', assignee_id = %s, updated_at = %s,"
                " version = version + 1 WHERE id = %s AND version = %s AND state = 'ready'"),
                (actor_id, stamp, task_id, version))
            if cur.rowcount != 1:
                raise Conflict(f"task {task_id} is {state}, not ready, or changed meanwhile")
            data = {"item": item_code, "assignee": actor_username}
            prev = head or GENESIS
            digest = audit_hash(project_id=project_id, seq=seq + 1, at=at, actor_id=actor_id,
                                action="task.claim", task_id=task_id, from_state="ready",
                                to_state="assigned", data=data, public=False, prev_hash=prev)
            cur.execute(self._sql(
                "INSERT INTO audit_event (project_id, seq, at, actor_id, action, task_id, from_state,"
                " to_state, data, public, prev_hash, hash) VALUES (%s, %s, %s, %s, 'task.claim', %s,"
                " 'ready', 'assigned', %s, %s, %s, %s)"),
                (project_id, seq + 1, stamp, actor_id, task_id, json.dumps(data),
                 False if self.pg else 0, prev, digest))
            cur.execute(self._sql(
                "UPDATE project SET audit_seq = %s, audit_head = %s, version = version + 1"
                " WHERE id = %s AND version = %s"), (seq + 1, digest, project_id, project_version))
            if cur.rowcount != 1:
                raise Conflict(f"project {project_id} changed meanwhile")
        except BaseException:
            if self.pg:
                conn.rollback()
            else:
                cur.execute("ROLLBACK")
            raise
        if self.pg:
            conn.commit()
        else:
            cur.execute("COMMIT")

    # -- (2) the inbox -------------------------------------------------------------------

    _PG_INBOX = (
        "WITH picked AS ("
        " (SELECT id, due_on FROM item_task"
        f"  WHERE assignee_id = %(user)s AND state IN ({_in_list(INBOX_STATES)})"
        "  ORDER BY due_on, id LIMIT %(limit)s)"
        " UNION ALL"
        " (SELECT q.id, q.due_on FROM group_membership m CROSS JOIN LATERAL"
        "  (SELECT id, due_on FROM item_task WHERE group_id = m.group_id AND state = 'ready'"
        "   ORDER BY due_on, id LIMIT %(limit)s) q"
        "  WHERE m.user_id = %(user)s)"
        " ORDER BY due_on, id LIMIT %(limit)s)"
        f" SELECT {TASK_SELECT}, {PROJECT_SELECT} FROM picked"
        " JOIN item_task t ON t.id = picked.id JOIN project p ON p.id = t.project_id"
        " ORDER BY picked.due_on, picked.id"
    )

    def inbox(self, user_id: int, limit: int = 50) -> list[tuple]:
        """The agent's first ``limit`` tasks (own open work + their groups' queue) by due date."""
        cur = self.conn.cursor()
        if self.pg:
            cur.execute(self._PG_INBOX, {"user": user_id, "limit": limit})
            rows = cur.fetchall()
            self.conn.rollback()  # end the read transaction, as the engine's session does
            return rows
        cur.execute("SELECT group_id FROM group_membership WHERE user_id = ?", (user_id,))
        groups = [g for (g,) in cur.fetchall()]
        branches = [
            "SELECT id, due_on FROM (SELECT id, due_on FROM item_task WHERE assignee_id = ?"
            f" AND state IN ({_in_list(INBOX_STATES)}) ORDER BY due_on, id LIMIT ?)"]
        params: list = [user_id, limit]
        for group_id in groups:
            branches.append("SELECT id, due_on FROM (SELECT id, due_on FROM item_task"
                            " WHERE group_id = ? AND state = 'ready' ORDER BY due_on, id LIMIT ?)")
            params += [group_id, limit]
        sql = (f"WITH picked AS ({' UNION ALL '.join(branches)} ORDER BY due_on, id LIMIT ?)"
               f" SELECT {TASK_SELECT}, {PROJECT_SELECT} FROM picked"
               " JOIN item_task t ON t.id = picked.id JOIN project p ON p.id = t.project_id"
               " ORDER BY picked.due_on, picked.id")
        cur.execute(sql, (*params, limit))
        return cur.fetchall()

    # -- (3) the overdue sweep ------------------------------------------------------------

    def overdue(self, today: date) -> list[tuple]:
        """Every task whose clock runs and whose due date is before ``today``, by due date."""
        cur = self.conn.cursor()
        cur.execute(self._sql(
            f"SELECT {TASK_SELECT} FROM item_task t WHERE t.state IN ({_in_list(CLOCK_STATES)})"
            " AND t.due_on < %s AND t.version > 0 ORDER BY t.due_on, t.id"),
            (today if self.pg else today.isoformat(),))
        rows = cur.fetchall()
        if self.pg:
            self.conn.rollback()
        return rows

    # statements for EXPLAIN
    def inbox_statement(self, user_id: int, limit: int = 50) -> tuple[str, object]:
        return self._PG_INBOX, {"user": user_id, "limit": limit}

    def overdue_statement(self, today: date) -> tuple[str, object]:
        return self._sql(
            f"SELECT {TASK_SELECT} FROM item_task t WHERE t.state IN ({_in_list(CLOCK_STATES)})"
            " AND t.due_on < %s AND t.version > 0 ORDER BY t.due_on, t.id"
        ), (today if self.pg else today.isoformat(),)
