"""The named queries behind the lead handler's desk (领办台): the groups a lead
works for, their red items, the projects the lead leads, the group's agents and
the extension requests waiting for a decision."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import Select, select
from sqlalchemy.orm import Session, joinedload

from workflow.core import clocks, queries
from workflow.core.models import CLOSED_STATES, ExtensionRequest, ItemTask, Project
from workflow.core.unitofwork import definition_for
from workflow.kernel import paging
from workflow.kernel.models import (
    GroupMembership,
    IndustryGroup,
    User,
)

# -- queries: the lead handler's desk (领办台) -----------------------------------------------

def desk_groups(session: Session, user: User) -> list[IndustryGroup]:
    """The groups whose work a desk shows: a lead's own groups; every group for an admin."""
    query = select(IndustryGroup).order_by(IndustryGroup.id)
    if user.role != "admin":
        query = query.where(IndustryGroup.id.in_(
            select(GroupMembership.group_id).where(GroupMembership.user_id == user.id)))
    return list(session.scalars(query))


def desk_red_query(user: User, today: date) -> Select | list[Select]:
    """Tasks of the desk's groups past their due date (the nav badge counts
    them): a lead's groups one by one, every group for an admin."""
    if user.role == "admin":
        return select(ItemTask.id).where(queries.light_is("red", today)).order_by(ItemTask.due_on)
    return queries.group_counts(sorted(m.group_id for m in user.memberships),
                                queries.light_is("red", today))


def desk_red_count(session: Session, user: User, today: date) -> paging.Count:
    """How many tasks of the desk's groups are past their due date, counted up
    to ``paging.COUNT_CAP``."""
    return paging.count_upto(session, desk_red_query(user, today))


@dataclass(frozen=True)
class ProjectLine:
    """A project of the desk with its items' figures today."""

    project: Project
    figures: queries.ProjectFigures


def led_projects(session: Session, user: User, today: date, *, cursor: str | None = None,
                 limit: int | None = None) -> paging.Page[ProjectLine]:
    """A page of the projects a lead handler leads (an admin: every project):
    those with a red item first, then with a yellow one, then the rest, each
    by project code (``ix_project_lead_code``); with each project's figures."""
    query = select(Project).options(joinedload(Project.enterprise))
    if user.role != "admin":
        query = query.where(Project.lead_id == user.id)
    order = queries.project_light_order("led", today, paging.Key(Project.code, str),
                                        paging.Key(Project.id, int))
    page = paging.fetch(session, query, order, cursor=cursor, limit=limit)
    figures = queries.project_figures(session, [p.id for p in page.rows], today)
    page.rows = [ProjectLine(p, figures.get(p.id, queries.ProjectFigures())) for p in page.rows]
    return page


def group_agents(session: Session, group_ids: Sequence[int]) -> dict[int, list[User]]:
    """The active agents of each group (with their away flag and substitute)."""
    result: dict[int, list[User]] = {gid: [] for gid in group_ids}
    if not group_ids:
        return result
    rows = session.execute(
        select(GroupMembership.group_id, User)
        .join(User, User.id == GroupMembership.user_id)
        .where(GroupMembership.group_id.in_(list(group_ids)), User.role == "agent",
               User.active.is_(True))
        .options(joinedload(User.substitute))
        .order_by(User.display_name, User.username))
    for group_id, user in rows:
        result[group_id].append(user)
    return result


@dataclass(frozen=True)
class PendingExtension:
    request: ExtensionRequest
    task: ItemTask
    requested_by: User
    due_if_approved: date | None


def _pending(group_ids: Sequence[int]) -> Select:
    return (select(ExtensionRequest, ItemTask, User)
            .join(ItemTask, ItemTask.id == ExtensionRequest.task_id)
            .join(User, User.id == ExtensionRequest.requested_by_id)
            .where(ItemTask.group_id.in_(list(group_ids)), ExtensionRequest.decided_at.is_(None),
                   ItemTask.state.notin_(CLOSED_STATES)))


PENDING = paging.Order.by("extensions", paging.Key(ExtensionRequest.requested_at, datetime),
                          paging.Key(ExtensionRequest.id, int))


def pending_extensions(session: Session, group_ids: Sequence[int], *, cursor: str | None = None,
                       limit: int | None = None) -> paging.Page[PendingExtension]:
    """A page of the extension requests of the groups' tasks still waiting for
    a decision, oldest first (``ix_extension_request_pending``), with the due
    date an approval would give."""
    if not group_ids:
        return paging.Page(rows=[], limit=paging.check_limit(limit))
    page = paging.fetch(session, _pending(group_ids), PENDING, cursor=cursor, limit=limit,
                        options=(joinedload(ItemTask.project),), scalars=False)
    page.rows = [PendingExtension(row[0], row[1], row[2], _due_if_approved(row[1], row[0].days))
                 for row in page.rows]
    return page


def _due_if_approved(task: ItemTask, days: int) -> date | None:
    """The due date of the item's extension clock (the statutory one unless
    the definition names the service clock) with ``days`` more of its unit."""
    item = definition_for(task.project).items.get(task.item_code)
    return clocks.due_if_extended(task, item, days) if item is not None else None


def pending_query(group_ids: Sequence[int]) -> Select:
    """Extension requests of the groups waiting for a decision (for counting)."""
    return _pending(group_ids)
