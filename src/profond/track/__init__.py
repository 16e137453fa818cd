"""profond.track."""
