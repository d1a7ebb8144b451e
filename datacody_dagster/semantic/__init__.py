"""The semantic layer at run time: MetricFlow queries over the warehouse, and `ask`."""
