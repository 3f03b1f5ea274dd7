"""What the zone pays, in the demo: the year's budget for the 14 unified
items and the element subsidies, the contracts for the seven regional
evaluations (each done once for the zone and shared by every parcel and
project it covers), the survey and planning conditions of each standard-land
parcel (shared by the projects on it), a few projects' own items, and element
subsidies in every state. A supervisor of the finance bureau keeps it.

Dates are working days before today (``seeder.day``), so the demo reads the
same on any day; the finance office entered it all yesterday evening.
"""

from __future__ import annotations

from datetime import date, datetime, time
from typing import TYPE_CHECKING

from sqlalchemy import select

from workflow.core import operations as ops
from workflow.models import Parcel, Project, RegionalEvaluation, User
from workflow.reforms import fees

if TYPE_CHECKING:
    from demo.seed import Seeder

# Who did each regional evaluation and for how much (元).
EVALUATION_PROVIDERS = {
    "mineral_overlay": ("山西省地质矿产研究院", "186000"),
    "geo_hazard": ("山西省地质勘查局二一七地质队", "238000"),
    "seismic": ("山西省地震工程勘察研究院", "312000"),
    "water_resource": ("大同市水利勘测设计院", "265000"),
    "flood": ("山西省水利水电科学研究院", "198000"),
    "regional_eia": ("山西省环境科学研究院", "486000"),
    "regional_energy": ("山西省节能中心", "158000"),
}
# Each parcel's survey (1) and planning conditions (2): provider, 元 per 亩.
PARCEL_ITEMS = (("u01_survey", "大同市勘察测绘院", 620), ("u02_planning_conditions",
                                                         "大同市城乡规划设计研究院", 380))
# A project's own unified items (off standard land): item, provider, 元.
PROJECT_ITEMS = (("u07_soil_water", "朔州市水土保持监测站", "68000"),
                 ("u11_lightning", "大同市防雷技术服务中心", "26500"))
# This year's budget per line (元).
BUDGET = {"u01_survey": 900000, "u02_planning_conditions": 500000, "u03_mineral": 200000,
          "u04_geo_hazard": 260000, "u05_seismic": 320000, "u06_archaeology": 150000,
          "u07_soil_water": 300000, "u08_water_resource": 280000, "u09_flood": 200000,
          "u10_climate": 80000, "u11_lightning": 120000, "u12_regional_eia": 500000,
          "u13_regional_energy": 180000, "u14_site_servicing": 2000000, "subsidy_water": 300000,
          "subsidy_power": 1500000, "subsidy_gas": 600000, "subsidy_heat": 400000}
# Element subsidies: (kind, quantity, market price, preferential price, the state it ends in).
SUBSIDIES = (("power", 4_800_000, "0.62", "0.45", "paid"), ("gas", 350_000, "3.20", "2.60", "approved"),
             ("heat", 12_000, "48.00", "36.00", "proposed"), ("water", 90_000, "6.80", "4.20", "rejected"),
             ("power", 2_100_000, "0.62", "0.45", "proposed"))


def add_fees(seeder: Seeder) -> None:
    session = seeder.session
    entered = datetime.combine(seeder.day(1), time(21, 0), tzinfo=ops.ZONE_TZ)
    keeper = _finance_office(seeder, entered)
    year = seeder.today.year
    for line, amount in BUDGET.items():
        fees.set_budget(session, year=year, line=line, amount=amount, actor=keeper, now=entered)
    _regional_evaluations(seeder, keeper, entered)
    _parcels(seeder, keeper, entered)
    _projects(seeder, keeper, entered)
    _subsidies(seeder, keeper, entered)


def _finance_office(seeder: Seeder, entered: datetime) -> User:
    # The demo's one password hash, shared by every demo account.
    row = User(username="finance", display_name="刘静", role="supervisor",
               password_hash=seeder.users["admin"].password_hash,
               email="finance@demo.zuoyun.example", active=True, away=False)
    seeder.session.add(row)
    seeder.session.flush()
    seeder.users["finance"] = row
    fees.set_finance_office(seeder.session, "finance", member=True, actor=seeder.users["admin"],
                            now=entered)
    return row


def _contract(seeder: Seeder, keeper: User, entered: datetime, *, item: str, provider: str,
              amount: str, signed: date, reference: str, paid: tuple[date, ...] = (),
              invoiced: date | None = None, **owner) -> None:
    session = seeder.session
    row = fees.save_contract(session, year=signed.year, item_code=item, provider=provider,
                             amount=amount, signed_on=signed, reference=reference, actor=keeper,
                             now=entered, **owner)
    if invoiced is not None:
        fees.add_invoice(session, row.id, number=f"FP{row.id:06d}", amount=amount,
                         issued_on=invoiced, actor=keeper, now=entered)
    for n, day in enumerate(paid, 1):
        share = row.amount_fen // len(paid) if n < len(paid) else \
            row.amount_fen - row.amount_fen // len(paid) * (len(paid) - 1)
        fees.add_payment(session, row.id, amount=fees.yuan(share), paid_on=day,
                         reference=f"ZF{row.id:04d}-{n}", actor=keeper, now=entered)


def _regional_evaluations(seeder: Seeder, keeper: User, entered: datetime) -> None:
    """The seven regional evaluations: contracted when each was done, paid in two parts."""
    session = seeder.session
    codes = {item.coverage.evaluation: code for code, item in seeder.definition.items.items()
             if item.category == "unified_service" and item.coverage.evaluation}
    for n, evaluation in enumerate(session.scalars(select(RegionalEvaluation)
                                                   .order_by(RegionalEvaluation.id)), 1):
        provider, amount = EVALUATION_PROVIDERS[evaluation.kind]
        done = evaluation.done_on
        _contract(seeder, keeper, entered, item=codes[evaluation.kind], provider=provider,
                  amount=amount, signed=done.replace(day=1), reference=f"左开财评〔{done.year}〕{n}号",
                  evaluation_id=evaluation.id, invoiced=done, paid=(done.replace(day=1), done))


def _parcels(seeder: Seeder, keeper: User, entered: datetime) -> None:
    """Each parcel's survey and planning conditions, paid for the parcel once;
    the newest parcels' last payment is still due."""
    parcels = seeder.session.scalars(select(Parcel).order_by(Parcel.code)).all()
    for n, parcel in enumerate(parcels):
        t = 40 + 25 * n
        for item, provider, per_mu in PARCEL_ITEMS:
            amount = f"{int(parcel.area_mu * per_mu)}.00"
            paid = (seeder.day(t - 10), seeder.day(t - 20)) if n >= 2 else (seeder.day(t - 10),)
            _contract(seeder, keeper, entered, item=item, provider=provider, amount=amount,
                      signed=seeder.day(t), reference=f"{parcel.code}-{item[:3]}",
                      invoiced=seeder.day(t - 5), paid=paid, parcel_id=parcel.id)


def _projects(seeder: Seeder, keeper: User, entered: datetime) -> None:
    """Projects off standard land pay their own site items (the first three by code)."""
    projects = seeder.session.scalars(
        select(Project).where(Project.parcel_id.is_(None), Project.stage != "intention")
        .order_by(Project.code).limit(3)).all()
    for n, project in enumerate(projects):
        for k, (item, provider, amount) in enumerate(PROJECT_ITEMS):
            t = 30 + 7 * n + 3 * k
            _contract(seeder, keeper, entered, item=item, provider=provider, amount=amount,
                      signed=seeder.day(t), reference=f"{project.code[-6:]}-{item[:3]}",
                      invoiced=seeder.day(t - 4) if k == 0 else None,
                      paid=(seeder.day(t - 6),) if k == 0 else (), project_id=project.id)


def _subsidies(seeder: Seeder, keeper: User, entered: datetime) -> None:
    """Element subsidies for producing projects on standard land, in every state."""
    session, year = seeder.session, seeder.today.year
    projects = session.scalars(
        select(Project).where(Project.parcel_id.is_not(None),
                              Project.stage.in_(("producing", "at_capacity", "verified")))
        .order_by(Project.code)).all()
    for n, (kind, quantity, market, preferential, state) in enumerate(SUBSIDIES):
        project = projects[n % len(projects)]
        row = fees.propose_subsidy(session, project.id, kind=kind, year=year, quantity=quantity,
                                   market_price=market, preferential_price=preferential,
                                   actor=keeper, now=entered, note="达产项目要素保障")
        if state in ("approved", "paid"):
            fees.decide_subsidy(session, row.id, event="approve", actor=keeper, now=entered)
        if state == "rejected":
            fees.decide_subsidy(session, row.id, event="reject", note="用水量未达补贴标准",
                                actor=keeper, now=entered)
        if state == "paid":
            fees.decide_subsidy(session, row.id, event="pay", paid_on=seeder.day(1),
                                actor=keeper, now=entered)
