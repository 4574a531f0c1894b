from eigennet import _core  # noqa: F401
