"""Emitters: plan -> dbt files, Dagster definitions, JSON Schema."""
