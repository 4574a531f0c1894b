"""BackupAndRestore: resume an interrupted fit from its last backup."""

from __future__ import annotations

import os
import shutil
from typing import Any, Optional

from eigennet.callbacks.callback import Callback


class BackupAndRestore(Callback):
    """Backs the model up into `backup_dir` (weights, optimizer state, iterations and random
    streams, written atomically): at the end of every epoch, or every `save_freq` batches; a
    later `fit` with the same callback restores the backup and starts at the epoch it records.
    With epoch backups an interrupted run ends with the weights an uninterrupted one would have;
    a backup taken inside an epoch records that epoch as not done, so the resumed fit runs it
    again from its first batch on the backed-up weights (Keras's semantics). The backup is
    deleted when fit finishes.

    Args:
        backup_dir: folder of the backup (created if missing).
        save_freq: `"epoch"`, or a number of batches between backups.
        double_checkpoint: also keep the previous backup, used when the latest cannot be read
            (a crash while it was written).
        delete_checkpoint: delete the backup at the end of a completed fit.
    """

    def __init__(
        self,
        backup_dir: str,
        save_freq: Any = "epoch",
        double_checkpoint: bool = False,
        delete_checkpoint: bool = True,
    ) -> None:
        super().__init__()
        if not backup_dir:
            raise ValueError("Empty `backup_dir` argument passed")
        if save_freq != "epoch" and (
            isinstance(save_freq, bool) or not isinstance(save_freq, int) or save_freq < 1
        ):
            raise ValueError(
                f"Invalid value for argument `save_freq`. Received: save_freq={save_freq}. "
                "Expected either 'epoch' or an integer value."
            )
        self.backup_dir = os.fspath(backup_dir)
        self.save_freq = save_freq
        self.double_checkpoint = bool(double_checkpoint)
        self.delete_checkpoint = bool(delete_checkpoint)
        self._path = os.path.join(self.backup_dir, "latest.keras")
        self._prev_path = self._path + ".bkp"
        self._current_epoch = 0
        self._last_batch_seen = 0
        self._since_saving = 0

    def on_train_begin(self, logs: Optional[dict[str, Any]] = None) -> None:
        if not self.model.built:
            raise ValueError(
                "To use the BackupAndRestore callback, your model must be built before you call "
                "`fit()`."
            )
        self._current_epoch = self._last_batch_seen = self._since_saving = 0
        if not os.path.exists(self._path):
            return
        try:
            epoch = self._restore(self._path)
        except (ValueError, OSError):
            if not (self.double_checkpoint and os.path.exists(self._prev_path)):
                raise
            epoch = self._restore(self._prev_path)
        self._current_epoch = epoch
        self.model._initial_epoch = epoch

    def _restore(self, path: str) -> int:
        from eigennet.models import saving

        epoch = saving.restore_training(self.model, path)
        if epoch is None:
            raise ValueError(f"{path} is not a backup of a compiled model.")
        return epoch

    def on_epoch_end(self, epoch: int, logs: Optional[dict[str, Any]] = None) -> None:
        self._current_epoch = epoch + 1
        self._last_batch_seen = 0
        if self.save_freq == "epoch":
            self._save()

    def _uses_batch_hooks(self) -> bool:
        return self.save_freq != "epoch"  # epoch backups keep fit's epochs whole in C++

    def on_train_batch_end(self, batch: int, logs: Optional[dict[str, Any]] = None) -> None:
        if self.save_freq == "epoch":
            return
        # Batches since the last backup, counted across epochs as Keras counts them.
        self._since_saving += (
            batch + 1 if batch <= self._last_batch_seen else batch - (self._last_batch_seen)
        )
        self._last_batch_seen = batch
        if self._since_saving >= self.save_freq:
            self._since_saving = 0
            self._save()

    def _save(self) -> None:
        from eigennet import distribution
        from eigennet.models import saving

        if not distribution.is_writer():
            return  # rank 0 of a DataParallel run writes the backup
        os.makedirs(self.backup_dir, exist_ok=True)
        if self.double_checkpoint and os.path.exists(self._path):
            shutil.copyfile(self._path, self._prev_path)
        saving.save_backup(self.model, self._path, self._current_epoch)

    def on_train_end(self, logs: Optional[dict[str, Any]] = None) -> None:
        from eigennet import distribution

        if not self.delete_checkpoint or not distribution.is_writer():
            return
        for path in (self._path, self._prev_path):
            if os.path.exists(path):
                os.remove(path)
