"""Each anomaly check on crafted projections: it raises the alert it exists for, with its evidence,
and stays quiet just across each of its thresholds."""

from pathlib import Path

from reliefledger.analytics.checks import run_checks
from reliefledger.analytics.export import get_schema, write_manifest, write_part
from reliefledger.analytics.projections import PROJECTIONS
from reliefledger.analytics.queries import open_analytics

DAY_MS = 86_400_000


def build_store(folder: Path, **tables: list[dict]) -> Path:
    """An analytics folder holding exactly these rows (missing columns are null)."""
    parts = {}
    for projection in PROJECTIONS:
        rows = tables.get(projection.table, [])
        parts[projection.table] = []
        if rows:
            names = [name for name, _ in projection.columns]
            full = [{**dict.fromkeys(names), **row, "_key": f"{projection.table}/{index}", "_height": 1, "_deleted": False} for index, row in enumerate(rows)]
            write_part(folder / projection.table / "part-1.parquet", get_schema(projection), iter(full))
            parts[projection.table] = ["part-1.parquet"]
    write_manifest(folder, {"height": 1, "parts": parts})
    return folder


def alerts_of(folder: Path) -> list[tuple[str, str, int, tuple[str, ...]]]:
    connection = open_analytics(folder)
    try:
        return [(alert.check, alert.subject, alert.weight, alert.evidence) for alert in run_checks(connection)]
    finally:
        connection.close()


def account(account_id: str, kind: str, region: str = "110105001") -> dict:
    return {"account_id": account_id, "kind": kind, "currency": "CNY-DC", "region": region}


def transfer(transfer_id: str, code: int, debit: str, credit: str, amount: int, time_ms: int, height: int = 5, reference: str | None = None) -> dict:
    return {"transfer_id": transfer_id, "code": code, "debit_account_id": debit, "credit_account_id": credit, "amount": amount, "posted_amount": amount,
            "status": "posted", "pending_id": None, "reference": reference, "time_ms": time_ms, "height": height, "transaction": f"tx-{transfer_id}"}


def test_cash_out_needs_three_wallets_round_sums_most_of_the_benefit_and_soon(tmp_path: Path) -> None:
    accounts = [account("budget", "programme_budget"), *(account(name, "merchant") for name in ("bad", "odd", "two", "late")),
                *(account(f"w{number}", "beneficiary_wallet") for number in range(12))]
    transfers = [transfer(f"benefit-{number}", 101, "budget", f"w{number}", 50_000, 0) for number in range(12)]
    transfers += [transfer(f"cash-{number}", 300, f"w{number}", "bad", 30_000, DAY_MS) for number in range(3)]  # 60 % in round hundreds, a day later
    transfers += [transfer(f"odd-{number}", 300, f"w{number}", "odd", 29_900, DAY_MS) for number in range(3, 6)]  # not a round sum
    transfers += [transfer(f"two-{number}", 300, f"w{number}", "two", 40_000, DAY_MS) for number in range(6, 8)]  # only two wallets
    transfers += [transfer(f"late-{number}", 300, f"w{number}", "late", 40_000, 8 * DAY_MS) for number in range(8, 11)]  # after the window
    transfers += [transfer("small", 300, "w11", "bad", 20_000, DAY_MS)]  # 40 %: an ordinary purchase
    assert alerts_of(build_store(tmp_path, accounts=accounts, transfers=transfers)) == [("cash_out", "bad", 3, ("tx-cash-0", "tx-cash-1", "tx-cash-2"))]


def case(case_id: str, household: str, **fields) -> dict:
    return {"case_id": case_id, "household": household, "programme": "dibao", "region": "110105001", "status": "enrolled", "outcome": "approve",
            "related_to_staff": False, "visits_by_county": 0, **fields}


def test_paid_after_death_unless_the_benefit_changed_after_it(tmp_path: Path) -> None:
    persons = [{"person": "p1", "household": "h1", "status": "deceased", "death_height": 10},
               {"person": "p2", "household": "h2", "status": "deceased", "death_height": 10},
               {"person": "p3", "household": "h3", "status": "alive", "death_height": None}]
    cases = [case("c1", "h1"), case("c2", "h2", benefit_changed_height=11), case("c3", "h3")]
    transfers = [transfer("before", 101, "budget", "b1", 100, 0, height=9, reference="c1"), transfer("after", 101, "budget", "b1", 100, 0, height=12, reference="c1"),
                 transfer("changed", 101, "budget", "b2", 100, 0, height=12, reference="c2"), transfer("alive", 101, "budget", "b3", 100, 0, height=12, reference="c3"),
                 {**transfer("voided", 101, "budget", "b1", 100, 0, height=13, reference="c1"), "status": "voided", "posted_amount": 0}]  # never paid
    assert alerts_of(build_store(tmp_path, persons=persons, cases=cases, transfers=transfers)) == [("paid_after_death", "c1", 1, ("tx-after",))]


def test_programmes_that_exclude_each_other_review_findings_and_staff_related_approvals(tmp_path: Path) -> None:
    cases = [case("d1", "h1"), case("t1", "h1", programme="tekun"),  # both enrolled: an alert
             case("d2", "h2"), case("t2", "h2", programme="tekun", status="refused"),
             case("r1", "h3", review_eligible=False, review_height=20), case("r2", "h4", review_eligible=False, review_height=20, benefit_changed_height=21),
             case("r3", "h5", review_eligible=True, review_height=20),
             case("s1", "h6", related_to_staff=True, visits_by_county=0), case("s2", "h7", related_to_staff=True, visits_by_county=1)]
    transfers = [transfer(f"pay-{name}", 101, "budget", "b", 100, 0, height=25, reference=name) for name in ("r1", "r2", "r3")]
    assert alerts_of(build_store(tmp_path, cases=cases, transfers=transfers)) == [
        ("assets_after_enrolment", "r1", 1, ("tx-pay-r1",)), ("exclusive_programmes", "h1", 2, ("d1", "t1")), ("staff_related_without_visit", "s1", 1, ("s1",))]


def test_a_record_that_gives_no_rows_any_more_leaves_a_marker_that_hides_its_older_rows(tmp_path: Path) -> None:
    """An objection wipes a case's means test: the export's newer part carries a marker for the
    case, and the view stops counting the answers of the older part."""
    from reliefledger.analytics.export import mark_rows

    projection = next(item for item in PROJECTIONS if item.table == "means_test_answers")
    answered = {"id": "c1", "updated_height": 5, "assessment": {"answers": [{"record_id": "r1", "query_id": f"q{number}", "response_ms": 3} for number in range(2)]}}
    wiped = {**answered, "updated_height": 9, "assessment": None}
    first = list(mark_rows(projection, iter([("assistance/case/c1", answered, 5), ("assistance/case/c2", {**answered, "id": "c2"}, 5)]), None))
    second = list(mark_rows(projection, iter([("assistance/case/c1", wiped, 9)]), None))
    assert len(first) == 4 and not any(row["_deleted"] for row in first) and second == [{"_key": "assistance/case/c1", "_height": 9, "_deleted": True}]
    schema = get_schema(projection)
    write_part(tmp_path / "means_test_answers" / "part-1.parquet", schema, iter(first))
    write_part(tmp_path / "means_test_answers" / "part-2.parquet", schema, iter(second))
    write_manifest(tmp_path, {"chain": None, "height": 9, "parts": {**{item.table: [] for item in PROJECTIONS}, "means_test_answers": ["part-1.parquet", "part-2.parquet"]}})
    connection = open_analytics(tmp_path)
    assert connection.execute("SELECT case_id, count(*) FROM means_test_answers GROUP BY ALL").fetchall() == [("c2", 2)]
    connection.close()


def test_the_merchant_model_isolates_the_merchant_whose_takings_look_like_no_other(tmp_path: Path) -> None:
    """Thirty ordinary shops and one that takes most of each benefit in round sums on the day it
    arrives: the isolation forest flags that one alone, the same way every run, with its most
    telling payments as evidence; with fewer than three merchants it compares nothing."""
    import random

    from reliefledger.analytics.merchant_model import find_outlying_merchants

    rng = random.Random(5)
    accounts = [account("budget", "programme_budget")] + [account(f"s{number}", "merchant") for number in range(31)]
    transfers, wallet = [], 0
    for shop in range(31):
        for _ in range(12):
            wallet += 1
            accounts.append(account(f"w{wallet}", "beneficiary_wallet"))
            benefit = rng.randint(30_000, 90_000)
            transfers.append({**transfer(f"b{wallet}", 101, "budget", f"w{wallet}", benefit, 0), "credit_kind": "beneficiary_wallet"})
            if shop == 30:  # the bad one: 90 % of the benefit in whole hundreds of yuan, the same day
                amount, when = benefit * 9 // 10 // 10_000 * 10_000 or 10_000, 3_600_000
            else:
                amount, when = rng.randint(500, 9_000), rng.randint(1, 20) * DAY_MS
            transfers.append({**transfer(f"p{wallet}", 300, f"w{wallet}", f"s{shop}", amount, when), "credit_kind": "merchant"})
    folder = build_store(tmp_path / "many", accounts=accounts, transfers=transfers)
    connection = open_analytics(folder)
    first, second = find_outlying_merchants(connection), find_outlying_merchants(connection)
    connection.close()
    assert [alert.subject for alert in first] == ["s30"] and first == second
    assert first[0].check == "merchant_outlier" and len(first[0].evidence) == 12 and all(item.startswith("tx-p") for item in first[0].evidence)
    few = build_store(tmp_path / "few", accounts=accounts, transfers=[item for item in transfers if item["credit_account_id"] in ("s0", "s30")
                                                                    or item["code"] == 101])
    connection = open_analytics(few)
    assert find_outlying_merchants(connection) == []
    connection.close()
