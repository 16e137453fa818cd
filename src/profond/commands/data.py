"""``profond data list | info``: the datasets, where they are and what would download."""

from __future__ import annotations

import argparse
from typing import Any

from profond.commands.common import non_empty, one_of, print_json
from profond.data.names import dataset_names


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser("data", help="datasets: what is available and what would download")
    actions = p.add_subparsers(metavar="ACTION")
    listing = actions.add_parser("list", help="every dataset with its task and where it is")
    listing.add_argument("--json", action="store_true", help="print JSON")
    listing.set_defaults(func=list_datasets)
    info = actions.add_parser("info", help="sizes, shapes and location of one dataset (loads it)")
    info.add_argument("name", type=one_of("dataset", dataset_names()),
                      help=", ".join(dataset_names()))  # fmt: skip
    info.add_argument("--data-dir", type=non_empty, default=None,
                      help="a folder holding the dataset's files")  # fmt: skip
    info.add_argument("--json", action="store_true", help="print JSON")
    info.set_defaults(func=dataset_info)
    p.set_defaults(func=lambda args: (p.print_help(), 0)[1])


def list_datasets(args: argparse.Namespace) -> int:
    from profond.data.registry import DataOptions, get_dataset

    rows = []
    for name in dataset_names():
        try:
            spec = get_dataset(name)
        except ImportError:
            continue
        rows.append({"name": name, "task": spec.task, "description": spec.description,
                     "status": spec.status(DataOptions(download=False))})  # fmt: skip
    if args.json:
        print_json(rows)
        return 0
    for row in rows:
        print(f"{row['name']:<14} {row['task']:<20} {row['status']}\n{'':<14} {row['description']}")
    return 0


def dataset_info(args: argparse.Namespace) -> int:
    from profond.data.registry import DataOptions, get_dataset

    spec = get_dataset(args.name)
    options = DataOptions(data_dir=args.data_dir, download=False)
    status = spec.status(options)
    info: dict[str, Any] = {"name": spec.name, "task": spec.task,
                            "description": spec.description, "status": status}  # fmt: skip
    if not status.startswith("not found"):
        info.update(spec.load(options).describe())
    if args.json:
        print_json(info)
    else:
        for key, value in info.items():
            print(f"{key:<12} {value}")
    return 0
