"""Reading a loaded definition: its critical paths in working days (the
longest chain of prerequisites, optionally up to a lifecycle stage) on each
clock — the statutory one (the departments' legal limits, from 受理), the
service one (the zone's promises for its agents' part) and both end to end —
and the readable report ``daiban definitions check`` prints. Standard library
only."""

from __future__ import annotations

from definitions.model import CATEGORIES, Definition, Item, TimeLimit

__all__ = ["PATH_CLOCKS", "critical_path", "summary"]

# What a critical path adds up per item: the statutory limit, the service
# limit, or both (an item's whole time: prepared by the agent, then decided).
PATH_CLOCKS = ("statutory", "service", "both")


def item_days(item: Item, clock: str = "statutory") -> int:
    """An item's length on ``clock`` in working days (see ``PATH_CLOCKS``)."""
    if clock == "statutory":
        return item.limit.approx_working_days
    if clock == "service":
        return item.service_limit.approx_working_days
    if clock == "both":
        return item.limit.approx_working_days + item.service_limit.approx_working_days
    raise ValueError(f"unknown clock '{clock}' (expected one of {', '.join(PATH_CLOCKS)})")


def critical_path(defn: Definition, stage: str | None = None, *,
                  clock: str = "statutory") -> tuple[list[Item], int]:
    """The longest chain of prerequisites in working days (calendar-day
    limits count as ceil(n × 5 / 7)) on ``clock``: the legal limits
    (``statutory``, the default), the zone's service limits (``service``) or
    both added (``both``). With ``stage``, only the items that must close
    before the project can enter that stage (those gating it or an earlier
    stage, and their prerequisites) are considered. Ties go to the item
    earlier in dependency order."""
    if stage is not None:
        limit = defn.stages[stage].order
        wanted: set[str] = set()
        todo = [i.code for i in defn.items.values()
                if i.gates and defn.stages[i.gates].order <= limit]
        while todo:
            code = todo.pop()
            if code not in wanted:
                wanted.add(code)
                todo.extend(defn.items[code].requires)
        items = [i for i in defn.items.values() if i.code in wanted]
    else:
        items = list(defn.items.values())
    length: dict[str, int] = {}
    before: dict[str, str | None] = {}
    for item in items:
        prev = None
        for req in item.requires:
            if prev is None or length[req] > length[prev]:
                prev = req
        before[item.code] = prev
        length[item.code] = item_days(item, clock) + (length[prev] if prev else 0)
    if not items:
        return [], 0
    end: str | None = max(enumerate(items), key=lambda p: (length[p[1].code], -p[0]))[1].code
    total = length[end]
    chain: list[Item] = []
    while end is not None:
        chain.append(defn.items[end])
        end = before[end]
    chain.reverse()
    return chain, total


def _limit_text(limit: TimeLimit) -> str:
    unit = "wd" if limit.unit == "working_days" else "cd"
    return f"{limit.amount} {unit}"


def summary(defn: Definition) -> str:
    """A readable report of the definition (what ``daiban definitions check``
    prints): zone and version, counts, items in dependency order, groups,
    lifecycle and critical paths."""
    lines = [
        f"Zone {defn.zone}: {defn.name_zh} ({defn.name_en})",
        f"Version {defn.version}",
        "",
        f"Items: {len(defn.items)} ("
        + ", ".join(f"{cat} {n}" for cat in CATEGORIES
                    if (n := len(defn.items_in_category(cat))))
        + ")",
        "Limits: wd = working days (工作日), cd = calendar days (自然日); the legal limit"
        " (statutory clock, 部门, from 受理) first, then the zone's service limit (service"
        " clock, 代办, release → submission)",
        "",
        "Items in dependency order:",
    ]
    width = max((len(code) for code in defn.items), default=0)
    for n, item in enumerate(defn.items.values(), 1):
        dept = defn.departments[item.department].name_zh
        lines.append(f"{n:3}. {item.code:<{width}}  {item.name_zh}  [{dept}]  "
                     f"{_limit_text(item.limit)}"
                     + (f" (+{item.max_extension_days}"
                        + (" on the service clock" if item.extension_clock == "service" else "")
                        + ")" if item.max_extension_days else "")
                     + f" · service {_limit_text(item.service_limit)}")
        details = [f"{item.category}",
                   "requires " + (", ".join(item.requires) if item.requires else "—")]
        if item.available_from:
            details.append(f"opens at {item.available_from}")
        if item.gates:
            details.append(f"gates {item.gates}")
        cover = []
        if item.coverage.evaluation:
            cover.append(f"evaluation {item.coverage.evaluation}")
        if item.coverage.commitment:
            cover.append("commitment 承诺制")
        if cover:
            details.append("covered by " + " or ".join(cover))
        if item.chemical_only:
            details.append("chemical projects only")
        if item.choice:
            details.append(f"choice {item.choice}" + (" (default)" if item.choice_default else ""))
        if item.applicant_limit:
            details.append(f"applicant files within {_limit_text(item.applicant_limit)}")
        if item.checkpoint:
            check = item.checkpoint
            details.append(f"then reach {check.reach} within {check.months} months"
                           + (f" (at most {check.extensions} extensions of "
                              f"{check.extension_months})" if check.extensions else ""))
        lines.append(" " * (7 + width) + "; ".join(details))
    choices = defn.choices()
    if choices:
        lines += ["", "Choices (a project does one alternative; the critical path counts "
                  "the longest):"]
        lines += [f"  {code}: " + " | ".join(i.code + ("*" if i.choice_default else "")
                                           for i in items) for code, items in choices.items()]
    lines += ["", "Evaluations (区域评估): " + (", ".join(defn.evaluation_codes()) or "—"),
              "", "Groups:"]
    for group in defn.groups.values():
        industries = [i for i in defn.industries.values() if i.group == group.code]
        lines.append(f"  {group.code} {group.name_zh} ({group.name_en})")
        lines.append("    departments: " + ", ".join(
            f"{defn.departments[d].name_zh}" for d in group.departments))
        lines.append("    industries: " + (", ".join(
            f"{i.code} {i.name_zh}" for i in industries) or "—"))
    main = " → ".join(
        f"{s.code} {s.name_zh}" + ("*" if s.auto_advance else "") for s in defn.main_stages())
    side = ", ".join(f"{s.code} {s.name_zh}" + (" (terminal)" if s.terminal else "")
                     for s in defn.stages.values() if s.side)
    lines += ["", "Lifecycle (* = advances automatically when its gating items close):",
              f"  {main}", f"  side: {side or '—'}", ""]
    titles = {"statutory": "statutory clock (部门: legal limits from 受理)",
              "service": "service clock (代办: release → submission)",
              "both": "both clocks end to end (service + statutory per item)"}
    for clock in PATH_CLOCKS:
        chain, total = critical_path(defn, clock=clock)
        lines.append(f"Critical path, {titles[clock]}: {total} working days")
        lines.append("  " + " → ".join(f"{i.code} ({item_days(i, clock)})" for i in chain))
        for stage in defn.stages.values():
            if defn.items_gating(stage.code):
                chain, total = critical_path(defn, stage.code, clock=clock)
                lines.append(f"  to {stage.code} {stage.name_zh}: {total} working days "
                             f"({' → '.join(i.code for i in chain)})")
    return "\n".join(lines) + "\n"
