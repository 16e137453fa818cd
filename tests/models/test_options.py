"""Model options: parsed by declared type, data-derived ones refused, models sized before allocation."""

import resource
import time

import pytest

from profond.errors import ProfondError
from profond.models import get_family, make_config
from profond.models.options import MAX_MODEL_VALUES, count_model_values, parse_option

MLP_DATA = {"in_features": 64, "num_classes": 10}
IMAGE_DATA = {"in_channels": 1, "image_size": (8, 8), "num_classes": 10}


@pytest.mark.parametrize(
    "family, data, overrides, message",
    [
        ("mlp", MLP_DATA, {"in_features": "5"}, r"in_features of model 'mlp' are set from the data \(in_features=64\)"),
        ("mlp", MLP_DATA, {"num_classes": "3"}, r"num_classes of model 'mlp' are set from the data"),
        ("cnn", IMAGE_DATA, {"image_size": "4,4"}, "image_size of model 'cnn' are set from the data"),
        ("mlp", MLP_DATA, {"dropout": "nan"}, "option dropout='nan' is not a valid float"),
        ("mlp", MLP_DATA, {"dropout": True}, "option dropout=True is not a valid float"),
        ("mlp", MLP_DATA, {"hidden_sizes": "a,b"}, r"hidden_sizes='a,b' is not a valid list of int"),
        ("mlp", MLP_DATA, {"hidden_sizes": "1e3"}, "is not a valid list of int"),
        ("mlp", MLP_DATA, {"batch_norm": "maybe"}, r"batch_norm='maybe' is not a valid bool"),
        ("mlp", MLP_DATA, {"activation": 3}, "option activation=3 is not a valid str"),
        ("cnn", IMAGE_DATA, {"kernel_size": "2.5"}, "kernel_size='2.5' is not a valid int"),
        ("cnn", IMAGE_DATA, {"channels": "8,8,8,8,8,8,8,8"}, "model 'cnn': invalid configuration"),
    ],
)  # fmt: skip
def test_bad_options_are_one_line(family, data, overrides, message):
    with pytest.raises(ProfondError, match=message):
        make_config(get_family(family), data, overrides)


def test_options_are_parsed_by_their_declared_type():
    config = make_config(get_family("mlp"), MLP_DATA,
                         {"hidden_sizes": "64x32", "dropout": "0.5", "batch_norm": "yes"})  # fmt: skip
    assert config.hidden_sizes == (64, 32) and config.dropout == 0.5 and config.batch_norm is True
    config = make_config(get_family("mlp"), MLP_DATA, {"hidden_sizes": [16, 8], "dropout": 0})
    assert config.hidden_sizes == (16, 8) and config.dropout == 0.0
    assert parse_option("x", "none", int | None) is None
    assert parse_option("x", "7", int | None) == 7


@pytest.mark.parametrize(
    "family, data, overrides",
    [
        ("mlp", MLP_DATA, {"hidden_sizes": "100000,100000"}),
        ("cnn", IMAGE_DATA, {"channels": "100000,100000"}),
        ("transformer", {"vocab_size": 100, "num_classes": 2, "max_len": 64}, {"d_model": "65536", "num_heads": "1"}),
    ],
)  # fmt: skip
def test_oversized_models_are_refused_before_allocation(family, data, overrides):
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    with pytest.raises(ProfondError, match=r"parameters \(at most 100,000,000 accepted"):
        make_config(get_family(family), data, overrides)
    assert time.perf_counter() - start < 5.0
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before) / 1024
    assert grown_mb < 200  # the 40 GB were never allocated


def test_the_count_is_the_real_parameter_count():
    family = get_family("mlp")
    config = make_config(family, MLP_DATA, {"hidden_sizes": "32,16"})
    model = family.module_class(config)
    real = sum(p.numel() for p in model.parameters()) + sum(b.numel() for b in model.buffers())
    assert count_model_values(family.module_class, config) == real
    assert real < MAX_MODEL_VALUES


def test_configs_near_the_defaults_are_not_built_to_be_sized(monkeypatch):
    import profond.models.options as options

    def refuse_build(*_):
        raise AssertionError("sized on the meta device")

    monkeypatch.setattr(options, "count_model_values", refuse_build)
    family = get_family("cnn")
    make_config(family, {"in_channels": 3, "image_size": (32, 32), "num_classes": 4}, {})
    make_config(family, IMAGE_DATA, {"channels": "32,64", "hidden_size": "256"})
    with pytest.raises(AssertionError, match="meta"):
        make_config(family, IMAGE_DATA, {"channels": "32,64,128"})  # one layer more
