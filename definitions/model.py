"""Frozen objects a zone's process definition is validated into.

Everything here is plain data: the engine reads it, nothing writes it after
loading. Collections are tuples and mapping proxies so that a loaded
definition cannot be mutated by accident.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from types import MappingProxyType
from typing import Literal

ItemCategory = Literal["unified_service", "commitment", "approval", "filing", "utility"]
CATEGORIES: tuple[str, ...] = ("unified_service", "commitment", "approval", "filing", "utility")

LimitUnit = Literal["working_days", "calendar_days"]
# The two clocks of an item (行政许可法 Art. 42): the zone's service clock runs
# while its agent prepares the application (released → submitted, 代办), the
# statutory clock while the department decides (受理 → decision, 部门).
ClockName = Literal["service", "statutory"]
CLOCKS: tuple[str, ...] = ("service", "statutory")


@dataclass(frozen=True)
class TimeLimit:
    """A time limit: N working days (工作日) or N calendar days (自然日). An
    item's pauses and extensions count in its limit's own unit."""

    amount: int
    unit: LimitUnit = "working_days"

    @property
    def calendar_days(self) -> bool:
        return self.unit == "calendar_days"

    @property
    def approx_working_days(self) -> int:
        """The limit in working days, for planning and the critical path only:
        a calendar-day limit counts as ceil(n × 5 / 7) working days. The real
        deadline comes from the statutory clock, holidays included."""
        if self.unit == "calendar_days":
            return -(-self.amount * 5 // 7)
        return self.amount

    def __str__(self) -> str:
        return f"{self.amount} {self.unit.replace('_', ' ')}"


@dataclass(frozen=True)
class Material:
    """A material the enterprise supplies. ``secondary`` ones may be missing at
    acceptance under 容缺受理 (accept with gaps)."""

    code: str
    name_zh: str
    name_en: str
    secondary: bool = False


@dataclass(frozen=True)
class Coverage:
    """What may cover (waive) an item instead of doing it.

    ``evaluation``: code of a regional evaluation (区域评估) which, when valid on
    the project's parcel, covers the item. ``commitment``: the item may be
    completed by a signed commitment letter (承诺制)."""

    evaluation: str | None = None
    commitment: bool = False


# Materials that can never be missing at acceptance, whatever a definition
# says: the 项目代码 is the project's lifetime identity that every department
# checks (企业投资项目核准和备案管理条例 第三条; 固定资产投资项目代码管理规范,
# 发改投资〔2020〕1439号), so no item is accepted under 容缺 without it.
ESSENTIAL_MATERIALS: tuple[str, ...] = ("project_code",)


@dataclass(frozen=True)
class ItemCheckpoint:
    """What must follow once an item is done, by a deadline in months: the
    project reaches the stage ``reach`` within ``months`` of the day the item
    closed; the period may be extended at most ``extensions`` times by
    ``extension_months`` each (施工许可: start within 3 months of issue, at
    most two extensions of 3 months, 建筑法 第九条)."""

    reach: str
    months: int
    extensions: int = 0
    extension_months: int = 0
    basis: str = ""


@dataclass(frozen=True)
class Item:
    """One service item on a project's approval path.

    ``chemical_only``: the item applies to chemical projects only (the
    hazardous-chemical safety reviews). ``choice``: the item is one of
    alternatives of that code, one of which a project does (the EIA report
    or the report form); ``choice_default`` marks the one a project does
    unless it chose another. ``applicant_limit``: the applicant's own legal
    deadline to file the item, counted from the day it opens (竣工验收备案:
    within 15 days of the acceptance).
    ``limit`` is the department's legal limit, counted from its 受理 (the
    statutory clock); ``service_limit`` the zone's own promise for its agent's
    part, from the item's release to the submission (the service clock; the
    item's own or the zone's default). ``extension_clock`` is the clock an
    approved extension lengthens: the statutory one, as 行政许可法 Art. 42
    says, unless the definition names the service clock."""

    code: str
    name_zh: str
    name_en: str
    category: str
    department: str
    limit: TimeLimit
    requires: tuple[str, ...] = ()
    gates: str | None = None  # lifecycle stage this item must close before
    available_from: str | None = None  # stage the project must reach before it opens
    materials: tuple[Material, ...] = ()
    coverage: Coverage = field(default_factory=Coverage)
    basis: str = ""
    max_extension_days: int = 0
    service_limit: TimeLimit = field(default_factory=lambda: TimeLimit(5))
    extension_clock: ClockName = "statutory"
    # The item waits for the applicant's request even once it could open (竣工验收
    # is applied for when construction ends, not when it starts): its clock must
    # not run during construction.
    opens_on_request: bool = False
    chemical_only: bool = False
    choice: str | None = None
    choice_default: bool = False
    checkpoint: ItemCheckpoint | None = None
    applicant_limit: TimeLimit | None = None


@dataclass(frozen=True)
class Department:
    code: str
    name_zh: str
    name_en: str


@dataclass(frozen=True)
class Industry:
    code: str
    name_zh: str
    name_en: str
    group: str
    # A chemical industry's projects are screened for entry (化工项目准入) and
    # carry the chemical rules (the ¥50 M minimum, the expert review).
    chemical: bool = False


@dataclass(frozen=True)
class IndustryGroup:
    code: str
    name_zh: str
    name_en: str
    departments: tuple[str, ...]


@dataclass(frozen=True)
class Stage:
    """A step of the project lifecycle (intention → … → verified)."""

    code: str
    name_zh: str
    name_en: str
    order: int
    auto_advance: bool = False  # advance as soon as the items gating it close
    terminal: bool = False
    side: bool = False  # suspended / terminated: reachable from any step


@dataclass(frozen=True)
class Definition:
    """A validated zone definition. ``version`` is a content hash of the source
    files; projects record it and keep running on it when a new one loads."""

    zone: str
    name_zh: str
    name_en: str
    version: str
    items: Mapping[str, Item]  # in dependency (topological) order
    departments: Mapping[str, Department]
    groups: Mapping[str, IndustryGroup]
    industries: Mapping[str, Industry]
    stages: Mapping[str, Stage]  # in lifecycle order, side stages last
    source: Mapping[str, object] = field(default_factory=dict, compare=False, repr=False)
    # Tasks an agent handles at once unless an admin set their own (the workload forecast).
    agent_capacity: int = 10

    def limit_of(self, code: str, clock: str) -> TimeLimit:
        """Item ``code``'s limit on ``clock`` (``service`` or ``statutory``)."""
        item = self.items[code]
        return item.service_limit if clock == "service" else item.limit

    def __post_init__(self) -> None:
        for name in ("items", "departments", "groups", "industries", "stages", "source"):
            value = getattr(self, name)
            if not isinstance(value, MappingProxyType):
                object.__setattr__(self, name, MappingProxyType(dict(value)))

    # -- lookups -----------------------------------------------------------------
    def item(self, code: str) -> Item:
        return self.items[code]

    def dependants(self, code: str) -> tuple[Item, ...]:
        """Items that list ``code`` among their prerequisites."""
        return tuple(i for i in self.items.values() if code in i.requires)

    def items_gating(self, stage: str) -> tuple[Item, ...]:
        return tuple(i for i in self.items.values() if i.gates == stage)

    def items_in_category(self, category: str) -> tuple[Item, ...]:
        return tuple(i for i in self.items.values() if i.category == category)

    def evaluation_codes(self) -> tuple[str, ...]:
        """Codes of the regional evaluations (区域评估) a parcel can carry: those
        produced by the unified service items, in item order."""
        return tuple(
            i.coverage.evaluation
            for i in self.items.values()
            if i.category == "unified_service" and i.coverage.evaluation
        )

    def items_covered_by(self, evaluation: str) -> tuple[Item, ...]:
        """Items that a valid ``evaluation`` on the project's parcel covers."""
        return tuple(i for i in self.items.values() if i.coverage.evaluation == evaluation)

    def choices(self) -> dict[str, tuple[Item, ...]]:
        """The choice groups: code → its alternatives, in item order."""
        groups: dict[str, list[Item]] = {}
        for item in self.items.values():
            if item.choice:
                groups.setdefault(item.choice, []).append(item)
        return {code: tuple(items) for code, items in groups.items()}

    @cached_property
    def _defaults(self) -> dict[str, str]:
        return {i.choice: i.code for i in self.items.values() if i.choice and i.choice_default}

    def default_choice(self, choice: str) -> str:
        """The item a project does in ``choice`` unless it chose another."""
        return self._defaults[choice]

    def applies(self, item: Item, *, chemical: bool, chosen: Mapping[str, str]) -> bool:
        """Whether a project does ``item``: a chemical-only item only for a
        chemical project; of a choice, only the alternative the project chose
        (``chosen``: choice code → item code), else the default one."""
        if item.chemical_only and not chemical:
            return False
        if item.choice:
            return item.code == (chosen.get(item.choice) or self.default_choice(item.choice))
        return True

    def items_for(self, *, chemical: bool, chosen: Mapping[str, str]) -> tuple[Item, ...]:
        """The items a project does, in dependency order."""
        return tuple(i for i in self.items.values()
                     if self.applies(i, chemical=chemical, chosen=chosen))

    def group_for_industry(self, industry: str) -> IndustryGroup:
        return self.groups[self.industries[industry].group]

    def main_stages(self) -> tuple[Stage, ...]:
        return tuple(s for s in self.stages.values() if not s.side)

    def next_stage(self, code: str) -> Stage | None:
        main = self.main_stages()
        codes = [s.code for s in main]
        if code not in codes or codes.index(code) + 1 >= len(codes):
            return None
        return main[codes.index(code) + 1]
