"""Grad-CAM and saliency maps on models whose evidence is known in advance."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from profond.errors import ProfondError
from profond.explain import explain
from profond.models import build_model

SIZE = 16


class BarDetector(nn.Module):
    """Class 0 scores vertical bars, class 1 horizontal bars, by hand-set 3×3 filters.

    Shape:
        - Input: ``(B, 1, SIZE, SIZE)``.
        - Output: ``(B, 2)`` logits = global average of each detector's ReLU map.
    """

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(1, 2, kernel_size=3, padding=1)
        line = torch.tensor([-1.0, 2.0, -1.0])
        with torch.no_grad():
            self.conv.weight[0, 0] = line.repeat(3, 1)  # bright centre column, dark sides
            self.conv.weight[1, 0] = line.repeat(3, 1).T  # bright centre row, dark above/below
            # The ends of a bar of the other orientation respond with 1; the bias silences them.
            self.conv.bias.fill_(-2.0)
        self.gradcam_layer = self.conv

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.conv(x)).mean(dim=(2, 3))


def two_bars() -> torch.Tensor:
    """A vertical bar in the top-left quadrant, a horizontal bar in the bottom-right one."""
    x = torch.zeros(1, 1, SIZE, SIZE)
    x[0, 0, 1:7, 3] = 1.0
    x[0, 0, 12, 9:15] = 1.0
    return x


def mass_in(heatmap: np.ndarray, rows: slice, cols: slice) -> float:
    return float(heatmap[rows, cols].sum() / heatmap.sum())


TOP_LEFT = (slice(0, SIZE // 2), slice(0, SIZE // 2))
BOTTOM_RIGHT = (slice(SIZE // 2, SIZE), slice(SIZE // 2, SIZE))


def test_gradcam_follows_the_target_class_evidence() -> None:
    model = BarDetector().eval()
    vertical = explain(model, two_bars(), target=0)
    horizontal = explain(model, two_bars(), target=1)
    assert vertical.method == horizontal.method == "gradcam"
    assert vertical.heatmap.shape == (SIZE, SIZE)
    assert mass_in(vertical.heatmap, *TOP_LEFT) > 0.9
    assert mass_in(horizontal.heatmap, *BOTTOM_RIGHT) > 0.9


def test_gradcam_heatmap_is_a_normalized_map_of_the_predicted_class() -> None:
    model = BarDetector().eval()
    x = torch.zeros(1, 1, SIZE, SIZE)
    x[0, 0, 2:14, 8] = 1.0  # one long vertical bar: class 0 wins
    result = explain(model, x)
    assert result.target == int(model(x).argmax()) == 0
    assert result.heatmap.dtype == np.float32
    assert result.heatmap.min() >= 0.0 and result.heatmap.max() == pytest.approx(1.0)
    # The brightest column of the map is the bar's column (± the upsampling's blur).
    assert abs(int(result.heatmap.sum(axis=0).argmax()) - 8) <= 1


def test_gradcam_of_a_class_without_evidence_is_all_zero() -> None:
    model = BarDetector().eval()
    x = torch.zeros(1, 1, SIZE, SIZE)
    x[0, 0, 2:14, 8] = 1.0  # no horizontal bar anywhere
    result = explain(model, x, target=1)
    assert not result.heatmap.any()


def test_saliency_on_an_mlp_lights_only_the_pixels_it_reads() -> None:
    torch.manual_seed(0)
    model = build_model("mlp", {"in_features": 64, "num_classes": 3, "hidden_sizes": [16]})
    mask = torch.zeros(8, 8)
    mask[5:8, 0:3] = 1.0  # the network only sees the bottom-left 3×3 corner
    with torch.no_grad():
        model.body[1].weight.mul_(mask.flatten())
    model.eval()
    x = torch.rand(1, 64)
    result = explain(model, x)
    assert result.method == "saliency"
    assert result.heatmap.shape == (8, 8)
    assert result.heatmap.max() == pytest.approx(1.0)
    assert mass_in(result.heatmap, slice(5, 8), slice(0, 3)) == pytest.approx(1.0)


def test_saliency_accepts_channel_images_and_restores_training_mode() -> None:
    torch.manual_seed(0)
    model = build_model("mlp", {"in_features": 2 * 6 * 6, "num_classes": 4})
    model.train()
    result = explain(model, torch.rand(1, 2, 6, 6), target=3)
    assert result.target == 3 and result.heatmap.shape == (6, 6)
    assert 0.0 <= result.heatmap.min() and result.heatmap.max() <= 1.0
    assert model.training  # given back in the mode it came in


def test_explanations_are_deterministic_in_eval_mode() -> None:
    torch.manual_seed(0)
    model = build_model("mlp", {"in_features": 64, "num_classes": 3, "dropout": 0.5})
    x = torch.rand(1, 64)
    model.train()  # dropout would change every call if explain did not switch to eval
    np.testing.assert_array_equal(explain(model, x).heatmap, explain(model, x).heatmap)


@pytest.mark.parametrize(
    ("x", "message"),
    [
        (torch.zeros(2, 1, SIZE, SIZE), "one input"),
        (torch.zeros(SIZE), "one input"),
        (torch.zeros(1, 1, 1, 1, SIZE), "image inputs"),
        (torch.full((1, 1, SIZE, SIZE), float("nan")), "NaN"),
    ],
)
def test_bad_inputs_get_clear_errors(x: torch.Tensor, message: str) -> None:
    with pytest.raises(ProfondError, match=message):
        explain(BarDetector().eval(), x)


def test_non_square_flat_input_is_refused() -> None:
    model = build_model("mlp", {"in_features": 10, "num_classes": 2})
    with pytest.raises(ProfondError, match="not a square image"):
        explain(model, torch.zeros(1, 10))


@pytest.mark.parametrize("target", [-1, 2])
def test_target_out_of_range_is_refused(target: int) -> None:
    with pytest.raises(ProfondError, match=f"target={target}"):
        explain(BarDetector().eval(), two_bars(), target=target)


def test_a_model_that_is_not_a_classifier_is_refused() -> None:
    with pytest.raises(ProfondError, match="classifier"):
        explain(nn.Identity(), torch.zeros(1, 1, 4, 4))
