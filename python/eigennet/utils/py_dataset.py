"""PyDataset: Keras's base class for data served batch by batch from Python."""

from __future__ import annotations

from typing import Any, Optional


class PyDataset:
    """Batches by index: subclass it with `__getitem__(index)` returning `(x, y)` or
    `(x, y, sample_weight)` (or `x` for predict) and `__len__()` returning the number of
    batches. `fit`, `evaluate` and `predict` pull each batch from Python and compute it in C++;
    `on_epoch_begin`/`on_epoch_end` are called around each epoch, as in Keras.

    Batches are read in this process, one at a time: `workers` above 1 and
    `use_multiprocessing=True` are refused rather than ignored.
    """

    def __init__(
        self, workers: int = 1, use_multiprocessing: bool = False, max_queue_size: int = 10
    ) -> None:
        if workers != 1 or use_multiprocessing:
            raise NotImplementedError(
                "eigennet reads a PyDataset's batches in this process, one at a time: "
                f"workers={workers!r} and use_multiprocessing={use_multiprocessing!r} are not "
                "supported (use workers=1, use_multiprocessing=False)."
            )
        self.workers, self.use_multiprocessing = workers, use_multiprocessing
        self.max_queue_size = max_queue_size

    def __getitem__(self, index: int) -> Any:
        raise NotImplementedError(f"{type(self).__name__} must implement __getitem__.")

    @property
    def num_batches(self) -> Optional[int]:
        """The number of batches (`len(self)`), or None for an endless dataset."""
        if hasattr(type(self), "__len__"):
            return len(self)  # type: ignore[arg-type]
        return None

    def on_epoch_begin(self) -> None:
        """Called before each epoch."""

    def on_epoch_end(self) -> None:
        """Called after each epoch."""
