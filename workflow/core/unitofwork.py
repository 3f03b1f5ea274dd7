"""The unit of work every operation shares: the project's definition and item
machine, the project loaded under its row lock (``lock_project``), a task
loaded with its locked project and checked against the caller's version
(``load_task``), and the flush that turns a lost optimistic-lock race into a
``Conflict``."""

from __future__ import annotations

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session, object_session
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.exc import StaleDataError

from definitions import Definition
from workflow.core import fastflush
from workflow.core.machines import item_machine
from workflow.core.models import ItemTask, Project
from workflow.kernel.errors import Conflict, NotFound
from workflow.kernel.registry import definition_by_id, definition_of


def definition_for(project: Project) -> Definition:
    """The definition the project started under (cached per process)."""
    session = object_session(project)
    if session is None or project.definition_version_id is None:
        return definition_of(project.definition_version)
    return definition_by_id(session, project.definition_version_id)


def machine_for(project: Project):
    """The item machine of the project's definition version."""
    return item_machine(definition_for(project).version)


def lock_project(session: Session, project_id: int) -> Project:
    """Load the project with its row locked (``FOR UPDATE`` on PostgreSQL;
    SQLite's ``BEGIN IMMEDIATE`` already serialises writers), refreshed from
    the database. A project this session loaded earlier whose row someone else
    changed meanwhile is a lost race: a ``Conflict``, not a silent reload."""
    try:
        project = session.get(Project, project_id, with_for_update=True, populate_existing=True)
    except StaleDataError as exc:
        raise Conflict("Project {project} was changed by someone else since it was loaded; "
                       "reload and try again.", project=project_id) from exc
    if project is None:
        raise NotFound("Project {project} does not exist.", project=project_id)
    return project


# Built once: every task operation runs it.
_LOAD_TASK = (select(ItemTask, Project).join(Project, Project.id == ItemTask.project_id)
              .where(ItemTask.id == bindparam("task_id")).with_for_update(of=(Project, ItemTask))
              .execution_options(populate_existing=True))


# A caller may watch the tasks an operation loads, as they are before it
# changes them: ``session.info[TASK_LOADED] = callable(task)`` (the web checks
# that the user may see the task without loading it a second time).
TASK_LOADED = "daiban.task_loaded"


def load_task(session: Session, task_id: int, expected_version: int | None = None) -> ItemTask:
    """Lock the task's project and load the task with it, in one statement,
    and check the caller's version.

    The project row lock serialises every operation on the project and its
    tasks (each operation takes it first). The task row is locked in the same
    statement too: a caller that waited for the lock then reads the task as
    the winner left it (PostgreSQL re-reads only the locked rows of a waiting
    ``FOR UPDATE``), so its refusal says what changed (the version, the
    state, who holds the task now) and a check of the state (an assign of a
    task claimed meanwhile) sees the claim. A write that still loses fails
    the version check at the flush: a ``Conflict``, never an overwrite."""
    try:
        row = session.execute(_LOAD_TASK, {"task_id": task_id}).first()
    except StaleDataError as exc:
        raise Conflict("This task was changed by someone else since it was loaded; "
                       "reload and try again.", task=task_id) from exc
    if row is None:
        raise NotFound("Task {task} does not exist.", task=task_id)
    task, project = row
    # Keep the locked project as the task's project (no second load).
    set_committed_value(task, "project", project)
    observer = session.info.get(TASK_LOADED)
    if observer is not None:
        observer(task)
    if expected_version is not None and task.version != expected_version:
        if task.assignee is not None:
            raise Conflict(
                "Task {task} was changed by someone else (version {expected} → {actual}, now "
                "{state}, with {holder} ({assignee})); reload and try again.",
                task=task_id, expected=expected_version, actual=task.version, state=task.state,
                assignee=task.assignee.username, holder=task.assignee.display_name,
            )
        raise Conflict(
            "Task {task} was changed by someone else (version {expected} → {actual}, now "
            "{state}); reload and try again.",
            task=task_id, expected=expected_version, actual=task.version, state=task.state,
            assignee=None,
        )
    return task


def load_project_by_code(session: Session, code: str) -> Project:
    project = session.scalar(select(Project).where(Project.code == code))
    if project is None:
        raise NotFound("Project {code} does not exist.", code=code)
    return project


def flush(session: Session) -> None:
    """Flush (the lean path when the changes allow it, see ``workflow.core.fastflush``)
    and translate a lost optimistic-lock race into ``Conflict``."""
    try:
        if fastflush.can_fast_flush(session):
            fastflush.fast_flush(session)
        else:
            session.flush()
    except StaleDataError as exc:
        raise Conflict("Someone else changed this record at the same time; reload and try again.") from exc
