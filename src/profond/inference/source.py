"""Where a model is read from: a tracked run (any run reference) or a saved-model folder."""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from profond.errors import ProfondError

if TYPE_CHECKING:
    from profond.models.saved import LoadedModel


@dataclass(frozen=True)
class ModelSource:
    """Exactly one place a model is read from.

    Args:
        run_id: a run reference resolved by :func:`profond.track.resolve.resolve_run` (a run
            id, and whatever else it accepts: prefixes, names, ``runs:/``, ``models:/``).
        model_dir: a saved-model folder (``model.json`` + ``weights.pt``).
        model_uri: a registry URI such as ``models:/name/3`` or ``models:/name@champion``.
        tracking_uri: the MLflow tracking URI (None: MLflow's own default).
    """

    run_id: str | None = None
    model_dir: str | None = None
    model_uri: str | None = None
    tracking_uri: str | None = None

    def __post_init__(self) -> None:
        given = [name for name in ("run_id", "model_dir", "model_uri") if getattr(self, name)]
        if len(given) != 1:
            raise ProfondError(
                "give exactly one model source (a RUN_ID, --model-dir DIR or --model-uri URI); "
                f"received: {', '.join(given) or 'none'}"
            )

    @classmethod
    def from_args(cls, args: Any) -> ModelSource:
        """The source a command line names: ``run_id``, ``--model-dir``, ``--model-uri``,
        ``--tracking-uri`` (the attributes of ``serve``'s and ``export``'s parsed arguments)."""
        return cls(
            run_id=args.run_id,
            model_dir=args.model_dir,
            model_uri=args.model_uri,
            tracking_uri=args.tracking_uri,
        )

    def describe(self) -> str:
        return self.model_dir or self.model_uri or f"run {self.run_id}"

    def load(self) -> LoadedModel:
        """Read the model. Raises :class:`ProfondError` when it cannot be found or read."""
        from profond.models.saved import load_model

        if self.model_dir:
            return load_model(Path(self.model_dir))
        if importlib.util.find_spec("profond.track.runs") is None:
            raise ProfondError(
                "loading a model from a run or a registry URI needs MLflow tracking support, "
                "which this installation lacks; serve a saved-model folder with --model-dir DIR"
            )
        from profond.track.resolve import resolve_run
        from profond.track.runs import load_run_model

        if self.model_uri and not self.model_uri.startswith(("models:/", "runs:/")):
            raise ProfondError(
                f"model URI {self.model_uri!r} must look like models:/NAME/VERSION, "
                "models:/NAME@ALIAS or runs:/RUN_ID/model"
            )
        ref = self.model_uri or self.run_id
        assert ref is not None  # guaranteed by __post_init__
        return load_run_model(resolve_run(ref, self.tracking_uri), uri=self.tracking_uri)
