"""ServeConfig and ModelSource refuse bad values and name them."""

from __future__ import annotations

import pytest

from profond.errors import ProfondError
from profond.serve.config import ModelSource, ServeConfig

SOURCE = ModelSource(model_dir="/nowhere")


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"runtime": "tf"}, "unknown runtime 'tf'"),
        ({"max_batch": 0}, "max_batch=0"),
        ({"workers": -1}, "workers=-1"),
        ({"port": 70000}, "port=70000"),
        ({"max_wait_ms": -1.0}, "max_wait_ms=-1.0"),
        ({"drift_window": 50, "drift_min_samples": 100}, "cannot exceed drift_window"),
        ({"token": "short"}, "at least 8 characters"),
        ({"max_instances": True}, "max_instances=True"),
    ],
)
def test_bad_values_are_named(overrides: dict, message: str) -> None:
    with pytest.raises(ProfondError, match=message):
        ServeConfig(source=SOURCE, **overrides)


def test_exactly_one_source() -> None:
    with pytest.raises(ProfondError, match="received: none"):
        ModelSource()
    with pytest.raises(ProfondError, match="run_id, model_dir"):
        ModelSource(run_id="abc", model_dir="x")


def test_missing_folder_is_a_clear_error(tmp_path) -> None:
    with pytest.raises(ProfondError, match="no saved model"):
        ModelSource(model_dir=str(tmp_path)).load()


def test_config_round_trips_through_json() -> None:
    config = ServeConfig(source=ModelSource(run_id="r1", tracking_uri="file:/x"), workers=3)
    assert ServeConfig.from_json(config.to_json()) == config
