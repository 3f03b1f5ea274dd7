"""The chemical-entry tables shipped with the product (化工项目安全准入).

- ``provincial.csv``: the four conditions of 山西省化工项目安全准入条件(试行)
  (inside a chemical park, at least ¥50 M fixed investment excluding land, no
  highly toxic or specially controlled products, no batch or semi-batch
  nitration) — real rules, not examples.
- ``admission_example.csv``, ``prohibited_types_example.csv``,
  ``catalogue_example.csv``: clearly marked EXAMPLES (【示例】) that stand in for
  the zone's own 14 admission rules, 17 prohibited project types and
  禁限控 catalogue, which are not public. An admin imports the real ones (CSV
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


def read_rows(name: str) -> list[dict[str, str]]:
    """The rows of one shipped CSV file, as ``{column: text}``."""
    with open(HERE / name, encoding="utf-8-sig", newline="") as handle:
        return [dict(row) for row in csv.DictReader(handle)]


def shipped_rules() -> list[tuple[dict[str, str], bool]]:
    """Every shipped rule row with its example flag, provincial rules first."""
    return [(row, example) for name, example in RULE_FILES for row in read_rows(name)]


def shipped_catalogue() -> list[tuple[dict[str, str], bool]]:
    """Every shipped hazardous-chemical row with its example flag."""
    return [(row, example) for name, example in CATALOGUE_FILES for row in read_rows(name)]
