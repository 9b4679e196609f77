"""Incremental export of the ledger's projections to Parquet: the analytics store.

Every state row carries the height of its last write, so an export reads only the records written
since the previous one (``iterate_state_changed``), inside one read snapshot, and appends one
Parquet *part* per table: ``FOLDER/<table>/part-<from>-<to>.parquet``. A row carries its record's
key (``_key``) and that height (``_height``): a record exported again (a case that moved on, a
pending transfer posted) appears in a newer part, and queries keep the newest row of each key.
``compact`` folds a table's parts into one, after which queries need no deduplication.

A record that now gives no rows (a case whose means-test answers an objection wiped) leaves a
*marker* row (``_deleted``) in the newer part, so its older rows stop counting.

Nothing is lost on a crash: parts are written to a temporary name, synced and renamed, and the
manifest, which says what height of which chain is exported and which parts count, is replaced
last (write, fsync, rename, fsync of the folder). A part the manifest does not list is ignored,
and deleted by the next export or compaction. One export or compaction at a time: both hold an
exclusive lock on ``FOLDER/.lock``.
"""

import contextlib
import fcntl
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

import pyarrow
import pyarrow.parquet

from reliefledger.analytics.projections import PROJECTIONS, Projection
from reliefledger.store.block_store import BlockStore

MANIFEST = "manifest.json"
BATCH_ROWS = 100_000
"""Rows held in memory before they are written to the part (bounds memory at any size)."""

ARROW_TYPES = {"VARCHAR": pyarrow.string(), "BIGINT": pyarrow.int64(), "INTEGER": pyarrow.int32(), "BOOLEAN": pyarrow.bool_()}


class AnalyticsError(Exception):
    """The analytics store cannot do what was asked (no export yet, a damaged manifest, ...)."""


@dataclass
class ExportReport:
    """What one export added."""

    from_height: int
    to_height: int
    rows: dict[str, int] = field(default_factory=dict)
    parts: list[str] = field(default_factory=list)


def get_schema(projection: Projection) -> pyarrow.Schema:
    """The Arrow schema of a table: its columns, then ``_key``, ``_height`` and ``_deleted``."""
    return pyarrow.schema([*((name, ARROW_TYPES[kind]) for name, kind in projection.columns), ("_key", pyarrow.string()), ("_height", pyarrow.int64()),
                           ("_deleted", pyarrow.bool_())])


@contextlib.contextmanager
def hold_lock(folder: Path) -> Any:
    """The folder's exclusive lock (waits for an export or compaction under way to finish)."""
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / ".lock", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def sync_folder(folder: Path) -> None:
    """Make a rename in ``folder`` durable."""
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def remove_unlisted(folder: Path, manifest: dict[str, Any]) -> None:
    """Delete parts the manifest does not list and temporary files (left by a crash)."""
    for projection in PROJECTIONS:
        table = folder / projection.table
        if not table.is_dir():
            continue
        listed = set(manifest["parts"].get(projection.table, []))
        for path in table.iterdir():
            if path.name not in listed:
                path.unlink(missing_ok=True)


def read_manifest(folder: Path) -> dict[str, Any]:
    """The manifest (height exported, parts per table), or an empty one before the first export."""
    path = folder / MANIFEST
    if not path.exists():
        return {"chain": None, "height": 0, "parts": {projection.table: [] for projection in PROJECTIONS}}
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
        if type(manifest.get("height")) is not int or type(manifest.get("parts")) is not dict:
            raise ValueError("height and parts")
    except ValueError as error:
        raise AnalyticsError(f"{path} is damaged ({error}); delete the folder and export again") from None
    for projection in PROJECTIONS:
        manifest["parts"].setdefault(projection.table, [])
    return manifest


def write_manifest(folder: Path, manifest: dict[str, Any]) -> None:
    """Replace the manifest atomically: a crash leaves the old one or the new one, whole."""
    temporary = folder / (MANIFEST + ".tmp")
    with open(temporary, "w", encoding="utf-8") as handle:
        json.dump(manifest, handle, indent=1, sort_keys=True)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, folder / MANIFEST)
    sync_folder(folder)


def write_part(path: Path, schema: pyarrow.Schema, rows: Iterator[dict[str, Any]]) -> int:
    """Write rows to one Parquet file in batches (temporary name, then rename); answers the count."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    count = 0
    with pyarrow.parquet.ParquetWriter(temporary, schema, compression="zstd") as writer:
        batch: list[dict[str, Any]] = []
        for row in rows:
            batch.append(row)
            if len(batch) >= BATCH_ROWS:
                writer.write_table(pyarrow.Table.from_pylist(batch, schema=schema))
                count += len(batch)
                batch = []
        if batch:
            writer.write_table(pyarrow.Table.from_pylist(batch, schema=schema))
            count += len(batch)
    with open(temporary, "rb") as handle:
        os.fsync(handle.fileno())
    os.replace(temporary, path)
    return count


def mark_rows(projection: Projection, changed: Iterator[tuple[str, Any, int]], lookup: Any) -> Iterator[dict[str, Any]]:
    """Each changed record's rows with its key and height; a record that now gives no rows gives
    one deletion marker instead, so its older rows stop counting."""
    for key, record, height in changed:
        rows = list(projection.to_rows(key, record, lookup))
        if not rows:
            yield {"_key": key, "_height": height, "_deleted": True}
        for row in rows:
            yield dict(row, _key=key, _height=height, _deleted=False)


def export_projections(store_path: Path, folder: Path, progress: Callable[[str, int], None] | None = None) -> ExportReport:
    """Export what changed since the last export, up to the store's tip; answers what was added."""
    with hold_lock(folder):
        return _export(store_path, folder, progress)


def _export(store_path: Path, folder: Path, progress: Callable[[str, int], None] | None) -> ExportReport:
    manifest = read_manifest(folder)
    remove_unlisted(folder, manifest)
    store = BlockStore(store_path, read_only=True)
    try:
        with store.read_snapshot():
            tip = store.get_tip_height()
            chain = store.get_genesis().compute_hash().hex()
            if manifest.get("chain") not in (None, chain):
                raise AnalyticsError(f"{folder} holds another chain's export (genesis {manifest['chain'][:16]}…): export into a new folder")
            manifest["chain"] = chain
            report = ExportReport(manifest["height"], tip)
            if tip < manifest["height"]:
                raise AnalyticsError(f"the store is at height {tip}, below the {manifest['height']} already exported: is this the same chain?")
            if tip == manifest["height"]:
                return report
            cache: dict[tuple[str, tuple[str, ...]], dict[str, Any]] = {}

            def lookup(key: str, fields: tuple[str, ...]) -> dict[str, Any]:
                if (key, fields) not in cache:
                    record = store.get(key) or {}
                    cache[(key, fields)] = {name: record.get(name) for name in fields} if record else {}
                return cache[(key, fields)]

            for projection in PROJECTIONS:
                name = f"part-{manifest['height'] + 1:012d}-{tip:012d}.parquet"
                changed = store.iterate_state_changed(projection.prefix, manifest["height"], tip)
                rows = mark_rows(projection, changed, lookup)
                count = write_part(folder / projection.table / name, get_schema(projection), rows)
                report.rows[projection.table] = count
                if count:
                    manifest["parts"][projection.table].append(name)
                    report.parts.append(f"{projection.table}/{name}")
                else:
                    (folder / projection.table / name).unlink()
                if progress is not None:
                    progress(projection.table, count)
    finally:
        store.close()
    manifest["height"] = tip
    write_manifest(folder, manifest)
    return report


def compact(folder: Path, table: str) -> int:
    """Fold a table's parts into one, keeping the newest rows of every key (deletion markers are
    dropped: nothing older is left to shadow); answers the rows kept."""
    with hold_lock(folder):
        return _compact(folder, table)


def _compact(folder: Path, table: str) -> int:
    import duckdb

    from reliefledger.analytics.queries import get_table_query

    manifest = read_manifest(folder)
    remove_unlisted(folder, manifest)
    projection = next((item for item in PROJECTIONS if item.table == table), None)
    if projection is None:
        raise AnalyticsError(f"no table {table!r}; the tables are {', '.join(item.table for item in PROJECTIONS)}")
    parts = manifest["parts"][table]
    if len(parts) <= 1:
        return 0 if not parts else int(pyarrow.parquet.ParquetFile(folder / table / parts[0]).metadata.num_rows)
    name = f"compact-{manifest['height']:012d}.parquet"
    temporary = folder / table / (name + ".tmp")
    connection = duckdb.connect()
    try:
        target = str(temporary).replace("'", "''")
        connection.execute(f"COPY ({get_table_query(folder, table, parts)}) TO '{target}' (FORMAT parquet, COMPRESSION zstd)")
    finally:
        connection.close()
    with open(temporary, "rb") as handle:
        os.fsync(handle.fileno())
    os.replace(temporary, folder / table / name)
    sync_folder(folder / table)
    kept = int(pyarrow.parquet.ParquetFile(folder / table / name).metadata.num_rows)
    manifest["parts"][table] = [name]
    write_manifest(folder, manifest)
    for old in parts:
        if old != name:
            (folder / table / old).unlink(missing_ok=True)
    return kept
