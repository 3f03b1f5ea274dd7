"""Engine operations: every change to a project or an item task goes through here.

Each operation takes the session, the actor and the time as arguments, checks
permission and input, fires the state machine, writes the audit event and the
consequences (dependants released, milestones reached) and only flushes: the
caller commits once, so state, version, audit and dependants land together or
not at all. Locks are taken in one order — project row, then task row — and a
caller may pass the ``expected_version`` it showed the user; a mismatch is a
``Conflict``, never a silent overwrite.

The operations live in ``workflow.core.lifecycle`` (the project's lifecycle),
``workflow.core.tasks`` (the item tasks) and ``workflow.core.department`` (the
department's 受理 and the pauses of its statutory clock), on the unit-of-work helpers of
``workflow.core.unitofwork`` and the shared task step of
``workflow.core.taskstep``. Every caller imports them from here
(``from workflow.core import operations as ops``), together with the time
helpers ``utc`` and ``zone_today`` of ``workflow.kernel.moments``.
"""

from __future__ import annotations

from workflow.core.department import HOLD_KINDS, accept_task, pause_statutory, resume_statutory
from workflow.core.extensions import (
    can_request_extension,
    decide_extension,
    extension_refusal,
    pending_extensions,
    request_extension,
)
from workflow.core.lifecycle import (
    advance_project,
    choose_item,
    create_project,
    gating_items_open,
    mandate_project,
    pick_lead,
    project_items,
    release_ready_tasks,
    resume_project,
    sign_project,
    suspend_project,
    terminate_project,
)
from workflow.core.tasks import (
    ACTION_RULES,
    MissingMaterial,
    add_comment,
    approve_task,
    assign_task,
    auto_assign,
    available_actions,
    claim_task,
    complete_task,
    cover_task,
    handoff_task,
    open_work_counts,
    project_with_tasks,
    record_attachment,
    request_item,
    request_materials,
    return_task,
    rework_task,
    start_task,
    submit_task,
    supply_materials,
    terminate_task,
    unassign_task,
)
from workflow.core.taskstep import recompute_due
from workflow.core.unitofwork import (
    TASK_LOADED,
    definition_for,
    flush,
    load_project_by_code,
    load_task,
    lock_project,
    machine_for,
)
from workflow.kernel.moments import ZONE_TZ, utc, zone_today

__all__ = [
    "ACTION_RULES",
    "HOLD_KINDS",
    "accept_task",
    "pause_statutory",
    "resume_statutory",
    "MissingMaterial",
    "TASK_LOADED",
    "ZONE_TZ",
    "add_comment",
    "advance_project",
    "approve_task",
    "assign_task",
    "auto_assign",
    "available_actions",
    "can_request_extension",
    "extension_refusal",
    "pending_extensions",
    "choose_item",
    "claim_task",
    "complete_task",
    "cover_task",
    "create_project",
    "decide_extension",
    "definition_for",
    "flush",
    "gating_items_open",
    "handoff_task",
    "load_project_by_code",
    "load_task",
    "lock_project",
    "machine_for",
    "mandate_project",
    "open_work_counts",
    "pick_lead",
    "project_items",
    "project_with_tasks",
    "recompute_due",
    "record_attachment",
    "release_ready_tasks",
    "request_extension",
    "request_item",
    "request_materials",
    "resume_project",
    "return_task",
    "rework_task",
    "sign_project",
    "start_task",
    "submit_task",
    "supply_materials",
    "suspend_project",
    "terminate_project",
    "terminate_task",
    "unassign_task",
    "utc",
    "zone_today",
]
