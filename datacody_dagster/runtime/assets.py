"""Dagster asset definitions for each kind of plan node (the execution side)."""

import contextlib
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import dagster as dg

from datacody_dagster.compiler import CompiledProject
from datacody_dagster.compiler.plan import Node
from datacody_dagster.emit.dagster import (
    WRITER_TAG,
    asset_spec_for,
    check_specs_for,
    duckdb_pool,
    run_key,
)
from datacody_dagster.errors import DatacodyError
from datacody_dagster.runtime.check_only import check_current_output
from datacody_dagster.runtime.dbt_staging import reads_views, repoint_views, staged_candidate, staging_dbt
from datacody_dagster.runtime.finalize import Audited, Finalized, audit, complete, finalize
from datacody_dagster.runtime.prod_writes import holding_prod_lock
from datacody_dagster.runtime.staging import drop_stage, stage_path

DBT_STEP_KEY = "datacody_dbt_models"
"""The step of the one multi-asset that runs every dbt model."""


def step_key(node: Node) -> str:
    """The step (op) that materializes ``node``, unless dbt runs it (:data:`DBT_STEP_KEY`)."""
    return f"{node.kind}__{node.name}"


def _fail(exc: DatacodyError, node: Node) -> dg.Failure:
    """A step failure whose message names the spec location of the asset."""
    lines = [(d if d.location else replace(d, location=node.location)).format() for d in exc.diagnostics]
    return dg.Failure(description="\n".join(lines))


def _quarantine_failure(done: Finalized, node: Node) -> dg.Failure:
    """The step failure of a quarantined candidate: what failed, where the candidate is."""
    entry = done.quarantine
    assert entry is not None
    return dg.Failure(
        description=(
            f"{node.name}: blocking checks failed ({', '.join(done.blocking_failures)}); the published "
            f"output is unchanged and the candidate is quarantined at {entry.relpath} "
            f"(`datacody quarantine show {node.name}`)"
        ),
        metadata={
            "datacody/quarantine": entry.relpath,
            "datacody/quarantine_rows": entry.rows if entry.rows is not None else -1,
            "datacody/blocking_failures": ", ".join(done.blocking_failures),
        },
    )


def uses_spark(node: Node) -> bool:
    """Nodes whose work runs on Spark (sources and Python assets are written by datacody)."""
    return node.engine == "spark" and node.kind in ("sql", "steps") and not node.is_source


@contextlib.contextmanager
def _spark_work(context: dg.AssetExecutionContext, node: Node) -> Iterator[Any]:
    """The ``spark`` resource's session for a Spark node (None otherwise); a failure while the
    master or Connect server is gone becomes an error naming its URL."""
    if not uses_spark(node):
        yield None
        return
    from datacody_dagster.engines.spark import cluster_errors

    resource = context.resources.spark
    with cluster_errors(resource.spark_config, resource.connect_timeout_s):
        yield resource.spark_session


def _duckdb_reader(project: CompiledProject, node: Node) -> dict[str, Any]:
    """The writer tag and pool for a step that reads a DuckDB view: it opens the database file,
    which fails while another process writes it, so it waits its turn like the writers."""
    views = [d for d in node.deps if project.plan.node(d).is_dbt_view]
    return {"op_tags": {WRITER_TAG: "duckdb"}, "pool": duckdb_pool(project)} if views else {}


def _single_node_asset(project: CompiledProject, node: Node, produce) -> dg.AssetsDefinition:  # type: ignore[no-untyped-def]
    """A one-asset definition whose body writes a candidate with ``produce(project, node, staged,
    context, spark)`` (``spark``: the ``spark`` resource's session for Spark nodes, else None).

    The candidate is audited, then published or quarantined (write-audit-publish). A run that
    selects only the asset's checks evaluates them on the current output and writes nothing.
    """

    @dg.multi_asset(
        name=step_key(node),
        specs=[asset_spec_for(project, node)],
        check_specs=check_specs_for(node, project),
        can_subset=True,
        required_resource_keys={"spark"} if uses_spark(node) else None,
        **_duckdb_reader(project, node),
    )
    @holding_prod_lock(project)
    def _asset(
        context: dg.AssetExecutionContext,
    ) -> Iterator[dg.MaterializeResult | dg.AssetCheckResult]:
        if run_key(project, node.name) not in context.selected_asset_keys:
            yield from check_current_output(context, project, node)
            return
        started = time.monotonic()
        staged = stage_path(project, node)
        try:
            with _spark_work(context, node) as spark:
                extra = produce(project, node, staged, context, spark) or {}
            done = finalize(context, project, node, started, extra, staged=staged)
        except DatacodyError as exc:
            drop_stage(staged)
            raise _fail(exc, node) from None
        except BaseException:
            drop_stage(staged)
            raise
        yield from done.events()
        if done.quarantine is not None:
            raise _quarantine_failure(done, node)

    return _asset


def input_files_metadata(project: CompiledProject, node: Node) -> dict[str, object]:
    """The signature of the files outside the warehouse a node reads (see runtime/input_files.py)."""
    from datacody_dagster.runtime import input_files

    sig = input_files.signature(project, node)
    return {input_files.METADATA_KEY: dg.MetadataValue.json(sig.as_json())} if sig else {}


def source_asset(project: CompiledProject, node: Node) -> dg.AssetsDefinition:
    from datacody_dagster.runtime.source_contract import ACCEPT_SCHEMA_CHANGE_TAG, enforce_contract
    from datacody_dagster.runtime.sources import load_source

    def produce(
        project: CompiledProject, node: Node, staged: Path, context: dg.AssetExecutionContext, _: Any
    ) -> dict[str, object]:
        inputs = input_files_metadata(project, node)  # before reading: a later write is a change
        load_source(project, node, staged)
        accept = context.run.tags.get(ACCEPT_SCHEMA_CHANGE_TAG) == "1"
        enforce_contract(project, node, staged, accept_change=accept)
        return {"datacody/source_path": dg.MetadataValue.text(node.source_path or ""), **inputs}

    return _single_node_asset(project, node, produce)


def python_asset(project: CompiledProject, node: Node) -> dg.AssetsDefinition:
    from datacody_dagster.runtime.python_assets import run_python_asset

    def produce(project: CompiledProject, node: Node, staged: Path, _: object, __: Any) -> dict[str, object]:
        inputs = input_files_metadata(project, node)
        run_python_asset(project, node, staged)
        return inputs

    return _single_node_asset(project, node, produce)


def steps_asset(project: CompiledProject, node: Node) -> dg.AssetsDefinition:
    def produce(
        project: CompiledProject, node: Node, staged: Path, _: object, spark: Any
    ) -> dict[str, object]:
        from datacody_dagster.steps import run_steps_asset

        assert node.from_asset is not None
        upstream = project.plan.node(node.from_asset)
        has_output_step = any("output" in step for step in node.steps)
        meta = run_steps_asset(
            project.output_path(upstream),
            node.steps,
            staged,
            engine=node.engine,
            spark=spark,
            partition_by=() if has_output_step else node.partition_by,
        )
        return {f"datacody/steps/{k}": v for k, v in (meta or {}).items()}

    return _single_node_asset(project, node, produce)


def spark_sql_asset(project: CompiledProject, node: Node) -> dg.AssetsDefinition:
    def produce(project: CompiledProject, node: Node, staged: Path, _: object, spark: Any) -> None:
        from datacody_dagster.engines.spark import materialize_sql

        assert node.sql is not None
        from datacody_dagster.engines.sandbox import require_inside

        inputs = {d: project.output_path(project.plan.node(d)) for d in node.deps}
        # Spark has no sandbox of its own: every path is resolved and checked before it gets one.
        require_inside(project, [*inputs.values(), project.output_path(node), staged], node.location)
        materialize_sql(node.sql, inputs, staged, spark)

    return _single_node_asset(project, node, produce)


def _no_export_producer(project: CompiledProject, node: Node, *_: Any) -> None:
    raise DatacodyError(
        f"export `{node.name}` needs MetricFlow: build the assets with "
        "`datacody_dagster.definitions.build_definitions`"
    )


def _batches(nodes: list[Node]) -> list[list[Node]]:
    """Split a topologically ordered selection into dbt invocations.

    A node joins the current batch unless it reads a node of the batch that has blocking
    checks: those checks must pass before anything downstream is built.
    """
    batches: list[list[Node]] = []
    current: list[Node] = []
    in_current: dict[str, Node] = {}
    for node in nodes:
        gate = any(d in in_current and any(c.blocking for c in in_current[d].checks) for d in node.deps)
        if gate:
            batches.append(current)
            current, in_current = [], {}
        current.append(node)
        in_current[node.name] = node
    if current:
        batches.append(current)
    return batches


def dbt_assets(project: CompiledProject, nodes: list[Node]) -> dg.AssetsDefinition:
    """All dbt-backed SQL assets as one subsettable multi-asset; dbt runs at execution time."""
    from datacody_dagster.runtime.dbt_runner import run_models

    check_specs = [spec for node in nodes for spec in check_specs_for(node, project)]

    @dg.multi_asset(
        name=DBT_STEP_KEY,
        specs=[asset_spec_for(project, n) for n in nodes],
        check_specs=check_specs,
        can_subset=True,
        op_tags={WRITER_TAG: "duckdb"},
        pool=duckdb_pool(project),
    )
    @holding_prod_lock(project)
    def _dbt(
        context: dg.AssetExecutionContext,
    ) -> Iterator[dg.MaterializeResult | dg.AssetCheckResult]:
        from datacody_dagster.emit.files import sync_generated_files

        selected = [n for n in nodes if run_key(project, n.name) in context.selected_asset_keys]
        for node in nodes:  # checks selected without their asset: evaluate the current output
            if node not in selected:
                yield from check_current_output(context, project, node)
        if not selected:
            return
        sync_generated_files(project)
        stopped: dict[str, str] = {}
        errors: list[str] = []
        with staging_dbt(project, nodes, context.log):
            for batch in _batches(selected):
                runnable = []
                for node in batch:
                    blocker = next((d for d in node.deps if d in stopped), None)
                    if blocker:
                        stopped[node.name] = f"upstream `{blocker}` did not pass"
                        context.log.warning(f"skipping {node.name}: {stopped[node.name]}")
                    else:
                        runnable.append(node)
                if not runnable:
                    continue
                results = run_models(project, [n.name for n in runnable], context.log)
                # the last node of the batch that reads through DuckDB views (-1: none)
                last_reader = max((i for i, n in enumerate(runnable) if reads_views(project, n)), default=-1)
                # The published outputs of the batch are versioned together (one hold of DVC's
                # lock); an error part-way still versions and reports the ones published before it.
                audited: list[Audited] = []
                failed: Exception | None = None
                try:
                    for i, node in enumerate(runnable):
                        res = results.get(node.name)
                        staged = staged_candidate(project, node)
                        if res is None or res.status != "success":
                            drop_stage(staged)
                            msg = res.message if res else "not run by dbt"
                            stopped[node.name] = f"dbt {res.status if res else 'error'}: {msg}"
                            errors.append(f"{node.name}: {msg}")
                            continue
                        extra = {"datacody/dbt_seconds": dg.MetadataValue.float(round(res.execution_time, 3))}
                        # Duration of this asset: its own dbt time plus its metadata and checks.
                        started = time.monotonic() - res.execution_time
                        done = audit(context, project, node, started, extra, staged=staged)
                        # Published or quarantined, the candidate left its staging name: point the
                        # node's DuckDB view back at the published output before a later node of the
                        # batch reads through views (else once, below: a write costs ~0.1 s).
                        if i < last_reader:
                            repoint_views(project, [node], context.log)
                        if isinstance(done, Audited):
                            audited.append(done)
                            if done.failures:  # a view's blocking failures (nothing to quarantine)
                                stopped[node.name] = "blocking checks failed: " + ", ".join(done.failures)
                            continue
                        stopped[node.name] = "blocking checks failed: " + ", ".join(done.blocking_failures)
                        if done.quarantine is not None:
                            errors.append(_quarantine_failure(done, node).description or node.name)
                        yield from done.events()
                except Exception as exc:
                    failed = exc
                try:
                    completed, version_error = complete(project, audited)
                    for finished in completed:
                        yield from finished.events()
                    if failed is not None:
                        raise failed
                    if version_error is not None:
                        raise version_error
                finally:
                    repoint_views(project, runnable, context.log)  # models dbt failed on, too
        if errors:
            raise dg.Failure(description="dbt models failed:\n" + "\n".join(errors))

    return _dbt


def build_assets(project: CompiledProject, export_producer: Any = None) -> list[dg.AssetsDefinition]:
    """One definition per source/Python/steps/Spark/export node, one multi-asset for dbt models.

    ``export_producer``: writes an export's candidate (``produce(project, node, staged, context,
    spark)``); MetricFlow lives above the runtime, so the code location passes it in.
    """
    defs: list[dg.AssetsDefinition] = []
    dbt_nodes: list[Node] = []
    for node in project.plan.nodes:
        if node.kind == "export":
            defs.append(_single_node_asset(project, node, export_producer or _no_export_producer))
        elif node.is_source:
            defs.append(source_asset(project, node))
        elif node.kind == "python":
            defs.append(python_asset(project, node))
        elif node.kind == "steps":
            defs.append(steps_asset(project, node))
        elif node.engine == "spark":
            defs.append(spark_sql_asset(project, node))
        else:
            dbt_nodes.append(node)
    if dbt_nodes:
        defs.append(dbt_assets(project, dbt_nodes))
    return defs
