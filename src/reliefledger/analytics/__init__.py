"""Analytics: the ledger's projections in Parquet, queried with DuckDB (``export``, ``queries``),
and the checks and models that assist people — never decide — built on them."""
