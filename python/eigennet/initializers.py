"""Weight initialisers with Keras 3's names, arguments and definitions.

The draws themselves happen in C++ from the model's seeded stream (or from the initialiser's own
`seed`, which makes every call give the same values, as in Keras).
"""

from __future__ import annotations

import math
from typing import Any, Optional

from eigennet import _core
from eigennet.utils import serialization


def _check_seed(seed: Optional[int]) -> Optional[int]:
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int) or seed < 0):
        raise ValueError(f"seed must be None or a non-negative int. Received: seed={seed!r}")
    return seed


class Initializer:
    """Base class: subclasses name a kernel of the C++ core."""

    _name = ""

    def __init__(self, seed: Optional[int] = None) -> None:
        self.seed = _check_seed(seed)

    def _params(self) -> tuple[float, float]:
        return (0.0, 0.0)

    def _spec(self) -> Any:
        a, b = self._params()
        return _core.Initializer(self._name, a, b, self.seed, *self._variance())

    def _variance(self) -> tuple[str, str]:
        return ("fan_in", "truncated_normal")

    def get_config(self) -> dict[str, Any]:
        """The constructor arguments, as a dict."""
        return {"seed": self.seed}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Initializer:
        """Creates an instance from the output of `get_config()`."""
        return cls(**config)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


class Zeros(Initializer):
    """All zeros."""

    _name = "zeros"

    def __init__(self) -> None:
        super().__init__(None)

    def get_config(self) -> dict[str, Any]:
        return {}


class Ones(Zeros):
    """All ones."""

    _name = "ones"


class RandomNormal(Initializer):
    """Draws from N(mean, stddev²).

    Args:
        mean: mean of the normal distribution.
        stddev: standard deviation (>= 0).
        seed: optional seed; with one, every call gives the same values.
    """

    _name = "random_normal"

    def __init__(self, mean: float = 0.0, stddev: float = 0.05, seed: Optional[int] = None):
        super().__init__(seed)
        if not (math.isfinite(mean) and math.isfinite(stddev) and stddev >= 0):
            raise ValueError(
                f"RandomNormal needs a finite mean and stddev >= 0. "
                f"Received: mean={mean}, stddev={stddev}"
            )
        self.mean, self.stddev = float(mean), float(stddev)

    def _params(self) -> tuple[float, float]:
        return (self.mean, self.stddev)

    def get_config(self) -> dict[str, Any]:
        return {"mean": self.mean, "stddev": self.stddev, "seed": self.seed}


class RandomUniform(Initializer):
    """Draws from U(minval, maxval)."""

    _name = "random_uniform"

    def __init__(self, minval: float = -0.05, maxval: float = 0.05, seed: Optional[int] = None):
        super().__init__(seed)
        if not (math.isfinite(minval) and math.isfinite(maxval) and minval <= maxval):
            raise ValueError(
                f"RandomUniform needs finite minval <= maxval. "
                f"Received: minval={minval}, maxval={maxval}"
            )
        self.minval, self.maxval = float(minval), float(maxval)

    def _params(self) -> tuple[float, float]:
        return (self.minval, self.maxval)

    def get_config(self) -> dict[str, Any]:
        return {"minval": self.minval, "maxval": self.maxval, "seed": self.seed}


class GlorotUniform(Initializer):
    """U(-limit, limit) with limit = sqrt(6 / (fan_in + fan_out))."""

    _name = "glorot_uniform"


class GlorotNormal(Initializer):
    """Truncated normal with stddev sqrt(2 / (fan_in + fan_out))."""

    _name = "glorot_normal"


class HeNormal(Initializer):
    """Truncated normal with stddev sqrt(2 / fan_in)."""

    _name = "he_normal"


class HeUniform(Initializer):
    """U(-limit, limit) with limit = sqrt(6 / fan_in)."""

    _name = "he_uniform"


class Constant(Initializer):
    """Every value equal to `value`."""

    _name = "constant"

    def __init__(self, value: float = 0.0) -> None:
        super().__init__(None)
        if (
            isinstance(value, bool)
            or not isinstance(value, (int, float))
            or not math.isfinite(value)
        ):
            raise ValueError(f"Constant needs a finite number. Received: value={value!r}")
        self.value = float(value)

    def _params(self) -> tuple[float, float]:
        return (self.value, 0.0)

    def get_config(self) -> dict[str, Any]:
        return {"value": self.value}


class TruncatedNormal(RandomNormal):
    """Draws from N(mean, stddev²), redrawing values more than two stddevs from the mean."""

    _name = "truncated_normal"


class VarianceScaling(Initializer):
    """Draws with variance `scale / max(1, fan)`, fan being fan_in, fan_out or their mean
    (`mode`), from a normal truncated at two stddevs (rescaled to keep the variance), an
    untruncated normal, or a uniform on ±sqrt(3 * variance) (`distribution`)."""

    _name = "variance_scaling"

    def __init__(
        self,
        scale: float = 1.0,
        mode: str = "fan_in",
        distribution: str = "truncated_normal",
        seed: Optional[int] = None,
    ) -> None:
        super().__init__(seed)
        self.scale, self.mode, self.distribution = scale, mode, distribution
        self._spec()  # the core checks the arguments, with Keras's messages

    def _params(self) -> tuple[float, float]:
        return (float(self.scale), 0.0)

    def _variance(self) -> tuple[str, str]:
        return (self.mode, self.distribution)

    def get_config(self) -> dict[str, Any]:
        return {
            "scale": self.scale,
            "mode": self.mode,
            "distribution": self.distribution,
            "seed": self.seed,
        }


class LecunNormal(Initializer):
    """Truncated normal with stddev sqrt(1 / fan_in)."""

    _name = "lecun_normal"


class LecunUniform(Initializer):
    """U(-limit, limit) with limit = sqrt(3 / fan_in)."""

    _name = "lecun_uniform"


class Identity(Initializer):
    """`gain` times the identity matrix (kernels only)."""

    _name = "identity"

    def __init__(self, gain: float = 1.0) -> None:
        super().__init__(None)
        self.gain = float(gain)

    def _params(self) -> tuple[float, float]:
        return (self.gain, 0.0)

    def get_config(self) -> dict[str, Any]:
        return {"gain": self.gain}


class Orthogonal(Initializer):
    """`gain` times a random orthogonal matrix (Keras's QR construction; kernels only)."""

    _name = "orthogonal"

    def __init__(self, gain: float = 1.0, seed: Optional[int] = None) -> None:
        super().__init__(seed)
        self.gain = float(gain)

    def _params(self) -> tuple[float, float]:
        return (self.gain, 0.0)

    def get_config(self) -> dict[str, Any]:
        return {"gain": self.gain, "seed": self.seed}


_CLASSES: dict[str, Any] = {
    "zeros": Zeros,
    "ones": Ones,
    "random_normal": RandomNormal,
    "random_uniform": RandomUniform,
    "glorot_uniform": GlorotUniform,
    "glorot_normal": GlorotNormal,
    "he_normal": HeNormal,
    "he_uniform": HeUniform,
    "constant": Constant,
    "truncated_normal": TruncatedNormal,
    "variance_scaling": VarianceScaling,
    "lecun_normal": LecunNormal,
    "lecun_uniform": LecunUniform,
    "identity": Identity,
    "orthogonal": Orthogonal,
}
for _cls in list(_CLASSES.values()):
    _CLASSES[_cls.__name__] = _cls
_CLASSES["uniform"] = RandomUniform  # Keras's aliases (Embedding's default is "uniform")
_CLASSES["normal"] = RandomNormal


def get(identifier: Any) -> Initializer:
    """Resolves an initialiser given by name (`"glorot_uniform"`, `"GlorotUniform"`) or object."""
    if isinstance(identifier, Initializer):
        return identifier
    if isinstance(identifier, str) and identifier in _CLASSES:
        return _CLASSES[identifier]()
    if isinstance(identifier, type) and issubclass(identifier, Initializer):
        return identifier()
    raise ValueError(
        f"Unknown initializer: {identifier!r}. Expected one of "
        f"{sorted(k for k in _CLASSES if k.islower())} or an eigennet.initializers object."
    )


def serialize(obj: Initializer) -> dict[str, Any]:
    """The JSON-ready `{"class_name", "config"}` form of a initializer."""
    return serialization.serialize(obj)


def deserialize(config: dict[str, Any]) -> Initializer:
    """Rebuilds a initializer from `serialize()` output; unknown classes raise ValueError."""
    return serialization.deserialize(config, _CLASSES, "initializer")
