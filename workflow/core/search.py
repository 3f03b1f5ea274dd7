"""One search across the projects a person may see: a fragment of the
project's code or name, or of its enterprise's name (case-insensitive).

On PostgreSQL each ``ILIKE '%…%'`` is served by a trigram index
(``ix_project_code_trgm``, ``ix_project_name_trgm``, ``ix_enterprise_name_trgm``);
SQLite scans. What the person may see is ``permissions.visible_projects``, the
rule every project list applies, as a condition of the same statement. The
answer is a keyset page by project code (``uq_project_code``)."""

from __future__ import annotations

from sqlalchemy import select, union
from sqlalchemy.orm import Session, contains_eager

from workflow.core import permissions
from workflow.core.models import Project
from workflow.kernel import paging, validate
from workflow.kernel.errors import ValidationError
from workflow.kernel.models import Enterprise, User
from workflow.kernel.paging import Key, Order, Page

MIN_LENGTH = 2
MAX_LENGTH = 100
ORDER = Order.by("search", Key(Project.code, str), Key(Project.id, int))


def matching(text: str):
    """Projects whose code or name, or whose enterprise's name, contains ``text``:
    the ids of each match (one trigram index each, an enterprise's projects
    through ``ix_project_enterprise_created``) united. An OR of the three in
    one WHERE would not do: the planner cannot combine an ``IN (subquery)``
    with index scans, and scans the project table."""
    pattern = validate.like_pattern(text)
    ids = union(
        select(Project.id).where(Project.code.ilike(pattern, escape="\\")),
        select(Project.id).where(Project.name.ilike(pattern, escape="\\")),
        select(Project.id).join(Enterprise, Enterprise.id == Project.enterprise_id)
        .where(Enterprise.name.ilike(pattern, escape="\\")))
    return Project.id.in_(ids)


def search_projects(session: Session, user: User, text: str, *, cursor: str | None = None,
                    limit: int | None = None) -> Page[Project]:
    """A page of the projects ``user`` may see that match ``text``, by code,
    each with its enterprise loaded."""
    text = (text or "").strip()
    if not MIN_LENGTH <= len(text) <= MAX_LENGTH:
        raise ValidationError("Search for {low} to {high} characters.", field="q",
                              low=MIN_LENGTH, high=MAX_LENGTH)
    query = (select(Project).join(Enterprise, Enterprise.id == Project.enterprise_id)
             .where(matching(text), permissions.visible_projects(user)))
    return paging.fetch(session, query, ORDER, cursor=cursor, limit=limit,
                        options=(contains_eager(Project.enterprise),))
