"""Saved filters: a person keeps the filters of a list page (the inbox, the
desk) under a name, at most ``MAX_PER_USER`` of them. The engine stores the
query string the web layer checked with the page's own input model; the web
layer checks it again before it offers it as a link."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from workflow.kernel.errors import NotFound, ValidationError
from workflow.kernel.models import SAVED_FILTER_PAGES, SavedFilter, User

MAX_PER_USER = 20
NAME_LENGTH = 60
QUERY_LENGTH = 1000


def saved_filters(session: Session, user: User, page: str) -> list[SavedFilter]:
    """``user``'s filters of ``page`` by name (at most ``MAX_PER_USER``)."""
    return list(session.scalars(
        select(SavedFilter).where(SavedFilter.user_id == user.id, SavedFilter.page == page)
        .order_by(SavedFilter.name, SavedFilter.id).limit(MAX_PER_USER)))


def save_filter(session: Session, user: User, page: str, name: str, query: str, *,
                now: datetime) -> SavedFilter:
    """Keep ``query`` as ``user``'s filter ``name`` of ``page``; a filter of
    that name already saved is replaced. A 21st filter is refused."""
    name = (name or "").strip()
    if page not in SAVED_FILTER_PAGES:
        raise ValidationError("Unknown page '{page}'.", field="page", page=page)
    if not 1 <= len(name) <= NAME_LENGTH:
        raise ValidationError("A filter's name has 1 to {limit} characters.", field="name",
                              limit=NAME_LENGTH)
    if len(query) > QUERY_LENGTH:
        raise ValidationError("This filter is too long to save.", field="query")
    found = session.scalar(select(SavedFilter).where(
        SavedFilter.user_id == user.id, SavedFilter.page == page, SavedFilter.name == name))
    if found is not None:
        found.query, found.created_at = query, now
        session.flush()
        return found
    count = session.scalar(select(func.count(SavedFilter.id))
                           .where(SavedFilter.user_id == user.id))
    if count >= MAX_PER_USER:
        raise ValidationError("At most {limit} saved filters each; delete one first.",
                              field="name", limit=MAX_PER_USER)
    saved = SavedFilter(user_id=user.id, page=page, name=name, query=query, created_at=now)
    session.add(saved)
    session.flush()
    return saved


def delete_filter(session: Session, user: User, filter_id: int) -> SavedFilter:
    """Delete ``user``'s saved filter ``filter_id`` (another's is not found)."""
    saved = session.get(SavedFilter, filter_id)
    if saved is None or saved.user_id != user.id:
        raise NotFound("No such saved filter.", filter=filter_id)
    session.delete(saved)
    session.flush()
    return saved
