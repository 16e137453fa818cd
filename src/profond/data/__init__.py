"""profond.data."""
