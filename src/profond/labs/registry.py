"""The list of labs: names mapped to modules, each imported only when asked for.

Adding a lab is adding its module under ``profond/labs/`` with a ``LAB`` and its name here.
"""

from __future__ import annotations

import importlib

from profond.errors import ProfondError
from profond.labs.base import Lab

# Module names under profond.labs, in the order ``profond lab list`` shows them.
LAB_MODULES: tuple[str, ...] = (
    "xor_and_linearity",
    "bias_role",
    "universal_approximation",
    "backprop_worked_example",
    "activation_gradients",
    "relu_tradeoffs",
    "mse_vs_cross_entropy",
    "init_variance_depth",
    "exploding_gradients_clipping",
    "depth_degradation_residual",
    "depth_vs_width",
    "batchnorm_claims",
    "learning_rate_range_warmup",
    "batch_size",
    "momentum_ill_conditioned",
    "adam_vs_sgd",
    "input_scaling",
    "random_vs_grid_search",
    "early_stopping_label_noise",
    "random_labels_memorization",
    "double_descent",
    "dropout_claims",
    "weight_decay_l1_l2",
    "data_augmentation",
    "evaluation_protocol",
    "classical_vs_deep_small_data",
    "adversarial_fgsm",
    "transfer_learning_layers",
    "attention_cost_vs_length",
    "long_memory_adding_problem",
    "translation_invariance",
    "gan_2d_mixture",
    "conv_arithmetic",
    "positional_encoding",
    "cnn_inductive_bias",
    "cnn_vs_vit_small_data",
    "linear_probes_by_depth",
    "forecasting_baselines",
    "autoencoder_pca_denoise",
    "vae_latent_reparam",
    "autoencoder_anomaly",
    "shortcut_learning",
    "saliency_sanity_checks",
    "generative_metrics",
    "unet_skip_ablation",
    "self_supervised_pretext",
    "multitask_learning",
    "recurrent_dropout",
    "distillation",
    "pruning_quantization",
    "catastrophic_forgetting",
    "covariate_shift_drift",
    "imbalance_metrics_calibration",
    "missing_values",
)


def lab_names() -> list[str]:
    return list(LAB_MODULES)


def get_lab(name: str) -> Lab:
    """The lab called ``name``.

    Raises:
        ProfondError: no lab has that name.
    """
    if name not in LAB_MODULES:
        raise ProfondError(f"unknown lab {name!r}; choose one of: {', '.join(LAB_MODULES)}")
    lab = importlib.import_module(f"profond.labs.{name}").LAB
    assert lab.name == name, f"module {name} defines a lab named {lab.name}"
    return lab


def all_labs() -> list[Lab]:
    return [get_lab(name) for name in LAB_MODULES]


def labs_answering(ref: str) -> list[Lab]:
    """The labs that measure the answer of question-bank item ``ref`` (``"Q5"``, ``"C42"``)."""
    ref = ref.strip().upper()
    return [lab for lab in all_labs() if ref in lab.answers]
