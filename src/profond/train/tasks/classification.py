"""Classification: cross-entropy on logits; accuracy, F1, ROC-AUC and the confusion matrix."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from profond.data.bundle import DataBundle
from profond.models.saved import ModelCard
from profond.train.config import TrainConfig
from profond.train.metrics import classification_metrics
from profond.train.plots import confusion_matrix_figure, training_curves
from profond.train.task import Task


class ClassificationTask(Task):
    """Targets ``y`` are ``(N,)`` int64 class ids; the model returns ``(B, num_classes)`` logits."""

    name = "classification"
    predict_input = "rows_or_image"
    output_kind = "classes"
    supports_drift = True
    supports_gradcam = True
    bf16_validation = True  # class probabilities are computed in float32 from the logits
    main_metric, main_metric_greater_is_better = "test_accuracy", True
    monitor = "loss"
    monitor_mode = "min"

    def __init__(self, data: DataBundle) -> None:
        super().__init__(data)
        self.class_weights: torch.Tensor | None = None
        self.config: TrainConfig | None = None
        self.with_baseline = True  # text: also train the bag-of-embeddings baseline at the end
        if data.task == "text-classification":
            # A text model's validation loss turns up while its accuracy still improves
            # (it grows confident on the examples it gets right): watch accuracy instead.
            self.monitor, self.monitor_mode = "accuracy", "max"

    def setup(self, config: TrainConfig, device: torch.device) -> None:
        self.config = config
        if config.class_weights == "balanced":
            # inverse class frequency, scaled so that the mean weight is 1 (as scikit-learn's)
            counts = torch.bincount(self.data.y_train, minlength=self.data.num_classes).double()
            weights = counts.sum() / (len(counts) * counts.clamp(min=1))
            self.class_weights = weights.float().to(device)

    def training_step(self, model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Cross-entropy, against targets blended with ``config.label_smoothing`` of uniform."""
        smoothing = self.config.label_smoothing if self.config is not None else 0.0
        return F.cross_entropy(model(x), y, weight=self.class_weights, label_smoothing=smoothing)

    @torch.no_grad()
    def predict_proba(self, model: nn.Module, x: torch.Tensor, batch_size: int) -> torch.Tensor:
        """Shape: ``(N, *input_shape)`` → ``(N, num_classes)`` probabilities (on the CPU).

        With ``config.tta == "flip"`` and images ``(N, C, H, W)``, the mean of the
        probabilities of each image and of its left-right mirror image.
        """
        from profond.models.flip_average import with_test_time_augmentation

        device = next(model.parameters()).device
        step = max(batch_size, 512)  # no gradients: larger batches are faster
        tta = self.config.tta if self.config is not None else None
        model = with_test_time_augmentation(model, tta, x.dim() - 1)  # as inference runs it
        out = []
        for i in range(0, len(x), step):
            xb = x[i : i + step].to(device)
            out.append(F.softmax(model(xb).float(), dim=1).cpu())
        return torch.cat(out) if out else torch.empty(0, self.data.num_classes)

    @torch.no_grad()
    def evaluate(
        self, model: nn.Module, x: torch.Tensor, y: torch.Tensor, batch_size: int
    ) -> dict[str, float]:
        probs = self.predict_proba(model, x, batch_size)
        loss = F.nll_loss(torch.log(probs.clamp_min(1e-12)), y).item()
        metrics = classification_metrics(y.numpy(), probs.numpy())
        return {"loss": loss, **metrics}

    def figures(
        self, model: nn.Module, data: DataBundle, outdir: Path, history: dict[str, list[float]]
    ) -> list[Path]:
        probs = self.predict_proba(model, data.x_test, 512)
        details = classification_metrics(data.y_test.numpy(), probs.numpy(), with_details=True)
        outdir.mkdir(parents=True, exist_ok=True)
        (outdir / "test_report.json").write_text(
            json.dumps({"classes": data.classes, **details}, indent=2), encoding="utf-8"
        )
        paths = [
            training_curves(history, outdir / "training_curves.png"),
            confusion_matrix_figure(
                details["confusion_matrix"], data.classes, outdir / "confusion_matrix.png"
            ),
            outdir / "test_report.json",
        ]
        if hasattr(model, "attention_maps") and "vocab" in data.extra:
            from profond.train.figures_sequence import attention_figure

            paths.append(
                attention_figure(
                    model,  # type: ignore[arg-type]  # a TransformerClassifier (has attention_maps)
                    data.x_test[0],
                    data.extra["vocab"],
                    outdir / "attention.png",
                )
            )
        return paths

    def final_metrics(self, model: nn.Module, data: DataBundle) -> dict[str, float]:
        """For text, the accuracy of a bag-of-embeddings baseline trained on the same split.

        Word order is all a Transformer adds over averaging the word vectors; this baseline
        measures what that is worth on this data.
        """
        if (
            data.task != "text-classification"
            or "vocab" not in data.extra
            or not self.with_baseline
        ):
            return {}
        from dataclasses import replace

        from profond.models.bag_of_embeddings import BagOfEmbeddings, BagOfEmbeddingsConfig
        from profond.train.trainer import Trainer

        config = replace(self.config or TrainConfig(), patience=None, compile=False)
        torch.manual_seed(config.seed)
        baseline = BagOfEmbeddings(BagOfEmbeddingsConfig(
            vocab_size=len(data.extra["vocab"]), num_classes=data.num_classes, embed_dim=128, dropout=0.3
        ))  # fmt: skip
        task = ClassificationTask(data)
        task.with_baseline = False
        rng = torch.get_rng_state()
        result = Trainer(config).fit(baseline, task, data)
        torch.set_rng_state(rng)
        return {"baseline_bag_of_embeddings_accuracy": result.test_metrics["test_accuracy"]}

    @staticmethod
    def format_prediction(output: torch.Tensor, card: ModelCard) -> list[dict[str, Any]]:
        probs = F.softmax(output.detach(), dim=1)
        return [
            {
                "class": int(p.argmax()),
                "label": card.classes[int(p.argmax())] if card.classes else str(int(p.argmax())),
                "probabilities": [round(float(v), 6) for v in p],
            }
            for p in probs
        ]
