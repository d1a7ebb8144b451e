"""Environments: per-environment state, the plan (what a spec change rebuilds and why), builds
into ``data/envs/NAME/``, promotion to prod and rollback."""
