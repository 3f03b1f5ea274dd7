"""The demo's enterprise requests (入企服务) and leaders' visits (入企调研):
a dozen requests in every state of the 13710 rhythm — waiting to be arranged
(one past its day), arranged (one past its feedback day), answered, solved
and waiting for the enterprise's rating, reopened after an unsatisfied
rating, closed satisfied, closed by staff, withdrawn — and two visits with
the requests raised in them. Times are working days before today, like the
rest of the demo; yesterday evening's sweep escalates what is overdue."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time
from typing import TYPE_CHECKING

from workflow.core import operations as ops
from workflow.models import User
from workflow.reforms import requests as req

if TYPE_CHECKING:
    from demo.seed import Seeder

# Which department handles each kind in the demo zone.
DEPARTMENT_OF = {"power": "power_supply", "utilities": "water_gas_supply",
                 "road": "housing_construction", "land": "nature_resources",
                 "approval": "admin_approval", "policy": "development_reform",
                 "financing": "admin_committee", "labour": "admin_committee",
                 "other": "admin_committee"}


@dataclass(frozen=True)
class Plan:
    """One request: who raises it and when (``t`` working days ago), and the
    steps it has been through (each ``(step, t)``), the last one deciding its
    state."""

    enterprise: str
    kind: str
    title: str
    text: str
    raised: int
    steps: tuple[tuple[str, int], ...] = ()
    complexity: str = "ordinary"
    visit: int | None = None  # index into VISITS


# (enterprise, leader, t, companions, notes)
VISITS = (
    ("ent03", "lead02", 4, "发改局、供电公司",
     "调研恒信重工新厂房建设进度，企业反映用电接入和道路配套问题。"),
    ("ent07", "lead04", 6, "住建局", "走访晋云风电，了解二期扩产计划和厂区配套需求。"),
)

PLANS = (
    Plan("ent03", "power", "新厂房 10kV 专线接入滞后", "设备已到货，供电公司尚未排期接电。", 1),
    Plan("ent05", "policy", "农产品加工补贴政策咨询", "想了解省级农产品加工补贴的申报条件和时间。", 2),
    Plan("ent07", "road", "厂区南侧道路未贯通", "大件运输车辆无法进出厂区南门。", 3,
         (("arrange", 3),), visit=1),
    Plan("ent08", "utilities", "天然气管道报装进度", "报装已两周，尚未现场勘查。", 6, (("arrange", 6),)),
    Plan("ent09", "land", "二期项目用地指标", "二期项目需新增用地约 50 亩。", 5,
         (("arrange", 5), ("feedback", 4)), complexity="complex"),
    Plan("ent10", "approval", "物流仓库施工许可办理咨询", "施工图已完成，请指导施工许可申报。", 3,
         (("arrange", 3), ("feedback", 2))),
    Plan("ent03", "road", "厂区东侧道路未修通", "东侧道路未修通，影响施工车辆通行。", 4,
         (("arrange", 4), ("feedback", 3)), visit=0),
    Plan("ent01", "power", "焦化项目双回路供电", "生产安全需要双回路供电。", 8,
         (("arrange", 8), ("feedback", 7), ("solve", 2))),
    Plan("ent02", "labour", "化工技术工人招聘", "急需 30 名化工操作工，请协助对接职业院校。", 15,
         (("arrange", 15), ("feedback", 13), ("solve", 10), ("satisfied", 9))),
    Plan("ent04", "financing", "设备更新贷款贴息", "申请设备更新贷款贴息，需园区出具证明。", 20,
         (("arrange", 20), ("feedback", 18), ("solve", 16), ("satisfied", 15))),
    Plan("ent06", "road", "园区道路路灯未安装", "夜间下班员工出行不便。", 14,
         (("arrange", 14), ("feedback", 13), ("solve", 10), ("unsatisfied", 6))),
    Plan("ent11", "other", "厂区 5G 信号覆盖弱", "已自行与运营商协调解决。", 7,
         (("arrange", 7), ("withdraw", 6))),
    Plan("ent12", "utilities", "冷库用电增容", "冷库二期需增容 800 kVA。", 25,
         (("arrange", 25), ("feedback", 23), ("solve", 19), ("close", 12))),
)


def add_requests(seeder: Seeder) -> None:
    """The visits and the requests, made by the engine's operations at their
    times; then yesterday evening's sweep escalates the overdue steps."""
    session, users = seeder.session, seeder.users
    visits = []
    for enterprise, leader, t, companions, notes in VISITS:
        visits.append(req.record_visit(
            session, actor=users[leader], now=seeder.at(t),
            enterprise_id=seeder.enterprises[enterprise].id, visited_on=seeder.day(t),
            leader_id=users[leader].id, companions=companions, notes=notes))
    for plan in PLANS:
        _run(seeder, plan, visits)
    evening = datetime.combine(seeder.day(1), time(20, 0), tzinfo=ops.ZONE_TZ)
    req.sweep(session, now=evening)


def _handler(seeder: Seeder, department: str) -> User:
    """An agent of the department, else the first lead handler."""
    agents = sorted((u for u in seeder.users.values()
                     if u.role == "agent" and u.department == department), key=lambda u: u.username)
    return agents[0] if agents else seeder.users["lead01"]


def _run(seeder: Seeder, plan: Plan, visits: list) -> None:
    session, users = seeder.session, seeder.users
    when = seeder.at(plan.raised)
    if plan.visit is not None:
        visit = visits[plan.visit]
        row = req.raise_request(session, actor=visit.leader, now=when, kind=plan.kind,
                                title=plan.title, text=plan.text, visit_id=visit.id)
    else:
        row = req.raise_request(session, actor=users[plan.enterprise], now=when, kind=plan.kind,
                                title=plan.title, text=plan.text)
    department = DEPARTMENT_OF[plan.kind]
    handler = _handler(seeder, department)
    owner = users[plan.enterprise]
    for step, t in plan.steps:
        at = seeder.at(t).replace(hour=15)
        if step == "arrange":
            req.arrange(session, row.id, actor=users["lead01"], now=at, department=department,
                        complexity=plan.complexity, note="请责任部门按 13710 机制办理。")
        elif step == "feedback":
            req.give_feedback(session, row.id, actor=handler, now=at,
                              text="已与企业对接，正在协调相关单位办理。")
        elif step == "solve":
            req.solve(session, row.id, actor=handler, now=at, text="已协调解决，请企业确认。")
        elif step in ("satisfied", "unsatisfied"):
            req.rate(session, row.id, actor=owner, now=at, rating=step,
                     comment="" if step == "satisfied" else "路灯只装了一半，仍有路段没有照明。")
        elif step == "withdraw":
            req.withdraw(session, row.id, actor=owner, now=at)
        elif step == "close":
            req.close(session, row.id, actor=handler, now=at)
