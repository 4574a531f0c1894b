"""Argument checks shared by the normalisation layers."""

from __future__ import annotations

import math
from typing import Any, Optional

from eigennet import constraints, initializers
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

    def _set_constraints(self, beta_constraint: Any, gamma_constraint: Any) -> None:
        self.beta_constraint = constraints.get(beta_constraint)
        self.gamma_constraint = constraints.get(gamma_constraint)

    def _constrained(self) -> list[tuple[str, Any]]:
        pairs = [("gamma", self.gamma_constraint if self.scale else None)]
        pairs.append(("beta", self.beta_constraint if self.center else None))
        return [(name, c) for name, c in pairs if c is not None]

    def _affine_config(self) -> dict[str, Any]:
        return {
            "center": self.center,
            "scale": self.scale,
            "beta_initializer": initializers.serialize(self.beta_initializer),
            "gamma_initializer": initializers.serialize(self.gamma_initializer),
            "beta_constraint": constraints.serialize(self.beta_constraint),
            "gamma_constraint": constraints.serialize(self.gamma_constraint),
        }

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Any:
        def value(k: str, v: Any) -> Any:
            if k.endswith("_initializer"):
                return initializers.deserialize(v)
            return constraints.deserialize(v) if k.endswith("_constraint") else v

        return cls(**{k: value(k, v) for k, v in config.items()})
