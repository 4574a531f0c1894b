"""Layers with Keras 3's names, arguments and defaults, one module per class."""

from __future__ import annotations

from eigennet.layers.activation import Activation
from eigennet.layers.batch_normalization import BatchNormalization
from eigennet.layers.dense import Dense
from eigennet.layers.dropout import Dropout
from eigennet.layers.elu import ELU
from eigennet.layers.embedding import Embedding
from eigennet.layers.flatten import Flatten
from eigennet.layers.gaussian_dropout import GaussianDropout
from eigennet.layers.gaussian_noise import GaussianNoise
from eigennet.layers.identity import Identity
from eigennet.layers.input_layer import Input, InputLayer
from eigennet.layers.layer import KerasTensor, Layer
from eigennet.layers.layer_normalization import LayerNormalization
from eigennet.layers.leaky_relu import LeakyReLU
from eigennet.layers.merging import (
    Add,
    Average,
    Concatenate,
    Maximum,
    Minimum,
    Multiply,
    Subtract,
)
from eigennet.layers.normalization import Normalization
from eigennet.layers.relu import ReLU
from eigennet.layers.reshape import Reshape
from eigennet.layers.softmax import Softmax

LAYER_CLASSES: dict[str, type[Layer]] = {
    cls.__name__: cls
    for cls in (
        Activation,
        Add,
        Average,
        BatchNormalization,
        Concatenate,
        Dense,
        Dropout,
        ELU,
        Embedding,
        Flatten,
        GaussianDropout,
        GaussianNoise,
        Identity,
        LayerNormalization,
        LeakyReLU,
        Maximum,
        Minimum,
        Multiply,
        Normalization,
        ReLU,
        Reshape,
        Softmax,
        Subtract,
    )
}
"""Every layer class a model file may name (loading builds only these)."""

__all__ = [*LAYER_CLASSES, "Input", "InputLayer", "KerasTensor", "Layer"]
