"""User-given model options: parsed by the config field's declared type, and sized before use.

``--set key=value`` strings, values from a replayed ``run.yaml`` and Python values all pass
through :func:`parse_option`, which converts or refuses them by the field's type hint. A built
config is then sized on PyTorch's ``meta`` device (shapes only, no memory), so that
``hidden_sizes=100000,100000`` is refused in milliseconds instead of allocating 40 GB.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
import types
import typing
from typing import Any

from profond.errors import ProfondError

# Parameters and buffers of one model; 10^8 float32 values are 400 MB, 1.6 GB with Adam's
# state and gradients: far beyond any model of the course, below what a laptop can allocate.
MAX_MODEL_VALUES = 100_000_000
NEAR_DEFAULT_FACTOR = 2  # sizes up to twice the defaults are not sized on the meta device
_TRUE, _FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off")


def field_types(config_class: type) -> dict[str, Any]:
    """The resolved type hint of each field of a config dataclass."""
    return typing.get_type_hints(config_class)


def parse_option(name: str, value: Any, hint: Any) -> Any:
    """``value`` converted to the type ``hint`` declares, or a one-line error naming it.

    Args:
        name: the option, for the message.
        value: a ``--set`` string, or a value already typed (from YAML/JSON or Python).
        hint: the field's type: ``int``, ``float``, ``bool``, ``str``, ``tuple[int, ...]``,
            optionally ``| None``.
    """
    args = typing.get_args(hint)
    if typing.get_origin(hint) in (typing.Union, types.UnionType) and type(None) in args:
        if value is None or (isinstance(value, str) and value.strip().lower() in ("none", "")):
            return None
        hint = next(a for a in args if a is not type(None))
    try:
        return _parse(value, hint)
    except (ValueError, TypeError, OverflowError):
        expected = _type_name(hint)
        raise ProfondError(f"option {name}={value!r} is not a valid {expected}") from None


def _parse(value: Any, hint: Any) -> Any:
    if hint is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in _TRUE + _FALSE:
            return value.strip().lower() in _TRUE
        raise ValueError(value)
    if hint is int:
        return _integer(value)
    if hint is float:
        number = float(value.strip()) if isinstance(value, str) else value
        if isinstance(number, bool) or not isinstance(number, numbers.Real):
            raise TypeError(value)
        if not math.isfinite(float(number)):
            raise ValueError(value)
        return float(number)
    if hint is str:
        if not isinstance(value, str):
            raise TypeError(value)
        return value
    if typing.get_origin(hint) is tuple:
        items = value.replace("x", ",").split(",") if isinstance(value, str) else value
        if isinstance(items, (str, bytes)) or not isinstance(items, (list, tuple)):
            raise TypeError(value)
        element = typing.get_args(hint)[0]
        return tuple(
            _parse(v, element) for v in items if not (isinstance(v, str) and not v.strip())
        )
    return value  # a type this parser does not know: the config's own checks decide


def _integer(value: Any) -> int:
    if isinstance(value, str):
        return int(value.strip())  # "1e3" and "2.5" are not integers
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(value)
    return int(value)


def _type_name(hint: Any) -> str:
    if typing.get_origin(hint) is tuple:
        return f"list of {_type_name(typing.get_args(hint)[0])} (e.g. 64,32)"
    return {int: "int", float: "float", bool: "bool (true/false)", str: "str"}.get(hint, str(hint))


def count_model_values(module_class: Any, config: Any) -> int | None:
    """Parameters plus buffers of ``module_class(config)``, counted without allocating them.

    Returns None when the module cannot be built on the ``meta`` device (an operation without
    a meta kernel); the caller then builds it for real.
    """
    import torch

    try:
        with torch.device("meta"):
            model = module_class(config)
    except ProfondError:
        raise
    except NotImplementedError:  # an operation without a meta kernel: size unknown
        return None
    except (ValueError, TypeError, RuntimeError) as exc:  # shapes that do not fit together
        raise ProfondError(f"invalid configuration: {exc}") from None
    values = sum(p.numel() for p in model.parameters())
    return values + sum(b.numel() for b in model.buffers())


def near_defaults(config: Any, factor: int = NEAR_DEFAULT_FACTOR) -> bool:
    """Whether every size of ``config`` is at most ``factor`` times its field's default.

    Small defaults count as 4 (so 3 colour channels or a 5x5 kernel stay near).
    Sizes are integer fields and tuples of integers (a longer tuple, more layers, is never
    near). A model grows at most polynomially (degree <= 4, a dense head on a feature map)
    with its sizes, so such a config stays within ``factor**4`` times a default model (10^5
    to 10^6 values): far under the budget, and not worth the seconds the first ``meta``
    build costs (PyTorch loads its shape functions then).
    """
    for f in dataclasses.fields(config):
        value = getattr(config, f.name)
        default = f.default_factory() if f.default_factory is not dataclasses.MISSING else f.default
        if isinstance(value, bool) or default is dataclasses.MISSING:
            continue
        if isinstance(value, int):
            if not isinstance(default, int) or value > factor * max(default, 4):
                return False
        elif isinstance(value, tuple) and all(isinstance(v, int) for v in value):
            if not isinstance(default, tuple) or len(value) > len(default):
                return False
            if value and max(value) > factor * max((*default, 4)):
                return False
    return True


def check_model_size(family_name: str, module_class: Any, config: Any) -> None:
    """Refuse a config whose model would hold more than :data:`MAX_MODEL_VALUES` values.

    A config near its family's defaults (:func:`near_defaults`) is accepted as it is; any
    other is sized exactly on the ``meta`` device.
    """
    if dataclasses.is_dataclass(config) and near_defaults(config):
        return
    try:
        values = count_model_values(module_class, config)
    except ProfondError as exc:
        raise ProfondError(f"model {family_name!r}: {exc}") from None
    if values is not None and values > MAX_MODEL_VALUES:
        raise ProfondError(
            f"model {family_name!r} with these options would have {values:,} parameters "
            f"(at most {MAX_MODEL_VALUES:,} accepted; about {4 * values / 1e9:.1f} GB of weights "
            "alone); choose smaller sizes"
        )
