"""The budget flow, level by level: treasury > province > county > programme > household.

Budget accounts (``treasury``, ``programme_budget``, ``township_reserve_fund``) sit at a region of
some level (GB/T 2260: national, province, city, county, township). ``report_budget_flow`` adds up,
for each level, what its budget accounts received from the level above, sent to the level below,
paid to households and merchants, still hold reserved and hold, all from the transfers on the
ledger — and reconciles each level: what a level says it sent down must be what the level below
says it received, and every account's balance must be what came in less what went out.
"""

from dataclasses import dataclass, field
from typing import Any

from reliefledger.ledger.regions import get_level

BUDGET_KINDS = ("treasury", "programme_budget", "township_reserve_fund")
LEVELS = ("national", "province", "city", "county", "township")
PAYEE_KINDS = ("beneficiary_wallet", "beneficiary_bank_account", "merchant", "service_provider")


@dataclass
class LevelFlow:
    """One level's budget accounts, added up."""

    accounts: int = 0
    received_from_above: int = 0
    received_other: int = 0
    sent_below: int = 0
    paid_to_payees: int = 0
    sent_other: int = 0
    reserved: int = 0
    balance: int = 0

    def to_json(self) -> dict[str, int]:
        """The figures as JSON."""
        return dict(self.__dict__)


@dataclass
class BudgetFlowReport:
    """Every level's flow and every disagreement found."""

    currency: str
    levels: dict[str, LevelFlow] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """The report as JSON."""
        return {"currency": self.currency, "levels": {level: flow.to_json() for level, flow in self.levels.items()}, "problems": self.problems,
                "reconciled": not self.problems}


def report_budget_flow(entries: Any, currency: str) -> BudgetFlowReport:
    """The budget flow of one currency from the money state given as (key, value) pairs."""
    accounts: dict[str, dict[str, Any]] = {}
    transfers: list[dict[str, Any]] = []
    for key, value in entries:
        if key.startswith("money/account/") and value["currency"] == currency:
            accounts[value["id"]] = value
        elif key.startswith("money/transfer/"):
            transfers.append(value)
    report = BudgetFlowReport(currency, {level: LevelFlow() for level in LEVELS})
    budget = {account_id: get_level(account["region"]) for account_id, account in accounts.items() if account["kind"] in BUDGET_KINDS}
    sent_down: dict[tuple[str, str], int] = {}
    received_from: dict[tuple[str, str], int] = {}
    for transfer in transfers:
        # Posted money only: a plain transfer, or the post of a pending one (which carries the posted amount).
        if transfer["debit_account_id"] not in accounts or transfer["flags"] not in ([], ["post_pending"]) or transfer["amount"] == 0:
            continue
        amount = transfer["amount"]
        debit, credit = transfer["debit_account_id"], transfer["credit_account_id"]
        debit_level, credit_level = budget.get(debit), budget.get(credit)
        if debit_level is not None:
            flow = report.levels[debit_level]
            if credit_level is not None and LEVELS.index(credit_level) > LEVELS.index(debit_level):
                flow.sent_below += amount
                sent_down[(debit_level, credit_level)] = sent_down.get((debit_level, credit_level), 0) + amount
            elif accounts[credit]["kind"] in PAYEE_KINDS:
                flow.paid_to_payees += amount
            else:
                flow.sent_other += amount
        if credit_level is not None:
            flow = report.levels[credit_level]
            if debit_level is not None and LEVELS.index(debit_level) < LEVELS.index(credit_level):
                flow.received_from_above += amount
                received_from[(debit_level, credit_level)] = received_from.get((debit_level, credit_level), 0) + amount
            else:
                flow.received_other += amount
    for account_id, level in budget.items():
        account = accounts[account_id]
        flow = report.levels[level]
        flow.accounts += 1
        flow.reserved += account["debits_pending"]
        flow.balance += account["credits_posted"] - account["debits_posted"]
    for pair in sorted(set(sent_down) | set(received_from)):
        if sent_down.get(pair, 0) != received_from.get(pair, 0):
            report.problems.append(f"{pair[0]} sent {sent_down.get(pair, 0)} fen to {pair[1]}, which received {received_from.get(pair, 0)} fen")
    for level, flow in report.levels.items():
        incoming = flow.received_from_above + flow.received_other
        outgoing = flow.sent_below + flow.paid_to_payees + flow.sent_other
        if incoming - outgoing != flow.balance:
            report.problems.append(f"the {level} level received {incoming} fen and paid out {outgoing} fen but holds {flow.balance} fen")
    report.levels = {level: flow for level, flow in report.levels.items() if flow.accounts}
    return report
