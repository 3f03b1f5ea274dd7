"""A new definition version changes only new projects."""

from __future__ import annotations

import copy
from datetime import date

from definitions import load_definition_from_source
from tests import factories as f
from tests.factories import at
from workflow.core import clocks
from workflow.core import operations as ops
from workflow.kernel.registry import current_version, definition_of, install_definition

NOW = at("2026-03-02")


def with_survey_limit(source, days):
    changed = copy.deepcopy(dict(source))
    for name, content in changed.items():
        for item in content.get("items", []) if isinstance(content, dict) else []:
            if item["code"] == "u01_survey":
                item["limit"]["amount"] = days
                return changed, name
    raise AssertionError("u01_survey not found in the definition source")


def test_running_projects_keep_the_version_they_started_under(session):
    old_row = current_version(session)
    old_project = f.project(session, NOW)
    source, _ = with_survey_limit(definition_of(old_row).source, 5)
    new_definition = load_definition_from_source(source)
    assert new_definition.version != old_row.version

    new_row = install_definition(session, new_definition, now=NOW)
    assert current_version(session).id == new_row.id and not old_row.is_current
    new_project = f.project(session, NOW)

    assert old_project.definition_version_id == old_row.id
    assert new_project.definition_version_id == new_row.id
    assert ops.definition_for(old_project).items["u01_survey"].limit.amount == 15
    assert ops.definition_for(new_project).items["u01_survey"].limit.amount == 5
    # The legal limit each runs under, counted from the release (its statutory
    # clock starts at the 受理): 15 working days → 03-23, 5 → 03-09.
    for project, due in ((old_project, date(2026, 3, 23)), (new_project, date(2026, 3, 9))):
        survey = f.task(project, "u01_survey")
        assert clocks.legal_due(survey, ops.definition_for(project).items["u01_survey"]) == due


def test_installing_the_same_definition_twice_is_idempotent(session):
    row = current_version(session)
    again = install_definition(session, definition_of(row), now=NOW)
    assert again.id == row.id and again.is_current
