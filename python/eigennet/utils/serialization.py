"""The `{"class_name", "config"}` form of initialisers, regularisers, losses, optimizers and
schedules, as Keras writes it, and its checked inverse for reading files."""

from __future__ import annotations

from typing import Any, Mapping


def serialize(obj: Any) -> dict[str, Any]:
    """`{"class_name": type(obj).__name__, "config": obj.get_config()}`."""
    return {"class_name": type(obj).__name__, "config": obj.get_config()}


def deserialize(config: Any, classes: Mapping[str, Any], what: str) -> Any:
    """Rebuilds an object from `serialize()` output with `classes[class_name].from_config`.

    Raises:
        ValueError: for an unknown class or a malformed configuration (as read from a file).
    """
    if not isinstance(config, dict) or not isinstance(config.get("config", {}), dict):
        raise ValueError(f"Invalid {what} configuration in file: {config!r}")
    cls = classes.get(config.get("class_name", ""))
    if cls is None:
        raise ValueError(f"Unknown {what} in file: {config.get('class_name')!r}")
    try:
        return cls.from_config(dict(config.get("config", {})))
    except TypeError as e:
        raise ValueError(f"Invalid {what} configuration in file ({e}).") from None
