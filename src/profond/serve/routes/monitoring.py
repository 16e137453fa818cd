"""Drift, feedback (live accuracy), Prometheus metrics, liveness and readiness."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response

from profond.inference.errors import InputError
from profond.serve.schemas import (
    ERROR_RESPONSES,
    DriftReport,
    ErrorBody,
    FeedbackRequest,
    FeedbackResponse,
    Health,
    error_body,
)
from profond.serve.state import ServerDep, ServerState

router = APIRouter(tags=["monitoring"])

PROMETHEUS_TEXT = "text/plain; version=0.0.4; charset=utf-8"


def drift_report(server: ServerState) -> dict[str, Any]:
    report = server.model.drift.report()
    if report["features"]:
        server.metrics.set_drift(report)
    return report


@router.get("/v1/monitoring/drift", response_model=DriftReport, summary="Input drift vs training")
async def drift(server: ServerDep) -> dict[str, Any]:
    return await asyncio.to_thread(drift_report, server)


@router.post(
    "/v1/feedback",
    response_model=FeedbackResponse,
    responses=ERROR_RESPONSES,
    summary="True labels of earlier predictions (live accuracy)",
)
async def post_feedback(body: FeedbackRequest, server: ServerDep) -> dict[str, Any]:
    num_classes = len(server.model.loaded.classes)
    for item in body.items:
        if num_classes and max(item.predicted, item.label) >= num_classes:
            raise InputError(
                f"class indices must be below {num_classes}; received "
                f"predicted={item.predicted}, label={item.label}",
                422,
                "invalid_value",
            )
    for item in body.items:
        correct = item.predicted == item.label
        server.feedback.append(correct)
        server.metrics.feedback.labels(str(correct).lower()).inc()
    accuracy = sum(server.feedback) / len(server.feedback)
    server.metrics.live_accuracy.set(accuracy)
    return {"received": len(body.items), "live_accuracy": accuracy}


@router.get("/health", response_model=Health, summary="Liveness: the process answers")
async def health() -> dict[str, str]:
    return {"status": "ok"}


@router.get(
    "/ready",
    response_model=Health,
    responses={503: {"model": ErrorBody}},
    summary="Readiness: the model is loaded and warmed up",
)
async def ready(server: ServerDep) -> Any:
    if not server.ready.is_set():
        return JSONResponse(error_body("not_ready", "the model is still loading"), 503)
    return {"status": "ready"}


@router.get(
    "/metrics",
    summary="Prometheus metrics",
    description="Prometheus text exposition format (version 0.0.4), not JSON: one "
    "`name{labels} value` line per series, for a Prometheus server to scrape.",
    response_class=Response,
    responses={200: {"content": {PROMETHEUS_TEXT: {"schema": {"type": "string"}}}}},
)
async def metrics(server: ServerDep) -> Response:
    await asyncio.to_thread(drift_report, server)  # drift gauges are current at every scrape
    body, content_type = server.metrics.exposition()
    return Response(body, media_type=content_type)
