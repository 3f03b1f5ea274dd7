"""Administration of accounts — users, roles, industry-group membership, away and
substitute settings — and the queries behind the admin pages.

Every operation checks the actor and all of its input before it changes
anything, refuses bad input with a ``ValidationError`` and only flushes: the
caller commits once. Audit events are chained per project and an account
change belongs to no project, so each operation returns an ``AdminChange``
saying what changed (and what the admin should know next, as ``warnings``),
which the caller logs after the commit. Users are never deleted — their names
sit in audit trails — only deactivated.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, joinedload, selectinload

from workflow.accounts.passwords import hash_password
from workflow.core import permissions
from workflow.core.models import INBOX_STATES, ItemTask, Project
from workflow.core.operations import flush, utc
from workflow.kernel import paging, validate, zone_audit
from workflow.kernel.errors import NotFound, ValidationError, term
from workflow.kernel.models import (
    ROLES,
    ApiToken,
    DefinitionVersion,
    Enterprise,
    GroupMembership,
    IndustryGroup,
    LoginSession,
    User,
)
from workflow.kernel.registry import current_version, definition_of
from workflow.kernel.validate import CREDIT_CODE

USERNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{1,79}$")
MIN_PASSWORD = 12
MAX_PASSWORD = 256
GROUP_ROLES = ("agent", "lead")  # only staff of the groups belong to them
LIVE_STAGES_EXCLUDED = ("verified", "terminated")


@dataclass(frozen=True)
class AdminChange:
    """What an admin operation did, for the caller's log and message.

    ``warnings`` are (code, params) pairs of consequences the admin should act
    on (open work still assigned, projects still led); the web translates them."""

    user: User
    action: str
    details: dict[str, Any] = field(default_factory=dict)
    warnings: tuple[tuple[str, dict[str, Any]], ...] = ()


def _recorded(session: Session, actor: User, now: datetime, change: AdminChange) -> AdminChange:
    """Write the change to the zone's change log, in the operation's transaction."""
    zone_audit.record(session, actor=actor, now=now, action=change.action,
                      subject=f"user:{change.user.username}", data=change.details)
    return change


# -- checks shared by the operations -------------------------------------------------------

def _require_admin(actor: User) -> None:
    permissions.require_that(actor, permissions.can_administer, permissions.NotPermitted(
        "Only an active administrator may change accounts."), system_may=False)


def _load_user(session: Session, user_id: int) -> User:
    user = session.get(User, user_id, with_for_update=True)
    if user is None:
        raise NotFound("User {user} does not exist.", user=user_id)
    return user


_text = validate.text


def _role(role: str | None) -> str:
    if role not in ROLES:
        raise ValidationError("Unknown role '{role}'; choose one of {roles}.",
                              field="role", role=role, roles=", ".join(ROLES))
    return role


def _password(password: str | None) -> str:
    password = password or ""
    if len(password) < MIN_PASSWORD:
        raise ValidationError("A password has at least {limit} characters.",
                              field="password", limit=MIN_PASSWORD)
    if len(password) > MAX_PASSWORD:
        raise ValidationError("A password has at most {limit} characters.",
                              field="password", limit=MAX_PASSWORD)
    if not password.strip():
        raise ValidationError("A password cannot be only spaces.", field="password")
    return password


def _email(email: str | None) -> str | None:
    email = _text(email, term("email address"), limit=200, required=False) or None
    if email is not None and not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", email):
        raise ValidationError("'{email}' is not an email address.", field="email", email=email)
    return email


def _department(session: Session, role: str, department: str | None) -> str | None:
    """Agents belong to a department of the definition in force; others have none."""
    if role != "agent":
        return None
    department = (department or "").strip()
    known = definition_of(current_version(session)).departments
    if not department:
        raise ValidationError("An agent needs a home department.", field="department")
    if department not in known:
        raise ValidationError("Unknown department '{department}'.", field="department",
                              department=department)
    return department


def _enterprise(session: Session, name: str | None, credit_code: str | None) -> Enterprise:
    """The enterprise an enterprise user acts for: found by credit code or by
    name, created when new."""
    name = _text(name, term("enterprise name"), limit=200)
    credit_code = (credit_code or "").strip().upper() or None
    if credit_code is not None and not CREDIT_CODE.fullmatch(credit_code):
        raise ValidationError("A unified social credit code (统一社会信用代码) has 18 digits "
                              "or capital letters.", field="credit_code")
    if credit_code is not None:
        found = session.scalar(select(Enterprise).where(Enterprise.credit_code == credit_code))
        if found is not None:
            if found.name != name:
                raise ValidationError(
                    "Credit code {credit_code} belongs to '{owner}', not '{name}'.",
                    field="credit_code", credit_code=credit_code, owner=found.name, name=name)
            return found
    found = session.scalar(select(Enterprise).where(Enterprise.name == name)
                           .order_by(Enterprise.id).limit(1))
    if found is not None:
        if credit_code is not None and found.credit_code not in (None, credit_code):
            raise ValidationError("'{name}' is registered with another credit code.",
                                  field="credit_code", name=name)
        if credit_code is not None:
            found.credit_code = credit_code
        return found
    created = Enterprise(name=name, credit_code=credit_code)
    session.add(created)
    return created


def _groups(session: Session, codes: Iterable[str]) -> list[IndustryGroup]:
    codes = list(dict.fromkeys(c.strip() for c in codes if c and c.strip()))
    if not codes:
        return []
    found = {g.code: g for g in session.scalars(select(IndustryGroup)
                                                .where(IndustryGroup.code.in_(codes)))}
    unknown = [c for c in codes if c not in found]
    if unknown:
        raise ValidationError("Unknown industry group(s): {listed}.", field="groups",
                              listed=", ".join(unknown))
    return [found[c] for c in codes]


def _group_ids(session: Session, user_id: int) -> set[int]:
    return set(session.scalars(select(GroupMembership.group_id)
                               .where(GroupMembership.user_id == user_id)))


def substitute_for(session: Session, user: User) -> list[User]:
    """The away agents whose work ``user`` takes over now."""
    return list(session.scalars(select(User).where(User.substitute_id == user.id,
                                                   User.away.is_(True))
                                .order_by(User.username)))


def _names(users: Sequence[User]) -> str:
    return ", ".join(u.display_name for u in users)


def _other_active_admins(session: Session, user: User) -> int:
    return session.scalar(select(func.count(User.id)).where(
        User.role == "admin", User.active.is_(True), User.id != user.id)) or 0


def _open_task_count(session: Session, user: User, group_ids: Iterable[int] | None = None) -> int:
    query = select(func.count(ItemTask.id)).where(ItemTask.assignee_id == user.id,
                                                  ItemTask.state.in_(INBOX_STATES))
    if group_ids is not None:
        query = query.where(ItemTask.group_id.in_(list(group_ids)))
    return session.scalar(query) or 0


def _live_projects_led(session: Session, user: User) -> int:
    return session.scalar(select(func.count(Project.id)).where(
        Project.lead_id == user.id, Project.stage.notin_(LIVE_STAGES_EXCLUDED))) or 0


def _revoke_logins(session: Session, user: User, now: datetime) -> int:
    """End every login session and API token of ``user`` on the server."""
    at = utc(now)
    ended = session.execute(update(LoginSession).where(
        LoginSession.user_id == user.id, LoginSession.revoked_at.is_(None))
        .values(revoked_at=at)).rowcount
    session.execute(update(ApiToken).where(ApiToken.user_id == user.id,
                                           ApiToken.revoked_at.is_(None)).values(revoked_at=at))
    return ended or 0


# -- operations ----------------------------------------------------------------------------

def create_user(session: Session, *, username: str, display_name: str, role: str,
                password: str, actor: User, now: datetime, department: str | None = None,
                enterprise_name: str | None = None, credit_code: str | None = None,
                email: str | None = None, groups: Iterable[str] = ()) -> AdminChange:
    """Create an account with the initial password the admin chose (at least
    12 characters, stored as an argon2id hash). Agents need a department;
    enterprise users an enterprise (created when new); only agents and lead
    handlers join industry groups."""
    _require_admin(actor)
    username = (username or "").strip()
    if not USERNAME.fullmatch(username):
        raise ValidationError("A username has 2 to 80 letters, digits, '.', '_' or '-', and "
                              "starts with a letter or digit.", field="username")
    if session.scalar(select(User.id).where(func.lower(User.username) == username.lower())):
        raise ValidationError("The username '{username}' is taken.", field="username",
                              username=username)
    display_name = _text(display_name, term("display name"), limit=200)
    role = _role(role)
    password = _password(password)
    email = _email(email)
    department = _department(session, role, department)
    chosen = _groups(session, groups)
    if chosen and role not in GROUP_ROLES:
        raise ValidationError("Only agents and lead handlers belong to industry groups.",
                              field="groups")
    company = _enterprise(session, enterprise_name, credit_code) if role == "enterprise" else None
    user = User(username=username, display_name=display_name, role=role, email=email,
                department=department, active=True, away=False,
                password_hash=hash_password(password))
    if company is not None:
        user.enterprise = company
    session.add(user)
    try:
        session.flush()
    except IntegrityError as exc:  # a concurrent create of the same name
        raise ValidationError("The username '{username}' is taken.", field="username",
                              username=username) from exc
    for group in chosen:
        session.add(GroupMembership(group_id=group.id, user_id=user.id))
    flush(session)
    return _recorded(session, actor, now, AdminChange(user, "user.created", {
        "role": role, "department": department, "groups": [g.code for g in chosen],
        "enterprise": company.name if company else None, "at": utc(now).isoformat()}))


def update_user(session: Session, user_id: int, *, display_name: str, role: str, actor: User,
                now: datetime, department: str | None = None, enterprise_name: str | None = None,
                credit_code: str | None = None, email: str | None = None) -> AdminChange:
    """Change a user's name, role, department, enterprise or email.

    A role change keeps the account consistent: groups are left when the new
    role has none, away settings end when the user stops being an agent. It
    is refused when it would strand others: the last active admin, an agent
    who is the substitute of an away colleague, or the admin's own role."""
    _require_admin(actor)
    user = _load_user(session, user_id)
    display_name = _text(display_name, term("display name"), limit=200)
    role = _role(role)
    email = _email(email)
    department = _department(session, role, department)
    warnings: list[tuple[str, dict[str, Any]]] = []
    if role != user.role:
        if user.id == actor.id:
            raise ValidationError("You cannot change your own role.", field="role")
        if user.role == "admin" and user.active and not _other_active_admins(session, user):
            raise ValidationError("This is the last active admin; make another admin first.",
                                  field="role")
        covering = substitute_for(session, user)
        if role != "agent" and len(covering) == 1:
            raise ValidationError(
                "{user} is the substitute of {names}, who is away; choose another substitute "
                "first.", field="role", user=user.display_name, names=_names(covering))
        if role != "agent" and covering:
            raise ValidationError(
                "{user} is the substitute of {names}, who are away; choose another substitute "
                "first.", field="role", user=user.display_name, names=_names(covering))
        if user.role == "lead" and (led := _live_projects_led(session, user)):
            warnings.append(("led_projects", {"n": led}))
        if user.role == "agent" and (open_work := _open_task_count(session, user)):
            warnings.append(("open_tasks", {"n": open_work}))
    company = _enterprise(session, enterprise_name, credit_code) if role == "enterprise" else None
    before = {"display_name": user.display_name, "role": user.role, "department": user.department,
              "email": user.email, "enterprise_id": user.enterprise_id}
    user.display_name, user.role, user.department, user.email = display_name, role, department, email
    user.enterprise = company
    if role != "agent":
        user.away, user.substitute_id = False, None
    removed = []
    if role not in GROUP_ROLES:
        for membership in list(user.memberships):
            removed.append(membership.group.code)
            session.delete(membership)
        if removed:
            warnings.append(("groups_left", {"groups": ", ".join(removed)}))
    flush(session)
    after = {"display_name": display_name, "role": role, "department": department, "email": email,
             "enterprise_id": user.enterprise_id}
    changed = {k: [before[k], after[k]] for k in before if before[k] != after[k]}
    return _recorded(session, actor, now, AdminChange(
        user, "user.updated", {"changed": changed, "groups_left": removed}, tuple(warnings)))


def set_groups(session: Session, user_id: int, group_codes: Iterable[str], *, actor: User,
               now: datetime) -> AdminChange:
    """Set the industry groups of an agent or lead handler. Refused when it
    would part an away agent from their substitute (they must share a group)."""
    _require_admin(actor)
    user = _load_user(session, user_id)
    chosen = _groups(session, group_codes)
    if chosen and user.role not in GROUP_ROLES:
        raise ValidationError("Only agents and lead handlers belong to industry groups.",
                              field="groups")
    new_ids = {g.id for g in chosen}
    pairs = list(substitute_for(session, user))
    if user.away and user.substitute is not None:
        pairs.append(user.substitute)
    for other in pairs:
        if not new_ids & _group_ids(session, other.id):
            raise ValidationError(
                "{user} and {other} would share no group, but one "
                "is the other's substitute while away; change the substitute first.",
                field="groups", user=user.display_name, other=other.display_name)
    current = {m.group_id: m for m in user.memberships}
    left = [m for gid, m in current.items() if gid not in new_ids]
    warnings = []
    if left and user.role == "agent":
        stranded = _open_task_count(session, user, [m.group_id for m in left])
        if stranded:
            warnings.append(("open_tasks", {"n": stranded}))
    left_codes = [m.group.code for m in left]
    for membership in left:
        session.delete(membership)
    joined = [g for g in chosen if g.id not in current]
    for group in joined:
        session.add(GroupMembership(group_id=group.id, user_id=user.id))
    flush(session)
    session.expire(user, ["memberships"])
    return _recorded(session, actor, now, AdminChange(
        user, "user.groups", {"joined": [g.code for g in joined], "left": left_codes},
        tuple(warnings)))


def set_away(session: Session, user_id: int, *, away: bool, substitute: str | None,
             actor: User, now: datetime) -> AdminChange:
    """Mark an agent away (外出) with the colleague who takes over their new
    work, or back. The substitute is an active agent sharing a group, not the
    agent themselves and not away: work is routed one step, never along a chain."""
    _require_admin(actor)
    user = _load_user(session, user_id)
    if user.role != "agent":
        raise ValidationError("Only agents are marked away with a substitute.", field="away")
    if not away:
        previous = user.substitute.username if user.substitute else None
        user.away, user.substitute_id = False, None
        flush(session)
        return _recorded(session, actor, now, AdminChange(user, "user.back", {"substitute_was": previous}))
    name = (substitute or "").strip()
    if not name:
        raise ValidationError("Choose the substitute who takes over while the agent is away.",
                              field="substitute")
    chosen = session.scalar(select(User).where(User.username == name))
    if chosen is None:
        raise ValidationError("There is no user '{user}'.", field="substitute", user=name)
    if chosen.id == user.id:
        raise ValidationError("An agent cannot be their own substitute.", field="substitute")
    if not chosen.active or chosen.role != "agent":
        raise ValidationError("{user} is not an active agent.", field="substitute",
                              user=chosen.display_name)
    if not _group_ids(session, user.id) & _group_ids(session, chosen.id):
        raise ValidationError("{user} is not in a group of {other}.",
                              field="substitute", user=chosen.display_name,
                              other=user.display_name)
    if chosen.away:
        raise ValidationError("{user} is away too; choose a substitute who is "
                              "present.", field="substitute", user=chosen.display_name)
    covering = [u for u in substitute_for(session, user) if u.id != user.id]
    if len(covering) == 1:
        raise ValidationError(
            "{user} is the substitute of {names}, who is away; choose another substitute for "
            "that agent first.", field="away", user=user.display_name, names=_names(covering))
    if covering:
        raise ValidationError(
            "{user} is the substitute of {names}, who are away; choose another substitute for "
            "them first.", field="away", user=user.display_name, names=_names(covering))
    user.away, user.substitute_id = True, chosen.id
    flush(session)
    warnings = []
    if open_work := _open_task_count(session, user):
        warnings.append(("away_open_tasks", {"n": open_work, "substitute": chosen.display_name}))
    return _recorded(session, actor, now, AdminChange(
        user, "user.away", {"substitute": chosen.username}, tuple(warnings)))


def reset_password(session: Session, user_id: int, password: str, *, actor: User,
                   now: datetime) -> AdminChange:
    """Set a new password (at least 12 characters); the user's existing
    sessions and API tokens end."""
    _require_admin(actor)
    user = _load_user(session, user_id)
    user.password_hash = hash_password(_password(password))
    ended = _revoke_logins(session, user, now)
    flush(session)
    return _recorded(session, actor, now, AdminChange(user, "user.password_reset", {"sessions_ended": ended}))


def deactivate_user(session: Session, user_id: int, *, actor: User, now: datetime) -> AdminChange:
    """Deactivate an account (never delete it): no more logins, existing
    sessions and API tokens end at once. Refused for oneself, the last active
    admin, and the substitute of an away agent."""
    _require_admin(actor)
    user = _load_user(session, user_id)
    if user.id == actor.id:
        raise ValidationError("You cannot deactivate your own account.", field="active")
    if not user.active:
        raise ValidationError("{user} is already inactive.", field="active",
                              user=user.display_name)
    if user.role == "admin" and not _other_active_admins(session, user):
        raise ValidationError("This is the last active admin.", field="active")
    covering = substitute_for(session, user)
    if len(covering) == 1:
        raise ValidationError(
            "{user} is the substitute of {names}, who is away; choose another substitute first.",
            field="active", user=user.display_name, names=_names(covering))
    if covering:
        raise ValidationError(
            "{user} is the substitute of {names}, who are away; choose another substitute first.",
            field="active", user=user.display_name, names=_names(covering))
    user.active = False
    ended = _revoke_logins(session, user, now)
    flush(session)
    warnings = []
    if open_work := _open_task_count(session, user):
        warnings.append(("open_tasks", {"n": open_work}))
    if led := _live_projects_led(session, user):
        warnings.append(("led_projects", {"n": led}))
    return _recorded(session, actor, now, AdminChange(
        user, "user.deactivated", {"sessions_ended": ended}, tuple(warnings)))


def reactivate_user(session: Session, user_id: int, *, actor: User, now: datetime) -> AdminChange:
    _require_admin(actor)
    user = _load_user(session, user_id)
    if user.active:
        raise ValidationError("{user} is already active.", field="active",
                              user=user.display_name)
    user.active = True
    flush(session)
    return _recorded(session, actor, now, AdminChange(user, "user.reactivated", {}))


# -- queries: the admin pages ----------------------------------------------------------------

@dataclass(frozen=True)
class UserFilter:
    """Filters of the admin's user list; ``None`` is "any". ``text`` matches a
    fragment of the username or the display name. The web parses its query
    arguments into these typed values; they are checked again here: an unknown
    role is refused, texts are bounded and typeable (the group is checked by
    ``list_users``)."""

    role: str | None = None
    group: str | None = None
    active: bool | None = None
    text: str | None = None

    def __post_init__(self) -> None:
        if self.role is not None:
            _role(self.role)
        if self.active not in (None, True, False):
            raise ValidationError("'active' is true, false or any.", field="active")
        for name, value, limit in (("group", self.group, 64), ("q", self.text, 100)):
            if value is not None and (len(value) > limit or not validate.typeable(value)):
                raise ValidationError("The {field} filter is at most {limit} typeable "
                                      "characters.", field=name, limit=limit)


BY_USERNAME = paging.Keyset(paging.Key(User.username, str), paging.Key(User.id, int))


def list_users(session: Session, filters: UserFilter = UserFilter(), *, cursor: str | None = None,
               limit: int | None = None) -> paging.Page[User]:
    """A page of the users by role then username, filtered in SQL by role,
    industry group, active flag and a fragment of the username or display name.

    The list is read one role after another (a segment each, in the order of
    the role codes); within a role, each active flag the filter allows is one
    range of ``ix_user_account_list`` in username order, the ranges merged. A
    group filter keeps to the agents' and leads' segments (only they belong to
    groups), so it never walks the zone's enterprise accounts."""
    if filters.role:
        roles: tuple[str, ...] = (_role(filters.role),)
    else:
        roles = tuple(sorted(GROUP_ROLES if filters.group else ROLES))
    where = []
    if filters.group:
        group_id = session.scalar(select(IndustryGroup.id).where(IndustryGroup.code == filters.group))
        if group_id is None:
            raise ValidationError("Unknown industry group '{group}'.", field="group",
                                      group=filters.group)
        where.append(User.id.in_(select(GroupMembership.user_id)
                                 .where(GroupMembership.group_id == group_id)))
    if filters.text:
        pattern = validate.like_pattern(filters.text)
        where.append(or_(User.username.ilike(pattern, escape="\\"),
                         User.display_name.ilike(pattern, escape="\\")))
    actives = (True, False) if filters.active is None else (filters.active,)
    branches = tuple(User.active == active for active in actives)
    order = paging.Order(f"users:{','.join(roles)}", tuple(
        paging.Segment(BY_USERNAME, (User.role == role,), branches) for role in roles))
    return paging.fetch(session, select(User).where(*where), order, cursor=cursor, limit=limit,
                        options=(selectinload(User.memberships).joinedload(GroupMembership.group),
                                 joinedload(User.substitute), joinedload(User.enterprise)))


def all_groups(session: Session) -> list[IndustryGroup]:
    return list(session.scalars(select(IndustryGroup).order_by(IndustryGroup.id)))


def substitute_candidates(session: Session, user: User) -> list[User]:
    """Who may stand in for ``user``: active agents present, sharing a group."""
    groups = _group_ids(session, user.id)
    if not groups:
        return []
    return list(session.scalars(
        select(User).where(User.role == "agent", User.active.is_(True), User.away.is_(False),
                           User.id != user.id,
                           User.id.in_(select(GroupMembership.user_id)
                                       .where(GroupMembership.group_id.in_(groups))))
        .order_by(User.username)))


def definition_versions(session: Session) -> list[tuple[DefinitionVersion, paging.Count]]:
    """Every installed definition version with the number of projects on it
    (counted up to ``paging.COUNT_CAP`` on ``ix_project_definition_version_id``),
    newest first. Versions are few: a handful a year."""
    versions = list(session.scalars(select(DefinitionVersion).order_by(
        DefinitionVersion.loaded_at.desc(), DefinitionVersion.id.desc())))
    counts = paging.counts_upto(session, {
        f"v{v.id}": select(Project.id).where(Project.definition_version_id == v.id)
        for v in versions})
    return [(v, counts[f"v{v.id}"]) for v in versions]




# -- the mobile number for the SMS gateway ------------------------------------------------------

# A mainland mobile number (11 digits from 13x to 19x), with or without +86.
_MOBILE = re.compile(r"(?:\+?86)?(1[3-9]\d{9})")


def set_mobile(session: Session, user_id: int, *, mobile: str | None, verified: bool,
               actor: User, now: datetime) -> AdminChange:
    """Record a person's own mobile number (staff or enterprise) and whether
    the admin verified it with them: by calling it, or by reading back the
    code the person received on it. Only a verified number goes to the SMS
    gateway (the webhook's ``recipient.phone``); a changed number is
    unverified until the admin confirms it again."""
    _require_admin(actor)
    user = _load_user(session, user_id)
    raw = re.sub(r"[\s-]", "", mobile or "")
    if not raw:
        user.mobile, user.mobile_verified_at = None, None
        flush(session)
        return _recorded(session, actor, now, AdminChange(user, "user.mobile", {"mobile": None}))
    match = _MOBILE.fullmatch(raw)
    if match is None:
        raise ValidationError("A mobile number has 11 digits and begins with 13 to 19.",
                              field="mobile")
    number = match.group(1)
    if number != user.mobile:
        user.mobile, user.mobile_verified_at = number, None
    if verified and user.mobile_verified_at is None:
        user.mobile_verified_at = utc(now)
    elif not verified:
        user.mobile_verified_at = None
    flush(session)
    return _recorded(session, actor, now, AdminChange(
        user, "user.mobile", {"mobile": number[:3] + "****" + number[-4:],
                              "verified": user.mobile_verified_at is not None}))
