"""``profond attack``: accuracy of a run's classifier under FGSM/PGD, against ε."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from profond.commands.compress import number, split_list


def add_parser(subparsers: Any) -> None:
    """Register ``profond attack`` (nothing heavy is imported here)."""
    p = subparsers.add_parser(
        "attack",
        help="accuracy of a run's classifier under adversarial attack, against epsilon",
        description="Attack the run's test split with FGSM and/or PGD (L-infinity) at each "
        "epsilon (in the model's input units: a fraction of the pixel range for images in "
        "[0, 1]); write the accuracy-vs-epsilon curve and example images, and log them to the "
        "run under robustness/.",
    )
    p.add_argument("run", metavar="RUN_REF", help="run id, id prefix, run name or models:/ URI")
    p.add_argument("--method", action="append", default=[], metavar="METHOD",
                   help="fgsm and/or pgd (comma-separated or repeated; default fgsm)")  # fmt: skip
    p.add_argument("--eps", default="0,0.05,0.1,0.2", help="comma-separated radii")
    p.add_argument("--steps", default="10", help="PGD steps (default 10)")
    p.add_argument("--alpha", default=None, help="PGD step size (default 2.5 * eps / steps)")
    p.add_argument("--limit", default="1000", help="test samples attacked (default 1000)")
    p.add_argument("--seed", default="0", help="PGD random starts")
    p.add_argument("--out", type=Path, default=None,
                   help="folder of the figures (default: ./attack-RUN_ID)")  # fmt: skip
    p.add_argument("--no-log", action="store_true", help="do not log the results to the run")
    p.add_argument("--tracking-uri", default=None)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=run_attack)


def run_attack(args: argparse.Namespace) -> int:
    """Handler of ``profond attack``."""
    from profond.robust.report import attack_run, check_attack_options

    methods = split_list(args.method) or ["fgsm"]
    eps_values = [number(v, float, "--eps") for v in split_list([args.eps])]
    steps, limit = number(args.steps, int, "--steps"), number(args.limit, int, "--limit")
    alpha, seed = number(args.alpha, float, "--alpha"), number(args.seed, int, "--seed")
    check_attack_options(methods, eps_values, steps, alpha, limit)
    out = args.out or Path(f"attack-{args.run.replace('/', '_').replace(':', '_')}")
    result = attack_run(args.run, methods, eps_values, out, steps=steps, alpha=alpha,
                        limit=limit, seed=seed, uri=args.tracking_uri,
                        log_to_run=not args.no_log)  # fmt: skip
    if args.json:
        print(json.dumps(result))
        return 0
    print(f"run {result['run_id']}: accuracy under attack on {result['samples']} test samples")
    print(f"  {'eps':>8} " + " ".join(f"{m:>8}" for m in result["accuracy"]))
    for eps in eps_values:
        print(f"  {eps:>8g} " + " ".join(f"{c[eps]:>8.4f}" for c in result["accuracy"].values()))
    for figure in result["figures"]:
        print(f"wrote {figure}")
    return 0
