"""Sequence models side by side: seconds per epoch on each device, and what they reach.

Times one short training of the simple RNN, the LSTM and the GRU on the sunspots windows and
of the Transformer on the fortunes quotations, on the CPU and on CUDA when there is one, and
prints the CPU/CUDA ratio. With ``--quality`` it also trains each model to convergence and
compares it with its baseline: the recurrent forecasters with persistence and the seasonal
naive forecast (test RMSE, sunspot units), the Transformer with a bag of embeddings trained
the same way on the same split (test accuracy).

    python benchmarks/train_sequence.py                  # timings only
    python benchmarks/train_sequence.py --quality        # timings and the comparisons
"""

from __future__ import annotations

import argparse
import statistics
from typing import Any

import torch
from torch import nn

from profond.data.registry import DataOptions, load_dataset
from profond.models import build_model, get_family, make_config
from profond.models.bag_of_embeddings import BagOfEmbeddings, BagOfEmbeddingsConfig
from profond.train.config import TrainConfig
from profond.train.tasks import task_class
from profond.train.tasks.classification import ClassificationTask
from profond.train.trainer import Trainer

RECURRENT = {"hidden_size": "64", "num_layers": "2"}  # the forecasters' settings
TRANSFORMER = {"d_model": "64", "num_heads": "2", "num_layers": "2", "dim_feedforward": "128", "dropout": "0.5"}  # fmt: skip
BAG = {"embed_dim": 128, "dropout": 0.3}  # the baseline's best validation setting of a small sweep


class AccuracyMonitored(ClassificationTask):
    """Classification whose best epoch is the one of highest validation accuracy."""

    monitor = "accuracy"
    monitor_mode = "max"


def build(name: str, data: Any, overrides: dict[str, str]) -> nn.Module:
    family = get_family(name)
    return build_model(name, make_config(family, family.data_fields(data), overrides))


def fit(model: nn.Module, data: Any, task: str, config: TrainConfig) -> Any:
    return Trainer(config).fit(model, task_class(task)(data), data)


def time_epochs(devices: list[str], epochs: int, threads: int | None) -> list[dict[str, Any]]:
    """Median seconds per epoch (training pass plus validation) for every model and device."""
    series = load_dataset("sunspots", DataOptions(window=24, horizon=1))
    text = load_dataset("fortunes", DataOptions(max_len=64))
    jobs = [(name, series, "forecasting", RECURRENT, 32) for name in ("rnn", "lstm", "gru")]
    jobs.append(("transformer", text, "classification", TRANSFORMER, 64))
    rows = []
    for name, data, task, overrides, batch_size in jobs:
        row: dict[str, Any] = {"model": name, "data": data.name, "train": len(data.x_train)}
        for device in devices:
            config = TrainConfig(
                epochs=epochs, batch_size=batch_size, device=device, threads=threads
            )
            result = fit(build(name, data, overrides), data, task, config)
            # The first epoch pays for warm-up (allocations, kernel selection): leave it out.
            row[device] = statistics.median(result.history["epoch_time_s"][1:])
        rows.append(row)
    return rows


def quality(threads: int | None, seed: int) -> dict[str, Any]:
    """Test errors of each model against its baseline, trained with early stopping."""
    out: dict[str, Any] = {}
    series = load_dataset("sunspots", DataOptions(window=24, horizon=1))
    config = TrainConfig(epochs=150, batch_size=32, lr=3e-3, patience=20, seed=seed, device="cpu", threads=threads)  # fmt: skip
    for name in ("rnn", "lstm", "gru"):
        torch.manual_seed(seed)  # the initial weights are drawn when the model is built
        result = fit(build(name, series, RECURRENT), series, "forecasting", config)
        out[name] = {
            "test_rmse": result.test_metrics["test_rmse"],
            "test_mae": result.test_metrics["test_mae"],
        }
        out["baselines"] = result.final_metrics

    text = load_dataset("fortunes", DataOptions(max_len=64))
    # Both text models train 20 epochs and keep the epoch of best validation accuracy: the
    # validation loss of an overconfident model rises while its accuracy still improves.
    base = {
        "epochs": 20,
        "batch_size": 64,
        "optimizer": "adamw",
        "weight_decay": 0.01,
        "patience": 20,
    }
    torch.manual_seed(seed)
    transformer = build("transformer", text, TRANSFORMER)
    config = TrainConfig(**base, lr=3e-3, seed=seed, device="cpu", threads=threads)
    result = Trainer(config).fit(transformer, AccuracyMonitored(text), text)
    out["transformer_accuracy"] = result.test_metrics["test_accuracy"]
    torch.manual_seed(seed)
    bag = BagOfEmbeddings(
        BagOfEmbeddingsConfig(
            vocab_size=len(text.extra["vocab"]), num_classes=text.num_classes, **BAG
        )
    )
    config = TrainConfig(**base, lr=1e-2, seed=seed, device="cpu", threads=threads)
    result = Trainer(config).fit(bag, AccuracyMonitored(text), text)
    out["bag_of_embeddings_accuracy"] = result.test_metrics["test_accuracy"]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--epochs", type=int, default=4, help="epochs per timing (first one dropped)"
    )
    parser.add_argument("--threads", type=int, default=None, help="CPU threads for torch")
    parser.add_argument(
        "--quality", action="store_true", help="also train to convergence and compare"
    )
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    rows = time_epochs(devices, max(args.epochs, 2), args.threads)
    header = f"{'model':<12}{'data':<10}{'train':>7}" + "".join(
        f"{d + ' s/epoch':>16}" for d in devices
    )
    print(header + (f"{'cpu/cuda':>10}" if "cuda" in devices else ""))
    for row in rows:
        line = f"{row['model']:<12}{row['data']:<10}{row['train']:>7}"
        line += "".join(f"{row[d]:>16.3f}" for d in devices)
        if "cuda" in devices:
            line += f"{row['cpu'] / row['cuda']:>10.1f}"
        print(line)

    if args.quality:
        results = quality(args.threads, args.seed)
        baselines = results["baselines"]
        print("\nsunspots, one step ahead, test span (sunspot units)")
        print(f"{'forecaster':<22}{'RMSE':>8}{'MAE':>8}")
        for name in ("rnn", "lstm", "gru"):
            print(f"{name:<22}{results[name]['test_rmse']:>8.2f}{results[name]['test_mae']:>8.2f}")
        for name in ("persistence", "seasonal"):
            rmse, mae = baselines[f"baseline_{name}_rmse"], baselines[f"baseline_{name}_mae"]
            print(f"{name + ' (baseline)':<22}{rmse:>8.2f}{mae:>8.2f}")
        lstm, persistence = results["lstm"]["test_rmse"], baselines["baseline_persistence_rmse"]
        print(f"LSTM / persistence RMSE ratio: {lstm / persistence:.2f}")
        transformer, bag = results["transformer_accuracy"], results["bag_of_embeddings_accuracy"]
        print("\nfortunes, test accuracy")
        print(
            f"transformer {transformer:.4f}   bag of embeddings {bag:.4f}   difference {transformer - bag:+.4f}"
        )


if __name__ == "__main__":
    main()
