"""What the process IS: a zone's items, groups, lifecycle and limits as data,
and the loader that validates them into frozen objects (``loader``), with
their critical path and readable report (``report``). Standard library only;
imports nothing else of ours."""

from definitions.loader import (
    DefinitionError,
    canonical_json,
    definition_version,
    load_definition,
    load_definition_from_source,
)
from definitions.model import (
    CATEGORIES,
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
from definitions.report import critical_path, summary

__all__ = [
    "CATEGORIES",
    "Coverage",
    "Definition",
    "DefinitionError",
    "ESSENTIAL_MATERIALS",
    "Department",
    "Industry",
    "IndustryGroup",
    "Item",
    "ItemCheckpoint",
    "Material",
    "Stage",
    "TimeLimit",
    "canonical_json",
    "critical_path",
    "definition_version",
    "load_definition",
    "load_definition_from_source",
    "summary",
]
