"""Household import from CSV and Excel into a real node and desk: what is registered, what is
refused and why, that nothing is half-written, and that no personal data reaches the ledger."""

import asyncio
import csv
import datetime
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from reliefledger.ledger.contracts.registry import get_household_key
from reliefledger.ledger.pseudonyms import compute_check_character, compute_household_pseudonym, compute_person_pseudonym
from reliefledger.node.casework import Casework, CaseworkError
from reliefledger.node.desk import admit_staff, open_desk
from reliefledger.node.directory import initialise_directory
from reliefledger.node.household_import import ImportFileError, ImportReport, ImportRow, import_households, read_rows
from reliefledger.node.runtime import open_node
from reliefledger.node.settings import NodeSettings
from reliefledger.node.staff import StaffDirectory, StaffMember
from reliefledger.store.vault import VaultError

START_MS = 1_767_225_600_000  # 2026-01-01 00:00 UTC
TOWNSHIP, OTHER_TOWNSHIP = "110105001", "110108001"
HEADER = ["household_number", "region", "address", "id_number", "name", "relation", "birth_date", "disability"]
STAFF = {"importer": (["caseworker"], "110000"), "township": (["caseworker"], TOWNSHIP), "auditor": (["auditor"], "110000")}


def make_id(birth: str, sequence: int, region: str = "110105") -> str:
    body = f"{region}{birth}{sequence:03d}"
    return body + compute_check_character(body)


def make_bad_id(birth: str, sequence: int) -> str:
    good = make_id(birth, sequence)
    return good[:-1] + ("0" if good[-1] != "0" else "1")


def person(household: str, id_number: str, name: str, relation: str, *, region: str = TOWNSHIP, address: str | None = None,
           birth_date: str = "", disability: str = "") -> list[str]:
    return [household, region, address or f"北京市朝阳区建国路{household[-2:]}号院", id_number, name, relation, birth_date, disability]


def write_csv(path: Path, rows: list[list[str]], header: list[str] = HEADER, *, bom: bool = True) -> Path:
    with open(path, "w", encoding="utf-8-sig" if bom else "utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


@dataclass
class Desk:
    casework: Casework
    staff: dict[str, StaffMember]


def run_import(tmp_path: Path, scenario) -> tuple[Any, Any]:
    """Run ``scenario(desk)`` against a fresh node with its desk; answer its result and the chain directory."""
    directory = initialise_directory(tmp_path / "chain", suite_name="ed25519-sha256", organisation_ids=["civil-affairs"], region="110000",
                                     chain_id="import-test", time_ms=START_MS, settings=NodeSettings(block_wait_ms_max=2))
    clock = {"now": START_MS + 1000}

    async def main() -> Any:
        async with open_node(directory, clock_ms=lambda: clock["now"]) as node:
            with open_desk(directory, node, directory.read_settings(), clock_ms=lambda: clock["now"]) as casework:
                for label, (roles, region) in STAFF.items():
                    await admit_staff(directory, node, organisation="civil-affairs", label=label, roles=roles, region=region)
                staff = {label: StaffDirectory(directory).get(label) for label in STAFF}
                return await scenario(Desk(casework, staff))

    return asyncio.run(main()), directory


def count_vault_records(casework: Casework) -> dict[str, int]:
    connection = casework.vault.connection
    return {
        "live": connection.execute("SELECT COUNT(*) FROM records WHERE destroyed_ms IS NULL").fetchone()[0],
        "destroyed": connection.execute("SELECT COUNT(*) FROM records WHERE destroyed_ms IS NOT NULL").fetchone()[0],
        "ciphertexts": connection.execute("SELECT COUNT(*) FROM ciphertexts").fetchone()[0],
        "data_keys": connection.execute("SELECT COUNT(*) FROM data_keys").fetchone()[0],
    }


def reasons_by_row(report: ImportReport) -> dict[int, str]:
    return {item.row_number: item.reason for item in report.rejected}


def household_pseudonym(casework: Casework, number: str) -> str:
    return compute_household_pseudonym(casework.node.suite, casework.network_key, number)


def person_pseudonym(casework: Casework, id_number: str) -> str:
    return compute_person_pseudonym(casework.node.suite, casework.network_key, id_number)


# The mixed file: file row numbers in the comments (the header is row 1).
SHARED_ID = make_id("19800101", 7)
MIXED_ROWS = [
    person("HB-001", make_id("19491231", 2), "王秀英", "户主", birth_date="1949/12/31"),           # 2  H1 head
    person("HB-002", make_id("19550101", 3), "张伟", "户主"),                                     # 3  H2: bad ID on row 4
    person("HB-002", make_bad_id("19560101", 4), "李娜", "配偶"),                                 # 4
    person("HB-003", make_id("19600101", 5), "", "户主"),                                         # 5  H3: missing name
    person("HB-004", make_id("19700101", 6), "刘洋", "户主"),                                     # 6  H4: mixed regions
    person("HB-004", make_id("19710101", 8), "陈静", "配偶", region=OTHER_TOWNSHIP),              # 7
    person("HB-005", SHARED_ID, "杨帆", "户主"),                                                  # 8  H5 and H6 share a person
    person("HB-006", make_id("19810101", 9), "黄磊", "户主"),                                     # 9
    person("HB-006", SHARED_ID, "杨帆", "子女"),                                                  # 10
    person("", make_id("19900101", 10), "赵敏", "户主"),                                          # 11 no household number
    person("HB-007", make_id("19950505", 11), "吴昊", "户主", disability="二级肢体"),             # 12 H7
    person("HB-001", make_id("20100101", 12), "李小明", "孙子女", birth_date="2010-01-01"),       # 13 H1, not adjacent
]
MIXED_EXPECTED_REJECTIONS = {
    3: "household_rejected", 4: "invalid_id_number", 5: "missing_field", 6: "household_rejected", 7: "household_inconsistent",
    8: "duplicate_person", 9: "household_rejected", 10: "duplicate_person", 11: "missing_field",
}
SECRETS = [text for row in MIXED_ROWS for text in (row[2], row[3], row[4]) if text] + ["二级肢体"]


def test_csv_import_registers_valid_households_and_reports_every_refused_row(tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    path = write_csv(tmp_path / "households.csv", [*MIXED_ROWS, [], ["", "", ""]])  # blank lines are not rows
    progress: list[tuple[str, int, int | None]] = []

    async def scenario(desk: Desk) -> dict:
        casework = desk.casework
        report = await import_households(casework, desk.staff["importer"], read_rows(path), batch_households=2,
                                         progress=lambda *call: progress.append(call))
        h1 = casework.node.store.get(get_household_key(household_pseudonym(casework, "HB-001")))
        h7 = casework.node.store.get(get_household_key(household_pseudonym(casework, "HB-007")))
        refused = [casework.node.store.get(get_household_key(household_pseudonym(casework, f"HB-00{index}"))) for index in range(2, 7)]
        head = person_pseudonym(casework, MIXED_ROWS[0][3])
        head_records = [casework.vault.get(entry.record_id).record for entry in casework.vault.list_records(head)]
        grandchild = casework.vault.list_records(person_pseudonym(casework, MIXED_ROWS[11][3]))
        grandchild_record = casework.vault.get(grandchild[0].record_id).record
        household_record = casework.vault.get(casework.vault.list_records(household_pseudonym(casework, "HB-001"))[0].record_id).record
        return {**locals(), "vault": count_vault_records(casework)}

    found, directory = run_import(tmp_path, scenario)
    report: ImportReport = found["report"]
    assert (report.rows, report.households_registered, report.persons_registered) == (12, 2, 3)
    assert report.rows == report.persons_registered + report.rows_rejected
    assert reasons_by_row(report) == MIXED_EXPECTED_REJECTIONS
    assert report.households_rejected == 5  # HB-002..HB-006; row 11 has no household number
    assert {item.household_number for item in report.rejected} == {"", "HB-002", "HB-003", "HB-004", "HB-005", "HB-006"}
    by_row = {item.row_number: item for item in report.rejected}
    assert by_row[10].message == "the same ID number is on row 8" and by_row[8].message == "the same ID number is on row 10"
    assert by_row[3].message == "household HB-002 is refused: row 4 invalid_id_number"
    # The registered households, head first; the refused ones are not on the ledger.
    assert found["h1"]["head"] == found["head"] and len(found["h1"]["members"]) == 2 and found["h1"]["region"] == TOWNSHIP
    assert len(found["h7"]["members"]) == 1 and found["refused"] == [None] * 5
    assert found["head_records"] == [{"birth_date": "1949-12-31", "id_number": MIXED_ROWS[0][3], "name": "王秀英", "relation": "户主"}]
    assert found["grandchild_record"]["birth_date"] == "2010-01-01"
    assert found["household_record"] == {"address": MIXED_ROWS[0][2], "household_number": "HB-001"}
    assert found["vault"] == {"live": 5, "destroyed": 0, "ciphertexts": 5, "data_keys": 5}  # 3 persons + 2 households
    # Progress: reading ends with the row count, registering with every checked household settled.
    assert ("reading", 12, 12) in progress and progress[-1] == ("registering", 2, 2)
    # No name, ID number, address or household number in the ledger's files, the report or the logs.
    ledger_bytes = b"".join(path.read_bytes() for path in directory.root.glob("ledger.sqlite*"))
    assert ledger_bytes and all(secret.encode() not in ledger_bytes for secret in [*SECRETS, "HB-001", "HB-007"])
    report_path = tmp_path / "rejected.csv"
    report.write_rejections_csv(report_path)
    report_text = report_path.read_text(encoding="utf-8")
    assert report_text.splitlines()[0] == "row,household_number,reason,message" and len(report_text.splitlines()) == 10
    assert all(secret not in report_text for secret in SECRETS) and all(secret not in caplog.text for secret in SECRETS)
    assert all(secret not in str(report.to_json()) for secret in SECRETS)


def test_xlsx_import_reads_the_first_sheet_with_dates_numbers_and_extra_columns(tmp_path):
    path = tmp_path / "households.xlsx"
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["Household Number", "Region", "Address", "ID Number", "Name", "Relation", "Birth Date", "notes"])
    sheet.append(["hb-100", int(TOWNSHIP), "北京市朝阳区光华路1号", make_id("19620315", 21), "孙丽", "户主", datetime.datetime(1962, 3, 15), "备注"])
    sheet.append(["HB-100", TOWNSHIP, "北京市朝阳区光华路1号", make_id("19900101", 22), "周杰", "子女", None, None])
    sheet.append(["HB-101", TOWNSHIP, "北京市朝阳区光华路2号", int(make_id("19700101", 23)[:17] + "0"), "郑爽", "户主"])  # an ID typed as a number
    sheet.append([])
    sheet.append(["HB-102", TOWNSHIP, "北京市朝阳区光华路3号", make_id("19850101", 24), "冯刚", "户主"])
    workbook.save(path)

    async def scenario(desk: Desk) -> dict:
        casework = desk.casework
        report = await import_households(casework, desk.staff["importer"], read_rows(path))
        head = casework.vault.list_records(person_pseudonym(casework, make_id("19620315", 21)))
        household = casework.node.store.get(get_household_key(household_pseudonym(casework, "HB-100")))
        return {"report": report, "head": casework.vault.get(head[0].record_id).record, "household": household}

    found, _ = run_import(tmp_path, scenario)
    report = found["report"]
    assert (report.rows, report.households_registered, report.persons_registered, report.rows_rejected) == (4, 2, 3, 1)
    assert [(item.row_number, item.household_number, item.reason) for item in report.rejected] == [(4, "HB-101", "inexact_number")]
    assert found["head"] == {"birth_date": "1962-03-15", "id_number": make_id("19620315", 21), "name": "孙丽", "relation": "户主"}
    assert len(found["household"]["members"]) == 2 and found["household"]["region"] == TOWNSHIP


def test_reimporting_a_file_refuses_every_household_as_existing_and_writes_nothing(tmp_path):
    rows = [person(f"HB-2{index:02d}", make_id("19700101", 100 + index), "钱多多", "户主") for index in range(6)]
    path = write_csv(tmp_path / "households.csv", rows)

    async def scenario(desk: Desk) -> dict:
        first = await import_households(desk.casework, desk.staff["importer"], read_rows(path))
        after_first = count_vault_records(desk.casework)
        height = desk.casework.node.tip.height
        second = await import_households(desk.casework, desk.staff["importer"], read_rows(path))
        return {"first": first, "second": second, "after_first": after_first, "after_second": count_vault_records(desk.casework),
                "height_moved": desk.casework.node.tip.height != height}

    found, _ = run_import(tmp_path, scenario)
    assert found["first"].households_registered == 6 and found["first"].rows_rejected == 0
    second = found["second"]
    assert (second.households_registered, second.households_rejected, second.rows_rejected) == (0, 6, 6)
    assert {item.reason for item in second.rejected} == {"household_exists"}
    assert found["after_second"] == found["after_first"] == {"live": 12, "destroyed": 0, "ciphertexts": 12, "data_keys": 12}
    assert not found["height_moved"]  # nothing was even submitted


def test_households_the_ledger_refuses_leave_no_vault_records_behind(tmp_path):
    """Two desks import the same file at once: both pass the pre-check, the ledger takes one of each
    household, and the loser's vault records are destroyed (crypto-shredded and compacted)."""
    rows = [person(f"HB-3{index:02d}", make_id("19600101", 200 + index), "孙悟空", "户主") for index in range(5)]
    rows += [person("HB-300", make_id("19620101", 300), "猪八戒", "配偶")]
    path = write_csv(tmp_path / "households.csv", rows)

    async def scenario(desk: Desk) -> dict:
        reports = await asyncio.gather(*(import_households(desk.casework, desk.staff["importer"], read_rows(path)) for _ in range(2)))
        return {"reports": reports, "vault": count_vault_records(desk.casework)}

    found, directory = run_import(tmp_path, scenario)
    first, second = found["reports"]
    assert first.households_registered + second.households_registered == 5
    assert first.persons_registered + second.persons_registered == 6
    losers = [item for report in found["reports"] for item in report.rejected]
    assert len(losers) == 6 and {item.reason for item in losers} == {"household_exists"}
    vault = found["vault"]
    assert vault["live"] == vault["ciphertexts"] == vault["data_keys"] == 6 + 5  # only the winners' records remain
    assert vault["destroyed"] == 11  # the losers' records were written, refused by the ledger, and destroyed
    vault_bytes = b"".join(path.read_bytes() for path in directory.root.glob("vault.sqlite*"))
    assert vault_bytes and all(text.encode() not in vault_bytes for row in rows for text in (row[3], row[4]))


def test_large_households_unnamed_cells_and_authorisation(tmp_path):
    large = [person("HB-400", make_id("19500101", 400 + index), "大家庭", "户主" if index == 0 else "子女") for index in range(33)]
    rows = [
        *large,                                                                                    # rows 2..34
        ["HB-401", TOWNSHIP, "北京市朝阳区", "建国路1号", make_id("19500101", 500), "某某", "户主", "", "视力"],  # row 35: unquoted comma
        person("HB-402", make_id("19500101", 501), "林某", "户主", region=OTHER_TOWNSHIP),        # row 36: outside the township
        person("HB-403", make_id("19500101", 502), "林某某" * 40, "户主"),                        # row 37: name too long
        person("HB-404", make_id("19500101", 503), "方某", "户主", birth_date="1950-02-30"),      # row 38: no such date
        person("HB-405", make_id("19500101", 504), "袁某", "户主", region="11010"),               # row 39: not a region code
        person(make_id("19500101", 505), make_id("19500101", 506), "骆某", "户主"),               # row 40: an ID in the number column
        person("HB-407", make_id("19500101", 507), "许某", "户主"),                               # row 41: fine
    ]
    path = write_csv(tmp_path / "households.csv", rows, bom=False)

    async def scenario(desk: Desk) -> dict:
        refused = None
        try:
            await import_households(desk.casework, desk.staff["auditor"], read_rows(path))
        except CaseworkError as error:
            refused = (error.code, count_vault_records(desk.casework)["live"])
        report = await import_households(desk.casework, desk.staff["township"], read_rows(path))
        return {"refused": refused, "report": report}

    found, _ = run_import(tmp_path, scenario)
    assert found["refused"] == ("not_authorised", 0)  # an auditor may not register: refused before anything is written
    report = found["report"]
    reasons = reasons_by_row(report)
    assert {reasons[row] for row in range(2, 35)} == {"household_too_large"}
    assert {row: reasons[row] for row in range(35, 41)} == {35: "unnamed_cells", 36: "not_authorised", 37: "field_too_long",
                                                           38: "invalid_birth_date", 39: "invalid_region", 40: "invalid_household_number"}
    assert 41 not in reasons and report.households_registered == 1
    assert next(item for item in report.rejected if item.row_number == 40).household_number == ""  # the ID is never echoed
    assert report.rows == 40 == report.persons_registered + report.rows_rejected


def test_unreadable_files_and_missing_columns_are_invalid_import_files(tmp_path):
    missing = write_csv(tmp_path / "missing.csv", [["HB-1", TOWNSHIP, "addr", make_id("19500101", 1)]], header=HEADER[:4])
    with pytest.raises(ImportFileError) as caught:
        read_rows(missing)
    assert caught.value.code == "invalid_import_file" and "missing columns: name, relation" in str(caught.value)
    empty = tmp_path / "empty.csv"
    empty.write_text("\n\n")
    not_utf8 = tmp_path / "latin1.csv"
    not_utf8.write_bytes(",".join(HEADER).encode() + b"\nHB-1,110105001,Stra\xdfe 1,x,y,z,,\n")
    (tmp_path / "damaged.xlsx").write_bytes(b"not a zip file")
    for path in (empty, tmp_path / "households.txt", tmp_path / "absent.csv", tmp_path / "damaged.xlsx"):
        with pytest.raises(ImportFileError) as caught:
            read_rows(path)
        assert caught.value.code == "invalid_import_file"
    rows = read_rows(not_utf8)
    with pytest.raises(ImportFileError, match="row 2 is not UTF-8"):
        list(rows)


def test_read_rows_numbers_rows_as_a_spreadsheet_does(tmp_path):
    path = tmp_path / "rows.csv"
    path.write_text("\ufeffHOUSEHOLD_NUMBER, Region ,address,id_number,name,relation,extra\n\nHB-1,110105001,addr,x,y,z,ignored\n,,,,,,\nHB-2,1,2,3,4,5\n",
                    encoding="utf-8")
    rows = list(read_rows(path))
    assert [row.row_number for row in rows] == [3, 5]
    assert rows[0] == ImportRow(3, {"household_number": "HB-1", "region": "110105001", "address": "addr", "id_number": "x", "name": "y", "relation": "z"})
    assert rows[1].fields["relation"] == "5"


def test_vault_put_many_stores_all_records_in_one_transaction_or_none(tmp_path):
    async def scenario(desk: Desk) -> dict:
        vault = desk.casework.vault
        subject = person_pseudonym(desk.casework, make_id("19500101", 1))
        receipts = vault.put_many([{"subject": subject, "kind": "person", "owner": "civil-affairs", "record": {"name": f"n{index}"}}
                                   for index in range(3)])
        stored = [vault.get(receipt.record_id) for receipt in receipts]
        before = count_vault_records(desk.casework)
        with pytest.raises(VaultError) as caught:
            vault.put_many([{"subject": subject, "kind": "person", "owner": "civil-affairs", "record": {"name": "ok"}},
                            {"subject": "王秀英", "kind": "person", "owner": "civil-affairs", "record": {}}])
        return {"receipts": receipts, "stored": stored, "before": before, "after": count_vault_records(desk.casework),
                "code": caught.value.code, "verified": [vault.verify_commitment(r.record_id, r.commitment) for r in receipts]}

    found, _ = run_import(tmp_path, scenario)
    assert [record.record for record in found["stored"]] == [{"name": "n0"}, {"name": "n1"}, {"name": "n2"}]
    assert found["verified"] == [True] * 3 and len({receipt.record_id for receipt in found["receipts"]}) == 3
    assert found["code"] == "invalid_subject" and found["after"] == found["before"]
