"""Images from a generative run: the grid behind ``profond generate`` and the tasks' figures."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from profond.atomic import atomic_write
from profond.errors import ProfondError
from profond.models.saved import LoadedModel

MAX_SAMPLES = 1024  # a grid larger than 32 × 32 images is no longer something a person reads


def image_grid(
    images: torch.Tensor, nrow: int | None = None, padding: int = 2, scale: int = 2
) -> Image.Image:
    """Tile images into one picture, ``nrow`` per row, separated by ``padding`` grey pixels.

    Args:
        images: values in [0, 1] (clipped), one or three channels.
        nrow: images per row; ``ceil(sqrt(N))`` when None (a square-ish grid).
        padding: pixels between images, before scaling.
        scale: each pixel becomes ``scale × scale`` pixels (28-pixel images are tiny on screen).

    Shape:
        ``images``: ``(N, C, H, W)`` with ``C`` in {1, 3}.

    Returns:
        A PIL image, grayscale (``"L"``) or ``"RGB"``.
    """
    if images.dim() != 4 or images.shape[1] not in (1, 3) or images.shape[0] == 0:
        raise ProfondError(
            f"an image grid needs images of shape (N, 1 or 3, H, W); got {tuple(images.shape)}"
        )
    n, channels, height, width = images.shape
    nrow = nrow or math.ceil(math.sqrt(n))
    rows = math.ceil(n / nrow)
    canvas = np.full(
        (channels, rows * (height + padding) + padding, nrow * (width + padding) + padding),
        0.5,
        dtype=np.float32,
    )
    pixels = images.detach().float().cpu().clamp(0, 1).numpy()
    for i in range(n):
        top = padding + (i // nrow) * (height + padding)
        left = padding + (i % nrow) * (width + padding)
        canvas[:, top : top + height, left : left + width] = pixels[i]
    canvas = canvas.repeat(scale, axis=1).repeat(scale, axis=2)
    array = (canvas * 255).round().astype(np.uint8)
    if channels == 1:
        return Image.fromarray(array[0])
    return Image.fromarray(np.ascontiguousarray(array.transpose(1, 2, 0)))


def save_image_grid(images: torch.Tensor, path: Path, nrow: int | None = None) -> Path:
    """Write :func:`image_grid` of ``images`` as a PNG, atomically. Returns ``path``."""
    grid = image_grid(images, nrow=nrow)
    return atomic_write(Path(path), lambda tmp: grid.save(tmp, format="PNG"))


def generate_grid(
    loaded: LoadedModel, n: int, seed: int, path: Path, overwrite: bool = False
) -> Path:
    """Sample ``n`` images from a VAE or GAN run and write them as one PNG grid.

    The same run, ``n`` and ``seed`` give the same picture.

    Args:
        loaded: a model from :func:`profond.models.saved.load_model`.
        n: number of images, 1 to ``MAX_SAMPLES``.
        seed: seeds the latent noise.
        path: the PNG to write.
        overwrite: replace ``path`` if it exists (refused otherwise, so nothing is lost).

    Returns:
        ``path``.

    Raises:
        ProfondError: the run is not generative, ``n`` is out of range, or ``path`` exists.
    """
    from profond.train.tasks import TASK_CLASSES, task_class

    card = loaded.card
    if not task_class(card.task).supports_generate or not hasattr(loaded.model, "sample"):
        run = f"run {card.run_id} " if card.run_id else "this model "
        generative = [name for name in TASK_CLASSES if task_class(name).supports_generate]
        raise ProfondError(
            f"{run}is a {card.family!r} model (task {card.task!r}); profond generate works only "
            f"for {' and '.join(generative)} runs — use profond predict instead"
        )
    if not 1 <= n <= MAX_SAMPLES:
        raise ProfondError(f"--n must be between 1 and {MAX_SAMPLES}, got {n}")
    path = Path(path)
    if path.suffix.lower() != ".png":
        raise ProfondError(f"the output must be a .png file, got {path}")
    if path.exists() and not overwrite:
        raise ProfondError(f"{path} already exists; choose another path or ask to overwrite it")
    model = loaded.model.eval()
    generator = torch.Generator().manual_seed(seed)
    images = model.sample(n, generator)  # type: ignore[operator]
    return save_image_grid(images, path)
