"""BatchNormalization with Keras 3's arguments, defaults and numerics."""

from __future__ import annotations

import math
from typing import Any, Optional

from eigennet import initializers
from eigennet.layers.layer import Layer
from eigennet.layers.normalization_common import (
    AffineWeights,
    check_axis,
    check_epsilon,
    refuse,
)
from eigennet.variables import Variable


class BatchNormalization(AffineWeights, Layer):
    """Normalises each feature over the batch in training, and with the moving statistics
    otherwise (also when the layer is frozen, as in Keras 3):

        y = gamma * (x - mean) / sqrt(var + epsilon) + beta

    In training, mean and var are the batch's mean and biased variance, and
    `moving = momentum * moving + (1 - momentum) * batch` after each step.

    Args:
        axis: -1 (the features of flat samples).
        momentum: of the moving statistics (0.99).
        epsilon: added to the variance (1e-3).
        center: learn beta; scale: learn gamma.
    """

    _kind = "batch_normalization"

    def __init__(
        self,
        axis: int = -1,
        momentum: float = 0.99,
        epsilon: float = 1e-3,
        center: bool = True,
        scale: bool = True,
        beta_initializer: Any = "zeros",
        gamma_initializer: Any = "ones",
        moving_mean_initializer: Any = "zeros",
        moving_variance_initializer: Any = "ones",
        beta_regularizer: Any = None,
        gamma_regularizer: Any = None,
        beta_constraint: Any = None,
        gamma_constraint: Any = None,
        synchronized: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        refuse(
            "BatchNormalization",
            beta_regularizer=beta_regularizer,
            gamma_regularizer=gamma_regularizer,
            synchronized=synchronized,
        )
        self._set_constraints(beta_constraint, gamma_constraint)
        self.axis = check_axis("BatchNormalization", axis)
        if isinstance(momentum, bool) or not isinstance(momentum, (int, float)):
            raise TypeError(f"momentum must be a float. Received: momentum={momentum!r}")
        if not (0 <= momentum <= 1) or not math.isfinite(momentum):
            raise ValueError(
                f"`momentum` must be a float between 0 and 1 (inclusive). "
                f"Received: momentum={momentum}"
            )
        self.momentum = float(momentum)
        self.epsilon = check_epsilon(epsilon)
        self.center, self.scale = bool(center), bool(scale)
        self.beta_initializer = initializers.get(beta_initializer)
        self.gamma_initializer = initializers.get(gamma_initializer)
        self.moving_mean_initializer = initializers.get(moving_mean_initializer)
        self.moving_variance_initializer = initializers.get(moving_variance_initializer)

    def _core_args(self) -> Any:
        return (
            {"center": int(self.center), "scale": int(self.scale)},
            {"momentum": self.momentum, "epsilon": self.epsilon},
            {},
        )

    def _weight_decls(self) -> list[Any]:
        assert self._in_shapes is not None
        shape = self._in_shapes[0]
        decls = self._affine_decls(shape)
        decls.append(("moving_mean", shape, True, self.moving_mean_initializer))
        decls.append(("moving_variance", shape, True, self.moving_variance_initializer))
        return decls

    @property
    def moving_mean(self) -> Optional[Variable]:
        return self._variable("moving_mean")

    @property
    def moving_variance(self) -> Optional[Variable]:
        return self._variable("moving_variance")

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "axis": self.axis,
            "momentum": self.momentum,
            "epsilon": self.epsilon,
            **self._affine_config(),
            "moving_mean_initializer": initializers.serialize(self.moving_mean_initializer),
            "moving_variance_initializer": initializers.serialize(self.moving_variance_initializer),
        }
