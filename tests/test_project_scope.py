"""What a project does and how it is named: the national 项目代码 checked when
it is recorded, the alternative a project chooses (the EIA report or the
report form), the items only chemical projects do (each test on SQLite and
PostgreSQL where it touches the database)."""

from __future__ import annotations

from datetime import date

import pytest

from tests import factories as f
from tests.factories import at
from workflow.core import clocks
from workflow.core import operations as ops
from workflow.kernel import validate
from workflow.kernel.errors import InvalidTransition, NotPermitted, ValidationError

MONDAY = at("2026-03-02")
TODAY = date(2026, 3, 2)


# -- the 项目代码 ------------------------------------------------------------------------------

@pytest.mark.parametrize("code", [
    "2026-140226-34-03-000127",  # 2026, 大同市左云县, 行业 34, 03 备案, serial 127
    "2014-140000-25-02-000001",  # the first year the platform assigned codes; 核准
    "2603-140226-89-01-123456",  # GB/T 40058-2021 time code: March 2026 (YYMM), not ahead
    "２０２６－１４０２２６－３４－０３－０００１２７",  # full-width, as typed with a Chinese IME
])
def test_a_national_project_code_is_accepted(code):
    assert validate.project_code(code, today=TODAY) == "2026-140226-34-03-000127" \
        if "２" in code else code


@pytest.mark.parametrize(("code", "fragment"), [
    ("2026-14022-34-03-000127", "national format YYYY-XXXXXX-XX-XX-XXXXXX"),  # 5-digit region
    ("2026-140226-34-03-00127", "national format"),  # 5-digit serial
    ("2026140226340300012", "national format"),  # no dashes
    ("2027-140226-34-03-000127", "time code 2027"),  # a year ahead; as YYMM month 27
    ("2013-140226-34-03-000127", "time code 2013"),  # before 2014; as YYMM month 13
    ("2606-140226-34-03-000127", "time code 2606"),  # June 2026, after 2 March 2026
    ("2026-990226-34-03-000127", "names no province"),  # 99 is no province
    ("2026-140226-00-03-000127", "industry code"),
    ("2026-140226-34-04-000127", "project type 04"),  # only 01 审批, 02 核准, 03 备案
    ("2026-140226-34-03-000000", "serial number"),
])
def test_a_code_off_the_national_format_is_refused_naming_what_is_wrong(code, fragment):
    with pytest.raises(ValidationError, match=fragment):
        validate.project_code(code, today=TODAY)


def test_a_project_is_recorded_with_its_national_code_and_a_bad_one_changes_nothing(session):
    """A code that begins with a digit claims to be a 项目代码 and is checked
    in full; the zone's placeholders (YX-2026-0001) begin with a letter."""
    company = f.enterprise(session)
    with pytest.raises(ValidationError, match="national format"):
        ops.create_project(session, code="2026-1402260-34-03-000127", name="n", enterprise=company,
                           industry="equipment_manufacturing", actor=None, now=MONDAY)
    project = ops.create_project(session, code=" 2026-140226-34-03-000127 ", name="n",
                                 enterprise=company, industry="equipment_manufacturing",
                                 actor=None, now=MONDAY)
    assert project.code == "2026-140226-34-03-000127"
    placeholder = ops.create_project(session, code="YX-2026-0001", name="m", enterprise=company,
                                     industry="equipment_manufacturing", actor=None, now=MONDAY)
    assert placeholder.code == "YX-2026-0001"


# -- alternatives and chemical-only items ---------------------------------------------------

def codes(project):
    return {t.item_code for t in project.tasks}


def test_a_general_project_does_the_report_form_and_no_chemical_review(session):
    project = f.project(session, MONDAY)
    assert {"eia_approval", "fire_design_review", "fire_acceptance"} <= codes(project)
    assert not codes(project) & {"eia_report", "chem_safety_conditions", "chem_safety_design"}


def test_a_chemical_project_does_the_hazardous_chemical_safety_reviews(session):
    project = f.project(session, MONDAY, industry="fine_chemical")
    assert project.is_chemical
    assert {"chem_safety_conditions", "chem_safety_design"} <= codes(project)


def test_a_project_that_chose_the_eia_report_does_it_instead_of_the_form(session):
    """Chosen before the mandate, the project does the 60-day report: released
    when the filing closes on 2 March, due 2 March + 60 calendar days = 1 May,
    a holiday (劳动节 2026: 1–5 May), so the first working day after, 6 May."""
    lead = f.user(session, "lead_c", "lead", groups=("equipment",))
    project = f.project(session, MONDAY, lead=lead, mandate=False)
    ops.choose_item(session, project.id, "eia_report", actor=lead, now=MONDAY)
    assert project.choices == {"eia": "eia_report"}
    ops.mandate_project(session, project.id, actor=lead, now=MONDAY)
    assert "eia_report" in codes(project) and "eia_approval" not in codes(project)
    filing = f.task(project, "project_filing")
    ops.cover_task(session, filing.id, reference="承诺制备案", kind="commitment", actor=lead,
                   now=MONDAY)
    report = f.task(project, "eia_report")
    item = ops.definition_for(project).items["eia_report"]
    # The legal limit, counted from the release until a 受理 is recorded
    # (the item is with the agent, on its service clock, meanwhile).
    assert report.state == "ready" and clocks.legal_due(report, item) == date(2026, 5, 6)
    assert f.task(project, "construction_permit").state == "blocked"


def test_the_choice_is_made_before_the_mandate_and_only_among_alternatives(session):
    lead = f.user(session, "lead_d", "lead", groups=("equipment",))
    project = f.project(session, MONDAY, lead=lead)
    with pytest.raises(InvalidTransition, match="changes the mandate's scope"):
        ops.choose_item(session, project.id, "eia_report", actor=lead, now=MONDAY)
    assert project.choices is None and "eia_approval" in codes(project)
    other = f.project(session, MONDAY, lead=lead, mandate=False)
    with pytest.raises(ValidationError, match="not an alternative"):
        ops.choose_item(session, other.id, "construction_permit", actor=lead, now=MONDAY)
    outsider = f.user(session, "lead_x", "lead", groups=("food",))
    with pytest.raises(NotPermitted):
        ops.choose_item(session, other.id, "eia_report", actor=outsider, now=MONDAY)
    assert other.choices is None
    # Choosing the default again records nothing.
    ops.choose_item(session, other.id, "eia_approval", actor=lead, now=MONDAY)
    assert other.choices is None
