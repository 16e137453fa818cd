"""The course's networks as plain ``torch.nn.Module`` s, one module per family."""

from profond.models.registry import build_model, family_names, get_family, make_config

__all__ = ["build_model", "family_names", "get_family", "make_config"]
