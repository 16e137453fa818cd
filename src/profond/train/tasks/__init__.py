"""Task name → :class:`~profond.train.task.Task` class, imported when used.

A task is built as ``TaskClass(bundle)`` from the :class:`~profond.data.bundle.DataBundle` it
trains on; loss hyperparameters (β of a VAE, noise of a denoising autoencoder, ...) are read
from the model's config (``model.config``).
"""

from __future__ import annotations

import importlib

from profond.errors import ProfondError
from profond.train.task import Task

TASK_CLASSES: dict[str, str] = {
    "classification": "profond.train.tasks.classification:ClassificationTask",
    "multitask": "profond.train.tasks.multitask:MultitaskTask",
    "forecasting": "profond.train.tasks.forecasting:ForecastingTask",
    "reconstruction": "profond.train.tasks.reconstruction:ReconstructionTask",
    "segmentation": "profond.train.tasks.segmentation:SegmentationTask",
    "vae": "profond.train.tasks.vae:VAETask",
    "gan": "profond.train.tasks.gan:GANTask",
    "regression": "profond.train.tasks.regression:RegressionTask",
    "point_gan": "profond.train.tasks.point_gan:PointGANTask",
}


def task_class(name: str) -> type[Task]:
    if name not in TASK_CLASSES:
        raise ProfondError(f"unknown task {name!r}; expected one of {', '.join(TASK_CLASSES)}")
    module_name, class_name = TASK_CLASSES[name].split(":")
    return getattr(importlib.import_module(module_name), class_name)


# Data tasks whose model task has another name (a text classifier is a classifier).
DATA_TASK_ALIASES = {"text-classification": "classification"}


def task_for_data(data_task: str) -> type[Task] | None:
    """The task class that trains on data of kind ``data_task``, or None when there is none."""
    name = DATA_TASK_ALIASES.get(data_task, data_task)
    return task_class(name) if name in TASK_CLASSES else None
