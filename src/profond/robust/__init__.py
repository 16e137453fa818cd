"""profond.robust."""
