"""`python -m profond` (and `torchrun -m profond train ...`) runs the CLI."""

from profond.cli import main

raise SystemExit(main())
