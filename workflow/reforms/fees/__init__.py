"""What the zone pays (14项政府统一服务事项费用纳入同级财政预算; 要素保障补贴).

The zone pays the fees of the government-unified service items: for each a
contract with its service provider (a survey institute, an evaluation firm),
the provider's invoices and the zone's payments, for a project or — for a
parcel's regional evaluations — once for the parcel, shared by every project
on it. It also pays element subsidies (water, power, gas, heat: the gap
between the market and the preferential price) for qualifying projects, each
proposed and then approved or rejected. All of it is charged to the year's
budget lines, and the ledger (``ledger``) shows budget, committed and paid per
line, project, parcel and year.

The finance office (a flag on a staff account) and admins keep it;
supervisors read it. Operations in ``operations``, the subsidy machine in
``lifecycle``.
"""

from workflow.reforms.fees.ledger import (  # noqa: F401
    ContractSums,
    FeePanel,
    Figures,
    LedgerLine,
    all_pages,
    by_line,
    by_year,
    contract_page,
    fee_panel,
    line_names,
    parcel_page,
    project_fees,
    project_page,
    subsidy_page,
    total,
)
from workflow.reforms.fees.models import (  # noqa: F401
    MAX_FEN,
    SUBSIDY_KINDS,
    SUBSIDY_LINES,
    SUBSIDY_STATES,
)
from workflow.reforms.fees.operations import (  # noqa: F401
    add_invoice,
    add_payment,
    budget_lines,
    check_year,
    decide_subsidy,
    project_id_of,
    propose_subsidy,
    remove_payment,
    save_contract,
    set_budget,
    set_finance_office,
    to_fen,
    unified_items,
    yuan,
)
