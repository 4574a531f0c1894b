"""The training loop's Python side: compile-to-spec, epochs, callbacks and progress."""

from __future__ import annotations

from eigennet.trainers.trainer import Trainer

__all__ = ["Trainer"]
