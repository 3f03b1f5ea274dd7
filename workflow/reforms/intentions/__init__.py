"""意向项目台账: intention projects before signing, and the zone's pipeline.

An intention is a ``Project`` in the stage ``intention``: the enterprise,
its industry, the planned investment, the leader in charge, and every
follow-up contact (``FollowUp``) with why the enterprise hesitates (观望原因)
and what it asks for (企业要求); the project keeps the latest of both.
Converting an intention signs the same project row (``operations.sign_project``),
so its history and its audit chain simply continue.

The pipeline groups the zone's live projects by lifecycle step — intention →
signed → started → producing → at capacity — with counts and investment
totals per step, per industry group and per responsible leader.

Every list is read a page at a time in the database (``workflow.kernel.paging``), on
an index: the open intentions and a step's projects by planned investment
(``ix_project_stage_investment``, ``ix_project_suspended_investment``), the
converted and dropped ones by the audit event that moved them (partial indexes
``ix_audit_event_signed`` and ``ix_audit_event_dropped``: the audit log is the
record of when an intention was signed or dropped, so nothing is copied onto
the project row to be kept in step). Who sees what is a SQL condition
(``permissions.visible_projects``, ``ledger_scope``); the pipeline's totals
come from the rollup the scheduler refreshes (``rollups.PipelineTotal``).

The code lives in the package's modules: ``register`` (registering and
following up an intention), ``ledger_pages`` (the ledger), ``pipeline_steps``
(the pipeline) and ``reminders`` (the sweep); their public names are
re-exported here.
"""

from __future__ import annotations

from workflow.reforms.intentions.ledger_pages import (
    CONVERTED,
    DROPPED,
    INVESTMENT,
    LINE_OPTIONS,
    MOVED_KEYS,
    OPEN,
    STAGE_KEYS,
    STALE_AFTER_DAYS,
    Ledger,
    LedgerFilter,
    LedgerLine,
    LedgerSummary,
    converted,
    dropped,
    follow_ups_of,
    lead_handlers,
    ledger,
    ledger_scope,
    open_intentions,
    open_lines,
    silent_before,
    summary,
    viewable_ids,
)
from workflow.reforms.intentions.pipeline_steps import (
    PIPELINE,
    STEP_OF,
    STEPS,
    Pipeline,
    Row,
    Total,
    pipeline,
    step_column,
    step_of,
    step_order,
    step_projects,
)
from workflow.reforms.intentions.register import (
    CHANNELS,
    convert_intention,
    create_intention,
    find_enterprise,
    provisional_code,
    record_follow_up,
    update_intention,
)
from workflow.reforms.intentions.reminders import SWEEP_BATCH, sweep

__all__ = [
    "CHANNELS",
    "CONVERTED",
    "DROPPED",
    "INVESTMENT",
    "LINE_OPTIONS",
    "Ledger",
    "LedgerFilter",
    "LedgerLine",
    "LedgerSummary",
    "MOVED_KEYS",
    "OPEN",
    "PIPELINE",
    "Pipeline",
    "Row",
    "STAGE_KEYS",
    "STALE_AFTER_DAYS",
    "STEPS",
    "STEP_OF",
    "SWEEP_BATCH",
    "Total",
    "convert_intention",
    "converted",
    "create_intention",
    "dropped",
    "find_enterprise",
    "follow_ups_of",
    "lead_handlers",
    "ledger",
    "ledger_scope",
    "open_intentions",
    "open_lines",
    "pipeline",
    "provisional_code",
    "record_follow_up",
    "silent_before",
    "step_column",
    "step_of",
    "step_order",
    "step_projects",
    "summary",
    "sweep",
    "update_intention",
    "viewable_ids",
]
