"""The wire format of the prediction API: request and response bodies, and the error body.

Every error the server answers has the same shape, ``{"error": {"type": ..., "message": ...}}``,
whether it comes from validation, a missing route or the model; :class:`ApiError` carries the
HTTP status with it.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, SkipValidation

from profond.errors import ProfondError

# Strict: a string such as "0.5" is a client bug, not a number; NaN and infinities are refused
# because one of them turns every output of the batch it joins into NaN.
Number = Annotated[float, Field(strict=True, allow_inf_nan=False)]
# One instance: flat (prod(input_shape) numbers) or nested to the input shape (up to 4 axes).
Instance = (
    list[Number] | list[list[Number]] | list[list[list[Number]]] | list[list[list[list[Number]]]]
)


class ApiError(ProfondError):
    """A request the server refuses: answered with ``status`` and a JSON error body.

    Args:
        message: what was wrong and what was expected.
        status: the HTTP status (4xx).
        kind: a short machine-readable type, e.g. ``"invalid_shape"``.
    """

    def __init__(self, message: str, status: int = 400, kind: str = "bad_request") -> None:
        super().__init__(message)
        self.status = status
        self.kind = kind


class ErrorDetail(BaseModel):
    type: str = Field(description="machine-readable error type, e.g. invalid_shape")
    message: str = Field(description="what was wrong and what the server expects")


class ErrorBody(BaseModel):
    error: ErrorDetail


def error_body(kind: str, message: str) -> dict[str, Any]:
    return {"error": {"type": kind, "message": message}}


class PredictRequest(BaseModel):
    """A batch of raw inputs, in the data's original units (0..255 pixels, series values)."""

    model_config = ConfigDict(extra="forbid")

    # The schema documents numbers, but pydantic does not check them one by one: for a
    # 784-pixel image that costs ~3 ms per request, 30x the inference. The server checks
    # shape, type and finiteness on the whole array instead (``instances_to_array``).
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


class Prediction(BaseModel):
    class_: int = Field(alias="class", description="predicted class index")
    label: str = Field(description="predicted class name")
    probabilities: list[float] = Field(description="softmax over the classes, in class order")

    model_config = ConfigDict(populate_by_name=True)


class PredictResponse(BaseModel):
    predictions: list[Prediction]
    model: ModelRef


class ForecastResponse(BaseModel):
    forecast: list[list[float]] = Field(description="one predicted horizon per input window")
    model: ModelRef


class OutputResponse(BaseModel):
    outputs: list[list[float]] = Field(description="the model's raw output, flattened per input")
    model: ModelRef


class ModelInfo(BaseModel):
    run_id: str
    family: str
    task: str
    data: str
    input_shape: list[int]
    classes: list[str]
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
