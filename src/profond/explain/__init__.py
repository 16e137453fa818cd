"""profond.explain."""
