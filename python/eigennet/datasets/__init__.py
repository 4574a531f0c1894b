"""Small real data sets that ship inside the package, and the seed text's "student" example.

- `digits`: 1,797 handwritten digits as 8x8 images (64 features in 0..16), 10 classes. From the
  UCI "Optical Recognition of Handwritten Digits" data set (Alpaydin & Kaynak, 1998), licensed
  CC BY 4.0.
- `breast_cancer`: 569 tumours, 30 real features, malignant (0) or benign (1). From the UCI
  "Breast Cancer Wisconsin (Diagnostic)" data set (Wolberg, Street & Mangasarian, 1995),
  licensed CC BY 4.0.
- `student`: a synthetic two-feature problem, "will the student pass?", from lectures attended
  (x1) and hours of self study (x2).

Each `load_data` returns `(x_train, y_train), (x_test, y_test)` as Keras's data sets do.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

__all__ = ["load_breast_cancer", "load_digits", "load_student", "split"]

_DATA = os.path.join(os.path.dirname(__file__), "data")


def split(x: np.ndarray, y: np.ndarray, test_split: float, seed: int) -> tuple[Any, Any]:
    """Shuffles with `seed` and holds out the last `test_split` fraction as the test set."""
    if not 0 < test_split < 1:
        raise ValueError(f"test_split must be in (0, 1). Received: test_split={test_split}")
    order = np.random.default_rng(seed).permutation(len(x))
    n_test = max(1, int(round(len(x) * test_split)))
    train, test = order[:-n_test], order[-n_test:]
    return (x[train], y[train]), (x[test], y[test])


def _load(name: str) -> Any:
    with np.load(os.path.join(_DATA, f"{name}.npz"), allow_pickle=False) as f:
        return {k: f[k] for k in f.files}


def load_digits(test_split: float = 0.2, seed: int = 0) -> tuple[Any, Any]:
    """8x8 digit images as 64 float32 features scaled to [0, 1], integer labels 0..9."""
    d = _load("digits")
    return split(d["x"].astype(np.float32) / 16.0, d["y"].astype(np.int64), test_split, seed)


def load_breast_cancer(
    test_split: float = 0.2, seed: int = 0, standardize: bool = True
) -> tuple[Any, Any]:
    """30 float32 features (standardised with the training set's mean and std), labels 0/1."""
    d = _load("breast_cancer")
    (xtr, ytr), (xte, yte) = split(d["x"], d["y"].astype(np.int64), test_split, seed)
    if standardize:
        mean, std = xtr.mean(axis=0), xtr.std(axis=0)
        xtr, xte = (xtr - mean) / std, (xte - mean) / std
    return (xtr.astype(np.float32), ytr), (xte.astype(np.float32), yte)


def load_student(n: int = 400, test_split: float = 0.25, seed: int = 0) -> tuple[Any, Any]:
    """The "will I pass this class?" example: x1 = lectures attended (0..20), x2 = hours of
    self study (0..12). A student passes when 0.45 * x1 + 0.8 * x2 exceeds 8.5, with a little
    label noise near the boundary."""
    rng = np.random.default_rng(seed)
    lectures = rng.uniform(0, 20, n)
    hours = rng.uniform(0, 12, n)
    score = 0.45 * lectures + 0.8 * hours - 8.5 + rng.normal(0, 0.6, n)
    x = np.stack([lectures, hours], axis=1).astype(np.float32)
    y = (score > 0).astype(np.int64)
    return split(x, y, test_split, seed)
