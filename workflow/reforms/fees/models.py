"""What the zone pays (14项政府统一服务事项纳入财政预算): the year's budget lines,
the contracts with service providers (survey institutes, evaluation firms) for
the unified items, their invoices and payments, and the element subsidies
(水电气暖 要素补贴) the zone pays for qualifying projects.

Money is whole fen (分) in ``BigInteger`` columns, checked positive and below
``MAX_FEN`` in the database as well as by the operations.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from workflow.core.models import Project
from workflow.kernel.errors import term
from workflow.kernel.models import Base, _in
from workflow.reforms.land.models import Parcel, RegionalEvaluation

# ¥10 bn in fen: above any single fee, subsidy or budget line of a zone.
MAX_FEN = 10**12
SUBSIDY_KINDS = ("water", "power", "gas", "heat")
SUBSIDY_STATES = (term("proposed"), term("approved"), term("rejected"), term("paid"))
# The budget lines besides the unified items (whose codes come from the definition).
SUBSIDY_LINES = tuple(f"subsidy_{k}" for k in SUBSIDY_KINDS)
YEAR_MIN, YEAR_MAX = 2000, 2100
_YEAR = f"BETWEEN {YEAR_MIN} AND {YEAR_MAX}"


class FeeBudget(Base):
    """The year's budget line (同级财政预算) for a unified item or an element subsidy."""

    __tablename__ = "fee_budget"
    __table_args__ = (
        UniqueConstraint("year", "line"),
        CheckConstraint(f"amount_fen >= 0 AND amount_fen <= {MAX_FEN}", name="amount_range"),
        CheckConstraint(f"year {_YEAR}", name="year_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    year: Mapped[int] = mapped_column(Integer)
    line: Mapped[str] = mapped_column(String(64))  # a unified item's code or subsidy_<kind>
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class FeeContract(Base):
    """A contract for a unified item with its service provider, charged to the
    budget line of ``year``. It is a project's (``project_id``), a parcel's
    (``parcel_id``: done once for the parcel and shared by every project on it,
    such as its survey or an evaluation made for it) or the zone's (neither:
    a regional evaluation covering several parcels). A regional evaluation
    (``evaluation_id``) is never a single project's and is contracted once
    (the unique partial index), so its cost is never counted twice however
    many projects stand on the parcels it covers."""

    __tablename__ = "fee_contract"
    __table_args__ = (
        CheckConstraint(f"amount_fen > 0 AND amount_fen <= {MAX_FEN}", name="amount_range"),
        CheckConstraint(f"year {_YEAR}", name="year_range"),
        CheckConstraint("project_id IS NULL OR parcel_id IS NULL", name="one_owner"),
        CheckConstraint("evaluation_id IS NULL OR project_id IS NULL", name="evaluation_shared"),
        # The ledger's GROUP BYs: by item, project and parcel within a year.
        Index("ix_fee_contract_year_item", "year", "item_code", "id"),
        Index("ix_fee_contract_year_project", "year", "project_id"),
        Index("ix_fee_contract_year_parcel", "year", "parcel_id"),
        Index("ix_fee_contract_project", "project_id", "id"),
        Index("ix_fee_contract_parcel", "parcel_id", "id"),
        Index("uq_fee_contract_evaluation", "evaluation_id", unique=True,
              postgresql_where=text("evaluation_id IS NOT NULL"),
              sqlite_where=text("evaluation_id IS NOT NULL")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    year: Mapped[int] = mapped_column(Integer)
    item_code: Mapped[str] = mapped_column(String(64))
    provider: Mapped[str] = mapped_column(String(200))  # e.g. 大同市勘测设计院
    reference: Mapped[str] = mapped_column(String(64), default="")  # contract number
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    signed_on: Mapped[date] = mapped_column(Date)
    project_id: Mapped[int | None] = mapped_column(ForeignKey("project.id"))
    parcel_id: Mapped[int | None] = mapped_column(ForeignKey("parcel.id"))
    evaluation_id: Mapped[int | None] = mapped_column(ForeignKey("regional_evaluation.id"))
    note: Mapped[str] = mapped_column(Text, default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    project: Mapped[Project | None] = relationship()
    parcel: Mapped[Parcel | None] = relationship()
    evaluation: Mapped[RegionalEvaluation | None] = relationship()
    invoices: Mapped[list[FeeInvoice]] = relationship(order_by="FeeInvoice.issued_on, FeeInvoice.id",
                                                      back_populates="contract")
    payments: Mapped[list[FeePayment]] = relationship(order_by="FeePayment.paid_on, FeePayment.id",
                                                      back_populates="contract")


class FeeInvoice(Base):
    """An invoice (发票) the provider issued against a contract."""

    __tablename__ = "fee_invoice"
    __table_args__ = (
        UniqueConstraint("contract_id", "number"),
        CheckConstraint(f"amount_fen > 0 AND amount_fen <= {MAX_FEN}", name="amount_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    contract_id: Mapped[int] = mapped_column(ForeignKey("fee_contract.id"))
    number: Mapped[str] = mapped_column(String(64))
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    issued_on: Mapped[date] = mapped_column(Date)

    contract: Mapped[FeeContract] = relationship(back_populates="invoices")


class FeePayment(Base):
    """A payment (拨付) on a contract. It counts as paid in the year of its
    date (``year``, kept beside the date for the ledger's GROUP BY)."""

    __tablename__ = "fee_payment"
    __table_args__ = (
        CheckConstraint(f"amount_fen > 0 AND amount_fen <= {MAX_FEN}", name="amount_range"),
        CheckConstraint(f"year {_YEAR}", name="year_range"),
        Index("ix_fee_payment_year_contract", "year", "contract_id"),
        Index("ix_fee_payment_contract", "contract_id", "paid_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    contract_id: Mapped[int] = mapped_column(ForeignKey("fee_contract.id"))
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    paid_on: Mapped[date] = mapped_column(Date)
    year: Mapped[int] = mapped_column(Integer)
    reference: Mapped[str] = mapped_column(String(64), default="")  # 支付凭证号

    contract: Mapped[FeeContract] = relationship(back_populates="payments")


class ElementSubsidy(Base):
    """An element subsidy (要素保障补贴) for a qualifying project: the zone pays
    the difference between the market and the preferential price of water,
    power, gas or heat over ``quantity`` units, charged to the year's line
    ``subsidy_<kind>``. Proposed, then approved or rejected; an approved one
    is paid (``paid_on``)."""

    __tablename__ = "element_subsidy"
    __table_args__ = (
        CheckConstraint(_in("kind", SUBSIDY_KINDS), name="kind_known"),
        CheckConstraint(_in("status", SUBSIDY_STATES), name="status_known"),
        CheckConstraint(f"year {_YEAR}", name="year_range"),
        CheckConstraint("market_price_fen > preferential_price_fen AND preferential_price_fen >= 0",
                        name="price_gap"),
        CheckConstraint(f"quantity > 0 AND amount_fen > 0 AND amount_fen <= {MAX_FEN}",
                        name="amount_range"),
        CheckConstraint("(status = 'paid') = (paid_on IS NOT NULL)", name="paid_when_paid"),
        Index("ix_element_subsidy_year_project", "year", "project_id"),
        Index("ix_element_subsidy_project", "project_id", "id"),
        # Paid in a year: a range of payment dates (the ledger's paid column).
        Index("ix_element_subsidy_paid_on", "paid_on", "project_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id"))
    kind: Mapped[str] = mapped_column(String(8))
    year: Mapped[int] = mapped_column(Integer)
    quantity: Mapped[int] = mapped_column(BigInteger)  # units: m³, kWh, m³, GJ
    market_price_fen: Mapped[int] = mapped_column(BigInteger)  # per unit
    preferential_price_fen: Mapped[int] = mapped_column(BigInteger)
    amount_fen: Mapped[int] = mapped_column(BigInteger)  # (market − preferential) × quantity
    status: Mapped[str] = mapped_column(String(10), default="proposed")
    note: Mapped[str] = mapped_column(Text, default="")
    proposed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    proposed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    paid_on: Mapped[date | None] = mapped_column(Date)

    project: Mapped[Project] = relationship()
