"""The wire format of the prediction API: request and response bodies, and the error body.

Every error the server answers has the same shape, ``{"error": {"type": ..., "message": ...}}``,
whether it comes from validation, a missing route or the model;
:class:`~profond.inference.errors.InputError` carries the HTTP status with it.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, SkipValidation

# Strict: a string such as "0.5" is a client bug, not a number; NaN and infinities are refused
# because one of them turns every output of the batch it joins into NaN.
Number = Annotated[float, Field(strict=True, allow_inf_nan=False)]
# One instance: flat (prod(input_shape) numbers) or nested to the input shape (up to 4 axes).
Instance = (
    list[Number] | list[list[Number]] | list[list[list[Number]]] | list[list[list[list[Number]]]]
)


class ErrorDetail(BaseModel):
    type: str = Field(description="machine-readable error type, e.g. invalid_shape")
    message: str = Field(description="what was wrong and what the server expects")


class ErrorBody(BaseModel):
    error: ErrorDetail


def error_body(kind: str, message: str) -> dict[str, Any]:
    return {"error": {"type": kind, "message": message}}


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorBody, "description": description}
    for status, description in {
        400: "malformed input (bad JSON, undecodable image, wrong field)",
        413: "request body larger than the server accepts",
        422: "input of the wrong shape, type or size",
    }.items()
}


class PredictRequest(BaseModel):
    """A batch of raw inputs, in the data's original units (0..255 pixels, series values)."""

    model_config = ConfigDict(extra="forbid")

    # The schema documents numbers, but pydantic does not check them one by one: for a
    # 784-pixel image that costs ~3 ms per request, 30x the inference. The server checks
    # shape, type and finiteness on the whole array instead (:func:`profond.inference.decode.rows_to_array`).
    instances: SkipValidation[list[Instance]] | None = Field(
        default=None,
        description="raw inputs, each flat or nested to the model's input shape",
        examples=[[[0.0] * 4]],
    )
    texts: list[Annotated[str, Field(max_length=10_000)]] | None = Field(
        default=None, description="texts, for text-classification models"
    )


class ModelRef(BaseModel):
    run_id: str
    family: str
    runtime: str


class ClassPrediction(BaseModel):
    """``output_kind`` ``classes``."""

    class_: int = Field(alias="class", description="predicted class index")
    label: str = Field(description="predicted class name")
    probabilities: list[float] = Field(description="softmax over the classes, in class order")

    model_config = ConfigDict(populate_by_name=True)


class ForecastPrediction(BaseModel):
    """``output_kind`` ``forecast``: values in the series' own units."""

    forecast: list[float] = Field(description="the next `horizon` values, in the series' units")
    horizon: int
    unit: str


class MaskPrediction(BaseModel):
    """``output_kind`` ``mask``: a class per pixel."""

    shape: list[int]
    pixel_fraction: dict[str, float]
    present: list[str]
    mask: list[list[int]]


class ReconstructionPrediction(BaseModel):
    """``output_kind`` ``reconstruction``: the input remade by the model, in raw units."""

    reconstruction: list[Any]


Prediction = ClassPrediction | ForecastPrediction | MaskPrediction | ReconstructionPrediction


class PredictResponse(BaseModel):
    predictions: list[Prediction] = Field(description="one per input, as the task formats it")
    model: ModelRef


class ModelInfo(BaseModel):
    run_id: str
    family: str
    task: str
    data: str
    input_shape: list[int]
    input_kind: str = Field(description="image | text | series | vector")
    output_kind: str = Field(description="classes | forecast | mask | reconstruction | none")
    explainable: bool = Field(description="POST /v1/explain and /v1/explain/image apply")
    classes: list[str]
    unit: str = Field(description="unit of a forecaster's values")
    metrics: dict[str, float]
    runtime: str
    max_instances: int


class Health(BaseModel):
    status: str


class FeedbackItem(BaseModel):
    model_config = ConfigDict(extra="forbid")

    predicted: Annotated[int, Field(strict=True, ge=0)]
    label: Annotated[int, Field(strict=True, ge=0)]


class FeedbackRequest(BaseModel):
    """True labels for earlier predictions, known later (e.g. from a human review)."""

    model_config = ConfigDict(extra="forbid")

    items: list[FeedbackItem] = Field(min_length=1, max_length=10_000)


class FeedbackResponse(BaseModel):
    received: int
    live_accuracy: float | None = Field(description="accuracy over the recent feedback window")


class FeatureDrift(BaseModel):
    ks_statistic: float
    ks_pvalue: float
    psi: float
    drifted: bool


class DriftReport(BaseModel):
    status: str = Field(description="no_reference | warming_up | ok | drift")
    window: int = Field(description="inputs in the sliding window")
    features: dict[str, FeatureDrift]
    drifted_features: list[str]
    score: float = Field(description="largest PSI over the features")
    alarm: bool
    method: dict[str, Any]
