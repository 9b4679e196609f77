"""Tracing a payment: from the treasury down to the household and, for a wallet, on to the merchants.

Money is fungible inside an account, so a trace is the flow around one payment rather than one
coin's path: **upstream**, every posted transfer that funded the paying account, and what funded
those accounts in turn, up to the accounts nothing funds (a treasury, the central bank's
issuance); **downstream**, every posted transfer out of the receiving account (for a wallet: the
merchants it paid, and the redemptions to their banks). All of it is read from the transfers on
the ledger, each with its code and reference (the case it paid).
"""

from typing import Any, Iterable

DEPTH_MAX = 8
"""Levels followed each way: treasury > province > city > county > programme > household is six."""


def trace_transfer(entries: Iterable[tuple[str, Any]], transfer_id: str) -> dict[str, Any] | None:
    """The upstream and downstream flow of a transfer, from the money state as (key, value) pairs."""
    transfers: dict[str, dict[str, Any]] = {}
    accounts: dict[str, dict[str, Any]] = {}
    for key, value in entries:
        if key.startswith("money/transfer/"):
            transfers[value["id"]] = value
        elif key.startswith("money/account/"):
            accounts[value["id"]] = value
    payment = transfers.get(transfer_id)
    if payment is None:
        return None
    posted = [transfer for transfer in transfers.values() if transfer["flags"] in ([], ["post_pending"]) and transfer["amount"] > 0]
    into: dict[str, list[dict[str, Any]]] = {}
    out_of: dict[str, list[dict[str, Any]]] = {}
    for transfer in posted:
        into.setdefault(transfer["credit_account_id"], []).append(transfer)
        out_of.setdefault(transfer["debit_account_id"], []).append(transfer)
    return {"transfer": _describe(payment, accounts),
            "upstream": _walk(payment["debit_account_id"], into, "debit_account_id", accounts, exclude=transfer_id),
            "downstream": _walk(payment["credit_account_id"], out_of, "credit_account_id", accounts, exclude=transfer_id)}


def _walk(start: str, edges: dict[str, list[dict[str, Any]]], next_side: str, accounts: dict[str, dict[str, Any]], *, exclude: str) -> list[dict[str, Any]]:
    """Breadth first from ``start`` along ``edges``, each account once, at most ``DEPTH_MAX`` levels."""
    found, seen, frontier = [], {start}, [start]
    for depth in range(1, DEPTH_MAX + 1):
        following = []
        for account_id in frontier:
            for transfer in sorted(edges.get(account_id, []), key=lambda item: item["id"]):
                if transfer["id"] == exclude:
                    continue
                found.append({**_describe(transfer, accounts), "depth": depth})
                if transfer[next_side] not in seen:
                    seen.add(transfer[next_side])
                    following.append(transfer[next_side])
        frontier = following
        if not frontier:
            break
    return found


def _describe(transfer: dict[str, Any], accounts: dict[str, dict[str, Any]]) -> dict[str, Any]:
    debit, credit = accounts.get(transfer["debit_account_id"], {}), accounts.get(transfer["credit_account_id"], {})
    return {"id": transfer["id"], "amount_fen": transfer["amount"], "code": transfer["code"], "reference": transfer["reference"],
            "from": transfer["debit_account_id"], "from_kind": debit.get("kind"), "to": transfer["credit_account_id"], "to_kind": credit.get("kind"),
            "status": transfer["status"], "time_ms": transfer["time_ms"], "transaction": transfer["transaction"]}
