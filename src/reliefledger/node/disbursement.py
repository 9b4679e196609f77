"""The monthly disbursement run and the bank rail's reconciliation.

A run pays what a programme's cases within a region are due for a month. A basic-tier programme
(dibao, tekun) pays every enrolled case its monthly benefit; any other programme (education,
medical, temporary assistance) pays once, the award of each case approved (``completed``) in that
month or before and not yet paid, less what the fast path already paid first. Such a programme
may be **earmarked** (``EarmarkTerms``): each award then goes into an earmarked account opened for
it — spendable only at merchants of the allowed categories, by the holder's own device, until the
expiry, when the unspent part returns to the budget. Basic-tier cash is never earmarked: the run
refuses, and the ledger refuses such a transfer too (``unconditional_cash``).

Monthly benefits and unconditional awards go
(the case's current enrolment: the decision, and any later increase or decrease) to the
household's accounts: to its digital-currency wallet when it has one — up to the wallet's class
cap, the rest split to its bank account or the whole payment redirected there, as the programme
configures — else to its bank account. A wallet is paid at once; a bank payment is a **pending**
transfer from the bank budget (the budget is reserved) plus a line in the payment instruction file
for the bank, and is posted or voided when the bank's statement comes back (``reconcile_statement``).

Transfer ids are ``<programme>.<month>.<case id>.<leg>`` (for an award, the month of its
decision) and a case's legs always share one
transaction, so running a month again never pays twice: a case already paid is reported as such.
Transfers go to the ledger up to 64 to a transaction; a transaction refused as a whole is retried
one case at a time so one bad payee cannot hold up the others, and every payment not made is
reported with its reason.
"""

import csv
import datetime
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from reliefledger.ledger.contracts.assistance import is_payment_held
from reliefledger.ledger.contracts.earmarks import UNCONDITIONAL_TIER
from reliefledger.ledger.contracts.money import MONTH_PATTERN, get_account_key, get_transfer_key
from reliefledger.ledger.contracts.policy_packs import get_current_pack, get_pack
from reliefledger.ledger.contracts.wallets import get_room_under_cap
from reliefledger.ledger.encoding import encode_canonical
from reliefledger.ledger.errors import LedgerInputError
from reliefledger.ledger.genesis import IDENTIFIER_PATTERN
from reliefledger.ledger.policy import PolicyPack
from reliefledger.ledger.regions import is_within
from reliefledger.ledger.results import ResultCode
from reliefledger.ledger.transactions import Envelope, TransactionBody, sign_transaction
from reliefledger.ledger.working_days import get_local_month
from reliefledger.node.keys import KeyFile
from reliefledger.node.peer import Node

TRANSFERS_PER_TRANSACTION = 64
INSTRUCTION_COLUMNS = ("instruction_id", "account_id", "holder", "amount_fen", "reference", "month")
STATEMENT_COLUMNS = ("instruction_id", "status", "amount_fen", "bank_reference", "reason")
DISBURSEMENT_CODE = 101
WAIT_S = 60.0
RAILS = ("wallet", "bank", "earmarked")


class DisbursementError(LedgerInputError):
    """A run or reconciliation that cannot start, with the reason; nothing has moved."""

    code = "invalid_disbursement"


@dataclass(frozen=True)
class EarmarkTerms:
    """The conditions an earmarked programme's awards carry."""

    categories: tuple[str, ...]
    """The merchant categories the funds may be spent at, e.g. ``("education", "school_uniform")``."""
    expires_ms: int
    """When the unspent part returns to the programme's digital-currency budget."""

    def to_json(self) -> dict[str, Any]:
        """As the run's report shows them."""
        return {"categories": list(self.categories), "expires_ms": self.expires_ms}


def parse_earmark_terms(categories: str, until: str, *, utc_offset_minutes: int = 480) -> EarmarkTerms | None:
    """Earmark terms from the command line: comma-separated categories and the last day the funds
    can be spent (``YYYY-MM-DD`` in local time); they expire at the start of the next day."""
    if not categories and not until:
        return None
    names = tuple(sorted({name.strip() for name in categories.split(",") if name.strip()}))
    if not names or not until:
        raise DisbursementError("an earmark needs both its merchant categories and the last day its funds can be spent")
    try:
        last_day = datetime.date.fromisoformat(until)
    except ValueError:
        raise DisbursementError(f"{until!r} is not a date YYYY-MM-DD") from None
    next_day = datetime.datetime.combine(last_day + datetime.timedelta(days=1), datetime.time(), datetime.timezone(datetime.timedelta(minutes=utc_offset_minutes)))
    return EarmarkTerms(names, int(next_day.timestamp() * 1000))


@dataclass(frozen=True)
class RunSettings:
    """What to pay: a programme's enrolled cases within a region, for a month, from which budgets."""

    programme: str
    region: str
    month: str
    wallet_budget: str
    """The programme's digital-currency (``CNY-DC``) budget account."""
    bank_budget: str
    """The programme's bank-money (``CNY``) budget account."""
    over_cap: str = "split"
    """``split``: fill the wallet to its cap, the rest to the bank; ``redirect``: all to the bank."""
    earmark: EarmarkTerms | None = None
    """Pay into earmarked accounts (never for a basic-tier programme)."""


@dataclass
class RunReport:
    """What a run did."""

    month: str
    programme: str
    region: str
    earmark: EarmarkTerms | None = None
    cases: int = 0
    entitled_fen: int = 0
    to_wallets: dict[str, int] = field(default_factory=lambda: {"payments": 0, "fen": 0})
    to_banks: dict[str, int] = field(default_factory=lambda: {"payments": 0, "fen": 0})
    already_paid: int = 0
    not_paid: list[dict[str, Any]] = field(default_factory=list)
    instructions: int = 0
    recorded_transaction: str | None = None
    """The ``money.record_run`` transaction that keeps this report's figures and digest on the ledger."""

    def to_json(self) -> dict[str, Any]:
        """The report as JSON (without the recording transaction, which records its digest)."""
        earmark = {} if self.earmark is None else {"earmark": self.earmark.to_json()}
        return {**earmark, "cases": self.cases, "entitled_fen": self.entitled_fen, "to_wallets": self.to_wallets, "to_banks": self.to_banks,
                "already_paid": self.already_paid, "not_paid": self.not_paid, "instructions": self.instructions, "month": self.month,
                "programme": self.programme, "region": self.region}


@dataclass(frozen=True)
class Payment:
    """One leg of one case's monthly payment."""

    transfer_id: str
    case_id: str
    household: str
    account_id: str
    amount: int
    rail: str
    """``wallet`` (paid at once), ``bank`` (pending until the statement) or ``earmarked`` (paid at
    once into an earmarked account the run opens, ``account_id``)."""
    holder_key: str | None = None
    """For an earmarked payment: the device key of the household's wallet, which spends it."""


def get_next_month(month: str) -> str:
    """The month after ``YYYY-MM``."""
    year, number = int(month[:4]), int(month[5:])
    return f"{year + number // 12}-{number % 12 + 1:02d}"


def get_latest_payable_month(node: Node) -> str:
    """The month after the current one (China time, by the node's clock): a run may be prepared
    ahead for the coming month, never further (a month in year 9999 would empty the budget)."""
    return get_next_month(get_local_month(get_current_pack(node.store).calendar, max(node.clock_ms(), node.tip.time_ms)))


def plan_payments(node: Node, settings: RunSettings) -> tuple[list[Payment], RunReport]:
    """What each case of the programme is due this month, and the cases that cannot be paid (read-only)."""
    if not MONTH_PATTERN.fullmatch(settings.month) or settings.over_cap not in ("split", "redirect"):
        raise DisbursementError("the month is YYYY-MM and over_cap is split or redirect")
    latest = get_latest_payable_month(node)
    if settings.month > latest:
        raise DisbursementError(f"{settings.month} cannot be paid yet: a run pays at most the coming month ({latest})")
    for account_id, currency in ((settings.wallet_budget, "CNY-DC"), (settings.bank_budget, "CNY")):
        account = node.store.get(get_account_key(account_id))
        if account is None or account["currency"] != currency:
            raise DisbursementError(f"budget account {account_id!r} does not exist or does not hold {currency}")
    _check_earmark(node, settings)
    report = RunReport(settings.month, settings.programme, settings.region, settings.earmark)
    payments: list[Payment] = []
    packs: dict[str, PolicyPack] = {}
    for _, case in node.store.iterate_state_prefix("assistance/case/"):
        if case["programme"] != settings.programme or not is_within(case["region"], settings.region):
            continue
        pack = packs.get(case["pack_version"]) or packs.setdefault(case["pack_version"], get_pack(node.store, case["pack_version"]))
        due = _get_amount_due(pack, case, settings.month)
        if due is None:
            continue
        month, amount = due
        report.cases += 1
        report.entitled_fen += amount
        if is_payment_held(case):
            report.not_paid.append({"case_id": case["id"], "amount_fen": amount, "reason": "held until its review is concluded ("
                                    + ", ".join(item["reason"] for item in case["open_review"]["reasons"]) + ")"})
            continue
        base = f"{settings.programme}.{month}.{case['id']}"
        if any(node.store.get(get_transfer_key(f"{base}.{rail}")) is not None for rail in RAILS):
            report.already_paid += 1  # a case's legs go in one transaction: either all of them were made or none
            continue
        legs = _split(node, case, base, amount, settings) if settings.earmark is None else _earmark(node, case, base, amount)
        if isinstance(legs, str):
            report.not_paid.append({"case_id": case["id"], "amount_fen": amount, "reason": legs})
            continue
        payments.extend(legs)
    return payments, report


def _check_earmark(node: Node, settings: RunSettings) -> None:
    """Refuse, before anything moves, an earmarked run of a basic-tier programme or with bad terms."""
    if settings.earmark is None:
        return
    programme = get_current_pack(node.store).programme_index.get(settings.programme)
    if programme is None:
        raise DisbursementError(f"the policy pack in force has no programme {settings.programme!r}")
    if programme.tier == UNCONDITIONAL_TIER:
        raise DisbursementError(f"{settings.programme} is unconditional cash: it is never earmarked")
    terms = settings.earmark
    if not terms.categories or any(not IDENTIFIER_PATTERN.fullmatch(category) for category in terms.categories):
        raise DisbursementError("an earmark names one or more merchant categories (lower-case identifiers)")
    if terms.expires_ms <= max(node.clock_ms(), node.tip.time_ms):
        raise DisbursementError("the earmark's expiry has already passed")


def _get_amount_due(pack: PolicyPack, case: dict[str, Any], month: str) -> tuple[str, int] | None:
    """(month the payment is for, amount) when ``case`` is due a payment by ``month``, else None."""
    if pack.programme_index[case["programme"]].tier == UNCONDITIONAL_TIER:
        enrolment = case["enrolment"]
        if case["status"] != "enrolled" or enrolment["from_month"] > month or enrolment["monthly_benefit_fen"] <= 0:
            return None
        return month, enrolment["monthly_benefit_fen"]
    decision = case["decision"]
    if case["status"] != "completed" or decision is None or decision["outcome"] != "approve":
        return None
    decided = get_local_month(pack.calendar, decision["time_ms"])
    amount = decision["monthly_benefit_fen"] - sum(payment["amount_fen"] for payment in case.get("payments_first", []))
    return (decided, amount) if decided <= month and amount > 0 else None


async def run_disbursement(node: Node, key: KeyFile, settings: RunSettings, *, instruction_file: Path | None = None,
                           progress: Callable[[int], None] | None = None) -> RunReport:
    """Pay the month; write the bank's payment instruction file; answer the report."""
    payments, report = plan_payments(node, settings)
    for rail, budget in (("wallet", settings.wallet_budget), ("bank", settings.bank_budget)):
        needed = sum(payment.amount for payment in payments if _get_budget(settings, payment) == budget)
        account = node.store.get(get_account_key(budget))
        available = account["credits_posted"] - account["debits_posted"] - account["debits_pending"]
        if needed > available:
            raise DisbursementError(f"budget {budget} holds {available} fen; this month's {rail} payments need {needed} fen. Nothing was paid.")
    refusals = await _open_earmarked_accounts(node, key, settings, payments)
    refusals |= await _submit(node, key, settings, [payment for payment in payments if payment.transfer_id not in refusals], progress)
    for payment in payments:
        if payment.transfer_id in refusals:
            report.not_paid.append({"case_id": payment.case_id, "amount_fen": payment.amount, "reason": refusals[payment.transfer_id]})
            continue
        target = report.to_banks if payment.rail == "bank" else report.to_wallets
        target["payments"] += 1
        target["fen"] += payment.amount
    if instruction_file is not None:
        bank = [payment for payment in payments if payment.rail == "bank" and payment.transfer_id not in refusals]
        _write_instructions(node, instruction_file, bank, settings.month)
        report.instructions = len(bank)
    report.recorded_transaction = await _record_report(node, key, settings, report)
    return report


async def _record_report(node: Node, key: KeyFile, settings: RunSettings, report: RunReport) -> str:
    """Keep the run's figures and the digest of its full report on the ledger (``money.record_run``)."""
    figures = {"already_paid": report.already_paid, "bank_fen": report.to_banks["fen"], "bank_payments": report.to_banks["payments"], "cases": report.cases,
               "entitled_fen": report.entitled_fen, "instructions": report.instructions, "not_paid": len(report.not_paid),
               "wallet_fen": report.to_wallets["fen"], "wallet_payments": report.to_wallets["payments"]}
    args = {"figures": figures, "month": settings.month, "programme": settings.programme, "region": settings.region,
            "report_digest": node.suite.compute_hash(encode_canonical(report.to_json())).hex()}
    envelope = sign_money_action(node, key, "record_run", args, secrets.token_hex(8))
    (code,) = await submit_and_wait(node, [envelope])
    if code is not ResultCode.OK:
        raise DisbursementError(f"the payments were made but the run's report was refused by the ledger: {code.label}")
    return envelope.id.hex()


@dataclass
class ReconcileReport:
    """What a bank statement settled."""

    paid: int = 0
    returned: int = 0
    already_settled: int = 0
    unmatched: list[dict[str, Any]] = field(default_factory=list)
    """Statement lines that match no pending payment, or disagree with it."""

    def to_json(self) -> dict[str, Any]:
        """The report as JSON."""
        return {"paid": self.paid, "returned": self.returned, "already_settled": self.already_settled, "unmatched": self.unmatched}


async def reconcile_statement(node: Node, key: KeyFile, statement: Path) -> ReconcileReport:
    """Post the payments the bank made, void the ones it returned (the money goes back to the budget)."""
    report = ReconcileReport()
    envelopes: list[tuple[str, Envelope]] = []
    for number, row in enumerate(_read_statement(statement), start=2):
        instruction, status = row["instruction_id"], row["status"]
        pending = node.store.get(get_transfer_key(instruction)) if instruction else None
        amount = int(row["amount_fen"]) if row["amount_fen"].isdigit() else None
        problem = None
        if pending is None or pending["flags"] != ["pending"]:
            problem = "no pending payment has this instruction id"
        elif status not in ("paid", "returned"):
            problem = f"status {status!r} is neither paid nor returned"
        elif amount != pending["amount"]:
            problem = f"the bank reports {row['amount_fen']} fen; the instruction was {pending['amount']} fen"
        if problem is not None:
            report.unmatched.append({"line": number, "instruction_id": instruction, "reason": problem})
            continue
        if pending["status"] != "pending":
            report.already_settled += 1
            continue
        flag = "post_pending" if status == "paid" else "void_pending"
        transfer = {"transfer_id": f"{instruction}.{status}", "code": DISBURSEMENT_CODE, "pending_id": instruction, "flags": [flag]}
        envelopes.append((status, sign_transfers(node, key, [transfer], f"{instruction}.{status}")))
    results = await submit_and_wait(node, [envelope for _, envelope in envelopes])
    for (status, envelope), code in zip(envelopes, results):
        if code is ResultCode.OK:
            report.paid += status == "paid"
            report.returned += status == "returned"
        else:
            report.unmatched.append({"instruction_id": envelope.body.args["transfers"][0]["pending_id"], "reason": f"refused by the ledger: {code.label}"})
    return report


def list_outstanding(node: Node, programme: str, month: str) -> list[dict[str, Any]]:
    """Bank payments of a month still pending: instructions the bank has not answered."""
    prefix = f"money/transfer/{programme}.{month}."
    return [{"instruction_id": transfer["id"], "amount_fen": transfer["amount"], "account_id": transfer["credit_account_id"]}
            for _, transfer in node.store.iterate_state_prefix(prefix) if transfer["flags"] == ["pending"] and transfer["status"] == "pending"]


def _get_budget(settings: RunSettings, payment: Payment) -> str:
    return settings.bank_budget if payment.rail == "bank" else settings.wallet_budget


def _get_household_accounts(node: Node, household: str) -> dict[str, dict[str, Any]]:
    """The household's ordinary accounts by kind (earmarked ones are not paid into by an
    unconditional run; the first of each kind is the one paid)."""
    accounts: dict[str, dict[str, Any]] = {}
    for holder_key, _ in node.store.iterate_state_prefix(f"money/holder/{household}/"):
        account = node.store.get(get_account_key(holder_key.rsplit("/", 1)[1]))
        if account is not None and account.get("earmark") is None:
            accounts.setdefault(account["kind"], account)
    return accounts


def _earmark(node: Node, case: dict[str, Any], base: str, amount: int) -> list[Payment] | str:
    """The one earmarked payment of an award, into an account opened for it and spent by the
    device of the household's wallet."""
    wallet = _get_household_accounts(node, case["household"]).get("beneficiary_wallet")
    if wallet is None or wallet["currency"] != "CNY-DC" or wallet.get("holder_key") is None:
        return "earmarked funds need a digital-currency wallet with the holder's device key to spend them"
    account_id = f"{base}.earmarked"
    if not IDENTIFIER_PATTERN.fullmatch(account_id):
        return f"the case id is too long for an earmarked account id ({account_id})"
    return [Payment(account_id, case["id"], case["household"], account_id, amount, "earmarked", wallet["holder_key"])]


async def _open_earmarked_accounts(node: Node, key: KeyFile, settings: RunSettings, payments: list[Payment]) -> dict[str, str]:
    """Open the earmarked account of every earmarked payment that has none yet; answer the
    payments whose account could not be opened, with the reason."""
    to_open = [payment for payment in payments if payment.rail == "earmarked" and node.store.get(get_account_key(payment.account_id)) is None]
    if settings.earmark is None or not to_open:
        return {}
    earmark = {"categories": sorted(settings.earmark.categories), "expires_ms": settings.earmark.expires_ms, "return_account_id": settings.wallet_budget}
    envelopes = [sign_money_action(node, key, "create_account", {"account_id": payment.account_id, "kind": "beneficiary_wallet", "currency": "CNY-DC",
                                                                 "holder": payment.household, "holder_key": payment.holder_key, "earmark": earmark},
                                   f"open.{payment.account_id}") for payment in to_open]
    codes = await submit_and_wait(node, envelopes)
    return {payment.transfer_id: code.label for payment, code in zip(to_open, codes) if code not in (ResultCode.OK, ResultCode.ACCOUNT_EXISTS)}


def _split(node: Node, case: dict[str, Any], base: str, amount: int, settings: RunSettings) -> list[Payment] | str:
    accounts = _get_household_accounts(node, case["household"])
    wallet, bank = accounts.get("beneficiary_wallet"), accounts.get("beneficiary_bank_account")

    def leg(account: dict[str, Any], value: int, rail: str) -> Payment:
        return Payment(f"{base}.{rail}", case["id"], case["household"], account["id"], value, rail)

    if wallet is not None and wallet["currency"] == "CNY-DC":
        room = get_room_under_cap(node.store, wallet)
        if room is None or amount <= room:
            return [leg(wallet, amount, "wallet")]
        if bank is None:
            return f"the wallet can take {room} fen more and the household has no bank account"
        if settings.over_cap == "split" and room > 0:
            return [leg(wallet, room, "wallet"), leg(bank, amount - room, "bank")]
        return [leg(bank, amount, "bank")]
    if bank is not None and bank["currency"] == "CNY":
        return [leg(bank, amount, "bank")]
    return "the household has no wallet or bank account on the ledger"


async def _submit(node: Node, key: KeyFile, settings: RunSettings, payments: list[Payment], progress: Callable[[int], None] | None) -> dict[str, str]:
    """Order the payments 64 to a transaction; answer the reason of every payment not made."""
    def transfer(payment: Payment) -> dict[str, Any]:
        item = {"transfer_id": payment.transfer_id, "code": DISBURSEMENT_CODE, "debit_account_id": _get_budget(settings, payment), "credit_account_id": payment.account_id,
                "amount": payment.amount, "reference": payment.case_id}
        return {**item, "flags": ["pending"]} if payment.rail == "bank" else item

    chunks: list[list[Payment]] = [[]]
    for payment in payments:  # the legs of one case always share a transaction (they are consecutive)
        closes_case = not chunks[-1] or chunks[-1][-1].case_id != payment.case_id
        if closes_case and len(chunks[-1]) >= TRANSFERS_PER_TRANSACTION - 1:
            chunks.append([])
        chunks[-1].append(payment)
    chunks = [chunk for chunk in chunks if chunk]
    envelopes = [sign_transfers(node, key, [transfer(payment) for payment in chunk], f"{chunk[0].transfer_id}+{len(chunk)}") for chunk in chunks]
    refusals: dict[str, str] = {}
    retry: list[list[Payment]] = []
    for chunk, code in zip(chunks, await submit_and_wait(node, envelopes)):
        if code is not ResultCode.OK:
            retry.extend(_group_by_case(chunk))
        if progress is not None:
            progress(len(chunk))
    singles = [sign_transfers(node, key, [transfer(payment) for payment in legs], legs[0].transfer_id) for legs in retry]
    for legs, code in zip(retry, await submit_and_wait(node, singles)):
        if code not in (ResultCode.OK, ResultCode.TRANSFER_EXISTS):
            refusals.update(dict.fromkeys((payment.transfer_id for payment in legs), code.label))
    return refusals


def _group_by_case(payments: list[Payment]) -> list[list[Payment]]:
    groups: dict[str, list[Payment]] = {}
    for payment in payments:
        groups.setdefault(payment.case_id, []).append(payment)
    return list(groups.values())


def sign_transfers(node: Node, key: KeyFile, transfers: list[dict[str, Any]], nonce: str) -> Envelope:
    """A ``money.create_transfers`` transaction of linked ``transfers`` signed by ``key``."""
    return sign_money_action(node, key, "create_transfers", {"transfers": transfers}, nonce)


def sign_money_action(node: Node, key: KeyFile, action: str, args: dict[str, Any], nonce: str) -> Envelope:
    """A ``money`` transaction signed by ``key``, valid for an hour past the node's time."""
    body = TransactionBody(node.genesis.chain_id, "money", action, args, key.public_key, nonce[:64], max(node.clock_ms(), node.tip.time_ms) + 3_600_000)
    return sign_transaction(key.suite, key.seed, body)


async def submit_and_wait(node: Node, envelopes: list[Envelope]) -> list[ResultCode]:
    """Submit and wait for every final status; a submission refused at the edge raises ``DisbursementError``."""
    codes: list[ResultCode] = []
    for start in range(0, len(envelopes), 1024):
        batch = envelopes[start:start + 1024]
        answers = await node.submit_envelopes(batch)
        for envelope, answer in zip(batch, answers):
            if isinstance(answer, LedgerInputError):
                raise DisbursementError(f"the node refused a payment transaction: {answer}")
        for envelope in batch:
            status = await node.wait_for_final_status(envelope.id, WAIT_S, with_proofs=False)
            if status is None or status["status"] == "pending":
                raise DisbursementError("a payment transaction was not committed in time; run again to finish (nothing is paid twice)")
            codes.append(ResultCode(status["code"]))
    return codes


def _write_instructions(node: Node, path: Path, payments: list[Payment], month: str) -> None:
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(INSTRUCTION_COLUMNS)
        for payment in payments:
            writer.writerow([payment.transfer_id, payment.account_id, payment.household, payment.amount, payment.case_id, month])


def _read_statement(path: Path) -> list[dict[str, str]]:
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            missing = [column for column in ("instruction_id", "status", "amount_fen") if column not in (reader.fieldnames or [])]
            if missing:
                raise DisbursementError(f"{path}: the statement has no {', '.join(missing)} column")
            return [{column: (row.get(column) or "").strip() for column in STATEMENT_COLUMNS} for row in reader]
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise DisbursementError(f"{path} cannot be read: {error}") from None
