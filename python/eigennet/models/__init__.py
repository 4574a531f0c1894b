"""Models: `Model` (functional), `Sequential`, and `load_model`."""

from __future__ import annotations

from eigennet.models.model import Model
from eigennet.models.saving import clone_model, load_model
from eigennet.models.sequential import Sequential

__all__ = ["Model", "Sequential", "clone_model", "load_model"]
