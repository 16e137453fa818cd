"""The NumPy engine: perceptron, layers, losses, optimizers and backpropagation written out.

Everything here follows §44.1–44.2 of the course chapter with NumPy alone (no torch), vectorized
over mini-batches: ``build_mlp`` and ``make_optimizer`` give the twin of the torch MLP.
"""

from profond.scratch.activations import ACTIVATIONS, LeakyReLU, ReLU, Sigmoid, Softmax, Tanh
from profond.scratch.layers import BatchNorm, Dense, Dropout, Layer
from profond.scratch.losses import (
    LOSSES,
    MSE,
    BinaryCrossEntropy,
    CategoricalCrossEntropy,
    Loss,
    SparseCategoricalCrossEntropy,
)
from profond.scratch.model import Sequential, build_mlp
from profond.scratch.optimizers import SGD, Adam, Momentum, Optimizer, make_optimizer
from profond.scratch.perceptron import Perceptron, PerceptronResult

__all__ = [
    "ACTIVATIONS",
    "LOSSES",
    "MSE",
    "SGD",
    "Adam",
    "BatchNorm",
    "BinaryCrossEntropy",
    "CategoricalCrossEntropy",
    "Dense",
    "Dropout",
    "Layer",
    "LeakyReLU",
    "Loss",
    "Momentum",
    "Optimizer",
    "Perceptron",
    "PerceptronResult",
    "ReLU",
    "Sequential",
    "Sigmoid",
    "Softmax",
    "SparseCategoricalCrossEntropy",
    "Tanh",
    "build_mlp",
    "make_optimizer",
]
