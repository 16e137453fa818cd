"""``profond train --config run.yaml``: the train options read from a YAML file.

Keys are the option names (``batch_size`` or ``batch-size``) plus ``model_options``, a mapping
of model options (as ``--set`` gives them). Values go through the very same argument types as
the command line, so a file is validated exactly like flags; flags given on the command line
win over the file.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from profond.commands.common import check_readable
from profond.commands.train import OPTIONS, option_dests
from profond.errors import ProfondError

EXTRA_KEYS = ("model_options",)


def apply_config(args: argparse.Namespace) -> argparse.Namespace:
    """``args`` with every option it lacks taken from the file ``args.config``."""
    path = Path(args.config).expanduser()
    values = read_config(path)
    try:
        from_file = args.parser.parse_args(config_argv(values))
    except ProfondError as exc:
        raise ProfondError(f"{path}: {exc}") from None
    merged = argparse.Namespace(**vars(args))
    for dest in option_dests():
        if dest == "set":
            merged.set = (from_file.set or []) + (args.set or [])
        elif getattr(args, dest, None) is None:
            setattr(merged, dest, getattr(from_file, dest, None))
    merged.config = None
    return merged


def read_config(path: Path) -> dict[str, Any]:
    """The file's options, keys normalized to the option names; unknown keys refused."""
    import yaml

    check_readable(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ProfondError(f"{path} is not valid YAML ({reason})") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ProfondError(
            f"{path} must hold a mapping of option: value, got {type(data).__name__}"
        )
    valid = [*option_dests(), *EXTRA_KEYS]
    values = {str(k).replace("-", "_"): v for k, v in data.items()}
    unknown = sorted(k for k in values if k not in valid)
    if unknown:
        raise ProfondError(
            f"{path}: unknown option(s) {', '.join(unknown)}; valid: {', '.join(sorted(valid))}"
        )
    return values


def config_argv(values: dict[str, Any]) -> list[str]:
    """The command-line arguments that set ``values``."""
    flags = {_dest(flag, kwargs): (flag, kwargs) for _, flag, kwargs in OPTIONS}
    argv: list[str] = []
    for key, value in values.items():
        if value is None:
            continue
        if key == "model_options":
            if not isinstance(value, dict):
                raise ProfondError(f"model_options must be a mapping, got {value!r}")
            argv += [f"--set={k}={_text(v)}" for k, v in value.items()]
            continue
        flag, kwargs = flags[key]
        action = kwargs.get("action")
        if action in ("store_true", "store_const"):
            argv += _flag(key, flag, value, kwargs.get("const", True))
        elif action == "append":
            items = value if isinstance(value, list) else [value]
            argv += [f"{flag}={_text(item)}" for item in items]
        else:
            argv.append(f"{flag}={_text(value)}")
    return argv


def _flag(key: str, flag: str, value: Any, const: Any) -> list[str]:
    """A switch: set when the file's value is the one the switch stores."""
    if not isinstance(value, bool):
        raise ProfondError(f"{key} must be true or false, got {value!r}")
    return [flag] if value == const else []


def _text(value: Any) -> str:
    if isinstance(value, list | tuple):
        return ",".join(str(v) for v in value)
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, dict):
        raise ProfondError(f"expected a single value, got a mapping {value!r}")
    return str(value)


def _dest(flag: str, kwargs: dict[str, Any]) -> str:
    return kwargs.get("dest") or flag.lstrip("-").replace("-", "_")
