"""Labels users read: states, stages, roles, actions, lights (Chinese msgids,
English in the catalogue). Definition names come from the definition itself in
the user's language.

A page translates hundreds of labels (a row shows a light, a state, a
department, several buttons). Flask-Babel looks up the request's locale and
catalogue through several context proxies on every string; here the request
binds its catalogue once (``bind_catalogue``, before each request) and the
labels, the templates' ``_()`` and ``name_of`` read it directly.
"""

from __future__ import annotations

from contextvars import ContextVar

import flask_babel
from flask import Flask
from markupsafe import escape

# (catalogue, english?) of the request being served; None outside a request.
_catalogue: ContextVar[tuple | None] = ContextVar("daiban_catalogue", default=None)


def bind_catalogue() -> None:
    locale = flask_babel.get_locale()
    _catalogue.set((flask_babel.get_translations(),
                    locale is not None and locale.language == "en"))


def unbind_catalogue(_exc=None) -> None:
    _catalogue.set(None)


def _translations():
    bound = _catalogue.get()
    return bound[0] if bound is not None else flask_babel.get_translations()


def translate(msgid: str) -> str:
    """``msgid`` in the request's language."""
    return _translations().ugettext(msgid)


class _Lazy:
    """A msgid translated when shown (``lazy_gettext`` through the bound catalogue)."""

    __slots__ = ("msgid",)

    def __init__(self, msgid: str) -> None:
        self.msgid = msgid

    def __str__(self) -> str:
        return translate(self.msgid)

    def __html__(self) -> str:
        return str(escape(str(self)))

    def __repr__(self) -> str:
        return f"l{self.msgid!r}"


def _l(msgid: str) -> _Lazy:  # the extraction keyword of a lazy msgid
    return _Lazy(msgid)


def init_app(app: Flask) -> None:
    app.before_request(bind_catalogue)
    app.teardown_request(unbind_catalogue)
    app.jinja_env.install_gettext_callables(
        gettext=lambda s: _translations().ugettext(s),
        ngettext=lambda s, p, n: _translations().ungettext(s, p, n),
        pgettext=lambda c, s: _translations().upgettext(c, s),
        npgettext=lambda c, s, p, n: _translations().unpgettext(c, s, p, n),
        newstyle=True)

STATES = {
    "blocked": _l("未开始"), "ready": _l("待认领"), "assigned": _l("已认领"),
    "in_progress": _l("办理中"), "awaiting_enterprise": _l("待企业补正"),
    "submitted": _l("已报送部门"), "accepted": _l("部门已受理"), "on_hold": _l("部门中止计时"),
    "returned": _l("部门退回"), "approved": _l("已批准"),
    "done": _l("已办结"), "covered": _l("已豁免"), "suspended": _l("已中止"),
    "terminated": _l("已终止"),
}
STAGES = {
    "intention": _l("意向"), "signed": _l("签约"), "mandated": _l("委托代办"),
    "approving": _l("审批中"), "ready_to_start": _l("具备开工条件"), "started": _l("开工"),
    "completed": _l("竣工"), "producing": _l("投产"), "at_capacity": _l("达产"),
    "verified": _l("达产复核通过"), "suspended": _l("中止"), "terminated": _l("终止"),
}
ROLES = {"enterprise": _l("企业"), "agent": _l("代办员"), "lead": _l("领办人"),
         "supervisor": _l("督查"), "admin": _l("管理员")}
ACTIONS = {
    "claim": _l("认领"), "assign": _l("分派"), "reassign": _l("改派"), "handoff": _l("移交"),
    "unassign": _l("退回队列"), "auto_assign": _l("自动分派"), "start": _l("开始办理"),
    "request_materials": _l("一次性告知补正"), "supply_materials": _l("材料已补齐"),
    "submit": _l("报送部门"), "accept": _l("部门受理"),
    "department_pause": _l("法定时限中止（专家评审/听证/检验检测）"),
    "department_resume": _l("恢复法定计时"),
    "approve": _l("部门批准"), "department_return": _l("部门退回"),
    "rework": _l("重新办理"), "complete": _l("办结"), "cover": _l("豁免（评估/承诺）"),
    "request_extension": _l("申请延期"), "decide_extension": _l("审批延期"),
    "request_item": _l("申请办理（如竣工验收）"),
    "comment": _l("留言"), "advance": _l("推进到下一阶段"), "mandate": _l("签订代办委托书"),
    "sign": _l("确认签约"), "suspend": _l("中止项目"), "resume": _l("恢复项目"),
    "terminate": _l("终止项目"),
    "upload": _l("上传附件"),
}
LIGHTS = {"green": _l("正常"), "yellow": _l("临期"), "red": _l("超期"), "paused": _l("暂停计时")}
# The two clocks of an item (workflow.core.clocks) and whose time each counts.
CLOCKS = {"service": _l("代办服务时限"), "statutory": _l("法定办理时限")}
WHOSE = {"agent": _l("代办计时"), "department": _l("部门计时"), "enterprise": _l("企业补正，暂停计时")}
CLOCK_STATUS = {"waiting": _l("未开始"), "running": _l("计时中"), "paused": _l("暂停计时"),
                "stopped": _l("已停止")}
OUTCOMES = {"on_time": _l("按时"), "late": _l("超时")}
HOLD_KINDS = {"expert_review": _l("专家评审"), "hearing": _l("听证"),
              "testing": _l("检验检测鉴定"), "other": _l("其他法定不计时情形")}



def state_label(state: str) -> str:
    return str(STATES.get(state, state))


def stage_label(stage: str) -> str:
    return str(STAGES.get(stage, stage))


def english() -> bool:
    bound = _catalogue.get()
    if bound is not None:
        return bound[1]
    locale = flask_babel.get_locale()
    return locale is not None and locale.language == "en"


def name_of(obj) -> str:
    """``name_zh`` or ``name_en`` of a definition object or group, by locale."""
    return obj.name_en if english() else obj.name_zh

EVENTS = {
    "project.created": _l("项目登记"), "project.sign": _l("签约"),
    "project.mandate": _l("签订代办委托书"), "project.begin_approvals": _l("开始审批"),
    "project.advance": _l("进入下一阶段"), "project.suspend": _l("项目中止"),
    "project.resume": _l("项目恢复"), "project.terminate": _l("项目终止"),
    "task.release": _l("事项受理，进入本组队列"), "task.clock_resumed": _l("恢复计时"),
    "task.decide_extension": _l("延期审批"), "comment.added": _l("留言"),
    "task.dates_recomputed": _l("按公布的节假日安排重算时限"),
    "attachment.added": _l("上传附件"), "project.access_code_issued": _l("生成查询码"),
    "notice.issued": _l("签发督办单"), "notice.acknowledged": _l("签收督办单"),
    "notice.reported": _l("反馈督办单"), "rating.recorded": _l("企业评价"),
    "rectification.opened": _l("启动整改"), "rectification.closed": _l("整改完成"),
    "rectification.overdue": _l("整改逾期"), "evaluation.recorded": _l("登记区域评估成果"),
}


def event_label(action: str) -> str:
    """A readable name for an audit event's action (``task.claim`` → 认领);
    an action no area has named yet reads as 其他操作, never as its code."""
    if action in EVENTS:
        return str(EVENTS[action])
    last = action.split(".")[-1]
    return str(ACTIONS[last]) if last in ACTIONS else str(OTHER_EVENT)


OTHER_EVENT = _l("其他操作")
