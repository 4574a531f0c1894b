"""Learning-rate schedules, evaluated inside the C++ training loop at every step."""

from __future__ import annotations

import math
from typing import Any, Sequence

from eigennet import _core
from eigennet.utils import serialization


class LearningRateSchedule:
    """Base class: `schedule(step)` is the learning rate of update number `step` (from 0)."""

    def _spec(self) -> Any:
        raise NotImplementedError

    def __call__(self, step: int) -> float:
        return float(self._spec().at(int(step)))

    def get_config(self) -> dict[str, Any]:
        """The constructor arguments, as a dict."""
        raise NotImplementedError

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> LearningRateSchedule:
        """Creates an instance from the output of `get_config()`."""
        return cls(**config)


class ExponentialDecay(LearningRateSchedule):
    """`initial_learning_rate * decay_rate ** (step / decay_steps)` (floored with staircase)."""

    def __init__(
        self,
        initial_learning_rate: float,
        decay_steps: int,
        decay_rate: float,
        staircase: bool = False,
        name: str = "ExponentialDecay",
    ) -> None:
        if not math.isfinite(initial_learning_rate) or initial_learning_rate < 0:
            raise ValueError(
                "initial_learning_rate must be finite and >= 0. "
                f"Received: initial_learning_rate={initial_learning_rate}"
            )
        for key, value in (("decay_steps", decay_steps), ("decay_rate", decay_rate)):
            if not math.isfinite(value) or value <= 0:
                raise ValueError(f"{key} must be finite and > 0. Received: {key}={value}")
        self.initial_learning_rate = float(initial_learning_rate)
        self.decay_steps = decay_steps
        self.decay_rate = float(decay_rate)
        self.staircase = bool(staircase)
        self.name = name

    def _spec(self) -> Any:
        s = _core.Schedule()
        s.kind = "exponential_decay"
        s.initial = self.initial_learning_rate
        s.decay_steps = float(self.decay_steps)
        s.decay_rate = self.decay_rate
        s.staircase = self.staircase
        return s

    def get_config(self) -> dict[str, Any]:
        return {
            "initial_learning_rate": self.initial_learning_rate,
            "decay_steps": self.decay_steps,
            "decay_rate": self.decay_rate,
            "staircase": self.staircase,
            "name": self.name,
        }


class PiecewiseConstantDecay(LearningRateSchedule):
    """`values[0]` while step <= boundaries[0], `values[i]` while step <= boundaries[i], then
    `values[-1]`."""

    def __init__(
        self,
        boundaries: Sequence[float],
        values: Sequence[float],
        name: str = "PiecewiseConstant",
    ) -> None:
        if len(values) != len(boundaries) + 1:
            raise ValueError(
                "The length of boundaries should be 1 less than the length of values. "
                f"Received: boundaries={list(boundaries)}, values={list(values)}"
            )
        for v in values:
            if not math.isfinite(v) or v < 0:
                raise ValueError(f"Learning rates must be finite and >= 0. Received: {v}")
        self.boundaries = [float(b) for b in boundaries]
        self.values = [float(v) for v in values]
        self.name = name

    def _spec(self) -> Any:
        s = _core.Schedule()
        s.kind = "piecewise_constant"
        s.boundaries = self.boundaries
        s.values = self.values
        return s

    def get_config(self) -> dict[str, Any]:
        return {"boundaries": self.boundaries, "values": self.values, "name": self.name}


def _number(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be a number. Received: {name}={value!r}")
    return float(value)


class _Checked(LearningRateSchedule):
    """A schedule whose arguments the core checks once, when it is made; its config is the
    attributes named in _config_keys (its constructor's arguments)."""

    _config_keys: tuple[str, ...] = ()

    def get_config(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self._config_keys}

    def _validate(self) -> None:
        try:
            self._spec().validate()
        except ValueError as e:
            raise ValueError(f"{type(self).__name__}: {e}") from None


class PolynomialDecay(_Checked):
    """`(initial - end) * (1 - min(step, decay_steps) / decay_steps) ** power + end`; with
    `cycle`, decay_steps grows to the first multiple of itself at or past the step."""

    _config_keys = (
        "initial_learning_rate",
        "decay_steps",
        "end_learning_rate",
        "power",
        "cycle",
        "name",
    )

    def __init__(
        self,
        initial_learning_rate: float,
        decay_steps: int,
        end_learning_rate: float = 0.0001,
        power: float = 1.0,
        cycle: bool = False,
        name: str = "PolynomialDecay",
    ) -> None:
        self.initial_learning_rate = _number("initial_learning_rate", initial_learning_rate)
        self.decay_steps = decay_steps
        self.end_learning_rate = _number("end_learning_rate", end_learning_rate)
        self.power = _number("power", power)
        self.cycle = bool(cycle)
        self.name = name
        self._validate()

    def _spec(self) -> Any:
        s = _core.Schedule()
        s.kind = "polynomial_decay"
        s.initial, s.decay_steps = (
            self.initial_learning_rate,
            _number("decay_steps", self.decay_steps),
        )
        s.end, s.power, s.cycle = self.end_learning_rate, self.power, self.cycle
        return s


class InverseTimeDecay(_Checked):
    """`initial_learning_rate / (1 + decay_rate * step / decay_steps)` (floored with
    staircase)."""

    _config_keys = ("initial_learning_rate", "decay_steps", "decay_rate", "staircase", "name")

    def __init__(
        self,
        initial_learning_rate: float,
        decay_steps: float,
        decay_rate: float,
        staircase: bool = False,
        name: str = "InverseTimeDecay",
    ) -> None:
        self.initial_learning_rate = _number("initial_learning_rate", initial_learning_rate)
        self.decay_steps = decay_steps
        self.decay_rate = _number("decay_rate", decay_rate)
        self.staircase = bool(staircase)
        self.name = name
        self._validate()

    def _spec(self) -> Any:
        s = _core.Schedule()
        s.kind = "inverse_time_decay"
        s.initial, s.decay_steps = (
            self.initial_learning_rate,
            _number("decay_steps", self.decay_steps),
        )
        s.decay_rate, s.staircase = self.decay_rate, self.staircase
        return s


class CosineDecay(_Checked):
    """Cosine decay from the rate to `alpha` times it over decay_steps (Loshchilov & Hutter),
    after an optional linear warmup to `warmup_target` over `warmup_steps`."""

    _config_keys = (
        "initial_learning_rate",
        "decay_steps",
        "alpha",
        "name",
        "warmup_target",
        "warmup_steps",
    )

    def __init__(
        self,
        initial_learning_rate: float,
        decay_steps: int,
        alpha: float = 0.0,
        name: str = "CosineDecay",
        warmup_target: Any = None,
        warmup_steps: int = 0,
    ) -> None:
        self.initial_learning_rate = _number("initial_learning_rate", initial_learning_rate)
        self.decay_steps = decay_steps
        self.alpha = _number("alpha", alpha)
        self.name = name
        self.warmup_target = (
            None if warmup_target is None else _number("warmup_target", warmup_target)
        )
        self.warmup_steps = warmup_steps
        self._validate()

    def _spec(self) -> Any:
        s = _core.Schedule()
        s.kind = "cosine_decay"
        s.initial, s.decay_steps = (
            self.initial_learning_rate,
            _number("decay_steps", self.decay_steps),
        )
        s.alpha = self.alpha
        s.warmup = self.warmup_target is not None
        s.warmup_target = self.warmup_target or 0.0
        s.warmup_steps = _number("warmup_steps", self.warmup_steps)
        return s


class CosineDecayRestarts(_Checked):
    """Cosine decay with warm restarts (SGDR): restart i lasts `first_decay_steps * t_mul**i`
    steps and starts from `initial_learning_rate * m_mul**i`."""

    _config_keys = (
        "initial_learning_rate",
        "first_decay_steps",
        "t_mul",
        "m_mul",
        "alpha",
        "name",
    )

    def __init__(
        self,
        initial_learning_rate: float,
        first_decay_steps: int,
        t_mul: float = 2.0,
        m_mul: float = 1.0,
        alpha: float = 0.0,
        name: str = "SGDRDecay",
    ) -> None:
        self.initial_learning_rate = _number("initial_learning_rate", initial_learning_rate)
        self.first_decay_steps = first_decay_steps
        self.t_mul = _number("t_mul", t_mul)
        self.m_mul = _number("m_mul", m_mul)
        self.alpha = _number("alpha", alpha)
        self.name = name
        self._validate()

    def _spec(self) -> Any:
        s = _core.Schedule()
        s.kind = "cosine_decay_restarts"
        s.initial = self.initial_learning_rate
        s.decay_steps = _number("first_decay_steps", self.first_decay_steps)
        s.t_mul, s.m_mul, s.alpha = self.t_mul, self.m_mul, self.alpha
        return s


_CLASSES: dict[str, type[LearningRateSchedule]] = {
    cls.__name__: cls
    for cls in (
        ExponentialDecay,
        PiecewiseConstantDecay,
        PolynomialDecay,
        InverseTimeDecay,
        CosineDecay,
        CosineDecayRestarts,
    )
}


def serialize(obj: LearningRateSchedule) -> dict[str, Any]:
    """The JSON-ready `{"class_name", "config"}` form of a schedule."""
    return serialization.serialize(obj)


def deserialize(config: dict[str, Any]) -> LearningRateSchedule:
    """Rebuilds a schedule from `serialize()` output; unknown classes raise ValueError."""
    return serialization.deserialize(config, _CLASSES, "schedule")
