"""Standard land (标准地), the investment agreement and the lifecycle checks.

- **Parcels** carry their area in 亩, park and location, servicing level, the
  regional evaluations (区域评估) done on them and their control indicators;
  an admin edits all of it (``save_parcel``, ``set_indicator``,
  ``save_evaluation``, ``attach_evaluation`` …).
- **Assigning a parcel** to a project covers every item whose
  ``coverage.evaluation`` the parcel carries *valid on that day*, each with the
  evaluation's reference (``assign_parcel``); an expired evaluation covers
  nothing and the item stays to be done.
- **The investment-and-construction agreement** (投资建设协议) fixes the committed
  indicators and four dates; each date becomes a ``Checkpoint`` with a deadline:
  the start check, the completion acceptance against the standard (a failure
  blocks the step to production: ``ensure_may_produce``), the production check
  and the capacity review (达产复核).
- **The capacity review**: the enterprise (or the lead) reports investment,
  floor area, tax, output and energy; ``assess`` computes each indicator with
  ``Decimal`` arithmetic, compares it with the commitment, and the lead's
  decision records pass, rectification by a deadline, or breach with a credit
  record (失信).
- **The sweep** passes start/production checks the project has reached, warns of
  idle land one and two years after a missed start (闲置土地处置办法 第十四条), and
  tells the lead once when a checkpoint passes its due date still open.
- **Item deadlines** (``deadlines``): what an item of the definition sets once it
  closes — 施工许可 → 开工 within 3 months, at most two 3-month extensions;
  竣工验收备案 filed by the enterprise within 15 days of the acceptance.
- **Idle land** (``idle``): the second criterion (started, under a third of the
  area built or under 25 % of the investment made, stopped for a year) and the
  exemption for a delay the government caused, recorded with its reason.
- **Floor-area ratio**: a storey higher than 8 m counts twice.

Rounding: every indicator is computed exactly, then rounded half-up to two
decimal places (``CENT``); the rounded value is the one shown *and* the one
judged, so a page never shows "3.00 < 3.00". Areas convert with
1 亩 = 10 000 / 15 m² exactly (1 公顷 = 15 亩), not a rounded 666.67.

The code lives in the package's modules, one job each: ``indicators`` (the
arithmetic and the rules), ``parcels`` (the register an admin edits),
``coverage`` (assigning a parcel), ``agreements`` (the agreement and its
checks), ``capacity`` (the 达产复核), ``periodic`` (the sweep), ``panel`` and
``register`` (reading), ``figures`` (the zone's figures). Their public names
are re-exported here: callers write ``land.assign_parcel(...)``; importing
the package plugs its guard and consequence into the core.
"""

from __future__ import annotations

from workflow.reforms.land import forecast  # noqa: F401 - keeps the late list (its hook)
from workflow.reforms.land.agreements import (
    CHECK_KINDS,
    CHECK_STAGE,
    CHECKPOINT_ORDER,
    OPEN_CHECKS,
    committed_indicators,
    ensure_may_produce,
    open_checkpoints,
    record_agreement,
    record_check,
)
from workflow.reforms.land.capacity import VERDICT_WORDS, confirm_capacity, report_capacity, review_capacity
from workflow.reforms.land.coverage import (
    CoverageResult,
    CoverageRow,
    apply_parcel_coverage,
    assign_parcel,
    coverage_rows,
    evaluation_reference,
    valid_evaluation,
)
from workflow.reforms.land.deadlines import (
    ITEM_KINDS,
    deadline_name,
    extend_item_checkpoint,
    item_checkpoints,
    months_later,
)
from workflow.reforms.land.figures import (
    FIGURE_OPTIONS,
    FIGURE_ORDER,
    VERDICTS,
    FigureLine,
    FigureRow,
    ZoneFigures,
    figure_page,
    figure_rows,
    zone_figures,
)
from workflow.reforms.land.idle import (
    CAUSE_NAMES,
    idle_share,
    record_exemption,
    record_stoppage,
    resume_construction,
    running_stoppage,
    standing_exemption,
    stoppage_idle_from,
    stoppages,
    sweep_stoppages,
    withdraw_exemption,
)
from workflow.reforms.land.indicators import (
    BOUNDS,
    CENT,
    CODE,
    EXTRA_FIGURES,
    HEADLINE,
    RATIO,
    REPORT_FIELDS,
    RULES,
    STANDARD_INDICATORS,
    TALL_STOREYS,
    Figures,
    IndicatorKind,
    LandRules,
    add_months,
    add_years,
    assess,
    compute,
    met,
    parse_figures,
    plain,
    report_inputs,
    rounded,
    shortfall,
    to_decimal,
    verdict_for,
)
from workflow.reforms.land.panel import ProjectLand, project_land
from workflow.reforms.land.parcels import (
    SERVICING_LEVELS,
    attach_evaluation,
    detach_evaluation,
    remove_indicator,
    save_evaluation,
    save_parcel,
    set_indicator,
)
from workflow.reforms.land.periodic import CHECK_NAMES, idle_due, idle_fee, sweep
from workflow.reforms.land.register import (
    CHOICES,
    EVALUATION_ORDER,
    PARCEL_ORDER,
    PLACED_ORDER,
    SHOWN_PER_PARCEL,
    ParcelLine,
    evaluation_choices,
    evaluation_id_of,
    evaluation_page,
    parcel_choices,
    parcel_id_of,
    parcel_page,
    projects_on,
)

__all__ = [
    "BOUNDS",
    "CAUSE_NAMES",
    "CENT",
    "CHECKPOINT_ORDER",
    "CHECK_KINDS",
    "CHECK_NAMES",
    "CHECK_STAGE",
    "CHOICES",
    "CODE",
    "CoverageResult",
    "CoverageRow",
    "EVALUATION_ORDER",
    "EXTRA_FIGURES",
    "FIGURE_OPTIONS",
    "FIGURE_ORDER",
    "FigureLine",
    "FigureRow",
    "Figures",
    "HEADLINE",
    "ITEM_KINDS",
    "IndicatorKind",
    "LandRules",
    "OPEN_CHECKS",
    "PARCEL_ORDER",
    "PLACED_ORDER",
    "ParcelLine",
    "ProjectLand",
    "RATIO",
    "REPORT_FIELDS",
    "RULES",
    "SERVICING_LEVELS",
    "SHOWN_PER_PARCEL",
    "STANDARD_INDICATORS",
    "TALL_STOREYS",
    "VERDICTS",
    "VERDICT_WORDS",
    "ZoneFigures",
    "add_months",
    "add_years",
    "apply_parcel_coverage",
    "assess",
    "assign_parcel",
    "attach_evaluation",
    "committed_indicators",
    "compute",
    "confirm_capacity",
    "coverage_rows",
    "deadline_name",
    "detach_evaluation",
    "ensure_may_produce",
    "evaluation_choices",
    "evaluation_id_of",
    "evaluation_page",
    "evaluation_reference",
    "extend_item_checkpoint",
    "figure_page",
    "figure_rows",
    "idle_due",
    "idle_fee",
    "idle_share",
    "item_checkpoints",
    "met",
    "months_later",
    "open_checkpoints",
    "parcel_choices",
    "parcel_id_of",
    "parcel_page",
    "parse_figures",
    "plain",
    "project_land",
    "projects_on",
    "record_agreement",
    "record_check",
    "record_exemption",
    "record_stoppage",
    "remove_indicator",
    "report_capacity",
    "report_inputs",
    "resume_construction",
    "review_capacity",
    "rounded",
    "running_stoppage",
    "save_evaluation",
    "save_parcel",
    "set_indicator",
    "shortfall",
    "standing_exemption",
    "stoppage_idle_from",
    "stoppages",
    "sweep",
    "sweep_stoppages",
    "to_decimal",
    "valid_evaluation",
    "verdict_for",
    "withdraw_exemption",
    "zone_figures",
]
