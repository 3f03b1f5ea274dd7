"""The chemical-entry tables shipped with the product (化工项目安全准入).

- ``provincial.csv``: the conditions of 山西省化工项目安全准入条件(试行)
  (inside a chemical park; a new project at least ¥50 M fixed investment
  excluding land, not phased; no highly toxic or specially controlled
  products; no batch or semi-batch nitration) — real rules, not examples.
- ``provincial_catalogue.csv``: the substances its article 7 names (光气,
  氯气, 氰化钠, 氰化钾, 氰化氢, 硝酸铵, 硝酸胍, 氯酸钠, 氯酸钾) with their
  common names (液氯, 氢氰酸 …) and classes — real, never removed by an import.
- ``classes.csv``: the classes article 7 bans as a whole (剧毒化学品,
  特别管控危险化学品, 氰化物, 氯酸盐), with the name patterns that recognise
  a member the catalogue does not list (氰化亚铜, 氯酸钡) and the names that
  look alike but are not members (亚铁氰化钾, 高氯酸铵).
- ``admission_example.csv``, ``prohibited_types_example.csv``,
  ``catalogue_example.csv``: clearly marked EXAMPLES (【示例】) that stand in for
  the zone's own 14 admission rules, 17 prohibited project types and
  禁限控 catalogue, which are not public. Lists in a cell (aliases, classes,
  patterns) are separated by ``|``. An admin imports the real ones (CSV
  or Excel, same columns) and the examples are replaced.

The files use the columns an admin's import uses, so each doubles as a
template. Rows are returned as plain text; ``workflow.reforms.chemicals`` validates
them with the same code that validates an import. Standard library only.
"""

from __future__ import annotations

import csv
from pathlib import Path

HERE = Path(__file__).parent

# file name → whether its rows are examples
RULE_FILES: tuple[tuple[str, bool], ...] = (
    ("provincial.csv", False),
    ("admission_example.csv", True),
    ("prohibited_types_example.csv", True),
)
CATALOGUE_FILES: tuple[tuple[str, bool], ...] = (("catalogue_example.csv", True),)
PROVINCIAL_CATALOGUE = "provincial_catalogue.csv"
CLASSES = "classes.csv"


def read_rows(name: str) -> list[dict[str, str]]:
    """The rows of one shipped CSV file, as ``{column: text}``."""
    with open(HERE / name, encoding="utf-8-sig", newline="") as handle:
        return [dict(row) for row in csv.DictReader(handle)]


def shipped_rules() -> list[tuple[dict[str, str], bool]]:
    """Every shipped rule row with its example flag, provincial rules first."""
    return [(row, example) for name, example in RULE_FILES for row in read_rows(name)]


def shipped_catalogue() -> list[tuple[dict[str, str], bool]]:
    """Every shipped example hazardous-chemical row with its example flag."""
    return [(row, example) for name, example in CATALOGUE_FILES for row in read_rows(name)]


def provincial_catalogue() -> list[dict[str, str]]:
    """The substances the provincial conditions name, as catalogue rows."""
    return read_rows(PROVINCIAL_CATALOGUE)


def shipped_classes() -> list[dict[str, str]]:
    """The classes of chemicals the provincial conditions ban."""
    return read_rows(CLASSES)
