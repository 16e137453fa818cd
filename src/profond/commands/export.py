"""``profond export``: write a trained model in a portable format (ONNX)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from profond.commands.common import add_tracking_uri
from profond.errors import ProfondError

FORMATS = ("onnx",)


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add the ``export`` command to the CLI's subparsers."""
    parser = subparsers.add_parser(
        "export",
        help="export a trained model to ONNX",
        description="Export a trained model to ONNX (dynamic batch axis), checked against "
        "PyTorch with onnxruntime to 1e-5.",
    )
    parser.add_argument("run_id", nargs="?", help="the MLflow run whose model to export")
    parser.add_argument("--model-dir", help="a saved-model folder instead of a run")
    parser.add_argument("--model-uri", help="a registry URI instead of a run, e.g. models:/name/3")
    add_tracking_uri(parser)
    parser.add_argument("--format", choices=FORMATS, default="onnx", help="the export format")
    parser.add_argument("--out", help="the file to write (default: ./<run id or folder>.onnx)")
    parser.add_argument("--force", action="store_true", help="overwrite an existing file")
    parser.set_defaults(func=run_export)
    return parser


def run_export(args: argparse.Namespace) -> int:
    """Handler of ``profond export``; prints the written path and returns the exit status."""
    from profond.compress.onnx_export import export_onnx
    from profond.inference.source import ModelSource

    source = ModelSource.from_args(args)
    stem = args.run_id or (Path(args.model_dir).name if args.model_dir else "model")
    out = Path(args.out) if args.out else Path(f"{stem}.{args.format}")
    if out.exists() and not args.force:
        raise ProfondError(f"{out} already exists; choose another --out or pass --force")
    loaded = source.load()
    export_onnx(loaded, out)
    print(out)
    return 0
