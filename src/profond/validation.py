"""Checks of configuration values made when a config is built, each naming the field and value.

A value may come from the command line, a replayed ``run.yaml``, a saved ``run.json`` or a
Python call, so types are checked too: ``True`` is not an epoch count, ``1e23`` not a seed.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
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
    if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
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
