"""Which catalogue rows and classes a product is, and why.

A product (a name, perhaps a CAS number) matches a catalogue row by its CAS
number, by the row's name or by one of the row's aliases (液氯 → 氯气); it
matches a class by the class's name patterns (氰化亚铜 → 氰化物, 氯酸钡 →
氯酸盐) or because the row it matched belongs to the class. A class match
is reported unless a row it matched already says as much (a member of the
class at least as strict): the catalogue never makes a class laxer. Each
``Match`` says how it was found (``cas``, ``name``, ``alias``, ``class``)
and gives the reason in the words a screening records.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from workflow.reforms.chemicals.classes import LEVEL_RANK, pattern_in
from workflow.reforms.chemicals.editing import _normal
from workflow.reforms.chemicals.hazardous import LEVEL_NAMES
from workflow.reforms.chemicals.models import ChemicalClass, HazardousChemical

HOW = ("cas", "name", "alias", "class")


def label(product: Mapping[str, str]) -> str:
    return f"“{product['name']}”" + (f"（CAS {product['cas']}）" if product.get("cas") else "")


@dataclass(frozen=True)
class Match:
    """One reason a product is listed: ``how`` it was found, the ``level`` it
    is listed at, the catalogue row or the class, and ``via`` (the alias,
    the pattern, or the name of the member row)."""

    product: Mapping[str, str]
    how: str
    level: str
    chemical: HazardousChemical | None = None
    klass: ChemicalClass | None = None
    via: str = ""

    def reason(self, class_names: Mapping[str, str]) -> str:
        level = LEVEL_NAMES[self.level]
        if self.klass is not None:
            if self.chemical is not None:
                return (f"产品{label(self.product)}为“{self.chemical.name}”，属“{self.klass.name}”"
                        f"类，该类列入{level}")
            return (f"产品{label(self.product)}按类别匹配“{self.klass.name}”（名称含“{self.via}”），"
                    f"该类列入{level}")
        entry = self.chemical
        found = {"cas": f"按 CAS 号匹配“{entry.name}”",
                 "name": f"按名称匹配“{entry.name}”",
                 "alias": f"按别名“{self.via}”匹配“{entry.name}”"}[self.how]
        kinds = [class_names.get(c, c) for c in entry.classes or []]
        of_class = f"（属{'、'.join(kinds)}）" if kinds else ""
        marked = "（示例目录）" if entry.example else ""
        note = f"：{entry.note}" if entry.note else ""
        return f"产品{label(self.product)}{found}，列入{level}危险化学品目录{marked}{of_class}{note}"

    @property
    def record(self) -> dict[str, str | None]:
        """What a screening's hit keeps of the match, beside its reason."""
        return {"match": self.how, "product": self.product["name"],
                "chemical": self.chemical.name if self.chemical is not None else None,
                "class": self.klass.code if self.klass is not None else None}


class Catalogue:
    """The catalogue and the classes, indexed for matching products."""

    def __init__(self, entries: Iterable[HazardousChemical], classes: Iterable[ChemicalClass]):
        self.by_cas: dict[str, list[HazardousChemical]] = {}
        self.by_name: dict[str, list[HazardousChemical]] = {}
        self.by_alias: dict[str, list[tuple[HazardousChemical, str]]] = {}
        for entry in entries:
            if entry.cas:
                self.by_cas.setdefault(entry.cas, []).append(entry)
            self.by_name.setdefault(_normal(entry.name), []).append(entry)
            for alias in entry.aliases or []:
                self.by_alias.setdefault(_normal(alias), []).append((entry, alias))
        self.classes = list(classes)
        self.class_names = {k.code: k.name for k in self.classes}

    def matches(self, product: Mapping[str, str]) -> list[Match]:
        """Every reason ``product`` is listed, catalogue rows first, then classes."""
        found: list[Match] = []

        def add(how: str, entry: HazardousChemical, via: str = "") -> None:
            if all(m.chemical is not entry for m in found):
                found.append(Match(product, how, entry.level, entry, via=via))

        for entry in self.by_cas.get(product.get("cas") or "", []):
            add("cas", entry, product["cas"])
        key = _normal(product["name"])
        for entry in self.by_name.get(key, []):
            add("name", entry)
        for entry, alias in self.by_alias.get(key, []):
            add("alias", entry, alias)
        rows = [m.chemical for m in found]
        names = [product["name"], *(row.name for row in rows)]
        for klass in self.classes:
            members = [row for row in rows if klass.code in (row.classes or [])]
            if any(LEVEL_RANK[row.level] <= LEVEL_RANK[klass.level] for row in members):
                continue  # a member row at least as strict says it already
            if members:
                found.append(Match(product, "class", klass.level, members[0], klass, members[0].name))
                continue
            for name in names:
                pattern = pattern_in(klass, name)
                if pattern is not None:
                    found.append(Match(product, "class", klass.level, None, klass, pattern))
                    break
        return found
