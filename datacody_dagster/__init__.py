"""datacody-dagster: declarative asset specs compiled to Dagster assets and dbt models.

Import the code location from ``datacody_dagster.definitions`` (``defs``) or build one for any
project root with ``datacody_dagster.definitions.build_definitions(root)``.
"""

__version__ = "0.1.0"
