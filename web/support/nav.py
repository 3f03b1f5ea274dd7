"""The navigation bar: links by role, with the counts users watch."""

from __future__ import annotations

from dataclasses import dataclass

from flask import Flask, current_app
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from web.support.db import db
from workflow.core import queries
from workflow.kernel import paging

LINKS = {
    "agent": [("inbox.index", _l("我的待办"), "inbox"), ("requests.index", _l("企业诉求"), None),
              ("notifications.index", _l("通知"), "unread")],
    "lead": [("desk.index", _l("领办台"), "red"), ("inbox.index", _l("待办"), "inbox"),
             ("intentions.ledger", _l("意向台账"), None), ("intentions.pipeline", _l("项目全景"), None),
             ("land.parcels", _l("标准地"), None), ("requests.index", _l("企业诉求"), None),
             ("requests.visits", _l("入企走访"), None),
             ("baolian.plans", _l("包联推进"), None),
             ("supervision.index", _l("超期督查"), None), ("notifications.index", _l("通知"), "unread")],
    "enterprise": [("portal.index", _l("我的项目"), None),
                   ("requests.portal_list", _l("诉求与建议"), None),
                   ("notifications.index", _l("通知"), "unread")],
    "supervisor": [("supervision.index", _l("超期督查"), None),
                   ("supervision.figures", _l("统计分析"), None),
                   ("requests.index", _l("企业诉求"), None),
                   ("intentions.pipeline", _l("项目全景"), None),
                   ("land.figures", _l("亩均效益"), None),
                   ("baolian.plans", _l("包联推进"), None),
                   ("fees.ledger", _l("费用台账"), None),
                   ("notifications.index", _l("通知"), "unread")],
    "admin": [("admin.users", _l("用户"), None), ("admin.definitions", _l("流程定义"), None),
              ("intentions.ledger", _l("意向台账"), None), ("intentions.pipeline", _l("项目全景"), None),
              ("land.parcels", _l("标准地"), None), ("chemicals.rules", _l("化工准入"), None),
              ("commitments.credit", _l("信用记录"), None),
              ("requests.index", _l("企业诉求"), None), ("requests.visits", _l("入企走访"), None),
              ("fees.ledger", _l("费用台账"), None),
              ("workload.index", _l("工作量预测"), None),
              ("admin.deliveries", _l("消息投递"), "failed"),
              ("admin.changes", _l("变更记录"), None),
              ("admin.security_events", _l("安全日志"), None),
              ("supervision.index", _l("超期督查"), None),
              ("baolian.plans", _l("包联推进"), None),
              ("notifications.index", _l("通知"), "unread")],
}


# The links each role sees in the bar itself; the others wait under 更多 (a
# <details> menu: keyboard-operable, no script). The finance office's ledger is
# always one of them. On a phone the bar keeps fewer still (``Link.keep``).
PRIMARY = {
    "lead": {"desk.index", "inbox.index", "requests.index", "supervision.index",
             "notifications.index"},
    "supervisor": {"supervision.index", "supervision.figures", "requests.index",
                   "baolian.plans", "notifications.index"},
    "admin": {"admin.users", "admin.deliveries", "admin.changes", "admin.security_events",
              "notifications.index"},
}
PHONE_KEEP = 2  # on a phone: the first links, and any with a count, stay in the bar


@dataclass(frozen=True)
class Link:
    endpoint: str
    label: str
    badge: int | None
    tone: str  # "red" for counts that are trouble
    primary: bool  # in the bar (else under 更多)
    keep: bool  # still in the bar on a phone (else under 菜单 there)


def _count_query(kind: str | None, user):
    """What a badge counts, as a query (all of a page's badges are counted in
    one round trip, each up to ``paging.COUNT_CAP``)."""
    if kind == "inbox":
        return queries.mine_query(user)
    if kind == "red":
        from web.support.security import now
        from workflow.core.desk import desk_red_query
        from workflow.core.operations import zone_today

        return desk_red_query(user, zone_today(now()))
    if kind == "failed":
        from workflow.kernel.outbox import failed_query

        return failed_query()
    if kind == "unread":
        from workflow.core.notify import unread_query

        return unread_query(user)
    return None


def _links_of(user) -> list:
    """The role's links, and the fee ledger for the finance office whatever its role."""
    links = LINKS.get(user.role, [])
    if user.finance_office and user.role != "enterprise":
        links = [("fees.ledger", _l("费用台账"), None),
                 *(link for link in links if link[0] != "fees.ledger")]
    return links


def nav_links() -> list[Link]:
    """The signed-in user's links with their counts, each marked for the bar
    or the 更多 menu."""
    if not current_user.is_authenticated:
        return []
    user = current_user.user
    links = [(endpoint, label, kind) for endpoint, label, kind in _links_of(user)
             if endpoint in current_app.view_functions]
    wanted = {kind: query for _, _, kind in links
              if kind and (query := _count_query(kind, user)) is not None}
    counts = paging.counts_upto(db(), wanted) if wanted else {}
    primary = PRIMARY.get(user.role)
    if primary is not None and user.finance_office:
        primary = primary | {"fees.ledger"}
    out, shown = [], 0
    for endpoint, label, kind in links:
        in_bar = primary is None or endpoint in primary
        out.append(Link(endpoint, label, counts.get(kind) or None,
                        "red" if kind in ("red", "failed") else "", in_bar,
                        in_bar and (shown < PHONE_KEEP or kind is not None)))
        shown += in_bar
    return out


def has_endpoint(endpoint: str) -> bool:
    return endpoint in current_app.view_functions


def actions_for(task) -> list[str]:
    """The task actions the signed-in user may take now (for buttons on pages)."""
    from workflow.core.operations import available_actions

    return available_actions(task, current_user.user) if current_user.is_authenticated else []


def init_app(app: Flask) -> None:
    app.jinja_env.globals.update(nav_links=nav_links, has_endpoint=has_endpoint,
                                 actions_for=actions_for)
