"""Registering an intention and following it up: the intention project with
its enterprise (new, or found by credit code or name), its provisional code,
the follow-up contacts with the enterprise's hesitation and asks, changes of
investment or leader, and the conversion that signs the same project row."""

from __future__ import annotations

import re
from datetime import date, datetime
from functools import partial
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from workflow.core import audit, notify, operations, permissions
from workflow.core.models import Project
from workflow.core.operations import flush, lock_project, utc, zone_today
from workflow.kernel import validate
from workflow.kernel.errors import InvalidTransition, NotFound, NotPermitted, ValidationError, term
from workflow.kernel.models import Enterprise, User
from workflow.kernel.moments import parse_day
from workflow.kernel.registry import current_version, definition_of
from workflow.reforms.intentions.models import FollowUp

CHANNELS = ("visit", "call", "meeting", "online", "other")
_CREDIT_CODE = re.compile(r"^[0-9A-HJ-NPQRTUWXY]{2}\d{6}[0-9A-HJ-NPQRTUWXY]{10}$")


# Ledger fields are optional unless a call says otherwise.
_text = partial(validate.text, required=False, limit=2000)


def _wan(value: Any, what: str = term("planned investment (万元)")) -> int:
    if isinstance(value, bool):
        raise ValidationError("The {what} is a whole number of 万元.", field="investment_wan",
                              what=what)
    try:
        amount = int(str(value).replace(",", "").strip()) if not isinstance(value, int) else value
    except ValueError:
        raise ValidationError("The {what} is a whole number of 万元.", field="investment_wan",
                              what=what) from None
    if amount < 0:
        raise ValidationError("The {what} cannot be negative.", field="investment_wan", what=what)
    return amount


def _refused(allowed: bool, actor: User | None) -> bool:
    """Whether ``actor`` is refused (``None``, the system, never is); each
    caller raises its own sentence."""
    return actor is not None and not allowed


def provisional_code(session: Session, now: datetime) -> str:
    """A placeholder code (意向-year-number) until the filing issues the real
    项目代码: YX-2026-0001, YX-2026-0002, …"""
    prefix = f"YX-{zone_today(now).year}-"
    taken = set(session.scalars(select(Project.code).where(Project.code.like(f"{prefix}%"))))
    n = len(taken) + 1
    while f"{prefix}{n:04d}" in taken:
        n += 1
    return f"{prefix}{n:04d}"


def _enterprise(session: Session, enterprise_id: int | None, name: str, credit_code: str,
                contact_name: str, contact_phone: str) -> tuple[Enterprise, bool]:
    if enterprise_id:
        found = session.get(Enterprise, int(enterprise_id))
        if found is None:
            raise NotFound("Enterprise {enterprise} does not exist.", enterprise=enterprise_id)
        return found, False
    name = _text(name, term("enterprise's name"), required=True, limit=200)
    credit_code = _text(credit_code, term("unified social credit code"), limit=18).upper()
    if credit_code and not _CREDIT_CODE.match(credit_code):
        raise ValidationError("{code} is not a unified social credit code (统一社会信用代码).",
                              field="credit_code", code=credit_code)
    if session.scalar(select(Enterprise.id).where(Enterprise.name == name)) is not None:
        raise ValidationError("{name} is already registered: choose it from the list.",
                              field="enterprise_name", name=name)
    if credit_code and session.scalar(select(Enterprise.id).where(
            Enterprise.credit_code == credit_code)) is not None:
        raise ValidationError("The credit code {code} is already registered.",
                              field="credit_code", code=credit_code)
    row = Enterprise(name=name, credit_code=credit_code or None,
                     contact_name=_text(contact_name, term("contact"), limit=100) or None,
                     contact_phone=_text(contact_phone, term("phone"), limit=40) or None)
    session.add(row)
    session.flush()
    return row, True


def create_intention(session: Session, *, name: str, industry: str, investment_wan: Any,
                     actor: User | None, now: datetime, enterprise_id: int | None = None,
                     enterprise_name: str = "", credit_code: str = "", contact_name: str = "",
                     contact_phone: str = "", lead: User | None = None, code: str = "",
                     hesitation: str = "", asks: str = "", is_chemical: bool = False,
                     enterprise_ref: str = "") -> Project:
    """Register an intention project (意向项目) for a new or an existing
    enterprise (``enterprise_id``, or ``enterprise_ref``: its credit code or
    exact name). The leader in charge is the one given, else the lead handler
    registering it, else the group's least-loaded lead. Projects of a chemical
    industry are chemical projects (screened before signing)."""
    if _refused(actor is None or permissions.can_keep_intentions(actor), actor):
        raise NotPermitted("{user} ({role}) may not register intention projects.",
                           user=actor.username, role=actor.role)
    # Everything is checked before the enterprise row is added: a refusal adds nothing.
    name = _text(name, term("project name"), required=True, limit=200)
    if industry not in definition_of(current_version(session)).industries:
        raise ValidationError("Unknown industry '{industry}'.", field="industry",
                              industry=industry)
    investment = _wan(investment_wan)
    hesitation = _text(hesitation, term("hesitation (观望原因)"))
    asks = _text(asks, term("asks (企业要求)"))
    if not enterprise_id and (enterprise_ref or "").strip():
        enterprise_id = find_enterprise(session, enterprise_ref).id
    company, new = _enterprise(session, enterprise_id, enterprise_name, credit_code,
                               contact_name, contact_phone)
    if lead is None and actor is not None and actor.role == "lead":
        lead = actor
    project = operations.create_project(
        session, code=_text(code, term("project code"), limit=40) or provisional_code(session, now),
        name=name, enterprise=company, industry=industry, actor=actor, now=now, lead=lead,
        investment_wan=investment, stage="intention")
    project.hesitation, project.asks = hesitation or None, asks or None
    project.is_chemical = bool(is_chemical) or project.is_chemical  # its industry's flag
    audit.record(session, project, actor=actor, now=utc(now), action="intention.recorded",
                 data={"enterprise": company.name, "new_enterprise": new,
                       "investment_wan": investment, "hesitation": hesitation, "asks": asks,
                       "is_chemical": project.is_chemical})
    if project.lead is not None and (actor is None or project.lead_id != actor.id):
        notify.tell(session, [project.lead], notify.Message(
            "intention", f"【意向项目】{project.name}",
            f"您负责跟进意向项目「{project.name}」（{company.name}，计划投资 {investment:,} 万元）。"),
            now=now, key=f"intention:{project.id}:lead", project=project)
    flush(session)
    return project


def _intention(session: Session, project_id: int) -> Project:
    project = lock_project(session, project_id)
    if project.stage != "intention":
        raise InvalidTransition("Project {project} is no longer an intention "
                                "(it is {state}).", state=project.stage, project=project.code)
    return project


def record_follow_up(session: Session, project_id: int, *, contacted_on: date | str, summary: str,
                     actor: User, now: datetime, contact: str = "", channel: str = "",
                     hesitation: str | None = None, asks: str | None = None) -> FollowUp:
    """Record a contact with the enterprise: when (not in the future), how,
    with whom, what was said (required), and — when given — why it still
    hesitates and what it asks for, which become the project's latest."""
    project = _intention(session, project_id)
    if _refused(permissions.can_follow_up(actor, project), actor):
        raise NotPermitted("{user} ({role}) may not follow up project {project}.",
                           user=actor.username, role=actor.role, project=project.code)
    day = parse_day(contacted_on, term("date of the contact"))
    if day > zone_today(now):
        raise ValidationError("The date of the contact cannot be in the future.",
                              field="contacted_on")
    summary = _text(summary, term("summary of the contact"), required=True, limit=5000)
    channel = (channel or "").strip()
    if channel and channel not in CHANNELS:
        raise ValidationError("Unknown channel '{channel}'.", field="channel", channel=channel)
    row = FollowUp(project_id=project.id, contacted_on=day, summary=summary, channel=channel,
                   contact=_text(contact, term("contact person"), limit=200),
                   hesitation=_text(hesitation, term("hesitation (观望原因)")),
                   asks=_text(asks, term("asks (企业要求)")),
                   recorded_by_id=actor.id, recorded_at=utc(now))
    session.add(row)
    if hesitation is not None:
        project.hesitation = row.hesitation or None
    if asks is not None:
        project.asks = row.asks or None
    flush(session)
    audit.record(session, project, actor=actor, now=utc(now), action="intention.follow_up",
                 data={"follow_up": row.id, "contacted_on": day, "channel": channel,
                       "summary": summary, "hesitation": row.hesitation, "asks": row.asks})
    if project.lead is not None and project.lead_id != actor.id:
        notify.tell(session, [project.lead], notify.Message(
            "intention", f"【意向跟进】{project.name}",
            f"{actor.display_name} 记录了 {day.isoformat()} 与{project.enterprise.name}的接洽："
            f"{summary[:200]}"),
            now=now, key=f"follow-up:{row.id}", project=project)
    flush(session)
    return row


def update_intention(session: Session, project_id: int, *, actor: User, now: datetime,
                     investment_wan: Any = None, lead: User | None = None) -> Project:
    """Change an intention's planned investment or the leader in charge."""
    project = _intention(session, project_id)
    if _refused(permissions.can_follow_up(actor, project), actor):
        raise NotPermitted("{user} ({role}) may not change project {project}.",
                           user=actor.username, role=actor.role, project=project.code)
    changes: dict[str, Any] = {}
    if investment_wan is not None and str(investment_wan).strip() != "":
        amount = _wan(investment_wan)
        if amount != project.investment_wan:
            changes["investment_wan"] = [project.investment_wan, amount]
            project.investment_wan = amount
    if lead is not None and lead.id != project.lead_id:
        if lead.role != "lead" or not lead.active:
            raise ValidationError("{name} is not an active lead handler.", field="lead",
                                  name=lead.display_name)
        changes["lead"] = [project.lead.username if project.lead else None, lead.username]
        project.lead_id = lead.id
        notify.tell(session, [lead], notify.Message(
            "intention", f"【意向项目】{project.name}",
            f"您已被指定为意向项目「{project.name}」的负责领导。"),
            now=now, key=f"intention:{project.id}:lead:{project.audit_seq + 1}", project=project)
    if not changes:
        return project
    audit.record(session, project, actor=actor, now=utc(now), action="intention.updated",
                 data=changes)
    flush(session)
    session.refresh(project, ["lead"])
    return project


def convert_intention(session: Session, project_id: int, *, actor: User, now: datetime) -> Project:
    """Sign an intention (签约): the same project row goes on, with its
    follow-ups and its audit chain; a chemical project must have cleared its
    entry screening (the guard is inside ``sign_project``)."""
    _intention(session, project_id)
    return operations.sign_project(session, project_id, actor=actor, now=now)


def find_enterprise(session: Session, ref: str) -> Enterprise:
    """A registered enterprise by its credit code or its exact name."""
    ref = _text(ref, term("enterprise (credit code or name)"), required=True, limit=200)
    found = session.scalar(select(Enterprise).where(
        or_(Enterprise.credit_code == ref.upper(), Enterprise.name == ref)).order_by(Enterprise.id))
    if found is None:
        raise ValidationError("No registered enterprise has the credit code or name '{ref}'.",
                              field="enterprise", ref=ref)
    return found
