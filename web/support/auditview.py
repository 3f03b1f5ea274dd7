"""An audit event as people read it: the item's name, and each recorded
field under a label with its value rendered humanly (items and groups by
name, people by name, dates as dates, yes/no for booleans), in the user's
language. Internal ids and hashes stay in the record (and its JSON), not on
the page.

``Reader(session, project, events)`` reads once what a page of events needs
(the project's definition, the names of the people the events mention, in
one query) and then renders each event without further statements.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime

from markupsafe import Markup, escape
from sqlalchemy import select
from sqlalchemy.orm import Session

from web.support import labels
from web.support.labels import _l
from web.support.present import zone_time
from workflow.core.operations import definition_for
from workflow.models import User

KEYS = {
    "accepted_on": _l("受理日"), "approved": _l("批准"), "area_mu": _l("面积（亩）"),
    "asks": _l("企业诉求"), "assignee": _l("代办员"), "auto": _l("系统自动"),
    "built_area_mu": _l("已建面积（亩）"), "by_area": _l("按面积"), "by_investment": _l("按投资"),
    "capacity_by": _l("达产期限"), "cause": _l("原因"), "channel": _l("方式"),
    "checked": _l("核验指标"), "choice": _l("可选事项"), "clock": _l("时限"),
    "complete_by": _l("竣工期限"), "contacted_on": _l("联系日期"), "days": _l("天数"),
    "deadline": _l("期限"), "department": _l("办理部门"), "due_on": _l("到期日"),
    "enterprise": _l("企业"), "extensions": _l("延期"), "figures": _l("填报数据"),
    "from": _l("原期限"), "to": _l("新期限"), "group": _l("产业组"), "handoff": _l("移交"),
    "hesitation": _l("企业顾虑"), "hits": _l("命中规则"), "idle": _l("闲置"),
    "indicators": _l("指标"), "instead_of": _l("替代事项"), "invested_wan": _l("已投资（万元）"),
    "investment_wan": _l("投资（万元）"), "is_chemical": _l("化工项目"), "items": _l("事项"),
    "item": _l("事项"), "kind": _l("类别"), "land_price_wan": _l("土地出让金（万元）"),
    "lead": _l("领办人"), "materials": _l("材料"), "new_enterprise": _l("新企业"),
    "note": _l("说明"), "number": _l("文号"), "open_work": _l("在办事项数"),
    "parcel": _l("地块"), "paused_days": _l("暂停天数"), "previous": _l("原代办员"),
    "produce_by": _l("投产期限"), "proposal": _l("建议"), "reach": _l("达到阶段"),
    "reason": _l("原因"), "rectify_by": _l("整改期限"), "reference": _l("依据/文号"),
    "same_department": _l("同一部门"), "service_due_on": _l("代办服务时限到期日"),
    "service_on_time": _l("代办服务按时"), "signatory": _l("签署人"), "signed_on": _l("签署日期"),
    "since": _l("起始日"), "start_by": _l("开工期限"),
    "statutory_due_on": _l("法定办理时限到期日"), "statutory_on_time": _l("法定办理按时"),
    "stopped_on": _l("停止日"), "substitute_for": _l("代理"), "summary": _l("跟进情况"),
    "total_investment_wan": _l("总投资（万元）"), "verdict": _l("结论"), "via": _l("途径"),
    "name": _l("名称"), "unit": _l("单位"), "value": _l("数值"), "bound": _l("约束"),
    "committed": _l("约定值"), "actual": _l("实际值"), "met": _l("达标"),
    "shortfall": _l("差额"), "score": _l("评分"), "rating": _l("评价"), "body": _l("内容"),
    "report_text": _l("反馈"),
    "ack_due": _l("签收时限"), "report_due": _l("反馈时限"), "addressee": _l("接收人"),
    "promised_by": _l("承诺期限"), "letter": _l("承诺书"), "level": _l("级别"),
    "tall_floor_area_m2": _l("其中层高超过8米的建筑面积（平方米）"),
    # the land reports' figures and the standard indicators
    "floor_area_m2": _l("总建筑面积（平方米）"), "tax_wan": _l("年度税收（万元）"),
    "output_wan": _l("年度产值（万元）"), "energy_tce": _l("年综合能耗（吨标准煤）"),
    "value_added_wan": _l("工业增加值（万元）"),
    "investment_intensity": _l("固定资产投资强度"), "floor_area_ratio": _l("容积率"),
    "tax_per_mu": _l("亩均税收"), "output_per_mu": _l("亩均产值"),
    "output_per_tce": _l("单位能耗产值"), "value_added_per_tce": _l("单位能耗工业增加值"),
}
# Ids of other rows, hashes, codes that a name stands for: in the record, not on the page.
HIDDEN = {"definition", "sha256", "document", "comment", "follow_up", "report", "screening",
          "task", "attachment", "request", "code", "item_zh", "item_en", "notice",
          "rectification", "rating_id", "promise", "agreement", "checkpoint"}
# Values of a field in words; ``area.field`` (an area's own, registered by its view)
# before ``field``.
ENUMS: dict[str, dict] = {
    "kind": {"evaluation": _l("区域评估成果"), "commitment": _l("告知承诺"),
             "mandate": _l("代办服务委托书"), "suspension": _l("代办服务中止单"),
             "termination": _l("代办服务终止单"), "continuation": _l("续办委托书"),
             "completion": _l("代办服务办结单"), "expert_review": _l("专家评审"),
             "hearing": _l("听证"), "testing": _l("检验检测鉴定"),
             "other": _l("其他法定不计时情形")},
    "clock": labels.CLOCKS,
    "channel": {"meeting": _l("会议"), "visit": _l("走访"), "call": _l("电话"),
                "email": _l("邮件"), "other": _l("其他")},
    "verdict": {"pass": _l("通过"), "passed": _l("通过"), "rectifying": _l("整改"),
                "fail": _l("不通过"), "failed": _l("不通过"), "refuse": _l("不予准入"),
                "review": _l("需专家论证"), "kept": _l("已履行"), "broken": _l("未履行"),
                "rectify": _l("限期整改")},
    "proposal": {"passed": _l("通过"), "rectifying": _l("整改")},
    "via": {"portal": _l("网上签署"), "paper": _l("纸质签署"), "online": _l("网上签署")},
    "bound": {"min": _l("不低于"), "max": _l("不高于")},
    "cause": {"land_not_delivered": _l("土地未按期交付"), "government": _l("政府原因"),
              "force_majeure": _l("不可抗力")},
}
YES, NO = _l("是"), _l("否")
# The states of an area's own records on its events (``land`` → its checkpoints'),
# filled by the area's view.
STATES: dict[str, dict] = {}
DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
MOMENT = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")
PEOPLE = ("assignee", "lead", "previous", "substitute_for", "addressee", "to_user")
ITEMS = ("item", "instead_of")


class Reader:
    """Renders the events of one page of one project's audit chain."""

    def __init__(self, session: Session, project, events: Iterable) -> None:
        self.definition = definition_for(project)
        names = {v for e in events for k, v in (e.data or {}).items()
                 if k in PEOPLE and isinstance(v, str)}
        self._area = ""
        self.people = dict(session.execute(select(User.username, User.display_name).where(
            User.username.in_(sorted(names)))).all()) if names else {}

    def state(self, event, state: str | None) -> str:
        """A state of the event's object in words: a task's, the project's
        stage, or the state an area registered for its events (``STATES``)."""
        if not state:
            return ""
        area = event.action.split(".")[0]
        table = STATES.get(area) or (labels.STATES if area == "task" else labels.STAGES)
        return str(table.get(state) or labels.STATES.get(state) or labels.STAGES.get(state)
                   or state)

    def item(self, event) -> str:
        code = (event.data or {}).get("item")
        return self._item(code) if isinstance(code, str) else ""

    def fields(self, event) -> list[tuple[str, Markup]]:
        """(label, value) of each field worth showing, the item apart."""
        shown, self._area = [], event.action.split(".")[0]
        for key, value in (event.data or {}).items():
            if key in HIDDEN or key == "item" or value is None or value in ("", [], {}):
                continue
            shown.append((str(KEYS.get(key, _humane(key))), self.value(key, value)))
        return shown

    def value(self, key: str, value) -> Markup:
        d = self.definition
        if isinstance(value, bool):
            return Markup(escape(str(YES if value else NO)))
        if key in ITEMS and isinstance(value, str):
            return Markup(escape(self._item(value)))
        if key == "items" and isinstance(value, list):
            return Markup(escape("、".join(self._item(str(c)) for c in value)))
        if key == "choice" and isinstance(value, str):
            names = [labels.name_of(i) for i in d.items.values() if i.choice == value]
            return Markup(escape(" / ".join(names) or value))
        named = {"group": d.groups, "department": d.departments, "industry": d.industries,
                 "reach": d.stages, "stage": d.stages}.get(key)
        if named is not None and isinstance(value, str):
            return Markup(escape(labels.name_of(named[value]) if value in named else value))
        if key in PEOPLE and isinstance(value, str):
            return Markup(escape(self.people.get(value, value)))
        enum = ENUMS.get(f"{self._area}.{key}") or ENUMS.get(key)
        if enum is not None and isinstance(value, str):
            return Markup(escape(str(enum.get(value, value))))
        if isinstance(value, dict):
            return self._mapping(value)
        if isinstance(value, list):
            return Markup("；").join(self.value(key, v) for v in value)
        if isinstance(value, str) and MOMENT.match(value):
            try:
                return Markup(escape(zone_time(datetime.fromisoformat(value))))
            except ValueError:
                pass
        return Markup(escape(str(value)))

    def _mapping(self, value: dict) -> Markup:
        if "name" in value:  # an indicator: its name says what its code would
            rest = self._mapping({k: v for k, v in value.items() if k not in ("name", "unit")})
            unit = f"（{value['unit']}）" if value.get("unit") else ""
            return Markup("{}{}：{}").format(value["name"], unit, rest)
        parts = []
        for k, v in value.items():
            if k in HIDDEN or v is None:
                continue
            label = v["name"] if isinstance(v, dict) and "name" in v else KEYS.get(k, _humane(k))
            inner = self.value(k, {x: y for x, y in v.items() if x != "name"}) \
                if isinstance(v, dict) else self.value(k, v)
            parts.append(Markup("{}：{}").format(str(label), inner))
        return Markup("，").join(parts)

    def _item(self, code: str) -> str:
        item = self.definition.items.get(code)
        return labels.name_of(item) if item is not None else code


def _humane(key: str) -> str:
    """A field no label names yet: its words, not its identifier."""
    return key.replace("_", " ")
