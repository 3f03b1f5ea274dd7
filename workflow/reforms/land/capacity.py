"""The capacity review (达产复核): the enterprise (or its lead) reports the
actual figures, the engine assesses them against the agreement, and the
lead's decision records pass, rectification by a deadline, or breach with a
serious credit record (失信)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from workflow.core import audit, notify, permissions
from workflow.core import operations as ops
from workflow.core.models import Project
from workflow.kernel.errors import InvalidTransition, NotPermitted, ValidationError, term
from workflow.kernel.models import User
from workflow.reforms.commitments.models import CreditRecord
from workflow.reforms.land.agreements import _agreement, _checkpoint, _reached, _result
from workflow.reforms.land.indicators import (
    REPORT_FIELDS,
    RULES,
    TALL_STOREYS,
    Figures,
    LandRules,
    _text,
    assess,
    parse_figures,
    verdict_for,
)
from workflow.reforms.land.lifecycle import CHECKPOINTS
from workflow.reforms.land.models import CapacityReport, Checkpoint


def _may_report(actor: User | None, project: Project) -> None:
    if actor is not None and not permissions.can_report_capacity(actor, project):
        raise NotPermitted("{user} may not report figures for {project}.", user=actor.username,
                           project=project.code)


def report_capacity(session: Session, project_id: int, figures: Figures | Mapping[str, Any], *,
                    actor: User | None, now: datetime,
                    extras: Mapping[str, Any] | None = None) -> CapacityReport:
    """The enterprise (or its lead) reports the actual figures for the 达产复核:
    the engine computes each indicator and keeps the assessment pending until
    the lead confirms it (``confirm_capacity``)."""
    project = ops.lock_project(session, project_id)
    _may_report(actor, project)
    report, _checkpoint_row = _report(session, project, figures, extras, actor=actor, now=now)
    if actor is None or actor.role == "enterprise":
        lead = [project.lead] if project.lead is not None else []
        notify.tell(session, lead, notify.Message(
            "capacity_reported", f"【达产复核】{project.name}：企业已报送数据",
            f"项目「{project.name}」（{project.code}）的企业已报送达产复核数据，系统已计算各项指标，"
            "请核对后确认复核结论。"), now=ops.utc(now), key=f"land:report:{report.id}",
            project=project)
    return report


def _report(session: Session, project: Project, figures: Figures | Mapping[str, Any],
            extras: Mapping[str, Any] | None, *, actor: User | None,
            now: datetime) -> tuple[CapacityReport, Checkpoint]:
    if actor is None:
        raise ValidationError("A capacity report is made by a person (the enterprise or its lead).")
    checkpoint = _checkpoint(session, project, "capacity")
    if checkpoint.status not in ("open", "rectifying"):
        raise InvalidTransition("The capacity review of {project} is closed ({status}).",
                                status=checkpoint.status, project=project.code)
    if not _reached(ops.definition_for(project), project, "at_capacity"):
        raise InvalidTransition("The capacity review needs the project at capacity (达产); "
                                "it is {state}.", state=project.stage)
    if not isinstance(figures, Figures):
        figures = parse_figures(figures, extras)
    agreement = _agreement(session, project.id)
    assessment = assess(agreement.indicators, figures, Decimal(agreement.parcel.area_mu))
    report = CapacityReport(
        checkpoint_id=checkpoint.id, investment_wan=figures.investment_wan,
        floor_area_m2=figures.floor_area_m2, tall_floor_area_m2=figures.tall_floor_area_m2,
        tax_wan=figures.tax_wan, output_wan=figures.output_wan,
        energy_tce=figures.energy_tce, extras={k: str(v) for k, v in figures.extras.items()},
        reported_by_id=actor.id, reported_at=ops.utc(now))
    session.add(report)
    ops.flush(session)
    today = ops.zone_today(now)
    assessment.update(report=report.id, reported_on=today.isoformat(),
                      reported_by=actor.display_name,
                      figures={name: str(figures.get(name)) for name in REPORT_FIELDS}
                      | {TALL_STOREYS[0]: str(figures.tall_floor_area_m2)}
                      | {k: str(v) for k, v in figures.extras.items()})
    proposal, rectify_by = verdict_for(assessment, checkpoint, today)
    assessment.update(proposal=proposal, rectify_by=rectify_by.isoformat() if rectify_by else None)
    result = _result(checkpoint)
    result["pending"] = assessment
    checkpoint.result = result
    audit.record(session, project, actor=actor, now=ops.utc(now), action="land.capacity_reported",
                 data={"report": report.id, "figures": assessment["figures"],
                       "indicators": assessment["indicators"], "proposal": proposal}, public=True)
    ops.flush(session)
    return report, checkpoint


def confirm_capacity(session: Session, project_id: int, *, actor: User | None, now: datetime,
                     note: str = "", rules: LandRules = RULES) -> Checkpoint:
    """The lead confirms the pending assessment: the verdict is recorded —
    passed, rectifying (with its deadline) or breached (a serious credit
    record on the enterprise) — and the enterprise is told."""
    project = ops.lock_project(session, project_id)
    permissions.require_project(actor, project)
    checkpoint = _checkpoint(session, project, "capacity")
    return _decide(session, project, checkpoint, actor=actor, now=now, note=note, rules=rules)


def review_capacity(session: Session, project_id: int, figures: Figures | Mapping[str, Any], *,
                    actor: User | None, now: datetime, extras: Mapping[str, Any] | None = None,
                    note: str = "", rules: LandRules = RULES) -> Checkpoint:
    """The lead records the reported figures and decides in one step."""
    project = ops.lock_project(session, project_id)
    permissions.require_project(actor, project)
    _report_row, checkpoint = _report(session, project, figures, extras, actor=actor, now=now)
    return _decide(session, project, checkpoint, actor=actor, now=now, note=note, rules=rules)


VERDICT_WORDS = {"passed": "通过", "rectifying": "限期整改", "breached": "违约"}


def _decide(session: Session, project: Project, checkpoint: Checkpoint, *, actor: User | None,
            now: datetime, note: str, rules: LandRules) -> Checkpoint:
    result = _result(checkpoint)
    pending = result.get("pending")
    if not pending:
        raise InvalidTransition("There is no reported figure to decide on: the enterprise reports first.")
    if checkpoint.status not in ("open", "rectifying"):
        raise InvalidTransition("The capacity review is closed ({status}).",
                                status=checkpoint.status)
    today = ops.zone_today(now)
    verdict, rectify_by = verdict_for(pending, checkpoint, today, rules)
    before = checkpoint.status
    decision = dict(pending, verdict=verdict, decided_on=today.isoformat(),
                    decided_by=actor.display_name if actor else None,
                    rectify_by=rectify_by.isoformat() if rectify_by else None,
                    note=_text(note, term("note"), limit=2000, required=False))
    result["reviews"] = [*result.get("reviews", []), decision]
    result["pending"] = None
    result.pop("notified", None)  # a new deadline may need a new reminder
    checkpoint.result = result
    CHECKPOINTS.fire(checkpoint, {"passed": "pass", "rectifying": "rectify", "breached": "breach"}[verdict])
    checkpoint.rectify_by = rectify_by if verdict != "passed" else checkpoint.rectify_by
    checkpoint.decided_by_id = actor.id if actor else None
    checkpoint.decided_at = ops.utc(now)
    checkpoint.note = decision["note"] or None
    entry = audit.record(session, project, actor=actor, now=ops.utc(now), action="land.capacity_decided",
                         from_state=before, to_state=checkpoint.status,
                         data={"verdict": verdict, "rectify_by": rectify_by,
                               "indicators": pending["indicators"]}, public=True)
    missed = [f"{i['name']} {i['actual']}（承诺{'≥' if i['bound'] == 'min' else '≤'}{i['committed']}）"
              for i in pending["indicators"] if not i["met"]]
    if verdict == "breached":
        session.add(CreditRecord(
            enterprise_id=project.enterprise_id, project_id=project.id, severity="serious",
            source="capacity_breach", reference=f"{project.code} 达产复核"[:200],
            reason=f"达产复核未达到投资建设协议约定指标：{'；'.join(missed)}",
            created_by_id=actor.id if actor else None, created_at=ops.utc(now)))
    body = {"passed": "各项指标均达到投资建设协议的约定。",
            "rectifying": f"未达标指标：{'；'.join(missed)}。请于 {rectify_by} 前完成整改并重新报送。",
            "breached": f"未达标指标：{'；'.join(missed)}。已按协议认定违约并记入企业信用记录，"
                        "将依约取消相关优惠政策，必要时回购土地。"}[verdict]
    notify.tell(session, notify.enterprise_users(session, project), notify.Message(
        f"capacity_{verdict}", f"【达产复核】{project.name}：{VERDICT_WORDS[verdict]}",
        f"您的项目「{project.name}」（{project.code}）达产复核结论：{VERDICT_WORDS[verdict]}。{body}"),
        now=ops.utc(now), key=f"audit:{entry.project_id}:{entry.seq}", project=project)
    ops.flush(session)
    if verdict == "passed" and project.stage == "at_capacity":
        # 达产复核通过 is the project's last lifecycle step.
        ops.advance_project(session, project.id, actor=actor, now=now)
    return checkpoint
