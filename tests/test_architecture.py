"""The layers hold (import-linter's contracts in ``.importlinter``), and the
reform areas reach the core only through ``workflow.core.hooks``."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from importlinter.cli import lint_imports

from workflow import sweeps, zone
from workflow.core import hooks
from workflow.reforms import chemicals, commitments, documents, land

ROOT = Path(__file__).resolve().parent.parent


def test_the_import_contracts_are_kept(monkeypatch):
    monkeypatch.chdir(ROOT)
    # A broken contract prints the chain of imports that breaks it.
    assert lint_imports(config_filename=str(ROOT / ".importlinter"), no_cache=True) == 0


def test_the_core_and_kernel_import_no_area_even_inside_a_function():
    """import-linter reads function-level imports too; this names the rule
    plainly for whoever breaks it, and also forbids loading by string."""
    for layer in ("kernel", "core"):
        for path in (ROOT / "workflow" / layer).rglob("*.py"):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for node in ast.walk(tree):
                if isinstance(node, ast.ImportFrom) and node.module:
                    assert not node.module.startswith(("workflow.reforms", "workflow.accounts")), \
                        f"{path.relative_to(ROOT)} imports {node.module}"
                if isinstance(node, ast.Import):
                    assert all(a.name != "importlib" for a in node.names), \
                        f"{path.relative_to(ROOT)} loads modules by name"


def test_every_area_guard_is_plugged_into_its_moment():
    assert hooks.plugged("project.sign") == (chemicals.require_entry_cleared,)
    assert hooks.plugged("project.produce") == (land.ensure_may_produce,)
    assert hooks.plugged("task.complete") == (commitments.require_no_open_gap,)
    # 施工许可 → the start deadline; 竣工验收 → the enterprise's filing deadline.
    assert [f.__module__ for f in hooks.plugged("task.completed")] == [
        "workflow.reforms.land.deadlines"]
    # 帮办代办不包办: every task step a person takes passes the mandate's guard.
    assert hooks.plugged("task.act") == (documents.require_signed_mandate,)
    # The guards asked when actions are offered read a list's look-ups at once.
    assert [f.__name__ for f in hooks.plugged("tasks.offer")] == ["read_open_gaps", "read_scopes"]
    # Paperwork last: the 委托书 records what the parcel's evaluations covered.
    assert [f.__name__ for f in hooks.plugged("project.mandated")] == [
        "_cover_after_mandate", "_on_mandate"]
    assert [f.__module__ for f in hooks.plugged("project.suspended") + hooks.plugged(
        "project.terminated")] == ["workflow.reforms.documents"] * 2
    assert {a.__name__ for a in zone.AREAS} == {
        f"workflow.reforms.{name}" for name in
        ("commitments", "land", "chemicals", "intentions", "documents", "ratings", "requests",
         "baolian", "fees")}
    # 包联: the plan is seeded at signing, dated by the agreement, followed by the stages.
    for moment in ("project.signed", "project.agreement", "project.advanced"):
        assert [f.__module__ for f in hooks.plugged(moment)] == ["workflow.reforms.baolian.plan"]


def test_a_hook_for_an_unknown_moment_or_of_the_wrong_kind_is_refused():
    with pytest.raises(ValueError, match="Unknown moment"):
        hooks.guard("project.sealed")
    with pytest.raises(ValueError, match="takes a consequence"):
        hooks.guard("project.signed")
    with pytest.raises(ValueError, match="takes a consequence"):
        hooks.guard("project.mandated")


def test_running_a_moment_before_the_areas_are_installed_is_an_error(monkeypatch):
    monkeypatch.setattr(hooks, "_installed", False)
    with pytest.raises(RuntimeError, match="workflow.zone"):
        hooks.run("project.sign", None, None)


def test_the_sweep_names_its_areas_in_code():
    # An area's sweep may live in a module of the area's package; an area may
    # have two (the requests: the escalation, then the warning before the date).
    assert [f.__module__.split(".")[:3] for f in sweeps.AREA_SWEEPS] == [
        ["workflow", "reforms", area]
        for area in ("commitments", "land", "ratings", "intentions", "requests", "requests",
                     "baolian")]
    assert "importlib" not in (ROOT / "workflow" / "sweeps.py").read_text(encoding="utf-8")


def test_which_industries_are_chemical_is_data():
    from definitions import load_definition
    from workflow.kernel.registry import DEFAULT_DIR
    definition = load_definition(DEFAULT_DIR)
    assert {i.code for i in definition.industries.values() if i.chemical} == {
        "coal_chemical", "fine_chemical"}
    source = "".join(p.read_text(encoding="utf-8") for p in (ROOT / "workflow").rglob("*.py"))
    assert '"coal_chemical", "fine_chemical"' not in source


MAX_LINES = 600


def test_no_module_of_the_engine_definitions_or_demo_is_over_600_lines():
    """A module that grows past this holds more than one job: split it by
    responsibility (the migrations are generated, one revision a file)."""
    versions = ROOT / "workflow" / "migrations" / "versions"
    too_long = {}
    for top in ("workflow", "definitions", "demo"):
        for path in (ROOT / top).rglob("*.py"):
            if path.is_relative_to(versions):
                continue
            lines = len(path.read_text(encoding="utf-8").splitlines())
            if lines > MAX_LINES:
                too_long[str(path.relative_to(ROOT))] = lines
    assert not too_long, f"modules over {MAX_LINES} lines: {too_long}"


def test_no_module_of_the_web_is_over_600_lines():
    """A web module over 600 lines holds several jobs: split it (by area in
    web/views, by job in web/support)."""
    long = {str(p.relative_to(ROOT)): n for p in (ROOT / "web").rglob("*.py")
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > 600}
    assert not long, f"web modules over 600 lines: {long}"
