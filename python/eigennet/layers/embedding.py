"""Embedding: integer inputs select rows of a learnt table (categorical features)."""

from __future__ import annotations

from typing import Any

import numpy as np

from eigennet import constraints, initializers, regularizers
from eigennet.layers.layer import Layer
from eigennet.layers.normalization_common import refuse
from eigennet.variables import Variable


class Embedding(Layer):
    """Maps each integer in `[0, input_dim)` of a sample to a row of an
    `(input_dim, output_dim)` table: input `(batch, L)`, output `(batch, L, output_dim)`.

    Indices travel in the model's float dtype, exact up to 2**24 in float32 (`input_dim` is
    refused above that); an index outside `[0, input_dim)` in model inputs raises ValueError.

    Example:
        >>> city = Input((1,))
        >>> e = layers.Flatten()(layers.Embedding(1000, 8)(city))
    """

    _kind = "embedding"
    _flat_only = True

    def __init__(
        self,
        input_dim: int,
        output_dim: int,
        embeddings_initializer: Any = "uniform",
        embeddings_regularizer: Any = None,
        embeddings_constraint: Any = None,
        mask_zero: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        refuse("Embedding", mask_zero=mask_zero)
        for value in (input_dim, output_dim):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
                raise ValueError(
                    f"Both `input_dim` and `output_dim` should be positive, "
                    f"Received input_dim = {input_dim} and output_dim = {output_dim}"
                )
        self.input_dim, self.output_dim = int(input_dim), int(output_dim)
        self.embeddings_initializer = initializers.get(embeddings_initializer)
        self.embeddings_regularizer = regularizers.get(embeddings_regularizer)
        self.embeddings_constraint = constraints.get(embeddings_constraint)

    def _output_sample_shape(self, shapes: list[tuple[int, ...]]) -> tuple[int, ...]:
        return (*shapes[0], self.output_dim)

    def _core_args(self) -> Any:
        nums = {}
        if self.embeddings_regularizer is not None:
            nums = {"l1": self.embeddings_regularizer.l1, "l2": self.embeddings_regularizer.l2}
        return {"input_dim": self.input_dim, "output_dim": self.output_dim}, nums, {}

    def _weight_decls(self) -> list[Any]:
        return [
            ("embeddings", (self.input_dim, self.output_dim), False, self.embeddings_initializer)
        ]

    def _regularized(self) -> list[tuple[str, Any]]:
        reg = self.embeddings_regularizer
        return [] if reg is None else [("embeddings", reg)]

    def _constrained(self) -> list[tuple[str, Any]]:
        c = self.embeddings_constraint
        return [] if c is None else [("embeddings", c)]

    @property
    def embeddings(self) -> Variable:
        v = self._variable("embeddings")
        assert v is not None
        return v

    def check_indices(self, x: np.ndarray, what: str) -> None:
        """Raises ValueError unless x holds integers in [0, input_dim)."""
        bad = ~np.isfinite(x) | (x < 0) | (x >= self.input_dim) | (x != np.floor(x))
        if np.any(bad):
            raise ValueError(
                f"Layer {self.name!r} takes integer indices in [0, {self.input_dim}). "
                f"Received {x[bad].flat[0]} in {what}."
            )

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "input_dim": self.input_dim,
            "output_dim": self.output_dim,
            "embeddings_initializer": initializers.serialize(self.embeddings_initializer),
            "embeddings_regularizer": regularizers.serialize(self.embeddings_regularizer),
            "embeddings_constraint": constraints.serialize(self.embeddings_constraint),
        }

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Embedding:
        config = dict(config)
        if "embeddings_initializer" in config:
            config["embeddings_initializer"] = initializers.deserialize(
                config["embeddings_initializer"]
            )
        config["embeddings_regularizer"] = regularizers.deserialize(
            config.get("embeddings_regularizer")
        )
        config["embeddings_constraint"] = constraints.deserialize(
            config.get("embeddings_constraint")
        )
        return cls(**config)
