"""Load a zone's process definition from TOML files and validate it.

A definition is a directory of ``*.toml`` files. Each file may hold any of these
top-level sections; the lists are merged across files in file-name order:

- ``[zone]`` (exactly once): ``code``, ``name_zh``, ``name_en``, and optionally
  ``service_limit`` (``{amount, unit}``), the zone's default promise for its
  agents' part of an item (the service clock) where an item declares none
  (without either: ``DEFAULT_SERVICE_LIMIT``, 5 working days).
- ``[[stages]]`` (one file only; the order is the lifecycle).
- ``[[departments]]``, ``[[groups]]``, ``[[industries]]``, ``[[items]]``.

Arrays of tables (rather than tables keyed by code) keep their order through a
JSON column that reorders object keys (PostgreSQL ``jsonb``), so a definition
reloaded from the database is the same, item order included.

Every refusal is a :class:`DefinitionError` that names the file and the dotted
key, e.g. ``items.toml: items.u03_mineral.requires: unknown prerequisite 'u99'``.
Only the standard library is used.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import heapq
import json
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from definitions.model import (
    CATEGORIES,
    CLOCKS,
    ESSENTIAL_MATERIALS,
    Coverage,
    Definition,
    Department,
    Industry,
    IndustryGroup,
    Item,
    ItemCheckpoint,
    Material,
    Stage,
    TimeLimit,
)
from definitions.reading import _CODE, WHOLE, DefinitionError, _entries, _kind, _Table

__all__ = [
    "DefinitionError",
    "canonical_json",
    "definition_version",
    "load_definition",
    "load_definition_from_source",
]

LIMIT_UNITS: tuple[str, ...] = ("working_days", "calendar_days")
# The service limit of an item when neither it nor the zone names one: the
# definitions stored before the service clock existed (running projects keep
# theirs) still load, with this promise for the agents' part.
DEFAULT_SERVICE_LIMIT = TimeLimit(5)
SECTIONS: tuple[str, ...] = ("zone", "stages", "departments", "groups", "industries", "items")
REQUIRED_SECTIONS: tuple[str, ...] = SECTIONS

ZONE_KEYS = ({"code", "name_zh", "name_en"}, {"service_limit", "agent_capacity"})
# Tasks an agent handles at once, when the zone says nothing (the workload forecast).
DEFAULT_AGENT_CAPACITY = 10
MAX_AGENT_CAPACITY = 500
STAGE_KEYS = ({"code", "name_zh", "name_en"}, {"auto_advance", "terminal", "side"})
DEPARTMENT_KEYS = ({"code", "name_zh", "name_en"}, set())
GROUP_KEYS = ({"code", "name_zh", "name_en", "departments"}, set())
INDUSTRY_KEYS = ({"code", "name_zh", "name_en", "group"}, {"chemical"})
ITEM_KEYS = (
    {"code", "name_zh", "name_en", "category", "department", "limit"},
    {"requires", "gates", "available_from", "materials", "coverage", "basis",
     "max_extension_days", "opens_on_request", "chemical_only", "choice", "choice_default",
     "checkpoint", "applicant_limit", "service_limit", "extension_clock"},
)
LIMIT_KEYS = ({"amount"}, {"unit"})
MATERIAL_KEYS = ({"code", "name_zh", "name_en"}, {"secondary"})
COVERAGE_KEYS = (set(), {"evaluation", "commitment"})
CHECKPOINT_KEYS = ({"reach", "months"}, {"extensions", "extension_months", "basis"})


# -- reading files --------------------------------------------------------------------


def load_definition(path: str | Path) -> Definition:
    """Read every ``*.toml`` file of the directory ``path`` (sorted by name; a
    single file also works) into ``{filename: parsed}`` and build the
    definition from that source."""
    path = Path(path)
    if path.is_file():
        files = [path]
    elif path.is_dir():
        files = sorted(p for p in path.glob("*.toml") if p.is_file())
        if not files:
            raise DefinitionError(str(path), "", "no *.toml files in this directory")
    else:
        raise DefinitionError(str(path), "", "no such file or directory")
    source: dict[str, Any] = {}
    for file in files:
        try:
            with file.open("rb") as fh:
                source[file.name] = tomllib.load(fh)
        except tomllib.TOMLDecodeError as exc:
            raise DefinitionError(file.name, "", f"invalid TOML: {exc}") from None
    return load_definition_from_source(source)


def _plain(value: Any) -> Any:
    """A JSON-safe deep copy: mappings → dicts, sequences → lists, TOML dates
    and times → ISO strings (so a JSON round trip changes nothing)."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, (_dt.date, _dt.time)):  # datetime is a date
        return value.isoformat()
    return value


def canonical_json(source: Mapping[str, Any]) -> str:
    """The canonical JSON text of a source mapping (sorted keys, no spaces)."""
    return json.dumps(_plain(source), sort_keys=True, ensure_ascii=False,
                      separators=(",", ":"))


def definition_version(source: Mapping[str, Any]) -> str:
    """First 16 hex digits of the SHA-256 of the canonical JSON of ``source``."""
    return hashlib.sha256(canonical_json(source).encode("utf-8")).hexdigest()[:16]


# -- building -------------------------------------------------------------------------


def load_definition_from_source(source: Mapping[str, Mapping[str, Any]], *,
                                stored: bool = False) -> Definition:
    """Validate ``{filename: parsed TOML}`` and build the frozen definition.

    Files are read in sorted name order whatever the mapping's order, so a
    source stored as JSON and reloaded gives the same definition and the same
    ``version``. Raises :class:`DefinitionError` at the first problem.

    ``stored``: the source of a version already installed, rebuilt for the
    projects that run on it. It was validated when it was installed; rules
    added since then about what a *new* definition may say (an essential
    material marked secondary) do not refuse it: the engine enforces those
    rules itself, so a running project keeps its definition."""
    if not isinstance(source, Mapping):
        raise DefinitionError(WHOLE, "", f"expected a mapping of file names, got {_kind(source)}")
    plain: dict[str, Any] = _plain(source)
    sections: dict[str, list[tuple[str, Any]]] = {name: [] for name in SECTIONS}
    for file in sorted(plain):
        content = plain[file]
        if not isinstance(content, dict):
            raise DefinitionError(file, "", f"expected a table of sections, got {_kind(content)}")
        for name, value in content.items():
            if name not in sections:
                raise DefinitionError(file, name, f"unknown section '{name}' (allowed: "
                                      f"{', '.join(SECTIONS)})")
            sections[name].append((file, value))
    for name in REQUIRED_SECTIONS:
        if not sections[name]:
            raise DefinitionError(WHOLE, name, f"missing required section '{name}' "
                                  "(no file defines it)")
    for name in ("zone", "stages"):
        if len(sections[name]) > 1:
            first, second = sections[name][0][0], sections[name][1][0]
            raise DefinitionError(second, name, f"section '{name}' is already defined in {first}")

    zone, service_limit = _zone(*sections["zone"][0])
    capacity = _capacity(*sections["zone"][0])
    stages = _stages(*sections["stages"][0])
    departments = _departments(sections["departments"])
    groups = _groups(sections["groups"], departments)
    industries = _industries(sections["industries"], groups)
    items = _items(sections["items"], stages, departments, groups, service_limit, stored=stored)
    return Definition(
        zone=zone[0], name_zh=zone[1], name_en=zone[2],
        version=definition_version(plain),
        items=items, departments=departments, groups=groups,
        industries=industries, stages=stages, source=plain, agent_capacity=capacity,
    )


def _zone(file: str, value: Any) -> tuple[tuple[str, str, str], TimeLimit | None]:
    """The zone's names, and its default service limit (承诺时限) for the
    items that declare none."""
    if not isinstance(value, Mapping):
        raise DefinitionError(file, "zone", f"expected a table, got {_kind(value)}")
    table = _Table(file, "zone", value)
    table.check_keys(ZONE_KEYS)
    names = table.code(), table.string("name_zh") or "", table.string("name_en") or ""
    return names, (_limit(table, "service_limit") if "service_limit" in table.data else None)


def _capacity(file: str, value: Any) -> int:
    """The zone's default capacity of an agent: how many tasks at once."""
    table = _Table(file, "zone", value)
    capacity = table.integer("agent_capacity", DEFAULT_AGENT_CAPACITY)
    if not 1 <= capacity <= MAX_AGENT_CAPACITY:
        raise table.fail("agent_capacity", f"must be between 1 and {MAX_AGENT_CAPACITY}")
    return capacity


def _stages(file: str, value: Any) -> dict[str, Stage]:
    main: list[tuple[_Table, str]] = []
    side: list[tuple[_Table, str]] = []
    seen: set[str] = set()
    for table, code in _entries(file, "stages", value):
        if code in seen:
            raise table.fail(None, f"duplicate stage code '{code}'")
        seen.add(code)
        table.check_keys(STAGE_KEYS)
        (side if table.boolean("side") else main).append((table, code))
    if not main:
        raise DefinitionError(file, "stages", "no main (non-side) stage")
    for table, code in main[:-1]:
        if table.boolean("terminal"):
            raise table.fail("terminal", f"only the last main stage may be terminal, "
                             f"but '{code}' is followed by '{main[-1][1]}'")
    stages: dict[str, Stage] = {}
    for order, (table, code) in enumerate(main + side):
        stages[code] = Stage(
            code=code, name_zh=table.string("name_zh") or "", name_en=table.string("name_en") or "",
            order=order, auto_advance=table.boolean("auto_advance"),
            terminal=table.boolean("terminal"), side=table.boolean("side"),
        )
    return stages


def _departments(parts: list[tuple[str, Any]]) -> dict[str, Department]:
    out: dict[str, Department] = {}
    where: dict[str, str] = {}
    for file, value in parts:
        for table, code in _entries(file, "departments", value):
            if code in out:
                raise table.fail(None, f"duplicate department code '{code}' "
                                 f"(first defined in {where[code]})")
            table.check_keys(DEPARTMENT_KEYS)
            out[code] = Department(code, table.string("name_zh") or "", table.string("name_en") or "")
            where[code] = file
    return out


def _groups(parts: list[tuple[str, Any]], departments: Mapping[str, Department]
            ) -> dict[str, IndustryGroup]:
    out: dict[str, IndustryGroup] = {}
    where: dict[str, str] = {}
    for file, value in parts:
        for table, code in _entries(file, "groups", value):
            if code in out:
                raise table.fail(None, f"duplicate group code '{code}' "
                                 f"(first defined in {where[code]})")
            table.check_keys(GROUP_KEYS)
            members = table.codes("departments")
            if not members:
                raise table.fail("departments", "a group needs at least one department")
            for dept in members:
                if dept not in departments:
                    raise table.fail("departments", f"unknown department '{dept}'")
            out[code] = IndustryGroup(code, table.string("name_zh") or "",
                                      table.string("name_en") or "", members)
            where[code] = file
    return out


def _industries(parts: list[tuple[str, Any]], groups: Mapping[str, IndustryGroup]
                ) -> dict[str, Industry]:
    out: dict[str, Industry] = {}
    where: dict[str, str] = {}
    for file, value in parts:
        for table, code in _entries(file, "industries", value):
            if code in out:
                raise table.fail(None, f"duplicate industry code '{code}' "
                                 f"(first defined in {where[code]})")
            table.check_keys(INDUSTRY_KEYS)
            group = table.string("group") or ""
            if group not in groups:
                raise table.fail("group", f"industry mapped to unknown group '{group}'")
            out[code] = Industry(code, table.string("name_zh") or "", table.string("name_en") or "",
                                 group, chemical=table.boolean("chemical"))
            where[code] = file
    return out


def _limit(table: _Table, name: str = "limit") -> TimeLimit:
    """A limit table ``{amount, unit}``: the legal ``limit`` of an item, or a
    ``service_limit`` (the zone's promise for its agent's part)."""
    limit = table.table(name)
    if limit is None:
        raise table.fail(name, f"missing required key '{name}'")
    limit.check_keys(LIMIT_KEYS)
    amount = limit.data["amount"]
    if isinstance(amount, bool) or not isinstance(amount, int):
        raise limit.fail("amount", f"limit must be a positive integer, got {_kind(amount)}")
    if amount <= 0:
        raise limit.fail("amount", f"limit must be a positive integer, got {amount}")
    unit = limit.string("unit", "working_days")
    if unit not in LIMIT_UNITS:
        raise limit.fail("unit", f"unknown limit unit '{unit}' (expected one of "
                         f"{', '.join(LIMIT_UNITS)})")
    return TimeLimit(amount, unit)  # type: ignore[arg-type]


def _materials(table: _Table, *, stored: bool = False) -> tuple[Material, ...]:
    value = table.data.get("materials", [])
    out: list[Material] = []
    seen: set[str] = set()
    for sub, code in _entries(table.file, f"{table.key}.materials", value):
        if code in seen:
            raise sub.fail(None, f"duplicate material code '{code}'")
        seen.add(code)
        sub.check_keys(MATERIAL_KEYS)
        secondary = sub.boolean("secondary")
        if secondary and code in ESSENTIAL_MATERIALS and not stored:
            raise sub.fail("secondary", f"'{code}' can never be missing at acceptance "
                           "(容缺受理): it may not be secondary")
        out.append(Material(code, sub.string("name_zh") or "", sub.string("name_en") or "",
                            secondary))
    return tuple(out)


def _checkpoint(table: _Table, stages: Mapping[str, Stage]) -> ItemCheckpoint | None:
    """``checkpoint = {reach, months, extensions, extension_months, basis}``:
    the stage must come after the one the item gates (else it is reached
    already), the months are positive, extensions come with their length."""
    sub = table.table("checkpoint")
    if sub is None:
        return None
    sub.check_keys(CHECKPOINT_KEYS)
    reach = sub.string("reach") or ""
    if reach not in stages:
        raise sub.fail("reach", f"unknown stage '{reach}'")
    if stages[reach].side:
        raise sub.fail("reach", f"'{reach}' is a side stage")
    gates = table.data.get("gates")
    if isinstance(gates, str) and gates in stages and stages[reach].order <= stages[gates].order:
        raise sub.fail("reach", f"'{reach}' does not come after '{gates}', the stage the item "
                       "gates: the project is there already")
    months = sub.integer("months")
    if months <= 0:
        raise sub.fail("months", f"must be a positive number of months, got {months}")
    extensions = sub.integer("extensions")
    if extensions < 0:
        raise sub.fail("extensions", f"must not be negative, got {extensions}")
    length = sub.integer("extension_months")
    if extensions and length <= 0:
        raise sub.fail("extension_months", "an extension needs a positive number of months")
    if not extensions and length:
        raise sub.fail("extension_months", "given without any extensions")
    return ItemCheckpoint(reach=reach, months=months, extensions=extensions,
                          extension_months=length, basis=sub.text("basis"))


def _coverage(table: _Table) -> Coverage:
    cov = table.table("coverage")
    if cov is None:
        return Coverage()
    cov.check_keys(COVERAGE_KEYS)
    evaluation = cov.string("evaluation")
    if evaluation is not None and not _CODE.match(evaluation):
        raise cov.fail("evaluation", f"invalid evaluation code '{evaluation}'")
    return Coverage(evaluation=evaluation, commitment=cov.boolean("commitment"))


def _items(parts: list[tuple[str, Any]], stages: Mapping[str, Stage],
           departments: Mapping[str, Department], groups: Mapping[str, IndustryGroup],
           service_default: TimeLimit | None = None, *, stored: bool = False) -> dict[str, Item]:
    declared: dict[str, Item] = {}  # declaration (file, then position) order
    tables: dict[str, _Table] = {}
    covered = {d for g in groups.values() for d in g.departments}
    for file, value in parts:
        for table, code in _entries(file, "items", value):
            if code in declared:
                raise table.fail(None, f"duplicate item code '{code}' "
                                 f"(first defined in {tables[code].file})")
            table.check_keys(ITEM_KEYS)
            category = table.string("category") or ""
            if category not in CATEGORIES:
                raise table.fail("category", f"unknown category '{category}' (expected one of "
                                 f"{', '.join(CATEGORIES)})")
            department = table.string("department") or ""
            if department not in departments:
                raise table.fail("department", f"unknown department '{department}'")
            if department not in covered:
                raise table.fail("department", f"department '{department}' is not covered "
                                 "by any group")
            for name in ("gates", "available_from"):
                stage = table.string(name)
                if stage is not None and stage not in stages:
                    raise table.fail(name, f"unknown stage '{stage}'")
                if stage is not None and stages[stage].side:
                    raise table.fail(name, f"'{stage}' is a side stage")
            extension = table.integer("max_extension_days")
            if extension < 0:
                raise table.fail("max_extension_days", f"must not be negative, got {extension}")
            if "service_limit" in table.data:
                service_limit = _limit(table, "service_limit")
            else:
                service_limit = service_default or DEFAULT_SERVICE_LIMIT
            extension_clock = table.string("extension_clock", "statutory")
            if extension_clock not in CLOCKS:
                raise table.fail("extension_clock", f"unknown clock '{extension_clock}' "
                                 f"(expected one of {', '.join(CLOCKS)})")
            declared[code] = Item(
                code=code,
                name_zh=table.string("name_zh") or "",
                name_en=table.string("name_en") or "",
                category=category,
                department=department,
                limit=_limit(table),
                requires=table.codes("requires"),
                gates=table.string("gates"),
                available_from=table.string("available_from"),
                materials=_materials(table, stored=stored),
                coverage=_coverage(table),
                basis=table.text("basis"),
                max_extension_days=extension,
                service_limit=service_limit,
                extension_clock=extension_clock,  # type: ignore[arg-type]
                opens_on_request=table.boolean("opens_on_request"),
                chemical_only=table.boolean("chemical_only"),
                choice=_choice(table),
                choice_default=table.boolean("choice_default"),
                checkpoint=_checkpoint(table, stages),
                applicant_limit=(_limit(table, "applicant_limit")
                                 if "applicant_limit" in table.data else None),
            )
            tables[code] = table
    for code, item in declared.items():
        for req in item.requires:
            if req == code:
                raise tables[code].fail("requires", f"item '{code}' requires itself")
            if req not in declared:
                raise tables[code].fail("requires", f"unknown prerequisite '{req}'")
    ordered = _topological(declared, tables)
    _check_stages(ordered, tables, stages)
    _check_evaluations(ordered, tables)
    _check_choices(ordered, tables)
    return ordered


def _choice(table: _Table) -> str | None:
    choice = table.string("choice")
    if choice is not None and not _CODE.match(choice):
        raise table.fail("choice", f"invalid choice code '{choice}' (use lower-case letters, "
                         "digits, _)")
    if choice is None and table.boolean("choice_default"):
        raise table.fail("choice_default", "only an item of a choice can be its default")
    return choice


def _check_choices(ordered: dict[str, Item], tables: dict[str, _Table]) -> None:
    """A choice has at least two alternatives and exactly one default; no
    alternative requires another of its choice; an item that requires one
    alternative requires all of them (a project does only one, and the item
    waits for whichever it does)."""
    groups: dict[str, list[str]] = {}
    for code, item in ordered.items():
        if item.choice:
            groups.setdefault(item.choice, []).append(code)
    for choice, codes in groups.items():
        first = tables[codes[0]]
        if len(codes) < 2:
            raise first.fail("choice", f"choice '{choice}' has a single alternative")
        defaults = [c for c in codes if ordered[c].choice_default]
        if len(defaults) != 1:
            raise first.fail("choice_default", f"choice '{choice}' needs exactly one default "
                             f"alternative, has {len(defaults)}"
                             + (f" ({', '.join(defaults)})" if defaults else ""))
    for code, item in ordered.items():
        for choice, codes in groups.items():
            needed = [c for c in codes if c in item.requires]
            if not needed:
                continue
            if item.choice == choice:
                raise tables[code].fail("requires", f"'{needed[0]}' is an alternative of the same "
                                        f"choice '{choice}'")
            missing = [c for c in codes if c not in item.requires]
            if missing:
                raise tables[code].fail("requires", f"requires '{needed[0]}' of choice "
                                        f"'{choice}' but not its alternative "
                                        f"'{missing[0]}'")


def _topological(declared: dict[str, Item], tables: dict[str, _Table]) -> dict[str, Item]:
    """Kahn's algorithm; among the items ready at each step the one declared
    first goes first, so the order is stable and deterministic."""
    position = {code: n for n, code in enumerate(declared)}
    missing = {code: len(item.requires) for code, item in declared.items()}
    dependants: dict[str, list[str]] = {code: [] for code in declared}
    for code, item in declared.items():
        for req in item.requires:
            dependants[req].append(code)
    ready = [(position[c], c) for c, n in missing.items() if n == 0]
    heapq.heapify(ready)
    ordered: dict[str, Item] = {}
    while ready:
        _, code = heapq.heappop(ready)
        ordered[code] = declared[code]
        for dep in dependants[code]:
            missing[dep] -= 1
            if missing[dep] == 0:
                heapq.heappush(ready, (position[dep], dep))
    if len(ordered) < len(declared):
        cycle = _find_cycle([c for c in declared if c not in ordered], declared, position)
        raise tables[cycle[0]].fail("requires", "dependency cycle: " + " → ".join(cycle))
    return ordered


def _find_cycle(left: list[str], declared: dict[str, Item], position: dict[str, int]
                ) -> list[str]:
    """A cycle among the items Kahn's algorithm could not order (each of them
    still waits on another one of them), rotated to start at the item declared
    first and closed: ``[a, b, a]`` reads "a requires b requires a"."""
    remaining = set(left)
    path: list[str] = []
    code = left[0]
    while code not in path:
        path.append(code)
        code = next(r for r in declared[code].requires if r in remaining)
    cycle = path[path.index(code):]
    start = min(range(len(cycle)), key=lambda n: position[cycle[n]])
    cycle = cycle[start:] + cycle[:start]
    return cycle + [cycle[0]]


def _check_stages(ordered: dict[str, Item], tables: dict[str, _Table],
                  stages: Mapping[str, Stage]) -> None:
    """An item must be able to open before the stage it gates: its own
    ``available_from`` and that of every prerequisite come strictly earlier."""
    opens: dict[str, tuple[int, str, str]] = {}  # code → (stage order, stage, who sets it)
    for code, item in ordered.items():
        best = (-1, "", "")
        if item.available_from:
            best = (stages[item.available_from].order, item.available_from, code)
        for req in item.requires:
            if opens[req][0] > best[0]:
                best = opens[req]
        opens[code] = best
        if item.gates and best[0] >= stages[item.gates].order:
            who = "the item" if best[2] == code else f"its prerequisite '{best[2]}'"
            raise tables[code].fail("gates", f"cannot gate '{item.gates}': {who} only opens "
                                    f"at stage '{best[1]}'")


def _check_evaluations(ordered: dict[str, Item], tables: dict[str, _Table]) -> None:
    """Evaluation codes are those the unified service items produce; any
    other item may only be covered by one of them (catches typos)."""
    produced: dict[str, str] = {}
    for code, item in ordered.items():
        evaluation = item.coverage.evaluation
        if item.category == "unified_service" and evaluation:
            if evaluation in produced:
                raise tables[code].fail("coverage.evaluation", f"evaluation '{evaluation}' is "
                                        f"already produced by '{produced[evaluation]}'")
            produced[evaluation] = code
    for code, item in ordered.items():
        evaluation = item.coverage.evaluation
        if evaluation and evaluation not in produced:
            raise tables[code].fail("coverage.evaluation", f"unknown evaluation '{evaluation}' "
                                    "(no unified_service item produces it)")
