import pytest

from profond.errors import ProfondError
from profond.track.runs import list_runs, load_run_model, resolve_model_uri
from profond.track.tracker import MLflowTracker


def test_empty_store_lists_nothing():
    assert list_runs() == []


def test_tracked_run_is_listed_newest_first():
    first = MLflowTracker(tags={"profond.model": "mlp", "profond.data": "digits"})
    first.log_metrics({"test_accuracy": 0.5, "train_loss": 1.0})
    first.finish()
    second = MLflowTracker(tags={"profond.model": "cnn", "profond.data": "fashion-mnist"})
    second.finish("FAILED")
    runs = list_runs()
    assert [r["run_id"] for r in runs] == [second.run_id, first.run_id]
    assert runs[1]["metrics"] == {"test_accuracy": 0.5}  # per-epoch metrics are not final ones
    assert runs[0]["status"] == "FAILED" and runs[0]["model"] == "cnn"


def test_a_run_without_a_model_says_so():
    run = MLflowTracker()
    run.finish()
    with pytest.raises(ProfondError, match="has no saved model"):
        load_run_model(run.run_id)


@pytest.mark.parametrize("uri", ["s3://bucket/model", "models:/only-a-name", "models:/ghost/1"])
def test_bad_model_uris(uri):
    with pytest.raises(ProfondError):
        resolve_model_uri(uri)
