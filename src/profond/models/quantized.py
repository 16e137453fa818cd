"""The int8 form of a model (``torch.ao.quantization``): how a float model becomes it, and how a
saved int8 model's structure is rebuilt on load (:func:`rebuild_quantized`).

Two modes:

- ``dynamic``: the weights of ``Linear`` layers are stored as int8; activations
  are quantized on the fly, batch by batch. Any model, no calibration data; convolutions stay
  float32.
- ``static``: weights *and* activations are int8, with activation ranges measured beforehand on
  calibration batches. Convolutions are quantized too, and ``Conv2d → BatchNorm2d`` and
  ``Linear/Conv2d → ReLU`` are fused first. The model's forward must be a plain chain of
  modules, which holds for the ``cnn`` and ``mlp`` families (:data:`STATIC_CHAINS`).

A quantized model saves its state dict like any other (int8 tensors with their scales load
with ``torch.load(weights_only=True)``). Its card records the mode in
``card.extra["compression"]["int8"]``. :mod:`profond.compress` decides to make one and measures it.

The backend is PyTorch's default CPU engine (``x86``: fbgemm + oneDNN).
"""

from __future__ import annotations

import copy
import warnings
from collections.abc import Iterable

import torch
from torch import nn

from profond.errors import ProfondError

MODES = ("dynamic", "static")
# the submodules whose composition in this order is the family's forward (eval mode)
STATIC_CHAINS: dict[str, tuple[str, ...]] = {
    "cnn": ("blocks", "dense", "dropout", "head"),
    "mlp": ("body", "head"),
}
# LSTM/GRU would quantize too, but their packed weights do not load with weights_only=True
DYNAMIC_TYPES = {nn.Linear}
# loading int8 tensors goes through a storage API torch marks as deprecated; nothing to act on
warnings.filterwarnings("ignore", message="TypedStorage is deprecated")
_FUSABLE = (
    (nn.Conv2d, nn.BatchNorm2d),
    (nn.Conv2d, nn.ReLU),
    (nn.Linear, nn.ReLU),
    (nn.Linear, nn.BatchNorm1d),
)


class StaticInt8(nn.Module):
    """``quantize → chain of quantized modules → dequantize``: float32 in, float32 out.

    Shape:
        - Input: ``(B, *input_shape)`` float32.
        - Output: what the wrapped chain returns, float32 (e.g. ``(B, num_classes)`` logits).
    """

    def __init__(self, body: nn.Sequential) -> None:
        super().__init__()
        self.quant = torch.ao.quantization.QuantStub()
        self.body = body
        self.dequant = torch.ao.quantization.DeQuantStub()
        # int8 layers hold no nn.Parameter; code that finds a model's device through
        # next(model.parameters()) (the tasks' evaluation) needs one, even empty
        self.device_probe = nn.Parameter(torch.empty(0), requires_grad=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.dequant(self.body(self.quant(x.contiguous())))


def check_mode(mode: str) -> str:
    """``mode`` if it is a known int8 mode; a one-line :class:`ProfondError` otherwise."""
    if mode not in MODES:
        raise ProfondError(f"unknown int8 mode {mode!r}; choose one of: {', '.join(MODES)}")
    return mode


def quantize_model(
    model: nn.Module,
    mode: str,
    family: str,
    calibration: Iterable[torch.Tensor] | None = None,
) -> nn.Module:
    """An int8 copy of ``model`` (``model`` itself is left untouched).

    Args:
        model: a trained float32 model (on the CPU).
        mode: ``"dynamic"`` or ``"static"``.
        family: the model's ``--model`` name (static mode needs a known chain).
        calibration: static mode: batches ``(B, *input_shape)`` whose activation ranges set the
            scales (a few hundred samples are enough). None only when rebuilding a structure
            whose scales a state dict will overwrite.

    Returns:
        the quantized model in eval mode, on the CPU.
    """
    check_mode(mode)
    model = copy.deepcopy(model).cpu().eval()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # deprecation notes of torch.ao, uncalibrated observers
        if mode == "dynamic":
            return torch.ao.quantization.quantize_dynamic(model, DYNAMIC_TYPES, dtype=torch.qint8)
        return _quantize_static(model, family, calibration)


def _quantize_static(
    model: nn.Module, family: str, calibration: Iterable[torch.Tensor] | None
) -> nn.Module:
    chain = STATIC_CHAINS.get(family)
    if chain is None:
        raise ProfondError(
            f"static int8 supports the {', '.join(STATIC_CHAINS)} families, not {family!r}; "
            "use --int8 dynamic"
        )
    body = nn.Sequential(*(getattr(model, name) for name in chain))
    body = body.to(memory_format=torch.contiguous_format)  # type: ignore[call-overload]
    _fuse(body)
    wrapped = StaticInt8(body).eval()
    wrapped.qconfig = torch.ao.quantization.get_default_qconfig(torch.backends.quantized.engine)
    torch.ao.quantization.prepare(wrapped, inplace=True)
    with torch.no_grad():
        for x in calibration or ():
            wrapped(x)
    torch.ao.quantization.convert(wrapped, inplace=True)
    return wrapped.eval()


def _fuse(module: nn.Module) -> None:
    """Fuse adjacent (conv|linear, batch norm|ReLU) pairs inside every ``nn.Sequential``."""
    for child in list(module.modules()):
        if not isinstance(child, nn.Sequential):
            continue
        items = list(child.named_children())
        pairs, i = [], 0
        while i < len(items) - 1:
            first, second = items[i][1], items[i + 1][1]
            if any(isinstance(first, a) and isinstance(second, b) for a, b in _FUSABLE):
                pairs.append([items[i][0], items[i + 1][0]])
                i += 2
            else:
                i += 1
        if pairs:
            torch.ao.quantization.fuse_modules(child, pairs, inplace=True)


def rebuild_quantized(model: nn.Module, family: str, mode: str) -> nn.Module:
    """The quantized structure of a freshly built float ``model``, ready for ``load_state_dict``.

    Used when a saved int8 model is loaded: its scales and int8 weights come from the state dict.
    """
    return quantize_model(model, mode, family, calibration=None)
