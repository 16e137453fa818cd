"""Checks of configuration values made when a config is built, each naming the field and value.

A value may come from the command line, a replayed ``run.yaml``, a saved ``run.json`` or a
Python call, so types are checked too: ``True`` is not an epoch count, ``1e23`` not a seed.
"""

from __future__ import annotations

import json
import math
import numbers
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from profond.errors import ProfondError


def _shown(value: Any) -> str:
    return repr(value) if isinstance(value, str) else str(value)


def _refuse(name: str, expected: str, value: Any, optional: bool) -> ProfondError:
    unset = " (or unset)" if optional else ""
    kind = "" if isinstance(value, (int, float, str)) else f" ({type(value).__name__})"
    return ProfondError(f"{name} must be {expected}{unset}, got {_shown(value)}{kind}")


def check_int(
    name: str,
    value: Any,
    minimum: int | None = None,
    maximum: int | None = None,
    optional: bool = False,
    label: str | None = None,
) -> None:
    """Refuse anything but an integer (not a bool, not a float) in ``[minimum, maximum]``.

    Args:
        name: the field, as shown in the message.
        label: the phrase "must be …" uses (default: built from the bounds).
    """
    if optional and value is None:
        return
    if minimum is not None and maximum is not None:
        expected = f"an integer from {minimum} to {maximum}"
    elif minimum == 1:
        expected = "a positive integer"
    elif minimum is not None:
        expected = f"an integer >= {minimum}"
    else:
        expected = "an integer"
    expected = label or expected
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise _refuse(name, expected, value, optional)
    # numbers.Integral's stub declares only < and <=; every Integral (int, numpy integers)
    # also has >, which mypy cannot see
    if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):  # type: ignore[operator]
        raise _refuse(name, expected, value, optional)


def check_float(
    name: str,
    value: Any,
    minimum: float | None = None,
    positive: bool = False,
    below: float | None = None,
    optional: bool = False,
    label: str | None = None,
) -> None:
    """Refuse anything but a finite real number, ``>= minimum`` (or ``> 0``) and ``< below``."""
    if optional and value is None:
        return
    if positive:
        expected = "positive" if below is None else f"positive and < {below}"
    elif minimum is not None and below is not None:
        expected = f"a number in [{minimum}, {below})"
    elif minimum is not None:
        expected = f"a number >= {minimum}"
    else:
        expected = "a finite number" if below is None else f"a number < {below}"
    expected = label or expected
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise _refuse(name, expected, value, optional)
    number = float(value)
    if (
        not math.isfinite(number)
        or (positive and not number > 0)
        or (minimum is not None and number < minimum)
        or (below is not None and not number < below)
    ):
        raise _refuse(name, expected, value, optional)


def check_choice(name: str, value: Any, choices: Sequence[Any], what: str | None = None) -> None:
    """Refuse a value outside ``choices``, listing them."""
    if value not in choices:
        shown = ", ".join(str(c) for c in choices)
        raise ProfondError(f"unknown {what or name} {_shown(value)}; choose one of: {shown}")


def check_bool(name: str, value: Any) -> None:
    """Refuse anything but ``True`` or ``False``."""
    if not isinstance(value, bool):
        raise _refuse(name, "true or false", value, False)


def read_json(path: Path, what: str) -> Any:
    """The JSON document in ``path``, or one line saying why it cannot be read.

    Args:
        path: the file.
        what: what it should hold, for the message (e.g. ``"a model card"``).
    """
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ProfondError(f"{path} not found (expected {what})") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ProfondError(f"cannot read {path} ({what}): {exc}") from None
    except (json.JSONDecodeError, RecursionError) as exc:
        reason = "nested too deeply" if isinstance(exc, RecursionError) else str(exc)
        raise ProfondError(f"{path} is not valid JSON ({reason}); expected {what}") from None


def build_section(path: Path, section: str, values: Any, cls: type) -> Any:
    """``cls(**values)`` for the ``section`` of file ``path``, every error naming both.

    Unknown keys and values of the wrong type or range are refused as
    ``<path>: <section>: <field> …``.
    """
    import dataclasses

    if not isinstance(values, dict):
        raise ProfondError(f"{path}: {section} must be an object, got {type(values).__name__}")
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise ProfondError(
            f"{path}: {section} has unknown field(s) {', '.join(map(str, unknown))}; "
            f"known: {', '.join(sorted(known))}"
        )
    try:
        return cls(**values)
    except ProfondError as exc:
        raise ProfondError(f"{path}: {section}: {exc}") from None
    except (TypeError, ValueError) as exc:
        raise ProfondError(f"{path}: {section}: {exc}") from None


RUN_FILE_STRINGS = ("model", "engine", "experiment")  # required strings of a run.json
RUN_FILE_OPTIONAL_STRINGS = ("data", "tracking_uri", "run_name", "register_as")


def load_run_file(path: Path) -> dict[str, Any]:
    """A run's saved options (``run.json``), checked field by field before anything uses them.

    Returns:
        the document, unchanged, once ``data_options`` and ``train`` build valid
        :class:`~profond.data.registry.DataOptions` and
        :class:`~profond.train.config.TrainConfig` and the other fields have their types.

    Raises:
        ProfondError: ``<path>: <field> …`` for the first wrong field.
    """
    from profond.data.registry import DataOptions
    from profond.train.config import TrainConfig

    document = read_json(path, "a run's saved options")
    if not isinstance(document, dict):
        raise ProfondError(f"{path}: expected a JSON object, got {type(document).__name__}")
    for name in RUN_FILE_STRINGS + RUN_FILE_OPTIONAL_STRINGS:
        value = document.get(name)
        if not isinstance(value, str) and not (value is None and name not in RUN_FILE_STRINGS):
            raise ProfondError(f"{path}: {name} must be a string, got {value!r}")
    if not isinstance(document.get("model_options", {}), dict):
        raise ProfondError(f"{path}: model_options must be an object")
    if not isinstance(document.get("log_mlflow_model", True), bool):
        raise ProfondError(f"{path}: log_mlflow_model must be true or false")
    build_section(path, "data_options", document.get("data_options", {}), DataOptions)
    build_section(path, "train", document.get("train", {}), TrainConfig)
    return document
