"""The definition's newer rules: alternatives a project chooses between (the
EIA report or report form), items only chemical projects do, what must follow
an item by a deadline (施工许可 → 开工 within 3 months, at most two 3-month
extensions), the applicant's own filing deadline (竣工验收备案 within 15 days)
and the 项目代码 that can never be a missing material under 容缺."""

from __future__ import annotations

import copy
import json

import pytest

from definitions import DefinitionError, load_definition, load_definition_from_source, summary
from definitions.model import ESSENTIAL_MATERIALS
from tests.test_definitions import SMALL, ZUOYUN, _item, items_of, refused


@pytest.fixture(scope="module")
def zuoyun():
    return load_definition(ZUOYUN)


# -- the shipped definition -----------------------------------------------------------


def test_the_eia_report_stands_beside_the_report_form_and_a_project_does_one(zuoyun):
    """环境影响评价法 第二十二条: a report (报告书) is decided within 60 days, a
    report form (报告表) within 30; the classification list decides which a
    project needs. The form is the default; a project that chose the report
    does the 60-day item instead, and the permit waits for whichever it does."""
    form, report = zuoyun.item("eia_approval"), zuoyun.item("eia_report")
    assert (form.limit.amount, form.limit.unit) == (30, "calendar_days")
    assert (report.limit.amount, report.limit.unit) == (60, "calendar_days")
    assert form.choice == report.choice == "eia"
    assert form.choice_default and not report.choice_default
    assert [i.code for i in zuoyun.choices()["eia"]] == ["eia_approval", "eia_report"]
    assert {"eia_approval", "eia_report"} <= set(zuoyun.item("construction_permit").requires)
    plain = [i.code for i in zuoyun.items_for(chemical=False, chosen={})]
    assert "eia_approval" in plain and "eia_report" not in plain
    chosen = [i.code for i in zuoyun.items_for(chemical=False, chosen={"eia": "eia_report"})]
    assert "eia_report" in chosen and "eia_approval" not in chosen


def test_the_hazardous_chemical_safety_reviews_are_for_chemical_projects_only(zuoyun):
    """危险化学品建设项目安全监督管理办法: the safety conditions review (45 days
    from acceptance) then the safety design review (20 working days, +10 with
    approval), by 应急管理; no construction before both."""
    conditions, design = zuoyun.item("chem_safety_conditions"), zuoyun.item("chem_safety_design")
    assert conditions.chemical_only and design.chemical_only
    assert (conditions.limit.amount, conditions.limit.unit) == (45, "calendar_days")
    assert (design.limit.amount, design.limit.unit, design.max_extension_days) == \
        (20, "working_days", 10)
    assert design.requires == ("chem_safety_conditions",)
    assert zuoyun.departments[design.department].name_zh.startswith("应急管理局")
    assert "chem_safety_design" in zuoyun.item("construction_permit").requires
    codes = {i.code for i in zuoyun.items_for(chemical=False, chosen={})}
    assert not codes & {"chem_safety_conditions", "chem_safety_design"}
    codes = {i.code for i in zuoyun.items_for(chemical=True, chosen={})}
    assert {"chem_safety_conditions", "chem_safety_design"} <= codes


def test_fire_protection_design_review_and_acceptance_are_housing_items(zuoyun):
    """建设工程消防设计审查验收管理暂行规定: design review within 15 working
    days, before the construction permit; acceptance within 15 days, applied
    for when construction ends, before the project may be used (投产)."""
    review, acceptance = zuoyun.item("fire_design_review"), zuoyun.item("fire_acceptance")
    assert review.department == acceptance.department == "housing_construction"
    assert (review.limit.amount, review.limit.unit) == (15, "working_days")
    assert "fire_design_review" in zuoyun.item("construction_permit").requires
    assert (acceptance.limit.amount, acceptance.limit.unit) == (15, "calendar_days")
    assert acceptance.opens_on_request and acceptance.available_from == "started"
    assert acceptance.gates == "producing"


def test_the_construction_permit_carries_its_start_checkpoint(zuoyun):
    """建筑法 第九条: start within 3 months of the permit; at most two
    extensions of at most 3 months each."""
    check = zuoyun.item("construction_permit").checkpoint
    assert (check.reach, check.months, check.extensions, check.extension_months) == \
        ("started", 3, 2, 3)
    assert "建筑法" in check.basis


def test_the_completion_filing_is_due_from_the_enterprise_within_15_days(zuoyun):
    """建设工程质量管理条例 第四十九条: the owner files within 15 days of the
    acceptance; that is the enterprise's deadline, not the department's limit."""
    filing = zuoyun.item("completion_filing")
    assert (filing.applicant_limit.amount, filing.applicant_limit.unit) == (15, "calendar_days")
    assert filing.requires == ("completion_acceptance",)


def test_the_project_code_is_never_a_secondary_material(zuoyun):
    assert ESSENTIAL_MATERIALS == ("project_code",)
    listed = [(i.code, m) for i in zuoyun.items.values() for m in i.materials
              if m.code == "project_code"]
    assert len(listed) >= 4
    assert not [code for code, m in listed if m.secondary]


def test_the_summary_names_choices_chemical_items_checkpoints_and_filing_deadlines(zuoyun):
    text = summary(zuoyun)
    assert "eia: eia_approval* | eia_report" in text
    assert "chemical projects only" in text
    assert "then reach started within 3 months (at most 2 extensions of 3)" in text
    assert "applicant files within 15 cd" in text


def test_the_new_fields_survive_a_json_round_trip(zuoyun):
    reloaded = load_definition_from_source(json.loads(json.dumps(dict(zuoyun.source))))
    assert reloaded == zuoyun
    assert reloaded.item("construction_permit").checkpoint == \
        zuoyun.item("construction_permit").checkpoint


# -- refusals ---------------------------------------------------------------------------


@pytest.fixture
def source():
    return copy.deepcopy(SMALL)


def with_choice(source):
    """``permit`` and a new ``permit_b`` are the alternatives of choice "kind"."""
    items = items_of(source)
    items["permit"].update(choice="kind", choice_default=True)
    source["items.toml"]["items"].append(_item("permit_b", requires=["filing"], gates="ready",
                                               choice="kind"))
    items["accept"]["requires"] = ["permit", "permit_b"]
    return source


def test_a_choice_loads_and_a_project_does_its_default(source):
    defn = load_definition_from_source(with_choice(source))
    assert defn.default_choice("kind") == "permit"
    assert [i.code for i in defn.items_for(chemical=False, chosen={})] == \
        ["survey", "filing", "permit", "accept"]
    assert [i.code for i in defn.items_for(chemical=False, chosen={"kind": "permit_b"})] == \
        ["survey", "filing", "permit_b", "accept"]


def test_refuses_a_secondary_project_code_but_a_stored_version_still_loads(source):
    items_of(source)["permit"]["materials"].append(
        {"code": "project_code", "name_zh": "项目代码", "name_en": "Project code", "secondary": True})
    refused(source, "items.toml", "items.permit.materials.project_code.secondary",
            "'project_code' can never be missing at acceptance")
    stored = load_definition_from_source(source, stored=True)
    assert stored.item("permit").materials[-1].secondary  # the engine refuses it itself


def test_refuses_a_choice_with_a_single_alternative(source):
    items_of(source)["permit"].update(choice="kind", choice_default=True)
    refused(source, "items.toml", "items.permit.choice",
            "choice 'kind' has a single alternative")


def test_refuses_a_choice_without_a_default(source):
    with_choice(source)
    items_of(source)["permit"]["choice_default"] = False
    refused(source, "items.toml", "items.permit.choice_default",
            "choice 'kind' needs exactly one default alternative, has 0")


def test_refuses_a_choice_with_two_defaults(source):
    with_choice(source)
    items_of(source)["permit_b"]["choice_default"] = True
    refused(source, "items.toml", "items.permit.choice_default",
            "has 2 (permit, permit_b)")


def test_refuses_a_default_outside_a_choice(source):
    items_of(source)["filing"]["choice_default"] = True
    refused(source, "items.toml", "items.filing.choice_default",
            "only an item of a choice can be its default")


def test_refuses_an_invalid_choice_code(source):
    items_of(source)["filing"]["choice"] = "Kind A"
    refused(source, "items.toml", "items.filing.choice", "invalid choice code 'Kind A'")


def test_refuses_requiring_one_alternative_without_the_other(source):
    with_choice(source)
    items_of(source)["accept"]["requires"] = ["permit"]
    refused(source, "items.toml", "items.accept.requires",
            "requires 'permit' of choice 'kind' but not its alternative 'permit_b'")


def test_refuses_an_alternative_requiring_its_sibling(source):
    with_choice(source)
    items_of(source)["permit_b"]["requires"] = ["filing", "permit"]
    refused(source, "items.toml", "items.permit_b.requires",
            "'permit' is an alternative of the same choice 'kind'")


def test_refuses_a_non_boolean_chemical_only(source):
    items_of(source)["filing"]["chemical_only"] = "yes"
    refused(source, "items.toml", "items.filing.chemical_only", "expected true or false")


def test_a_checkpoint_loads(source):
    items_of(source)["permit"]["checkpoint"] = {"reach": "started", "months": 3, "extensions": 2,
                                               "extension_months": 3, "basis": "建筑法 第9条"}
    check = load_definition_from_source(source).item("permit").checkpoint
    assert (check.reach, check.months, check.extensions, check.extension_months) == \
        ("started", 3, 2, 3)


@pytest.mark.parametrize(("checkpoint", "key", "fragment"), [
    ({"reach": "built", "months": 3}, "reach", "unknown stage 'built'"),
    ({"reach": "halted", "months": 3}, "reach", "'halted' is a side stage"),
    ({"reach": "ready", "months": 3}, "reach", "does not come after 'ready'"),
    ({"reach": "started", "months": 0}, "months", "must be a positive number of months"),
    ({"reach": "started", "months": 3, "extensions": -1}, "extensions", "must not be negative"),
    ({"reach": "started", "months": 3, "extensions": 2}, "extension_months",
     "an extension needs a positive number of months"),
    ({"reach": "started", "months": 3, "extension_months": 3}, "extension_months",
     "given without any extensions"),
    ({"reach": "started", "months": 3, "weeks": 1}, "weeks", "unknown key 'weeks'"),
    ({"months": 3}, "reach", "missing required key 'reach'"),
])
def test_refuses_a_broken_checkpoint(source, checkpoint, key, fragment):
    items_of(source)["permit"]["checkpoint"] = checkpoint
    refused(source, "items.toml", f"items.permit.checkpoint.{key}", fragment)


def test_an_applicant_limit_loads_and_a_broken_one_is_refused(source):
    items_of(source)["accept"]["applicant_limit"] = {"amount": 15, "unit": "calendar_days"}
    limit = load_definition_from_source(source).item("accept").applicant_limit
    assert (limit.amount, limit.unit) == (15, "calendar_days")
    items_of(source)["accept"]["applicant_limit"] = {"amount": 15, "unit": "weeks"}
    refused(source, "items.toml", "items.accept.applicant_limit.unit", "unknown limit unit 'weeks'")
    items_of(source)["accept"]["applicant_limit"] = {"amount": 0}
    with pytest.raises(DefinitionError, match="positive integer"):
        load_definition_from_source(source)
