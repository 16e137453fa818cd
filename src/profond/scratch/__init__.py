"""profond.scratch."""
