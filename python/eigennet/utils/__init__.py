"""Utilities: seeding, plotting, one-hot labels and PyDataset."""

from __future__ import annotations

from eigennet.utils.numerical import to_categorical
from eigennet.utils.plotting import plot_history
from eigennet.utils.py_dataset import PyDataset
from eigennet.utils.seeding import set_random_seed

__all__ = ["PyDataset", "plot_history", "set_random_seed", "to_categorical"]
