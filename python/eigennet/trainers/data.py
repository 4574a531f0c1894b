"""Checks and converts user data once, at the edge, before the C++ core sees it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Optional

import numpy as np


def _to_array(value: Any, what: str) -> np.ndarray:
    if hasattr(value, "to_numpy") and not isinstance(value, np.ndarray):
        value = value.to_numpy()
    if value is None:
        raise ValueError(f"{what} is None: pass a numpy array.")
    if isinstance(value, Iterator) or (
        hasattr(value, "__getitem__") and hasattr(value, "on_epoch_end")
    ):
        # np.asarray would make a 0-d object array of it and the error would be about dtypes.
        raise TypeError(
            f"{what} must be a NumPy array or an array-like (nested lists, pandas). Generators, "
            "iterators and Keras PyDataset/tf.data objects are not supported; collect the "
            f"data into an array first. Received: {what} of type {type(value).__name__}"
        )
    try:
        a = np.asarray(value)
    except Exception as e:  # ragged nested lists and the like
        raise ValueError(f"{what} could not be converted to an array: {e}") from None
    if a.dtype.kind not in "fiub":
        raise TypeError(
            f"{what} must hold real numbers (float, int or bool). Received an array of dtype "
            f"{a.dtype}"
        )
    return a


def features(
    x: Any,
    n_inputs: int,
    dtype: np.dtype,
    what: str = "x",
    input_shape: tuple[int, ...] = (),
) -> np.ndarray:
    """(n, n_inputs) C-contiguous array of the model's dtype. Samples of a model that starts
    with Flatten (`input_shape` of rank > 1) are flattened here, a view when x is C-ordered."""
    a = _to_array(x, what)
    if len(input_shape) > 1:
        if a.ndim != 1 + len(input_shape) or a.shape[1:] != tuple(input_shape):
            raise ValueError(
                f"The model expects {what} of shape (n, {', '.join(map(str, input_shape))}). "
                f"Received: {what}.shape={a.shape}"
            )
        a = a.reshape(len(a), -1)
    if a.ndim == 1 and n_inputs == 1:
        a = a.reshape(-1, 1)
    if a.ndim != 2:
        raise ValueError(
            f"{what} must be 2-D (samples, features). Received: {what}.shape={a.shape}"
        )
    if a.shape[0] == 0:
        raise ValueError(f"{what} is empty: it has 0 samples. Received: {what}.shape={a.shape}")
    if a.shape[1] != n_inputs:
        raise ValueError(
            f"The model expects {n_inputs} input features, but {what} has {a.shape[1]}. "
            f"Received: {what}.shape={a.shape}"
        )
    return np.ascontiguousarray(a, dtype=dtype)


def targets(y: Any, n: int, n_outputs: int, loss: str, dtype: np.dtype) -> np.ndarray:
    """(n, n_targets) C-contiguous targets for the loss named `loss` (its core name): integer
    labels (n, 1) for sparse losses, values in [0, 1] for the cross-entropies."""
    a = _to_array(y, "y")
    if loss.startswith("sparse"):
        if a.ndim == 2 and a.shape[1] == 1:
            a = a.reshape(-1)
        if a.ndim != 1:
            raise ValueError(
                "Sparse categorical cross-entropy takes integer labels of shape (n,). "
                f"Received: y.shape={a.shape}"
            )
        if a.size and (
            not np.all(np.isfinite(a))
            or a.min() < 0
            or a.max() >= n_outputs
            or np.any(a != np.floor(a))
        ):
            bad = a[(~np.isfinite(a)) | (a < 0) | (a >= n_outputs) | (a != np.floor(a))][0]
            raise ValueError(
                f"Labels must be integers in [0, {n_outputs}) for {n_outputs} outputs. "
                f"Received a label {bad}"
            )
        a = a.reshape(-1, 1)
    else:
        if a.ndim == 1 and n_outputs == 1:
            a = a.reshape(-1, 1)
        if a.ndim != 2 or a.shape[1] != n_outputs:
            hint = ""
            if loss.startswith("categorical") and a.ndim == 1:
                hint = (
                    " For integer class labels use loss='sparse_categorical_crossentropy', or "
                    "one-hot encode them with eigennet.utils.to_categorical(y)."
                )
            raise ValueError(
                f"The model has {n_outputs} outputs, so y must have shape (n, {n_outputs}). "
                f"Received: y.shape={a.shape}.{hint}"
            )
        if loss.startswith(("binary", "categorical")) and a.size:
            lo, hi = a.min(), a.max()
            if not (lo >= 0 and hi <= 1):  # also catches NaN
                bad = a[~((a >= 0) & (a <= 1))].flat[0]
                raise ValueError(
                    f"{loss.replace('_from_logits', '')} takes targets in [0, 1] (class labels "
                    f"0 and 1, one-hot rows or probabilities). Received a target {bad}"
                )
    if a.shape[0] != n:
        raise ValueError(
            f"x and y must have the same number of samples. Received: len(x)={n}, "
            f"len(y)={a.shape[0]}"
        )
    return np.ascontiguousarray(a, dtype=dtype)


def sample_weights(
    y: np.ndarray, sample_weight: Any, class_weight: Any, dtype: np.dtype
) -> Optional[np.ndarray]:
    """Per-sample loss weights (n,) from `sample_weight` or `class_weight`, or None.

    As in Keras, a class weight applies to each sample through its class index: the label for
    integer or single-column targets, the argmax of one-hot rows; classes missing from the dict
    weigh 1. Both at once is an error.
    """
    if sample_weight is not None and class_weight is not None:
        raise ValueError("You cannot use `class_weight` and `sample_weight` at the same time.")
    n = len(y)
    if class_weight is not None:
        if not isinstance(class_weight, dict):
            raise TypeError(
                f"class_weight must be a dict of class index to weight. Received: {class_weight!r}"
            )
        classes = np.rint(y[:, 0]) if y.shape[1] == 1 else np.argmax(y, axis=1)
        weights = np.ones(n, dtype=np.float64)
        for k, v in class_weight.items():
            if (
                isinstance(v, bool)
                or not isinstance(v, (int, float, np.number))
                or not (np.isfinite(v) and v >= 0)
            ):
                raise ValueError(
                    f"class_weight values must be finite and >= 0. Received: {k}: {v!r}"
                )
            weights[classes == k] = float(v)
        return np.ascontiguousarray(weights, dtype=dtype)
    if sample_weight is None:
        return None
    w = _to_array(sample_weight, "sample_weight")
    if w.ndim == 2 and w.shape[1] == 1:
        w = w.reshape(-1)
    if w.ndim != 1 or len(w) != n:
        raise ValueError(
            f"sample_weight must have shape ({n},), one weight per sample. "
            f"Received: sample_weight.shape={w.shape}"
        )
    if not np.all(np.isfinite(w)) or np.any(w < 0):
        raise ValueError("sample_weight must be finite and >= 0.")
    return np.ascontiguousarray(w, dtype=dtype)


def positive_int(value: Any, name: str, allow_none: bool = False) -> Any:
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an int. Received: {name}={value!r}")
    if value <= 0:
        raise ValueError(f"{name} must be a positive int. Received: {name}={value}")
    if value > 2**62:
        raise ValueError(f"{name} must be at most 2**62. Received: {name}={value}")
    return int(value)
