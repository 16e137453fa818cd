"""The table of model families: ``--model`` name → config class, module class and task.

Each family module (``profond.models.mlp``, ``profond.models.cnn``, ...) defines a frozen config
dataclass and a ``FAMILY`` :class:`ModelFamily`; this table names where to find them, so that a
family is imported only when it is used.
"""

from __future__ import annotations

import dataclasses
import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from torch import nn

from profond.errors import ProfondError


@dataclass(frozen=True)
class ModelFamily:
    """One ``--model`` choice.

    Attributes:
        name: the ``--model`` name.
        config_class: a frozen dataclass whose fields are the module's keyword arguments.
        module_class: the ``nn.Module`` built as ``module_class(config)``.
        task: the task name it trains on (see :mod:`profond.train.tasks`).
        data_fields: derives the data-dependent config fields (input size, classes, ...) from a
            :class:`~profond.data.bundle.DataBundle`: ``data_fields(bundle) -> dict``.
        default_data: the ``--data`` used when none is given.
        data_tasks: the data tasks this family can train on.
        train_defaults: :class:`~profond.train.config.TrainConfig` values that suit the family
            (they override the dataset's, and the user's options override both).
        data_defaults: :class:`~profond.data.registry.DataOptions` values that suit the family
            (e.g. the normalization), under the user's options.
    """

    name: str
    config_class: type
    module_class: Callable[[Any], nn.Module]
    task: str
    data_fields: Callable[[Any], dict[str, Any]]
    default_data: str
    data_tasks: tuple[str, ...] = ("classification",)
    train_defaults: dict[str, Any] = field(default_factory=dict)  # TrainConfig values it needs
    data_defaults: dict[str, Any] = field(default_factory=dict)  # DataOptions values it needs


FAMILY_MODULES: dict[str, str] = {
    "mlp": "profond.models.mlp",
    "cnn": "profond.models.cnn",
    "resnet": "profond.models.resnet",
    "rnn": "profond.models.rnn",
    "lstm": "profond.models.rnn",
    "gru": "profond.models.rnn",
    "transformer": "profond.models.transformer",
    "autoencoder": "profond.models.autoencoder",
    "unet": "profond.models.unet",
    "vae": "profond.models.vae",
    "gan": "profond.models.gan",
    "tcn": "profond.models.tcn",
    "vit": "profond.models.vit",
    "point_gan": "profond.models.point_gan",
}


def family_names() -> list[str]:
    return list(FAMILY_MODULES)


def get_family(name: str) -> ModelFamily:
    """The family called ``name``; a clear error listing the valid names otherwise."""
    if name not in FAMILY_MODULES:
        raise ProfondError(f"unknown model {name!r}; choose one of: {', '.join(FAMILY_MODULES)}")
    module = importlib.import_module(FAMILY_MODULES[name])
    families = getattr(module, "FAMILIES", None) or {module.FAMILY.name: module.FAMILY}
    return families[name]


def make_config(family: ModelFamily, data_fields: dict[str, Any], overrides: dict[str, Any]) -> Any:
    """Build ``family.config_class`` from data-derived fields plus user overrides.

    Unknown override keys are rejected with the list of valid ones; values given as strings
    (from ``--set key=value``) are converted to the field's type.
    """
    fields = {f.name: f for f in dataclasses.fields(family.config_class)}
    unknown = sorted(set(overrides) - set(fields))
    if unknown:
        raise ProfondError(
            f"unknown option(s) {', '.join(unknown)} for model {family.name!r}; "
            f"valid: {', '.join(sorted(k for k in fields if k not in data_fields))}"
        )
    values = {k: v for k, v in data_fields.items() if k in fields}
    for key, value in overrides.items():
        values[key] = _coerce(key, value, fields[key].default)
    try:
        return family.config_class(**values)
    except (TypeError, ValueError) as exc:
        raise ProfondError(f"invalid configuration for model {family.name!r}: {exc}") from None


def build_model(name: str, config: dict[str, Any] | Any) -> nn.Module:
    """Build the ``nn.Module`` of family ``name`` from a config dataclass or its dict."""
    family = get_family(name)
    if isinstance(config, dict):
        fields = {f.name for f in dataclasses.fields(family.config_class)}
        config = family.config_class(
            **{k: _tuple_lists(v) for k, v in config.items() if k in fields}
        )
    return family.module_class(config)


def _tuple_lists(value: Any) -> Any:
    """JSON turns tuples into lists; frozen configs hold tuples."""
    return tuple(_tuple_lists(v) for v in value) if isinstance(value, list) else value


def _coerce(key: str, value: Any, default: Any) -> Any:
    """Convert a ``--set`` string to the type of the field's default."""
    if not isinstance(value, str) or isinstance(default, str) or default is None:
        return value
    try:
        if isinstance(default, bool):
            if value.lower() in ("1", "true", "yes", "on"):
                return True
            if value.lower() in ("0", "false", "no", "off"):
                return False
            raise ValueError(value)
        if isinstance(default, int):
            return int(value)
        if isinstance(default, float):
            return float(value)
        if isinstance(default, tuple):
            return tuple(int(v) for v in value.replace("x", ",").split(",") if v)
    except ValueError:
        raise ProfondError(
            f"option {key}={value!r} is not a valid {type(default).__name__}"
        ) from None
    return value
