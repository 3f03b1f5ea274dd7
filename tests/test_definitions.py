"""The zone definition: the shipped 左云 data loads, and every broken
definition is refused with the file and key that broke it."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from definitions import (
    CATEGORIES,
    Definition,
    DefinitionError,
    TimeLimit,
    critical_path,
    load_definition,
    load_definition_from_source,
    summary,
)

ZUOYUN = Path(__file__).resolve().parent.parent / "definitions" / "zuoyun"

MAIN_STAGES = ["intention", "signed", "mandated", "approving", "ready_to_start", "started",
               "completed", "producing", "at_capacity", "verified"]
EVALUATIONS = {"mineral_overlay", "geo_hazard", "seismic", "archaeology", "soil_water",
               "water_resource", "flood", "climate", "lightning", "regional_eia",
               "regional_energy"}


# -- the shipped definition -----------------------------------------------------------


@pytest.fixture(scope="module")
def zuoyun() -> Definition:
    return load_definition(ZUOYUN)


def test_zuoyun_loads_with_its_zone(zuoyun):
    assert zuoyun.zone == "zuoyun"
    assert zuoyun.name_zh == "左云经济技术开发区"
    assert zuoyun.name_en


def test_zuoyun_has_the_14_unified_service_items(zuoyun):
    unified = zuoyun.items_in_category("unified_service")
    assert len(unified) == 14
    assert [i.code[:3] for i in unified] == [f"u{n:02}" for n in range(1, 15)]
    by_number = {int(i.code[1:3]): i for i in unified}
    assert by_number[1].requires == ()
    for n in range(3, 12):
        assert by_number[n].requires == (by_number[1].code,), n
    for n in (12, 13):
        assert by_number[n].requires == (by_number[2].code,), n
    assert set(by_number[14].requires) == {by_number[1].code, by_number[2].code}
    assert all(i.gates == "ready_to_start" for i in unified)


def test_zuoyun_has_five_groups_covering_every_item_department(zuoyun):
    assert list(zuoyun.groups) == ["coal_chemical", "equipment", "food",
                                   "new_energy_materials", "emerging_logistics"]
    assert all(len(g.departments) >= 3 for g in zuoyun.groups.values())
    covered = {d for g in zuoyun.groups.values() for d in g.departments}
    assert {i.department for i in zuoyun.items.values()} <= covered
    assert zuoyun.group_for_industry("fine_chemical").code == "coal_chemical"
    assert zuoyun.group_for_industry("photovoltaic").code == "new_energy_materials"
    assert zuoyun.group_for_industry("warehousing").code == "emerging_logistics"


def test_zuoyun_lifecycle_has_every_stage_in_order(zuoyun):
    assert [s.code for s in zuoyun.main_stages()] == MAIN_STAGES
    assert list(zuoyun.stages) == MAIN_STAGES + ["suspended", "terminated"]
    assert [s.order for s in zuoyun.stages.values()] == list(range(12))
    assert {s.code for s in zuoyun.stages.values() if s.auto_advance} == {
        "ready_to_start", "completed"}
    assert {s.code for s in zuoyun.stages.values() if s.terminal} == {"verified", "terminated"}
    assert {s.code for s in zuoyun.stages.values() if s.side} == {"suspended", "terminated"}
    assert zuoyun.next_stage("approving").code == "ready_to_start"


def test_zuoyun_gates_and_coverage(zuoyun):
    gating_start = {i.code for i in zuoyun.items_gating("ready_to_start")}
    assert {i.code for i in zuoyun.items_in_category("unified_service")} < gating_start
    assert {"project_filing", "land_transfer", "construction_permit", "eia_approval",
            "energy_review"} <= gating_start
    assert zuoyun.item("construction_permit").limit.amount == 7
    assert zuoyun.item("construction_permit").limit.calendar_days
    assert zuoyun.item("completion_acceptance").available_from == "started"
    assert zuoyun.item("completion_acceptance").gates == "completed"
    assert zuoyun.item("completion_filing").requires == ("completion_acceptance",)
    assert zuoyun.item("completion_filing").gates == "producing"
    assert zuoyun.item("eia_approval").coverage.commitment
    assert zuoyun.item("energy_review").coverage.evaluation == "regional_energy"
    assert set(zuoyun.evaluation_codes()) == EVALUATIONS
    assert all(i.basis for i in zuoyun.items.values())
    assert all(i.category in CATEGORIES for i in zuoyun.items.values())


def test_zuoyun_items_are_in_dependency_order(zuoyun):
    seen: set[str] = set()
    for item in zuoyun.items.values():
        assert set(item.requires) <= seen, item.code
        seen.add(item.code)


def test_zuoyun_version_is_deterministic(zuoyun):
    again = load_definition(ZUOYUN)
    assert again.version == zuoyun.version
    assert len(zuoyun.version) == 16 and int(zuoyun.version, 16) >= 0
    assert list(again.items) == list(zuoyun.items)


def test_zuoyun_critical_path_is_a_chain_of_prerequisites(zuoyun):
    chain, total = critical_path(zuoyun)
    assert chain[0].requires == ()
    for before, after in zip(chain, chain[1:], strict=False):
        assert before.code in after.requires
    assert total == sum(i.limit.approx_working_days for i in chain)
    assert chain[-1].code == "completion_filing"
    assert "land_transfer" in [i.code for i in chain]
    to_start, days_to_start = critical_path(zuoyun, "ready_to_start")
    assert to_start[-1].code == "construction_permit"
    assert days_to_start < total


def test_zuoyun_summary_reports_everything(zuoyun):
    text = summary(zuoyun)
    _, total = critical_path(zuoyun)
    assert zuoyun.version in text
    assert "左云经济技术开发区" in text
    assert f"Critical path, statutory clock (部门: legal limits from 受理): {total} working days" \
        in text
    _, service = critical_path(zuoyun, clock="service")
    assert f"Critical path, service clock (代办: release → submission): {service} working days" \
        in text
    assert "Critical path, both clocks end to end" in text
    assert "unified_service 14" in text
    assert "煤化工精细化工组" in text and "fine_chemical" in text
    assert "达产复核通过" in text
    for code in zuoyun.items:
        assert code in text


# -- versions -------------------------------------------------------------------------


def test_version_survives_a_json_round_trip(zuoyun):
    stored = json.loads(json.dumps(dict(zuoyun.source)))
    reloaded = load_definition_from_source(stored)
    assert reloaded.version == zuoyun.version
    assert reloaded == zuoyun
    assert list(reloaded.items) == list(zuoyun.items)


def test_version_does_not_depend_on_file_order(zuoyun):
    reversed_source = dict(reversed(list(zuoyun.source.items())))
    reloaded = load_definition_from_source(reversed_source)
    assert reloaded.version == zuoyun.version
    assert list(reloaded.items) == list(zuoyun.items)


def test_version_changes_when_an_item_changes(zuoyun):
    changed = json.loads(json.dumps(dict(zuoyun.source)))
    changed["items.toml"]["items"][0]["limit"]["amount"] += 1
    assert load_definition_from_source(changed).version != zuoyun.version


def test_source_is_kept_as_given(zuoyun):
    assert set(zuoyun.source) == {p.name for p in ZUOYUN.glob("*.toml")}
    assert zuoyun.source["zone.toml"]["zone"]["code"] == "zuoyun"


def test_definition_is_frozen(zuoyun):
    with pytest.raises(TypeError):
        zuoyun.items["x"] = zuoyun.item("u01_survey")  # type: ignore[index]
    with pytest.raises(AttributeError):
        zuoyun.item("u01_survey").code = "x"  # type: ignore[misc]


# -- a small source to break ------------------------------------------------------------


def _item(code, **extra):
    item = {"code": code, "name_zh": f"事项{code}", "name_en": f"Item {code}",
            "category": "approval", "department": "dept_a",
            "limit": {"amount": 10, "unit": "working_days"}}
    item.update(extra)
    return item


SMALL = {
    "zone.toml": {"zone": {"code": "demo", "name_zh": "示范区", "name_en": "Demo zone"}},
    "stages.toml": {"stages": [
        {"code": "mandated", "name_zh": "委托代办", "name_en": "Mandated"},
        {"code": "ready", "name_zh": "具备开工条件", "name_en": "Ready", "auto_advance": True},
        {"code": "started", "name_zh": "开工", "name_en": "Started"},
        {"code": "done", "name_zh": "竣工", "name_en": "Done", "terminal": True},
        {"code": "halted", "name_zh": "中止", "name_en": "Halted", "side": True},
    ]},
    "org.toml": {
        "departments": [
            {"code": "dept_a", "name_zh": "甲局", "name_en": "Bureau A"},
            {"code": "dept_b", "name_zh": "乙局", "name_en": "Bureau B"},
        ],
        "groups": [
            {"code": "grp", "name_zh": "一组", "name_en": "Group", "departments": ["dept_a"]},
        ],
        "industries": [
            {"code": "food", "name_zh": "食品", "name_en": "Food", "group": "grp"},
        ],
    },
    "items.toml": {"items": [
        _item("survey", category="unified_service", coverage={"evaluation": "survey_eval"}),
        # declared before its prerequisite: the loader must reorder it
        _item("permit", requires=["filing", "survey"], gates="ready",
              limit={"amount": 7, "unit": "calendar_days"},
              coverage={"evaluation": "survey_eval", "commitment": True},
              materials=[{"code": "form", "name_zh": "申请表", "name_en": "Form"},
                         {"code": "plan", "name_zh": "方案", "name_en": "Plan",
                          "secondary": True}]),
        _item("filing", category="filing", limit={"amount": 3}),
        _item("accept", requires=["permit"], available_from="started", gates="done",
              max_extension_days=10, basis="行政许可法 第42条"),
    ]},
}


@pytest.fixture
def source():
    return copy.deepcopy(SMALL)


def items_of(source):
    return {i["code"]: i for i in source["items.toml"]["items"]}


def refused(source, file, key, fragment):
    with pytest.raises(DefinitionError) as info:
        load_definition_from_source(source)
    err = info.value
    assert (err.file, err.key) == (file, key), str(err)
    assert fragment in err.reason
    assert str(err).startswith(f"{file}: {key}: " if key else f"{file}: ")
    assert isinstance(err, ValueError)
    return err


def test_small_source_loads(source):
    defn = load_definition_from_source(source)
    assert list(defn.items) == ["survey", "filing", "permit", "accept"]
    permit = defn.item("permit")
    assert permit.limit.unit == "calendar_days" and permit.limit.approx_working_days == 5
    assert permit.materials[1].secondary and not permit.materials[0].secondary
    assert permit.coverage.commitment and permit.coverage.evaluation == "survey_eval"
    assert defn.item("filing").limit.unit == "working_days"  # unit defaults
    assert defn.item("accept").max_extension_days == 10
    assert list(defn.stages) == ["mandated", "ready", "started", "done", "halted"]
    assert defn.industries["food"].group == "grp"


def test_critical_path_converts_calendar_days(source):
    defn = load_definition_from_source(source)
    chain, total = critical_path(defn)
    # survey 10 → permit 7 calendar days = ceil(35/7) = 5 → accept 10
    assert [i.code for i in chain] == ["survey", "permit", "accept"]
    assert total == 25
    assert critical_path(defn, "ready") == (chain[:2], 15)


def test_critical_path_rounds_calendar_days_up(source):
    items_of(source)["permit"]["limit"] = {"amount": 8, "unit": "calendar_days"}
    _, total = critical_path(load_definition_from_source(source))
    assert total == 10 + 6 + 10  # ceil(8 × 5 / 7) = 6


def test_summary_names_the_critical_path_of_each_clock(source):
    source["zone.toml"]["zone"]["service_limit"] = {"amount": 3}
    items_of(source)["permit"]["service_limit"] = {"amount": 14, "unit": "calendar_days"}
    text = summary(load_definition_from_source(source))
    assert "Critical path, statutory clock (部门: legal limits from 受理): 25 working days" in text
    assert "survey (10) → permit (5) → accept (10)" in text
    # Service: filing 3 (ties with survey, listed first among permit's
    # prerequisites) → permit 14 calendar days = ceil(70/7) = 10 → accept 3.
    assert "Critical path, service clock (代办: release → submission): 16 working days" in text
    assert "filing (3) → permit (10) → accept (3)" in text
    assert "  to ready 具备开工条件: 13 working days (filing → permit)" in text
    # Both per item: survey 13 → permit 15 → accept 13.
    assert "Critical path, both clocks end to end (service + statutory per item): " \
        "41 working days" in text
    assert "  to ready 具备开工条件: 28 working days (survey → permit)" in text
    assert "10 wd (+10) · service 3 wd" in text


# -- the service clock's limits (行政许可法 Art. 42: the agent's part before the 受理) --------

def test_an_item_takes_its_own_service_limit_or_the_zones(source):
    source["zone.toml"]["zone"]["service_limit"] = {"amount": 4}
    items_of(source)["permit"]["service_limit"] = {"amount": 14, "unit": "calendar_days"}
    defn = load_definition_from_source(source)
    assert defn.item("permit").service_limit == TimeLimit(14, "calendar_days")
    assert defn.item("survey").service_limit == TimeLimit(4)
    assert defn.limit_of("permit", "statutory") == TimeLimit(7, "calendar_days")
    assert defn.limit_of("permit", "service") == TimeLimit(14, "calendar_days")


def test_a_definition_older_than_the_service_clock_still_loads(source):
    """Stored versions of running projects name no service limit: 5 working days."""
    defn = load_definition_from_source(source)
    assert all(i.service_limit == TimeLimit(5) for i in defn.items.values())


def test_the_zuoyun_items_declare_their_service_limits(zuoyun):
    assert zuoyun.item("u01_survey").service_limit == TimeLimit(10)
    assert zuoyun.item("project_filing").service_limit == TimeLimit(2)
    assert zuoyun.item("eia_approval").service_limit == TimeLimit(5)  # the zone's default
    assert zuoyun.item("eia_approval").limit == TimeLimit(30, "calendar_days")
    assert all(i.extension_clock == "statutory" for i in zuoyun.items.values())


@pytest.mark.parametrize(("where", "value", "key", "fragment"), [
    ("item", {"amount": 0}, "items.permit.service_limit.amount", "positive integer"),
    ("item", {"amount": 3, "unit": "weeks"}, "items.permit.service_limit.unit",
     "unknown limit unit 'weeks'"),
    ("item", 5, "items.permit.service_limit", "expected a table"),
    ("zone", {"amount": -1}, "zone.service_limit.amount", "positive integer"),
    ("zone", {"days": 3}, "zone.service_limit.days", "unknown key 'days'"),
])
def test_a_bad_service_limit_is_refused_naming_it(source, where, value, key, fragment):
    if where == "zone":
        source["zone.toml"]["zone"]["service_limit"] = value
        refused(source, "zone.toml", key, fragment)
    else:
        items_of(source)["permit"]["service_limit"] = value
        refused(source, "items.toml", key, fragment)


def test_an_extension_names_a_known_clock(source):
    items_of(source)["accept"]["extension_clock"] = "service"
    assert load_definition_from_source(source).item("accept").extension_clock == "service"
    items_of(source)["accept"]["extension_clock"] = "enterprise"
    refused(source, "items.toml", "items.accept.extension_clock", "unknown clock 'enterprise'")


def test_topological_order_is_stable_by_file_order(source):
    source["a_more.toml"] = {"items": [_item("early")]}  # sorts before items.toml
    source["z_more.toml"] = {"items": [_item("late")]}
    defn = load_definition_from_source(source)
    assert list(defn.items) == ["early", "survey", "filing", "permit", "accept", "late"]


# -- refusals ---------------------------------------------------------------------------


def test_refuses_a_missing_item_field(source):
    del items_of(source)["filing"]["name_zh"]
    refused(source, "items.toml", "items.filing.name_zh", "missing required key 'name_zh'")


def test_refuses_an_item_without_code(source):
    del source["items.toml"]["items"][2]["code"]
    refused(source, "items.toml", "items[2].code", "missing required key 'code'")


def test_refuses_a_missing_section(source):
    del source["zone.toml"]
    refused(source, "<definition>", "zone", "missing required section 'zone'")


def test_refuses_a_missing_stage_name(source):
    del source["stages.toml"]["stages"][1]["name_en"]
    refused(source, "stages.toml", "stages.ready.name_en", "missing required key 'name_en'")


def test_refuses_a_wrong_type(source):
    items_of(source)["filing"]["name_en"] = 42
    refused(source, "items.toml", "items.filing.name_en", "expected a string")


def test_refuses_requires_that_is_not_a_list(source):
    items_of(source)["permit"]["requires"] = "filing"
    refused(source, "items.toml", "items.permit.requires", "expected a list of strings")


def test_refuses_a_non_boolean_flag(source):
    source["stages.toml"]["stages"][1]["auto_advance"] = "yes"
    refused(source, "stages.toml", "stages.ready.auto_advance", "expected true or false")


def test_refuses_an_unknown_category(source):
    items_of(source)["filing"]["category"] = "licence"
    refused(source, "items.toml", "items.filing.category", "unknown category 'licence'")


def test_refuses_a_duplicate_item_code_across_files(source):
    source["more_items.toml"] = {"items": [_item("filing")]}
    err = refused(source, "more_items.toml", "items.filing", "duplicate item code 'filing'")
    assert "items.toml" in err.reason  # names where it was first defined


def test_refuses_a_duplicate_item_code_in_one_file(source):
    source["items.toml"]["items"].append(_item("survey"))
    refused(source, "items.toml", "items.survey", "duplicate item code 'survey'")


def test_refuses_an_unknown_prerequisite(source):
    items_of(source)["permit"]["requires"] = ["filing", "u99"]
    err = refused(source, "items.toml", "items.permit.requires", "unknown prerequisite 'u99'")
    assert str(err) == "items.toml: items.permit.requires: unknown prerequisite 'u99'"


def test_refuses_a_self_dependency(source):
    items_of(source)["filing"]["requires"] = ["filing"]
    refused(source, "items.toml", "items.filing.requires", "requires itself")


def test_refuses_a_cycle_and_names_it(source):
    items_of(source)["survey"]["requires"] = ["accept"]
    err = refused(source, "items.toml", "items.survey.requires", "dependency cycle")
    assert err.reason == "dependency cycle: survey → accept → permit → survey"


def test_refuses_a_two_item_cycle(source):
    source["items.toml"]["items"] += [_item("a", requires=["b"]), _item("b", requires=["a"])]
    err = refused(source, "items.toml", "items.a.requires", "dependency cycle")
    assert err.reason == "dependency cycle: a → b → a"


def test_refuses_a_missing_limit(source):
    del items_of(source)["filing"]["limit"]
    refused(source, "items.toml", "items.filing.limit", "missing required key 'limit'")


def test_refuses_a_limit_without_amount(source):
    items_of(source)["filing"]["limit"] = {"unit": "working_days"}
    refused(source, "items.toml", "items.filing.limit.amount", "missing required key 'amount'")


@pytest.mark.parametrize("amount", [0, -5])
def test_refuses_a_zero_or_negative_limit(source, amount):
    items_of(source)["filing"]["limit"]["amount"] = amount
    refused(source, "items.toml", "items.filing.limit.amount",
            f"limit must be a positive integer, got {amount}")


@pytest.mark.parametrize("amount", [2.5, "10", True])
def test_refuses_a_non_integer_limit(source, amount):
    items_of(source)["filing"]["limit"]["amount"] = amount
    refused(source, "items.toml", "items.filing.limit.amount",
            "limit must be a positive integer")


def test_refuses_a_limit_that_is_not_a_table(source):
    items_of(source)["filing"]["limit"] = 10
    refused(source, "items.toml", "items.filing.limit", "expected a table")


def test_refuses_an_unknown_limit_unit(source):
    items_of(source)["filing"]["limit"]["unit"] = "weeks"
    refused(source, "items.toml", "items.filing.limit.unit", "unknown limit unit 'weeks'")


def test_refuses_gating_an_unknown_stage(source):
    items_of(source)["permit"]["gates"] = "operating"
    refused(source, "items.toml", "items.permit.gates", "unknown stage 'operating'")


def test_refuses_available_from_an_unknown_stage(source):
    items_of(source)["accept"]["available_from"] = "built"
    refused(source, "items.toml", "items.accept.available_from", "unknown stage 'built'")


def test_refuses_gating_a_side_stage(source):
    items_of(source)["permit"]["gates"] = "halted"
    refused(source, "items.toml", "items.permit.gates", "side stage")


def test_refuses_gating_a_stage_before_the_item_opens(source):
    items_of(source)["accept"]["gates"] = "ready"
    refused(source, "items.toml", "items.accept.gates",
            "cannot gate 'ready': the item only opens at stage 'started'")


def test_refuses_gating_a_stage_before_a_prerequisite_opens(source):
    source["items.toml"]["items"].append(_item("after", requires=["accept"], gates="started"))
    refused(source, "items.toml", "items.after.gates",
            "its prerequisite 'accept' only opens at stage 'started'")


def test_refuses_an_unknown_department_on_an_item(source):
    items_of(source)["filing"]["department"] = "tax"
    refused(source, "items.toml", "items.filing.department", "unknown department 'tax'")


def test_refuses_an_unknown_department_in_a_group(source):
    source["org.toml"]["groups"][0]["departments"].append("tax")
    refused(source, "org.toml", "groups.grp.departments", "unknown department 'tax'")


def test_refuses_an_industry_mapped_to_an_unknown_group(source):
    source["org.toml"]["industries"][0]["group"] = "kitchen"
    refused(source, "org.toml", "industries.food.group",
            "industry mapped to unknown group 'kitchen'")


def test_refuses_a_department_no_group_covers(source):
    items_of(source)["filing"]["department"] = "dept_b"
    refused(source, "items.toml", "items.filing.department",
            "department 'dept_b' is not covered by any group")


def test_refuses_an_unknown_key_in_an_item(source):
    items_of(source)["filing"]["requries"] = ["survey"]
    refused(source, "items.toml", "items.filing.requries", "unknown key 'requries'")


def test_refuses_an_unknown_key_in_a_material(source):
    items_of(source)["permit"]["materials"][0]["optional"] = True
    refused(source, "items.toml", "items.permit.materials.form.optional",
            "unknown key 'optional'")


def test_refuses_an_unknown_section(source):
    source["items.toml"]["item"] = []
    refused(source, "items.toml", "item", "unknown section 'item'")


def test_refuses_duplicate_stage_codes(source):
    source["stages.toml"]["stages"].insert(
        2, {"code": "ready", "name_zh": "重复", "name_en": "Again"})
    refused(source, "stages.toml", "stages.ready", "duplicate stage code 'ready'")


def test_refuses_stages_in_two_files(source):
    source["z_stages.toml"] = {"stages": copy.deepcopy(source["stages.toml"]["stages"])}
    refused(source, "z_stages.toml", "stages", "already defined in stages.toml")


def test_refuses_a_terminal_stage_before_the_end(source):
    source["stages.toml"]["stages"][1]["terminal"] = True
    refused(source, "stages.toml", "stages.ready.terminal", "only the last main stage")


def test_refuses_an_unknown_evaluation(source):
    items_of(source)["permit"]["coverage"]["evaluation"] = "survey_evl"
    refused(source, "items.toml", "items.permit.coverage.evaluation",
            "unknown evaluation 'survey_evl'")


def test_refuses_a_negative_extension(source):
    items_of(source)["accept"]["max_extension_days"] = -1
    refused(source, "items.toml", "items.accept.max_extension_days", "must not be negative")


# -- reading files ----------------------------------------------------------------------


def test_load_definition_reads_every_toml_file_of_a_directory(tmp_path):
    for name in ZUOYUN.glob("*.toml"):
        (tmp_path / name.name).write_bytes(name.read_bytes())
    (tmp_path / "zone.toml").write_text(
        '[zone]\ncode = "demo"\nname_zh = "示范区"\nname_en = "Demo zone"\n', encoding="utf-8")
    (tmp_path / "notes.txt").write_text("not a definition file", encoding="utf-8")
    defn = load_definition(tmp_path)
    assert defn.zone == "demo"
    assert set(defn.source) == {p.name for p in ZUOYUN.glob("*.toml")}


def test_load_definition_names_a_file_with_bad_toml(tmp_path):
    for name in ZUOYUN.glob("*.toml"):
        (tmp_path / name.name).write_bytes(name.read_bytes())
    (tmp_path / "groups.toml").write_text("[[groups]\ncode = ", encoding="utf-8")
    with pytest.raises(DefinitionError) as info:
        load_definition(tmp_path)
    assert info.value.file == "groups.toml"
    assert "invalid TOML" in str(info.value)


def test_load_definition_refuses_a_missing_directory(tmp_path):
    with pytest.raises(DefinitionError, match="no such file or directory"):
        load_definition(tmp_path / "nowhere")


def test_load_definition_reports_the_file_of_a_refusal(tmp_path):
    for name in ZUOYUN.glob("*.toml"):
        (tmp_path / name.name).write_bytes(name.read_bytes())
    items = (tmp_path / "items.toml").read_text(encoding="utf-8")
    (tmp_path / "items.toml").write_text(
        items.replace('requires = ["u01_survey"]', 'requires = ["u99"]', 1), encoding="utf-8")
    with pytest.raises(DefinitionError) as info:
        load_definition(tmp_path)
    assert str(info.value) == "items.toml: items.u02_planning_conditions.requires: " \
                              "unknown prerequisite 'u99'"
