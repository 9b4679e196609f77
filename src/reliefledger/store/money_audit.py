"""An independent audit of the money ledger: the books recomputed from the transfers alone.

The money contract keeps four running totals on every account and per currency, and refuses any
transaction after which debits and credits differ. This audit trusts none of that: it adds up
every transfer in the state — a plain or ``post_pending`` transfer counts as posted, a
``pending`` one as pending while it is still pending — and compares the result with every
account's totals and every currency's totals, and checks that debits equal credits in each
currency. ``reliefledger verify`` runs it over the final state; a fault names the first account
or currency that disagrees.
"""

from typing import Any, Iterable

from reliefledger.ledger.contracts.money import BALANCE_FIELDS

ACCOUNT_PREFIX = "money/account/"
TRANSFER_PREFIX = "money/transfer/"
TOTALS_PREFIX = "money/totals/"


def find_money_fault(entries: Iterable[tuple[str, Any]]) -> str | None:
    """The first disagreement in the money ledger of a state given as (key, value) pairs, or None."""
    accounts: dict[str, dict[str, Any]] = {}
    transfers: list[dict[str, Any]] = []
    totals: dict[str, dict[str, int]] = {}
    for key, value in entries:
        if key.startswith(ACCOUNT_PREFIX):
            accounts[value["id"]] = value
        elif key.startswith(TRANSFER_PREFIX):
            transfers.append(value)
        elif key.startswith(TOTALS_PREFIX):
            totals[key.removeprefix(TOTALS_PREFIX)] = value
    recomputed = {account_id: dict.fromkeys(BALANCE_FIELDS, 0) for account_id in accounts}
    for transfer in transfers:
        if transfer["flags"] in ([], ["post_pending"]):
            stage = "posted"
        elif transfer["flags"] == ["pending"] and transfer["status"] == "pending":
            stage = "pending"
        else:
            continue
        for side, account_id in (("debits", transfer["debit_account_id"]), ("credits", transfer["credit_account_id"])):
            if account_id not in recomputed:
                return f"transfer {transfer['id']} names account {account_id}, which does not exist"
            recomputed[account_id][f"{side}_{stage}"] += transfer["amount"]
    by_currency: dict[str, dict[str, int]] = {}
    for account_id in sorted(accounts):
        account = accounts[account_id]
        stored = {field: account[field] for field in BALANCE_FIELDS}
        if stored != recomputed[account_id]:
            return f"account {account_id} holds {stored} but its transfers add up to {recomputed[account_id]}"
        currency = by_currency.setdefault(account["currency"], dict.fromkeys(BALANCE_FIELDS, 0))
        for field in BALANCE_FIELDS:
            currency[field] += stored[field]
    for currency in sorted(set(by_currency) | set(totals)):
        sums = by_currency.get(currency, dict.fromkeys(BALANCE_FIELDS, 0))
        if totals.get(currency, dict.fromkeys(BALANCE_FIELDS, 0)) != sums:
            return f"the {currency} totals {totals.get(currency)} differ from the accounts' sums {sums}"
        if sums["debits_posted"] != sums["credits_posted"] or sums["debits_pending"] != sums["credits_pending"]:
            return f"debits and credits differ in {currency}: {sums}"
    return None
