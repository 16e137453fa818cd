"""profond.compress."""
