"""profond.study."""
