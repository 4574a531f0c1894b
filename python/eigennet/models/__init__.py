"""Models: `Model` (functional), `Sequential`, and `load_model`."""

from __future__ import annotations

from eigennet.models.model import Model
from eigennet.models.saving import load_model
from eigennet.models.sequential import Sequential

__all__ = ["Model", "Sequential", "load_model"]
