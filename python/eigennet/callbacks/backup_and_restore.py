"""BackupAndRestore: resume an interrupted fit from the last completed epoch."""

from __future__ import annotations

import os
from typing import Any, Optional

from eigennet.callbacks.callback import Callback


class BackupAndRestore(Callback):
    """Backs the model up at the end of every epoch into `backup_dir` (weights, optimizer
    state, iterations and random streams, written atomically); a later `fit` with the same
    callback restores them and starts at the next epoch, so an interrupted run ends with the
    weights an uninterrupted one would have. The backup is deleted when fit finishes.

    Args:
        backup_dir: folder of the backup (created if missing).
        save_freq: `"epoch"` (backing up every N batches is not supported yet).
        double_checkpoint: not supported yet (must be False).
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
        if save_freq != "epoch":
            raise NotImplementedError(
                f"BackupAndRestore supports save_freq='epoch' only. Received: {save_freq!r}"
            )
        if double_checkpoint:
            raise NotImplementedError("BackupAndRestore(double_checkpoint=True) is not supported.")
        self.backup_dir = os.fspath(backup_dir)
        self.save_freq = save_freq
        self.double_checkpoint = False
        self.delete_checkpoint = bool(delete_checkpoint)
        self._path = os.path.join(self.backup_dir, "latest.keras")

    def on_train_begin(self, logs: Optional[dict[str, Any]] = None) -> None:
        if not self.model.built:
            raise ValueError(
                "To use the BackupAndRestore callback, your model must be built before you call "
                "`fit()`."
            )
        if not os.path.exists(self._path):
            return
        from eigennet.models import saving

        epoch = saving.restore_training(self.model, self._path)
        if epoch is None:
            raise ValueError(f"{self._path} is not a backup of a compiled model.")
        self.model._initial_epoch = epoch

    def on_epoch_end(self, epoch: int, logs: Optional[dict[str, Any]] = None) -> None:
        from eigennet.models import saving

        os.makedirs(self.backup_dir, exist_ok=True)
        saving.save_backup(self.model, self._path, epoch + 1)  # weights and count, one file

    def on_train_end(self, logs: Optional[dict[str, Any]] = None) -> None:
        if self.delete_checkpoint and os.path.exists(self._path):
            os.remove(self._path)
