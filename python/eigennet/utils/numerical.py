"""Array helpers with Keras's names."""

from __future__ import annotations

from typing import Any, Optional

import numpy as np


def to_categorical(x: Any, num_classes: Optional[int] = None) -> np.ndarray:
    """One-hot encodes integer class labels, as `keras.utils.to_categorical`.

    Args:
        x: integer labels of any shape (a trailing axis of size 1 is dropped, as Keras does).
        num_classes: number of classes; `max(x) + 1` when None.

    Returns:
        A float32 array of shape `x.shape + (num_classes,)`.

    Example:
        >>> to_categorical([0, 2], num_classes=3)
        array([[1., 0., 0.],
               [0., 0., 1.]], dtype=float32)
    """
    labels = np.asarray(x)
    if labels.dtype.kind not in "iub" and not (
        labels.dtype.kind == "f"
        and np.all(np.isfinite(labels))
        and np.all(labels == np.floor(labels))
    ):
        raise ValueError(f"to_categorical takes integer labels. Received dtype {labels.dtype}")
    labels = labels.astype(np.int64)
    if labels.ndim > 1 and labels.shape[-1] == 1:
        labels = labels.reshape(labels.shape[:-1])
    if labels.size and labels.min() < 0:
        raise ValueError(f"Labels must be >= 0. Received a label {labels.min()}")
    if num_classes is None:
        num_classes = int(labels.max()) + 1 if labels.size else 0
    if labels.size and labels.max() >= num_classes:
        raise ValueError(f"A label {labels.max()} does not fit num_classes={num_classes}.")
    out = np.zeros(labels.shape + (num_classes,), dtype=np.float32)
    np.put_along_axis(out, labels[..., None], 1.0, axis=-1)
    return out
