"""Who may do what: the one place authorisation rules live.

Each action has a ``can_<verb>`` predicate; operations call ``require`` so that
the web, the API and the CLI share the same rules. Supervisors read
everything and change only supervision records; enterprises see only their own
projects; agents act on tasks of their groups or assigned to them.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import ColumnElement, false, or_, select, true

from workflow.core.models import ItemTask, Project
from workflow.kernel.errors import NotPermitted, term
from workflow.kernel.models import User


def group_ids(user: User) -> set[int]:
    return {m.group_id for m in user.memberships}


def is_project_lead(user: User, project: Project) -> bool:
    return user.role == "lead" and project.lead_id == user.id


def leads_group(user: User, group_id: int) -> bool:
    return user.role == "lead" and group_id in group_ids(user)


def can_view_project(user: User, project: Project) -> bool:
    if not user.active:
        return False
    if user.role in ("supervisor", "admin"):
        return True
    if user.role == "enterprise":
        return user.enterprise_id is not None and user.enterprise_id == project.enterprise_id
    if user.role == "lead":
        return is_project_lead(user, project) or project.group_id in group_ids(user)
    if user.role == "agent":
        return project.group_id in group_ids(user) or any(
            t.assignee_id == user.id for t in project.tasks
        )
    return False


def visible_projects(user: User) -> ColumnElement[bool]:
    """``can_view_project`` as a condition on ``Project`` rows: the same rule,
    for lists filtered in the database rather than after they were read
    (the tests check that the two agree for every role)."""
    if not user.active:
        return false()
    if user.role in ("supervisor", "admin"):
        return true()
    if user.role == "enterprise":
        return Project.enterprise_id == user.enterprise_id if user.enterprise_id is not None \
            else false()
    groups = sorted(group_ids(user))
    in_groups = Project.group_id.in_(groups) if groups else false()
    if user.role == "lead":
        return or_(Project.lead_id == user.id, in_groups)
    if user.role == "agent":
        holds = select(ItemTask.id).where(ItemTask.project_id == Project.id,
                                          ItemTask.assignee_id == user.id).exists()
        return or_(in_groups, holds)
    return false()


def can_manage_project(user: User, project: Project) -> bool:
    """Lifecycle steps (mandate, advance, suspend, terminate): the lead handler
    of the project or a lead of its group; admins as the zone's leadership."""
    return user.active and (
        user.role == "admin" or is_project_lead(user, project) or leads_group(user, project.group_id)
    )


def can_claim(user: User, task: ItemTask) -> bool:
    return (
        user.active and not user.away and user.role == "agent"
        and task.group_id in group_ids(user)
    )


def can_assign(user: User, task: ItemTask) -> bool:
    return can_manage_project(user, task.project)


def can_work(user: User, task: ItemTask) -> bool:
    """Day-to-day work on a task: its assignee, or a lead of the task's group."""
    if not user.active:
        return False
    if user.role == "agent":
        return task.assignee_id == user.id
    return can_manage_project(user, task.project)


def can_unassign(user: User, task: ItemTask) -> bool:
    return can_work(user, task)


def can_decide_extension(user: User, task: ItemTask) -> bool:
    return can_manage_project(user, task.project) and user.role in ("lead", "admin")


def can_supply_materials(user: User, task: ItemTask) -> bool:
    """The enterprise supplies its own materials; the agent may record it."""
    if user.role == "enterprise":
        return user.active and user.enterprise_id == task.project.enterprise_id
    return can_work(user, task)


def can_comment(user: User, project: Project) -> bool:
    return can_view_project(user, project) and user.role != "supervisor"


def can_be_assigned(user: User, task: ItemTask) -> bool:
    return user.active and user.role == "agent" and task.group_id in group_ids(user)


# How a refusal names each action (catalogued: the Chinese sentence names it too).
ACTION_WORDS = {
    "claim": term("claim"), "assign": term("assign"), "work": term("work"),
    "unassign": term("unassign"), "decide_extension": term("decide extension"),
    "supply_materials": term("supply materials"),
}

RULES = {
    "claim": can_claim,
    "assign": can_assign,
    "work": can_work,
    "unassign": can_unassign,
    "decide_extension": can_decide_extension,
    "supply_materials": can_supply_materials,
}


def require(user: User | None, action: str, task: ItemTask) -> None:
    """Raise ``NotPermitted`` unless ``user`` may do ``action`` on ``task``.
    ``user`` None is the system (scheduler, migrations), which may do all."""
    if user is None:
        return
    if not RULES[action](user, task):
        raise NotPermitted(
            "{user} ({role}) may not {doing} task {task} ({item}).",
            action=action, task=task.id, user=user.username, role=user.role,
            doing=ACTION_WORDS.get(action, action.replace("_", " ")), item=task.item_code,
        )


def require_that(user: User | None, rule: Callable[[User], bool],
                 refusal: NotPermitted, *, system_may: bool = True) -> None:
    """Raise ``refusal`` unless ``rule(user)`` — the operations' side of the
    rules below that take only the user (editing the zone's tables, changing
    accounts). ``user`` None is the system (scheduler, CLI), which may, unless
    ``system_may`` is False. ``refusal`` is the caller's own
    ``NotPermitted("literal sentence")``, so the catalogue finds its sentence."""
    if user is None and system_may:
        return
    if user is None or not rule(user):
        raise refusal


def require_project(user: User | None, project: Project) -> None:
    if user is not None and not can_manage_project(user, project):
        raise NotPermitted(
            "{user} ({role}) may not manage project {project}.",
            project=project.code, user=user.username, role=user.role,
        )


# -- supervision notices (督办单) ---------------------------------------------------------

def can_issue_notice(user: User) -> bool:
    """A manual 督办 is the supervisors' own instrument (督查)."""
    return user.active and user.role == "supervisor"


def can_answer_notice(user: User, addressee_id: int) -> bool:
    """Only the addressee acknowledges a notice and reports on it."""
    return user.active and user.id == addressee_id


# -- agency paperwork and ratings (好差评) — documents area ------------------------------

def can_view_document(user: User, project: Project) -> bool:
    """A document is read by whoever may see its project (staff, the owning enterprise)."""
    return can_view_project(user, project)


def can_record_paper_signature(user: User, project: Project) -> bool:
    """A mandate the enterprise signed on paper is recorded, with its scan, by
    a lead handler of the project (its own or a lead of its group) — the one
    who answers for the mandate, not an agent acting under it."""
    return user.active and user.role == "lead" and can_manage_project(user, project)


def can_rate(user: User, project: Project) -> bool:
    """Only the project's own enterprise rates the service it received."""
    return (user.active and user.role == "enterprise" and user.enterprise_id is not None
            and user.enterprise_id == project.enterprise_id)


def can_answer_rectification(user: User, owner_id: int | None, project: Project) -> bool:
    """The lead handler it was opened for answers a rectification; a lead of the
    project's group or an admin stands in when that lead is away or gone."""
    if not user.active:
        return False
    return user.id == owner_id or (user.role in ("lead", "admin") and can_manage_project(user, project))


# -- 承诺制, 容缺受理 and credit records — commitments area ------------------------------

def can_offer_commitment(user: User, task: ItemTask) -> bool:
    """Offering (or withdrawing) a commitment letter: the task's agent or a lead."""
    return can_work(user, task)


def can_sign_for_enterprise(user: User, project: Project) -> bool:
    """Commitment letters and 容缺 promises are signed by the project's own enterprise."""
    return (user.active and user.role == "enterprise" and user.enterprise_id is not None
            and user.enterprise_id == project.enterprise_id)


def can_check_commitment(user: User, task: ItemTask) -> bool:
    """The department's compliance check is recorded by an agent of the task's
    group or by a lead of the project (admins as the zone's leadership)."""
    if not user.active:
        return False
    if user.role == "agent":
        return task.group_id in group_ids(user)
    return can_manage_project(user, task.project)


def can_clear_credit(user: User) -> bool:
    """Only admins clear a credit record (信用修复)."""
    return user.active and user.role == "admin"


# -- standard land (标准地) and the lifecycle checks --------------------------------------------

def can_edit_land(user: User) -> bool:
    """Parcels, their indicators and the regional evaluations are the zone's
    data: only admins change them."""
    return user.active and user.role == "admin"


def can_read_land(user: User) -> bool:
    """The parcel register and the zone's 亩均 figures: staff who steer the zone."""
    return user.active and user.role in ("admin", "lead", "supervisor")


def can_report_capacity(user: User, project: Project) -> bool:
    """达产复核 figures: the project's enterprise reports them; its lead may
    record them on the enterprise's behalf."""
    if user.role == "enterprise":
        return user.active and user.enterprise_id == project.enterprise_id
    return can_manage_project(user, project)


# -- intention ledger and chemical entry (意向项目台账, 化工项目准入) ---------------------------

def can_keep_intentions(user: User) -> bool:
    """Lead handlers (and admins) register intention projects."""
    return user.active and user.role in ("lead", "admin")


def can_read_ledger(user: User) -> bool:
    """The intention ledger and the zone's pipeline: leadership and supervision."""
    return user.active and user.role in ("lead", "admin", "supervisor")


def can_follow_up(user: User, project: Project) -> bool:
    """Follow-ups and conversion of an intention: its lead handler, a lead of its group, admins."""
    return can_manage_project(user, project)


def can_edit_chemical_rules(user: User) -> bool:
    """The chemical-entry tables (rules, prohibited types, catalogue) are the admins'."""
    return user.active and user.role == "admin"


def can_screen(user: User, project: Project) -> bool:
    """Screening a chemical project and recording its expert review."""
    return can_manage_project(user, project)


# -- which parts of the zone's work a user may open at all --------------------------------
# The pages and the API gate every route with one of these (``web.support.access.requires``);
# the object on the page (project, task, letter) is then checked by the rules above.

def can_sign_in(user: User) -> bool:
    """Any active account: pages whose object carries its own check (a project,
    a task, a document, one's notifications)."""
    return user.active


def can_use_second_factor(user: User) -> bool:
    """Enrolling an authenticator app and its recovery codes: the zone's staff
    (enterprises log in with their password alone)."""
    return user.active and user.role != "enterprise"


def can_work_as_staff(user: User) -> bool:
    """The zone's own routes of a project or a task (act on a task, comment,
    upload to the project file, move its lifecycle, issue an access code):
    the zone's staff. An enterprise acts through its portal."""
    return user.active and user.role in ("agent", "lead", "supervisor", "admin")


def can_administer(user: User) -> bool:
    """Accounts, the definitions in force and the failing deliveries: admins."""
    return user.active and user.role == "admin"


def can_lead(user: User) -> bool:
    """The lead handlers' work (the desk, screening chemical projects): lead
    handlers, and admins as the zone's leadership."""
    return user.active and user.role in ("lead", "admin")


def can_use_inbox(user: User) -> bool:
    """An inbox of tasks to hold and work: agents and lead handlers."""
    return user.active and user.role in ("agent", "lead")


def can_supervise(user: User) -> bool:
    """The watch list, the figures, their exports and the notices (督查): supervisors
    and admins over every group, a lead handler over their own groups."""
    return user.active and user.role in ("supervisor", "admin", "lead")


def can_read_plans(user: User) -> bool:
    """The leadership view of the 包联 promotion plans (each leadership member's
    projects and their plan status): lead handlers, supervisors, admins."""
    return user.active and user.role in ("lead", "supervisor", "admin")


def can_act_for_enterprise(user: User) -> bool:
    """The enterprise's own side (the portal, signing letters and promises):
    enterprise accounts; which project is theirs is checked on the project."""
    return user.active and user.role == "enterprise"


def can_read_chemical_rules(user: User) -> bool:
    """The chemical-entry tables and their exports: leadership and supervision."""
    return user.active and user.role in ("lead", "admin", "supervisor")


def can_read_screenings(user: User) -> bool:
    """A project's chemical screenings: the zone's staff (not enterprises)."""
    return user.active and user.role in ("agent", "lead", "admin", "supervisor")


def can_read_credit(user: User) -> bool:
    """The zone's list of credit records (信用记录): admins, who also clear them."""
    return can_clear_credit(user)


def can_serve_enterprises(user: User) -> bool:
    """入企服务: the staff who meet enterprises — agents, lead handlers,
    admins — record their requests and the visits they were raised in, and
    (the request's department, checked on the request) handle them.
    Supervisors read them (``can_work_as_staff``) and change nothing."""
    return user.active and user.role in ("agent", "lead", "admin")


# -- what the zone pays (统一服务事项费用, 要素补贴) -------------------------------------------
# The finance office is a flag on a staff account (``User.finance_office``), not a role:
# its people keep their role (a supervisor of the finance bureau, say) and the flag adds the
# keeping of fees, budgets and subsidies. Admins set it.

def is_finance_office(user: User) -> bool:
    return user.active and user.finance_office and user.role != "enterprise"


def can_read_fees(user: User) -> bool:
    """The fee ledger (budget, committed, paid) and its export: supervisors and
    admins, and the finance office."""
    return user.active and (user.role in ("supervisor", "admin") or is_finance_office(user))


def can_keep_fees(user: User) -> bool:
    """Contracts, invoices, payments, budgets and subsidy decisions: the finance
    office and admins."""
    return user.active and (user.role == "admin" or is_finance_office(user))
