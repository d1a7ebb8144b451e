"""Entry point of the `datacody` CLI. Commands live in one module each and register here.

Heavy imports (dagster, dbt, dvc) happen inside the commands that need them, so
`datacody validate` stays fast.
"""

from __future__ import annotations

import importlib
import warnings

import typer

# Dagster flags beta APIs (code references, selection options) at every use; users of the CLI
# cannot act on these, so keep them off the terminal.
warnings.filterwarnings("ignore", message=r".*is currently in (beta|preview).*")

app = typer.Typer(
    name="datacody",
    help="Declarative asset specs -> Dagster assets and dbt models, checked and versioned.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

# Each module exposes `register(app)`. Keep this list sorted.
COMMAND_MODULES: tuple[str, ...] = (
    "datacody_dagster.cli.apply_cmd",
    "datacody_dagster.cli.ask_cmd",
    "datacody_dagster.cli.check_cmd",
    "datacody_dagster.cli.checkout_cmd",
    "datacody_dagster.cli.compile_cmd",
    "datacody_dagster.cli.ddl_cmd",
    "datacody_dagster.cli.diff_cmd",
    "datacody_dagster.cli.env_cmd",
    "datacody_dagster.cli.example_data_cmd",
    "datacody_dagster.cli.feedback_cmd",
    "datacody_dagster.cli.history_cmd",
    "datacody_dagster.cli.init_cmd",
    "datacody_dagster.cli.materialize_cmd",
    "datacody_dagster.cli.metrics_cmd",
    "datacody_dagster.cli.optimize_cmd",
    "datacody_dagster.cli.plan_cmd",
    "datacody_dagster.cli.proposals_cmd",
    "datacody_dagster.cli.propose_cmd",
    "datacody_dagster.cli.quarantine_cmd",
    "datacody_dagster.cli.scaffold_cmd",
    "datacody_dagster.cli.schema_cmd",
    "datacody_dagster.cli.suggest_cmd",
    "datacody_dagster.cli.validate_cmd",
    "datacody_dagster.cli.versions_cmd",
)

for _module in COMMAND_MODULES:
    importlib.import_module(_module).register(app)


def main() -> None:
    from datacody_dagster.runtime.process_gc import skip_final_collection

    try:
        app()
    finally:
        skip_final_collection()  # ~0.8 s of exit after a run (runtime/process_gc.py)


if __name__ == "__main__":
    main()
