"""化工项目准入: the chemical-project entry screening.

Three editable tables drive it: ``ScreeningRule`` (the provincial conditions
of 山西省化工项目安全准入条件(试行), the zone's admission rules and its
prohibited project types), ``HazardousChemical`` (the 禁限控 catalogue:
prohibited, restricted or controlled chemicals, each with its aliases and
classes) and ``ChemicalClass`` (classes banned as a whole: 氰化物, 氯酸盐,
剧毒化学品, 特别管控危险化学品, recognised by name patterns and by the
catalogue rows that list them). A rule names the ``check`` the engine
applies and the ``params`` it needs:

- ``in_chemical_park``: the project must sit inside a chemical park;
- ``min_fixed_investment`` ``{min_wan, kinds}``: fixed investment excluding
  land (the total less the land cost, computed), for the project kinds named
  (新建 only, for the provincial ¥50 M);
- ``no_phasing`` ``{kinds}``: the investment not declared in phases (分期投入);
- ``no_catalogue_level`` ``{levels}``: no product listed at those levels, by
  its CAS number, its name, an alias, or a class (``matching``);
- ``no_process`` ``{processes}``: none of those processes (batch nitration …);
- ``project_type`` ``{keywords}``: the project type matches a prohibited type;
- ``attested``: the screener confirms the condition holds (what no data shows).

A screening records every hit with its reason; the verdict is ``prohibited``
(any prohibited hit), ``restricted`` (any restricted hit: an expert review
must be recorded) or ``pass`` (``notice`` hits are recorded but do not block).
``require_entry_cleared`` is the guard ``operations.sign_project`` calls.

The tables ship with the provincial rules and clearly marked examples
(``definitions/chemicals``); an admin imports the zone's own from CSV or
Excel. An import is validated row by row and refused whole, listing every
problem, or applied whole (reading the file is the kernel's:
``workflow.kernel.tabular``).

The code lives in the package's modules: ``editing`` (what the tables
share, one way to save or delete a row), ``classes`` (the classes),
``hazardous`` (the catalogue), ``matching`` (which rows and classes a
product is, and why), ``rulebook`` (the rules), ``transfer`` (installing,
importing and exporting the tables) and ``screening`` (screening a project,
the expert review and the signing guard). Their public names are re-exported here;
importing the package plugs the guard into the core.
"""

from __future__ import annotations

from workflow.kernel.tabular import ImportRefused, Table, read_table
from workflow.reforms.chemicals.classes import (
    chemical_classes,
    class_lookup,
    delete_class,
    parse_class,
    pattern_in,
    save_class,
)
from workflow.reforms.chemicals.editing import REASONS, RowError, TableChange
from workflow.reforms.chemicals.hazardous import (
    CATALOGUE_HEADERS,
    CATALOGUE_ORDER,
    CATALOGUE_REQUIRED,
    LEVEL_NAMES,
    catalogue,
    catalogue_page,
    catalogue_size,
    delete_chemical,
    names_of,
    parse_chemical,
    save_chemical,
    valid_cas,
)
from workflow.reforms.chemicals.matching import Catalogue, Match
from workflow.reforms.chemicals.rulebook import (
    CHECKS,
    KIND_ORDER,
    PROCESSES,
    PROJECT_KINDS,
    RULE_HEADERS,
    RULE_ORDERS,
    RULE_REQUIRED,
    RULE_VERDICTS,
    delete_rule,
    parse_rule,
    rule_page,
    rule_value,
    rules,
    save_rule,
)
from workflow.reforms.chemicals.screening import (
    REVIEW_CONCLUSIONS,
    amount_wan,
    evaluate,
    latest_screening,
    mark_chemical,
    of_chemical_industry,
    products_from_text,
    record_review,
    require_entry_cleared,
    screen_project,
    screening_inputs,
    screenings_of,
    verdict_of,
)
from workflow.reforms.chemicals.transfer import (
    CATALOGUE_COLUMNS,
    EXPORT_BATCH,
    IMPORT_TARGETS,
    RULE_COLUMNS,
    ImportResult,
    export_rows,
    import_table,
    install_shipped,
)

__all__ = [
    "CATALOGUE_COLUMNS",
    "PROJECT_KINDS",
    "Catalogue",
    "Match",
    "amount_wan",
    "chemical_classes",
    "class_lookup",
    "delete_class",
    "names_of",
    "parse_class",
    "pattern_in",
    "save_class",
    "CATALOGUE_HEADERS",
    "CATALOGUE_ORDER",
    "CATALOGUE_REQUIRED",
    "CHECKS",
    "EXPORT_BATCH",
    "IMPORT_TARGETS",
    "ImportRefused",
    "ImportResult",
    "KIND_ORDER",
    "LEVEL_NAMES",
    "PROCESSES",
    "REASONS",
    "REVIEW_CONCLUSIONS",
    "RULE_COLUMNS",
    "RULE_HEADERS",
    "RULE_ORDERS",
    "RULE_REQUIRED",
    "RULE_VERDICTS",
    "RowError",
    "Table",
    "TableChange",
    "catalogue",
    "catalogue_page",
    "catalogue_size",
    "delete_chemical",
    "delete_rule",
    "evaluate",
    "export_rows",
    "import_table",
    "install_shipped",
    "latest_screening",
    "mark_chemical",
    "of_chemical_industry",
    "parse_chemical",
    "parse_rule",
    "products_from_text",
    "read_table",
    "record_review",
    "require_entry_cleared",
    "rule_page",
    "rule_value",
    "rules",
    "save_chemical",
    "save_rule",
    "screen_project",
    "screening_inputs",
    "screenings_of",
    "valid_cas",
    "verdict_of",
]
