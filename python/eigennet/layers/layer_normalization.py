"""LayerNormalization with Keras 3's arguments, defaults and numerics."""

from __future__ import annotations

from typing import Any, Optional

from eigennet import initializers
from eigennet.layers.layer import Layer
from eigennet.layers.normalization_common import check_axis, check_epsilon, refuse
from eigennet.variables import Variable


class LayerNormalization(Layer):
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
            beta_constraint=beta_constraint,
            gamma_constraint=gamma_constraint,
        )
        self.axis = check_axis("LayerNormalization", axis)
        self.epsilon = check_epsilon(epsilon)
        self.center, self.scale = bool(center), bool(scale)
        self.beta_initializer = initializers.get(beta_initializer)
        self.gamma_initializer = initializers.get(gamma_initializer)

    def _core_args(self) -> Any:
        return {"center": int(self.center), "scale": int(self.scale)}, {"epsilon": self.epsilon}, {}

    def _weight_decls(self) -> list[Any]:
        assert self._in_shapes is not None
        shape = self._in_shapes[0]
        decls = []
        if self.scale:
            decls.append(("gamma", shape, False, self.gamma_initializer))
        if self.center:
            decls.append(("beta", shape, False, self.beta_initializer))
        return decls

    @property
    def gamma(self) -> Optional[Variable]:
        return self._variable("gamma")

    @property
    def beta(self) -> Optional[Variable]:
        return self._variable("beta")

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "axis": self.axis,
            "epsilon": self.epsilon,
            "center": self.center,
            "scale": self.scale,
            "beta_initializer": initializers.serialize(self.beta_initializer),
            "gamma_initializer": initializers.serialize(self.gamma_initializer),
        }

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> LayerNormalization:
        config = dict(config)
        for key in ("beta_initializer", "gamma_initializer"):
            if key in config:
                config[key] = initializers.deserialize(config[key])
        return cls(**config)
