"""The ``--data`` names and the module loading each dataset; importing this costs nothing.

The command line builds its parser from this table without importing numpy or torch.
"""

from __future__ import annotations

DATASET_MODULES: dict[str, str] = {
    "digits": "profond.data.digits",
    "fashion-mnist": "profond.data.idx_datasets",
    "mnist": "profond.data.idx_datasets",
    "sunspots": "profond.data.series",
    "co2": "profond.data.series",
    "fortunes": "profond.data.text",
    "shapes": "profond.data.shapes",
    "ring": "profond.data.mixture",
    "adding": "profond.data.adding",
}


def dataset_names() -> list[str]:
    """Every ``--data`` name, in the order ``profond data list`` shows them."""
    return list(DATASET_MODULES)
