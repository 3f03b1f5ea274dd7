"""承诺制 (commitments), 容缺受理 (acceptance with gaps) and credit records.

- 承诺制: for an item the definition marks as committable
  (``coverage.commitment``), staff offer a commitment letter generated from the
  item's standards and the project's data; the enterprise signs it in the
  portal and the item completes by commitment (``cover_task`` with the
  letter's number). The department's compliance check falls due a number of
  working days after signing (fixed in the letter when it is offered) and
  records kept, rectify by a date (a later check re-decides), broken or
  false (虚假承诺).
- 容缺受理: an agent accepts an item with secondary materials missing against
  the enterprise's written promise to supply them by a deadline no later than
  the item's own due date. Supplied in time, the item goes on (and may then be
  completed); a missed deadline terminates the item with a notice.
- 信用记录: a broken or false commitment is a serious record, a missed 容缺
  deadline a minor one. An enterprise with an uncleared serious record can use
  neither commitments nor 容缺 until an admin clears the record.

Operations follow ``workflow.core.operations``: explicit actor and time, permission
and input checks, one audit event per change on the project's chain, people
told through ``workflow.core.notify``, flush only. ``sweep`` does the periodic part.

The code lives in the package's modules: ``letters`` (承诺制), ``gaps``
(容缺受理), ``credit`` (credit records), ``periodic`` (the sweep) and
``common`` (what they share); their public names are re-exported here, and
importing the package plugs its guard into the core.
"""

from __future__ import annotations

from workflow.reforms.commitments.common import sha256_of
from workflow.reforms.commitments.credit import (
    CREDIT_ORDER,
    CreditFilter,
    clear_credit_record,
    credit_records,
    enterprise_of_filter,
    has_serious_record,
)
from workflow.reforms.commitments.gaps import (
    GAP_STATES,
    accept_with_gaps,
    fulfil_gap,
    gaps_of_project,
    open_gap,
    promise_text,
    require_no_open_gap,
    sign_promise,
)
from workflow.reforms.commitments.letters import (
    CHECK_OUTCOMES,
    CHECKABLE,
    DEFAULT_CHECK_DAYS,
    NUMBER_PREFIX,
    OFFERABLE_STATES,
    STANDARDS,
    committable,
    letter_text,
    letters_of_project,
    offer_commitment,
    record_check,
    sign_commitment,
    withdraw_commitment,
)
from workflow.reforms.commitments.periodic import sweep

__all__ = [
    "CHECKABLE",
    "CHECK_OUTCOMES",
    "CREDIT_ORDER",
    "CreditFilter",
    "DEFAULT_CHECK_DAYS",
    "GAP_STATES",
    "NUMBER_PREFIX",
    "OFFERABLE_STATES",
    "STANDARDS",
    "accept_with_gaps",
    "clear_credit_record",
    "committable",
    "credit_records",
    "enterprise_of_filter",
    "fulfil_gap",
    "gaps_of_project",
    "has_serious_record",
    "letter_text",
    "letters_of_project",
    "offer_commitment",
    "open_gap",
    "promise_text",
    "record_check",
    "require_no_open_gap",
    "sha256_of",
    "sign_commitment",
    "sign_promise",
    "sweep",
    "withdraw_commitment",
]
