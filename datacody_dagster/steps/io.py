"""Reading step inputs with their row key, and writing step outputs (DuckDB engine).

The row key is ``file rank << 40 | row index in file`` where files are ranked by sorted
absolute path; the Spark engine computes the same key (see :mod:`.spark_io`).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from datacody_dagster.engines.atomic import discard, place, temp_sibling
from datacody_dagster.steps.base import ROW_KEY, ROW_KEY_FILE_SHIFT, step_error


def input_files(path: Path) -> list[Path]:
    """The Parquet files of an input (a file, or a folder read recursively), sorted."""
    path = Path(path).resolve()
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise step_error(f"step input {path} does not exist", "materialize the upstream asset first")
    return sorted(
        p
        for p in path.rglob("*.parquet")
        if not any(part.startswith((".", "_")) for part in p.relative_to(path).parts)
    )


def _sql_string(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def read_input(path: Path) -> pa.Table:
    """The input table with the hidden row-key column appended."""
    import duckdb

    files = [str(f) for f in input_files(path)]
    if not files:
        raise step_error(f"step input {path} holds no Parquet files")
    hive = Path(path).is_dir()
    con = duckdb.connect()
    try:
        listed = "[" + ", ".join(_sql_string(f) for f in files) + "]"
        return con.sql(
            "select * exclude (filename, file_row_number), "
            f"(list_position({listed}, filename) - 1)::bigint * {1 << ROW_KEY_FILE_SHIFT} "
            f"+ file_row_number::bigint as {ROW_KEY} "
            f"from read_parquet({listed}, filename = true, file_row_number = true, "
            f"hive_partitioning = {str(hive).lower()}, union_by_name = true)"
        ).to_arrow_table()
    finally:
        con.close()


def write_output(table: pa.Table, output: Path, partition_by: Sequence[str], compression: str) -> int:
    """Write ``table`` atomically: one file, or a hive-partitioned folder. Returns the file count."""
    codec = None if compression == "none" else compression
    tmp = temp_sibling(output)
    try:
        if partition_by:
            pq.write_to_dataset(
                table,
                tmp,
                partition_cols=list(partition_by),
                compression=codec,
                basename_template="part-{i}.parquet",
            )
            files = len(list(tmp.rglob("*.parquet")))
        else:
            pq.write_table(table, tmp, compression=codec)
            files = 1
        place(tmp, output)
    except BaseException:
        discard(tmp)
        raise
    return files
