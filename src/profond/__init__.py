"""profond: a deep-learning workbench that trains, tracks, serves and explains the course's networks."""

__version__ = "0.1.0"
