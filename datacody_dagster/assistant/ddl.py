"""`datacody ddl`: the CREATE TABLE statement of an asset in a target dialect (sqlglot).

Column types come from the asset's Parquet output when it exists (DuckDB DESCRIBE, the types
actually stored), else from the spec's `columns:` contract.
"""

from __future__ import annotations

from pathlib import Path

from sqlglot import exp
from sqlglot.errors import ParseError

from datacody_dagster.compiler import CompiledProject
from datacody_dagster.compiler.plan import Node
from datacody_dagster.errors import DatacodyError

DIALECTS = ("duckdb", "postgres", "spark")


def _parquet_glob(path: Path) -> str | None:
    if path.is_file():
        return str(path)
    if path.is_dir() and any(path.rglob("*.parquet")):
        return str(path / "**" / "*.parquet")
    return None


def column_types(project: CompiledProject, node: Node) -> tuple[list[tuple[str, str]], str]:
    """``[(column, duckdb type)]`` and where they came from (``output`` or ``spec``)."""
    output = _parquet_glob(project.output_path(node))
    if output is not None:
        import duckdb

        con = duckdb.connect()
        try:
            rows = con.execute(
                "describe select * from read_parquet(?, hive_partitioning = true)", [output]
            ).fetchall()
        finally:
            con.close()
        return [(r[0], r[1]) for r in rows], "output"
    declared = [
        (c, node.column_types[c]) for c in (node.columns or node.column_types) if c in node.column_types
    ]
    if declared:
        return declared, "spec"
    raise DatacodyError(
        f"no column types for `{node.name}`: materialize it first (`datacody materialize -s {node.name}`) "
        "or declare `columns: {name: {type: ...}}` in its spec"
    )


def create_table(
    name: str, columns: list[tuple[str, str]], dialect: str, partition_by: tuple[str, ...] = ()
) -> str:
    """``CREATE TABLE name (...)`` in ``dialect`` from DuckDB type names."""
    if dialect not in DIALECTS:
        raise DatacodyError(f"unknown dialect `{dialect}` (use {', '.join(DIALECTS)})")
    defs = []
    for col, typ in columns:
        try:
            kind = exp.DataType.build(typ, dialect="duckdb")
        except (ParseError, ValueError):
            raise DatacodyError(f"column `{col}`: `{typ}` is not a type sqlglot understands") from None
        defs.append(exp.ColumnDef(this=exp.to_identifier(col), kind=kind))
    schema = exp.Schema(this=exp.to_table(name), expressions=defs)
    props: list[exp.Expression] = []
    if partition_by and dialect == "spark":
        props.append(exp.FileFormatProperty(this=exp.Var(this="PARQUET")))
        props.append(
            exp.PartitionedByProperty(
                this=exp.Schema(expressions=[exp.to_identifier(c) for c in partition_by])
            )
        )
    create = exp.Create(
        this=schema, kind="TABLE", properties=exp.Properties(expressions=props) if props else None
    )
    return create.sql(dialect=dialect, pretty=True) + ";"


def asset_ddl(project: CompiledProject, asset: str, dialect: str) -> tuple[str, str]:
    """The DDL of ``asset`` and the origin of its types."""
    try:
        node = project.plan.node(asset)
    except KeyError:
        raise DatacodyError(f"no asset `{asset}` (see `datacody validate`)") from None
    cols, origin = column_types(project, node)
    return create_table(asset, cols, dialect, node.partition_by), origin
