"""Training recipes: one-cycle schedule, label smoothing, weight averaging (EMA), flip TTA."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from profond.data.registry import DataOptions, load_dataset
from profond.errors import ProfondError
from profond.models import build_model
from profond.runs.spec import RunSpec
from profond.train.callbacks import Callback
from profond.train.config import TrainConfig
from profond.train.optim import lr_factor
from profond.train.tasks.classification import ClassificationTask
from profond.train.trainer import Trainer


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits", DataOptions())


def _mlp():
    torch.manual_seed(0)
    return build_model("mlp", {"in_features": 64, "num_classes": 10})


def test_onecycle_rises_to_the_peak_then_anneals_to_almost_zero():
    config = TrainConfig(schedule="onecycle", epochs=10)
    factors = [lr_factor(config, e / 10) for e in range(101)]
    assert factors[0] == pytest.approx(1 / 25)
    assert max(factors) == pytest.approx(1.0) and factors[30] == pytest.approx(1.0)
    assert factors[-1] == pytest.approx(1 / 25e4)
    assert all(a <= b for a, b in zip(factors[:30], factors[1:31], strict=True))  # rising
    assert all(a >= b for a, b in zip(factors[30:-1], factors[31:], strict=True))  # then falling
    assert lr_factor(config, 6.5) == pytest.approx(0.5 * (1 + 1 / 25e4), rel=1e-3)


def test_label_smoothing_is_the_loss_against_blended_targets(digits):
    task = ClassificationTask(digits)
    task.setup(TrainConfig(label_smoothing=0.2), torch.device("cpu"))
    model = _mlp().eval()  # no dropout: both losses see the same logits
    x, y = digits.x_train[:32], digits.y_train[:32]
    logp = F.log_softmax(model(x), dim=1)
    targets = 0.8 * F.one_hot(y, 10).float() + 0.2 / 10
    expected = -(targets * logp).sum(1).mean()
    assert task.training_step(model, x, y).item() == pytest.approx(expected.item(), rel=1e-5)
    plain = F.cross_entropy(model(x), y).item()
    assert abs(plain - expected.item()) > 1e-3


class _LeftHalf(nn.Module):
    """A classifier that only looks at the left half of the image: mirror images differ."""

    def __init__(self) -> None:
        super().__init__()
        self.scale = nn.Parameter(torch.tensor(5.0))

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, 1, H, W) -> (B, 2)
        left = x[..., : x.shape[-1] // 2].mean(dim=(1, 2, 3))
        return torch.stack([left, -left], dim=1) * self.scale


def test_flip_tta_averages_the_image_and_its_mirror_image(digits):
    x = torch.rand(6, 1, 8, 8)
    model = _LeftHalf()
    task = ClassificationTask(digits)
    task.setup(TrainConfig(tta="flip"), torch.device("cpu"))
    with_tta = task.predict_proba(model, x, 4)
    expected = 0.5 * (F.softmax(model(x), 1) + F.softmax(model(x.flip(-1)), 1))
    torch.testing.assert_close(with_tta, expected)
    task.setup(TrainConfig(), torch.device("cpu"))
    assert not torch.allclose(task.predict_proba(model, x, 4), with_tta)


def _weights(model: nn.Module) -> list[torch.Tensor]:
    return [t.detach().clone() for t in model.state_dict().values()]


class _Recorder(Callback):
    """Keeps the raw weights after every step and the validation loss of each epoch."""

    def __init__(self) -> None:
        self.steps: list[list[torch.Tensor]] = []

    def on_batch_end(self, trainer, epoch, batch, num_batches):
        self.steps.append(_weights(trainer.model))


def test_ema_is_the_moving_average_the_model_ends_with(digits):
    recorder = _Recorder()
    decay = 0.9
    config = TrainConfig(epochs=2, batch_size=256, ema=decay, seed=1)
    torch.manual_seed(0)
    model = _mlp()
    start = _weights(model)
    result = Trainer(config, callbacks=[recorder]).fit(model, ClassificationTask(digits), digits)
    expected = start
    for n, step in enumerate(recorder.steps):
        d = min(decay, (1 + n) / (10 + n))
        expected = [d * e + (1 - d) * w if e.is_floating_point() else w
                    for e, w in zip(expected, step, strict=True)]  # fmt: skip
    for got, want in zip(_weights(model), expected, strict=True):
        torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-6)
    assert not torch.allclose(_weights(model)[0], recorder.steps[-1][0])  # not the raw weights
    # validation and the test were measured on the averaged weights
    task = ClassificationTask(digits)
    test = task.evaluate(model.eval(), digits.x_test, digits.y_test, 256)
    assert result.test_metrics["test_loss"] == pytest.approx(test["loss"])


class _StopAfter(Callback):
    def __init__(self, epochs: int) -> None:
        self.epochs = epochs

    def on_epoch_end(self, trainer, epoch, logs):
        trainer.should_stop = epoch + 1 >= self.epochs


def test_a_resumed_run_continues_the_same_average(digits, tmp_path):
    config = TrainConfig(epochs=3, batch_size=128, ema=0.95, seed=2)
    whole = _mlp()
    Trainer(config).fit(whole, ClassificationTask(digits), digits)
    path = tmp_path / "last.pt"
    Trainer(config, callbacks=[_StopAfter(1)], checkpoint_path=path).fit(
        _mlp(), ClassificationTask(digits), digits
    )
    resumed = _mlp()
    Trainer(config, checkpoint_path=path).fit(
        resumed, ClassificationTask(digits), digits, resume=True
    )
    for a, b in zip(_weights(whole), _weights(resumed), strict=True):
        torch.testing.assert_close(a, b)


def test_bf16_precision_trains_under_autocast(digits):
    seen: list[torch.dtype] = []
    model = _mlp()
    first = next(m for m in model.modules() if isinstance(m, nn.Linear))
    first.register_forward_hook(lambda module, inputs, output: seen.append(output.dtype))
    config = TrainConfig(epochs=3, batch_size=64, lr=3e-3, precision="bf16")
    result = Trainer(config).fit(model, ClassificationTask(digits), digits)
    assert torch.bfloat16 in seen  # the training forward passes
    assert seen[-1] == torch.float32  # evaluations stay in float32
    assert next(model.parameters()).dtype == torch.float32  # the weights too
    assert result.test_metrics["test_accuracy"] > 0.85


@pytest.mark.parametrize("native", [True, False])
def test_auto_precision_is_bf16_only_where_the_device_has_it(digits, monkeypatch, native):
    from profond.train import device as device_module

    flags = {"avx512f", "avx512_bf16"} if native else {"avx512f", "avx2"}
    monkeypatch.setattr(device_module, "_cpu_flags", lambda: flags)
    seen: list[torch.dtype] = []
    model = _mlp()
    first = next(m for m in model.modules() if isinstance(m, nn.Linear))
    first.register_forward_hook(lambda module, inputs, output: seen.append(output.dtype))
    trainer = Trainer(TrainConfig(epochs=1, batch_size=64, precision="auto", device="cpu"))
    trainer.fit(model, ClassificationTask(digits), digits)
    assert trainer.precision == ("bf16" if native else "fp32")
    assert (torch.bfloat16 in seen) is native


def test_cpu_flags_are_read_from_proc_cpuinfo():
    from pathlib import Path

    from profond.train.device import _cpu_flags

    info = Path("/proc/cpuinfo")
    if not info.exists():
        assert _cpu_flags() == set()
        return
    lines = [x for x in info.read_text().splitlines() if x.startswith("flags")]
    assert _cpu_flags() == (set(lines[0].partition(":")[2].split()) if lines else set())


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"label_smoothing": 1.0}, r"label_smoothing must be a number in \[0, 1\), got 1.0"),
        ({"ema": 1.5}, "ema must be"),
        ({"ema": -0.5}, "ema must be"),
        ({"tta": "rotate"}, "unknown test-time augmentation 'rotate'; choose one of: flip, none"),
        ({"schedule": "triangle"}, "onecycle"),
        ({"precision": "fp16"}, "unknown precision 'fp16'; choose one of: fp32, bf16, auto"),
    ],
)
def test_bad_recipe_values_are_named(kwargs, message):
    with pytest.raises(ProfondError, match=message):
        TrainConfig(**kwargs)


def test_recipe_options_reach_the_run_spec_and_the_command_line():
    import argparse

    from profond.commands import train as train_command

    spec = RunSpec.from_options({"label_smoothing": 0.1, "ema": 0.999, "tta": "flip",
                                 "schedule": "onecycle"})  # fmt: skip
    assert (spec.label_smoothing, spec.ema, spec.tta) == (0.1, 0.999, "flip")
    parser = argparse.ArgumentParser()
    train_command.add_parser(parser.add_subparsers())
    args = parser.parse_args(["train", "--label-smoothing", "0.1", "--ema", "0.999",
                              "--tta", "flip", "--schedule", "onecycle"])  # fmt: skip
    options = train_command.run_options(args)
    assert options == {"label_smoothing": 0.1, "ema": 0.999, "tta": "flip",
                       "schedule": "onecycle"}  # fmt: skip
    assert not math.isnan(options["ema"])


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--ema", "2"], "error: ema must be a number in [0, 1) (or unset), got 2.0"),
        (["--label-smoothing", "1.5"], "error: label_smoothing must be a number in [0, 1)"),
        (["--tta", "spin"], "unknown test-time augmentation 'spin'; choose one of: flip"),
        (["--precision", "fp8"], "unknown precision 'fp8'; choose one of: fp32, bf16"),
    ],
)
def test_a_bad_recipe_on_the_command_line_is_one_error_line(argv, message, capsys):
    from profond.cli import main
    from profond.paths import profond_home

    before = sorted(p.name for p in profond_home().glob("*"))
    try:
        status = main(["train", "--data", "digits", "--epochs", "1", *argv])
    except SystemExit as stop:  # argparse refuses a bad choice itself
        status = stop.code
    assert status == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0] and "Traceback" not in err[0]
    assert sorted(p.name for p in profond_home().glob("*")) == before  # no run was started
