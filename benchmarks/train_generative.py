"""Seconds per epoch of the VAE and the GAN on Fashion-MNIST, on the CPU and on CUDA if present.

Each family trains ``--epochs`` epochs through the Trainer with its default configuration
(batch size 128); the table shows the mean epoch time (training + validation, which for the GAN
includes the FID of the validation split) and the end-of-run quality: test ELBO for the VAE,
FID / class coverage for the GAN.

Run: python benchmarks/train_generative.py [--limit 10000] [--epochs 1] [--threads 1]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile

import torch


def run(family_name: str, device: str, args: argparse.Namespace) -> dict[str, float]:
    from profond.data.registry import DataOptions, load_dataset
    from profond.models import get_family, make_config
    from profond.train.config import TrainConfig
    from profond.train.tasks import task_class
    from profond.train.trainer import Trainer

    bundle = load_dataset("fashion-mnist", DataOptions(limit=args.limit))
    family = get_family(family_name)
    torch.manual_seed(0)
    model = family.module_class(make_config(family, family.data_fields(bundle), {}))
    task = task_class(family.task)(bundle)
    config = TrainConfig(epochs=args.epochs, batch_size=128, device=device, threads=args.threads)
    if family_name == "gan":  # train (or load) the scoring classifier outside the timing
        task._scorer(bundle.x_val)  # noqa: SLF001
    result = Trainer(config).fit(model, task, bundle)
    out = {"s_per_epoch": statistics.mean(result.history["epoch_time_s"])}
    out.update({k: v for k, v in {**result.test_metrics, **result.final_metrics}.items()})
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--limit", type=int, default=None, help="training images (default: all 60000)"
    )
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--threads", type=int, default=None, help="CPU threads for torch")
    args = parser.parse_args()
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    os.environ.setdefault("PROFOND_HOME", tempfile.mkdtemp(prefix="profond-bench-"))
    results = {(f, d): run(f, d, args) for f in ("vae", "gan") for d in devices}
    print(
        f"{'family':8}"
        + "".join(f"{d + ' s/epoch':>16}" for d in devices)
        + ("   cpu/cuda" if len(devices) > 1 else "")
    )
    for family in ("vae", "gan"):
        times = [results[(family, d)]["s_per_epoch"] for d in devices]
        ratio = f"{times[0] / times[1]:>10.1f}x" if len(times) > 1 else ""
        print(f"{family:8}" + "".join(f"{t:>16.2f}" for t in times) + ratio)
    for (family, device), metrics in results.items():
        keys = (
            ("test_elbo",)
            if family == "vae"
            else (
                "gan_fid",
                "gan_class_coverage",
                "gan_confidence",
                "gan_fid_real_vs_real",
                "gan_fid_noise_vs_real",
            )
        )
        print(f"{family}/{device}: " + ", ".join(f"{k}={metrics[k]:.3f}" for k in keys))


if __name__ == "__main__":
    main()
