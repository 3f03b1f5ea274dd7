"""A lean flush for the engine's commonest unit of work.

Most task operations change a few columns of one task and its project and
append one audit event. The ORM's unit of work handles that correctly but
spends about 2 ms of Python on dependency sorting over every mapper; the
benchmark (bench/README.md) showed it as most of the engine's overhead over
hand-written SQL. When the pending changes are exactly of that shape —
updates of versioned ``ItemTask``/``Project`` rows and inserts of
``AuditEvent`` rows, nothing deleted, nothing else new — this module writes
them with Core statements and marks the objects clean, keeping the ORM's
guarantees: the version column is checked and bumped (a lost race raises
``StaleDataError`` exactly like the ORM), and the objects' state afterwards is
what a flush would leave. Anything else goes through ``Session.flush``.
"""

from __future__ import annotations

from functools import lru_cache

from sqlalchemy import Table, bindparam, func, insert, inspect, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from workflow.core.models import AuditEvent, ItemTask, Project

UPDATABLE = (ItemTask, Project)


def can_fast_flush(session: Session) -> bool:
    if session.deleted:
        return False
    if any(type(obj) is not AuditEvent for obj in session.new):
        return False
    return all(type(obj) in UPDATABLE for obj in session.dirty)


def fast_flush(session: Session) -> None:
    """Write the pending updates and audit inserts; see the module docstring."""
    connection = session.connection()
    dirty = sorted(session.dirty, key=lambda o: (type(o) is ItemTask, o.id))
    new = sorted(session.new, key=lambda e: e.seq)
    if (connection.dialect.name == "postgresql" and len(new) == 1 and len(dirty) == 2
            and {type(o) for o in dirty} == {ItemTask, Project}):
        _write_one_step(session, connection, dirty, new[0])
        return
    for obj in dirty:
        _update(session, connection, obj)
    for event in new:
        _insert(session, connection, event)


def _changes(state) -> dict:
    """The column values set on the object since it was loaded or flushed."""
    changes = {}
    # Only attributes set since the last flush carry an original value.
    for key in state.committed_state:
        if key == "version" or key not in state.mapper.column_attrs:
            continue
        history = state.attrs[key].history
        if history.has_changes():
            changes[key] = history.added[0] if history.added else None
    return changes


def _update(session: Session, connection, obj) -> None:
    state = inspect(obj)
    mapper = state.mapper
    changes = _changes(state)
    if not changes:
        state._commit_all(state.dict, session.identity_map)  # noqa: SLF001 - as a flush would
        return
    old = state.committed_state.get("version", obj.version)
    new = old + 1
    statement = _update_statement(mapper.local_table, tuple(sorted(changes)))
    result = connection.execute(statement, {**changes, "_id": obj.id, "_old": old, "_new": new})
    if result.rowcount != 1:
        raise StaleDataError(f"UPDATE of {mapper.local_table.name} {obj.id} expected version "
                             f"{old}; the row changed")
    state.dict["version"] = new
    state._commit_all(state.dict, session.identity_map)  # noqa: SLF001


@lru_cache(maxsize=256)
def _update_statement(table: Table, columns: tuple[str, ...]):
    """UPDATE ... SET <columns>, version = :_new WHERE id = :_id AND version = :_old,
    built once per table and set of changed columns."""
    return (update(table)
            .where(table.c.id == bindparam("_id"), table.c.version == bindparam("_old"))
            .values({**{c: bindparam(c) for c in columns}, "version": bindparam("_new")}))


_AUDIT = AuditEvent.__table__
_AUDIT_COLUMNS = tuple(c.key for c in _AUDIT.columns if c.key != "id")
_INSERT_AUDIT = insert(_AUDIT).returning(_AUDIT.c.id)


def _insert(session: Session, connection, event: AuditEvent) -> None:
    values = {key: getattr(event, key) for key in _AUDIT_COLUMNS}
    event.id = connection.execute(_INSERT_AUDIT, values).scalar_one()
    # The event is written: the session need not track it any further.
    session.expunge(event)


# -- PostgreSQL: the task update, the project update and the audit insert in
# -- one statement (one round trip instead of three) ------------------------------------

def _write_one_step(session: Session, connection, dirty: list, event: AuditEvent) -> None:
    project, task = dirty  # sorted: the project first
    p_state, t_state = inspect(project), inspect(task)
    p_changes, t_changes = _changes(p_state), _changes(t_state)
    if not p_changes or not t_changes:
        for obj in dirty:
            _update(session, connection, obj)
        _insert(session, connection, event)
        return
    p_old = p_state.committed_state.get("version", project.version)
    t_old = t_state.committed_state.get("version", task.version)
    params = {f"p_{k}": v for k, v in p_changes.items()}
    params |= {f"t_{k}": v for k, v in t_changes.items()}
    params |= {f"a_{k}": getattr(event, k) for k in _AUDIT_COLUMNS}
    params |= {"p_id": project.id, "p_old": p_old, "p_new": p_old + 1,
               "t_id": task.id, "t_old": t_old, "t_new": t_old + 1}
    statement = _one_step_statement(tuple(sorted(p_changes)), tuple(sorted(t_changes)))
    event_id, tasks_updated, projects_updated = connection.execute(statement, params).one()
    if tasks_updated != 1 or projects_updated != 1:
        raise StaleDataError(f"task {task.id} or project {project.id} changed meanwhile")
    for state, new in ((p_state, p_old + 1), (t_state, t_old + 1)):
        state.dict["version"] = new
        state._commit_all(state.dict, session.identity_map)  # noqa: SLF001
    event.id = event_id
    session.expunge(event)


def _versioned_update(table: Table, columns: tuple[str, ...], prefix: str):
    return (update(table)
            .where(table.c.id == bindparam(f"{prefix}_id"),
                   table.c.version == bindparam(f"{prefix}_old"))
            .values({**{c: bindparam(f"{prefix}_{c}", type_=table.c[c].type) for c in columns},
                     "version": bindparam(f"{prefix}_new")})
            .returning(table.c.id))


@lru_cache(maxsize=256)
def _one_step_statement(project_columns: tuple[str, ...], task_columns: tuple[str, ...]):
    """WITH the two versioned UPDATEs as CTEs, INSERT the audit event and
    return its id with how many rows each UPDATE touched."""
    tasks = _versioned_update(ItemTask.__table__, task_columns, "t").cte("task_update")
    projects = _versioned_update(Project.__table__, project_columns, "p").cte("project_update")
    counted = (select(func.count()).select_from(tasks).scalar_subquery(),
               select(func.count()).select_from(projects).scalar_subquery())
    return (insert(_AUDIT)
            .values({k: bindparam(f"a_{k}", type_=_AUDIT.c[k].type) for k in _AUDIT_COLUMNS})
            .returning(_AUDIT.c.id, *counted)
            .add_cte(tasks).add_cte(projects))
