"""LayerNormalization with Keras 3's arguments, defaults and numerics."""

from __future__ import annotations

from typing import Any

from eigennet import initializers
from eigennet.layers.layer import Layer
from eigennet.layers.normalization_common import (
    AffineWeights,
    check_axis,
    check_epsilon,
    refuse,
)


class LayerNormalization(AffineWeights, Layer):
    """Normalises each sample over its features with its own mean and biased variance:
    `y = gamma * (x - mean) / sqrt(var + epsilon) + beta`, gamma and beta per feature.

    Args:
        axis: -1 (the features of flat samples).
        epsilon: added to the variance (1e-3).
        center: learn beta; scale: learn gamma.
    """

    _kind = "layer_normalization"

    def __init__(
        self,
        axis: int = -1,
        epsilon: float = 1e-3,
        center: bool = True,
        scale: bool = True,
        rms_scaling: bool = False,
        beta_initializer: Any = "zeros",
        gamma_initializer: Any = "ones",
        beta_regularizer: Any = None,
        gamma_regularizer: Any = None,
        beta_constraint: Any = None,
        gamma_constraint: Any = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        refuse(
            "LayerNormalization",
            rms_scaling=rms_scaling,
            beta_regularizer=beta_regularizer,
            gamma_regularizer=gamma_regularizer,
        )
        self._set_constraints(beta_constraint, gamma_constraint)
        self.axis = check_axis("LayerNormalization", axis)
        self.epsilon = check_epsilon(epsilon)
        self.center, self.scale = bool(center), bool(scale)
        self.beta_initializer = initializers.get(beta_initializer)
        self.gamma_initializer = initializers.get(gamma_initializer)

    def _core_args(self) -> Any:
        return {"center": int(self.center), "scale": int(self.scale)}, {"epsilon": self.epsilon}, {}

    def _weight_decls(self) -> list[Any]:
        assert self._in_shapes is not None
        return self._affine_decls(self._in_shapes[0])

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "axis": self.axis,
            "epsilon": self.epsilon,
            **self._affine_config(),
        }
