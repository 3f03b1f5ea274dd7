"""Demo data that mirrors 左云经济技术开发区: its five industry groups, 6 lead
handlers (领办人), 21 agents (代办员), 12 enterprises and 32 projects (2 on the
intention ledger, 30 landed worth ¥8.684 bn, 26 of them above ¥100 M) spread
over every lifecycle stage.

Every project's history is made by the engine's own operations, called with
earlier ``now`` values, so the audit chain is the one real use would leave.
Times are planned in *working days before today* (``t``): an item accepted K
working days before today with a limit of L working days is red when K > L
and yellow when L - 2 <= K < L, whatever the calendar around today looks like.
The plans therefore give the same lights on any day the demo is seeded; only
items with calendar-day limits (land transfer, EIA, construction permit,
completion filing) may shift near a long holiday. Nothing happens on today's
date itself, so no event lies after ``now``.
"""

from __future__ import annotations

import heapq
import itertools
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflow import zone  # noqa: F401 - plugs the reform areas into the core
from workflow.accounts.passwords import hash_password
from workflow.core import notify, rollups
from workflow.core import operations as ops
from workflow.kernel import clock
from workflow.kernel.db import make_engine, make_session_factory, transaction
from workflow.kernel.registry import current_version, definition_of, group_by_code
from workflow.models import (
    Enterprise,
    GroupMembership,
    InvestmentAgreement,
    ItemTask,
    Project,
    User,
)
from workflow.reforms import chemicals, documents, intentions, land

DEMO_PASSWORD = "daiban-demo-2026"

# -- people ---------------------------------------------------------------------------

# username, name, groups (one lead handler covers two groups)
LEADS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("lead01", "王建国", ("coal_chemical",)),
    ("lead02", "李文华", ("equipment",)),
    ("lead03", "张秀英", ("food",)),
    ("lead04", "刘志强", ("new_energy_materials",)),
    ("lead05", "陈晓东", ("emerging_logistics",)),
    ("lead06", "赵永明", ("coal_chemical", "new_energy_materials")),
)

# username, name, group, home department (one of the group's departments)
AGENTS: tuple[tuple[str, str, str, str], ...] = (
    ("agent01", "孙丽娟", "coal_chemical", "nature_resources"),
    ("agent02", "周海涛", "coal_chemical", "ecology_env"),
    ("agent03", "吴晓燕", "coal_chemical", "emergency_seismic"),
    ("agent04", "郑宏伟", "coal_chemical", "development_reform"),
    ("agent05", "冯雪梅", "coal_chemical", "admin_approval"),
    ("agent06", "高志远", "equipment", "planning"),
    ("agent07", "杜建平", "equipment", "housing_construction"),
    ("agent08", "马春燕", "equipment", "nature_resources"),
    ("agent09", "韩立新", "equipment", "power_supply"),
    ("agent10", "郭晓红", "food", "water"),
    ("agent11", "任永刚", "food", "water_gas_supply"),
    ("agent12", "贾玉兰", "food", "cultural_relics"),
    ("agent13", "薛振华", "food", "ecology_env"),
    ("agent14", "闫海燕", "new_energy_materials", "meteorology"),
    ("agent15", "武文斌", "new_energy_materials", "planning"),
    ("agent16", "牛建英", "new_energy_materials", "power_supply"),
    ("agent17", "侯晓峰", "new_energy_materials", "development_reform"),
    ("agent18", "段丽萍", "emerging_logistics", "housing_construction"),
    ("agent19", "康志军", "emerging_logistics", "admin_approval"),
    ("agent20", "白雪琴", "emerging_logistics", "water"),
    ("agent21", "田国庆", "emerging_logistics", "meteorology"),
)

# username, company, short name, organisation-code body (4 chars), contact
ENTERPRISES: tuple[tuple[str, str, str, str, str], ...] = (
    ("ent01", "左云县晋北煤焦化有限公司", "晋北煤焦化", "3F2A", "李红军"),
    ("ent02", "山西云岗精细化工科技有限公司", "云岗精细化工", "4B7C", "杨建华"),
    ("ent03", "大同恒信重工装备有限公司", "恒信重工", "5D1E", "王志刚"),
    ("ent04", "左云县鑫达机械制造有限公司", "鑫达机械", "6G8H", "刘海"),
    ("ent05", "山西塞北绿源食品有限公司", "塞北绿源", "7J3K", "张丽"),
    ("ent06", "左云县雁门农牧产品加工有限公司", "雁门农牧", "8L4M", "赵春生"),
    ("ent07", "山西晋云风电装备有限公司", "晋云风电", "9N5P", "孙立新"),
    ("ent08", "大同光耀新能源科技有限公司", "光耀新能源", "2Q6R", "周静"),
    ("ent09", "山西左云新材料科技有限公司", "左云新材料", "1T7U", "吴国栋"),
    ("ent10", "左云县云通现代物流有限公司", "云通物流", "0W8X", "郑云飞"),
    ("ent11", "山西数智云谷信息技术有限公司", "数智云谷", "3Y9A", "冯晓"),
    ("ent12", "大同北方冷链仓储有限公司", "北方冷链", "4C2D", "陈磊"),
)

# The seven regional evaluations (区域评估) the zone has done for its parcels.
REGIONAL_EVALUATIONS = {
    "mineral_overlay": "压覆重要矿产资源区域评估",
    "geo_hazard": "地质灾害危险性区域评估",
    "seismic": "地震安全性区域评价",
    "water_resource": "水资源论证区域评估",
    "flood": "洪水影响区域评价",
    "regional_eia": "区域环境影响评价",
    "regional_energy": "区域节能评价",
}

# Eight standard-land parcels (标准地) transferred, 1,198.06 亩 in all.
PARCELS = (
    "ZY2023-01标准地(186.52亩)", "ZY2023-02标准地(152.36亩)", "ZY2023-05标准地(98.40亩)",
    "ZY2024-01标准地(210.75亩)", "ZY2024-03标准地(121.08亩)", "ZY2024-06标准地(165.33亩)",
    "ZY2025-02标准地(143.92亩)", "ZY2025-04标准地(119.70亩)",
)
# Each parcel's park, servicing level and land price (万元/亩); its control
# indicators are the zone's standard for industrial land (investment intensity
# 万元/亩, floor-area ratio, tax and output per 亩).
PARCEL_LAND = (
    ("煤化工园区", "七通一平", 18), ("装备制造园", "五通一平", 20),
    ("新兴产业园（食品）", "五通一平", 16), ("新能源新材料园", "五通一平", 15),
    ("煤化工园区", "七通一平", 18), ("新兴产业园（食品）", "五通一平", 16),
    ("装备制造园", "五通一平", 20), ("新能源新材料园", "五通一平", 15),
)
PARCEL_INDICATORS = (("investment_intensity", "min", "250"), ("floor_area_ratio", "min", "1.0"),
                     ("tax_per_mu", "min", "12"), ("output_per_mu", "min", "300"))

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

# -- plans: what happens to an item, in working days --------------------------------


@dataclass(frozen=True)
class Step:
    """One operation on an item: ``gap`` working days after the previous step
    (or after the release, for the first), or at ``at`` working days before
    today if that is later."""

    op: str
    gap: int = 0
    at: int | None = None
    arg: Any = None


@dataclass(frozen=True)
class Plan:
    steps: tuple[Step, ...]
    finish_at: int | None = None  # shift the whole plan so its last step falls here


def work(days: int, *, claim: int | None = None, by: str = "claim",
         materials: tuple[int, int | None] | None = None, returned: int | None = None,
         extension: tuple[int, int, bool | None] | None = None,
         handoff: int | None = None, reassign: int | None = None,
         until: str = "complete", finish_at: int | None = None,
         materials_at: int | None = None, extension_at: int | None = None) -> Plan:
    """An item worked through in about ``days`` working days.

    ``materials=(after, supplied_after)``: 一次性告知 ``after`` days into the
    work; supplied ``supplied_after`` days later (None: still awaited).
    ``returned``: the department sends it back that many days after
    submission. ``extension=(after, days, approved)``: an extension request
    ``after`` days into the work, decided a day later (None: still pending).
    ``until`` stops the plan after that operation (``start``, ``submit``, …).
    ``finish_at``, ``materials_at``, ``extension_at`` pin a step to a ``t``
    (working days before today) when it would otherwise come earlier.
    """
    claim = (1 if days >= 4 else 0) if claim is None else claim
    submit = max(claim, days * 6 // 10)
    steps: list[tuple[int, Step]] = [(claim, Step(by)), (claim, Step("start"))]
    if handoff is not None:
        steps.append((claim + handoff, Step("handoff")))
    if reassign is not None:
        steps.append((claim + reassign, Step("reassign")))
    shift = 0
    if materials is not None:
        after, supplied = materials
        # The enterprise gets a few working days beyond the day it will supply them.
        deadline = 10 if supplied is None else supplied + 5
        steps.append((claim + after, Step("request_materials", at=materials_at, arg=deadline)))
        if supplied is None:
            return _plan(steps, finish_at)
        shift = supplied
        steps.append((claim + after + supplied, Step("supply_materials")))
    if extension is not None:
        after, n, approved = extension
        steps.append((claim + after + shift, Step("request_extension", arg=n, at=extension_at)))
        if approved is not None:
            steps.append((claim + after + shift + 1, Step("decide_extension", arg=approved)))
    steps.append((submit + shift, Step("submit")))
    if returned is not None:
        steps.append((submit + shift + returned, Step("department_return")))
        steps.append((submit + shift + returned + 1, Step("rework")))
        shift += returned + 2
        steps.append((submit + shift, Step("submit")))
    steps.append((max(submit, days - 1) + shift, Step("approve")))
    steps.append((max(submit, days) + shift, Step("complete")))
    if until != "complete":
        names = [s.op for _, s in steps]
        steps = steps[: len(names) - names[::-1].index(until)]
    return _plan(steps, finish_at)


def _plan(timed: list[tuple[int, Step]], finish_at: int | None) -> Plan:
    timed = sorted(timed, key=lambda pair: pair[0])  # stable: same-day steps keep their order
    steps, previous = [], 0
    for offset, step in timed:
        steps.append(Step(step.op, gap=offset - previous, at=step.at, arg=step.arg))
        previous = offset
    return Plan(tuple(steps), finish_at)


HOLD = Plan(())  # released and left in the group's queue


def cover(kind: str, gap: int = 0) -> Plan:
    return Plan((Step("cover", gap=gap, arg=kind),))


# -- projects -------------------------------------------------------------------------


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
    milestones: dict[str, int] = field(default_factory=dict)  # stage -> t
    plans: dict[str, Plan] = field(default_factory=dict)
    suspend: tuple[int, str] | None = None
    terminate: tuple[int, str] | None = None
    comments: tuple[tuple[int, str, str, bool], ...] = ()  # t, author ("lead"/username), body, public
    pace: tuple[float, float] = (0.35, 0.65)


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

PROJECTS: tuple[Spec, ...] = (
    # -- 煤化工精细化工组 --------------------------------------------------------------
    Spec(1, "年产20万吨煤焦油深加工项目", "coal_chemical", "ent01", 98000, "producing", 560,
         parcel=PARCELS[0], signed=540, eia_commitment=False,
         **_later(520, 430, 250, producing=230),
         comments=((229, "lead", "一期装置投料试车成功，转入试生产。", True),)),
    Spec(2, "焦炉煤气综合利用制LNG项目", "coal_chemical", "ent01", 62000, "approving", 75,
         parcel="ZY2025-06地块", mandated=60, eia_commitment=False,
         plans={"eia_approval": work(16, returned=3, materials=(2, 4))},
         comments=((30, "agent02", "环评报告表已按审批局意见补充大气预测章节后重新报送。", True),)),
    Spec(3, "年产30万吨针状焦项目", "coal_chemical", "ent01", 350000, "intention", 120,
         comments=((118, "lead01", "观望原因：针状焦市场价格波动大，企业等待下游负极材料订单落实。"
                    "企业要求：配套建设铁路专用线，蒸汽由园区集中供热管网接入。", False),
                   (40, "lead01", "回访：企业已完成可研初稿，拟明年一季度签约。", False))),
    Spec(4, "年产5万吨电子级化学品项目", "fine_chemical", "ent02", 36300, "approving", 60,
         parcel="ZY2025-07地块", mandated=45, eia_commitment=False,
         plans={"eia_approval": work(14, materials=(3, 5))}),
    Spec(5, "年产2万吨医药中间体项目", "fine_chemical", "ent02", 28000, "started", 150,
         parcel=PARCELS[4], mandated=130, eia_commitment=False,
         milestones={"started": 7}, plans={"completion_acceptance": HOLD}),
    Spec(6, "年产10万吨煤基可降解材料项目", "fine_chemical", "ent02", 36000, "signed", 60,
         signed=5,
         comments=((59, "lead06", "观望原因：化工项目准入评估尚未完成。"
                    "企业要求：入园前完成安全准入预审。", False),)),
    # -- 装备制造组 --------------------------------------------------------------------
    Spec(7, "风电装备制造基地项目", "equipment_manufacturing", "ent03", 52000, "at_capacity", 730,
         parcel=PARCELS[1], **_later(700, 620, 450, producing=430, capacity=120)),
    Spec(8, "矿山智能装备制造项目", "equipment_manufacturing", "ent03", 35000, "approving", 60,
         parcel="ZY2025-08地块", mandated=48,
         plans={"u14_site_servicing": work(12, handoff=3)}),
    Spec(9, "煤机配件再制造项目", "equipment_manufacturing", "ent03", 16000, "ready_to_start", 110,
         parcel=PARCELS[6], mandated=95),
    Spec(10, "精密铸锻件加工项目", "machinery", "ent04", 12500, "approving", 45,
         parcel="ZY2025-09地块", mandated=40,
         plans={"u01_survey": work(8, finish_at=32), "u07_soil_water": work(40, until="submit")},
         comments=((5, "lead02", "督办：水土保持方案已超期，请水利局三个工作日内出具审查意见。", False),)),
    Spec(11, "农机装备及零部件生产项目", "machinery", "ent04", 9800, "suspended", 60,
         parcel="ZY2025-10地块", mandated=50,
         suspend=(15, "企业融资未到位，申请中止代办（中止单）"),
         comments=((14, "ent04", "融资到位后申请恢复办理。", True),)),
    # -- 食品加工组 --------------------------------------------------------------------
    Spec(12, "年产3万吨苦荞燕麦食品加工项目", "food_processing", "ent05", 18500, "completed", 280,
         parcel=PARCELS[5], **_later(260, 180, 12)),
    Spec(13, "乳制品生产线建设项目", "food_processing", "ent05", 26000, "approving", 22,
         parcel="ZY2026-01地块", mandated=16,
         plans={"u01_survey": work(7, finish_at=9), "u02_planning_conditions": work(14, until="submit")}),
    Spec(14, "中央厨房及预制菜生产项目", "food_processing", "ent05", 11200, "mandated", 10,
         mandated=2, begin=False),
    Spec(15, "年产5万吨小杂粮精深加工项目", "agri_products", "ent06", 15800, "verified", 830,
         parcel=PARCELS[2], signed=815,
         **_later(800, 720, 560, producing=540, capacity=300, verified=60),
         comments=((59, "lead03", "达产复核通过：亩均税收、投资强度均达到出让合同约定指标。", True),)),
    Spec(16, "肉羊屠宰及冷鲜肉加工项目", "agri_products", "ent06", 8600, "approving", 20,
         parcel="ZY2026-02地块", mandated=12,
         comments=((6, "ent06", "请问动物防疫条件合格证是否也可以纳入代办？", True),
                   (5, "lead03", "可以，待建设工程规划许可后由食品组统一协调畜牧部门办理。", True))),
    # -- 新能源新材料组 -----------------------------------------------------------------
    Spec(17, "100MW风电场配套储能项目", "new_energy", "ent07", 36000, "approving", 40,
         parcel="左云县三屯乡风电场址", mandated=30, evaluations=False,
         plans={"u03_mineral": work(14, reassign=2), "u04_geo_hazard": work(13, handoff=4)}),
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
         plans={"land_use_planning_permit": work(16, extension=(6, 5, True))}),
    Spec(24, "高性能碳材料项目", "new_materials", "ent09", 38000, "completed", 320,
         parcel="ZY2024-08地块", **_later(300, 220, 3)),
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
         plans={"eia_approval": work(14, materials=(5, None))}),
    Spec(29, "工业互联网服务平台项目", "information_technology", "ent11", 14500, "approving", 8,
         parcel="ZY2026-04地块", mandated=4,
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
         plans={"u01_survey": work(25, until="submit")},
         comments=((2, "lead05", "督办：测绘成果已超期，请自然资源局明确出具时间。", False),)),
)


# -- seeding --------------------------------------------------------------------------


def seed_demo(*, now: datetime, url: str | None = None) -> bool:
    """Add the demo data to the database at ``url`` (migrated, definition
    installed) in one transaction; False, changing nothing, if it is there."""
    ops.zone_today(now)  # refuse a naive ``now`` before opening anything
    engine = make_engine(url)
    try:
        with transaction(make_session_factory(engine)) as session:
            if session.scalar(select(User.id).where(User.username == "admin")) is not None:
                return False
            seed_into(session, now=now)
            rollups.refresh(session, now=now)  # the figures are there before the first sweep
            return True
    finally:
        engine.dispose()


def seed_into(session: Session, *, now: datetime) -> None:
    """Add the demo's people, enterprises and projects inside ``session``
    (flushed, not committed)."""
    chemicals.install_shipped(session)  # the screening rules the chemical projects pass
    _Seeder(session, now).run()


class _Seeder:
    def __init__(self, session: Session, now: datetime) -> None:
        self.session = session
        self.today = ops.zone_today(now)
        self.definition = definition_of(current_version(session))
        # Working days strictly before today, newest first; ``day`` skips the
        # first one when today is a holiday, so that t stays exact.
        self._days: list[date] = []
        self._offset = 0 if clock.is_working_day(self.today) else 1
        self.users: dict[str, User] = {}
        self.enterprises: dict[str, Enterprise] = {}
        self.groups: dict[str, list[User]] = {}
        self._turn = itertools.count()
        self._document = itertools.count(1)

    # -- time ------------------------------------------------------------------------
    def day(self, t: int) -> date:
        """The working day d before today with working_days_between(d, today) == t."""
        index = t - 1 + self._offset
        while len(self._days) <= index:
            d = self._days[-1] if self._days else self.today
            d -= timedelta(days=1)
            while not clock.is_working_day(d):
                d -= timedelta(days=1)
            self._days.append(d)
        return self._days[index]

    # -- people ----------------------------------------------------------------------
    def run(self) -> None:
        self.add_people()
        self.add_land()
        for spec in PROJECTS:
            _ProjectRun(self, spec).run()
        self.add_intentions()
        # Yesterday evening's standard-land sweep: checks passed, checkpoints overdue.
        land.sweep(self.session, now=datetime.combine(self.day(1), time(20, 0), tzinfo=ops.ZONE_TZ))
        self.read_old_notifications()
        self.session.flush()

    def add_intentions(self) -> None:
        """The rest of the intention ledger (意向项目台账): with the two intention
        projects above, 20 enterprises weighing ¥23 bn+, each followed up."""
        for n, (name, industry, wan, company, lead, hesitation, asks) in enumerate(INTENTIONS):
            created = 150 - 6 * n
            project = intentions.create_intention(
                self.session, name=name, industry=industry, investment_wan=wan,
                enterprise_name=company, lead=self.users[lead], actor=self.users[lead],
                now=self.at(created), hesitation=hesitation, asks=asks)
            contacts = FOLLOW_UPS[n % len(FOLLOW_UPS)]
            # Oldest first; the latest is recent for most, a few have gone quiet.
            for k, (channel, summary) in reversed(list(enumerate(contacts))):
                t = min(created - 1, 4 + n + 25 * k)
                intentions.record_follow_up(
                    self.session, project.id, contacted_on=self.day(t), summary=summary,
                    channel=channel, actor=self.users[lead], now=self.at(t),
                    hesitation=hesitation if k == 0 else None)

    def at(self, t: int) -> datetime:
        return datetime.combine(self.day(t), time(10, 0), tzinfo=ops.ZONE_TZ)

    def read_old_notifications(self) -> None:
        """People read what they were told as it came: only the last week's
        in-app notifications are still unread."""
        read_at = datetime.combine(self.day(5), time(18, 0), tzinfo=ops.ZONE_TZ)
        for user in self.users.values():
            notify.mark_all_read(self.session, user, read_at, before=read_at)

    def add_people(self) -> None:
        session, hashed = self.session, hash_password(DEMO_PASSWORD)
        groups = {code: group_by_code(session, code) for code in self.definition.groups}

        def user(username: str, name: str, role: str, **extra: Any) -> User:
            row = User(username=username, display_name=name, role=role, password_hash=hashed,
                       email=f"{username}@demo.zuoyun.example", active=True, away=False, **extra)
            session.add(row)
            self.users[username] = row
            return row

        user("admin", "系统管理员", "admin")
        user("supervisor", "周明辉（督查）", "supervisor")
        for username, name, codes in LEADS:
            lead = user(username, f"{name}（领办人）", "lead")
            for code in codes:
                session.add(GroupMembership(group=groups[code], user=lead))
        for username, name, code, department in AGENTS:
            if department not in self.definition.groups[code].departments:
                raise ValueError(f"{username}: {department} is not a department of {code}")
            agent = user(username, f"{name}（代办员）", "agent", department=department)
            session.add(GroupMembership(group=groups[code], user=agent))
            self.groups.setdefault(code, []).append(agent)
        for n, (username, company, short, body, contact) in enumerate(ENTERPRISES, 1):
            row = Enterprise(name=company, credit_code=credit_code(body), contact_name=contact,
                             contact_phone=f"0352-38{n:02d}{(n * 7919) % 1000:03d}")
            session.add(row)
            self.enterprises[username] = row
            user(username, f"{contact}（{short}）", "enterprise", enterprise=row)
        session.flush()

    def add_land(self) -> None:
        """The seven regional evaluations and the eight standard-land parcels
        (1,198.06 亩), each parcel carrying every evaluation."""
        admin, first = self.users["admin"], self.day(900)
        at = datetime.combine(first, time(9, 0), tzinfo=ops.ZONE_TZ)
        evaluations = []
        for n, (kind, title) in enumerate(REGIONAL_EVALUATIONS.items(), 1):
            done = first - timedelta(days=30 * (8 - n))
            evaluations.append(land.save_evaluation(
                self.session, actor=admin, now=at, reference=f"左开区评〔{done.year}〕{n}号", kind=kind,
                title=title, done_on=done, valid_until=land.add_years(done, 5)))
        self.parcels: dict[str, Any] = {}
        mandated = {spec.parcel: spec.mandated for spec in PROJECTS if spec.mandated is not None}
        for label, (park, servicing, price) in zip(PARCELS, PARCEL_LAND, strict=True):
            code, area = label.split("标准地")[0], label.split("(")[1].removesuffix("亩)")
            # Transferred (出让) three weeks before its project's mandate.
            transferred = self.day(mandated[label]) - timedelta(days=21) if label in mandated else None
            parcel = land.save_parcel(
                self.session, actor=admin, now=at, code=code, name=f"{code}标准地", area_mu=area,
                park=park, servicing=servicing, land_price_wan=str(int(float(area) * price)),
                transferred_on=transferred, location=f"左云经济技术开发区{park}")
            for indicator, bound, value in PARCEL_INDICATORS:
                land.set_indicator(self.session, parcel.id, code=indicator, name="", unit=None,
                                   bound=bound, value=value, actor=admin, now=at)
            for evaluation in evaluations:
                land.attach_evaluation(self.session, parcel.id, evaluation.id, actor=admin, now=at)
            self.parcels[label] = parcel

    def agent_for(self, task: ItemTask, group_code: str, exclude: int | None = None) -> User:
        """An agent of the group from the item's department if there is one,
        else the group's agents in turn."""
        agents = [a for a in self.groups[group_code] if a.id != exclude]
        same = [a for a in agents if a.department == task.department]
        pool = same or agents
        return pool[next(self._turn) % len(pool)]

    def document(self, department: str, day: date) -> str:
        return f"{DEPARTMENT_PREFIX.get(department, '左')}〔{day.year}〕{next(self._document)}号"


class _ProjectRun:
    """Plays one project's history in time order through the operations."""

    def __init__(self, seeder: _Seeder, spec: Spec) -> None:
        self.s = seeder
        self.session = seeder.session
        self.spec = spec
        self.random = random.Random(spec.serial)
        self.queue: list[tuple[int, int, Callable[[int], None]]] = []
        self.order = itertools.count()
        self.scheduled: set[int] = set()
        self.per_day: dict[int, int] = {}
        self.project: Project | None = None
        self.lead: User | None = None
        self.extension_ids: dict[int, int] = {}
        self.tasks: list[ItemTask] = []

    # -- time --------------------------------------------------------------------------
    def at(self, t: int) -> datetime:
        n = self.per_day[t] = self.per_day.get(t, 0) + 1
        return datetime.combine(self.s.day(t), time(8, 30), tzinfo=ops.ZONE_TZ) + timedelta(minutes=3 * n)

    def push(self, t: int, action: Callable[[int], None]) -> None:
        heapq.heappush(self.queue, (-t, next(self.order), action))

    # -- the run -----------------------------------------------------------------------
    def run(self) -> None:
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
        while self.queue:
            t, _, action = heapq.heappop(self.queue)
            if -t < 1:  # today and later: not yet happened
                break
            action(-t)
            if self.tasks:
                self.schedule_released(-t)
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

    def lead_name(self) -> str:
        group = self.s.definition.group_for_industry(self.spec.industry).code
        leads = [u for u, _, codes in LEADS if group in codes]
        return leads[self.spec.serial % len(leads)]

    def sign(self, t: int) -> None:
        if self.project.is_chemical:
            # 化工准入: screened before signing, inside the zone's chemical park.
            chemicals.screen_project(self.session, self.project.id, {
                "in_chemical_park": True, "park_name": "左云经开区化工园区",
                "fixed_investment_wan": self.spec.investment_wan or 5000,
                "products": [{"name": self.spec.name.removeprefix("年产")}],
                "processes": [], "project_type": self.spec.name,
                "attested": [r.code for r in chemicals.rules(self.session, active_only=True)
                             if r.kind == "admission"]}, actor=self.lead, now=self.at(t))
        ops.sign_project(self.session, self.project.id, actor=self.lead, now=self.at(t))

    def mandate(self, t: int) -> None:
        now = self.at(t)
        ops.mandate_project(self.session, self.project.id, actor=self.lead, now=now,
                            begin=self.spec.begin)
        # The signed 代办服务委托书 goes on file with the mandate.
        documents.issue_document(self.session, self.project.id, "mandate", actor=self.lead,
                                 now=now)
        if not self.spec.begin:
            return
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
            elif task.item_code == "project_filing":
                ops.cover_task(self.session, task.id, reference="企业投资项目承诺制备案承诺书",
                               kind="commitment", actor=self.lead, now=self.at(t))
                self.scheduled.add(task.id)
        if self.spec.parcel in self.s.parcels:
            self.standard_land(t)

    def standard_land(self, t: int) -> None:
        """The project lands on its standard-land parcel and the investment
        agreement fixes its indicators and dates (开工 half a year on)."""
        parcel = self.s.parcels[self.spec.parcel]
        land.assign_parcel(self.session, self.project.id, parcel.id, actor=self.lead, now=self.at(t))
        signed = self.s.day(t)
        start = signed + timedelta(days=180)
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
        """Items that open on request (竣工验收): applied for at once unless the
        spec keeps them waiting (HOLD: still under construction, no clock)."""
        for task in self.tasks:
            item = self.s.definition.items[task.item_code]
            if (item.opens_on_request and task.state == "blocked"
                    and self.spec.plans.get(task.item_code) is not HOLD):
                ops.request_item(self.session, task.id, actor=self.lead, now=self.at(t))

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
            return cover("commitment", gap=1)
        low, high = spec.pace
        days = max(1, round(item.limit.approx_working_days * self.random.uniform(low, high)))
        turn, extra = self.random.random(), self.random.random()
        by = "assign" if turn < 0.2 else "auto_assign" if turn < 0.35 else "claim"
        if days >= 6 and extra < 0.15:  # 一次性告知 during the work, supplied in time
            return work(days, by=by, materials=(self.random.randint(1, 2), self.random.randint(2, 4)))
        if days >= 10 and extra < 0.22:  # the department sends it back once
            return work(days - 4, by=by, returned=2)
        return work(days, by=by)

    def schedule(self, task: ItemTask, released: int) -> None:
        plan = self.plan_for(task)
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
        elif op == "supply_materials":
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
        elif op == "department_return":
            ops.return_task(session, task.id, actor=agent, now=now,
                            reason="审批部门退回：报告内容不完整，需补充论证")
        elif op == "rework":
            ops.rework_task(session, task.id, actor=agent, now=now)
        elif op == "approve":
            ops.approve_task(session, task.id, actor=agent, now=now,
                             reference=self.s.document(task.department, self.s.day(t)))
        elif op == "complete":
            ops.complete_task(session, task.id, actor=agent, now=now)
        elif op == "cover":
            reference = ("告知承诺书（承诺制）" if step.arg == "commitment"
                         else "区域评估成果")
            ops.cover_task(session, task.id, reference=reference, kind=step.arg, actor=lead, now=now)
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


# -- 统一社会信用代码 -------------------------------------------------------------------

_USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)


def credit_code(body: str) -> str:
    """A well-formed 18-character 统一社会信用代码 of an enterprise (91) in 左云县
    (140226) whose organisation code is ``MA0K`` + ``body``: both check
    characters follow GB 11714 and GB 32100."""
    org = "MA0K" + body
    total = sum(int(c, 36) * w for c, w in zip(org, _ORG_WEIGHTS, strict=True))
    check = 11 - total % 11
    org += "X" if check == 10 else "0" if check == 11 else str(check)
    code = "91140226" + org
    total = sum(_USCC_CHARS.index(c) * w for c, w in zip(code, _USCC_WEIGHTS, strict=True))
    return code + _USCC_CHARS[(31 - total % 31) % 31]
