"""profond.models."""
