"""``GET /v1/model`` and ``POST /v1/model/reload`` (bearer token)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends

from profond.serve.schemas import ErrorBody, ModelInfo
from profond.serve.state import ModelState, ServerDep, require_token

router = APIRouter(tags=["model"])


def model_info(model: ModelState, max_instances: int) -> dict[str, Any]:
    predictor, card = model.predictor, model.loaded.card
    return {
        "run_id": card.run_id,
        "family": card.family,
        "task": card.task,
        "data": card.data,
        "input_shape": list(card.input_shape),
        "input_kind": predictor.input_kind,
        "output_kind": predictor.output_kind,
        "explainable": explainable(model),
        "classes": list(card.classes),
        "unit": str(card.extra.get("unit", "")),
        "metrics": {k: float(v) for k, v in card.metrics.items()},
        "runtime": predictor.runtime.name,
        "max_instances": max_instances,
    }


def explainable(model: ModelState) -> bool:
    """Grad-CAM/saliency apply: the task says so and the inputs are images."""
    return model.predictor.task.supports_gradcam and model.predictor.input_kind == "image"


@router.get("/v1/model", response_model=ModelInfo, summary="The model being served")
async def get_model(server: ServerDep) -> dict[str, Any]:
    return model_info(server.model, server.config.max_instances)


@router.post(
    "/v1/model/reload",
    response_model=ModelInfo,
    responses={401: {"model": ErrorBody}, 403: {"model": ErrorBody}, 409: {"model": ErrorBody}},
    summary="Reload the model from the configured source (bearer token)",
    dependencies=[Depends(require_token)],
)
async def reload_model(server: ServerDep) -> dict[str, Any]:
    await server.reload()
    return model_info(server.model, server.config.max_instances)
