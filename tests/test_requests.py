"""入企服务, 政企沟通: an enterprise's request on the 13710 rhythm — its due
dates on the working-day calendar, its lifecycle, the warning of the
department on the working day before a step is due and the escalation of each
overdue step, each exactly once, who may see and change it, bad input, the
supervisor's figure and the visits. Each test runs on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date

import pytest

from tests import factories as f
from tests.factories import at
from tests.pages import first_select, plan
from workflow.core import notify
from workflow.kernel.config import Channels
from workflow.kernel.errors import (
    Conflict,
    InvalidTransition,
    NotFound,
    NotPermitted,
    ValidationError,
)
from workflow.models import (
    Notification,
    OutboxMessage,
    RequestEscalation,
    RequestWarning,
    ServiceRequest,
    ZoneAuditEvent,
)
from workflow.reforms import requests as req

MONDAY = at("2026-03-02")


@pytest.fixture
def zone(session):
    company, rival = f.enterprise(session), f.enterprise(session)
    people = {
        "owner": f.user(session, "acme_req", "enterprise", company=company),
        "stranger": f.user(session, "rival_req", "enterprise", company=rival),
        "lead": f.user(session, "lead_req", "lead", groups=("equipment",)),
        "admin": f.user(session, "admin_req", "admin"),
        "sup": f.user(session, "sup_req", "supervisor"),
        "power": f.user(session, "agent_power", "agent", department="development_reform"),
        "other": f.user(session, "agent_other", "agent", department="nature_resources"),
    }
    return {**people, "company": company, "rival": rival}


def raise_(session, zone, now=MONDAY, **kw):
    kw.setdefault("kind", "power")
    kw.setdefault("title", "厂区用电接入迟迟未办")
    kw.setdefault("text", "变压器已到货，供电公司尚未排期接入。")
    return req.raise_request(session, actor=zone["owner"], now=now, **kw)


def notes(session, user, kind=None):
    rows = session.query(Notification).filter(Notification.user_id == user.id).all()
    return [n for n in rows if kind is None or n.kind == kind]


# -- the 13710 dates on the working-day calendar ----------------------------------------------

@pytest.mark.parametrize(("recorded", "arrange", "feedback", "ordinary", "complex_"), [
    # A Monday: arranged the same day, feedback Thursday, solved 7 working days later.
    ("2026-03-02", "2026-03-02", "2026-03-05", "2026-03-11", "2026-04-02"),
    # A Saturday: arranged on Monday; the Saturday itself never counts.
    ("2026-03-07", "2026-03-09", "2026-03-09", None, None),
    # 劳动节 (05-01..05-05): arranged on the first working day after; the make-up
    # Saturday 05-09 counts as a working day for the solution.
    ("2026-05-02", "2026-05-06", "2026-05-08", "2026-05-13", "2026-06-02"),
    # 春节: 02-14 is a make-up workday, 02-15..02-23 holidays.
    ("2026-02-13", "2026-02-13", "2026-02-25", "2026-03-02", "2026-03-13"),
    # A complex problem's month ends on 国庆 (10-01): due the next working day.
    ("2026-09-01", "2026-09-01", "2026-09-04", "2026-09-10", "2026-10-08"),
    # A month ending on a Saturday moves to Monday.
    ("2026-04-30", "2026-04-30", "2026-05-08", "2026-05-13", "2026-06-01"),
])
def test_the_13710_due_dates_count_working_days(recorded, arrange, feedback, ordinary, complex_):
    day = date.fromisoformat(recorded)
    dues = req.dues_for(day)
    assert dues.arrange == date.fromisoformat(arrange)
    if recorded == "2026-03-07":
        assert dues.feedback == date(2026, 3, 11) and dues.solve == date(2026, 3, 17)
        return
    assert dues.feedback == date.fromisoformat(feedback)
    assert dues.solve == date.fromisoformat(ordinary)
    assert req.dues_for(day, "complex").solve == date.fromisoformat(complex_)


def test_a_request_raised_on_a_holiday_is_due_for_arrangement_after_it(session, zone):
    request = raise_(session, zone, now=at("2026-05-02", 20))
    assert request.status == "submitted" and request.source == "portal"
    assert request.submitted_on == date(2026, 5, 2)
    assert (request.arrange_due_on, request.feedback_due_on, request.solve_due_on) == (
        date(2026, 5, 6), date(2026, 5, 8), date(2026, 5, 13))
    assert request.due_on == date(2026, 5, 6)
    assert notes(session, zone["lead"], "request_raised") and notes(session, zone["admin"],
                                                                      "request_raised")


def test_a_complex_problem_is_due_within_a_month_and_the_current_step_moves(session, zone):
    request = raise_(session, zone)
    req.arrange(session, request.id, actor=zone["lead"], now=MONDAY,
                department="development_reform", complexity="complex", note="协调供电公司")
    assert request.status == "arranged" and request.solve_due_on == date(2026, 4, 2)
    assert request.due_on == request.feedback_due_on == date(2026, 3, 5)
    assert notes(session, zone["power"], "request_arranged")
    assert not notes(session, zone["other"], "request_arranged")
    req.give_feedback(session, request.id, actor=zone["power"], now=at("2026-03-03"),
                      text="已约供电公司现场勘查")
    assert request.due_on == date(2026, 4, 2)
    req.classify(session, request.id, actor=zone["lead"], now=at("2026-03-03"),
                 complexity="ordinary")
    assert request.solve_due_on == request.due_on == date(2026, 3, 11)


# -- the lifecycle ----------------------------------------------------------------------------------

def test_a_request_is_handled_to_a_close_and_the_enterprise_hears_each_step(session, zone):
    request = raise_(session, zone)
    req.arrange(session, request.id, actor=zone["lead"], now=MONDAY, department="development_reform")
    req.give_feedback(session, request.id, actor=zone["power"], now=at("2026-03-03"),
                      text="已约供电公司")
    req.solve(session, request.id, actor=zone["power"], now=at("2026-03-06"), text="已送电")
    assert request.status == "solved" and request.due_on is None
    req.rate(session, request.id, actor=zone["owner"], now=at("2026-03-06", 15), rating="satisfied")
    assert request.status == "closed" and request.rating == "satisfied"
    assert len(notes(session, zone["owner"], "request_progress")) == 3
    actions = [e.action for e in session.query(ZoneAuditEvent).filter(
        ZoneAuditEvent.subject == f"request:{request.id}").order_by(ZoneAuditEvent.seq)]
    assert actions == ["request.raised", "request.arranged", "request.feedback",
                       "request.solved", "request.rated"]


def test_an_unsatisfied_enterprise_reopens_the_request_with_a_new_due_date(session, zone):
    request = raise_(session, zone)
    req.arrange(session, request.id, actor=zone["lead"], now=MONDAY, department="development_reform")
    req.solve(session, request.id, actor=zone["power"], now=at("2026-03-04"), text="已协调")
    assert request.feedback_at is not None  # the solution is the feedback
    req.rate(session, request.id, actor=zone["owner"], now=at("2026-03-05"),
             rating="unsatisfied", comment="仍未送电")
    assert request.status == "reopened" and request.reopened_times == 1
    assert request.solve_due_on == request.due_on == date(2026, 3, 16)
    assert notes(session, zone["power"], "request_reopened")
    req.solve(session, request.id, actor=zone["power"], now=at("2026-03-10"), text="已送电")
    req.rate(session, request.id, actor=zone["owner"], now=at("2026-03-10"), rating="satisfied")
    assert request.status == "closed"


def test_steps_out_of_order_are_refused(session, zone):
    request = raise_(session, zone)
    with pytest.raises(InvalidTransition):
        req.rate(session, request.id, actor=zone["owner"], now=MONDAY, rating="satisfied")
    req.arrange(session, request.id, actor=zone["lead"], now=MONDAY, department="development_reform")
    with pytest.raises(InvalidTransition):
        req.arrange(session, request.id, actor=zone["lead"], now=MONDAY, department="planning")
    req.withdraw(session, request.id, actor=zone["owner"], now=MONDAY)
    with pytest.raises(InvalidTransition):
        req.solve(session, request.id, actor=zone["power"], now=MONDAY, text="x")


def test_a_stale_form_is_a_conflict(session, zone):
    request = raise_(session, zone)
    version = request.version
    req.arrange(session, request.id, actor=zone["lead"], now=MONDAY,
                department="development_reform", expected_version=version)
    with pytest.raises(Conflict):
        req.give_feedback(session, request.id, actor=zone["power"], now=MONDAY, text="x",
                          expected_version=version)


# -- escalation ------------------------------------------------------------------------------------

def escalations(session, request):
    return sorted((e.step, e.due_on) for e in session.query(RequestEscalation)
                  .filter(RequestEscalation.request_id == request.id))


def test_each_overdue_step_escalates_once(session, zone):
    request = raise_(session, zone)  # Monday: arrange due Monday, feedback Thursday
    assert req.sweep(session, now=at("2026-03-02", 23)) == []
    lines = req.sweep(session, now=at("2026-03-03"))
    assert len(lines) == 1 and "arrange" in lines[0]
    assert escalations(session, request) == [("arrange", date(2026, 3, 2))]
    assert len(notes(session, zone["sup"], "request_overdue")) == 1
    assert req.sweep(session, now=at("2026-03-03", 18)) == []  # never repeated
    assert req.sweep(session, now=at("2026-03-05")) == []
    req.arrange(session, request.id, actor=zone["lead"], now=at("2026-03-05"),
                department="development_reform")
    lines = req.sweep(session, now=at("2026-03-06"))
    assert len(lines) == 1 and "feedback" in lines[0]
    assert len(notes(session, zone["power"], "request_overdue")) == 1
    assert not notes(session, zone["other"], "request_overdue")
    assert req.sweep(session, now=at("2026-03-06", 20)) == []
    assert len(notes(session, zone["sup"], "request_overdue")) == 2


def test_a_sweep_after_downtime_escalates_every_overdue_step_at_once(session, zone):
    request = raise_(session, zone)
    lines = req.sweep(session, now=at("2026-03-20"))
    assert escalations(session, request) == [("arrange", date(2026, 3, 2)),
                                              ("feedback", date(2026, 3, 5)),
                                              ("solve", date(2026, 3, 11))]
    assert len(lines) == 3 and req.sweep(session, now=at("2026-03-21")) == []


def test_a_solved_request_is_not_escalated_and_a_reopened_one_is_on_its_new_date(session, zone):
    request = raise_(session, zone)
    req.arrange(session, request.id, actor=zone["lead"], now=MONDAY, department="development_reform")
    req.solve(session, request.id, actor=zone["power"], now=MONDAY, text="已送电")
    assert req.sweep(session, now=at("2026-03-20")) == []
    req.rate(session, request.id, actor=zone["owner"], now=at("2026-03-20"),
             rating="unsatisfied", comment="未解决")
    assert request.solve_due_on == date(2026, 3, 31)
    assert req.sweep(session, now=at("2026-03-31")) == []
    lines = req.sweep(session, now=at("2026-04-01"))
    assert len(lines) == 1 and "solve" in lines[0]
    assert escalations(session, request) == [("solve", date(2026, 3, 31))]


def test_the_zone_sweep_runs_the_requests_sweep():
    from workflow import sweeps

    assert req.sweep in sweeps.AREA_SWEEPS


# -- the warning on the working day before ------------------------------------------------------

def warnings(session, request):
    return sorted((w.step, w.due_on) for w in session.query(RequestWarning)
                  .filter(RequestWarning.request_id == request.id))


def arranged(session, zone, now=MONDAY, **kw):
    request = raise_(session, zone, now=now, **kw)
    req.arrange(session, request.id, actor=zone["lead"], now=now, department="development_reform")
    return request


def test_the_department_is_warned_the_working_day_before_feedback_is_due_across_a_weekend(
        session, zone):
    # Wednesday: feedback due on the 3rd working day, Monday 03-09; the working
    # day before it is Friday, not Sunday (the calendar day before).
    request = arranged(session, zone, now=at("2026-03-04"))
    assert request.feedback_due_on == date(2026, 3, 9)
    assert req.warn(session, now=at("2026-03-05", 18)) == []  # Thursday: too early
    lines = req.warn(session, now=at("2026-03-06", 8))
    assert lines == [f"request {request.id} feedback due 2026-03-09 (warning) -> agent_power"]
    assert warnings(session, request) == [("feedback", date(2026, 3, 9))]
    [note] = notes(session, zone["power"], "request_due_soon")
    assert note.title == "【诉求反馈即将到期】厂区用电接入迟迟未办"
    assert note.body.startswith("企业诉求「厂区用电接入迟迟未办」将于 2026-03-09 到期（还剩 1 个工作日）："
                                "请在到期前向企业反馈办理进展")
    assert f"编号 {request.id}" in note.body and zone["company"].name in note.body
    # Only the department's agents: not another department's, nor the
    # leadership or the supervisors (they hear of it once it is overdue).
    for who in ("other", "lead", "admin", "sup"):
        assert not notes(session, zone[who], "request_due_soon"), who
    for moment in (at("2026-03-06", 18), at("2026-03-07"), at("2026-03-08"), at("2026-03-09")):
        assert req.warn(session, now=moment) == []
    assert len(notes(session, zone["power"], "request_due_soon")) == 1
    # Overdue on Tuesday: the escalation speaks, the warning stays quiet.
    assert req.warn(session, now=at("2026-03-10")) == []
    assert [line.split()[2] for line in req.sweep(session, now=at("2026-03-10"))] == ["feedback"]


@pytest.mark.parametrize(("raised", "due", "warned", "early"), [
    # 劳动节 05-01..05-05: feedback due 05-06 is warned on 04-30, before the holiday.
    ("2026-04-28", "2026-05-06", "2026-04-30", "2026-04-29"),
    # Due Monday 05-11: the working day before is the make-up Saturday 05-09 (调休),
    # not Friday 05-08.
    ("2026-05-07", "2026-05-11", "2026-05-09", "2026-05-08"),
])
def test_the_working_day_before_counts_holidays_and_make_up_days(session, zone, raised, due,
                                                                  warned, early):
    request = arranged(session, zone, now=at(raised))
    assert request.feedback_due_on == date.fromisoformat(due)
    assert req.warn(session, now=at(early, 20)) == []
    assert len(req.warn(session, now=at(warned))) == 1
    assert f"将于 {due} 到期（还剩 1 个工作日）" in notes(session, zone["power"],
                                                    "request_due_soon")[0].body
    assert req.warn(session, now=at(warned, 20)) == []


def test_two_sweeps_warn_once_in_app_and_by_mail(session, zone):
    zone["power"].email, zone["power"].notify_email = "power@example.cn", "now"
    session.info[notify.CHANNELS_KEY] = Channels(email=True)
    request = arranged(session, zone)
    session.query(OutboxMessage).delete()
    assert len(req.warn(session, now=at("2026-03-04"))) == 1
    assert req.warn(session, now=at("2026-03-04")) == []
    assert len(notes(session, zone["power"], "request_due_soon")) == 1
    [mail] = session.query(OutboxMessage).all()
    assert mail.recipient == "power@example.cn" and mail.subject.startswith("【诉求反馈即将到期】")
    assert mail.dedupe_key == f"email:request:{request.id}:due_soon:feedback:2026-03-05:u{zone['power'].id}"


def test_the_solution_is_warned_once_feedback_was_given(session, zone):
    request = arranged(session, zone)  # Monday: feedback due 03-05, solution 03-11
    req.give_feedback(session, request.id, actor=zone["power"], now=at("2026-03-03"), text="已约勘查")
    assert req.warn(session, now=at("2026-03-04")) == []  # feedback given: no feedback warning
    assert req.warn(session, now=at("2026-03-09")) == []
    lines = req.warn(session, now=at("2026-03-10"))
    assert len(lines) == 1 and "solve due 2026-03-11" in lines[0]
    [note] = notes(session, zone["power"], "request_due_soon")
    assert note.title.startswith("【诉求办结即将到期】") and "将于 2026-03-11 到期" in note.body
    assert warnings(session, request) == [("solve", date(2026, 3, 11))]


@pytest.mark.parametrize("done", ["solved", "withdrawn", "closed"])
def test_a_request_done_with_the_step_is_not_warned(session, zone, done):
    request = arranged(session, zone)
    if done == "withdrawn":
        req.withdraw(session, request.id, actor=zone["owner"], now=at("2026-03-03"))
    else:
        req.solve(session, request.id, actor=zone["power"], now=at("2026-03-03"), text="已送电")
        if done == "closed":
            req.close(session, request.id, actor=zone["power"], now=at("2026-03-03"))
    assert request.status == done
    for day in ("2026-03-04", "2026-03-05", "2026-03-10", "2026-03-11"):
        assert req.warn(session, now=at(day)) == []
    assert warnings(session, request) == []
    assert not notes(session, zone["power"], "request_due_soon")


def test_a_request_not_arranged_is_warned_once_it_has_a_department(session, zone):
    request = raise_(session, zone)  # Monday, never arranged: no department to warn
    assert req.warn(session, now=at("2026-03-04")) == []
    req.arrange(session, request.id, actor=zone["lead"], now=at("2026-03-04", 15),
                department="development_reform")
    assert len(req.warn(session, now=at("2026-03-04", 16))) == 1
    assert len(notes(session, zone["power"], "request_due_soon")) == 1


def test_after_downtime_a_passed_date_is_not_warned_and_one_due_today_is_warned_once(session, zone):
    request = arranged(session, zone)  # feedback due Thursday 03-05, warned on Wednesday
    # The scheduler was down on Wednesday: Thursday's sweep warns of today, once.
    lines = req.warn(session, now=at("2026-03-05"))
    assert len(lines) == 1 and "feedback due 2026-03-05" in lines[0]
    [note] = notes(session, zone["power"], "request_due_soon")
    assert "将于 2026-03-05 到期（今日到期）" in note.body
    assert req.warn(session, now=at("2026-03-05", 20)) == []
    # Down again until after the solution's date (03-11): no warning, only escalations.
    assert req.warn(session, now=at("2026-03-12")) == []
    assert warnings(session, request) == [("feedback", date(2026, 3, 5))]
    assert [line.split()[2] for line in req.sweep(session, now=at("2026-03-12"))] == [
        "feedback", "solve"]
    assert len(notes(session, zone["power"], "request_due_soon")) == 1


def test_a_new_due_date_is_warned_again(session, zone):
    request = arranged(session, zone)
    req.give_feedback(session, request.id, actor=zone["power"], now=at("2026-03-03"), text="进行中")
    assert len(req.warn(session, now=at("2026-03-10"))) == 1  # solution due 03-11
    # Reclassified complex: due a month after the submission, 04-02, warned on 04-01.
    req.classify(session, request.id, actor=zone["lead"], now=at("2026-03-10", 15),
                 complexity="complex")
    assert req.warn(session, now=at("2026-03-10", 16)) == []
    assert req.warn(session, now=at("2026-03-31")) == []
    assert len(req.warn(session, now=at("2026-04-01"))) == 1
    # Solved, rated unsatisfied the same day: reopened, still complex, due a
    # month later: 05-01 is 劳动节, so 05-06, warned on 04-30.
    req.solve(session, request.id, actor=zone["power"], now=at("2026-04-01", 14), text="已处理")
    req.rate(session, request.id, actor=zone["owner"], now=at("2026-04-01", 15),
             rating="unsatisfied", comment="仍未解决")
    assert request.solve_due_on == date(2026, 5, 6)
    assert req.warn(session, now=at("2026-04-29")) == []
    assert len(req.warn(session, now=at("2026-04-30"))) == 1
    assert warnings(session, request) == [("solve", date(2026, 3, 11)), ("solve", date(2026, 4, 2)),
                                          ("solve", date(2026, 5, 6))]
    bodies = [n.body for n in notes(session, zone["power"], "request_due_soon")]
    assert sorted(b.split("将于 ")[1][:10] for b in bodies) == [
        "2026-03-11", "2026-04-02", "2026-05-06"]


def test_the_list_says_due_soon_for_the_step_in_its_window(session, zone):
    request = arranged(session, zone)
    assert not req.due_soon(request, date(2026, 3, 3))
    assert req.due_soon(request, date(2026, 3, 4)) and req.due_soon(request, date(2026, 3, 5))
    assert not req.due_soon(request, date(2026, 3, 6))  # overdue now


def test_the_warning_query_reads_index_ranges(session, zone):
    """A province's requests: each step is a range of its due-date index, and
    the anti-join probes the warnings' unique key; nothing is scanned whole."""
    arranged(session, zone)
    statement, params = first_select(session, lambda: req.warn(session, now=at("2026-03-04")),
                                     "service_request")
    shown = plan(session, statement, params)
    assert "ix_service_request_feedback_due" in shown and "ix_service_request_solve_due" in shown
    lines = shown.splitlines()
    assert not [line for line in lines if line.strip().startswith("SCAN") or "Seq Scan" in line]
    probes = [line for line in lines if "service_request_warning" in line
              and ("autoindex_service_request_warning" in line
                   or "uq_service_request_warning_request_id" in line)]
    assert len(probes) == 2, shown


def test_the_zone_sweep_runs_the_warning_after_the_escalation():
    from workflow import sweeps

    assert sweeps.AREA_SWEEPS.index(req.warn) == sweeps.AREA_SWEEPS.index(req.sweep) + 1


# -- who may see and change it ------------------------------------------------------------------

def test_another_enterprise_neither_sees_nor_changes_a_request(session, zone):
    request = raise_(session, zone)
    stranger = zone["stranger"]
    with pytest.raises(NotFound):
        req.load_for(session, request.id, stranger)
    with pytest.raises(NotFound):
        req.withdraw(session, request.id, actor=stranger, now=MONDAY)
    page = req.request_page(session, stranger, req.RequestFilter(), today=MONDAY.date())
    assert list(page) == []
    assert [r.id for r in req.request_page(session, zone["owner"], req.RequestFilter(),
                                           today=MONDAY.date())] == [request.id]


def test_only_the_leadership_arranges_and_only_the_department_handles(session, zone):
    request = raise_(session, zone)
    for who in ("sup", "power", "owner"):
        with pytest.raises(NotPermitted):
            req.arrange(session, request.id, actor=zone[who], now=MONDAY,
                        department="development_reform")
    with pytest.raises(NotFound):  # another department's agent does not see it
        req.give_feedback(session, request.id, actor=zone["other"], now=MONDAY, text="x")
    req.arrange(session, request.id, actor=zone["admin"], now=MONDAY, department="development_reform")
    with pytest.raises(NotPermitted):
        req.give_feedback(session, request.id, actor=zone["sup"], now=MONDAY, text="x")
    with pytest.raises(NotPermitted):
        req.give_feedback(session, request.id, actor=zone["owner"], now=MONDAY, text="x")
    req.give_feedback(session, request.id, actor=zone["power"], now=MONDAY, text="已受理")
    req.solve(session, request.id, actor=zone["lead"], now=MONDAY, text="领导协调解决")
    for who in ("power", "sup", "lead"):
        with pytest.raises(NotPermitted):
            req.rate(session, request.id, actor=zone[who], now=MONDAY, rating="satisfied")
    assert req.load_for(session, request.id, zone["sup"]) is request


def test_an_enterprise_raises_only_for_itself_and_a_supervisor_raises_nothing(session, zone):
    with pytest.raises(NotPermitted):
        raise_(session, zone, enterprise_id=zone["rival"].id)
    with pytest.raises(NotPermitted):
        req.raise_request(session, actor=zone["sup"], now=MONDAY, kind="road", title="x",
                          enterprise_id=zone["company"].id)
    other = f.project(session, MONDAY, company=zone["rival"], mandate=False)
    with pytest.raises(ValidationError):
        raise_(session, zone, project_id=other.id)
    assert session.query(ServiceRequest).count() == 0


# -- bad input ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("bad", [
    {"kind": "weather"}, {"title": ""}, {"title": "   "}, {"title": "a" * 201},
    {"title": "two\nlines"}, {"text": "nul\x00here"}, {"text": "x" * 4001},
])
def test_bad_input_is_refused_and_records_nothing(session, zone, bad):
    with pytest.raises(ValidationError):
        raise_(session, zone, **bad)
    assert session.query(ServiceRequest).count() == 0


def test_bad_handling_input_is_refused(session, zone):
    request = raise_(session, zone)
    with pytest.raises(ValidationError):
        req.arrange(session, request.id, actor=zone["lead"], now=MONDAY, department="weather_bureau")
    with pytest.raises(ValidationError):
        req.arrange(session, request.id, actor=zone["lead"], now=MONDAY,
                    department="development_reform", complexity="huge")
    assert request.status == "submitted"
    req.arrange(session, request.id, actor=zone["lead"], now=MONDAY, department="development_reform")
    with pytest.raises(ValidationError):
        req.give_feedback(session, request.id, actor=zone["power"], now=MONDAY, text=" ")
    req.solve(session, request.id, actor=zone["power"], now=MONDAY, text="ok")
    with pytest.raises(ValidationError):  # unsatisfied needs a reason
        req.rate(session, request.id, actor=zone["owner"], now=MONDAY, rating="unsatisfied")
    with pytest.raises(ValidationError):
        req.rate(session, request.id, actor=zone["owner"], now=MONDAY, rating="meh")
    assert request.status == "solved"


# -- the supervisor's figure and the list ----------------------------------------------------------

def test_open_requests_by_department_and_age(session, zone):
    def at_dept(day, department, status="arranged"):
        request = raise_(session, zone, now=at(day))
        if department:
            req.arrange(session, request.id, actor=zone["lead"], now=at(day), department=department)
        if status == "solved":
            req.solve(session, request.id, actor=zone["lead"], now=at(day), text="ok")
        return request

    at_dept("2026-03-19", "development_reform")  # 1 working day before the 20th
    at_dept("2026-03-12", "development_reform")  # 6 working days
    at_dept("2026-03-02", "development_reform")  # 14 working days
    at_dept("2026-02-10", "nature_resources")  # more than a month
    at_dept("2026-03-19", None)  # not arranged yet
    at_dept("2026-03-18", "nature_resources", status="solved")  # not open
    table = {line.department: line for line in req.open_by_department(session, date(2026, 3, 20))}
    assert table["development_reform"].ages == {"within_3": 1, "within_7": 1,
                                                "within_month": 1, "over_month": 0}
    assert table["development_reform"].overdue == 2
    assert table["nature_resources"].ages["over_month"] == 1 and table["nature_resources"].total == 1
    assert table[None].total == 1 and table[None].overdue == 1  # not arranged the same day


def test_the_list_pages_and_filters(session, zone):
    made = [raise_(session, zone, now=at(f"2026-03-{d:02d}"), kind="road" if d % 2 else "power")
            for d in range(2, 14)]
    req.arrange(session, made[0].id, actor=zone["lead"], now=at("2026-03-13"),
                department="development_reform")
    everyone = req.RequestFilter()
    first = req.request_page(session, zone["sup"], everyone, today=date(2026, 3, 13), limit=5)
    assert [r.id for r in first] == [r.id for r in reversed(made)][:5] and first.next
    second = req.request_page(session, zone["sup"], everyone, today=date(2026, 3, 13), limit=5,
                              cursor=first.next)
    assert [r.id for r in second] == [r.id for r in reversed(made)][5:10]
    roads = req.request_page(session, zone["sup"], req.RequestFilter(kind="road"),
                             today=date(2026, 3, 13))
    assert {r.kind for r in roads} == {"road"} and len(roads) == 6
    overdue = req.request_page(session, zone["sup"], req.RequestFilter(overdue=True),
                               today=date(2026, 3, 13))
    assert made[-1].id not in [r.id for r in overdue] and made[1].id in [r.id for r in overdue]
    mine = req.request_page(session, zone["power"], everyone, today=date(2026, 3, 13))
    assert [r.id for r in mine] == [made[0].id]  # the agent sees their department's


@pytest.mark.parametrize("filters, who", [
    (req.RequestFilter(), "sup"), (req.RequestFilter(kind="road"), "sup"),
    (req.RequestFilter(overdue=True), "sup"), (req.RequestFilter(status="open"), "lead"),
    (req.RequestFilter(), "power"), (req.RequestFilter(), "stranger"),
])
def test_the_export_rows_are_the_lists_pages_read_in_batches(session, zone, filters, who):
    """``request_rows`` (the Excel export) yields the rows of ``request_page``
    walked to the end, in order, whatever the batch size."""
    made = [raise_(session, zone, now=at(f"2026-03-{d:02d}"), kind="road" if d % 2 else "power")
            for d in range(2, 9)]
    req.arrange(session, made[2].id, actor=zone["lead"], now=at("2026-03-09"),
                department="development_reform")
    today, user = date(2026, 3, 9), zone[who]
    walked, cursor = [], None
    while True:
        page = req.request_page(session, user, filters, today=today, cursor=cursor, limit=2)
        walked += [r.id for r in page]
        if (cursor := page.next) is None:
            break
    for batch in (1, 3, 500):
        assert [r.id for r in req.request_rows(session, user, filters, today=today,
                                               batch=batch)] == walked


def test_the_export_refuses_a_bad_filter_before_reading(session, zone):
    with pytest.raises(ValidationError) as refused:
        req.request_rows(session, zone["sup"], req.RequestFilter(kind="weather"),
                         today=date(2026, 3, 9))
    assert refused.value.details["field"] == "kind"


# -- visits --------------------------------------------------------------------------------------------

def test_a_visit_links_the_requests_raised_during_it(session, zone):
    visit = req.record_visit(session, actor=zone["lead"], now=MONDAY, enterprise_id=zone["company"].id,
                             visited_on=date(2026, 2, 27), leader_id=zone["admin"].id,
                             companions="发改局 张三", notes="企业反映用电和道路问题")
    road = req.raise_request(session, actor=zone["lead"], now=MONDAY, kind="road",
                             title="厂区东侧道路未修通", visit_id=visit.id)
    assert road.source == "visit" and road.enterprise_id == zone["company"].id
    assert [r.id for r in req.requests_of_visit(session, visit.id)] == [road.id]
    assert req.load_for(session, road.id, zone["owner"]) is road  # the enterprise follows it
    assert [v.id for v in req.visit_page(session)] == [visit.id]
    with pytest.raises(ValidationError):
        req.raise_request(session, actor=zone["lead"], now=MONDAY, kind="road", title="x",
                          visit_id=visit.id, enterprise_id=zone["rival"].id)


@pytest.mark.parametrize("bad", [
    {"visited_on": date(2026, 3, 3)},  # in the future
    {"leader": "power"},  # an agent does not lead a visit
    {"enterprise_id": 10**6},
])
def test_a_bad_visit_is_refused(session, zone, bad):
    bad = dict(bad)
    kw = {"enterprise_id": zone["company"].id, "visited_on": date(2026, 3, 2),
          "leader_id": zone[bad.pop("leader", "lead")].id, **bad}
    with pytest.raises(ValidationError):
        req.record_visit(session, actor=zone["lead"], now=MONDAY, **kw)


def test_visits_are_recorded_by_staff_only(session, zone):
    for who in ("owner", "sup"):
        with pytest.raises(NotPermitted):
            req.record_visit(session, actor=zone[who], now=MONDAY, enterprise_id=zone["company"].id,
                             visited_on=date(2026, 3, 2), leader_id=zone["lead"].id)
