"""Chemical-project entry screening (化工项目准入): the provincial rules, the
verdicts, the signing guard, the expert review and the table imports."""

from __future__ import annotations

import io

import pytest
from openpyxl import Workbook
from sqlalchemy import insert, select

from tests import factories as f
from tests.factories import at
from tests.pages import walk
from workflow.core import audit, operations
from workflow.kernel.errors import Conflict, InvalidTransition, NotPermitted, ValidationError
from workflow.models import HazardousChemical, ScreeningRule
from workflow.reforms import chemicals, intentions

NOW = at("2026-03-02", 10)

# Inputs that pass every shipped rule (one controlled product: a notice only).
CLEAN = {"in_chemical_park": True, "park_name": "左云化工园区", "project_kind": "new",
         "phased": False, "total_investment_wan": 62000, "land_cost_wan": 2000,
         "products": [{"name": "甲醇", "cas": "67-56-1"}], "processes": ["hydrogenation"],
         "project_type": "煤制甲醇", "attested": ["ADM-EX-04", "ADM-EX-05"]}


@pytest.fixture
def zone(session):
    chemicals.install_shipped(session)
    lead = f.user(session, "lead_chem", "lead", groups=("coal_chemical",))
    admin = f.user(session, "admin1", "admin")
    project = intentions.create_intention(
        session, name="年产10万吨煤基新材料项目", industry="coal_chemical", investment_wan=80000,
        enterprise_name="某煤化工有限公司", actor=lead, now=NOW)
    return {"lead": lead, "admin": admin, "project": project}


def inputs(**changes):
    return {**CLEAN, **changes}


def screen(session, zone, **changes):
    return chemicals.screen_project(session, zone["project"].id, inputs(**changes),
                                    actor=zone["lead"], now=NOW)


def hits_of(screening, rule=None):
    hits = screening.hits["hits"]
    return [h for h in hits if rule is None or h["rule"] == rule]


def rule_codes(session, kind=None):
    return sorted(r.code for r in chemicals.rules(session) if kind in (None, r.kind))


def catalogue_names(session):
    return sorted((c.name, c.level, c.example) for c in chemicals.catalogue(session))


# -- the shipped tables ------------------------------------------------------------------------

def test_the_shipped_tables_hold_the_provincial_rules_and_marked_examples(session):
    added = chemicals.install_shipped(session)
    assert added == {"rules": 15, "chemicals": 15, "classes": 4}
    provincial = [r for r in chemicals.rules(session) if r.kind == "provincial"]
    assert [(r.code, r.check, r.params, r.example) for r in provincial] == [
        ("SX-1", "in_chemical_park", {}, False),
        ("SX-2", "min_fixed_investment", {"min_wan": 5000, "kinds": ["new"]}, False),
        ("SX-3", "no_catalogue_level", {"levels": ["prohibited"]}, False),
        ("SX-4", "no_process", {"processes": ["batch_nitration", "semi_batch_nitration"]}, False),
        ("SX-5", "no_phasing", {"kinds": ["new"]}, False),
    ]
    others = [r for r in chemicals.rules(session) if r.kind != "provincial"]
    assert others and all(r.example and r.text.startswith("【示例】") for r in others)
    phosgene = session.scalar(select(HazardousChemical).where(HazardousChemical.name == "光气"))
    assert (phosgene.cas, phosgene.level, phosgene.example, phosgene.provincial) == (
        "75-44-5", "prohibited", False, True)
    assert all(c.example != c.provincial for c in chemicals.catalogue(session))
    assert chemicals.install_shipped(session) == {"rules": 0, "chemicals": 0, "classes": 0}


# -- each provincial rule, its hit and its reason ------------------------------------------------

def test_outside_a_chemical_park_is_prohibited(session, zone):
    result = screen(session, zone, in_chemical_park=False, park_name="")
    [hit] = hits_of(result, "SX-1")
    assert hit["reason"] == "项目拟选址不在化工园区内" and hit["verdict"] == "prohibited"
    assert result.verdict == "prohibited"


def test_less_than_50_million_fixed_investment_is_prohibited(session, zone):
    result = screen(session, zone, total_investment_wan=4999, land_cost_wan=0)
    [hit] = hits_of(result, "SX-2")
    assert "4,999 万元" in hit["reason"] and "5,000 万元" in hit["reason"]
    assert result.verdict == "prohibited"
    assert hits_of(screen(session, zone, total_investment_wan=5000, land_cost_wan=0), "SX-2") == []


@pytest.mark.parametrize("product, named", [
    ({"name": "光气", "cas": ""}, "光气"),
    ({"name": "羰基氯", "cas": "75-44-5"}, "光气"),  # a name it is not listed by: its CAS number
    ({"name": "氰化钠", "cas": "143-33-9"}, "氰化钠"),
    ({"name": "硝酸铵", "cas": ""}, "硝酸铵"),
    ({"name": "氯酸钾", "cas": "3811-04-9"}, "氯酸钾"),
])
def test_highly_toxic_or_specially_controlled_products_are_prohibited(session, zone, product, named):
    result = screen(session, zone, products=[product, {"name": "甲醇", "cas": ""}])
    [hit] = hits_of(result, "SX-3")
    assert named in hit["reason"] and "禁止类" in hit["reason"] and "示例目录" not in hit["reason"]
    assert hit["chemical"] == named and hit["product"] == product["name"]
    assert result.verdict == "prohibited"


@pytest.mark.parametrize("process, banned", [
    ("batch_nitration", True), ("semi_batch_nitration", True), ("continuous_nitration", False)])
def test_batch_and_semi_batch_nitration_are_prohibited(session, zone, process, banned):
    result = screen(session, zone, processes=[process])
    found = hits_of(result, "SX-4")
    assert bool(found) is banned
    if banned:
        assert found[0]["reason"] == f"采用{chemicals.PROCESSES[process]}工艺"


def test_every_hit_is_listed_with_its_reason(session, zone):
    result = screen(session, zone, in_chemical_park=False, park_name="", total_investment_wan=3000,
                    products=[{"name": "光气", "cas": ""}, {"name": "硝酸铵", "cas": ""}],
                    processes=["batch_nitration"], project_type="新建电石项目", attested=[])
    codes = [h["rule"] for h in hits_of(result)]
    assert codes == ["SX-1", "SX-2", "SX-3", "SX-3", "SX-4", "ADM-EX-01", "ADM-EX-04",
                     "ADM-EX-05", "PT-EX-01"]
    assert all(h["reason"] and h["text"] for h in hits_of(result))
    assert result.verdict == "prohibited"


# -- the verdict ---------------------------------------------------------------------------------

def test_verdict_combinations(session, zone):
    assert screen(session, zone).verdict == "pass"
    assert [h["verdict"] for h in hits_of(screen(session, zone))] == ["notice"]  # 甲醇: controlled
    restricted = screen(session, zone, total_investment_wan=8000)  # under the example's 1亿
    assert restricted.verdict == "restricted"
    assert screen(session, zone, products=[{"name": "苯", "cas": ""}]).verdict == "restricted"
    both = screen(session, zone, total_investment_wan=8000, processes=["batch_nitration"])
    assert both.verdict == "prohibited"
    assert chemicals.verdict_of([]) == "pass"
    assert chemicals.verdict_of([{"verdict": "notice"}, {"verdict": "restricted"}]) == "restricted"


def test_an_inactive_rule_is_not_applied(session, zone):
    rule = session.scalar(select(ScreeningRule).where(ScreeningRule.code == "SX-1"))
    rule.active = False
    assert hits_of(screen(session, zone, in_chemical_park=False, park_name=""), "SX-1") == []


@pytest.mark.parametrize("bad", [
    {"in_chemical_park": None},
    {"park_name": ""},
    {"total_investment_wan": "五千"},
    {"total_investment_wan": "1e999"},
    {"land_cost_wan": -1},
    {"land_cost_wan": 70000},  # more than the total
    {"total_investment_wan": "5000.00001"},  # finer than a yuan
    {"project_kind": "rebuild"},
    {"phased": None},
    {"products": []},
    {"products": [{"name": "光气", "cas": "75-44-6"}]},  # wrong check digit
    {"processes": ["alchemy"]},
])
def test_bad_screening_inputs_are_refused(session, zone, bad):
    with pytest.raises(ValidationError):
        screen(session, zone, **bad)
    assert chemicals.screenings_of(session, zone["project"].id) == []


def test_only_chemical_intentions_are_screened_by_their_leads(session, zone):
    other = f.user(session, "lead_eq", "lead", groups=("equipment",))
    with pytest.raises(NotPermitted):
        chemicals.screen_project(session, zone["project"].id, CLEAN, actor=other, now=NOW)
    plain = intentions.create_intention(session, name="装备项目", industry="machinery",
                                        investment_wan=1000, enterprise_name="机械公司",
                                        actor=other, now=NOW)
    with pytest.raises(ValidationError, match="not marked as a chemical"):
        chemicals.screen_project(session, plain.id, CLEAN, actor=other, now=NOW)


def test_products_are_read_one_per_line_with_an_optional_cas_number(session):
    assert chemicals.products_from_text("光气 75-44-5\n甲醇，67-56-1\n\n聚丙烯\n") == [
        {"name": "光气", "cas": "75-44-5"}, {"name": "甲醇", "cas": "67-56-1"},
        {"name": "聚丙烯", "cas": ""}]


# -- signing -------------------------------------------------------------------------------------

def sign(session, zone):
    return operations.sign_project(session, zone["project"].id, actor=zone["lead"], now=NOW)


def test_a_chemical_project_cannot_be_signed_without_a_screening(session, zone):
    with pytest.raises(InvalidTransition, match="entry screening"):
        sign(session, zone)
    assert zone["project"].stage == "intention"


def test_a_prohibited_result_blocks_signing_with_its_reasons(session, zone):
    screen(session, zone, processes=["batch_nitration"])
    with pytest.raises(InvalidTransition) as refused:
        sign(session, zone)
    assert "SX-4: 采用间歇硝化工艺" in refused.value.message
    assert refused.value.details["reasons"] == ["SX-4: 采用间歇硝化工艺"]
    assert zone["project"].stage == "intention"


def test_a_passing_result_allows_signing(session, zone):
    screen(session, zone)
    assert sign(session, zone).stage == "signed"
    assert audit.verify(session, [zone["project"].code]) == []


def test_a_newer_screening_supersedes_the_older_one(session, zone):
    screen(session, zone, processes=["batch_nitration"])
    screen(session, zone)  # the enterprise changed to continuous nitration
    assert sign(session, zone).stage == "signed"


def test_a_project_that_is_not_chemical_is_signed_without_screening(session, zone):
    plain = intentions.create_intention(session, name="物流项目", industry="logistics",
                                        investment_wan=1000, enterprise_name="物流公司",
                                        actor=zone["admin"], now=NOW)
    assert operations.sign_project(session, plain.id, actor=zone["admin"], now=NOW).stage == "signed"


# -- the expert review of a restricted result -------------------------------------------------------

def review(session, zone, screening, **changes):
    args = {"experts": "张工\n李工，王教授", "reviewed_on": "2026-03-01", "conclusion": "approve",
            "note": "", "actor": zone["lead"], "now": NOW}
    args.update(changes)
    return chemicals.record_review(session, screening.id, **args)


def test_a_restricted_result_needs_an_approving_expert_review(session, zone):
    result = screen(session, zone, total_investment_wan=8000)
    with pytest.raises(InvalidTransition, match="expert review"):
        sign(session, zone)
    review(session, zone, result)
    assert result.review == {"experts": ["张工", "李工", "王教授"], "reviewed_on": "2026-03-01",
                             "conclusion": "approve", "note": ""}
    assert sign(session, zone).stage == "signed"


def test_experts_who_refuse_block_signing(session, zone):
    result = screen(session, zone, total_investment_wan=8000)
    review(session, zone, result, conclusion="refuse", note="安全距离不足")
    with pytest.raises(InvalidTransition, match="安全距离不足"):
        sign(session, zone)


@pytest.mark.parametrize("bad", [
    {"experts": " , "},
    {"reviewed_on": "2026-03-03"},  # tomorrow
    {"conclusion": "maybe"},
    {"conclusion": "refuse", "note": ""},
])
def test_a_bad_expert_review_is_refused(session, zone, bad):
    result = screen(session, zone, total_investment_wan=8000)
    with pytest.raises(ValidationError):
        review(session, zone, result, **bad)
    assert result.review is None


def test_only_the_latest_restricted_result_is_reviewed_once(session, zone):
    passing = screen(session, zone)
    with pytest.raises(InvalidTransition):
        review(session, zone, passing)
    older = screen(session, zone, total_investment_wan=8000)
    newer = screen(session, zone, total_investment_wan=9000)
    with pytest.raises(InvalidTransition, match="newer"):
        review(session, zone, older)
    review(session, zone, newer)
    with pytest.raises(Conflict):
        review(session, zone, newer)


def test_marking_and_unmarking_a_chemical_project(session, zone):
    with pytest.raises(ValidationError):  # a coal-chemical project stays chemical
        chemicals.mark_chemical(session, zone["project"].id, False, actor=zone["lead"], now=NOW,
                                reason="不是")
    plain = intentions.create_intention(session, name="新材料项目", industry="new_materials",
                                        investment_wan=1000, enterprise_name="材料公司",
                                        actor=zone["admin"], now=NOW)
    chemicals.mark_chemical(session, plain.id, True, actor=zone["admin"], now=NOW)
    with pytest.raises(InvalidTransition):
        operations.sign_project(session, plain.id, actor=zone["admin"], now=NOW)
    with pytest.raises(ValidationError):
        chemicals.mark_chemical(session, plain.id, False, actor=zone["admin"], now=NOW)
    chemicals.mark_chemical(session, plain.id, False, actor=zone["admin"], now=NOW,
                            reason="仅为物理加工")
    assert operations.sign_project(session, plain.id, actor=zone["admin"], now=NOW).stage == "signed"


# -- importing the zone's own tables -------------------------------------------------------------

def csv_table(text: str, *, bom: bool = False) -> chemicals.Table:
    data = text.encode("utf-8")
    return chemicals.read_table("table.csv", (b"\xef\xbb\xbf" if bom else b"") + data)


def refused(session, zone, target, table, **kw):
    with pytest.raises(chemicals.ImportRefused) as caught:
        chemicals.import_table(session, target, table, actor=zone["admin"], now=NOW, **kw)
    return [str(e) for e in caught.value.errors]


def test_a_catalogue_with_a_bad_level_a_duplicate_and_a_bad_cas_is_refused_whole(session, zone):
    before = catalogue_names(session)
    errors = refused(session, zone, "catalogue", csv_table(
        "name,cas,level,note\n"
        "氯乙烯,75-01-4,restricted,\n"
        "二氯乙烷,107-06-2,forbidden,\n"
        "氯乙烯,,controlled,\n"
        "某品,75-01-5,控制,\n"))
    assert errors == [
        "row 3, column level: unknown level 'forbidden' (prohibited, restricted or controlled)",
        "row 4, column name: duplicate of row 2",
        "row 5, column cas: '75-01-5' is not a valid CAS number",
    ]
    assert catalogue_names(session) == before


def test_a_file_missing_a_required_column_is_refused(session, zone):
    before = rule_codes(session)
    errors = refused(session, zone, "admission", csv_table("code,text,check\nA-1,条件,attested\n"))
    assert errors == ["row 1, column verdict: the column is missing"]
    assert rule_codes(session) == before


def test_a_rules_file_with_bad_rows_is_refused_whole(session, zone):
    before = rule_codes(session)
    errors = refused(session, zone, "admission", csv_table(
        "code,kind,text,check,value,verdict\n"
        "A-1,admission,投资不低于2亿元,min_fixed_investment,20000,restricted\n"
        "A-1,admission,重复,attested,,restricted\n"
        "A-2,prohibited_type,类型,project_type,电石,prohibited\n"
        "A-3,admission,产品,no_catalogue_level,banned,prohibited\n"
        "A-4,admission,,teleport,,never\n"))
    assert errors == [
        "row 3, column code: duplicate of row 2",
        "row 4, column kind: this import takes rows of the kind 'admission' only",
        "row 5, column value: unknown level 'banned' (prohibited, restricted or controlled)",
        "row 6, column text: a value is required",
        "row 6, column check: unknown check 'teleport'",
        "row 6, column verdict: unknown verdict 'never' (prohibited, restricted or notice)",
    ]
    assert rule_codes(session) == before


def test_importing_admission_rules_replaces_only_the_examples(session, zone):
    result = chemicals.import_table(session, "admission", csv_table(
        "编号,条文,检查,参数,结论\n"
        "ZY-01,新建化工项目投资强度不低于300万元/亩（以投资额计）,min_fixed_investment,20000,限制\n"
        "ZY-02,产品不得列入限制类或禁止类目录,no_catalogue_level,限制|禁止,禁止\n", bom=True),
        actor=zone["admin"], now=NOW)
    assert (result.added, result.updated, result.removed) == (2, 0, 5)
    assert rule_codes(session, "admission") == ["ZY-01", "ZY-02"]
    assert rule_codes(session, "provincial") == ["SX-1", "SX-2", "SX-3", "SX-4", "SX-5"]
    assert len(rule_codes(session, "prohibited_type")) == 5  # another table: untouched
    zy2 = session.scalar(select(ScreeningRule).where(ScreeningRule.code == "ZY-02"))
    assert zy2.params == {"levels": ["restricted", "prohibited"]} and not zy2.example
    again = chemicals.import_table(session, "admission", csv_table(
        "code,text,check,value,verdict\n"
        "ZY-01,新建化工项目投资强度不低于300万元/亩（以投资额计）,min_fixed_investment,20000,restricted\n"),
        actor=zone["admin"], now=NOW)
    assert (again.added, again.updated, again.removed) == (0, 0, 0)  # ZY-02 kept: not an example
    replaced = chemicals.import_table(session, "admission", csv_table(
        "code,text,check,value,verdict\nZY-09,新条件,attested,,restricted\n"),
        replace_all=True, actor=zone["admin"], now=NOW)
    assert replaced.removed == 2 and rule_codes(session, "admission") == ["ZY-09"]


def test_an_imported_rule_cannot_take_the_code_of_a_provincial_rule(session, zone):
    errors = refused(session, zone, "admission", csv_table(
        "code,text,check,value,verdict\nSX-1,冒名,attested,,restricted\n"))
    assert errors == ["row 2, column code: already used by another row of the table (provincial SX-1)"]


def xlsx(rows) -> bytes:
    book = Workbook()
    for row in rows:
        book.active.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


PROVINCIAL = sorted([(name, "prohibited", False) for name in (
    "光气", "氯气", "氰化钠", "氰化钾", "氰化氢", "硝酸铵", "硝酸胍", "氯酸钠", "氯酸钾")])


def test_an_excel_catalogue_replaces_the_example_catalogue(session, zone):
    """The examples go, the provincial substances stay (光气 is updated in
    place: its note and the aliases the file gives), the zone's own row stays."""
    chemicals.save_chemical(session, None, name="本园区自定品", level="controlled",
                            actor=zone["admin"], now=NOW)
    data = xlsx([["化学品名称", "CAS号", "级别", "别名", "备注"],
                 ["光气", "75-44-5", "禁止", "碳酰氯", "剧毒"],
                 ["二硫化碳", "75-15-0", "限制", None, None],
                 [None, None, None, None, None],
                 ["甲苯", "108-88-3", "控制", "甲基苯", "易制毒"]])
    result = chemicals.import_table(session, "catalogue", chemicals.read_table("目录.xlsx", data),
                                    actor=zone["admin"], now=NOW)
    assert (result.added, result.updated, result.removed) == (2, 1, 6)
    assert catalogue_names(session) == sorted([
        *PROVINCIAL, ("二硫化碳", "restricted", False), ("甲苯", "controlled", False),
        ("本园区自定品", "controlled", False)])
    phosgene = session.scalar(select(HazardousChemical).where(HazardousChemical.name == "光气"))
    assert (phosgene.note, phosgene.aliases, phosgene.provincial) == ("剧毒", ["碳酰氯"], True)
    bad = xlsx([["name", "cas", "level"], ["苯", "71-43-2", "maybe"]])
    errors = refused(session, zone, "catalogue", chemicals.read_table("bad.xlsx", bad))
    assert errors == ["row 2, column level: unknown level 'maybe' (prohibited, restricted or controlled)"]
    replaced = chemicals.import_table(session, "catalogue", chemicals.read_table("目录.xlsx", data),
                                      replace_all=True, actor=zone["admin"], now=NOW)
    assert replaced.removed == 3 and len(chemicals.catalogue(session)) == 9 + 2


def test_files_that_are_not_utf8_csv_or_xlsx_are_refused(session, zone):
    with pytest.raises(chemicals.ImportRefused, match="UTF-8"):
        chemicals.read_table("gbk.csv", "name,level\n苯,限制\n".encode("gb18030"))
    with pytest.raises(chemicals.ImportRefused, match="xlsx"):
        chemicals.read_table("old.xls", b"\xd0\xcf\x11\xe0")
    with pytest.raises(chemicals.ImportRefused, match="Excel"):
        chemicals.read_table("broken.xlsx", b"PK\x03\x04 not really")
    with pytest.raises(chemicals.ImportRefused, match="no rows"):
        chemicals.import_table(session, "catalogue", csv_table("name,cas,level,note\n"),
                               actor=zone["admin"], now=NOW)


def test_only_admins_change_the_tables(session, zone):
    with pytest.raises(NotPermitted):
        chemicals.import_table(session, "catalogue", csv_table("name,level\n苯,限制\n"),
                               actor=zone["lead"], now=NOW)
    with pytest.raises(NotPermitted):
        chemicals.save_rule(session, None, code="X", kind="admission", text="x", check="attested",
                            verdict="restricted", actor=zone["lead"], now=NOW)


def test_editing_a_rule_makes_it_the_zones_own(session, zone):
    rule = session.scalar(select(ScreeningRule).where(ScreeningRule.code == "ADM-EX-01"))
    chemicals.save_rule(session, rule.id, code="ADM-EX-01", kind="admission",
                        text="投资不低于8000万元", check="min_fixed_investment", value="8000",
                        verdict="restricted", active=True, actor=zone["admin"], now=NOW)
    assert rule.params == {"min_wan": 8000} and not rule.example
    assert chemicals.rule_value(rule) == "8000"
    chemicals.save_rule(session, rule.id, code="ADM-EX-01", kind="admission",
                        text="新建、改扩建项目投资不低于8000万元", check="min_fixed_investment",
                        value="8,000|新建|expansion", verdict="restricted", actor=zone["admin"],
                        now=NOW)
    assert rule.params == {"min_wan": 8000, "kinds": ["new", "expansion"]}
    assert chemicals.rule_value(rule) == "8000|new|expansion"
    with pytest.raises(ValidationError):
        chemicals.save_rule(session, None, code="SX-1", kind="admission", text="x",
                            check="attested", verdict="restricted", actor=zone["admin"], now=NOW)
    with pytest.raises(ValidationError, match="value"):
        chemicals.save_rule(session, rule.id, code="ADM-EX-01", kind="admission", text="x",
                            check="min_fixed_investment", value="-1", verdict="restricted",
                            actor=zone["admin"], now=NOW)
    with pytest.raises(ValidationError, match="unknown project kind 'rebuild'"):
        chemicals.save_rule(session, rule.id, code="ADM-EX-01", kind="admission", text="x",
                            check="min_fixed_investment", value="8000|rebuild",
                            verdict="restricted", actor=zone["admin"], now=NOW)


def test_the_export_round_trips_through_an_import(session, zone):
    header, rows = chemicals.export_rows(session, "provincial")
    assert header[:4] == ["code", "kind", "text", "check"]
    assert [r[0] for r in rows] == ["SX-1", "SX-2", "SX-3", "SX-4", "SX-5"]
    header, rows = chemicals.export_rows(session, "prohibited_type")
    text = ",".join(header) + "\n" + "\n".join(",".join(r) for r in rows) + "\n"
    result = chemicals.import_table(session, "prohibited_type", csv_table(text),
                                    actor=zone["admin"], now=NOW)
    assert (result.added, result.removed) == (5, 5)
    assert all(not r.example for r in chemicals.rules(session) if r.kind == "prohibited_type")


# -- the tables, a page at a time ------------------------------------------------------------------

def add_chemicals(session, *rows):
    session.execute(insert(HazardousChemical), [
        {"name": name, "cas": None, "level": level, "note": "", "example": False} for name, level in rows])
    session.flush()


def test_each_rule_table_pages_by_code_with_its_own_cursor(session, zone):
    session.execute(insert(ScreeningRule), [
        {"code": f"ADM-{n}", "kind": "admission", "text": f"规则{n}", "check": "attested", "params": {},
         "verdict": "notice", "active": True, "example": False, "source": ""} for n in (5, 1, 4, 2, 3)])
    session.flush()
    pages = walk(lambda cursor, limit: chemicals.rule_page(session, "admission", cursor=cursor,
                                                           limit=limit), 3)
    expected = sorted(rule_codes(session, "admission"))
    assert [r.code for p in pages for r in p] == expected and [len(p) for p in pages] == [3, 3, 3, 1]
    assert all(r.kind == "admission" for p in pages for r in p)
    assert [r.code for r in chemicals.rule_page(session, "provincial")] == [
        "SX-1", "SX-2", "SX-3", "SX-4", "SX-5"]
    with pytest.raises(ValidationError):  # a cursor of the admission table is not one of the provincial table
        chemicals.rule_page(session, "provincial", cursor=pages[0].next)
    with pytest.raises(ValidationError):
        chemicals.rule_page(session, "everything")


def test_the_catalogue_pages_level_by_level_then_by_name(session, zone):
    add_chemicals(session, ("乙", "controlled"), ("甲", "restricted"), ("丙", "prohibited"),
                  ("丁", "restricted"))
    expected = [c.name for c in chemicals.catalogue(session)]
    levels = [c.level for c in chemicals.catalogue(session)]
    assert levels == sorted(levels, key=["prohibited", "restricted", "controlled"].index)
    pages = walk(lambda cursor, limit: chemicals.catalogue_page(session, cursor=cursor, limit=limit), 4)
    assert [c.name for p in pages for c in p] == expected
    assert all(len(p) == 4 for p in pages[:-1]) and len(pages) == -(-len(expected) // 4)
    # Chemicals added meanwhile neither shift nor repeat what follows the first page.
    boundary = pages[0].rows[-1]
    add_chemicals(session, ("〇", "prohibited"), ("龘", "controlled"))
    after = [c.name for p in walk(lambda cursor, limit: chemicals.catalogue_page(
        session, cursor=cursor or pages[0].next, limit=limit), 4) for c in p]
    assert boundary.name not in after and expected[4:] == [n for n in after if n not in ("〇", "龘")]
    back = chemicals.catalogue_page(session, cursor=pages[1].prev, limit=4)
    assert [c.name for c in back] == expected[:4]
    assert chemicals.catalogue_size(session).value == len(expected) + 2


def test_an_export_holds_the_rows_of_the_pages_read_in_batches(session, zone):
    add_chemicals(session, *((f"化学品{n:03d}", ("prohibited", "restricted", "controlled")[n % 3])
                             for n in range(25)))
    header, rows = chemicals.export_rows(session, "catalogue", batch=4)
    assert header == ["name", "cas", "level", "aliases", "classes", "note"]
    exported = list(rows)
    shown = [c for p in walk(lambda cursor, limit: chemicals.catalogue_page(session, cursor=cursor,
                                                                            limit=limit), 7) for c in p]
    assert exported == [[c.name, c.cas or "", c.level, "|".join(c.aliases), "|".join(c.classes),
                         c.note] for c in shown]
    assert ["氯气", "7782-50-5", "prohibited", "氯|液氯|液态氯|chlorine", "highly_toxic",
            "剧毒化学品（省级准入条件第七条点名）"] in exported
    header, rows = chemicals.export_rows(session, "admission", batch=2)
    assert [r[0] for r in rows] == rule_codes(session, "admission")
    with pytest.raises(ValidationError):
        chemicals.export_rows(session, "users")
