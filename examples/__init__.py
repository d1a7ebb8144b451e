"""Python transforms used by the example asset specs."""
