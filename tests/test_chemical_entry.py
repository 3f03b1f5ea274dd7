"""The chemical-entry conditions as the provincial text writes them (issue 11,
items 6 and 7): 山西省化工项目安全准入条件(试行) bans classes of chemicals and
named substances under their common names (第七条), and the ¥50 M minimum
excluding land binds new projects, which may not be phased (第四条).

Each test names its case, counted by hand against the text, in its docstring."""

from __future__ import annotations

import pytest
from sqlalchemy import delete, select

from tests import factories as f
from tests.factories import at
from workflow.kernel.errors import ValidationError
from workflow.models import ChemicalClass, HazardousChemical, ScreeningRule
from workflow.reforms import chemicals, intentions

NOW = at("2026-03-02", 10)

# Inputs that pass every shipped rule but for the products (甲醇: a notice only).
CLEAN = {"in_chemical_park": True, "park_name": "左云化工园区", "project_kind": "new",
         "phased": False, "total_investment_wan": 62000, "land_cost_wan": 2000,
         "products": [{"name": "甲醇", "cas": "67-56-1"}], "processes": [],
         "project_type": "煤化工", "attested": ["ADM-EX-04", "ADM-EX-05"]}


@pytest.fixture
def zone(session):
    chemicals.install_shipped(session)
    lead = f.user(session, "lead_chem", "lead", groups=("coal_chemical",))
    admin = f.user(session, "admin1", "admin")
    project = intentions.create_intention(
        session, name="年产10万吨精细化学品项目", industry="fine_chemical", investment_wan=80000,
        enterprise_name="某精细化工有限公司", actor=lead, now=NOW)
    return {"lead": lead, "admin": admin, "project": project}


def screen(session, zone, **changes):
    return chemicals.screen_project(session, zone["project"].id, {**CLEAN, **changes},
                                    actor=zone["lead"], now=NOW)


def product_hits(session, zone, *products, rule="SX-3"):
    """The hits of ``rule`` for products given as names or (name, CAS)."""
    given = [{"name": p, "cas": ""} if isinstance(p, str) else {"name": p[0], "cas": p[1]}
             for p in products]
    result = screen(session, zone, products=given)
    return [h for h in result.hits["hits"] if h["rule"] == rule], result.verdict


# -- item 6: classes, aliases and the substances the text names ------------------------------------

def test_liquid_chlorine_without_a_cas_number_is_refused_by_its_alias(session, zone):
    """液氯 is chlorine (氯气, CAS 7782-50-5) by its common name; 第七条 bans
    new or expanded chlorine production. Given as "液氯" with no CAS number
    it matched nothing before; now it matches 氯气 by alias, prohibited."""
    [hit], verdict = product_hits(session, zone, "液氯")
    assert (hit["match"], hit["chemical"], hit["class"]) == ("alias", "氯气", None)
    assert hit["reason"].startswith("产品“液氯”按别名“液氯”匹配“氯气”，列入禁止类危险化学品目录")
    assert "属剧毒化学品" in hit["reason"] and verdict == "prohibited"
    # Written with spaces or full-width forms, or in English, it is the same name.
    for written in ("液 氯", "Liquid Chlorine", "CHLORINE"):
        hits, _ = product_hits(session, zone, written)
        assert [h["chemical"] for h in hits] == (["氯气"] if written != "Liquid Chlorine" else [])


@pytest.mark.parametrize("name", ["氰化亚铜", "氰化锌"])
def test_cuprous_and_zinc_cyanide_are_refused_as_cyanides(session, zone, name):
    """氰化亚铜 (CuCN) and 氰化锌 (Zn(CN)₂) are in no catalogue row; 第七条
    bans cyanides (氰化钠、氰化钾、氰化氢"等"). Their names hold 氰化: the
    class 氰化物 matches by pattern, prohibited."""
    [hit], verdict = product_hits(session, zone, name)
    assert (hit["match"], hit["chemical"], hit["class"]) == ("class", None, "cyanide")
    assert hit["reason"] == f"产品“{name}”按类别匹配“氰化物”（名称含“氰化”），该类列入禁止类"
    assert verdict == "prohibited"


def test_barium_chlorate_is_refused_as_a_chlorate(session, zone):
    """氯酸钡 is in no catalogue row; 第七条 bans chlorates (氯酸钠、氯酸钾
    "等"). Its name holds 氯酸: the class 氯酸盐 matches, prohibited."""
    [hit], verdict = product_hits(session, zone, ("氯酸钡", "13477-00-4"))
    assert (hit["match"], hit["class"]) == ("class", "chlorate")
    assert "按类别匹配“氯酸盐”（名称含“氯酸”）" in hit["reason"] and verdict == "prohibited"


@pytest.mark.parametrize("name", ["亚铁氰化钾", "铁氰化钾", "硫氰化钠", "高氯酸铵", "次氯酸钠",
                                  "亚氯酸钠", "Potassium ferrocyanide", "ammonium perchlorate"])
def test_names_that_only_look_like_a_class_are_not_in_it(session, zone, name):
    """亚铁氰化钾 (a food additive, the iron binds the cyanide), 铁氰化钾,
    硫氰化钠 are no cyanides; 高氯酸铵, 次氯酸钠, 亚氯酸钠 no chlorates: the
    class's exclusions are taken out of the name before its patterns."""
    hits, verdict = product_hits(session, zone, name)
    assert hits == [] and verdict == "pass"


def test_guanidine_nitrate_is_listed_by_name_cas_and_alias(session, zone):
    """硝酸胍 (CAS 506-93-4) is named in 第七条 among the specially controlled
    chemicals; it was absent. It is now a provincial row, prohibited, found by
    its name, its CAS number under another name, and its English name."""
    row = session.scalar(select(HazardousChemical).where(HazardousChemical.name == "硝酸胍"))
    assert (row.cas, row.level, row.provincial, row.example, row.classes) == (
        "506-93-4", "prohibited", True, False, ["specially_controlled"])
    for product, how in (("硝酸胍", "name"), (("胍的硝酸盐", "506-93-4"), "cas"),
                         ("guanidine nitrate", "alias")):
        [hit], verdict = product_hits(session, zone, product)
        assert (hit["match"], hit["chemical"], verdict) == (how, "硝酸胍", "prohibited")


def test_every_substance_article_7_names_is_shipped_as_provincial(session, zone):
    """第七条: 光气、氯气、氰化钠、氰化钾、氰化氢 (剧毒), 硝酸铵、硝酸胍、
    氯酸钠、氯酸钾 (特别管控): nine provincial rows, each prohibited and
    each refused by name; the four classes are shipped too."""
    provincial = session.scalars(select(HazardousChemical).where(HazardousChemical.provincial)).all()
    assert sorted(c.name for c in provincial) == sorted(
        ["光气", "氯气", "氰化钠", "氰化钾", "氰化氢", "硝酸铵", "硝酸胍", "氯酸钠", "氯酸钾"])
    assert {c.level for c in provincial} == {"prohibited"}
    assert [k.code for k in chemicals.chemical_classes(session)] == [
        "chlorate", "cyanide", "highly_toxic", "specially_controlled"]
    for row in provincial:
        hits, verdict = product_hits(session, zone, row.name)
        assert [h["match"] for h in hits] == ["name"] and verdict == "prohibited"


def test_a_laxer_catalogue_row_does_not_weaken_its_class(session, zone):
    """An admin lists 氰化亚铜 as controlled (控制类): the row matches by name
    at that level (a notice), and the class 氰化物 still prohibits it. A row
    an admin tags as a cyanide (普鲁士酸, no 氰化 in its name) is refused as
    a member of the class."""
    chemicals.save_chemical(session, None, name="氰化亚铜", level="controlled", actor=zone["admin"],
                            now=NOW)
    chemicals.save_chemical(session, None, name="普鲁士酸", level="controlled", classes=["cyanide"],
                            actor=zone["admin"], now=NOW)
    result = screen(session, zone, products=[{"name": "氰化亚铜", "cas": ""}])
    assert [(h["rule"], h["match"]) for h in result.hits["hits"]] == [
        ("SX-3", "class"), ("ADM-EX-03", "name")]
    assert result.verdict == "prohibited"
    [hit], verdict = product_hits(session, zone, "普鲁士酸")
    assert (hit["match"], hit["chemical"], hit["class"]) == ("class", "普鲁士酸", "cyanide")
    assert hit["reason"] == "产品“普鲁士酸”为“普鲁士酸”，属“氰化物”类，该类列入禁止类"


def test_a_member_at_least_as_strict_says_it_once(session, zone):
    """氰化钠 is a provincial row (prohibited) in the classes 剧毒化学品 and
    氰化物: one hit, by name, naming its classes; not a second one by class."""
    [hit], _ = product_hits(session, zone, ("氰化钠", "143-33-9"))
    assert hit["match"] == "cas" and "（属剧毒化学品、氰化物）" in hit["reason"]


def test_an_alias_belongs_to_one_row(session, zone):
    """液氯 is 氯气's alias: another row cannot take it as a name or an alias."""
    with pytest.raises(ValidationError, match="液氯"):
        chemicals.save_chemical(session, None, name="液氯", level="controlled",
                                actor=zone["admin"], now=NOW)
    with pytest.raises(ValidationError, match="液氯"):
        chemicals.save_chemical(session, None, name="工业氯", aliases="液氯", level="controlled",
                                actor=zone["admin"], now=NOW)
    with pytest.raises(ValidationError, match="unknown class"):
        chemicals.save_chemical(session, None, name="某品", classes=["nitro"], level="controlled",
                                actor=zone["admin"], now=NOW)


def test_the_provincial_substances_stay_prohibited_and_in_the_catalogue(session, zone):
    """A substance the text names cannot be deleted, lowered below prohibited,
    or removed by an import, even one that replaces the whole catalogue."""
    chlorine = session.scalar(select(HazardousChemical).where(HazardousChemical.name == "氯气"))
    with pytest.raises(ValidationError, match="provincial"):
        chemicals.delete_chemical(session, chlorine.id, actor=zone["admin"], now=NOW)
    with pytest.raises(ValidationError, match="prohibited"):
        chemicals.save_chemical(session, chlorine.id, name="氯气", level="controlled",
                                actor=zone["admin"], now=NOW)
    chemicals.save_chemical(session, chlorine.id, name="氯气", cas="7782-50-5", level="prohibited",
                            aliases=["液氯", "氯", "工业液氯"], classes=["highly_toxic"],
                            actor=zone["admin"], now=NOW)
    assert chlorine.aliases == ["液氯", "氯", "工业液氯"] and chlorine.provincial
    table = chemicals.read_table("t.csv", "name,level\n甲苯,控制\n".encode())
    result = chemicals.import_table(session, "catalogue", table, replace_all=True,
                                    actor=zone["admin"], now=NOW)
    assert result.removed == 6 and len(chemicals.catalogue(session)) == 9 + 1
    lowered = chemicals.read_table("t.csv", "name,level\n氯气,控制\n".encode())
    with pytest.raises(chemicals.ImportRefused) as refused:
        chemicals.import_table(session, "catalogue", lowered, actor=zone["admin"], now=NOW)
    assert [str(e) for e in refused.value.errors] == [
        "row 2, column level: '氯气' is named by the provincial conditions: it stays prohibited"]


def test_an_import_refuses_an_alias_another_row_has(session, zone):
    """A file row taking 液氯 (氯气's alias, a row the file leaves alone) or a
    name another file row uses as an alias is refused, and nothing changes."""
    before = sorted(c.name for c in chemicals.catalogue(session))
    table = chemicals.read_table("t.csv", (
        "name,level,aliases,classes\n"
        "工业氯,restricted,液氯,\n"
        "甲苯,controlled,甲基苯,\n"
        "甲基苯,controlled,,\n"
        "某盐,controlled,,硝基物\n").encode())
    with pytest.raises(chemicals.ImportRefused) as refused:
        chemicals.import_table(session, "catalogue", table, actor=zone["admin"], now=NOW)
    assert [str(e) for e in refused.value.errors] == [
        "row 4, column name: duplicate of row 3",
        "row 5, column classes: unknown class of chemicals '硝基物'",
        "row 2, column aliases: already used by another row of the table (氯气)",
    ]
    assert sorted(c.name for c in chemicals.catalogue(session)) == before


def test_a_cell_with_a_control_character_is_refused(session, zone):
    """A NUL in an imported cell would fail PostgreSQL's text: the row is refused."""
    table = chemicals.read_table("t.csv", "name,level\n苯\x00,限制\n".encode())
    with pytest.raises(chemicals.ImportRefused, match="cannot be typed"):
        chemicals.import_table(session, "catalogue", table, actor=zone["admin"], now=NOW)


def test_an_admin_tunes_a_class_and_adds_one(session, zone):
    """氰化苄 (benzyl cyanide, an organic nitrile) holds 氰化: the zone
    excludes it from 氰化物; the provincial class keeps its code and level and
    is never deleted. A class of the zone's own (硝基苯系物) prohibits by its
    pattern; it is deleted once no catalogue row names it."""
    hits, _ = product_hits(session, zone, "氰化苄")
    assert [h["class"] for h in hits] == ["cyanide"]
    cyanide = session.scalar(select(ChemicalClass).where(ChemicalClass.code == "cyanide"))
    chemicals.save_class(session, cyanide.id, code="cyanide", name="氰化物", level="prohibited",
                         patterns=cyanide.patterns, excludes=[*cyanide.excludes, "氰化苄"],
                         actor=zone["admin"], now=NOW)
    assert product_hits(session, zone, "氰化苄") == ([], "pass")
    with pytest.raises(ValidationError, match="stays prohibited"):
        chemicals.save_class(session, cyanide.id, code="cyanide", name="氰化物", level="restricted",
                             actor=zone["admin"], now=NOW)
    with pytest.raises(ValidationError, match="code"):
        chemicals.save_class(session, cyanide.id, code="cyanides", name="氰化物",
                             level="prohibited", actor=zone["admin"], now=NOW)
    with pytest.raises(ValidationError, match="not deleted"):
        chemicals.delete_class(session, cyanide.id, actor=zone["admin"], now=NOW)
    chemicals.save_class(session, None, code="nitrobenzenes", name="硝基苯系物", level="restricted",
                         patterns="硝基苯\n硝基甲苯", actor=zone["admin"], now=NOW)
    [hit], verdict = product_hits(session, zone, "对硝基甲苯", rule="ADM-EX-02")
    assert hit["class"] == "nitrobenzenes" and verdict == "restricted"
    nitro = session.scalar(select(ChemicalClass).where(ChemicalClass.code == "nitrobenzenes"))
    chemicals.save_chemical(session, None, name="二硝基甲苯", level="restricted",
                            classes=["硝基苯系物"], actor=zone["admin"], now=NOW)  # by its name
    with pytest.raises(ValidationError, match="still the class"):
        chemicals.delete_class(session, nitro.id, actor=zone["admin"], now=NOW)
    with pytest.raises(ValidationError):
        chemicals.save_class(session, None, code="Bad Code", name="x", level="restricted",
                             actor=zone["admin"], now=NOW)


def test_an_upgraded_zone_gets_the_provincial_rows_at_init(session):
    """A zone installed before (SX-2 without the project kinds, no SX-5, the
    article 7 substances as examples, 氢氰酸 for HCN, no classes) gets at
    ``daiban init``: the classes, SX-5, SX-2 brought to the text (新建 only),
    and the nine substances, its example rows becoming the provincial rows
    (氢氰酸 keeps its name and is found as 氰化氢 too; an alias 硝酸胍 of
    the zone's own row goes to the provincial row, its other aliases stay
    the zone's). A rule an admin changed stays as they wrote it."""
    session.add_all([
        ScreeningRule(code="SX-1", kind="provincial", text="园区外不得新建", check="in_chemical_park",
                      params={}, verdict="prohibited", active=True, example=False, source=""),
        ScreeningRule(code="SX-2", kind="provincial",
                      text="新建化工项目固定资产投资额（不含土地费用）不得低于5000万元。",
                      check="min_fixed_investment", params={"min_wan": 5000}, verdict="prohibited",
                      active=True, example=False, source=""),
        ScreeningRule(code="SX-3", kind="provincial", text="本园区改写的第七条",
                      check="no_catalogue_level", params={"levels": ["prohibited"]},
                      verdict="prohibited", active=True, example=False, source=""),
        HazardousChemical(name="氢氰酸", cas="74-90-8", level="prohibited", note="【示例】",
                          example=True),
        HazardousChemical(name="本园区品", cas=None, level="controlled", note="", example=False,
                          aliases=["胍硝酸盐", "硝酸胍", "本品"]),
    ])
    session.flush()
    added = chemicals.install_shipped(session)
    assert added == {"classes": 4, "rules": 2, "chemicals": 8}  # SX-4, SX-5; all but HCN
    rules = {r.code: r for r in chemicals.rules(session)}
    assert sorted(rules) == ["SX-1", "SX-2", "SX-3", "SX-4", "SX-5"]  # examples: never into a zone's table
    assert rules["SX-2"].params == {"min_wan": 5000, "kinds": ["new"]}
    assert rules["SX-3"].text == "本园区改写的第七条"
    hcn = session.scalar(select(HazardousChemical).where(HazardousChemical.cas == "74-90-8"))
    assert (hcn.name, hcn.provincial, hcn.example, hcn.classes) == (
        "氢氰酸", True, False, ["highly_toxic", "cyanide"])
    assert "氰化氢" in hcn.aliases and "胍硝酸盐" not in session.scalar(
        select(HazardousChemical).where(HazardousChemical.name == "硝酸胍")).aliases
    own = session.scalar(select(HazardousChemical).where(HazardousChemical.name == "本园区品"))
    assert own.aliases == ["胍硝酸盐", "本品"]  # 硝酸胍 is the provincial row's own name
    assert chemicals.install_shipped(session) == {"classes": 0, "rules": 0, "chemicals": 0}
    session.execute(delete(ScreeningRule))


# -- item 7: new projects, phasing, and the investment excluding land --------------------------------

def sx(result, *codes):
    return [h for h in result.hits["hits"] if h["rule"] in codes]


def test_an_expansion_of_30_million_passes_the_minimum(session, zone):
    """第四条 bans *new* (新建) chemical projects under 5,000 万元 excluding
    land. An expansion (改扩建) of 3,000 万元, refused before, is not bound by
    it; nor is a technical renovation (技术改造) of 800 万元."""
    expansion = screen(session, zone, project_kind="expansion", total_investment_wan=3000,
                       land_cost_wan=0)
    assert sx(expansion, "SX-2", "SX-5") == []
    assert expansion.inputs["project_kind"] == "expansion"
    renovation = screen(session, zone, project_kind="renovation", total_investment_wan=800,
                        land_cost_wan=0)
    assert sx(renovation, "SX-2", "SX-5") == []


def test_a_new_project_needs_5000_excluding_land_computed_from_total_and_land(session, zone):
    """A new project of 5,299 万元 of which land 300: 4,999 excluding land,
    refused; 5,300 of which land 300: exactly 5,000, passes. The figure
    excluding land is computed, never typed (a typed 99,999 is ignored)."""
    refused = screen(session, zone, total_investment_wan=5299, land_cost_wan=300,
                     fixed_investment_wan=99999)
    [hit] = sx(refused, "SX-2")
    assert hit["reason"] == ("新建项目固定资产投资（不含土地）4,999 万元（总投资 5,299 万元，"
                             "扣除土地费用 300 万元），低于 5,000 万元")
    assert refused.inputs["fixed_investment_wan"] == 4999 and refused.verdict == "prohibited"
    passed = screen(session, zone, total_investment_wan=5300, land_cost_wan=300)
    assert sx(passed, "SX-2") == [] and passed.inputs["fixed_investment_wan"] == 5000


def test_the_boundary_is_exact_to_the_yuan(session, zone):
    """5,200.1 万元 less 200.1 of land is exactly 5,000 (binary floating point
    would make it 4,999.999…); 5,200.0999 less 200.1 is 1 yuan short."""
    assert sx(screen(session, zone, total_investment_wan="5200.1", land_cost_wan="200.1"),
              "SX-2") == []
    short = screen(session, zone, total_investment_wan="5,200.0999", land_cost_wan=200.1)
    assert "4,999.9999 万元" in sx(short, "SX-2")[0]["reason"]


def test_a_phased_new_project_is_refused(session, zone):
    """第四条: a new chemical project may not be invested in phases (不得分期
    投入), however large: 60,000 万元 declared in two phases is refused by
    SX-5; an expansion declared in phases is not."""
    phased = screen(session, zone, phased=True)
    [hit] = sx(phased, "SX-5")
    assert hit["reason"] == "新建项目申报固定资产投资分期投入" and phased.verdict == "prohibited"
    assert sx(screen(session, zone, phased=True, project_kind="expansion"), "SX-5") == []
