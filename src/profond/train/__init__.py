"""profond.train."""
