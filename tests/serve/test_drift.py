"""Drift: in-distribution inputs raise no alarm, brightness or noise shifts do, and the gauges say so."""

from __future__ import annotations

import httpx
import numpy as np
import pytest
import torch
from prometheus_client.parser import text_string_to_metric_families

from profond.errors import ProfondError
from profond.monitor.drift import DriftMonitor, build_reference, input_features, psi


def _preprocessed(raw: np.ndarray) -> np.ndarray:
    return (raw / 16.0).astype(np.float32).reshape(-1, 1, 8, 8)


def _embedding(loaded, x: np.ndarray) -> np.ndarray:
    with torch.no_grad():
        return loaded.model.features(torch.from_numpy(x)).numpy()


def _monitor_after(loaded, x: np.ndarray) -> dict:
    monitor = DriftMonitor(loaded.drift_reference, window=500, min_samples=100)
    monitor.update(x, _embedding(loaded, x))
    return monitor.report()


def test_reference_is_json_ready_and_complete(loaded) -> None:
    reference = loaded.drift_reference
    expected = {"intensity_mean", "intensity_std", "contrast", "sharpness", "embedding_norm"}
    assert expected <= set(reference["features"])
    assert {"embedding_pc1", "embedding_pc2"} <= set(reference["features"])
    for feature in reference["features"].values():
        assert len(feature["shares"]) == len(feature["edges"]) + 1
        assert abs(sum(feature["shares"]) - 1) < 1e-9


def test_in_distribution_inputs_raise_no_alarm(loaded, digits) -> None:
    report = _monitor_after(loaded, _preprocessed(digits["x_test"]))
    assert report["status"] == "ok" and not report["alarm"]
    assert report["score"] < 0.2
    assert report["window"] == len(digits["x_test"])


@pytest.mark.parametrize("shift", ["brightness", "noise"])
def test_shifted_inputs_raise_the_alarm(loaded, digits, shift: str) -> None:
    raw = digits["x_test"]
    if shift == "brightness":
        shifted = np.clip(raw + 6.0, 0, 16)
    else:
        shifted = np.clip(raw + np.random.default_rng(0).normal(0, 3.0, raw.shape), 0, 16)
    report = _monitor_after(loaded, _preprocessed(shifted))
    assert report["alarm"] and report["status"] == "drift"
    assert len(report["drifted_features"]) >= 2
    assert report["score"] > 0.2


def test_warming_up_and_no_reference(loaded, digits) -> None:
    x = _preprocessed(digits["x_test"][:10])
    monitor = DriftMonitor(loaded.drift_reference, window=500, min_samples=100)
    monitor.update(x, _embedding(loaded, x))
    assert monitor.report()["status"] == "warming_up"
    assert DriftMonitor(None).report()["status"] == "no_reference"


def test_window_slides(loaded, digits) -> None:
    x = _preprocessed(digits["x_test"])
    monitor = DriftMonitor(loaded.drift_reference, window=100, min_samples=50)
    monitor.update(x, _embedding(loaded, x))
    assert monitor.report()["window"] == 100


def test_features_and_psi_behave() -> None:
    x = np.random.default_rng(0).random((4, 1, 8, 8)).astype(np.float32)
    features = input_features(x)
    np.testing.assert_allclose(features["intensity_mean"], x.reshape(4, -1).mean(1), rtol=1e-6)
    assert set(features) == {"intensity_mean", "intensity_std", "contrast", "sharpness"}
    assert "sharpness" not in input_features(np.ones((2, 12)))  # a series has no Laplacian
    assert psi(np.array([0.5, 0.5]), np.array([0.5, 0.5])) == 0.0
    assert psi(np.array([0.5, 0.5]), np.array([0.9, 0.1])) > 0.2


def test_bad_arguments_are_refused(loaded) -> None:
    with pytest.raises(ProfondError, match="at least 10 inputs"):
        build_reference(loaded.model, torch.zeros(3, 1, 8, 8))
    with pytest.raises(ProfondError, match="min_samples"):
        DriftMonitor(None, window=10, min_samples=20)
    with pytest.raises(ProfondError, match="version"):
        DriftMonitor({"version": 99})


def _gauges(url: str) -> dict[tuple[str, tuple], float]:
    text = httpx.get(f"{url}/metrics").text
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def test_server_drift_endpoint_and_gauges(server: str, digits) -> None:
    raw = digits["x_test"].reshape(len(digits["x_test"]), -1)
    for start in range(0, len(raw), 100):
        httpx.post(f"{server}/v1/predict", json={"instances": raw[start : start + 100].tolist()})
    calm = httpx.get(f"{server}/v1/monitoring/drift").json()
    assert calm["status"] == "ok" and calm["window"] == len(raw)
    assert _gauges(server)[("profond_drift_alarm", ())] == 0

    brighter = np.clip(raw + 6.0, 0, 16)
    for _ in range(2):  # fill the 500-input window with shifted inputs
        for start in range(0, len(raw), 100):
            batch = brighter[start : start + 100].tolist()
            httpx.post(f"{server}/v1/predict", json={"instances": batch})
    alarmed = httpx.get(f"{server}/v1/monitoring/drift").json()
    assert alarmed["alarm"] and "intensity_mean" in alarmed["drifted_features"]
    gauges = _gauges(server)
    assert gauges[("profond_drift_alarm", ())] == 1
    assert gauges[("profond_drift_psi", (("feature", "intensity_mean"),))] > 0.2
    assert gauges[("profond_drift_score", ())] == pytest.approx(alarmed["score"])
