"""The sub-commands of ``profond``, one module each.

Each module defines ``add_parser(subparsers) -> None``, which registers its sub-command and
sets ``func`` to a handler ``(args) -> int``. Building a parser imports nothing heavy: the
handlers import torch, mlflow and the rest when they run.
"""
