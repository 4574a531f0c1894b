"""Argument checks shared by the normalisation layers."""

from __future__ import annotations

import math
from typing import Any, Optional

from eigennet import initializers
from eigennet.variables import Variable


def check_axis(layer: str, axis: Any) -> int:
    if axis not in (-1, 1, [-1], [1], (-1,), (1,)):
        raise ValueError(
            f"{layer} normalises the features of flat samples: axis must be -1. "
            f"Received: axis={axis!r}"
        )
    return -1


def check_epsilon(epsilon: Any) -> float:
    if isinstance(epsilon, bool) or not isinstance(epsilon, (int, float)):
        raise TypeError(f"epsilon must be a float. Received: epsilon={epsilon!r}")
    if not (epsilon > 0 and math.isfinite(epsilon)):
        raise ValueError(f"epsilon must be positive. Received: epsilon={epsilon}")
    return float(epsilon)


def refuse(layer: str, **unsupported: Any) -> None:
    """Refuses arguments eigennet does not implement, rather than ignoring them."""
    bad = {k: v for k, v in unsupported.items() if v not in (None, False)}
    if bad:
        raise NotImplementedError(
            f"{layer} does not support {', '.join(f'{k}={v!r}' for k, v in bad.items())} yet."
        )


class AffineWeights:
    """gamma and beta of BatchNormalization and LayerNormalization: their declarations, the
    variables, and the initializers in the config (a mixin of Layer)."""

    center: bool
    scale: bool
    gamma_initializer: Any
    beta_initializer: Any

    def _affine_decls(self, shape: tuple[int, ...]) -> list[Any]:
        decls = []
        if self.scale:
            decls.append(("gamma", shape, False, self.gamma_initializer))
        if self.center:
            decls.append(("beta", shape, False, self.beta_initializer))
        return decls

    @property
    def gamma(self) -> Optional[Variable]:
        return self._variable("gamma")  # type: ignore[attr-defined]

    @property
    def beta(self) -> Optional[Variable]:
        return self._variable("beta")  # type: ignore[attr-defined]

    def _affine_config(self) -> dict[str, Any]:
        return {
            "center": self.center,
            "scale": self.scale,
            "beta_initializer": initializers.serialize(self.beta_initializer),
            "gamma_initializer": initializers.serialize(self.gamma_initializer),
        }

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Any:
        config = {
            k: initializers.deserialize(v) if k.endswith("_initializer") else v
            for k, v in config.items()
        }
        return cls(**config)
