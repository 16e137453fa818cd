"""Run references → full run ids (exact ids and ``runs:/``/``models:/`` URIs)."""

from __future__ import annotations

from profond.errors import ProfondError


def resolve_run(ref: str, tracking_uri: str | None = None) -> str:
    """The full run id ``ref`` names: a run id, ``runs:/ID/...`` or ``models:/NAME/VERSION``.

    Raises:
        ProfondError: no such run (one line).
    """
    from profond.track.runs import get_run, resolve_model_uri

    if not ref:
        raise ProfondError("give a run id")
    if ref.startswith(("runs:/", "models:/")):
        return resolve_model_uri(ref, uri=tracking_uri)
    get_run(ref, tracking_uri)
    return ref
