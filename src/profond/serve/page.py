"""The browser page and the explanation endpoints it calls.

``GET /`` serves a page where a person draws a digit (or uploads a picture), asks the API for a
prediction and sees, over the input, where the model found its evidence. The explanation
endpoints answer with the predicted class, the probabilities and a heatmap from
:func:`profond.explain.explain`:

- ``POST /v1/explain/image``: a PNG or JPEG file, sent as a multipart form field (any name;
  the page uses ``file``) or as the raw request body with an ``image/*`` content type.
- ``POST /v1/explain``: JSON ``{"instance": [...raw values...], "target": null}``, the values
  in the units of the training data (pixels 0..255 for image datasets), nested as the model's
  input shape or flat.

Both take an optional ``target`` (class index to explain; default: the predicted class); the
image endpoint also takes ``invert`` (``auto`` | ``yes`` | ``no``, see
:func:`profond.data.imaging.decode_image`). The prediction part of the answer is the one
``POST /v1/predict`` gives for the same input (same runtime, same formatter). Every error is a
4xx answer ``{"error": {"type": ..., "message": ...}}``; the body limit is the server's.

The page adapts to the model (``GET /v1/model``): drawing or upload for image models, a text
box for text models, a series box for forecasters.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from profond.explain import explain
from profond.inference.decode import parse_json
from profond.inference.errors import InputError
from profond.serve.routes.model import explainable
from profond.serve.routes.predict import answer
from profond.serve.state import ModelDep, ModelState, ServerDep

STATIC_DIR = Path(__file__).parent / "static"
HEATMAP_DECIMALS = 4  # enough for a colour map, keeps a 28×28 answer near 6 KB

_IMAGE_BODY = {
    "content": {
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "properties": {"file": {"type": "string", "format": "binary"}},
                "required": ["file"],
            }
        },
        "image/png": {"schema": {"type": "string", "format": "binary"}},
        "image/jpeg": {"schema": {"type": "string", "format": "binary"}},
    },
    "required": True,
}
_JSON_BODY = {
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "properties": {
                    "instance": {"type": "array", "items": {}},
                    "target": {"type": ["integer", "null"]},
                },
                "required": ["instance"],
            }
        }
    },
    "required": True,
}
_TARGET_PARAM = {
    "name": "target",
    "in": "query",
    "required": False,
    "schema": {"type": "integer", "minimum": 0},
    "description": "class index to explain; default: the predicted class",
}
_INVERT_PARAM = {
    "name": "invert",
    "in": "query",
    "required": False,
    "schema": {"type": "string", "enum": ["auto", "yes", "no"], "default": "auto"},
    "description": "invert a light-background picture to the training data's dark background",
}
_ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"description": text}
    for code, text in [
        (400, "malformed JSON or image, or a model that does not classify"),
        (413, "body too large"),
        (415, "not an image"),
        (422, "a request or input the model cannot take"),
    ]
}


def build_page_router() -> APIRouter:
    """The page (``GET /``, ``/static/...``) and the explanation endpoints.

    Returns:
        A ``fastapi.APIRouter``; its routes read the current model through a dependency.
    """
    router = APIRouter()

    @router.get("/", include_in_schema=False)
    def index() -> FileResponse:
        return FileResponse(STATIC_DIR / "index.html", media_type="text/html")

    router.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")

    @router.post(
        "/v1/explain/image",
        tags=["explain"],
        summary="Predict and explain one image (PNG or JPEG)",
        responses=_ERRORS,
        openapi_extra={"requestBody": _IMAGE_BODY, "parameters": [_TARGET_PARAM, _INVERT_PARAM]},
    )
    async def explain_image(request: Request, server: ServerDep, model: ModelDep) -> JSONResponse:
        _check_explainable(model)
        target = _target_param(request)
        invert = request.query_params.get("invert", "auto")
        if invert not in ("auto", "yes", "no"):
            raise InputError(f"invert must be auto, yes or no, got {invert!r}")
        data = await _image_bytes(request)
        x = await run_in_threadpool(model.predictor.prepare_image, data, invert)
        return JSONResponse(await _explained(server, model, x, target))

    @router.post(
        "/v1/explain",
        tags=["explain"],
        summary="Predict and explain one instance given as raw values",
        responses=_ERRORS,
        openapi_extra={"requestBody": _JSON_BODY},
    )
    async def explain_instance(
        request: Request, server: ServerDep, model: ModelDep
    ) -> JSONResponse:
        _check_explainable(model)
        payload = await _json_body(request)
        instance, target = _instance_fields(payload)
        x = await run_in_threadpool(_instance_input, model, instance)
        return JSONResponse(await _explained(server, model, x, target))

    return router


async def _explained(server: Any, model: ModelState, x: np.ndarray, target: int | None) -> dict:
    """The prediction (as ``/v1/predict`` answers it) and the explanation of one input.

    Shape: ``x`` ``(1, *input_shape)`` preprocessed.
    """
    prediction = (await answer(server, model, x))["predictions"][0]
    classes = model.loaded.classes
    if target is not None and not 0 <= target < max(len(prediction["probabilities"]), 1):
        raise InputError(
            f"target must be a class index in 0..{len(prediction['probabilities']) - 1}, "
            f"got {target}"
        )
    # by default, explain the class the model answered (with its test-time augmentation)
    chosen = prediction["class"] if target is None else target
    result = await run_in_threadpool(_explain, model, x, chosen)
    label = classes[result.target] if result.target < len(classes) else str(result.target)
    return {
        **prediction,
        "target": result.target,
        "target_label": label,
        "method": result.method,
        "heatmap": np.round(result.heatmap.astype(np.float64), HEATMAP_DECIMALS).tolist(),
    }


def _explain(model: ModelState, x: np.ndarray, target: int | None) -> Any:
    # Explanations need gradients, which only the torch model gives (whatever the runtime).
    with model.explain_lock:
        return explain(model.loaded.model, torch.from_numpy(x), target=target)


def _instance_input(model: ModelState, instance: Any) -> np.ndarray:
    """Raw values of one instance → the preprocessed input, validated as ``/v1/predict``
    validates its rows. Shape: returns ``(1, *input_shape)``."""
    return model.predictor.prepare_rows([instance], 1)


def _check_explainable(model: ModelState) -> None:
    if not explainable(model):
        card = model.loaded.card
        raise InputError(
            f"the served model ({card.family}, task {card.task}) is not a classifier of images; "
            "explanations need one",
            400,
            "not_a_classifier",
        )


def _target_param(request: Request) -> int | None:
    value = request.query_params.get("target")
    if value is None or value == "":
        return None
    try:
        return int(value)
    except ValueError:
        raise InputError(f"target must be a class index, got {value!r}") from None


def _instance_fields(payload: Any) -> tuple[Any, int | None]:
    if not isinstance(payload, dict) or "instance" not in payload:
        raise InputError('send a JSON object {"instance": [...]}', 422, "validation_error")
    unknown = sorted(set(payload) - {"instance", "target"})
    if unknown:
        raise InputError(f"unknown field(s): {', '.join(unknown)}", 422, "validation_error")
    instance, target = payload["instance"], payload.get("target")
    if not isinstance(instance, list):
        raise InputError("instance must be a list of numbers")
    if target is not None and (isinstance(target, bool) or not isinstance(target, int)):
        raise InputError(f"target must be a class index, got {target!r}")
    return instance, target


async def _json_body(request: Request) -> Any:
    body = await request.body()  # bounded by the server's body limit (middleware)
    return await run_in_threadpool(parse_json, body)


async def _image_bytes(request: Request) -> bytes:
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("image/"):
        data = await request.body()
    elif content_type.startswith("multipart/form-data"):
        data = await _form_file(request)
    else:
        raise InputError(
            f"send the image as multipart/form-data (field 'file') or as an image/* body, "
            f"not {content_type or 'no content type'}",
            415,
            "unsupported_media_type",
        )
    if not data:
        raise InputError("the image is empty", 400, "invalid_image")
    return data


async def _form_file(request: Request) -> bytes:
    try:
        form = await request.form(max_files=1, max_fields=10)
    except Exception as exc:  # malformed multipart: starlette raises its own error types
        if getattr(exc, "status_code", None) == 413:
            raise
        raise InputError(f"cannot read the form: {exc}", 400, "invalid_form") from None
    try:
        upload = form.get("file")
        if not isinstance(upload, UploadFile):  # any single file field will do
            upload = next((v for v in form.values() if isinstance(v, UploadFile)), None)
        if upload is None:
            raise InputError(
                "the form holds no file; send the image as field 'file'", 422, "validation_error"
            )
        return await upload.read()
    finally:
        await form.close()
