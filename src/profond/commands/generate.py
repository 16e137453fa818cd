"""``profond generate``: a grid of samples from a VAE or GAN run."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from profond.commands.common import (
    add_run_ref,
    add_tracking_uri,
    new_file,
    non_negative_int,
    positive_int,
)


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser("generate", help="a grid of samples from a VAE or GAN run")
    add_run_ref(p)
    p.add_argument("--n", type=positive_int, default=64, help="number of samples (default: 64)")
    p.add_argument("--seed", type=non_negative_int, default=0, help="default: 0")
    p.add_argument("--out", type=new_file, default=None, metavar="FILE",
                   help="PNG path (default: samples-RUN_ID.png)")  # fmt: skip
    add_tracking_uri(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from profond.commands.common import resolve, stdout_to_stderr
    from profond.errors import ProfondError
    from profond.track.runs import load_run_model
    from profond.train.generate import generate_grid

    with stdout_to_stderr():
        run_id = resolve(args)
        out = args.out or Path(f"samples-{run_id}.png")
        if out.exists():
            raise ProfondError(f"{out} exists; choose another --out (nothing is overwritten)")
        model = load_run_model(run_id, args.tracking_uri)
        path = generate_grid(model, args.n, args.seed, out)
    print(f"wrote {path}")
    return 0
