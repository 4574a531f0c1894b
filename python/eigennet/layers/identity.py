"""Identity: returns its input unchanged."""

from __future__ import annotations

from eigennet.layers.layer import Layer


class Identity(Layer):
    """Returns its input unchanged (a placeholder in a graph)."""

    _kind = "identity"
    _flat_only = False
