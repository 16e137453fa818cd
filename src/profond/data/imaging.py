"""Image files (PNG/JPEG) → model inputs, exactly as the training data was prepared."""

from __future__ import annotations

import io
import warnings

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError

from profond.data.preprocess import Preprocessing
from profond.errors import ProfondError

MAX_IMAGE_PIXELS = 4096 * 4096  # refuse decompression bombs
IMAGE_FORMATS = ("PNG", "JPEG")


def decode_image(
    data: bytes,
    input_shape: tuple[int, ...],
    preprocessing: Preprocessing,
    invert: str = "auto",
) -> torch.Tensor:
    """Decode an image and turn it into one model input.

    The image is converted to grayscale, resized to the model's ``H × W``, mapped to the raw
    units of the training data (``0..raw_max``), then preprocessed as in training. Datasets
    such as MNIST draw a light object on a dark background: with ``invert="auto"`` an image
    whose border is mostly light (a photo on white paper) is inverted first.

    Args:
        data: the file's bytes.
        input_shape: ``(C, H, W)`` or ``(H, W)`` or ``(F,)`` with ``F`` a square number.
        preprocessing: the run's transform.
        invert: ``"auto"``, ``"yes"`` or ``"no"``.

    Shape:
        Returns ``(1, *input_shape)`` float32.
    """
    if invert not in ("auto", "yes", "no"):
        raise ProfondError(f"invert must be auto, yes or no, got {invert!r}")
    height, width = _image_size(input_shape)
    try:
        # open() reads the header only: the size is checked before any pixel is decoded, and
        # only PNG and JPEG decoders are offered to untrusted bytes.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image: Image.Image = Image.open(io.BytesIO(data), formats=IMAGE_FORMATS)
        if image.width * image.height > MAX_IMAGE_PIXELS:
            raise ProfondError(
                f"image of {image.width}x{image.height} pixels is too large; send at most "
                f"{MAX_IMAGE_PIXELS} pixels"
            )
        image = image.convert("L").resize((width, height), Image.Resampling.BILINEAR)
    except Image.DecompressionBombError as exc:  # Pillow's own limit, met inside open()
        raise ProfondError(
            f"image is too large ({exc}); send at most {MAX_IMAGE_PIXELS} pixels"
        ) from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        raise ProfondError(
            f"cannot decode the image (expected a PNG or JPEG file): {exc}"
        ) from None
    pixels = np.asarray(image, dtype=np.float32)
    if invert == "yes" or (invert == "auto" and _border_is_light(pixels)):
        pixels = 255.0 - pixels
    raw = torch.from_numpy(pixels * (preprocessing.raw_max / 255.0))
    return preprocessing.apply(raw.reshape(1, *input_shape))


def _image_size(input_shape: tuple[int, ...]) -> tuple[int, int]:
    if len(input_shape) >= 2:
        return int(input_shape[-2]), int(input_shape[-1])
    side = int(round(input_shape[0] ** 0.5))
    if side * side != input_shape[0]:
        raise ProfondError(f"a model with input shape {input_shape} does not take images")
    return side, side


def _border_is_light(pixels: np.ndarray) -> bool:
    border = np.concatenate([pixels[0], pixels[-1], pixels[:, 0], pixels[:, -1]])
    return float(border.mean()) > 127.0
