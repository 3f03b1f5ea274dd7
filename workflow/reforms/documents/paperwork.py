"""What every agency document shares: its number, its snapshot and the hash
of it, the text the enterprise signs (the mandate and a change of its scope),
and the insert that records it in the project's audit chain and tells the
enterprise."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from workflow.core import audit, notify
from workflow.core import operations as ops
from workflow.core.models import ItemTask, Project
from workflow.kernel.errors import Conflict
from workflow.kernel.models import User
from workflow.reforms.documents.models import AgencyDocument

# 标准依据 printed on every document.
STANDARD = "DB14/T 2233—2020"
# The trustee (受托方): the zone's agency service on behalf of the administration.
TRUSTEE_SUFFIX = "管理委员会（项目代办服务中心）"
TITLES = {
    "mandate": "代办服务委托书",
    "suspension": "代办服务中止单",
    "termination": "代办服务终止单",
    "continuation": "续办委托书",
    "completion": "代办服务办结单",
}
# 文号 prefixes: 左开 (左云经开区) + 代办 + the kind.
NUMBER_PREFIX = {
    "mandate": "左开代委",
    "suspension": "左开代中",
    "termination": "左开代终",
    "continuation": "左开代续",
    "completion": "左开代结",
}
NUMBER_ATTEMPTS = 5


# -- numbers and hashes -------------------------------------------------------------------

def canonical_json(data: dict[str, Any]) -> str:
    return json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def content_hash(data: dict[str, Any]) -> str:
    """SHA-256 of the snapshot's canonical JSON (printed in small type)."""
    return hashlib.sha256(canonical_json(data).encode()).hexdigest()


def verify(document: AgencyDocument) -> bool:
    """True while the stored snapshot still matches the hash it was issued with."""
    return content_hash(document.data) == document.sha256


def number_head(kind: str, year: int) -> str:
    return f"{NUMBER_PREFIX[kind]}〔{year}〕"


def next_number(session: Session, kind: str, year: int) -> str:
    """The next free number of ``kind`` in ``year``: the highest committed (or
    this transaction's own) sequence plus one."""
    head = number_head(kind, year)
    taken = session.scalars(select(AgencyDocument.number).where(
        AgencyDocument.kind == kind, AgencyDocument.number.like(f"{head}%")))
    seqs = [int(n[len(head):-1]) for n in taken if n[len(head):-1].isdigit()]
    return f"{head}{max(seqs, default=0) + 1:04d}号"


# -- the snapshot -------------------------------------------------------------------------

def _day(value: date | None) -> str | None:
    return value.isoformat() if value is not None else None


def _person(user: User | None) -> dict[str, Any] | None:
    if user is None:
        return None
    return {"username": user.username, "name": user.display_name, "department": user.department}


def _ordered_tasks(project: Project) -> list[ItemTask]:
    order = list(ops.definition_for(project).items)
    return sorted(project.tasks, key=lambda t: (order.index(t.item_code)
                                                if t.item_code in order else len(order), t.id))


def _item_line(project: Project, task: ItemTask, **extra: Any) -> dict[str, Any]:
    definition = ops.definition_for(project)
    item = definition.items.get(task.item_code)
    department = definition.departments.get(task.department)
    line = {
        "code": task.item_code,
        "name": item.name_zh if item else task.item_code,
        "department": task.department,
        "department_name": department.name_zh if department else task.department,
        "limit": ({"amount": item.limit.amount, "unit": item.limit.unit} if item else None),
        "state": task.state,
        "agent": task.assignee.display_name if task.assignee else None,
        # Unassigned at issue: the group whose queue holds the item (its agents take it).
        "queue": None if task.assignee else task.group.name_zh,
        "accepted_on": _day(task.accepted_on),
        "due_on": _day(task.due_on),
    }
    line.update(extra)
    return line


def _agents(session: Session, project: Project) -> list[dict[str, Any]]:
    """The agents working the project's items; before anyone took an item, the
    group's agents who will (the mandate names the team)."""
    seen: dict[int, User] = {}
    for task in _ordered_tasks(project):
        if task.assignee is not None and task.state != "terminated":
            seen.setdefault(task.assignee.id, task.assignee)
    team = list(seen.values()) or notify.group_agents(session, project.group_id)
    return [_person(u) for u in team]


def snapshot(session: Session, project: Project, kind: str, *, number: str, today: date,
             items: Iterable[dict[str, Any]], details: dict[str, Any]) -> dict[str, Any]:
    """What the document says: the parties, the project, the items and the
    particulars of the kind (reasons, agents, scope, results). JSON only."""
    definition = ops.definition_for(project)
    company = project.enterprise
    industry = definition.industries.get(project.industry)
    return {
        "kind": kind,
        "title": TITLES[kind],
        "number": number,
        "standard": STANDARD,
        "issued_on": today.isoformat(),
        "zone": definition.name_zh,
        "trustee": f"{definition.name_zh}{TRUSTEE_SUFFIX}",
        "enterprise": {"name": company.name, "credit_code": company.credit_code,
                       "contact_name": company.contact_name,
                       "contact_phone": company.contact_phone},
        "project": {"code": project.code, "name": project.name, "industry": project.industry,
                    "industry_name": industry.name_zh if industry else project.industry,
                    "group": project.group.code, "group_name": project.group.name_zh,
                    "lead": _person(project.lead), "investment_wan": project.investment_wan,
                    "stage": project.stage},
        "agents": _agents(session, project),
        "items": list(items),
        **details,
    }


# -- the text the enterprise signs ---------------------------------------------------------

def signs(kind: str, data: dict[str, Any]) -> bool:
    """Whether the enterprise signs a document of ``kind`` with ``data``: the
    mandate and a change of its scope (a change of agent is the zone's own)."""
    return kind == "mandate" or (kind == "continuation" and data.get("change") == "scope")


def _limit_text(limit: dict[str, Any] | None) -> str:
    if not limit:
        return "—"
    if limit.get("unit") == "calendar_days":
        return f"{limit['amount']}日（自然日）"
    return f"{limit['amount']}个工作日"


def _lines(items: list[dict[str, Any]]) -> str:
    return "\n".join(f"    {n}. {i['name']}（{i['department_name']}，法定时限"
                     f"{_limit_text(i.get('limit'))}）" for n, i in enumerate(items, 1)) \
        or "    （无）"


def _parties(data: dict[str, Any]) -> str:
    company, project = data["enterprise"], data["project"]
    lead = project["lead"]["name"] if project.get("lead") else "—"
    agents = "、".join(a["name"] for a in data.get("agents", [])) or "—"
    return (f"委托方：{company['name']}（统一社会信用代码：{company.get('credit_code') or '—'}）\n"
            f"受托方：{data['trustee']}\n"
            f"项目：{project['name']}（项目代码：{project['code']}）\n"
            f"领办人：{lead}；代办员：{agents}\n\n")


def _closing(data: dict[str, Any]) -> str:
    return (f"依据：{data['standard']} 政务服务帮（代）办服务规范。\n\n"
            f"委托方：{data['enterprise']['name']}\n受托方：{data['trustee']}\n"
            f"出具日期：{data['issued_on']}\n")


def signing_text(data: dict[str, Any]) -> str:
    """The mandate or the change of its scope as the enterprise reads and signs
    it (plain text, generated from the snapshot; stored in it at issue, so
    its SHA-256 is the digest of what was shown)."""
    head = f"{data['title']}\n编号：{data['number']}\n\n"
    if data["kind"] == "mandate":
        return (head + _parties(data)
                + "一、委托方自愿委托受托方为上述项目免费提供全程代办服务，代办范围为下列事项：\n"
                + _lines(data["items"]) + "\n\n"
                "二、受托方代办员在委托范围内帮办代办，不代替委托方作出决定（帮办代办不包办）；"
                "委托方对所提供材料的真实性、完整性负责。\n\n"
                "三、本委托书经委托方签署后生效；签署前，代办员不代为办理上述事项。\n\n"
                + _closing(data))
    return (head + f"原委托书：{data.get('mandate') or '—'}\n" + _parties(data)
            + f"变更原因：{data['reason']}\n\n"
            "一、新增代办事项：\n" + _lines(data.get("added", [])) + "\n\n"
            "二、移出代办事项（自签署之日起终止代办，由委托方自行办理）：\n"
            + _lines(data.get("removed", [])) + "\n\n"
            "三、变更后的代办范围：\n" + _lines(data["items"]) + "\n\n"
            "四、本续办委托书经委托方签署后生效；生效前按原委托范围办理，原委托书其他内容不变。\n\n"
            + _closing(data))


def document_text(document: AgencyDocument) -> str:
    """The text of a document the enterprise signs: the one stored at issue
    (documents issued before signatures existed get theirs generated)."""
    return document.data.get("text") or signing_text(document.data)


# -- issuing ------------------------------------------------------------------------------

def documents_of(session: Session, project_id: int, kind: str | None = None) -> list[AgencyDocument]:
    """A project's documents in issue order."""
    query = select(AgencyDocument).where(AgencyDocument.project_id == project_id)
    if kind is not None:
        query = query.where(AgencyDocument.kind == kind)
    return list(session.scalars(query.order_by(AgencyDocument.issued_at, AgencyDocument.id)))


def _message(project: Project, kind: str, number: str, to_sign: bool) -> notify.Message:
    ask = ("请登录企业端阅读并签署（或说明理由后拒绝）；签署前代办员不代为办理相关事项。" if to_sign
           else "可在项目页面查看和下载。")
    return notify.Message("document_issued", f"【{TITLES[kind]}】{project.name}",
                          f"您的项目「{project.name}」（{project.code}）的{TITLES[kind]}"
                          f"（{number}）已出具，{ask}")


def store(session: Session, project: Project, kind: str, *, actor: User | None, now: datetime,
          items: list[dict[str, Any]], details: dict[str, Any]) -> AgencyDocument:
    """Number, hash and insert the document (retrying on a number taken by a
    concurrent transaction), record it in the audit chain and tell the
    enterprise. A document the enterprise signs keeps the text it will be
    shown and waits for its answer."""
    today = ops.zone_today(now)
    for _attempt in range(NUMBER_ATTEMPTS):
        number = next_number(session, kind, today.year)
        data = snapshot(session, project, kind, number=number, today=today, items=items,
                        details=details)
        to_sign = signs(kind, data)
        if to_sign:
            data["text"] = signing_text(data)
        document = AgencyDocument(project_id=project.id, kind=kind, number=number, data=data,
                                  sha256=content_hash(data), status="awaiting" if to_sign else None,
                                  issued_by_id=actor.id if actor else None, issued_at=ops.utc(now))
        try:
            with session.begin_nested():
                session.add(document)
                session.flush()
        except IntegrityError:
            continue  # another transaction committed this number first: take the next
        break
    else:
        raise Conflict("Could not number the {title}; try again.", kind=kind, title=TITLES[kind])
    entry = audit.record(session, project, actor=actor, now=ops.utc(now), action="document.issued",
                         data={"document": document.id, "kind": kind, "number": number,
                               "sha256": document.sha256})
    notify.tell(session, notify.enterprise_users(session, project),
                _message(project, kind, number, to_sign), now=now,
                key=f"audit:{entry.project_id}:{entry.seq}", project=project)
    ops.flush(session)
    return document
