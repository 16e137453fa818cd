"""One shared check for every model family: build from real data, shapes, one training step."""

from __future__ import annotations

import pytest
import torch

from profond.data.registry import DataOptions, get_dataset
from profond.errors import ProfondError
from profond.models import family_names, get_family, make_config
from profond.train.config import TrainConfig
from profond.train.tasks import task_class


def _fortunes_installed() -> bool:
    from profond.data.text import find_fortunes_dir

    try:
        find_fortunes_dir()
    except ProfondError:
        return False
    return True


# Datasets that come from a Debian package: (is it installed?, the packages to name).
SYSTEM_DATA = {"fortunes": (_fortunes_installed, "fortunes fortunes-min")}


def _skip_without_system_data(data: str) -> None:
    installed, packages = SYSTEM_DATA.get(data, (lambda: True, ""))
    if not installed():
        pytest.skip(f"needs the Debian package(s) {packages}: apt-get install -y {packages}")


@pytest.fixture(scope="module")
def bundles():
    cache: dict[str, object] = {}

    def load(name: str):
        if name not in cache:
            cache[name] = get_dataset(name).load(DataOptions(limit=96, val_fraction=0.25))
        return cache[name]

    return load


@pytest.mark.parametrize("name", family_names())
def test_family_builds_runs_and_learns_one_step(name, bundles):
    family = get_family(name)
    _skip_without_system_data(family.default_data)
    data = bundles(family.default_data)
    assert data.task in family.data_tasks
    torch.manual_seed(0)
    model = family.module_class(make_config(family, family.data_fields(data), {}))
    parameters = sum(p.numel() for p in model.parameters())
    assert parameters > 0

    x, y = data.x_train[:16], data.y_train[:16]
    model.eval()
    with torch.no_grad():
        out = model(x)
    assert out.shape[0] == 16 and torch.isfinite(out).all()

    task = task_class(family.task)(data)
    config = TrainConfig(lr=1e-3, batch_size=16)
    task.setup(config, torch.device("cpu"))
    optimizers = task.configure_optimizers(model, config)
    before = [p.detach().clone() for p in model.parameters()]
    model.train()
    if task.manual_optimization:
        loss = task.manual_step(model, x, y, optimizers)
    else:
        loss = task.training_step(model, x, y)
        loss.backward()
        grads = [p.grad for p in model.parameters() if p.grad is not None]
        assert grads and all(torch.isfinite(g).all() for g in grads)
        optimizers[0].step()
    assert torch.isfinite(loss)
    changed = sum(
        not torch.equal(b, p.detach()) for b, p in zip(before, model.parameters(), strict=True)
    )
    assert changed > 0, f"{name}: one step changed no parameter"
    metrics = task.evaluate(model.eval(), data.x_val[:16], data.y_val[:16], 16)
    assert "loss" in metrics and all(v == v for v in metrics.values())  # no NaN
