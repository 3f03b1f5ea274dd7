"""Administration pages (管理员): users, roles, group membership, away and
substitute settings, and the definitions in force with their versions (and the
holiday schedule the statutory clock counts with).

Each form calls one operation of ``workflow.accounts.users`` and commits once; a
refusal is a ``ValidationError`` (400) that changes nothing. Account changes
belong to no project's audit chain, so each one is logged here after the
commit, with the acting admin and what changed.
"""

from __future__ import annotations

import csv
import io
from typing import Annotated, Literal

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from pydantic import Field
from sqlalchemy import select

from web.support import labels, security
from web.support.access import local_target, me, require_for_blueprint
from web.support.db import db
from web.support.inputs import BackTo, Flag, Input, Line, Maybe, Password, form, query
from web.support.paging import page_args
from web.support.present import zone_time
from web.support.security import now
from workflow.accounts import lockout, security_log, twofactor
from workflow.accounts import users as accounts
from workflow.accounts.users import AdminChange
from workflow.core import calendar_refresh, permissions
from workflow.kernel import clock, outbox, zone_audit
from workflow.kernel.paging import MAX_LIMIT
from workflow.kernel.registry import current_version, definition_of
from workflow.kernel.tabular import guarded
from workflow.models import ROLES, SECURITY_EVENTS, SecondFactor, User

bp = Blueprint("admin", __name__, url_prefix="/admin")
require_for_blueprint(bp, permissions.can_administer)  # every admin page (others 403)

DONE = {
    "user.created": _l("已创建用户 %(name)s"), "user.updated": _l("已保存 %(name)s 的资料"),
    "user.groups": _l("已更新 %(name)s 的产业组"), "user.away": _l("%(name)s 已设为外出"),
    "user.back": _l("%(name)s 已返岗"), "user.password_reset": _l("已重置 %(name)s 的密码"),
    "user.deactivated": _l("已停用 %(name)s（其登录会话已全部失效）"),
    "user.reactivated": _l("已重新启用 %(name)s"),
    "user.unlocked": _l("已解除 %(name)s 的登录锁定"),
    "user.factor_reset": _l("已重置 %(name)s 的二次验证，其下次登录时须重新绑定"),
    "user.mobile": _l("已保存 %(name)s 的手机号"),
}
WARNINGS = {
    "open_tasks": _l("该用户仍有 %(n)s 个未办结事项，请领办人在领办台改派"),
    "away_open_tasks": _l("该代办员手上仍有 %(n)s 个在办事项；新分派的事项将转给%(substitute)s，"
                          "已有事项可在领办台改派"),
    "led_projects": _l("该用户仍领办 %(n)s 个在办项目"),
    "groups_left": _l("已退出产业组：%(groups)s"),
}
CATEGORIES = {
    "unified_service": _l("政府统一服务事项"), "commitment": _l("承诺制事项"),
    "approval": _l("审批"), "filing": _l("备案"), "utility": _l("市政公用接入"),
}


# A failed message "keeps failing" after this many attempts (the list says so).
MANY_ATTEMPTS = 3


# -- the inputs (lengths as the columns of ``user_account``, ``enterprise``, ``industry_group``)

Role = Literal[ROLES]  # type: ignore[valid-type]
GroupCodes = Annotated[list[Line(64)], Field(max_length=MAX_LIMIT)]


class UserArgs(Input):
    """The user list's filters (``workflow.accounts.users.UserFilter``)."""

    role: Maybe(Role) = None
    group: Maybe(Line(64)) = None
    active: Maybe(Literal["1", "0"]) = None
    q: Maybe(Line(100)) = None


class ProfileForm(Input):
    display_name: Line(200) = ""
    role: Role
    email: Maybe(Line(200)) = None
    department: Maybe(Line(64)) = None
    enterprise_name: Maybe(Line(200)) = None
    credit_code: Maybe(Line(18)) = None


class NewUserForm(ProfileForm):
    username: Line(80) = ""
    password: Password(accounts.MAX_PASSWORD) = ""
    groups: GroupCodes = []


class GroupsForm(Input):
    groups: GroupCodes = []


class AwayForm(Input):
    away: Flag = False
    substitute: Maybe(Line(80)) = None


class MobileForm(Input):
    mobile: Maybe(Line(20)) = None
    verified: Flag = False


class PasswordForm(Input):
    password: Password(accounts.MAX_PASSWORD) = ""


class SecurityArgs(Input):
    """The security log's filters (``workflow.accounts.security_log.EventFilter``)."""

    user: Maybe(Line(80)) = None
    kind: Maybe(Literal[SECURITY_EVENTS]) = None  # type: ignore[valid-type]


def _user_filter() -> accounts.UserFilter:
    args = query(UserArgs)
    return accounts.UserFilter(role=args.role, group=args.group, text=args.q,
                               active=None if args.active is None else args.active == "1")


def _event_filter() -> security_log.EventFilter:
    args = query(SecurityArgs)
    return security_log.EventFilter(username=args.user, kind=args.kind)


@bp.route("/users")
def users():
    """One page of the users, filtered and ordered in the database."""
    filters = _user_filter()
    cursor, limit = page_args()
    page = accounts.list_users(db(), filters, cursor=cursor, limit=limit)
    locked = lockout.locked_users(db(), [u.username for u in page.rows], now=now(),
                                  limit=security.limit())
    return render_template("admin/users.html", users=page.rows, page=page, args=request.args,
                           roles=ROLES, groups=accounts.all_groups(db()),
                           departments=_departments(), locked=locked, zone_time=zone_time)


@bp.route("/users", methods=["POST"])
def create_user():
    f = form(NewUserForm)
    change = accounts.create_user(
        db(), username=f.username, display_name=f.display_name, role=f.role,
        password=f.password, actor=me(), now=now(), department=f.department,
        enterprise_name=f.enterprise_name, credit_code=f.credit_code, email=f.email,
        groups=f.groups)
    return _done(change)


@bp.route("/users/<int:user_id>")
def user(user_id: int):
    person = db().get(User, user_id) or abort(404)
    return render_template(
        "admin/user.html", person=person, roles=ROLES, groups=accounts.all_groups(db()),
        departments=_departments(), member_of={m.group_id for m in person.memberships},
        candidates=accounts.substitute_candidates(db(), person),
        covering=accounts.substitute_for(db(), person),
        locked_until=lockout.locked_until(db(), person.username, now=now(),
                                          limit=security.limit()),
        factor=db().get(SecondFactor, person.id),
        factor_required=security.policy().requires(person),
        recovery_left=twofactor.recovery_codes_left(db(), person), zone_time=zone_time)


@bp.route("/users/<int:user_id>/profile", methods=["POST"])
def update_user(user_id: int):
    f = form(ProfileForm)
    return _done(accounts.update_user(
        db(), user_id, display_name=f.display_name, role=f.role, actor=me(), now=now(),
        department=f.department, enterprise_name=f.enterprise_name, credit_code=f.credit_code,
        email=f.email))


@bp.route("/users/<int:user_id>/groups", methods=["POST"])
def set_groups(user_id: int):
    return _done(accounts.set_groups(db(), user_id, form(GroupsForm).groups, actor=me(),
                                      now=now()))


@bp.route("/users/<int:user_id>/away", methods=["POST"])
def set_away(user_id: int):
    f = form(AwayForm)
    return _done(accounts.set_away(db(), user_id, away=f.away, substitute=f.substitute,
                                    actor=me(), now=now()))


@bp.route("/users/<int:user_id>/mobile", methods=["POST"])
def set_mobile(user_id: int):
    f = form(MobileForm)
    return _done(accounts.set_mobile(db(), user_id, mobile=f.mobile, verified=f.verified,
                                      actor=me(), now=now()))


@bp.route("/users/<int:user_id>/password", methods=["POST"])
def reset_password(user_id: int):
    return _done(accounts.reset_password(db(), user_id, form(PasswordForm).password,
                                          actor=me(), now=now()))


@bp.route("/users/<int:user_id>/deactivate", methods=["POST"])
def deactivate(user_id: int):
    return _done(accounts.deactivate_user(db(), user_id, actor=me(), now=now()))


@bp.route("/users/<int:user_id>/reactivate", methods=["POST"])
def reactivate(user_id: int):
    return _done(accounts.reactivate_user(db(), user_id, actor=me(), now=now()))


@bp.route("/users/<int:user_id>/unlock", methods=["POST"])
def unlock(user_id: int):
    return _done(lockout.unlock(db(), user_id, actor=me(), now=now(), limit=security.limit(),
                                client=security.client()))


@bp.route("/users/<int:user_id>/factor/reset", methods=["POST"])
def reset_factor(user_id: int):
    return _done(twofactor.reset_factor(db(), user_id, actor=me(), now=now(),
                                        client=security.client()))


@bp.route("/definitions")
def definitions():
    version = current_version(db())
    definition = definition_of(version)
    return render_template("admin/definitions.html", versions=accounts.definition_versions(db()),
                           current=version, definition=definition, categories=CATEGORIES,
                           unified=len(definition.items_in_category("unified_service")),
                           calendar=calendar_refresh.status(db()), year_ranges=clock.year_ranges)


def _done(change: AdminChange):
    """Commit the one change (the engine wrote it to the zone's change log), tell the
    admin, go to the user's page."""
    db().commit()
    flash(str(DONE[change.action]) % {"name": change.user.display_name}, "ok")
    for code, params in change.warnings:
        flash(str(WARNINGS[code]) % params, "warn")
    return redirect(url_for("admin.user", user_id=change.user.id))


def _departments():
    """The departments of the definition in force, in the user's language."""
    definition = definition_of(current_version(db()))
    return [(code, labels.name_of(dept)) for code, dept in definition.departments.items()]


@bp.route("/changes")
def changes():
    """The zone's change log (who changed what outside any project), newest
    first, a page at a time, with the chain checked on the page shown."""
    cursor, limit = page_args()
    page = zone_audit.page(db(), cursor=cursor, limit=limit)
    names = {u.id: u for u in db().scalars(
        select(User).where(User.id.in_({e.actor_id for e in page.rows if e.actor_id})))}
    broken = {e.seq for e in page.rows if zone_audit.event_hash(e) != e.hash}
    return render_template("admin/changes.html", events=page.rows, page=page, people=names,
                           broken=broken, zone_time=zone_time)


@bp.route("/deliveries")
def deliveries():
    """Mail and webhook deliveries that keep failing, a page at a time, for
    the admin to see and retry."""
    cursor, limit = page_args()
    page = outbox.failed_deliveries(db(), cursor=cursor, limit=limit)
    return render_template("admin/deliveries.html", failed=page.rows, page=page,
                           failed_count=outbox.failed_count(db()),
                           pending=outbox.pending_count(db()), many=MANY_ATTEMPTS,
                           webhook_url=current_app.config.get("WEBHOOK_URL"),
                           secret_hint=current_app.config.get("WEBHOOK_SECRET_HINT"))


@bp.route("/deliveries/<int:message_id>/retry", methods=["POST"])
def retry_delivery(message_id: int):
    back = form(BackTo).next
    outbox.retry_delivery(db(), message_id, now())
    db().commit()
    flash(_("已重新排队发送"), "ok")
    return redirect(local_target(back, url_for("admin.deliveries")))


@bp.route("/security")
def security_events():
    """The security log, newest first, a page at a time, by user and kind."""
    filters = _event_filter()
    cursor, limit = page_args()
    page = security_log.page(db(), filters, cursor=cursor, limit=limit)
    return render_template("admin/security.html", events=page.rows, page=page, args=request.args,
                           kinds=SECURITY_EVENTS, zone_time=zone_time)


EXPORT_HEADERS = ("time", "kind", "username", "user_id", "actor_id", "ip", "user_agent", "detail")


def _as_text(value) -> str:
    """A cell a spreadsheet shows as typed: text that would start a formula
    (a username or user agent chosen by whoever typed it) gets a leading quote,
    by the rule every export follows (``workflow.kernel.tabular``)."""
    return guarded("" if value is None else str(value))


@bp.route("/security.csv")
def security_export():
    """The filtered security log as CSV (UTF-8 with BOM for Excel), streamed."""
    filters = _event_filter()
    session = db()

    def rows():
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(EXPORT_HEADERS)
        yield "\ufeff" + out.getvalue()
        for event in security_log.every(session, filters):
            out.seek(0)
            out.truncate()
            writer.writerow([_as_text(v) for v in (
                zone_time(event.at), event.kind, event.username, event.user_id, event.actor_id,
                event.ip, event.user_agent, event.detail)])
            yield out.getvalue()

    return Response(stream_with_context(rows()), mimetype="text/csv; charset=utf-8",
                    headers={"Content-Disposition": "attachment; filename=security-log.csv"})
