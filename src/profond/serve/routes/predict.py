"""``POST /v1/predict`` (JSON rows or texts) and ``POST /v1/predict/image`` (one image)."""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal

import numpy as np
from fastapi import APIRouter, File, Query, Request, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from profond.inference.decode import parse_json
from profond.inference.errors import InputError
from profond.serve.schemas import ERROR_RESPONSES, PredictRequest, PredictResponse
from profond.serve.state import ModelDep, ModelState, ServerDep, ServerState

router = APIRouter(tags=["predict"])

_SEND_AN_OBJECT = 'body: send a JSON object, {"instances": [...]} or {"texts": [...]}'
# Generous: a float64's longest repr, its separator and the indentation of pretty-printed JSON.
BYTES_PER_NUMBER = 64


def batch_body_limit(model: ModelState, max_instances: int, max_body: int) -> int:
    """The largest body a batch of ``max_instances`` inputs can need, at most ``max_body``.

    A larger one is refused before it is parsed: 10 000 rows of a small model fit under the
    server's body limit but cost ~100 ms of parsing during which no other request is served.
    Texts have no such bound (a text's length is not the model's input size).
    """
    predictor = model.predictor
    if predictor.input_kind == "text":
        return max_body
    size = math.prod(predictor.input_shape)
    return min(max_body, max_instances * size * BYTES_PER_NUMBER + 4096)


async def read_body(request: Request, limit: int, max_instances: int) -> bytes:
    """The request body, refused (413) as soon as it is over ``limit`` bytes."""
    message = (
        f"request body over {limit} bytes: more than a batch of {max_instances} inputs needs; "
        "split it into several requests"
    )
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise InputError(message, 413, "body_too_large")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise InputError(message, 413, "body_too_large")
        chunks.append(chunk)
    return b"".join(chunks)


async def answer(server: ServerState, model: ModelState, x: np.ndarray) -> dict[str, Any]:
    """Run a preprocessed batch through the batcher and format it with the task's formatter.

    Shape: ``x`` ``(N, *input_shape)``.
    """
    result = await model.batcher.submit(x)
    predictions = await run_in_threadpool(model.predictor.format, result.output)
    server.observe(predictions)
    return {"predictions": predictions, "model": model.predictor.describe()}


def parse_predict_request(body: bytes) -> PredictRequest:
    """The JSON body, parsed and validated (called off the event loop: a large body takes
    milliseconds that every other client would otherwise wait).

    Raises:
        InputError: not JSON, or nested too deeply (400).
        RequestValidationError: fields of the wrong type (422).
    """
    if not body.strip():
        raise InputError(_SEND_AN_OBJECT, 422, "validation_error")
    payload = parse_json(body)
    if not isinstance(payload, dict):
        raise InputError(_SEND_AN_OBJECT, 422, "validation_error")
    try:
        return PredictRequest.model_validate(payload)
    except ValidationError as exc:
        raise RequestValidationError(exc.errors(include_url=False)) from None


@router.post(
    "/v1/predict",
    response_model=PredictResponse,
    responses=ERROR_RESPONSES,
    summary="Predict a batch of raw inputs (or texts, for text models)",
    openapi_extra={
        "requestBody": {
            "content": {"application/json": {"schema": PredictRequest.model_json_schema()}},
            "required": True,
        }
    },
)
async def predict(request: Request, server: ServerDep, model: ModelDep) -> Any:
    limit = server.config.max_instances
    raw = await read_body(
        request, batch_body_limit(model, limit, server.config.max_body_bytes), limit
    )
    body = await run_in_threadpool(parse_predict_request, raw)
    if body.texts is not None and body.instances is not None:
        raise InputError("send either 'instances' or 'texts', not both", 422, "invalid_input")
    if body.texts is not None:
        x = await run_in_threadpool(model.predictor.prepare_texts, body.texts, limit)
    else:
        x = await run_in_threadpool(model.predictor.prepare_rows, body.instances, limit)
    # A JSONResponse skips FastAPI's re-validation of the body against the response model:
    # the model documents the schema; tests validate real answers against it.
    return JSONResponse(await answer(server, model, x))


@router.post(
    "/v1/predict/image",
    response_model=PredictResponse,
    responses=ERROR_RESPONSES,
    summary="Predict one uploaded PNG or JPEG image",
)
async def predict_image(
    server: ServerDep,
    model: ModelDep,
    file: Annotated[UploadFile, File(description="a PNG or JPEG image")],
    invert: Annotated[
        Literal["auto", "yes", "no"],
        Query(description="invert light-background images (auto: decided from the border)"),
    ] = "auto",
) -> Any:
    data = await file.read()
    x = await run_in_threadpool(model.predictor.prepare_image, data, invert)
    return JSONResponse(await answer(server, model, x))
