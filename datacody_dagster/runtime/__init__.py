"""What runs at materialization time: loaders, dbt invocation, outputs and their metadata."""
