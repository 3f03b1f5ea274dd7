"""The import rules of the layout: definitions imports nothing of ours or of
third parties; workflow never imports Flask; web never imports transitions
nor writes a state column."""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def imported_modules(package: str) -> dict[Path, set[str]]:
    found: dict[Path, set[str]] = {}
    for path in (ROOT / package).rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        names: set[str] = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module.split(".")[0])
        found[path] = names
    return found


def test_definitions_uses_only_the_standard_library():
    for path, names in imported_modules("definitions").items():
        foreign = {n for n in names if n not in sys.stdlib_module_names and n != "definitions"}
        assert not foreign, f"{path.relative_to(ROOT)} imports {foreign}"


@pytest.mark.parametrize("forbidden", ["flask", "flask_login", "web", "werkzeug"])
def test_workflow_never_imports_the_web(forbidden):
    for path, names in imported_modules("workflow").items():
        assert forbidden not in names, f"{path.relative_to(ROOT)} imports {forbidden}"


def test_web_never_imports_transitions():
    for path, names in imported_modules("web").items():
        assert "transitions" not in names, f"{path.relative_to(ROOT)} imports transitions"


def test_web_never_writes_a_state_column():
    pattern = re.compile(r"\.(state|stage)\s*=[^=]")
    for path in (ROOT / "web").rglob("*.py"):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            assert not pattern.search(line), f"{path.relative_to(ROOT)}:{number}: {line.strip()}"


# Every state column of the schema, and what alone may move it. A lifecycle's
# column moves only by an event of its machine; the outbox's delivery status is
# a queue the outbox alone leases and settles; the pipeline's rollup holds
# stages as a dimension, rewritten whole by the sweep.
LIFECYCLES = {
    "item_task.state": "workflow.core.machines.item_machine",
    "project.stage": "workflow.core.machines.project_machine",
    "commitment_letter.status": "workflow.reforms.commitments.lifecycle.LETTERS",
    "gap_acceptance.status": "workflow.reforms.commitments.lifecycle.PROMISES",
    "checkpoint.status": "workflow.reforms.land.lifecycle.CHECKPOINTS",
    "rectification.status": "workflow.reforms.ratings.lifecycle.RECTIFICATIONS",
    "agency_document.status": "workflow.reforms.documents.signing.SIGNATURES",
    "element_subsidy.status": "workflow.reforms.fees.lifecycle.SUBSIDIES",
    "service_request.status": "workflow.reforms.requests.lifecycle.REQUESTS",
}
# A plan milestone's ``stage`` names the project stage that achieves it: a
# reference to the project's lifecycle, set when the milestone is made.
NOT_LIFECYCLES = {"outbox_message.status": "workflow/kernel/outbox.py",
                  "pipeline_total.stage": "workflow/core/rollups.py",
                  "plan_milestone.stage": "workflow/reforms/baolian/models.py"}
STATE_NAMES = ("state", "stage", "status")


def test_every_state_column_has_its_machine():
    from workflow import zone  # noqa: F401 - every area's tables
    from workflow.models import Base

    columns = {f"{t.name}.{c.name}" for t in Base.metadata.sorted_tables for c in t.columns
               if c.name in STATE_NAMES}
    assert columns == set(LIFECYCLES) | set(NOT_LIFECYCLES), \
        "a new state column needs a machine (or a reason it is not a lifecycle)"


@pytest.mark.parametrize("column", sorted(set(LIFECYCLES) - {"item_task.state", "project.stage"}))
def test_each_lifecycle_machine_knows_exactly_its_column_states(column):
    import importlib

    from workflow import zone  # noqa: F401
    from workflow.kernel.errors import InvalidTransition
    from workflow.models import Base

    module, _, name = LIFECYCLES[column].rpartition(".")
    machine = getattr(importlib.import_module(module), name)
    table, col = column.split(".")
    check = next(c for c in Base.metadata.tables[table].constraints
                 if getattr(c, "name", "") and str(c.name).endswith(f"{col}_known"))
    allowed = set(re.findall(r"'([a-z_]+)'", str(check.sqltext)))
    assert set(machine.states) == allowed and machine.attribute == col

    class Row:
        pass

    row = Row()
    for state in machine.states:
        setattr(row, col, state)
        for event in machine.events:
            if machine.can(row, event):
                continue
            with pytest.raises(InvalidTransition, match="Cannot"):
                machine.fire(row, event)
            assert getattr(row, col) == state  # refused: nothing moved


def test_only_the_machines_write_a_state_column():
    """No code writes ``x.state``, ``x.stage`` or ``x.status`` (alone or in a
    tuple assignment) except the machines and the two non-lifecycles; a row
    is created in its initial state by its constructor."""
    pattern = re.compile(
        r"^\s*([\w.]+\s*,\s*)*\w+\.(state|stage|status)\b(\s*,\s*[\w.]+)*\s*=(?!=)")
    allowed = {ROOT / "workflow/core/machines.py", *(ROOT / p for p in NOT_LIFECYCLES.values())}
    for package in ("workflow", "demo"):
        for path in (ROOT / package).rglob("*.py"):
            if path in allowed or "migrations" in path.parts:
                continue
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                assert not pattern.search(line), \
                    f"{path.relative_to(ROOT)}:{number}: {line.strip()} (fire the machine's event)"
