"""Global configuration: float type, threads, CPU kernel set, device."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from typing import Any

from eigennet import _core

_FLOATX = "float32"
_DEVICE = "cpu"

__all__ = [
    "cuda_available",
    "device",
    "floatx",
    "kernel_set",
    "kernel_sets",
    "num_threads",
    "set_device",
    "set_floatx",
    "set_kernel_set",
    "set_num_threads",
    "set_tf32",
    "tf32",
]


_LOCAL = threading.local()  # a floatx of this thread only, while load_model builds


def floatx() -> str:
    """Returns the default float type of new models, `"float32"` or `"float64"`."""
    return getattr(_LOCAL, "floatx", None) or _FLOATX


@contextlib.contextmanager
def _thread_floatx(value: str) -> Iterator[None]:
    """Builds models of `value` on this thread only (loading a file of that dtype) without
    touching the process-wide setting other threads see."""
    previous = getattr(_LOCAL, "floatx", None)
    _LOCAL.floatx = value
    try:
        yield
    finally:
        _LOCAL.floatx = previous


@contextlib.contextmanager
def _thread_limits(params: int, stats: int) -> Iterator[None]:
    """Models built on this thread meanwhile may hold at most this many parameters and
    statistics (a loaded file's arrays bound its architecture)."""
    previous = getattr(_LOCAL, "limits", None)
    _LOCAL.limits = (params, stats)
    try:
        yield
    finally:
        _LOCAL.limits = previous


def _limits() -> Any:
    return getattr(_LOCAL, "limits", None)


def set_floatx(value: str) -> None:
    """Sets the float type of models built from now on.

    Args:
        value: `"float32"` or `"float64"`.
    """
    global _FLOATX
    if value not in ("float32", "float64"):
        raise ValueError(f"Unknown floatx type: {value!r}. Expected 'float32' or 'float64'.")
    _FLOATX = value


def set_num_threads(n: int) -> None:
    """Sets the number of CPU threads every kernel may use.

    Results are bitwise identical whatever the count: work is cut into fixed panels.

    Args:
        n: a positive integer.
    """
    if isinstance(n, bool) or not isinstance(n, int):
        raise TypeError(f"num_threads must be an int. Received: n={n!r}")
    if n < 1:
        raise ValueError(f"num_threads must be >= 1. Received: n={n}")
    if n > 2**31 - 1:
        raise ValueError(f"num_threads must be at most 2**31 - 1. Received: n={n}")
    _core.set_num_threads(n)


def num_threads() -> int:
    """Returns the number of CPU threads kernels may use."""
    return _core.num_threads()


def kernel_sets() -> list[str]:
    """Returns the CPU kernel sets of this build that this CPU can run, best first.

    A portable x86-64 wheel carries `"avx512"`, `"avx2"` (with FMA) and `"baseline"`
    (x86-64-v2); an aarch64 wheel `"neon"`; a `-march=native` build `"native"`.
    """
    return list(_core.kernel_sets())


def kernel_set() -> str:
    """Returns the CPU kernel set in use.

    At import eigennet picks the best of `kernel_sets()`; the environment variable
    `EIGENNET_KERNELS` (for example `EIGENNET_KERNELS=avx2`) forces another.
    """
    return _core.kernel_set()


def set_kernel_set(name: str) -> None:
    """Runs every later CPU kernel with the named kernel set.

    The sets agree within float rounding; each one alone is bitwise reproducible whatever the
    thread count. Switch between training runs, not during one.

    Args:
        name: one of `kernel_sets()`.
    """
    if not isinstance(name, str):
        raise TypeError(f"The kernel set must be a string. Received: name={name!r}")
    _core.set_kernel_set(name)


def cuda_available() -> bool:
    """True when this build has the CUDA backend and a GPU is present."""
    return bool(_core.cuda_available())


def set_device(name: str) -> None:
    """Sets the device of models built from now on: `"cpu"` or `"cuda"`.

    Raises:
        RuntimeError: for `"cuda"` when the build has no CUDA backend or no GPU is present.
    """
    global _DEVICE
    if name not in ("cpu", "cuda"):
        raise ValueError(f"Unknown device: {name!r}. Expected 'cpu' or 'cuda'.")
    if name == "cuda" and not cuda_available():
        raise RuntimeError(
            "CUDA is not available: this eigennet build has no CUDA backend or no GPU is "
            "present. Build with `pip install . -Ccmake.define.EIGENNET_CUDA=ON`."
        )
    _DEVICE = name


def device() -> str:
    """Returns the device of new models, `"cpu"` or `"cuda"`."""
    return _DEVICE


def set_tf32(enabled: bool) -> None:
    """Lets float32 matrix products on CUDA use TF32 tensor cores.

    TF32 rounds the inputs of each product to a 10-bit mantissa: much faster for large layers,
    but results then differ from the CPU's by about 1e-3 relative. Off by default. Applies to
    every CUDA model from its next product on; the CPU backend ignores it.

    Args:
        enabled: `True` to allow TF32, `False` for full float32 products.
    """
    if not isinstance(enabled, bool):
        raise TypeError(f"set_tf32 expects a bool. Received: enabled={enabled!r}")
    _core.set_tf32(enabled)


def tf32() -> bool:
    """True when float32 products on CUDA may use TF32 (see `set_tf32`)."""
    return bool(_core.tf32())


# Resolve the kernel set now, so that a bad EIGENNET_KERNELS fails the import with its message.
kernel_set()
