"""The ``--model`` names and the module defining each family; importing this costs nothing.

The command line builds its parser from this table without importing torch; the full
:mod:`profond.models.registry` imports a family's module only when it is used.
"""

from __future__ import annotations

FAMILY_MODULES: dict[str, str] = {
    "mlp": "profond.models.mlp",
    "cnn": "profond.models.cnn",
    "resnet": "profond.models.resnet",
    "rnn": "profond.models.rnn",
    "lstm": "profond.models.rnn",
    "gru": "profond.models.rnn",
    "transformer": "profond.models.transformer",
    "autoencoder": "profond.models.autoencoder",
    "unet": "profond.models.unet",
    "vae": "profond.models.vae",
    "gan": "profond.models.gan",
    "tcn": "profond.models.tcn",
    "vit": "profond.models.vit",
    "point_gan": "profond.models.point_gan",
}


def family_names() -> list[str]:
    """Every ``--model`` name, in the order ``--help`` lists them."""
    return list(FAMILY_MODULES)
