"""ModelCheckpoint: saves the model (or its weights) every epoch or when it improves."""

from __future__ import annotations

import math
import os
import warnings
from typing import Any, Optional

from eigennet import distribution
from eigennet.callbacks.callback import Callback, print_msg
from eigennet.callbacks.monitor import monitor_op


class ModelCheckpoint(Callback):
    """Saves the model at the end of epochs; every save is atomic (temporary file + rename).

    Args:
        filepath: path, may contain `{epoch}` and log keys, e.g.
            `"ckpt-{epoch:02d}-{val_loss:.2f}.keras"` (`{epoch}` counts from 1).
            Must end in `.keras`, or in `.weights.h5` with `save_weights_only=True`.
        monitor: metric for `save_best_only`.
        verbose: 1 prints a line per save.
        save_best_only: save only when `monitor` improves.
        save_weights_only: save weights only (`save_weights`) instead of the whole model.
        mode: `"auto"`, `"min"` or `"max"`.
        save_freq: `"epoch"`, or an int: save after every that many batches (counted across
            epochs; `{batch}` in filepath is the batch within its epoch, from 1). Saving by
            batches makes `fit` call back after every batch.
        initial_value_threshold: a value the monitor must beat before the first save.
    """

    def __init__(
        self,
        filepath: str,
        monitor: str = "val_loss",
        verbose: int = 0,
        save_best_only: bool = False,
        save_weights_only: bool = False,
        mode: str = "auto",
        save_freq: Any = "epoch",
        initial_value_threshold: Optional[float] = None,
    ) -> None:
        super().__init__()
        self.filepath = os.fspath(filepath)
        by_batches = not isinstance(save_freq, bool) and isinstance(save_freq, int)
        if save_freq != "epoch" and not (by_batches and save_freq > 0):
            raise ValueError(
                f"Unrecognized save_freq: {save_freq!r}. Expected save_freq are 'epoch' or "
                "integer values"
            )
        self.save_freq = save_freq
        self._epoch = 0
        self._batches_since_save = 0
        if by_batches:
            # Only then a batch hook (on the instance: an epoch-saving checkpoint keeps fit's
            # epochs in one C++ call).
            self.on_train_batch_end = self._save_on_batch  # type: ignore[method-assign]
        if save_weights_only and not self.filepath.endswith(".weights.h5"):
            raise ValueError(
                "When using save_weights_only=True in ModelCheckpoint, the filepath provided "
                f"must end in `.weights.h5`. Received: filepath={self.filepath}"
            )
        if not save_weights_only and not self.filepath.endswith(".keras"):
            raise ValueError(
                "The filepath provided must end in `.keras` (Keras model format). "
                f"Received: filepath={self.filepath}"
            )
        self.monitor = monitor
        self.verbose = verbose
        self.save_best_only = save_best_only
        self.save_weights_only = save_weights_only
        self.monitor_op = monitor_op(monitor, mode, "ModelCheckpoint")
        if initial_value_threshold is not None:
            self.best = float(initial_value_threshold)
        else:
            self.best = math.inf if self.monitor_op(0, 1) else -math.inf

    def on_epoch_begin(self, epoch: int, logs: Optional[dict[str, Any]] = None) -> None:
        self._epoch = epoch

    def _save_on_batch(self, batch: int, logs: Optional[dict[str, Any]] = None) -> None:
        self._batches_since_save += 1
        if self._batches_since_save >= self.save_freq:
            self._batches_since_save = 0
            self._save(self._epoch, batch, logs or {})

    def on_epoch_end(self, epoch: int, logs: Optional[dict[str, Any]] = None) -> None:
        if self.save_freq == "epoch":
            self._save(epoch, None, logs or {})

    def _save(self, epoch: int, batch: Optional[int], logs: dict[str, Any]) -> None:
        fields = {"epoch": epoch + 1, **logs}
        if batch is not None:
            fields["batch"] = batch + 1
        path = self.filepath.format(**fields)
        if self.save_best_only:
            current = logs.get(self.monitor)
            if current is None:
                # Keras warns and saves anyway: a missing metric must not lose the model.
                warnings.warn(
                    f"Can save best model only with {self.monitor} available.", stacklevel=2
                )
            elif not self.monitor_op(current, self.best):
                return
            else:
                if self.verbose > 0:
                    print_msg(
                        f"\nEpoch {epoch + 1}: {self.monitor} improved from {self.best:.5f} to "
                        f"{current:.5f}, saving model to {path}"
                    )
                self.best = current
        elif self.verbose > 0:
            print_msg(f"\nEpoch {epoch + 1}: saving model to {path}")
        folder = os.path.dirname(path)
        if folder and distribution.is_writer():
            os.makedirs(folder, exist_ok=True)
        if self.save_weights_only:
            self.model.save_weights(path)
        else:
            self.model.save(path)
