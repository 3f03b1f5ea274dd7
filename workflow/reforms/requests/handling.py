"""Recording and handling enterprise requests and visits on the 13710 rhythm.

Each operation takes the session, the actor and the time, checks who may do
it (``rules``), fires the machine (``lifecycle.REQUESTS``), records the change
in the zone's log (``workflow.kernel.zone_audit``), tells the people it
concerns (``workflow.core.notify``) and only flushes.

The 13710 due dates, on the working-day calendar (the day a request is
recorded never counts, like the day of acceptance):

- arrange (安排): the same working day; recorded on a weekend or holiday, the
  next working day;
- feedback (反馈): the 3rd working day after;
- solution (办结): the 7th working day after for an ordinary problem; the same
  day a month later for a complex one (moved off a weekend or holiday to the
  next working day). Reopened, the period starts again from the reopening.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflow.core import notify
from workflow.core.deadlines import add_months
from workflow.core.models import Project
from workflow.core.unitofwork import flush
from workflow.kernel import clock, validate, zone_audit
from workflow.kernel.errors import (
    Conflict,
    InvalidTransition,
    NotFound,
    NotPermitted,
    ValidationError,
    term,
)
from workflow.kernel.models import Enterprise, User
from workflow.kernel.moments import utc, zone_today
from workflow.kernel.registry import current_version, definition_of
from workflow.reforms.requests import rules
from workflow.reforms.requests.lifecycle import REQUESTS
from workflow.reforms.requests.models import (
    COMPLEXITIES,
    REQUEST_KINDS,
    REQUEST_RATINGS,
    ServiceRequest,
    Visit,
)

FEEDBACK_WORKING_DAYS = 3
ORDINARY_WORKING_DAYS = 7
COMPLEX_MONTHS = 1
MAX_TITLE = 200
MAX_TEXT = 4000
KIND_NAMES = {"power": "用电接入", "utilities": "水气热接入", "road": "道路配套", "land": "用地",
              "approval": "审批手续", "policy": "政策咨询", "financing": "融资", "labour": "用工",
              "other": "其他"}


# -- the 13710 dates -------------------------------------------------------------------------

@dataclass(frozen=True)
class Dues:
    arrange: date
    feedback: date
    solve: date


def solve_due(start: date, complexity: str) -> date:
    """办结 due: 7 working days after ``start``, or a month for a complex problem."""
    if complexity == "complex":
        return clock.roll_forward(add_months(start, COMPLEX_MONTHS))
    return clock.add_working_days(start, ORDINARY_WORKING_DAYS).date


def dues_for(recorded_on: date, complexity: str = "ordinary") -> Dues:
    """The three 13710 due dates of a request recorded on ``recorded_on``."""
    return Dues(arrange=clock.roll_forward(recorded_on),
                feedback=clock.add_working_days(recorded_on, FEEDBACK_WORKING_DAYS).date,
                solve=solve_due(recorded_on, complexity))


def current_due(request: ServiceRequest) -> date | None:
    """The due date of the step the request waits for (None once solved)."""
    return {"submitted": request.arrange_due_on, "arranged": request.feedback_due_on,
            "feedback_given": request.solve_due_on,
            "reopened": request.solve_due_on}.get(request.status)


def _fire(request: ServiceRequest, event: str) -> None:
    REQUESTS.fire(request, event)
    request.due_on = current_due(request)


# -- loading and checks -------------------------------------------------------------------------

def get_request(session: Session, request_id: int, *, lock: bool = False) -> ServiceRequest:
    request = session.get(ServiceRequest, request_id, with_for_update=lock or None,
                          populate_existing=lock)
    if request is None:
        raise NotFound("Request {request} does not exist.", request=request_id)
    return request


def load_for(session: Session, request_id: int, user: User, *, lock: bool = False,
             expected_version: int | None = None) -> ServiceRequest:
    """The request, if ``user`` may see it (else NotFound: its existence does
    not leak); with ``expected_version``, a stale form is a Conflict."""
    request = get_request(session, request_id, lock=lock)
    if not rules.can_view_request(user, request):
        raise NotFound("Request {request} does not exist.", request=request_id)
    if expected_version is not None and expected_version != request.version:
        raise Conflict("Someone else changed this request meanwhile; reload and try again.")
    return request


def departments(session: Session) -> dict[str, object]:
    """The zone's departments (the definition in force), by code."""
    return dict(definition_of(current_version(session)).departments)


def _department(session: Session, code: str) -> str:
    code = validate.text(code, term("department"), limit=64)
    if code not in departments(session):
        raise ValidationError("Unknown department '{code}'.", field="department", code=code)
    return code


def _choice(value: str, allowed: tuple[str, ...], what: str) -> str:
    if value not in allowed:
        raise ValidationError("Unknown {field} '{value}'; choose one of {choices}.",
                              field=what, value=value, choices=", ".join(allowed))
    return value


def _text(value: str, what: str, *, required: bool = True, limit: int = MAX_TEXT) -> str:
    cleaned = validate.text(value, what, required=required, limit=limit)
    if not validate.typeable(cleaned.replace("\n", "").replace("\r", "").replace("\t", "")):
        raise ValidationError("The {field} holds a control character.", field=what)
    return cleaned


def _audit(session: Session, request: ServiceRequest, action: str, actor: User | None,
           now: datetime, **data) -> None:
    zone_audit.record(session, actor=actor, now=utc(now), action=action,
                      subject=f"request:{request.id}",
                      data={"status": request.status, **zone_audit.jsonable(data)})


def enterprise_accounts(session: Session, enterprise_id: int) -> list[User]:
    return list(session.scalars(select(User).where(
        User.role == "enterprise", User.active.is_(True), User.enterprise_id == enterprise_id)
        .order_by(User.id)))


def department_staff(session: Session, department: str | None) -> list[User]:
    if not department:
        return []
    return list(session.scalars(select(User).where(
        User.role == "agent", User.active.is_(True), User.department == department)
        .order_by(User.id)))


def dispatchers(session: Session) -> list[User]:
    return notify.users_with_role(session, "lead") + notify.users_with_role(session, "admin")


def _label(request: ServiceRequest) -> str:
    return f"诉求「{request.title}」（{request.enterprise.name}，编号 {request.id}）"


def _tell(session: Session, users, request: ServiceRequest, kind: str, title: str, body: str,
          now: datetime, key: str) -> None:
    notify.tell(session, users, notify.Message(kind, title, body), now=now,
                key=f"request:{request.id}:{key}")


# -- recording ----------------------------------------------------------------------------------

def raise_request(session: Session, *, actor: User, now: datetime, kind: str, title: str,
                  text: str = "", project_id: int | None = None,
                  enterprise_id: int | None = None, visit_id: int | None = None) -> ServiceRequest:
    """Record a request or problem: an enterprise for itself (in its portal),
    or a staff member for an enterprise (``enterprise_id``, or the visit's
    enterprise when ``visit_id`` names the visit it was raised in). The 13710
    clock starts at once; the leadership is told it is waiting to be arranged."""
    kind = _choice(kind, REQUEST_KINDS, term("kind"))
    title = _text(title, term("title"), limit=MAX_TITLE)
    if "\n" in title or "\r" in title:
        raise ValidationError("The title is one line.", field="title")
    text = _text(text, term("description"), required=False)
    visit = None
    if actor.role == "enterprise":
        if not rules.can_raise_request(actor):
            raise NotPermitted("{user} may not raise requests.", user=actor.username)
        if visit_id is not None or (enterprise_id not in (None, actor.enterprise_id)):
            raise NotPermitted("An enterprise raises requests for itself only.")
        enterprise_id, source = actor.enterprise_id, "portal"
    else:
        if not rules.can_record_for_enterprise(actor):
            raise NotPermitted("{user} may not record requests.", user=actor.username)
        if visit_id is not None:
            visit = session.get(Visit, visit_id)
            if visit is None:
                raise NotFound("Visit {visit} does not exist.", visit=visit_id)
            if enterprise_id not in (None, visit.enterprise_id):
                raise ValidationError("The request is the visited enterprise's.",
                                      field="enterprise_id")
            enterprise_id = visit.enterprise_id
        if enterprise_id is None or session.get(Enterprise, enterprise_id) is None:
            raise ValidationError("Name the enterprise the request is from.",
                                  field="enterprise_id")
        source = "visit" if visit is not None else "staff"
    if project_id is not None:
        project = session.get(Project, project_id)
        if project is None or project.enterprise_id != enterprise_id:
            raise ValidationError("The project is not one of the enterprise's.",
                                  field="project_id")
    today = zone_today(now)
    dues = dues_for(today)
    request = ServiceRequest(
        enterprise_id=enterprise_id, project_id=project_id, visit_id=visit_id, kind=kind,
        title=title, text=text, source=source, status="submitted", complexity="ordinary",
        submitted_by_id=actor.id, submitted_at=utc(now), submitted_on=today, solve_from=today,
        arrange_due_on=dues.arrange, feedback_due_on=dues.feedback, solve_due_on=dues.solve,
        due_on=dues.arrange, arrangement="", feedback="", solution="", rating_comment="",
        reopened_times=0)
    session.add(request)
    flush(session)
    _audit(session, request, "request.raised", actor, now, kind=kind, title=title,
           enterprise=enterprise_id, visit=visit_id, project=project_id)
    _tell(session, dispatchers(session), request, "request_raised",
          f"【企业诉求待安排】{title}",
          f"{_label(request)}（{KIND_NAMES[kind]}）已登记，请于 {dues.arrange.isoformat()} "
          "当日安排责任部门（13710：当天安排、3 个工作日内反馈、7 个工作日内办结）。", now, "raised")
    flush(session)
    return request


def record_visit(session: Session, *, actor: User, now: datetime, enterprise_id: int,
                 visited_on: date, leader_id: int, companions: str = "",
                 notes: str = "") -> Visit:
    """A leader's visit to an enterprise (领导干部入企调研): the day (not in
    the future), the leader (a lead handler or admin), who went along, notes."""
    if not rules.can_record_for_enterprise(actor):
        raise NotPermitted("{user} may not record visits.", user=actor.username)
    if not isinstance(visited_on, date) or isinstance(visited_on, datetime):
        raise ValidationError("The visit's date is a date.", field="visited_on")
    if visited_on > zone_today(now):
        raise ValidationError("A visit is recorded once it took place.", field="visited_on")
    if session.get(Enterprise, enterprise_id) is None:
        raise ValidationError("Name the enterprise visited.", field="enterprise_id")
    leader = session.get(User, leader_id)
    if leader is None or leader.role not in rules.LEADERSHIP or not leader.active:
        raise ValidationError("The visit's leader is a lead handler or an admin.",
                              field="leader_id")
    visit = Visit(enterprise_id=enterprise_id, visited_on=visited_on, leader_id=leader.id,
                  companions=_text(companions, term("companions"), required=False, limit=300),
                  notes=_text(notes, term("notes"), required=False),
                  recorded_by_id=actor.id, recorded_at=utc(now))
    session.add(visit)
    flush(session)
    zone_audit.record(session, actor=actor, now=utc(now), action="visit.recorded",
                      subject=f"visit:{visit.id}",
                      data=zone_audit.jsonable({"enterprise": enterprise_id, "visited_on": visited_on,
                                                "leader": leader.username}))
    return visit


# -- handling ------------------------------------------------------------------------------------

def arrange(session: Session, request_id: int, *, actor: User, now: datetime, department: str,
            complexity: str = "ordinary", note: str = "",
            expected_version: int | None = None) -> ServiceRequest:
    """安排: the leadership assigns the request to a department and says
    whether it is an ordinary or a complex problem (which sets the solution's
    due date); the department's agents are told."""
    if not rules.can_arrange(actor):
        raise NotPermitted("{user} may not arrange requests.", user=actor.username)
    department = _department(session, department)
    complexity = _choice(complexity, COMPLEXITIES, term("complexity"))
    note = _text(note, term("arrangement"), required=False)
    request = load_for(session, request_id, actor, lock=True, expected_version=expected_version)
    REQUESTS.fire(request, "arrange")
    request.department, request.complexity, request.arrangement = department, complexity, note
    request.arranged_by_id, request.arranged_at = actor.id, utc(now)
    request.solve_due_on = solve_due(request.solve_from, complexity)
    request.due_on = current_due(request)
    _audit(session, request, "request.arranged", actor, now, department=department,
           complexity=complexity, note=note)
    name = getattr(departments(session)[department], "name_zh", department)
    _tell(session, department_staff(session, department), request, "request_arranged",
          f"【企业诉求】{request.title}",
          f"{_label(request)}已安排由{name}办理，请于 {request.feedback_due_on.isoformat()} 前"
          f"向企业反馈，{request.solve_due_on.isoformat()} 前办结。{note}", now, "arranged")
    _tell(session, enterprise_accounts(session, request.enterprise_id), request,
          "request_progress", f"【诉求已安排】{request.title}",
          f"您的诉求「{request.title}」已安排{name}办理，预计 {request.solve_due_on.isoformat()} "
          "前办结。", now, "arranged:enterprise")
    flush(session)
    return request


def classify(session: Session, request_id: int, *, actor: User, now: datetime, complexity: str,
             expected_version: int | None = None) -> ServiceRequest:
    """Staff reclassify an unsolved request (ordinary ↔ complex): the
    solution's due date is counted again from the submission (or the
    reopening)."""
    if not rules.can_arrange(actor):
        raise NotPermitted("{user} may not classify requests.", user=actor.username)
    complexity = _choice(complexity, COMPLEXITIES, term("complexity"))
    request = load_for(session, request_id, actor, lock=True, expected_version=expected_version)
    if request.status not in ("submitted", "arranged", "feedback_given", "reopened"):
        raise InvalidTransition("A request is classified while it is not solved.",
                                state=request.status)
    request.complexity = complexity
    request.solve_due_on = solve_due(request.solve_from, complexity)
    request.due_on = current_due(request)
    _audit(session, request, "request.classified", actor, now, complexity=complexity,
           solve_due_on=request.solve_due_on)
    flush(session)
    return request


def give_feedback(session: Session, request_id: int, *, actor: User, now: datetime, text: str,
                  expected_version: int | None = None) -> ServiceRequest:
    """反馈: the department tells the enterprise what is being done."""
    text = _text(text, term("feedback"))
    request = load_for(session, request_id, actor, lock=True, expected_version=expected_version)
    if not rules.can_handle(actor, request):
        raise NotPermitted("{user} may not handle request {request}.", user=actor.username,
                           request=request.id)
    _fire(request, "give_feedback")
    request.feedback, request.feedback_at = text, utc(now)
    _audit(session, request, "request.feedback", actor, now, text=text)
    _tell(session, enterprise_accounts(session, request.enterprise_id), request,
          "request_progress", f"【诉求反馈】{request.title}",
          f"您的诉求「{request.title}」办理进展：{text}", now, "feedback")
    flush(session)
    return request


def solve(session: Session, request_id: int, *, actor: User, now: datetime, text: str,
          expected_version: int | None = None) -> ServiceRequest:
    """办结: the department records how the problem was solved; the
    enterprise is asked to rate the outcome."""
    text = _text(text, term("solution"))
    request = load_for(session, request_id, actor, lock=True, expected_version=expected_version)
    if not rules.can_handle(actor, request):
        raise NotPermitted("{user} may not handle request {request}.", user=actor.username,
                           request=request.id)
    _fire(request, "solve")
    request.solution, request.solved_at = text, utc(now)
    if request.feedback_at is None:  # solved before any feedback: the solution is the feedback
        request.feedback_at = utc(now)
    _audit(session, request, "request.solved", actor, now, text=text)
    _tell(session, enterprise_accounts(session, request.enterprise_id), request,
          "request_progress", f"【诉求已办结】{request.title}",
          f"您的诉求「{request.title}」已办结：{text}\n请在企业端评价办理结果。", now,
          f"solved:{request.reopened_times}")
    flush(session)
    return request


def rate(session: Session, request_id: int, *, actor: User, now: datetime, rating: str,
         comment: str = "", expected_version: int | None = None) -> ServiceRequest:
    """The enterprise rates a solved request: satisfied closes it; unsatisfied
    (with a reason) reopens it, with a new solution due date, and tells the
    department and the leadership."""
    rating = _choice(rating, REQUEST_RATINGS, term("rating"))
    comment = _text(comment, term("reason"), required=rating == "unsatisfied")
    request = load_for(session, request_id, actor, lock=True, expected_version=expected_version)
    if not rules.can_answer_request(actor, request):
        raise NotPermitted("{user} may not rate request {request}.", user=actor.username,
                           request=request.id)
    if rating == "satisfied":
        _fire(request, "confirm")
        request.closed_at = utc(now)
    else:
        REQUESTS.fire(request, "reopen")
        request.reopened_times += 1
        request.solve_from = zone_today(now)
        request.solve_due_on = solve_due(request.solve_from, request.complexity)
        request.due_on = current_due(request)
    request.rating, request.rating_comment, request.rated_at = rating, comment, utc(now)
    _audit(session, request, "request.rated", actor, now, rating=rating, comment=comment)
    if rating == "unsatisfied":
        _tell(session, department_staff(session, request.department) + dispatchers(session),
              request, "request_reopened", f"【诉求重新办理】{request.title}",
              f"企业对{_label(request)}的办理结果不满意：{comment}\n请于 "
              f"{request.solve_due_on.isoformat()} 前重新办结。", now,
              f"reopened:{request.reopened_times}")
    flush(session)
    return request


def close(session: Session, request_id: int, *, actor: User, now: datetime,
          expected_version: int | None = None) -> ServiceRequest:
    """Staff close a solved request the enterprise has not rated."""
    request = load_for(session, request_id, actor, lock=True, expected_version=expected_version)
    if not rules.can_handle(actor, request):
        raise NotPermitted("{user} may not handle request {request}.", user=actor.username,
                           request=request.id)
    _fire(request, "close")
    request.closed_at = utc(now)
    _audit(session, request, "request.closed", actor, now)
    flush(session)
    return request


def withdraw(session: Session, request_id: int, *, actor: User, now: datetime,
             expected_version: int | None = None) -> ServiceRequest:
    """The enterprise withdraws a request not solved yet."""
    request = load_for(session, request_id, actor, lock=True, expected_version=expected_version)
    if not rules.can_answer_request(actor, request):
        raise NotPermitted("{user} may not withdraw request {request}.", user=actor.username,
                           request=request.id)
    _fire(request, "withdraw")
    request.closed_at = utc(now)
    _audit(session, request, "request.withdrawn", actor, now)
    flush(session)
    return request
