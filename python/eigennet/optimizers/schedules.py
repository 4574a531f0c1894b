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


_CLASSES = {"ExponentialDecay": ExponentialDecay, "PiecewiseConstantDecay": PiecewiseConstantDecay}


def serialize(obj: LearningRateSchedule) -> dict[str, Any]:
    """The JSON-ready `{"class_name", "config"}` form of a schedule."""
    return serialization.serialize(obj)


def deserialize(config: dict[str, Any]) -> LearningRateSchedule:
    """Rebuilds a schedule from `serialize()` output; unknown classes raise ValueError."""
    return serialization.deserialize(config, _CLASSES, "schedule")
