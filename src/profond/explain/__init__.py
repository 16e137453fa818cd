"""Explanations of predictions: Grad-CAM and saliency maps (Captum)."""

from profond.explain.gradcam import Explanation, explain

__all__ = ["Explanation", "explain"]
