"""Household import: registering households from a CSV or Excel file, every refused row reported.

File format (``docs/import.md`` says the same for users)
--------------------------------------------------------

One row per person, after one header row. Column names are matched without regard to case,
surrounding spaces, or spaces and hyphens inside them (``Household Number`` is ``household_number``);
columns may come in any order; other columns are ignored (their names are logged).

==================  =========  ==============================================================
column              required   content
==================  =========  ==============================================================
household_number    yes        the household's number (户号): 1 to 64 ASCII letters, digits, ``-``
region              yes        GB/T 2260 code of the household's region, 6 or 9 digits
address             yes        the household's address (at most 200 characters)
id_number           yes        18-character resident identity number (GB 11643-1999)
name                yes        the person's name (at most 100 characters)
relation            yes        relation to the head of household, e.g. 户主, 配偶, 子女 (at most 32)
birth_date          no         ``YYYY-MM-DD`` (``YYYY/M/D`` is accepted and written as ``YYYY-MM-DD``)
disability          no         kind and grade of disability, free text (at most 200 characters)
==================  =========  ==============================================================

Rows of one household share household_number, region and address; they need not be adjacent.
The first row of a household is its head. A household has at most 32 members. Files are CSV
(UTF-8 with or without a byte-order mark, comma-separated, ``.csv``) or Excel workbooks (``.xlsx``:
the first sheet, first non-blank row as header). Wholly blank rows are not rows: they are neither
imported nor reported. Row numbers are those a spreadsheet shows: the header is row 1.

What happens
------------

``read_rows`` streams a file's rows; ``import_households`` first reads and checks every row (so
a person listed in two households rejects both, wherever the rows are), then registers the
households that passed, in batches: for each household, pseudonyms under the network key, one
vault record per person and one for the household (``Vault.put_many``: one SQLite transaction a
batch), one ``registry.register_household`` transaction signed with the importing staff member's
key; the batch goes to ``Node.submit_envelopes`` (signatures checked in the node's worker pool) and
the import waits for each transaction's final status. A household the ledger refuses (already
registered, a person already in another household...) is reported with the ledger's result code,
and its vault records are destroyed, so nothing is half-written. Households already on the ledger
are refused before any vault write.

Every refused row is reported (``ImportReport.rejected``, ``write_rejections_csv``) with its row
number, household number, a reason code and a message. A household with any refused row is refused
whole, all its rows reported; other households go on. Messages and logs never contain names, ID
numbers or addresses: only row numbers, household numbers, column names and region codes.
"""

import asyncio
import codecs
import collections
import csv
import datetime
import logging
import re
import secrets
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Mapping

from reliefledger.ledger import limits
from reliefledger.ledger.contracts.registry import REGISTRARS, get_household_key, get_person_key
from reliefledger.ledger.errors import LedgerInputError, require
from reliefledger.ledger.genesis import REGION_PATTERN
from reliefledger.ledger.regions import is_region_code, is_within
from reliefledger.ledger.results import ResultCode
from reliefledger.ledger.pseudonyms import (
    compute_household_pseudonym,
    compute_person_pseudonym,
    is_real_date,
    is_valid_resident_id,
    normalise_household_number,
    normalise_id_number,
)
from reliefledger.ledger.transactions import Envelope, TransactionBody, sign_transaction
from reliefledger.node.casework import VALIDITY_MS, Casework, CaseworkError
from reliefledger.node.peer import Node, NodeBusy
from reliefledger.node.staff import StaffMember

logger = logging.getLogger(__name__)

# The file ------------------------------------------------------------------------------------------

COLUMNS_REQUIRED = ("household_number", "region", "address", "id_number", "name", "relation")
"""Columns every file has, in the order their emptiness is reported."""

COLUMNS_OPTIONAL = ("birth_date", "disability")
"""Columns a file may have."""

FILE_SUFFIXES = {".csv": "csv", ".xlsx": "xlsx", ".xlsm": "xlsx"}
"""File name endings read, and as what."""

TEXT_CHARACTERS_MAX = {"address": 200, "name": 100, "relation": 32, "disability": 200}
"""Longest value of each free-text column, in characters."""

EXCEL_EXACT_DIGITS_MAX = 15
"""Excel keeps 15 significant digits of a number: an ID number typed as a number has lost its end."""

ROWS_PER_FILE_MAX = 2_000_000
"""Most person rows in one file: the import holds every row in memory (~0.5 KiB each) to check
households and duplicates across the whole file before writing anything. Split larger files."""

# Registering ---------------------------------------------------------------------------------------

BATCH_HOUSEHOLDS_DEFAULT = 1000
"""Households signed, stored and submitted together."""

BATCH_HOUSEHOLDS_MAX = 2048
"""Largest batch: its vault records (33 a household at most) stay within ``PUT_MANY_RECORDS_MAX``."""

BATCHES_IN_FLIGHT_MAX = 2
"""Batches submitted and not yet settled: the next is prepared while the node commits the last."""

SETTLE_STALL_S = 120.0
"""How long the import waits for a block while transactions of it are pending, before giving up."""

BUSY_RETRY_S = 0.05
"""Pause before resubmitting a batch the node refused as busy, when none of ours is in flight."""

PROGRESS_ROWS_INTERVAL = 10_000
"""Rows read between two progress reports."""

STAGE_READING = "reading"
"""Progress stage while rows are read and checked; ``total`` is None (unknown until the end)."""

STAGE_REGISTERING = "registering"
"""Progress stage while households are registered; ``completed`` counts settled households."""

# Reason codes of a refused row, besides the ledger's result codes (``docs/protocol.md``) and the
# node's edge codes (such as ``expired``), which a household refused by the ledger carries.
REASON_UNNAMED_CELLS = "unnamed_cells"
REASON_INEXACT_NUMBER = "inexact_number"
REASON_MISSING_FIELD = "missing_field"
REASON_INVALID_HOUSEHOLD_NUMBER = "invalid_household_number"
REASON_INVALID_REGION = "invalid_region"
REASON_INVALID_ID_NUMBER = "invalid_id_number"
REASON_INVALID_TEXT = "invalid_text"
REASON_FIELD_TOO_LONG = "field_too_long"
REASON_INVALID_BIRTH_DATE = "invalid_birth_date"
REASON_HOUSEHOLD_INCONSISTENT = "household_inconsistent"
REASON_DUPLICATE_PERSON = "duplicate_person"
REASON_HOUSEHOLD_TOO_LARGE = "household_too_large"
REASON_HOUSEHOLD_REJECTED = "household_rejected"

ROW_REASONS = {
    REASON_UNNAMED_CELLS: "the row has data in cells without a column name (an unquoted comma?)",
    REASON_INEXACT_NUMBER: "a cell holds a number of more than 15 digits, which Excel cannot keep exactly",
    REASON_MISSING_FIELD: "a required column is empty",
    REASON_INVALID_HOUSEHOLD_NUMBER: "not 1 to 64 ASCII letters, digits and hyphens (or it is a resident ID number)",
    REASON_INVALID_REGION: "the region is not a GB/T 2260 code",
    REASON_INVALID_ID_NUMBER: "not a valid 18-character resident ID (form, birth date or check character)",
    REASON_INVALID_TEXT: "a value is not valid Unicode text",
    REASON_FIELD_TOO_LONG: "a text value is longer than its column allows",
    REASON_INVALID_BIRTH_DATE: "birth_date is not a real date written YYYY-MM-DD",
    REASON_HOUSEHOLD_INCONSISTENT: "region or address differs from the household's first row",
    REASON_DUPLICATE_PERSON: "the same ID number is on another row of the file",
    REASON_HOUSEHOLD_TOO_LARGE: f"the household has more than {limits.HOUSEHOLD_MEMBERS_MAX} members",
    REASON_HOUSEHOLD_REJECTED: "the row is valid but another row of its household was refused",
}
"""Reason codes of rows refused by the file's checks, in the order they are tried."""

BIRTH_DATE_PATTERN = re.compile(r"^([0-9]{4})[-/]([0-9]{1,2})[-/]([0-9]{1,2})$")

ProgressCallback = Callable[[str, int, int | None], None]
"""``progress(stage, completed, total)``: a stage name, how much of it is done, and its total
(None while unknown). Called often enough to drive a progress bar, never with personal data."""


class ImportFileError(LedgerInputError):
    """A file that cannot be read as a household import (unreadable, no header, missing columns)."""

    code = "invalid_import_file"


@dataclass(frozen=True)
class ImportRow:
    """One person row of an import file, as read."""

    row_number: int
    """The row's number as a spreadsheet shows it (the header is row 1)."""
    fields: Mapping[str, str]
    """Text of each known column present in the file, stripped of surrounding whitespace."""
    unnamed_cells: int = 0
    """Cells with data under no column name (past the header's end, or under a blank header cell)."""
    inexact_columns: tuple[str, ...] = ()
    """Known columns whose cell is a number too long for Excel to hold exactly."""


@dataclass(frozen=True)
class RejectedRow:
    """A row that was not imported, and why."""

    row_number: int
    """The row's number (the header is row 1)."""
    household_number: str
    """The household number as normalised, or empty when the row has no valid one."""
    reason: str
    """A reason code: one of ``ROW_REASONS``, or the ledger's or node's code for the household."""
    message: str
    """Explanation for people; never a name, ID number or address."""


@dataclass(frozen=True)
class ImportReport:
    """What an import did: counts, and every refused row."""

    rows: int
    """Person rows read (blank rows excluded); always ``persons_registered + rows_rejected``."""
    households_registered: int
    """Households now on the ledger."""
    persons_registered: int
    """Persons now on the ledger."""
    households_rejected: int
    """Households refused (counted by household number; rows without a valid one count as rows only)."""
    rows_rejected: int
    """Rows not imported: ``len(rejected)``."""
    rejected: tuple[RejectedRow, ...]
    """Every refused row, by row number."""
    warnings: tuple[str, ...] = ()
    """Things the operator should know that refused no row (e.g. the vault could not compact)."""

    def to_json(self) -> dict[str, Any]:
        """Counts and refused rows as JSON (for ``--json`` output)."""
        return {
            "rows": self.rows,
            "households_registered": self.households_registered,
            "persons_registered": self.persons_registered,
            "households_rejected": self.households_rejected,
            "rows_rejected": self.rows_rejected,
            "rejected": [{"row": item.row_number, "household_number": item.household_number, "reason": item.reason,
                          "message": item.message} for item in self.rejected],
            "warnings": list(self.warnings),
        }

    def write_rejections_csv(self, path: str | Path) -> None:
        """Write the refused rows as CSV (UTF-8): ``row, household_number, reason, message``."""
        with open(path, "w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["row", "household_number", "reason", "message"])
            for item in self.rejected:
                writer.writerow([item.row_number, item.household_number, item.reason, item.message])


# Reading -------------------------------------------------------------------------------------------


def read_rows(path: str | Path) -> Iterator[ImportRow]:
    """Open an import file and stream its person rows.

    The file is opened and its header checked now: an unreadable file, an unknown file type, a
    file without a header or a header missing required columns raises ``ImportFileError``
    (code ``invalid_import_file``) naming the file and the missing columns. Rows are then read
    lazily; a file damaged further on raises ``ImportFileError`` naming the row. Wholly blank rows
    are left out. The file is closed when the iterator is exhausted or closed.
    """
    path = Path(path)
    kind = FILE_SUFFIXES.get(path.suffix.lower())
    if kind is None:
        raise ImportFileError(f"{path.name}: not a .csv or .xlsx file")
    if not path.is_file():
        raise ImportFileError(f"{path}: no such file")
    cells, close = _open_csv(path) if kind == "csv" else _open_xlsx(path)
    try:
        header_number, header = _read_header(path, cells)
        columns = _map_columns(path, header)
    except BaseException:
        close()
        raise
    return _iterate_rows(path, cells, close, header_number, columns, header)


def _open_csv(path: Path) -> tuple[Iterator[tuple[int, list[Any]]], Callable[[], None]]:
    try:
        handle = open(path, "rb")
    except OSError as error:
        raise ImportFileError(f"{path.name}: cannot be read ({error.strerror})") from None

    def lines() -> Iterator[str]:
        # Decoded line by line (not in 8 KiB chunks) so that a decoding error names its row; line
        # endings are kept, as csv wants them (``newline=""``). No UTF-8 sequence contains b"\n".
        for index, line in enumerate(handle):
            yield (line[len(codecs.BOM_UTF8):] if index == 0 and line.startswith(codecs.BOM_UTF8) else line).decode("utf-8")

    def cells() -> Iterator[tuple[int, list[Any]]]:
        reader = csv.reader(lines())
        number = 0
        while True:
            number += 1
            try:
                row = next(reader)
            except StopIteration:
                return
            except UnicodeDecodeError:
                raise ImportFileError(f"{path.name}: row {number} is not UTF-8 text") from None
            except csv.Error as error:
                raise ImportFileError(f"{path.name}: row {number} is not valid CSV ({error})") from None
            yield number, row

    return cells(), handle.close


def _open_xlsx(path: Path) -> tuple[Iterator[tuple[int, list[Any]]], Callable[[], None]]:
    import openpyxl  # only an Excel import pays for loading it

    try:
        workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as error:  # a damaged or foreign file fails in many ways; none is a bug here
        raise ImportFileError(f"{path.name}: not a readable .xlsx workbook ({type(error).__name__})") from None
    if not workbook.worksheets:
        workbook.close()
        raise ImportFileError(f"{path.name}: the workbook has no sheet")
    sheet = workbook.worksheets[0]
    sheet.reset_dimensions()  # a file's stated dimensions may be wrong: read every row there is

    def cells() -> Iterator[tuple[int, list[Any]]]:
        try:
            for number, row in enumerate(sheet.iter_rows(values_only=True), start=1):
                yield number, list(row)
        except ImportFileError:
            raise
        except Exception as error:
            raise ImportFileError(f"{path.name}: the first sheet cannot be read ({type(error).__name__})") from None

    return cells(), workbook.close


def _read_header(path: Path, cells: Iterator[tuple[int, list[Any]]]) -> tuple[int, list[str]]:
    for number, row in cells:
        texts = [_normalise_column_name(_get_cell_text(value)) for value in row]
        if any(texts):
            return number, texts
    raise ImportFileError(f"{path.name}: the file is empty (no header row)")


def _normalise_column_name(text: str) -> str:
    return re.sub(r"[\s\-]+", "_", text.strip().lower())


def _map_columns(path: Path, header: list[str]) -> dict[str, int]:
    """Position of each known column; ``ImportFileError`` for missing or repeated ones."""
    columns: dict[str, int] = {}
    for position, name in enumerate(header):
        if name in COLUMNS_REQUIRED or name in COLUMNS_OPTIONAL:
            if name in columns:
                raise ImportFileError(f"{path.name}: the column {name} appears twice in the header")
            columns[name] = position
    missing = [name for name in COLUMNS_REQUIRED if name not in columns]
    if missing:
        raise ImportFileError(f"{path.name}: missing columns: {', '.join(missing)} "
                              f"(required: {', '.join(COLUMNS_REQUIRED)})")
    ignored = [name for name in header if name and name not in columns]
    if ignored:
        logger.info("%s: ignoring columns %s", path.name, ", ".join(ignored))
    return columns


def _iterate_rows(path: Path, cells: Iterator[tuple[int, list[Any]]], close: Callable[[], None], header_number: int,
                  columns: dict[str, int], header: list[str]) -> Iterator[ImportRow]:
    unnamed_positions = {position for position, name in enumerate(header) if not name}
    try:
        for number, row in cells:
            texts = [_get_cell_text(value) for value in row]
            if not any(texts):
                continue
            fields = {name: texts[position] if position < len(texts) else "" for name, position in columns.items()}
            inexact = tuple(name for name, position in columns.items()
                            if position < len(row) and _is_inexact_number(row[position]))
            unnamed = sum(1 for position, text in enumerate(texts)
                          if text and (position >= len(header) or position in unnamed_positions))
            yield ImportRow(number - header_number + 1, fields, unnamed, inexact)
    finally:
        close()


def _get_cell_text(value: Any) -> str:
    """A cell's value as text: numbers without a decimal part as integers, dates as YYYY-MM-DD."""
    if value is None:
        return ""
    if type(value) is str:
        return value.strip()
    if type(value) is float and value.is_integer():
        return str(int(value))
    if type(value) is datetime.datetime:
        return value.date().isoformat() if value.time() == datetime.time() else value.isoformat()
    if type(value) is datetime.date:
        return value.isoformat()
    return str(value).strip()


def _is_inexact_number(value: Any) -> bool:
    return type(value) in (int, float) and abs(value) >= 10 ** EXCEL_EXACT_DIGITS_MAX


# Checking ------------------------------------------------------------------------------------------


class _Household:
    """A household as the rows describe it, while the file is read."""

    __slots__ = ("number", "region", "address", "first_row", "persons", "failure")

    def __init__(self, number: str, region: str, address: str, first_row: int) -> None:
        self.number = number
        """Normalised household number."""
        self.region = region
        self.address = address
        self.first_row = first_row
        self.persons: list[tuple[int, str, str, str, str, str]] = []
        """(row number, normalised ID number, name, relation, birth date, disability), head first."""
        self.failure: tuple[int, str] | None = None
        """(row number, reason) of its first refused row."""


@dataclass
class _Collection:
    """Every row read, grouped by household, with the refusals the file's checks found."""

    households: dict[str, _Household] = field(default_factory=dict)
    bad_rows: dict[int, tuple[str, str]] = field(default_factory=dict)
    """Row number -> (reason, message) of rows refused in their own right."""
    orphans: list[RejectedRow] = field(default_factory=list)
    """Refused rows without a valid household number."""
    rows: int = 0


def _collect_rows(rows: Iterable[ImportRow], progress: ProgressCallback | None) -> _Collection:
    """Read every row, check it, and group it into its household (nothing is written)."""
    collection = _Collection()
    first_seen: dict[str, tuple[_Household, int]] = {}
    for row in rows:
        collection.rows += 1
        if collection.rows > ROWS_PER_FILE_MAX:
            raise ImportFileError(f"the file has more than {ROWS_PER_FILE_MAX} person rows: split it")
        if progress is not None and collection.rows % PROGRESS_ROWS_INTERVAL == 0:
            progress(STAGE_READING, collection.rows, None)
        _collect_row(collection, first_seen, row)
    if progress is not None:
        progress(STAGE_READING, collection.rows, collection.rows)
    for household in collection.households.values():
        if len(household.persons) > limits.HOUSEHOLD_MEMBERS_MAX and household.failure is None:
            household.failure = (household.first_row, REASON_HOUSEHOLD_TOO_LARGE)
    return collection


def _collect_row(collection: _Collection, first_seen: dict[str, tuple[_Household, int]], row: ImportRow) -> None:
    fields = row.fields
    number = row.row_number
    household_number = _parse_household_number(fields.get("household_number", ""))
    id_number = normalise_id_number(fields.get("id_number", ""))
    id_valid = is_valid_resident_id(id_number)
    problem = _check_row(row, household_number, id_valid)
    if household_number is None:
        reason, message = problem or (REASON_INVALID_HOUSEHOLD_NUMBER, ROW_REASONS[REASON_INVALID_HOUSEHOLD_NUMBER])
        collection.orphans.append(RejectedRow(number, "", reason, message))
        return
    region, address = fields.get("region", ""), fields.get("address", "")
    household = collection.households.get(household_number)
    if household is None:
        household = collection.households[household_number] = _Household(household_number, region, address, number)
    elif problem is None and (region != household.region or address != household.address):
        problem = (REASON_HOUSEHOLD_INCONSISTENT, f"region or address differs from row {household.first_row}, "
                                                  f"the first row of household {household_number}")
    if id_valid:
        seen = first_seen.get(id_number)
        if seen is None:
            first_seen[id_number] = (household, number)
        else:
            other_household, other_row = seen
            problem = problem or (REASON_DUPLICATE_PERSON, f"the same ID number is on row {other_row}")
            _refuse_row(collection, other_household, other_row, REASON_DUPLICATE_PERSON,
                        f"the same ID number is on row {number}")
    household.persons.append((number, id_number, fields.get("name", ""), sys.intern(fields.get("relation", "")),
                              _parse_birth_date(fields.get("birth_date", "")) or "", fields.get("disability", "")))
    if problem is not None:
        _refuse_row(collection, household, number, *problem)


def _refuse_row(collection: _Collection, household: _Household, number: int, reason: str, message: str) -> None:
    collection.bad_rows.setdefault(number, (reason, message))
    if household.failure is None or number < household.failure[0]:
        household.failure = (number, collection.bad_rows[number][0])


def _parse_household_number(text: str) -> str | None:
    """The normalised household number, or None (a resident ID number in this column is refused:
    it is almost surely a shifted column, and household numbers appear in reports)."""
    try:
        normalised = normalise_household_number(text)
    except LedgerInputError:
        return None
    return None if is_valid_resident_id(normalised) else normalised


def _check_row(row: ImportRow, household_number: str | None, id_valid: bool) -> tuple[str, str] | None:
    """The first problem of a row on its own, as (reason, message), or None."""
    fields = row.fields
    if row.unnamed_cells:
        return REASON_UNNAMED_CELLS, f"{row.unnamed_cells} cell(s) with data under no column name (an unquoted comma?)"
    if row.inexact_columns:
        return REASON_INEXACT_NUMBER, (f"{', '.join(row.inexact_columns)} is a number of more than {EXCEL_EXACT_DIGITS_MAX} "
                                       "digits, which Excel cannot hold exactly: format the column as text")
    for name in COLUMNS_REQUIRED:
        if not fields.get(name):
            return REASON_MISSING_FIELD, f"{name} is empty"
    if household_number is None:
        return REASON_INVALID_HOUSEHOLD_NUMBER, "household_number: " + ROW_REASONS[REASON_INVALID_HOUSEHOLD_NUMBER]
    region = fields["region"]
    if not REGION_PATTERN.fullmatch(region) or not is_region_code(region):
        return REASON_INVALID_REGION, "region is not a GB/T 2260 code of 6 or 9 digits"
    if not id_valid:
        return REASON_INVALID_ID_NUMBER, "id_number: " + ROW_REASONS[REASON_INVALID_ID_NUMBER]
    for name, characters_max in TEXT_CHARACTERS_MAX.items():
        value = fields.get(name, "")
        if not _is_unicode(value):
            return REASON_INVALID_TEXT, f"{name} is not valid Unicode text"
        if len(value) > characters_max:
            return REASON_FIELD_TOO_LONG, f"{name} is longer than {characters_max} characters"
    if fields.get("birth_date") and _parse_birth_date(fields["birth_date"]) is None:
        return REASON_INVALID_BIRTH_DATE, "birth_date is not a real date written YYYY-MM-DD"
    return None


def _is_unicode(text: str) -> bool:
    if text.isascii():
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _parse_birth_date(text: str) -> str | None:
    """``YYYY-MM-DD`` of a real date written ``YYYY-MM-DD`` or ``YYYY/M/D``; None otherwise."""
    match = BIRTH_DATE_PATTERN.fullmatch(text)
    if match is None:
        return None
    year, month, day = (int(part) for part in match.groups())
    return f"{year:04d}-{month:02d}-{day:02d}" if is_real_date(year, month, day) else None


def _list_rejections(collection: _Collection) -> tuple[list[_Household], list[RejectedRow]]:
    """Households that passed every check, and every row the checks refused."""
    accepted, rejected = [], list(collection.orphans)
    for household in collection.households.values():
        if household.failure is None:
            accepted.append(household)
            continue
        failed_row, failed_reason = household.failure
        whole = (REASON_HOUSEHOLD_TOO_LARGE, f"household {household.number} has {len(household.persons)} members; "
                                             f"at most {limits.HOUSEHOLD_MEMBERS_MAX}")
        if failed_reason != REASON_HOUSEHOLD_TOO_LARGE:
            whole = (REASON_HOUSEHOLD_REJECTED, f"household {household.number} is refused: row {failed_row} {failed_reason}")
        for person in household.persons:
            reason, message = collection.bad_rows.get(person[0], whole)
            rejected.append(RejectedRow(person[0], household.number, reason, message))
    return accepted, rejected


# Registering ---------------------------------------------------------------------------------------


@dataclass
class _Ready:
    """A household that the committed ledger does not refuse, with its pseudonyms."""

    household: _Household
    pseudonym: str
    persons: list[str]
    """Pseudonyms of its persons, head first."""


@dataclass
class _Prepared:
    """A household stored in the vault and signed, on its way to the ledger."""

    household: _Household
    envelope: Envelope
    record_ids: list[str]


class _CommitWatcher:
    """Learns the result code of our transactions from each committed block, as it commits.

    ``Node.wait_for_final_status`` builds two Merkle proofs a call, which for a thousand-member
    block costs milliseconds; the block's stored results answer every id of the block at once.
    """

    def __init__(self, node: Node) -> None:
        self.node = node
        self.waiting: set[bytes] = set()
        self.codes: dict[bytes, ResultCode] = {}
        self.event = asyncio.Event()
        self.failure: str | None = None

    def __enter__(self) -> "_CommitWatcher":
        self.node.commit_listeners.append(self._on_block)
        return self

    def __exit__(self, *exception: Any) -> None:
        self.node.commit_listeners.remove(self._on_block)

    def _on_block(self, block: Any) -> None:
        # Runs inside the node's commit; it must never raise, or the node would halt.
        try:
            ours = [envelope.id for envelope in block.transactions if envelope.id in self.waiting]
            if not ours:
                return
            results = {bytes.fromhex(entry[0]): entry[1] for entry in self.node.store.get_block(block.header.height).results}
            for transaction_id in ours:
                self.codes[transaction_id] = ResultCode(results[transaction_id])
                self.waiting.discard(transaction_id)
            self.event.set()
        except Exception as error:  # noqa: BLE001 - reported to the waiting import instead
            self.failure = f"reading the results of block {block.header.height} failed: {error!r}"
            self.event.set()

    async def wait_for(self, transaction_ids: list[bytes]) -> None:
        """Return once every id has its result code; raise if the node halts or stalls."""
        while True:
            if self.failure is not None:
                raise CaseworkError(self.failure, code="import_failed", status=500)
            if all(transaction_id in self.codes for transaction_id in transaction_ids):
                return
            if self.node.halted:
                raise CaseworkError(f"the node halted: {self.node.halted}", code="halted", status=503)
            self.event.clear()
            try:
                await asyncio.wait_for(self.event.wait(), SETTLE_STALL_S)
            except asyncio.TimeoutError:
                raise CaseworkError(f"no block settled the import's transactions for {SETTLE_STALL_S:.0f} s; "
                                    "ask for their status later", code="timeout", status=503) from None


class _Registrar:
    """Registers checked households in batches, and records what became of each."""

    def __init__(self, casework: Casework, actor: StaffMember, member: dict[str, Any], total: int,
                 progress: ProgressCallback | None) -> None:
        self.casework = casework
        self.node = casework.node
        self.actor = actor
        self.member_region: str = member["region"]
        self.total = total
        self.progress = progress
        self.settled = 0
        self.households_registered = 0
        self.persons_registered = 0
        self.rejected: list[RejectedRow] = []
        self.destroyed = 0

    async def register(self, households: list[_Household], batch_households: int) -> None:
        in_flight: collections.deque[list[_Prepared]] = collections.deque()
        with _CommitWatcher(self.node) as watcher:
            for start in range(0, len(households), batch_households):
                batch = self._screen(households[start:start + batch_households])
                prepared = self._prepare(batch)
                in_flight.append(await self._submit(prepared, in_flight, watcher))
                while len(in_flight) >= BATCHES_IN_FLIGHT_MAX:
                    await self._settle(in_flight.popleft(), watcher)
            while in_flight:
                await self._settle(in_flight.popleft(), watcher)

    def _screen(self, households: list[_Household]) -> list[_Ready]:
        """Refuse, before writing anything, households the committed ledger would refuse.

        The ledger checks again when it executes each step (another desk may register the same
        people meanwhile); this spares the vault writes that would then be undone.
        """
        suite, network_key, store = self.node.suite, self.casework.network_key, self.node.store
        ready = []
        for household in households:
            code, message = None, ""
            pseudonym = compute_household_pseudonym(suite, network_key, household.number)
            persons = [compute_person_pseudonym(suite, network_key, person[1]) for person in household.persons]
            if not is_within(household.region, self.member_region):
                code, message = ResultCode.NOT_AUTHORISED, f"region {household.region} is outside the importer's region {self.member_region}"
            elif store.get(get_household_key(pseudonym)) is not None:
                code, message = ResultCode.HOUSEHOLD_EXISTS, f"household {household.number} is already registered"
            else:
                for person, row in zip(persons, household.persons):
                    record = store.get(get_person_key(person))
                    if record is not None:
                        code = ResultCode.PERSON_IN_ANOTHER_HOUSEHOLD if record["status"] == "alive" else ResultCode.PERSON_DECEASED
                        message = f"the person on row {row[0]} is already registered ({code.label})"
                        break
            if code is None:
                ready.append(_Ready(household, pseudonym, persons))
            else:
                self._reject(household, code.label, message)
        return ready

    def _prepare(self, batch: list[_Ready]) -> list[_Prepared]:
        """Vault records for every household of the batch (one transaction), then signed steps."""
        owner = self.casework.organisation
        items = []
        for ready in batch:
            for pseudonym, person in zip(ready.persons, ready.household.persons):
                items.append({"subject": pseudonym, "kind": "person", "owner": owner, "record": _make_person_record(person)})
            items.append({"subject": ready.pseudonym, "kind": "household", "owner": owner,
                          "record": {"address": ready.household.address, "household_number": ready.household.number}})
        receipts = self.casework.vault.put_many(items) if items else []
        valid_until = max(self.node.clock_ms(), self.node.tip.time_ms) + VALIDITY_MS
        chain, key = self.node.genesis.chain_id, self.actor.key
        prepared, offset = [], 0
        for ready in batch:
            own = receipts[offset:offset + len(ready.persons) + 1]
            offset += len(own)
            members = [{"person": person, "record_commitment": receipt.commitment} for person, receipt in zip(ready.persons, own)]
            args = {"head": ready.persons[0], "household": ready.pseudonym, "members": members,
                    "record_commitment": own[-1].commitment, "region": ready.household.region}
            body = TransactionBody(chain, "registry", "register_household", args, key.public_key, secrets.token_hex(8), valid_until)
            prepared.append(_Prepared(ready.household, sign_transaction(key.suite, key.seed, body), [receipt.record_id for receipt in own]))
        return prepared

    async def _submit(self, prepared: list[_Prepared], in_flight: collections.deque, watcher: _CommitWatcher) -> list[_Prepared]:
        """Hand the batch to the node; answer the households now waiting for a block."""
        watcher.waiting.update(item.envelope.id for item in prepared)
        try:
            answers = await self._submit_when_room(prepared, in_flight, watcher)
        except LedgerInputError:
            # Busy or halted: the node refused the whole batch before accepting any of it, so its
            # vault records can go. Any other interruption (cancellation) may come after the node
            # wrote the batch to its durable mempool: those records stay, as they may yet commit.
            watcher.waiting.difference_update(item.envelope.id for item in prepared)
            for item in prepared:
                self._destroy(item.record_ids)
            raise
        waiting = []
        for item, answer in zip(prepared, answers):
            if isinstance(answer, LedgerInputError):
                watcher.waiting.discard(item.envelope.id)
                self._finish(item, None, answer.code, f"the node refused household {item.household.number}: {answer.code}")
            elif answer.status["status"] in ("committed", "rejected"):
                watcher.waiting.discard(item.envelope.id)
                watcher.codes[item.envelope.id] = ResultCode(answer.status["code"])
                waiting.append(item)
            else:
                waiting.append(item)
        return waiting

    async def _submit_when_room(self, prepared: list[_Prepared], in_flight: collections.deque, watcher: _CommitWatcher) -> list:
        """``submit_envelopes``, settling earlier batches while the node says it is busy."""
        waited_s = 0.0
        while True:
            try:
                return await self.node.submit_envelopes([item.envelope for item in prepared])
            except NodeBusy:
                if in_flight:
                    await self._settle(in_flight.popleft(), watcher)
                    continue
                if waited_s >= SETTLE_STALL_S:
                    raise
                await asyncio.sleep(BUSY_RETRY_S)
                waited_s += BUSY_RETRY_S

    async def _settle(self, batch: list[_Prepared], watcher: _CommitWatcher) -> None:
        """Wait for the batch's final statuses; count what committed, undo and report what did not."""
        await watcher.wait_for([item.envelope.id for item in batch])
        for item in batch:
            code = watcher.codes.pop(item.envelope.id)
            if code.is_committed:
                self._finish(item, code, None, None)
            else:
                self._finish(item, code, code.label, f"the ledger refused household {item.household.number}: {code.label}")

    def _finish(self, item: _Prepared, code: ResultCode | None, reason: str | None, message: str | None) -> None:
        if code is not None and code.is_committed:
            self.households_registered += 1
            self.persons_registered += len(item.household.persons)
            self._advance()
            return
        self._destroy(item.record_ids)
        self._reject(item.household, reason or "refused", message or "")

    def _reject(self, household: _Household, reason: str, message: str) -> None:
        self.rejected.extend(RejectedRow(person[0], household.number, reason, message) for person in household.persons)
        self._advance()

    def _destroy(self, record_ids: list[str]) -> None:
        for record_id in record_ids:
            self.casework.vault.destroy(record_id, compact=False)
        self.destroyed += len(record_ids)

    def _advance(self) -> None:
        self.settled += 1
        if self.progress is not None and (self.settled % 100 == 0 or self.settled == self.total):
            self.progress(STAGE_REGISTERING, self.settled, self.total)


def _make_person_record(person: tuple[int, str, str, str, str, str]) -> dict[str, str]:
    """A person's vault record: what the file said of them (optional columns only when given)."""
    _, id_number, name, relation, birth_date, disability = person
    record = {"id_number": id_number, "name": name, "relation": relation}
    if birth_date:
        record["birth_date"] = birth_date
    if disability:
        record["disability"] = disability
    return record


def _require_registrar(casework: Casework, actor: StaffMember) -> dict[str, Any]:
    """The actor's member record, when they may register households at all (checked once, up front)."""
    member = casework.get_member(actor)
    if not set(REGISTRARS).intersection(member["roles"]):
        raise CaseworkError(f"registering households needs one of the roles {', '.join(REGISTRARS)}", code="not_authorised", status=403)
    return member


async def import_households(casework: Casework, actor: StaffMember, rows: Iterable[ImportRow], *,
                            batch_households: int = BATCH_HOUSEHOLDS_DEFAULT,
                            progress: ProgressCallback | None = None) -> ImportReport:
    """Register the households of ``rows`` (usually ``read_rows(path)``) as ``actor``; report every refusal.

    All rows are read and checked first; nothing is written unless the file can be read to its
    end. Raises ``ImportFileError`` for a file that cannot be read, ``CaseworkError`` when
    ``actor`` is not an active member with the caseworker or admin role (``not_a_member``,
    ``not_authorised``, before anything is written) and, if the node halts or stops committing
    mid-import, ``halted`` / ``timeout``: batches already submitted then stay with the node, which
    commits or refuses them from its durable mempool; re-running the import reports the committed
    households as ``household_exists``.

    ``batch_households`` (1 to ``BATCH_HOUSEHOLDS_MAX``) households are stored, signed and
    submitted together; ``progress(stage, completed, total)`` is called as rows are read
    (``reading``) and as households settle (``registering``).
    """
    if type(batch_households) is not int or not 1 <= batch_households <= BATCH_HOUSEHOLDS_MAX:
        raise LedgerInputError(f"batch_households must be 1 to {BATCH_HOUSEHOLDS_MAX}", code="invalid_batch")
    member = _require_registrar(casework, actor)
    batch_households = min(batch_households, max(1, casework.node.pending_transactions_max // BATCHES_IN_FLIGHT_MAX))
    collection = _collect_rows(rows, progress)
    accepted, refused = _list_rejections(collection)
    logger.info("household import: %d rows read, %d households pass the file's checks, %d rows refused by them",
                collection.rows, len(accepted), len(refused))
    registrar = _Registrar(casework, actor, member, len(accepted), progress)
    if progress is not None:
        progress(STAGE_REGISTERING, 0, len(accepted))
    await registrar.register(accepted, batch_households)
    warnings = []
    if registrar.destroyed:
        try:
            casework.vault.compact()
        except LedgerInputError as error:
            warnings.append(f"the vault records of refused households were destroyed but the vault is not compacted yet: {error}")
            logger.warning("household import: %s", warnings[-1])
    rejected = sorted([*refused, *registrar.rejected], key=lambda item: item.row_number)
    report = ImportReport(
        rows=collection.rows,
        households_registered=registrar.households_registered,
        persons_registered=registrar.persons_registered,
        households_rejected=len({item.household_number for item in rejected if item.household_number}),
        rows_rejected=len(rejected),
        rejected=tuple(rejected),
        warnings=tuple(warnings),
    )
    require(report.rows == report.persons_registered + report.rows_rejected,
            "every row of an import is either registered or reported as refused")
    logger.info("household import: %d households (%d persons) registered, %d households (%d rows) refused",
                report.households_registered, report.persons_registered, report.households_rejected, report.rows_rejected)
    return report


__all__ = [
    "BATCH_HOUSEHOLDS_DEFAULT",
    "BATCH_HOUSEHOLDS_MAX",
    "COLUMNS_OPTIONAL",
    "COLUMNS_REQUIRED",
    "ImportFileError",
    "ImportReport",
    "ImportRow",
    "ProgressCallback",
    "ROW_REASONS",
    "RejectedRow",
    "STAGE_READING",
    "STAGE_REGISTERING",
    "import_households",
    "read_rows",
]
