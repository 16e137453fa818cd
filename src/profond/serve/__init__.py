"""profond.serve."""
