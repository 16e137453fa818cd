"""``profond predict``: a run's model applied to files (images, arrays, series) or texts."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from profond.commands.common import add_run_ref, add_tracking_uri, new_file, print_json


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "predict", help="predict with a run's model: image, .npy array, series file or text"
    )
    add_run_ref(p)
    p.add_argument(
        "inputs", nargs="+", help="files (PNG/JPEG/.npy/.csv) or, for text models, texts"
    )
    p.add_argument("--out", type=new_file, default=None, metavar="FILE",
                   help="also write the predictions as JSON to this new file")  # fmt: skip
    add_tracking_uri(p)
    p.add_argument("--json", action="store_true", help="print the predictions as JSON on stdout")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import json
    import sys

    from profond.commands.common import check_readable, resolve, stdout_to_stderr
    from profond.inference import predict_run

    for source in args.inputs:
        if Path(source).exists():  # a path that is there must be readable; others may be texts
            check_readable(Path(source))
    with stdout_to_stderr():
        predictions = predict_run(resolve(args), args.inputs, args.tracking_uri)
    if args.out is not None:
        from profond.atomic import atomic_write_text

        atomic_write_text(args.out, json.dumps(predictions, indent=2))
        print(f"wrote {args.out}", file=sys.stderr)
    if args.json:
        print_json(predictions)
        return 0
    for p in predictions:
        if "probabilities" in p:
            top = sorted(enumerate(p["probabilities"]), key=lambda kv: -kv[1])[:3]
            shown = ", ".join(f"{i}: {v:.3f}" for i, v in top)
            print(f"{p['input']}: class {p['class']} ({p['label']})  top-3 probabilities {shown}")
        else:
            rest = {k: v for k, v in p.items() if k != "input"}
            print(f"{p['input']}: {json.dumps(rest)}")
    return 0
