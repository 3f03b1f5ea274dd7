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


def test_only_the_machines_and_operations_assign_task_states():
    pattern = re.compile(r"\btask\.state\s*=[^=]|\bproject\.stage\s*=[^=]")
    allowed = {"machines.py"}
    for path in (ROOT / "workflow").rglob("*.py"):
        if path.name in allowed or "migrations" in path.parts:
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            assert not pattern.search(line), f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
