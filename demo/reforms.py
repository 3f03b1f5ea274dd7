"""The demo's reform data: the zone's regional evaluations and its eight
standard-land parcels with their control indicators (``add_land``), and the
intention ledger beyond the two intention projects, each followed up, three
chemical ones screened for entry (``add_intentions``)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import datetime, time, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from workflow.core import operations as ops
from workflow.kernel import clock
from workflow.kernel.signatures import sha256_of
from workflow.models import CommitmentLetter, ItemTask, Project, User
from workflow.reforms import chemicals, commitments, intentions, land, ratings

if TYPE_CHECKING:
    from demo.projects import ProjectRun, Spec
    from demo.seed import Seeder

REGIONAL_EVALUATIONS = {
    "mineral_overlay": "压覆重要矿产资源区域评估",
    "geo_hazard": "地质灾害危险性区域评估",
    "seismic": "地震安全性区域评价",
    "water_resource": "水资源论证区域评估",
    "flood": "洪水影响区域评价",
    "regional_eia": "区域环境影响评价",
    "regional_energy": "区域节能评价",
}

# Nine standard-land parcels (标准地) transferred, 1,284.26 亩 in all. The
# last one's agreement wants 开工 within 100 days, and its project's overdue
# 水土保持 review is predicted to make it late (the agreement-misses list).
PARCELS = (
    "ZY2023-01标准地(186.52亩)", "ZY2023-02标准地(152.36亩)", "ZY2023-05标准地(98.40亩)",
    "ZY2024-01标准地(210.75亩)", "ZY2024-03标准地(121.08亩)", "ZY2024-06标准地(165.33亩)",
    "ZY2025-02标准地(143.92亩)", "ZY2025-04标准地(119.70亩)", "ZY2025-09标准地(86.20亩)",
)
# Each parcel's park, servicing level and land price (万元/亩); its control
# indicators are the zone's standard for industrial land (investment intensity
# 万元/亩, floor-area ratio, tax and output per 亩).
PARCEL_LAND = (
    ("煤化工园区", "七通一平", 18), ("装备制造园", "五通一平", 20),
    ("新兴产业园（食品）", "五通一平", 16), ("新能源新材料园", "五通一平", 15),
    ("煤化工园区", "七通一平", 18), ("新兴产业园（食品）", "五通一平", 16),
    ("装备制造园", "五通一平", 20), ("新能源新材料园", "五通一平", 15),
    ("装备制造园", "五通一平", 20),
)
PARCEL_INDICATORS = (("investment_intensity", "min", "250"), ("floor_area_ratio", "min", "1.0"),
                     ("tax_per_mu", "min", "12"), ("output_per_mu", "min", "300"))


# The intention ledger beyond the two intention projects in PROJECTS:
# (name, industry, planned investment 万元, enterprise, leader, 观望原因, 企业要求).
INTENTIONS: tuple[tuple[str, str, int, str, str, str, str], ...] = (
    ("年产60万吨煤制烯烃项目", "coal_chemical", 320000, "晋北能源化工集团有限公司", "lead01",
     "煤炭转化指标待省里批复", "配套用水指标与铁路专用线"),
    ("煤基高端碳材料产业园", "coal_chemical", 180000, "大同碳谷新材料有限公司", "lead06",
     "下游锂电负极需求波动", "园区集中供汽、蒸汽价格优惠"),
    ("年产10万吨可降解塑料项目", "fine_chemical", 45000, "山西绿塑科技有限公司", "lead01",
     "原料BDO价格高位", "化工园区内标准地"),
    ("风电主轴及轴承制造项目", "equipment_manufacturing", 26000, "左云重工装备有限公司", "lead02",
     "整机厂订单尚未锁定", "首台套保险补贴"),
    ("矿山智能装备再制造基地", "machinery", 18000, "晋能矿山装备服务有限公司", "lead02",
     "煤矿智能化改造节奏不明", "标准厂房代建"),
    ("农机装备生产项目", "equipment_manufacturing", 12000, "塞上农机制造有限公司", "lead02",
     "农机购置补贴目录调整", "职业技能培训支持"),
    ("燕麦全产业链精深加工项目", "food_processing", 22000, "雁门燕麦食品有限公司", "lead03",
     "原料基地流转面积不足", "冷链物流配套"),
    ("黄花菜深加工及冷链项目", "agri_products", 9000, "大同黄花产业有限公司", "lead03",
     "品牌渠道尚在洽谈", "农产品加工用电执行农业电价"),
    ("乳制品加工项目", "food_processing", 35000, "塞北乳业有限公司", "lead03",
     "奶源基地环评进度", "污水处理厂接入"),
    ("源网荷储一体化项目", "new_energy", 420000, "晋北绿电投资有限公司", "lead04",
     "新能源指标竞争性配置结果未出", "电网接入批复与储能容量租赁政策"),
    ("高纯多晶硅项目", "new_materials", 380000, "晶源新材料科技有限公司", "lead04",
     "能耗指标紧张", "用能权指标保障与电价支持"),
    ("氢燃料电池重卡运营项目", "new_energy", 30000, "左云氢能交通有限公司", "lead06",
     "加氢站审批主体不明确", "示范线路与运营补贴"),
    ("光伏玻璃生产线项目", "photovoltaic", 150000, "晋华光伏玻璃有限公司", "lead04",
     "天然气供应保障", "燃气管道接入与价格联动"),
    ("数据中心及算力服务项目", "information_technology", 260000, "云冈数智科技有限公司", "lead05",
     "上架率和电价测算", "双回路供电与绿电直供"),
    ("公铁联运物流园项目", "logistics", 110000, "左云陆港物流有限公司", "lead05",
     "铁路专用线接轨方案待批", "土地分期供应"),
    ("电商仓储分拨中心项目", "warehousing", 16000, "晋北快运仓储有限公司", "lead05",
     "区域单量规模不足", "仓储用地价格优惠"),
    ("冷链物流集散中心项目", "logistics", 24000, "塞北冷链物流有限公司", "lead05",
     "冷库电价成本高", "执行大工业电价"),
    ("工业固废综合利用项目", "new_materials", 68000, "大同固废资源化有限公司", "lead06",
     "固废来源协议未签", "环评与排污指标统筹"),
)
FOLLOW_UPS = (
    (("visit", "赴企业总部走访，介绍标准地与全代办政策。"),
     ("call", "电话回访，企业正在内部决策。")),
    (("meeting", "管委会专题会议对接，梳理企业诉求清单。"),),
    (("online", "视频会议沟通可研进展与用地需求。"),
     ("visit", "陪同企业踏勘备选地块。")),
)


def add_land(seeder: Seeder, specs: Iterable[Spec]) -> None:
    """The seven regional evaluations and the nine standard-land parcels
    (1,284.26 亩), each parcel carrying every evaluation."""
    admin, first = seeder.users["admin"], seeder.day(900)
    at = datetime.combine(first, time(9, 0), tzinfo=ops.ZONE_TZ)
    evaluations = []
    for n, (kind, title) in enumerate(REGIONAL_EVALUATIONS.items(), 1):
        done = first - timedelta(days=30 * (8 - n))
        evaluations.append(land.save_evaluation(
            seeder.session, actor=admin, now=at, reference=f"左开区评〔{done.year}〕{n}号", kind=kind,
            title=title, done_on=done, valid_until=land.add_years(done, 5)))
    mandated = {spec.parcel: spec.mandated for spec in specs if spec.mandated is not None}
    for label, (park, servicing, price) in zip(PARCELS, PARCEL_LAND, strict=True):
        code, area = label.split("标准地")[0], label.split("(")[1].removesuffix("亩)")
        # Transferred (出让) three weeks before its project's mandate.
        transferred = seeder.day(mandated[label]) - timedelta(days=21) if label in mandated else None
        parcel = land.save_parcel(
            seeder.session, actor=admin, now=at, code=code, name=f"{code}标准地", area_mu=area,
            park=park, servicing=servicing, land_price_wan=str(int(float(area) * price)),
            transferred_on=transferred, location=f"左云经济技术开发区{park}")
        for indicator, bound, value in PARCEL_INDICATORS:
            land.set_indicator(seeder.session, parcel.id, code=indicator, name="", unit=None,
                               bound=bound, value=value, actor=admin, now=at)
        for evaluation in evaluations:
            land.attach_evaluation(seeder.session, parcel.id, evaluation.id, actor=admin, now=at)
        seeder.parcels[label] = parcel


# The entry screenings of three chemical intentions (化工项目准入), by name:
# one passes, one is prohibited for the cyanide its acrylonitrile line yields
# as a by-product (氢氰酸, matched by class), one for the phased investment
# of a new project (不得分期投入).
SCREENINGS: dict[str, dict[str, Any]] = {
    "年产60万吨煤制烯烃项目": {
        "project_kind": "new", "phased": False, "total_investment_wan": 320000,
        "land_cost_wan": 14000, "products": [{"name": "聚乙烯", "cas": ""},
                                             {"name": "聚丙烯", "cas": ""}],
        "processes": ["coal_gasification", "polymerization"], "project_type": "煤制烯烃"},
    "煤基高端碳材料产业园": {
        "project_kind": "new", "phased": False, "total_investment_wan": 180000,
        "land_cost_wan": 9000, "products": [{"name": "碳纤维原丝", "cas": ""},
                                            {"name": "丙烯腈", "cas": "107-13-1"},
                                            {"name": "副产氢氰酸", "cas": ""}],
        "processes": ["oxidation", "polymerization"], "project_type": "碳纤维及原丝"},
    "年产10万吨可降解塑料项目": {
        "project_kind": "new", "phased": True, "total_investment_wan": 45000,
        "land_cost_wan": 2600, "products": [{"name": "PBAT", "cas": ""}],
        "processes": ["polymerization"], "project_type": "可降解塑料"},
}


def add_intentions(seeder: Seeder) -> None:
    """The rest of the intention ledger (意向项目台账): with the two intention
    projects of ``PROJECTS``, 20 enterprises weighing ¥23 bn+, each followed up."""
    for n, (name, industry, wan, company, lead, hesitation, asks) in enumerate(INTENTIONS):
        created = 150 - 6 * n
        project = intentions.create_intention(
            seeder.session, name=name, industry=industry, investment_wan=wan,
            enterprise_name=company, lead=seeder.users[lead], actor=seeder.users[lead],
            now=seeder.at(created), hesitation=hesitation, asks=asks)
        contacts = FOLLOW_UPS[n % len(FOLLOW_UPS)]
        # Oldest first; the latest is recent for most, a few have gone quiet.
        for k, (channel, summary) in reversed(list(enumerate(contacts))):
            t = min(created - 1, 4 + n + 25 * k)
            intentions.record_follow_up(
                seeder.session, project.id, contacted_on=seeder.day(t), summary=summary,
                channel=channel, actor=seeder.users[lead], now=seeder.at(t),
                hesitation=hesitation if k == 0 else None)
        if name in SCREENINGS:
            admission = [r.code for r in chemicals.rules(seeder.session, active_only=True)
                         if r.kind == "admission"]
            chemicals.screen_project(seeder.session, project.id, {
                "in_chemical_park": True, "park_name": "左云经开区化工园区", "attested": admission,
                **SCREENINGS[name]}, actor=seeder.users[lead], now=seeder.at(3))


# -- 承诺制, 容缺受理, files, ratings: steps of a project's run ---------------------------

def offer_letter(run: ProjectRun, task: ItemTask, t: int) -> None:
    """The lead offers the enterprise the item's commitment letter (承诺书)."""
    commitments.offer_commitment(run.session, task.id, actor=run.lead, now=run.at(t))


def sign_letter(run: ProjectRun, task: ItemTask, t: int) -> None:
    """The enterprise reads the letter in its portal and signs it: the item
    completes by commitment."""
    letter = _letter(run, task, "issued")
    owner = run.s.users[run.spec.owner]
    commitments.sign_commitment(
        run.session, letter.id, actor=owner, now=run.at(t), consent=True,
        signatory=run.project.enterprise.contact_name or owner.display_name,
        shown_sha256=sha256_of(letter.text))


CHECK_NOTES = {
    "kept": "现场核查：承诺事项均已落实。",
    "rectify": "现场核查：部分环保设施未按承诺同步建设，责令限期整改。",
    "broken": "现场核查：未落实承诺的污染防治措施，经责令整改仍未改正，承诺未履行。",
}


def check_letter(run: ProjectRun, task: ItemTask, t: int, outcome: str) -> None:
    """The department's compliance check (事中事后核查) of a signed letter,
    recorded by the lead; a rectification is due in ten working days."""
    letter = _letter(run, task, "signed")
    rectify_by = clock.add_working_days(run.s.today, 10).date if outcome == "rectify" else None
    commitments.record_check(run.session, letter.id, outcome=outcome, actor=run.lead,
                             now=run.at(t), note=CHECK_NOTES[outcome], rectify_by=rectify_by)


def _letter(run: ProjectRun, task: ItemTask, status: str) -> CommitmentLetter:
    return next(letter for letter in commitments.letters_of_project(run.session, run.project.id)
                if letter.task_id == task.id and letter.status == status)


def accept_gaps(run: ProjectRun, task: ItemTask, t: int, days: int) -> None:
    """容缺受理: the agent accepts the item with its secondary materials
    missing, promised ``days`` working days later."""
    item = run.s.definition.items[task.item_code]
    missing = [m.code for m in item.materials if m.secondary]
    commitments.accept_with_gaps(
        run.session, task.id, missing, deadline=clock.add_working_days(run.s.day(t), days).date,
        actor=run.session.get(User, task.assignee_id), now=run.at(t))


def sign_promise(run: ProjectRun, task: ItemTask, t: int) -> None:
    gap = commitments.open_gap(run.session, task.id)
    owner = run.s.users[run.spec.owner]
    commitments.sign_promise(run.session, gap.id, actor=owner, now=run.at(t), consent=True,
                             signatory=run.project.enterprise.contact_name or owner.display_name)


def fulfil_gap(run: ProjectRun, task: ItemTask, t: int) -> None:
    """The enterprise uploads the promised materials and marks them supplied."""
    gap = commitments.open_gap(run.session, task.id)
    owner = run.s.users[run.spec.owner]
    names = "、".join(m["name"] for m in gap.missing["materials"])
    attach(run, task, t, owner, f"容缺补齐材料-{names}.pdf")
    commitments.fulfil_gap(run.session, gap.id, actor=owner, now=run.at(t),
                           note="已上传容缺受理承诺补齐的材料")


def attach(run: ProjectRun, task: ItemTask | None, t: int, actor: User, name: str) -> None:
    """A small generated PDF filed on the task (or the project), recorded by
    the engine; its bytes wait in ``Seeder.files`` for the upload folder."""
    project = run.project
    item = run.s.definition.items[task.item_code].name_en if task is not None else "project file"
    data = tiny_pdf([f"Daiban demo file: {clean_ascii(name) or 'document'}",
                     f"Project {project.code}", f"Item: {item}",
                     f"Filed on {run.s.day(t).isoformat()}"])
    storage = hashlib.sha256(f"demo:{project.code}:{task.id if task else 0}:{name}".encode()
                             ).hexdigest()[:32]
    ops.record_attachment(run.session, project.id, actor=actor, now=run.at(t), original_name=name,
                          storage_name=storage, content_type="application/pdf", size=len(data),
                          sha256=hashlib.sha256(data).hexdigest(),
                          task_id=task.id if task is not None else None)
    run.s.files[storage] = data


def clean_ascii(text: str) -> str:
    return "".join(c for c in text if c.isascii() and c.isprintable()).strip(" -.")


def tiny_pdf(lines: list[str]) -> bytes:
    """A one-page PDF showing ``lines`` (ASCII) in Helvetica: a valid file
    with its cross-reference table, about 700 bytes."""
    def escape(s: str) -> str:
        return s.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
    text = "BT /F1 12 Tf 72 760 Td 16 TL " + " ".join(f"({escape(line)}) '" for line in lines) + " ET"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "
        b"/Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(text), text.encode("ascii")),
    ]
    out, offsets = bytearray(b"%PDF-1.4\n"), []
    for n, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (n, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def rate(run: ProjectRun, t: int, item_code: str | None, level: str, comment: str,
         answer: int | None) -> None:
    """The enterprise rates an item (or the project); a bad rating opens a
    rectification, which the lead answers ``answer`` working days later."""
    task = next(task for task in run.tasks if task.item_code == item_code) if item_code else None
    rating = ratings.rate(run.session, run.project.id, level=level, comment=comment,
                          actor=run.s.users[run.spec.owner], now=run.at(t),
                          task_id=task.id if task is not None else None)
    if answer is not None and level in ratings.BAD_LEVELS:
        run.push(t - answer, lambda day: _answer(run, rating.id, day))


def _answer(run: ProjectRun, rating_id: int, t: int) -> None:
    row = next(r for r in ratings.rectifications_of(run.session, run.project.id)
               if r.rating_id == rating_id)
    ratings.answer_rectification(
        run.session, row.id, actor=run.lead, now=run.at(t),
        response="已约谈承办代办员，明确专人跟踪并每周向企业通报进度；今后一次性告知须在受理当日完成。")


# The expert review (专家论证) of a restricted entry screening: the needle-coke
# intention has not yet attested its HAZOP analysis (ADM-EX-04), which the
# experts review and approve.
def review_restricted_screening(seeder: Seeder) -> None:
    project = seeder.session.scalar(select(Project).where(Project.name == "年产30万吨针状焦项目"))
    lead = project.lead
    attested = [r.code for r in chemicals.rules(seeder.session, active_only=True)
                if r.kind == "admission" and r.code != "ADM-EX-04"]
    screening = chemicals.screen_project(seeder.session, project.id, {
        "in_chemical_park": True, "park_name": "左云经开区化工园区", "attested": attested,
        "project_kind": "new", "phased": False, "total_investment_wan": project.investment_wan,
        "land_cost_wan": 16000, "products": [{"name": "针状焦", "cas": ""}],
        "processes": ["coking"], "project_type": "针状焦"}, actor=lead, now=seeder.at(30))
    if screening.verdict != "restricted":  # pragma: no cover - the shipped rules changed
        raise RuntimeError(f"the needle-coke screening is {screening.verdict}, not restricted")
    chemicals.record_review(
        seeder.session, screening.id, experts="李振华、王海燕、赵国平（省化工专家库）",
        reviewed_on=seeder.day(20), conclusion="approve",
        note="HAZOP分析方案可行，同意在签约前完成分析并装备DCS/SIS系统。",
        actor=lead, now=seeder.at(20))
