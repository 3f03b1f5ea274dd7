"""The demo's projects and their tasks: each project's ``Spec`` (its stage
today, its milestones, the plans of its items, in working days before
today) and ``ProjectRun``, which puts one project's history in the seeder's
queue, where every project's events play together in date order through the
engine's operations."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from demo import reforms
from demo.people import LEADS
from demo.plans import HOLD, Plan, Step, commit, work
from demo.reforms import PARCELS, REGIONAL_EVALUATIONS
from workflow.core import operations as ops
from workflow.kernel import clock
from workflow.kernel.signatures import sha256_of
from workflow.models import InvestmentAgreement, ItemTask, Project, User
from workflow.reforms import chemicals, documents, land

if TYPE_CHECKING:
    from demo.seed import Seeder

# Abbreviations for document numbers of the handling departments.
DEPARTMENT_PREFIX = {
    "admin_committee": "左开管", "admin_approval": "左审批", "development_reform": "左发改",
    "nature_resources": "左自然资", "planning": "左规", "emergency_seismic": "左应急",
    "cultural_relics": "左文物", "water": "左水", "meteorology": "左气", "ecology_env": "左环审",
    "housing_construction": "左住建", "fire": "左消", "power_supply": "左供电",
    "water_gas_supply": "左供水气",
}

# 国民经济行业分类 two-digit code used in the 项目代码 of each industry.
INDUSTRY_CODE = {
    "coal_chemical": "25", "fine_chemical": "26", "equipment_manufacturing": "35",
    "machinery": "34", "food_processing": "14", "agri_products": "13", "new_energy": "44",
    "new_materials": "30", "photovoltaic": "38", "information_technology": "64",
    "logistics": "58", "warehousing": "59",
}



@dataclass(frozen=True)
class Spec:
    """One demo project; every ``t`` counts working days before today."""

    serial: int
    name: str
    industry: str
    owner: str
    investment_wan: int
    stage: str  # the stage it is in at ``now``
    created: int
    parcel: str | None = None
    signed: int | None = None  # created as an intention, signed then
    mandated: int | None = None
    begin: bool = True
    evaluations: bool = True  # its parcel carries the zone's regional evaluations
    eia_commitment: bool = True  # EIA report form decided on a commitment (承诺制)
    eia: str | None = None  # the EIA it does when not the report form: "eia_report" (报告书)
    stoppage: tuple[int, str, str, str] | None = None  # t, 亩 built, 万元 invested, note
    exemption: tuple[int, str, str] | None = None  # t, cause (闲置土地处置办法 第八条), reason
    milestones: dict[str, int] = field(default_factory=dict)  # stage -> t
    plans: dict[str, Plan] = field(default_factory=dict)
    suspend: tuple[int, str] | None = None
    terminate: tuple[int, str] | None = None
    comments: tuple[tuple[int, str, str, bool], ...] = ()  # t, author ("lead"/username), body, public
    # t, item (None: the project), level, comment, the lead's answer to a bad one (days later)
    ratings: tuple[tuple[int, str | None, str, str, int | None], ...] = ()
    pace: tuple[float, float] = (0.35, 0.65)
    # Days from the investment agreement (signed at the mandate) to its 开工 date.
    start_within: int = 180


# Working days between the application for an item that opens on request
# (竣工验收) and the first step of its plan.
REQUEST_AHEAD = 3


def _later(mandated: int, started: int, accepted: int, producing: int | None = None,
           capacity: int | None = None, verified: int | None = None) -> dict[str, Any]:
    """Milestones of a project past approvals: the completion acceptance is
    finished at ``accepted`` (the stage ``completed`` follows automatically)."""
    milestones = {"started": started}
    for stage, t in (("producing", producing), ("at_capacity", capacity), ("verified", verified)):
        if t is not None:
            milestones[stage] = t
    return {"mandated": mandated, "milestones": milestones,
            "plans": {"completion_acceptance": work(10, finish_at=accepted)}}



PROJECTS: tuple[Spec, ...] = (
    # -- 煤化工精细化工组 --------------------------------------------------------------
    Spec(1, "年产20万吨煤焦油深加工项目", "coal_chemical", "ent01", 98000, "producing", 560,
         parcel=PARCELS[0], signed=540, eia_commitment=False, eia="eia_report",
         **_later(520, 430, 250, producing=230),
         comments=((229, "lead", "一期装置投料试车成功，转入试生产。", True),)),
    Spec(2, "焦炉煤气综合利用制LNG项目", "coal_chemical", "ent01", 62000, "approving", 75,
         parcel="ZY2025-06地块", mandated=60, eia_commitment=False, eia="eia_report",
         plans={"eia_report": work(16, returned=3, materials=(2, 4)),
                "construction_planning_permit": HOLD,
                "water_gas_connection": work(9, gap=(4, 2))},
         ratings=((30, "u01_survey", "dissatisfied", "测绘成果报送拖延一周，代办员未及时告知进度。", 3),),
         comments=((30, "agent02", "环评报告书已按审批局意见补充大气预测章节后重新报送。", True),)),
    Spec(3, "年产30万吨针状焦项目", "coal_chemical", "ent01", 350000, "intention", 120,
         comments=((118, "lead01", "观望原因：针状焦市场价格波动大，企业等待下游负极材料订单落实。"
                    "企业要求：配套建设铁路专用线，蒸汽由园区集中供热管网接入。", False),
                   (40, "lead01", "回访：企业已完成可研初稿，拟明年一季度签约。", False))),
    Spec(4, "年产5万吨电子级化学品项目", "fine_chemical", "ent02", 36300, "approving", 60,
         parcel="ZY2025-07地块", mandated=45, eia_commitment=False, eia="eia_report",
         plans={"eia_report": work(14, materials=(3, 5))}),
    Spec(5, "年产2万吨医药中间体项目", "fine_chemical", "ent02", 28000, "started", 150,
         parcel=PARCELS[4], mandated=130, eia_commitment=False, eia="eia_report",
         milestones={"started": 7}, plans={"completion_acceptance": HOLD},
         stoppage=(3, "30", "5000", "主体结构施工中，因设备采购资金未到位暂停施工")),
    Spec(6, "年产10万吨煤基可降解材料项目", "fine_chemical", "ent02", 36000, "signed", 60,
         signed=5,
         comments=((59, "lead06", "观望原因：化工项目准入评估尚未完成。"
                    "企业要求：入园前完成安全准入预审。", False),)),
    # -- 装备制造组 --------------------------------------------------------------------
    Spec(7, "风电装备制造基地项目", "equipment_manufacturing", "ent03", 52000, "at_capacity", 730,
         parcel=PARCELS[1], **_later(700, 620, 450, producing=430, capacity=120)),
    Spec(8, "矿山智能装备制造项目", "equipment_manufacturing", "ent03", 35000, "approving", 60,
         parcel="ZY2025-08地块", mandated=48,
         plans={"u14_site_servicing": work(12, handoff=3), "land_use_planning_permit": HOLD,
                "power_connection": work(8, gap=(6, None))}),
    Spec(9, "煤机配件再制造项目", "equipment_manufacturing", "ent03", 16000, "ready_to_start", 110,
         parcel=PARCELS[6], mandated=95,
         exemption=(2, "land_not_delivered", "园区供水主管网未按出让合同约定接入地块，暂不具备动工条件")),
    Spec(10, "精密铸锻件加工项目", "machinery", "ent04", 12500, "approving", 45,
         parcel=PARCELS[8], mandated=40, start_within=100,
         plans={"u01_survey": work(8, finish_at=32), "u07_soil_water": work(40, until="submit"),
                "eia_approval": commit(check=20, outcome="rectify")},
         comments=((5, "lead02", "督办：水土保持方案已超期，请水利局三个工作日内出具审查意见。", False),)),
    Spec(11, "农机装备及零部件生产项目", "machinery", "ent04", 9800, "suspended", 60,
         parcel="ZY2025-10地块", mandated=50,
         suspend=(15, "企业融资未到位，申请中止代办（中止单）"),
         comments=((14, "ent04", "融资到位后申请恢复办理。", True),)),
    # -- 食品加工组 --------------------------------------------------------------------
    Spec(12, "年产3万吨苦荞燕麦食品加工项目", "food_processing", "ent05", 18500, "completed", 280,
         parcel=PARCELS[5], **_later(260, 180, 12),
         ratings=((10, None, "very_satisfied", "全程代办，一次都没跑审批窗口。", None),
                  (11, "completion_acceptance", "satisfied", "", None))),
    Spec(13, "乳制品生产线建设项目", "food_processing", "ent05", 26000, "approving", 22,
         parcel="ZY2026-01地块", mandated=16,
         plans={"u01_survey": work(7, finish_at=9), "u02_planning_conditions": work(14, until="submit"),
                "u11_lightning": HOLD},
         ratings=((2, "u01_survey", "dissatisfied", "测绘资料补正通知晚了三天，耽误了后续规划条件办理。",
                   None),)),
    # The 委托书 was issued two days ago and waits for the enterprise's signature.
    Spec(14, "中央厨房及预制菜生产项目", "food_processing", "ent05", 11200, "mandated", 10,
         mandated=2, begin=False),
    Spec(15, "年产5万吨小杂粮精深加工项目", "agri_products", "ent06", 15800, "verified", 830,
         parcel=PARCELS[2], signed=815,
         **_later(800, 720, 560, producing=540, capacity=300, verified=60),
         comments=((59, "lead03", "达产复核通过：亩均税收、投资强度均达到出让合同约定指标。", True),)),
    Spec(16, "肉羊屠宰及冷鲜肉加工项目", "agri_products", "ent06", 8600, "approving", 20,
         parcel="ZY2026-02地块", mandated=12, plans={"u11_lightning": HOLD},
         comments=((6, "ent06", "请问动物防疫条件合格证是否也可以纳入代办？", True),
                   (5, "lead03", "可以，待建设工程规划许可后由食品组统一协调畜牧部门办理。", True))),
    # -- 新能源新材料组 -----------------------------------------------------------------
    Spec(17, "100MW风电场配套储能项目", "new_energy", "ent07", 36000, "approving", 40,
         parcel="左云县三屯乡风电场址", mandated=30, evaluations=False,
         plans={"u03_mineral": work(14, reassign=2, hold=(2, None)),
                "u04_geo_hazard": work(13, handoff=4)}),
    Spec(18, "风电叶片生产基地项目", "new_energy", "ent07", 32000, "started", 170,
         parcel=PARCELS[7], mandated=150, milestones={"started": 10},
         plans={"completion_acceptance": work(14, claim=2, until="start")}),
    Spec(19, "氢能综合利用示范项目", "new_energy", "ent07", 180000, "intention", 35,
         comments=((34, "lead04", "观望原因：绿氢下游消纳场景未落地，电价政策待明确。"
                    "企业要求：配套风光资源指标，优先接入园区供热管网。", False),)),
    Spec(20, "200MW光伏发电项目", "photovoltaic", "ent08", 58000, "producing", 420,
         parcel=PARCELS[3], **_later(400, 330, 180, producing=160)),
    Spec(21, "光伏组件边框及支架生产项目", "photovoltaic", "ent08", 21000, "approving", 80,
         parcel="ZY2025-11地块", mandated=65,
         plans={"land_use_planning_permit": work(12, materials=(2, None), materials_at=3)}),
    Spec(22, "分布式光伏+储能一体化项目", "photovoltaic", "ent08", 14000, "terminated", 85,
         parcel="ZY2025-12地块", mandated=70,
         suspend=(40, "屋顶产权单位未同意租赁，企业申请中止"),
         terminate=(22, "企业调整投资计划，项目终止（终止单）")),
    Spec(23, "年产10万吨煤矸石综合利用新型建材项目", "new_materials", "ent09", 24000, "approving", 75,
         parcel="ZY2025-05地块", mandated=62,
         plans={"land_use_planning_permit": work(16, extension=(6, 5, True)),
                "construction_planning_permit": HOLD,
                "power_connection": work(20, claim=12, gap=(4, None))}),
    Spec(24, "高性能碳材料项目", "new_materials", "ent09", 38000, "completed", 320,
         parcel="ZY2024-08地块", **_later(300, 220, 3),
         ratings=((2, None, "satisfied", "服务规范，竣工验收协调及时。", None),)),
    # -- 新兴产业与现代物流组 ------------------------------------------------------------
    Spec(25, "左云综合物流园项目", "logistics", "ent10", 42000, "at_capacity", 660,
         parcel="ZY2023-07地块", **_later(640, 560, 400, producing=380, capacity=90)),
    Spec(26, "公铁联运物流中心项目", "logistics", "ent10", 36000, "approving", 100,
         parcel="ZY2025-03地块", mandated=90,
         plans={"land_use_planning_permit": work(10, finish_at=19),
                "construction_planning_permit": work(30, until="request_extension",
                                                     extension=(15, 5, None), extension_at=1)},
         comments=((1, "agent18", "设计方案需按规划局意见调整总平面，已申请延期5个工作日。", False),)),
    Spec(27, "城乡配送分拨中心项目", "logistics", "ent10", 9200, "signed", 3),
    Spec(28, "云计算数据中心项目", "information_technology", "ent11", 38000, "approving", 14,
         parcel="ZY2026-03地块", mandated=10, eia_commitment=False,
         plans={"eia_approval": work(14, materials=(5, None)), "u11_lightning": HOLD}),
    Spec(29, "工业互联网服务平台项目", "information_technology", "ent11", 14500, "approving", 8,
         parcel="ZY2026-04地块", mandated=4, plans={"eia_approval": commit(sign=None)},
         comments=((7, "lead05", "项目已签约，按承诺制备案，请企业尽快签署代办服务委托书。", True),
                   (3, "ent11", "委托书已签署，营业执照及备案信息表已上传。", True))),
    Spec(30, "冷链仓储物流中心项目", "warehousing", "ent12", 19600, "started", 125,
         parcel="ZY2024-09地块", mandated=120, milestones={"started": 4},
         plans={"completion_acceptance": HOLD}),
    Spec(31, "粮食仓储及烘干中心项目", "warehousing", "ent12", 12800, "ready_to_start", 100,
         parcel="ZY2025-01地块", mandated=85,
         comments=((2, "lead05", "施工许可已办结，具备开工条件，请企业确定开工日期后告知。", True),)),
    Spec(32, "电商仓储配送中心项目", "warehousing", "ent12", 7600, "approving", 24,
         parcel="ZY2026-05地块", mandated=18,
         plans={"u01_survey": work(25, until="start"),
                "eia_approval": commit(check=14, outcome="broken")},
         comments=((2, "lead05", "督办：测绘资料准备已超过代办服务时限，请代办员三个工作日内报送自然资源局。",
                    False),)),
)



REFORM_STEPS: dict[str, Callable[..., None]] = {
    "offer_letter": reforms.offer_letter, "sign_letter": reforms.sign_letter,
    "check_letter": reforms.check_letter, "accept_gaps": reforms.accept_gaps,
    "sign_promise": reforms.sign_promise, "fulfil_gap": reforms.fulfil_gap,
}


class ProjectRun:
    """Plays one project's history in time order through the operations."""

    def __init__(self, seeder: Seeder, spec: Spec) -> None:
        self.s = seeder
        self.session = seeder.session
        self.spec = spec
        self.random = random.Random(spec.serial)
        self.scheduled: set[int] = set()
        self.project: Project | None = None
        self.lead: User | None = None
        self.extension_ids: dict[int, int] = {}
        self.tasks: list[ItemTask] = []

    # -- time --------------------------------------------------------------------------
    def at(self, t: int) -> datetime:
        """A moment of day t, later than every earlier one of that day in
        any project (the queue plays them in order)."""
        return self.s.moment_of(t)

    def push(self, t: int, action: Callable[[int], None]) -> None:
        self.s.push(t, self, action)

    # -- the run -----------------------------------------------------------------------
    def plan(self) -> None:
        """Put the project's dated events in the seeder's one queue, where every
        project's history plays in date order (a letter or document numbered
        earlier is dated earlier)."""
        spec = self.spec
        self.push(spec.created, self.create)
        if spec.signed is not None:
            self.push(spec.signed, self.sign)
        if spec.mandated is not None:
            self.push(spec.mandated, self.mandate)
        for stage, t in spec.milestones.items():
            self.push(t, self.milestone(stage))
        if spec.suspend is not None:
            self.push(spec.suspend[0], self.suspend)
        if spec.terminate is not None:
            self.push(spec.terminate[0], self.terminate)
        for t, author, body, public in spec.comments:
            self.push(t, self.comment(author, body, public))
        for t, item, level, said, answer in spec.ratings:
            self.push(t, lambda day, r=(item, level, said, answer): reforms.rate(self, day, *r))
        if spec.stoppage is not None:
            self.push(spec.stoppage[0], self.stop)
        if spec.exemption is not None:
            self.push(spec.exemption[0], self.exempt)

    def act(self, t: int, action: Callable[[int], None]) -> None:
        action(t)
        if self.tasks:
            self.schedule_released(t)

    def finish(self) -> None:
        """After every history played: the stage reached, the land checks."""
        spec = self.spec
        if self.project.stage != spec.stage:
            raise RuntimeError(f"demo project {spec.serial} ended in {self.project.stage}, "
                               f"planned {spec.stage}")
        if spec.parcel in self.s.parcels and spec.stage in ("completed", "producing", "at_capacity",
                                                             "verified"):
            self.completion_check()
        if spec.parcel in self.s.parcels and spec.stage in ("at_capacity", "verified"):
            self.capacity_review()

    def create(self, t: int) -> None:
        spec = self.spec
        self.lead = self.s.users[self.lead_name()]
        day = self.s.day(t)
        code = f"{day.year}-140226-{INDUSTRY_CODE[spec.industry]}-03-{spec.serial + 100:06d}"
        self.project = ops.create_project(
            self.session, code=code, name=spec.name, enterprise=self.s.enterprises[spec.owner],
            industry=spec.industry, actor=self.lead, now=self.at(t), lead=self.lead,
            parcel=spec.parcel, investment_wan=spec.investment_wan,
            stage="intention" if spec.signed is not None or spec.stage == "intention" else "signed")
        if spec.eia:  # 建设项目环境影响评价分类管理名录: this one needs the report (报告书)
            ops.choose_item(self.session, self.project.id, spec.eia, actor=self.lead, now=self.at(t))

    def stop(self, t: int) -> None:
        """Construction stopped after the start (闲置土地: the second criterion)."""
        _t, built, invested, note = self.spec.stoppage
        land.record_stoppage(self.session, self.project.id, stopped_on=self.s.day(t),
                             built_area_mu=built, invested_wan=invested, note=note,
                             actor=self.lead, now=self.at(t))

    def exempt(self, t: int) -> None:
        """A delay the government caused (闲置土地处置办法 第八条)."""
        _t, cause, reason = self.spec.exemption
        land.record_exemption(self.session, self.project.id, cause=cause, reason=reason,
                              since=self.s.day(t), actor=self.lead, now=self.at(t))

    def lead_name(self) -> str:
        group = self.s.definition.group_for_industry(self.spec.industry).code
        leads = [u for u, _, codes in LEADS if group in codes]
        return leads[self.spec.serial % len(leads)]

    def sign(self, t: int) -> None:
        if self.project.is_chemical:
            # 化工准入: screened before signing, inside the zone's chemical park.
            # New projects, invested at once; the land is about 6 % of the total.
            total = self.spec.investment_wan or 5400
            chemicals.screen_project(self.session, self.project.id, {
                "in_chemical_park": True, "park_name": "左云经开区化工园区",
                "project_kind": "new", "phased": False, "total_investment_wan": total,
                "land_cost_wan": round(total * 0.06),
                "products": [{"name": self.spec.name.removeprefix("年产")}],
                "processes": [], "project_type": self.spec.name,
                "attested": [r.code for r in chemicals.rules(self.session, active_only=True)
                             if r.kind == "admission"]}, actor=self.lead, now=self.at(t))
        ops.sign_project(self.session, self.project.id, actor=self.lead, now=self.at(t))

    def mandate(self, t: int) -> None:
        now = self.at(t)
        # The 代办服务委托书 is issued by the mandate itself.
        ops.mandate_project(self.session, self.project.id, actor=self.lead, now=now,
                            begin=self.spec.begin)
        if not self.spec.begin:
            return  # the 委托书 waits for the enterprise's signature, which begins the approvals
        self.sign_mandate(t)
        # The parcel's regional evaluations and the filing on a commitment
        # (承诺制备案) close their items on the day of the mandate.
        # Every lock reloads the project and expires its task list; keep the
        # (identity-mapped) task rows at hand instead of reloading the list.
        self.tasks = list(self.project.tasks)
        for task in self.tasks:
            item = self.s.definition.items[task.item_code]
            evaluation = item.coverage.evaluation
            if self.spec.evaluations and evaluation in REGIONAL_EVALUATIONS:
                number = list(REGIONAL_EVALUATIONS).index(evaluation) + 1
                ref = (f"左开区评〔{self.s.day(t).year - 1}〕{number}号 "
                       f"{REGIONAL_EVALUATIONS[evaluation]}")
                ops.cover_task(self.session, task.id, reference=ref, kind="evaluation",
                               actor=self.lead, now=self.at(t))
                self.scheduled.add(task.id)
            elif task.item_code == "project_filing":  # 承诺制备案: its letter the same day
                self.scheduled.add(task.id)
                self.schedule(task, t, commit(gap=0))
        if self.spec.parcel in self.s.parcels:
            self.standard_land(t)

    def sign_mandate(self, t: int) -> None:
        """The enterprise reads the 委托书 in its portal and signs it the day it
        is issued (帮办代办不包办: the agents act on its items from then on)."""
        waiting = documents.awaiting(self.session, self.project.id, "mandate")
        owner = self.s.users[self.spec.owner]
        documents.sign_document(
            self.session, waiting.id, actor=owner, now=self.at(t), consent=True,
            signatory=self.project.enterprise.contact_name or owner.display_name,
            shown_sha256=sha256_of(documents.document_text(waiting)))

    def standard_land(self, t: int) -> None:
        """The project lands on its standard-land parcel and the investment
        agreement fixes its indicators and dates (开工 half a year on, or as the
        spec's ``start_within`` says)."""
        parcel = self.s.parcels[self.spec.parcel]
        land.assign_parcel(self.session, self.project.id, parcel.id, actor=self.lead, now=self.at(t))
        signed = self.s.day(t)
        start = signed + timedelta(days=self.spec.start_within)
        complete = land.add_years(start, 1)
        produce = complete + timedelta(days=90)
        land.record_agreement(self.session, self.project.id, actor=self.lead, now=self.at(t),
                              signed_on=signed, start_by=start, complete_by=complete,
                              produce_by=produce, capacity_by=land.add_years(produce, 1))

    def completion_check(self) -> None:
        """The completion acceptance against the standard (竣工对标验收) met every
        indicator: recorded the working day before production began."""
        t = self.spec.milestones.get("producing", 1) + 1
        agreement = self.session.scalar(select(InvestmentAgreement).where(
            InvestmentAgreement.project_id == self.project.id))
        land.record_check(self.session, self.project.id, "completion", actor=self.lead, now=self.at(t),
                          checked=dict.fromkeys(agreement.indicators, True),
                          note="竣工对标验收：各项控制指标均达到出让条件")

    def capacity_review(self) -> None:
        """达产复核 on the reported figures: the verified project meets every
        commitment; the one at capacity falls short on tax and must rectify."""
        parcel = self.s.parcels[self.spec.parcel]
        area = land.to_decimal(parcel.area_mu, "area")
        verified = self.spec.stage == "verified"
        t = self.spec.milestones["verified"] if verified else 20
        tax = 13 if verified else 11  # 万元/亩 against ≥ 12
        figures = {"investment_wan": area * 280, "floor_area_m2": area * 800, "tax_wan": area * tax,
                   "output_wan": area * 360, "energy_tce": area * 40}
        land.review_capacity(self.session, self.project.id, {k: str(v) for k, v in figures.items()},
                             actor=self.lead, now=self.at(t))

    def milestone(self, stage: str) -> Callable[[int], None]:
        def advance(t: int) -> None:
            project = self.project
            target = self.s.definition.next_stage(project.stage)
            if project.stage in ("suspended", "terminated"):
                return
            if (target is None or target.code != stage
                    or ops.gating_items_open(self.s.definition, project, stage)):
                self.push(t - 1, advance)  # not there yet: try the next working day
                return
            ops.advance_project(self.session, project.id, actor=self.lead, now=self.at(t))
            if stage == "started":
                self.apply_on_request(t)
        return advance

    def apply_on_request(self, t: int) -> None:
        """Items that open on request (竣工验收, 消防验收, 竣工备案) once building
        has started: applied for together when construction is over, a few
        days before the spec's plan of one of them is pinned to finish
        (``finish_at``), or at once when no plan is pinned; never while the
        spec keeps one waiting (HOLD: still under construction, no clock)."""
        waiting = []
        when = t
        for task in self.tasks:
            item = self.s.definition.items[task.item_code]
            plan = self.spec.plans.get(task.item_code)
            if not item.opens_on_request or task.state != "blocked" or plan is HOLD:
                continue
            waiting.append(task.id)
            if plan is not None and plan.finish_at is not None:
                when = min(when, plan.finish_at + sum(step.gap for step in plan.steps)
                           + REQUEST_AHEAD)
        for task_id in waiting:
            if when == t:
                self.request(task_id)(t)
            else:
                self.push(when, self.request(task_id))

    def request(self, task_id: int) -> Callable[[int], None]:
        def apply(t: int) -> None:
            task = self.session.get(ItemTask, task_id)
            if task.state == "blocked" and self.project.stage not in ("suspended", "terminated"):
                ops.request_item(self.session, task_id, actor=self.lead, now=self.at(t))
        return apply

    def suspend(self, t: int) -> None:
        ops.suspend_project(self.session, self.project.id, actor=self.lead, now=self.at(t),
                            reason=self.spec.suspend[1])

    def terminate(self, t: int) -> None:
        ops.terminate_project(self.session, self.project.id, actor=self.lead, now=self.at(t),
                              reason=self.spec.terminate[1])

    def comment(self, author: str, body: str, public: bool) -> Callable[[int], None]:
        def add(t: int) -> None:
            actor = self.lead if author == "lead" else self.s.users[author]
            ops.add_comment(self.session, self.project.id, body, actor=actor, now=self.at(t),
                            public=public)
        return add

    # -- items -------------------------------------------------------------------------
    def schedule_released(self, t: int) -> None:
        for task in self.tasks:
            if task.state == "ready" and task.id not in self.scheduled:
                self.scheduled.add(task.id)
                self.schedule(task, t)

    def plan_for(self, task: ItemTask) -> Plan:
        spec, item = self.spec, self.s.definition.items[task.item_code]
        if task.item_code in spec.plans:
            return spec.plans[task.item_code]
        if item.category == "commitment" or (task.item_code == "eia_approval" and spec.eia_commitment):
            return commit()
        low, high = spec.pace
        days = max(1, round(item.limit.approx_working_days * self.random.uniform(low, high)))
        turn, extra = self.random.random(), self.random.random()
        by = "assign" if turn < 0.2 else "auto_assign" if turn < 0.35 else "claim"
        if days >= 6 and extra < 0.15:  # 一次性告知 during the work, supplied in time
            return work(days, by=by, materials=(self.random.randint(1, 2), self.random.randint(2, 4)))
        if days >= 10 and extra < 0.22:  # the department sends it back once
            return work(days - 4, by=by, returned=2)
        return work(days, by=by)

    def schedule(self, task: ItemTask, released: int, plan: Plan | None = None) -> None:
        plan = plan or self.plan_for(task)
        if not plan.steps:
            return
        t = released
        if plan.finish_at is not None:
            t = min(released, plan.finish_at + sum(step.gap for step in plan.steps))
        for step in plan.steps:
            t -= step.gap
            if step.at is not None:
                t = min(t, step.at)
            self.push(t, self.task_step(task.id, step))

    def task_step(self, task_id: int, step: Step) -> Callable[[int], None]:
        def act(t: int) -> None:
            if self.project.stage in ("suspended", "terminated"):
                return
            self.do(self.session.get(ItemTask, task_id), step, t)
        return act

    def do(self, task: ItemTask, step: Step, t: int) -> None:
        session, now, lead = self.session, self.at(t), self.lead
        group = self.project.group.code
        agent = session.get(User, task.assignee_id) if task.assignee_id else None
        op = step.op
        if op == "claim":
            ops.claim_task(session, task.id, actor=self.s.agent_for(task, group), now=now)
        elif op == "assign":
            ops.assign_task(session, task.id, self.s.agent_for(task, group), actor=lead, now=now)
        elif op == "auto_assign":
            ops.auto_assign(session, task.id, actor=None, now=now)
        elif op == "start":
            ops.start_task(session, task.id, actor=agent, now=now)
        elif op == "handoff":
            ops.handoff_task(session, task.id, self.s.agent_for(task, group, exclude=agent.id),
                             actor=agent, now=now, reason="原代办员借调市级专班，续办委托书已签署")
        elif op == "reassign":
            ops.assign_task(session, task.id, self.s.agent_for(task, group, exclude=agent.id),
                            actor=lead, now=now, reason="工作量调整，由同组代办员续办")
        elif op == "request_materials":
            self.request_materials(task, agent, t, step.arg)
        elif op in REFORM_STEPS:
            REFORM_STEPS[op](self, task, t, *(() if step.arg is None else (step.arg,)))
        elif op == "supply_materials":
            reforms.attach(self, task, t, self.s.users[self.spec.owner], "补正材料（一次性告知）.pdf")
            ops.supply_materials(session, task.id, actor=self.s.users[self.spec.owner], now=now,
                                 note="已按一次性告知单补齐材料")
        elif op == "request_extension":
            request = ops.request_extension(session, task.id, step.arg, actor=agent, now=now,
                                            reason="部门审查意见需企业调整方案，申请延长办理时限")
            self.extension_ids[task.id] = request.id
        elif op == "decide_extension":
            ops.decide_extension(session, self.extension_ids[task.id], approve=step.arg, actor=lead,
                                 now=now, note="同意延期" if step.arg else "不予延期")
        elif op == "submit":
            ops.submit_task(session, task.id, actor=agent, now=now,
                            note=f"已向{self.s.definition.departments[task.department].name_zh}报送")
        elif op == "accept":
            ops.accept_task(session, task.id, actor=agent, now=now,
                            reference=f"受理〔{self.s.day(t).year}〕{task.id}号")
        elif op == "department_pause":
            ops.pause_statutory(session, task.id, kind="expert_review", actor=agent, now=now,
                                reason="组织专家评审压覆矿产资源评估报告（不计入法定办理时限）")
        elif op == "department_resume":
            ops.resume_statutory(session, task.id, actor=agent, now=now, note="专家评审意见已出具")
        elif op == "department_return":
            ops.return_task(session, task.id, actor=agent, now=now,
                            reason="审批部门退回：报告内容不完整，需补充论证")
        elif op == "rework":
            ops.rework_task(session, task.id, actor=agent, now=now)
        elif op == "approve":
            reference = self.s.document(task.department, self.s.day(t))
            if self.spec.stage == "approving":  # the decision's scan on file
                reforms.attach(self, task, t, agent, f"批复文件 {reference}.pdf")
            ops.approve_task(session, task.id, actor=agent, now=now, reference=reference)
        elif op == "complete":
            ops.complete_task(session, task.id, actor=agent, now=now)
        else:  # pragma: no cover - a typo in the plans above
            raise ValueError(f"unknown demo step {op!r}")

    def request_materials(self, task: ItemTask, agent: User, t: int, gap: int) -> None:
        item = self.s.definition.items[task.item_code]
        listed = [m for m in item.materials if m.secondary] or list(item.materials[-1:])
        day = self.s.day(t)
        deadline = clock.add_working_days(day, gap).date
        ops.request_materials(
            self.session, task.id,
            [ops.MissingMaterial(code=m.code, name=m.name_zh, note="请补充原件扫描件") for m in listed],
            deadline=deadline, actor=agent, now=self.at(t),
            note="一次性告知：以下材料缺失，请在期限内补齐")


