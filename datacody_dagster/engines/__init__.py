"""Execution engines: DuckDB (embedded default) and Spark (scale-out)."""
