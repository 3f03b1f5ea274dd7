"""Screening a chemical project before signing: the inputs validated, every
active rule applied with its reason, the verdict, the expert review a
restricted result needs, marking a project chemical, and the guard on
signing (``project.sign``)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflow.core import audit, hooks, notify, permissions
from workflow.core.models import Project
from workflow.core.operations import definition_for, flush, lock_project, utc, zone_today
from workflow.kernel.errors import (
    Conflict,
    InvalidTransition,
    NotFound,
    NotPermitted,
    ValidationError,
    term,
)
from workflow.kernel.models import User
from workflow.kernel.moments import parse_day
from workflow.reforms.chemicals.classes import chemical_classes
from workflow.reforms.chemicals.hazardous import _CAS, catalogue, valid_cas
from workflow.reforms.chemicals.matching import Catalogue
from workflow.reforms.chemicals.models import ChemicalClass, HazardousChemical, Screening, ScreeningRule
from workflow.reforms.chemicals.rulebook import KIND_ORDER, PROCESSES, PROJECT_KINDS, rules

REVIEW_CONCLUSIONS = ("approve", "refuse")
MAX_PRODUCTS = 100
MAX_WAN = Decimal(10) ** 9  # 万元: ten trillion yuan, beyond any project


def products_from_text(text: str) -> list[dict[str, str]]:
    """Products written one per line, ``name`` or ``name, CAS`` (a trailing
    token that looks like a CAS number is taken as one)."""
    products = []
    for line in (text or "").splitlines():
        line = line.strip()
        if not line:
            continue
        parts = [p for p in re.split(r"[,，\t]+|\s+(?=\d{2,7}-\d{2}-\d$)", line) if p.strip()]
        name, cas = parts[0].strip(), ""
        if len(parts) > 1 and _CAS.match(parts[-1].strip()):
            cas = parts[-1].strip()
            name = " ".join(p.strip() for p in parts[:-1])
        products.append({"name": name, "cas": cas})
    return products


def amount_wan(value: Any) -> Decimal | None:
    """An amount in 万元 (a number, or text with thousands separated by
    commas), exact to the yuan: at most four decimals, finite, at least 0."""
    if isinstance(value, bool) or value is None:
        return None
    try:
        amount = Decimal(value if isinstance(value, (int, Decimal)) else
                         str(value).replace(",", "").strip())
    except (InvalidOperation, ValueError):
        return None
    if not amount.is_finite() or amount < 0 or amount > MAX_WAN or amount != round(amount, 4):
        return None
    return amount


def stored_wan(amount: Decimal) -> int | float:
    """An amount as the screening's inputs keep it (JSON): whole 万元 as an integer."""
    return int(amount) if amount == amount.to_integral_value() else float(amount)


def wan_text(amount: Any) -> str:
    """4,999 or 4,999.5 (万元 as a reason shows them)."""
    value = Decimal(str(amount))
    return f"{int(value):,}" if value == value.to_integral_value() else f"{value.normalize():,}"


def screening_inputs(raw: Mapping[str, Any]) -> dict[str, Any]:
    """Validate what a screening is decided on: in a chemical park (and which);
    what the project builds (新建, 改扩建, 技术改造) and whether its fixed
    investment is declared to come in phases (分期投入); the total fixed
    investment and the land cost (万元), from which the fixed investment
    excluding land is computed (never typed); the products (names, CAS),
    processes, the project type, and the admission conditions the screener
    confirms."""
    in_park = raw.get("in_chemical_park")
    if not isinstance(in_park, bool):
        raise ValidationError("Say whether the project is inside a chemical park.",
                              field="in_chemical_park")
    park = str(raw.get("park_name") or "").strip()
    if in_park and not park:
        raise ValidationError("Name the chemical park the project is in.", field="park_name")
    if len(park) > 200:
        raise ValidationError("The name of the park is at most 200 characters.",
                              field="park_name")
    kind = raw.get("project_kind")
    if kind not in PROJECT_KINDS:
        raise ValidationError("Say whether the project is new (新建), an expansion (改扩建) or a "
                              "technical renovation (技术改造).", field="project_kind",
                              project_kind=str(kind))
    phased = raw.get("phased")
    if not isinstance(phased, bool):
        raise ValidationError("Say whether the fixed investment is declared to come in phases "
                              "(分期投入).", field="phased")
    total = amount_wan(raw.get("total_investment_wan"))
    if total is None:
        raise ValidationError("The total fixed investment (万元) is a number of at least 0, "
                              "exact to the yuan.", field="total_investment_wan")
    land = amount_wan(raw.get("land_cost_wan"))
    if land is None:
        raise ValidationError("The land cost (万元) is a number of at least 0, exact to the yuan.",
                              field="land_cost_wan")
    if land > total:
        raise ValidationError("The land cost cannot exceed the total fixed investment.")
    products = []
    for product in raw.get("products") or []:
        name = str(product.get("name") or "").strip()
        cas = str(product.get("cas") or "").strip()
        if not name:
            raise ValidationError("Each product needs a name.", field="products")
        if len(name) > 200:
            raise ValidationError("A product's name is at most 200 characters.", field="products")
        if cas and not valid_cas(cas):
            raise ValidationError("{cas} is not a valid CAS number ({name}).", field="products",
                                  cas=cas, name=name)
        products.append({"name": name, "cas": cas})
    if not products:
        raise ValidationError("List the project's products (at least one).", field="products")
    if len(products) > MAX_PRODUCTS:
        raise ValidationError("At most {limit} products.", field="products", limit=MAX_PRODUCTS)
    processes = list(dict.fromkeys(raw.get("processes") or []))
    unknown = [p for p in processes if p not in PROCESSES]
    if unknown:
        raise ValidationError("Unknown process: {listed}.", field="processes", processes=unknown,
                              listed=", ".join(unknown))
    project_type = str(raw.get("project_type") or "").strip()
    if len(project_type) > 200:
        raise ValidationError("The project type is at most 200 characters.",
                              field="project_type")
    attested = sorted({str(code) for code in raw.get("attested") or []})
    return {"in_chemical_park": in_park, "park_name": park, "project_kind": kind,
            "phased": phased, "total_investment_wan": stored_wan(total),
            "land_cost_wan": stored_wan(land), "fixed_investment_wan": stored_wan(total - land),
            "products": products, "processes": processes, "project_type": project_type,
            "attested": attested}


def _binds(params: Mapping[str, Any], inputs: Mapping[str, Any]) -> bool:
    """Whether a rule bound to some project kinds (``kinds``) binds this project."""
    kinds = params.get("kinds") or []
    return not kinds or inputs["project_kind"] in kinds


def _check(rule: ScreeningRule, inputs: Mapping[str, Any], index: Catalogue,
           project_name: str) -> list[tuple[str, dict[str, Any]]]:
    """The reasons ``rule`` is hit by ``inputs`` (empty: not hit), each with
    what the hit keeps beside it (how a product matched)."""
    params = rule.params or {}
    kind = PROJECT_KINDS.get(inputs.get("project_kind"), "")
    if rule.check == "in_chemical_park":
        if inputs["in_chemical_park"]:
            return []
        return [("项目拟选址不在化工园区内", {})]
    if rule.check == "min_fixed_investment":
        minimum = Decimal(str(params.get("min_wan", 0)))
        amount = Decimal(str(inputs["fixed_investment_wan"]))
        if not _binds(params, inputs) or amount >= minimum:
            return []
        return [(f"{kind}项目固定资产投资（不含土地）{wan_text(amount)} 万元"
                 f"（总投资 {wan_text(inputs['total_investment_wan'])} 万元，扣除土地费用 "
                 f"{wan_text(inputs['land_cost_wan'])} 万元），低于 {wan_text(minimum)} 万元", {})]
    if rule.check == "no_phasing":
        if not inputs["phased"] or not _binds(params, inputs):
            return []
        return [(f"{kind}项目申报固定资产投资分期投入", {})]
    if rule.check == "no_catalogue_level":
        levels = params.get("levels", [])
        return [(match.reason(index.class_names), match.record)
                for product in inputs["products"] for match in index.matches(product)
                if match.level in levels]
    if rule.check == "no_process":
        banned = params.get("processes") or ([params["process"]] if params.get("process") else [])
        return [(f"采用{PROCESSES.get(p, p)}工艺", {}) for p in inputs["processes"] if p in banned]
    if rule.check == "project_type":
        described = f"{inputs['project_type']} {project_name}"
        for keyword in params.get("keywords", []):
            if keyword and keyword in described:
                return [(f"项目类型“{inputs['project_type'] or project_name}”涉及“{keyword}”", {})]
        return []
    if rule.check == "attested":
        return [] if rule.code in inputs["attested"] else [("未确认满足该条件", {})]
    raise ValidationError("Rule {rule} names an unknown check '{check}'.", rule=rule.code,
                          check=rule.check)


def evaluate(rule_rows: Iterable[ScreeningRule], chemicals: Iterable[HazardousChemical],
             inputs: Mapping[str, Any], *, project_name: str = "",
             classes: Iterable[ChemicalClass] = ()) -> list[dict[str, Any]]:
    """Every hit of the active rules on ``inputs``, with its reason, in rule order."""
    index = Catalogue(chemicals, classes)
    hits = []
    for rule in sorted(rule_rows, key=lambda r: (KIND_ORDER.get(r.kind, 9), r.code)):
        if not rule.active:
            continue
        for reason, found in _check(rule, inputs, index, project_name):
            hits.append({"rule": rule.code, "kind": rule.kind, "check": rule.check,
                         "verdict": rule.verdict, "text": rule.text, "reason": reason,
                         "example": rule.example, **found})
    return hits


def verdict_of(hits: Iterable[Mapping[str, Any]]) -> str:
    """prohibited if any hit prohibits; restricted if any restricts; else pass."""
    verdicts = {hit["verdict"] for hit in hits}
    if "prohibited" in verdicts:
        return "prohibited"
    if "restricted" in verdicts:
        return "restricted"
    return "pass"


def latest_screening(session: Session, project_id: int) -> Screening | None:
    return session.scalar(select(Screening).where(Screening.project_id == project_id)
                          .order_by(Screening.screened_at.desc(), Screening.id.desc()).limit(1))


def screenings_of(session: Session, project_id: int) -> list[Screening]:
    """Every screening of a project, newest first."""
    return list(session.scalars(select(Screening).where(Screening.project_id == project_id)
                                .order_by(Screening.screened_at.desc(), Screening.id.desc())))


def _require_screener(actor: User | None, project: Project) -> None:
    if actor is not None and not permissions.can_screen(actor, project):
        raise NotPermitted("{user} ({role}) may not screen project {project}.",
                           project=project.code, user=actor.username, role=actor.role)


def screen_project(session: Session, project_id: int, raw_inputs: Mapping[str, Any], *,
                   actor: User | None, now: datetime) -> Screening:
    """Screen a chemical project before signing against every active rule;
    the result lists every hit with its reason and its verdict. A newer
    screening supersedes the older ones (which stay on record)."""
    project = lock_project(session, project_id)
    _require_screener(actor, project)
    if not project.is_chemical:
        raise ValidationError("Project {project} is not marked as a chemical project.",
                              project=project.code)
    if project.stage != "intention":
        raise InvalidTransition("Project {project} is already {state}: a chemical "
                                "project is screened before signing.", state=project.stage,
                                project=project.code)
    inputs = screening_inputs(raw_inputs)
    active = rules(session, active_only=True)
    if not active:
        raise ValidationError("No chemical-entry rules are installed: an admin installs or "
                              "imports them first.")
    hits = evaluate(active, catalogue(session), inputs, project_name=project.name,
                    classes=chemical_classes(session))
    verdict = verdict_of(hits)
    screening = Screening(project_id=project.id, inputs=inputs, verdict=verdict,
                          hits={"hits": hits, "rules_checked": len(active)},
                          screened_by_id=actor.id if actor else None, screened_at=utc(now))
    session.add(screening)
    flush(session)
    audit.record(session, project, actor=actor, now=utc(now), action="chemicals.screened",
                 data={"screening": screening.id, "verdict": verdict,
                       "hits": [h["rule"] for h in hits]})
    if verdict != "pass":
        words = {"prohibited": "禁止准入", "restricted": "限制准入，须专家论证"}[verdict]
        _tell_lead(session, project, actor, now, key=f"screening:{screening.id}",
                   message=notify.Message("chemical_screening", f"【化工准入】{project.name}：{words}",
                                          f"项目「{project.name}」的化工项目准入评估结论为“{words}”，"
                                          f"共命中 {len(hits)} 条规则。"))
    flush(session)
    return screening


def _tell_lead(session: Session, project: Project, actor: User | None, now: datetime, *,
               key: str, message: notify.Message) -> None:
    if project.lead is not None and (actor is None or project.lead_id != actor.id):
        notify.tell(session, [project.lead], message, now=now, key=key, project=project)




def record_review(session: Session, screening_id: int, *, experts: Iterable[str] | str,
                  reviewed_on: date | str, conclusion: str, note: str = "",
                  actor: User | None, now: datetime) -> Screening:
    """Record the expert review (专家论证) a restricted result requires: the
    experts' names, the date, the conclusion (approve / refuse) and a note
    (required when they refuse). Only the latest screening is reviewed, once."""
    screening = session.get(Screening, screening_id)
    if screening is None:
        raise NotFound("Screening {screening} does not exist.", screening=screening_id)
    project = lock_project(session, screening.project_id)
    session.refresh(screening)
    _require_screener(actor, project)
    if screening.verdict != "restricted":
        raise InvalidTransition("Only a restricted screening result is reviewed by experts.",
                                verdict=screening.verdict)
    latest = latest_screening(session, project.id)
    if latest is not None and latest.id != screening.id:
        raise InvalidTransition("A newer screening of this project exists: review that one.")
    if screening.review is not None:
        raise Conflict("The expert review of this screening is already recorded.")
    if project.stage != "intention":
        raise InvalidTransition("Project {project} is already {state}.", project=project.code,
                                state=project.stage)
    names = _split_names(experts)
    if not names:
        raise ValidationError("Name the experts of the review (at least one).", field="experts")
    day = parse_day(reviewed_on, term("date of the review"))
    if day > zone_today(now):
        raise ValidationError("The date of the review cannot be in the future.",
                              field="reviewed_on")
    if conclusion not in REVIEW_CONCLUSIONS:
        raise ValidationError("The experts' conclusion is approve or refuse.", field="conclusion",
                              conclusion=conclusion)
    note = (note or "").strip()
    if conclusion == "refuse" and not note:
        raise ValidationError("Say why the experts refused.", field="note")
    screening.review = {"experts": names, "reviewed_on": day.isoformat(), "conclusion": conclusion,
                        "note": note}
    screening.reviewed_by_id = actor.id if actor else None
    screening.reviewed_at = utc(now)
    audit.record(session, project, actor=actor, now=utc(now), action="chemicals.reviewed",
                 data={"screening": screening.id, "conclusion": conclusion, "experts": names,
                       "reviewed_on": day})
    _tell_lead(session, project, actor, now, key=f"screening-review:{screening.id}",
               message=notify.Message("chemical_review", f"【化工准入】{project.name}：专家论证已记录",
                                      f"项目「{project.name}」的专家论证结论："
                                      f"{'同意' if conclusion == 'approve' else '不同意'}。"))
    flush(session)
    return screening


def _split_names(experts: Iterable[str] | str) -> list[str]:
    if isinstance(experts, str):
        experts = re.split(r"[\n,，、;；]+", experts)
    return list(dict.fromkeys(n.strip() for n in experts if n and n.strip()))


def mark_chemical(session: Session, project_id: int, is_chemical: bool, *, actor: User | None,
                  now: datetime, reason: str = "") -> Project:
    """A lead marks an intention as a chemical project (it must then be
    screened before signing), or unmarks it with a reason. A project of a
    chemical industry stays chemical."""
    project = lock_project(session, project_id)
    _require_screener(actor, project)
    if project.stage != "intention":
        raise InvalidTransition("Project {project} is already {state}.", project=project.code,
                                state=project.stage)
    if project.is_chemical == is_chemical:
        return project
    reason = (reason or "").strip()
    if not is_chemical:
        if of_chemical_industry(project):
            raise ValidationError("A {industry} project is always a chemical project.",
                                  industry=project.industry)
        if not reason:
            raise ValidationError("Say why the project is not a chemical project.", field="reason")
    project.is_chemical = is_chemical
    audit.record(session, project, actor=actor, now=utc(now), action="chemicals.marked",
                 data={"is_chemical": is_chemical, "reason": reason})
    flush(session)
    return project


# -- the signing guard ---------------------------------------------------------------------------

def of_chemical_industry(project: Project) -> bool:
    """The project's industry is a chemical one in its definition (a flag of
    the zone's data, ``chemical = true``): such a project is always chemical."""
    industry = definition_for(project).industries.get(project.industry)
    return industry is not None and industry.chemical


@hooks.guard("project.sign")
def require_entry_cleared(session: Session, project: Project) -> None:
    """The guard ``operations.sign_project`` calls: a chemical project cannot
    be signed without a screening; a prohibited result blocks signing (the
    reasons are given); a restricted one needs a recorded expert review that
    approves."""
    if not project.is_chemical:
        return
    screening = latest_screening(session, project.id)
    if screening is None:
        raise InvalidTransition("Chemical project {project} must pass the entry screening "
                                "(化工项目准入评估) before signing.", project=project.code)
    hits = (screening.hits or {}).get("hits", [])
    if screening.verdict == "prohibited":
        reasons = [f"{h['rule']}: {h['reason']}" for h in hits if h["verdict"] == "prohibited"]
        raise InvalidTransition("Chemical project {project} is prohibited by the entry "
                                "screening: {listed}.", reasons=reasons, project=project.code,
                                listed="; ".join(reasons))
    if screening.verdict == "restricted":
        review = screening.review
        if review is None:
            raise InvalidTransition("Chemical project {project} is restricted: an expert "
                                    "review (专家论证) must be recorded before signing.",
                                    project=project.code)
        if review.get("conclusion") != "approve":
            raise InvalidTransition("Chemical project {project}: the experts refused "
                                    "({note}).", project=project.code,
                                    note=review.get("note", ""))
