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
:func:`profond.data.imaging.decode_image`). Every error is a 4xx answer
``{"error": {"type": ..., "message": ...}}``.
"""

from __future__ import annotations

import json
import math
import threading
from pathlib import Path
from typing import Any

import numpy as np
import torch
from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from profond.data.imaging import decode_image
from profond.errors import ProfondError
from profond.explain import explain
from profond.models.saved import LoadedModel

STATIC_DIR = Path(__file__).parent / "static"
MAX_BODY_BYTES = 5 * 1024 * 1024  # a 280×280 canvas PNG is ~10 KB; photos rarely pass 5 MB
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


class _RequestError(Exception):
    """A 4xx answer: ``status``, a short ``kind`` and a one-line message."""

    def __init__(self, status: int, kind: str, message: str) -> None:
        super().__init__(message)
        self.status, self.kind, self.message = status, kind, message


def build_page_router(loaded: LoadedModel, runtime: object | None = None) -> APIRouter:
    """The page (``GET /``, ``/static/...``) and the explanation endpoints for one model.

    Args:
        loaded: the served model; explanations run on ``loaded.model`` with torch.
        runtime: the serving runtime (ONNX or batched); not used, since explanations need
            gradients that only the torch model gives.

    Returns:
        A ``fastapi.APIRouter`` to include in the app.
    """
    del runtime
    router = APIRouter()
    explainer = _Explainer(loaded)

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
    async def explain_image(request: Request) -> JSONResponse:
        try:
            target = _target_param(request)
            invert = request.query_params.get("invert", "auto")
            if invert not in ("auto", "yes", "no"):
                raise _RequestError(
                    422, "invalid_input", f"invert must be auto, yes or no, got {invert!r}"
                )
            data = await _image_bytes(request)
            return JSONResponse(await run_in_threadpool(explainer.image, data, invert, target))
        except _RequestError as exc:
            return _error(exc.status, exc.kind, exc.message)
        except ProfondError as exc:
            return _error(422, "invalid_input", str(exc))

    @router.post(
        "/v1/explain",
        tags=["explain"],
        summary="Predict and explain one instance given as raw values",
        responses=_ERRORS,
        openapi_extra={"requestBody": _JSON_BODY},
    )
    async def explain_instance(request: Request) -> JSONResponse:
        try:
            payload = await _json_body(request)
            instance, target = _instance_fields(payload)
            return JSONResponse(await run_in_threadpool(explainer.instance, instance, target))
        except _RequestError as exc:
            return _error(exc.status, exc.kind, exc.message)
        except ProfondError as exc:
            return _error(422, "invalid_input", str(exc))

    return router


class _Explainer:
    """Turns requests into explanations of one loaded model.

    A lock serializes the work: Captum registers hooks on the model's layers for the duration
    of a call, and two concurrent calls on one model would see each other's hooks.
    """

    def __init__(self, loaded: LoadedModel) -> None:
        self.loaded = loaded
        self.classes = loaded.classes
        self.lock = threading.Lock()

    def image(self, data: bytes, invert: str, target: int | None) -> dict[str, Any]:
        self._check_classifier()
        try:
            x = decode_image(
                data, self.loaded.input_shape, self.loaded.preprocessing, invert=invert
            )
        except ProfondError as exc:
            raise _RequestError(400, "invalid_image", str(exc)) from None
        return self._answer(x, target)

    def instance(self, instance: Any, target: int | None) -> dict[str, Any]:
        self._check_classifier()
        shape = self.loaded.input_shape
        try:
            raw = np.asarray(instance, dtype=np.float32)
        except (TypeError, ValueError):
            raise _RequestError(
                422, "invalid_input", "instance must be a (nested) list of numbers of one shape"
            ) from None
        if raw.size != math.prod(shape):
            raise _RequestError(
                422,
                "invalid_input",
                f"instance has {raw.size} values of shape {list(raw.shape)}; the model takes "
                f"{math.prod(shape)} values of shape {list(shape)}",
            )
        if not np.isfinite(raw).all():
            raise _RequestError(422, "invalid_input", "instance holds NaN or infinite values")
        x = self.loaded.preprocessing.apply(torch.from_numpy(raw).reshape(1, *shape))
        return self._answer(x, target)

    def _answer(self, x: torch.Tensor, target: int | None) -> dict[str, Any]:
        """Shape: x ``(1, *input_shape)`` preprocessed."""
        model = self.loaded.model
        with self.lock:
            with torch.no_grad():
                probs = torch.softmax(model(x), dim=1)[0]  # (num_classes,)
            result = explain(model, x, target=target)
        predicted = int(probs.argmax())
        return {
            "class": predicted,
            "label": self._label(predicted),
            "probabilities": [round(float(p), 6) for p in probs],  # in class order
            "target": result.target,
            "target_label": self._label(result.target),
            "method": result.method,
            "heatmap": np.round(result.heatmap.astype(np.float64), HEATMAP_DECIMALS).tolist(),
        }

    def _label(self, index: int) -> str:
        return self.classes[index] if index < len(self.classes) else str(index)

    def _check_classifier(self) -> None:
        card = self.loaded.card
        if card.task != "classification":
            raise _RequestError(
                400,
                "not_a_classifier",
                f"the served model ({card.family}, task {card.task}) is not a classifier; "
                f"explanations need one",
            )


def _target_param(request: Request) -> int | None:
    value = request.query_params.get("target")
    if value is None or value == "":
        return None
    try:
        return int(value)
    except ValueError:
        raise _RequestError(
            422, "invalid_input", f"target must be a class index, got {value!r}"
        ) from None


def _instance_fields(payload: Any) -> tuple[Any, int | None]:
    if not isinstance(payload, dict) or "instance" not in payload:
        raise _RequestError(422, "validation_error", 'send a JSON object {"instance": [...]}')
    unknown = sorted(set(payload) - {"instance", "target"})
    if unknown:
        raise _RequestError(422, "validation_error", f"unknown field(s): {', '.join(unknown)}")
    instance, target = payload["instance"], payload.get("target")
    if not isinstance(instance, list):
        raise _RequestError(422, "invalid_input", "instance must be a list of numbers")
    if target is not None and (isinstance(target, bool) or not isinstance(target, int)):
        raise _RequestError(422, "invalid_input", f"target must be a class index, got {target!r}")
    return instance, target


async def _read_body(request: Request) -> bytes:
    """The body, refused early by its declared length and again by what actually came."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise _too_large()
    body = bytearray()
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > MAX_BODY_BYTES:
            raise _too_large()
    return bytes(body)


async def _json_body(request: Request) -> Any:
    body = await _read_body(request)
    try:
        return json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise _RequestError(400, "invalid_json", f"the body is not valid JSON: {exc}") from None


async def _image_bytes(request: Request) -> bytes:
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("image/"):
        data = await _read_body(request)
    elif content_type.startswith("multipart/form-data"):
        data = await _form_file(request)
    else:
        raise _RequestError(
            415,
            "unsupported_media_type",
            f"send the image as multipart/form-data (field 'file') or as an image/* body, "
            f"not {content_type or 'no content type'}",
        )
    if not data:
        raise _RequestError(400, "invalid_image", "the image is empty")
    return data


async def _form_file(request: Request) -> bytes:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise _too_large()
    try:
        form = await request.form(max_files=1, max_fields=10)
    except Exception as exc:  # malformed multipart: starlette raises its own error types
        raise _RequestError(400, "invalid_form", f"cannot read the form: {exc}") from None
    try:
        upload = form.get("file")
        if not isinstance(upload, UploadFile):  # any single file field will do
            upload = next((v for v in form.values() if isinstance(v, UploadFile)), None)
        if upload is None:
            raise _RequestError(
                422, "validation_error", "the form holds no file; send the image as field 'file'"
            )
        data = await upload.read(MAX_BODY_BYTES + 1)
        if len(data) > MAX_BODY_BYTES:
            raise _too_large()
        return data
    finally:
        await form.close()


def _too_large() -> _RequestError:
    return _RequestError(
        413, "body_too_large", f"the body is larger than {MAX_BODY_BYTES // (1024 * 1024)} MiB"
    )


def _error(status: int, kind: str, message: str) -> JSONResponse:
    return JSONResponse(status_code=status, content={"error": {"type": kind, "message": message}})
