"""profond.labs."""
