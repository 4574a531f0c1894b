"""CSVLogger and TerminateOnNaN."""

from __future__ import annotations

import csv
import math
import os
from typing import Any, Optional

from eigennet import distribution
from eigennet.callbacks.callback import Callback, print_msg


class TerminateOnNaN(Callback):
    """Stops training at the first batch whose running loss is NaN or infinite.

    Args:
        raise_error: raise a RuntimeError there instead of stopping gracefully, so that no
            `on_train_end` runs (a BackupAndRestore backup is kept, for instance).
    """

    def __init__(self, raise_error: bool = False) -> None:
        super().__init__()
        self.raise_error = bool(raise_error)

    def on_train_batch_end(self, batch: int, logs: Optional[dict[str, Any]] = None) -> None:
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(loss):
            if self.raise_error:
                raise RuntimeError(f"NaN or Inf found in the loss at batch {batch}: {loss}.")
            print_msg(f"Batch {batch}: Invalid loss, terminating training")
            self.model.stop_training = True


class CSVLogger(Callback):
    """Streams epoch results to a CSV file: `epoch,<sorted log keys>`.

    Args:
        filename: path of the CSV file.
        separator: field separator.
        append: append to an existing file instead of overwriting it.
    """

    def __init__(self, filename: str, separator: str = ",", append: bool = False) -> None:
        super().__init__()
        self.filename = os.fspath(filename)
        self.sep = separator
        self.append = append
        self.keys: Optional[list[str]] = None
        self._file: Any = None
        self._writer: Any = None

    def on_train_begin(self, logs: Optional[dict[str, Any]] = None) -> None:
        has_header = (
            self.append and os.path.exists(self.filename) and os.path.getsize(self.filename) > 0
        )
        # Under DataParallel across MPI ranks rank 0 writes; the others' rows go nowhere.
        target = self.filename if distribution.is_writer() else os.devnull
        self._file = open(target, "a" if self.append else "w", newline="")
        self._writer = None
        self.keys = None
        self._has_header = has_header

    def on_epoch_end(self, epoch: int, logs: Optional[dict[str, Any]] = None) -> None:
        logs = logs or {}
        if self.keys is None:
            self.keys = sorted(logs)
        if self._writer is None:
            self._writer = csv.DictWriter(
                self._file, fieldnames=["epoch", *self.keys], delimiter=self.sep
            )
            if not self._has_header:
                self._writer.writeheader()
        row = {"epoch": epoch, **{k: logs.get(k, "NA") for k in self.keys}}
        self._writer.writerow(row)
        self._file.flush()

    def on_train_end(self, logs: Optional[dict[str, Any]] = None) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
