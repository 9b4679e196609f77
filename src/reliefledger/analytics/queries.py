"""The analytics store's questions, asked with DuckDB over the exported Parquet parts.

``open_analytics`` gives a DuckDB connection with one view per table: the newest row of every
record key across the table's parts (a single, compacted part needs no deduplication). The named
queries are the ones the CLI (``reliefledger analytics query``) and the dashboard ask: coverage
by region and programme, money flows budget > household > merchant, timeliness against the
statutory deadlines, agency response times, and reports with their escalations.
"""

from pathlib import Path
from typing import Any

import duckdb

from reliefledger.analytics.export import AnalyticsError, read_manifest
from reliefledger.analytics.projections import PROJECTIONS

QUERIES: dict[str, str] = {
    "coverage": """
        SELECT region, programme, count(*) AS cases, sum(monthly_benefit_fen) AS monthly_benefit_fen
        FROM cases WHERE status IN ('enrolled', 'completed', 'paid_first') GROUP BY ALL ORDER BY ALL""",
    "flows": """
        SELECT split_part(flow, '>', 1) AS from_kind, split_part(flow, '>', 2) AS to_kind, split_part(flow, '>', 3) AS category, transfers, amount_fen
        FROM (SELECT flow, count(*) AS transfers, sum(posted_amount) AS amount_fen FROM transfers WHERE flow IS NOT NULL GROUP BY flow)
        ORDER BY amount_fen DESC, from_kind, to_kind, category""",
    "timeliness": """
        SELECT programme, region, count(*) AS cases,
               count(*) FILTER (first_visit_ms <= investigation_start_deadline_ms) AS investigation_met,
               count(*) FILTER (first_visit_ms > investigation_start_deadline_ms) AS investigation_late,
               count(*) FILTER (decided_ms <= county_decision_deadline_ms) AS decision_met,
               count(*) FILTER (decided_ms > county_decision_deadline_ms) AS decision_late,
               count(*) FILTER (decided_ms <= whole_process_deadline_ms) AS whole_process_met,
               count(*) FILTER (decided_ms > whole_process_deadline_ms) AS whole_process_late
        FROM cases GROUP BY ALL ORDER BY ALL""",
    "agencies": """
        SELECT record.agency, count(*) AS answers, count(answer.response_ms) AS timed,
               median(answer.response_ms) AS median_ms, quantile_disc(answer.response_ms, 0.9) AS p90_ms, max(answer.response_ms) AS max_ms
        FROM means_test_answers AS answer JOIN answer_records AS record USING (record_id)
        GROUP BY ALL ORDER BY ALL""",
    "escalations": """
        SELECT region, category, count(*) AS filed,
               count(*) FILTER (status IN ('filed', 'acknowledged', 'in_progress')) AS open,
               count(*) FILTER (status = 'resolved') AS resolved, sum(escalations) AS escalations,
               round(avg((acknowledged_ms - filed_ms) / 3600000.0), 1) AS mean_hours_to_acknowledge,
               round(avg((resolved_ms - filed_ms) / 3600000.0), 1) AS mean_hours_to_resolve
        FROM reports GROUP BY ALL ORDER BY ALL""",
}
"""The named questions; every one reads only the views of ``open_analytics``."""


def get_table_query(folder: Path, table: str, parts: list[str]) -> str:
    """SQL for a table's current rows: the newest rows of every record key over its parts, without
    the deletion markers (which only shadow older rows)."""
    projection = next(item for item in PROJECTIONS if item.table == table)
    if not parts:
        columns = ", ".join(f"CAST(NULL AS {kind}) AS {name}" for name, kind in projection.columns)
        return f"SELECT {columns}, CAST(NULL AS VARCHAR) AS _key, CAST(NULL AS BIGINT) AS _height, CAST(NULL AS BOOLEAN) AS _deleted WHERE false"
    files = ", ".join("'" + str(folder / table / part).replace("'", "''") + "'" for part in parts)
    live = " WHERE NOT _deleted"
    if len(parts) == 1:
        return f"SELECT * FROM read_parquet([{files}]){live}"
    return f"SELECT * FROM (SELECT * FROM read_parquet([{files}]) QUALIFY _height = max(_height) OVER (PARTITION BY _key)){live}"


def open_analytics(folder: Path, *, threads: int | None = None) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB connection with a view per table over the exported parts."""
    if not (folder / "manifest.json").exists():
        raise AnalyticsError(f"nothing exported to {folder} yet: run `reliefledger analytics export` first")
    manifest = read_manifest(folder)
    connection = duckdb.connect(config={"threads": threads} if threads else {})
    try:
        for projection in PROJECTIONS:
            connection.execute(f"CREATE VIEW {projection.table} AS {get_table_query(folder, projection.table, manifest['parts'][projection.table])}")
    except duckdb.Error as error:
        connection.close()
        raise AnalyticsError(f"the analytics store at {folder} cannot be read ({error}); delete the folder and export again") from None
    return connection


def run_query(connection: duckdb.DuckDBPyConnection, name: str) -> tuple[list[str], list[tuple[Any, ...]]]:
    """(column names, rows) of a named query."""
    if name not in QUERIES:
        raise AnalyticsError(f"no query {name!r}; the queries are {', '.join(sorted(QUERIES))}")
    result = connection.execute(QUERIES[name])
    return [column[0] for column in result.description], result.fetchall()
