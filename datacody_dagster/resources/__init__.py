"""Thin Dagster resources (configuration and clients, no logic)."""
