"""Checks of a saved model's files (``model.json``, ``drift_reference.json``) before use.

A saved model may be copied, mounted or edited by hand: each field is checked for type and
range, and a wrong one is reported as ``<file>: <field> …`` in one line; nothing is built or
allocated from a value that was not checked.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeGuard

from torch import nn

from profond.errors import ProfondError
from profond.models.options import check_model_size, field_types, parse_option
from profond.validation import build_section, read_json

if TYPE_CHECKING:
    from profond.models.saved import ModelCard

CARD_FIELDS: dict[str, type] = {
    "family": str,
    "task": str,
    "data": str,
    "config": dict,
    "input_shape": list,
    "classes": list,
    "preprocessing": dict,
    "run_id": str,
    "metrics": dict,
    "extra": dict,
}
REQUIRED = ("family", "task", "data", "config", "input_shape")
MAX_INPUT_VALUES = 100_000_000  # values in one input sample: far above any image of the course


def _is_number(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _is_finite_list(values: Any) -> TypeGuard[list[Any]]:
    return isinstance(values, list) and all(
        _is_number(v) and math.isfinite(float(v)) for v in values
    )


def read_card(path: Path) -> ModelCard:
    """The :class:`~profond.models.saved.ModelCard` in ``path``, every field checked."""
    from profond.data.preprocess import Preprocessing
    from profond.models.saved import ModelCard

    document = read_json(path, "a model card")
    if not isinstance(document, dict):
        raise ProfondError(f"{path}: expected a JSON object, got {type(document).__name__}")
    missing = [name for name in REQUIRED if name not in document]
    unknown = sorted(set(document) - set(CARD_FIELDS))
    if missing or unknown:
        problem = f"missing {', '.join(missing)}" if missing else f"unknown {', '.join(unknown)}"
        raise ProfondError(f"{path}: not a valid model card ({problem})")
    for name, kind in CARD_FIELDS.items():
        if name in document and not isinstance(document[name], kind):
            raise ProfondError(
                f"{path}: {name} must be a {kind.__name__}, got {document[name]!r:.60}"
            )
    shape = document["input_shape"]
    if (
        not 1 <= len(shape) <= 4
        or not all(isinstance(s, int) and not isinstance(s, bool) and s >= 1 for s in shape)
        or math.prod(shape) > MAX_INPUT_VALUES
    ):
        raise ProfondError(f"{path}: input_shape must be 1 to 4 positive sizes, got {shape!r:.60}")
    if not all(isinstance(c, str) for c in document.get("classes", [])):
        raise ProfondError(f"{path}: classes must be a list of names")
    if not all(
        isinstance(k, str) and _is_number(v) for k, v in document.get("metrics", {}).items()
    ):
        raise ProfondError(f"{path}: metrics must map names to numbers")
    if document.get("preprocessing"):
        build_section(path, "preprocessing", document["preprocessing"], Preprocessing)
    return ModelCard(**document)


def build_checked_model(card: ModelCard, path: Path) -> nn.Module:
    """The module ``card`` describes, its config parsed by type and sized before allocation."""
    from profond.models.registry import get_family

    try:
        family = get_family(card.family)
    except ProfondError as exc:
        raise ProfondError(f"{path}: family: {exc}") from None
    hints = field_types(family.config_class)
    names = {f.name for f in dataclasses.fields(family.config_class)}
    values = {}
    for key, value in card.config.items():
        if key not in names:
            continue  # an option of another version, unused by this one
        try:
            values[key] = parse_option(key, value, hints[key])
        except ProfondError as exc:
            raise ProfondError(f"{path}: config: {exc}") from None
    try:
        config = family.config_class(**values)
        check_model_size(family.name, family.module_class, config)
        return family.module_class(config)
    except (ProfondError, TypeError, ValueError, RuntimeError) as exc:
        raise ProfondError(f"{path}: config: {exc}") from None


def read_drift_reference(path: Path) -> dict[str, Any]:
    """``drift_reference.json`` checked field by field (the server reads it as is)."""
    document = read_json(path, "a drift reference")

    def refuse(field: str, expected: str) -> ProfondError:
        return ProfondError(f"{path}: {field} must be {expected}")

    if not isinstance(document, dict):
        raise refuse("the document", "a JSON object")
    if document.get("version") != 1:
        raise refuse("version", f"1, got {document.get('version')!r:.40}")
    method = document.get("method")
    if not isinstance(method, dict) or not all(_is_number(v) for v in method.values()):
        raise refuse("method", "an object of numbers")
    _check_method(path, method)
    _check_pca(path, document.get("pca"))
    features = document.get("features")
    if not isinstance(features, dict) or not features:
        raise refuse("features", "a non-empty object")
    for name, feature in features.items():
        if not isinstance(feature, dict):
            raise refuse(f"features.{name}", "an object")
        sample, edges, shares = (feature.get(k) for k in ("sample", "edges", "shares"))
        if not _is_finite_list(sample) or not sample:
            raise refuse(f"features.{name}.sample", "a non-empty list of finite numbers")
        if not _is_finite_list(edges) or any(a > b for a, b in zip(edges, edges[1:], strict=False)):
            raise refuse(f"features.{name}.edges", "a sorted list of finite numbers")
        if not _is_finite_list(shares) or len(shares) != len(edges) + 1:
            raise refuse(f"features.{name}.shares", "one finite share per bin (edges + 1)")
    return document


def _check_method(path: Path, method: dict[str, Any]) -> None:
    limits = {
        "psi_bins": lambda v: isinstance(v, int) and v >= 2,
        "psi_threshold": lambda v: v > 0,
        "ks_alpha": lambda v: 0 < v < 1,
        "min_drifted_features": lambda v: isinstance(v, int) and v >= 1,
    }
    for key, value in method.items():
        if key not in limits or not limits[key](value):
            raise ProfondError(f"{path}: method.{key}={value!r} is unknown or out of range")


def _check_pca(path: Path, pca: Any) -> None:
    if pca is None:
        return
    mean = pca.get("mean") if isinstance(pca, dict) else None
    components = pca.get("components") if isinstance(pca, dict) else None
    if (
        not _is_finite_list(mean)
        or not isinstance(components, list)
        or not all(_is_finite_list(c) and len(c) == len(mean) for c in components)
    ):
        raise ProfondError(
            f"{path}: pca must hold a mean and components of the same length (finite numbers)"
        )
