"""The evidence log commits concurrent exchanges' records together, and a record the ledger
refuses fails only its own exchange (a fake ledger that takes a while and refuses one record)."""

import asyncio
from types import SimpleNamespace
from typing import Any

from reliefledger.interop.evidence import EvidenceLog
from reliefledger.node.casework import CaseworkError


class SlowLedger:
    """Takes 20 ms a transaction; refuses any transaction holding the digest ``bad``."""

    def __init__(self) -> None:
        self.transactions: list[list[str]] = []
        self.node = SimpleNamespace(store=SimpleNamespace(get=lambda key: None))

    async def submit(self, actor: Any, contract: str, action: str, args: dict[str, Any]) -> dict[str, Any]:
        await asyncio.sleep(0.02)
        digests = [message["digest"] for message in args["messages"]]
        if "bad" in digests:
            raise CaseworkError("a record is not valid", code="invalid_arguments")
        self.transactions.append(digests)
        return {"id": f"t{len(self.transactions)}"}


async def record_all(records: list[list[dict[str, Any]]]) -> tuple[SlowLedger, list[Any]]:
    ledger = SlowLedger()
    log = EvidenceLog(ledger, actor=None)  # type: ignore[arg-type]
    outcomes = await asyncio.gather(*(log.record(*messages) for messages in records), return_exceptions=True)
    return ledger, outcomes


def test_concurrent_records_share_transactions() -> None:
    ledger, outcomes = asyncio.run(record_all([[{"digest": f"in-{index}"}, {"digest": f"out-{index}"}] for index in range(10)]))
    assert outcomes == [None] * 10
    assert [len(transaction) for transaction in ledger.transactions] == [2, 18]  # the first alone; the nine that waited for it, together


def test_a_refused_record_fails_only_its_own_exchange() -> None:
    records = [[{"digest": f"in-{index}"}, {"digest": f"out-{index}"}] for index in range(10)]
    records[6] = [{"digest": "bad"}]
    ledger, outcomes = asyncio.run(record_all(records))
    assert [isinstance(outcome, CaseworkError) for outcome in outcomes] == [index == 6 for index in range(10)]
    committed = sorted(digest for transaction in ledger.transactions for digest in transaction)
    assert committed == sorted(f"{side}-{index}" for index in range(10) if index != 6 for side in ("in", "out"))  # each once


def test_a_group_never_exceeds_what_one_transaction_takes() -> None:
    async def scenario() -> SlowLedger:
        ledger = SlowLedger()
        log = EvidenceLog(ledger, actor=None)  # type: ignore[arg-type]
        await asyncio.gather(*(log.record({"digest": f"a-{index}"}, {"digest": f"b-{index}"}) for index in range(100)))
        return ledger

    ledger = asyncio.run(scenario())
    assert max(len(transaction) for transaction in ledger.transactions) <= 64 and sum(map(len, ledger.transactions)) == 200


def test_a_single_record_is_committed_at_once() -> None:
    ledger = SlowLedger()
    asyncio.run(EvidenceLog(ledger, actor=None).record({"digest": "only"}))  # type: ignore[arg-type]
    assert ledger.transactions == [["only"]]
