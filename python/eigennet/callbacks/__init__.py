"""Callbacks with Keras 3's names, arguments and semantics."""

from __future__ import annotations

from eigennet.callbacks.backup_and_restore import BackupAndRestore
from eigennet.callbacks.callback import Callback, CallbackList, History, LambdaCallback
from eigennet.callbacks.early_stopping import EarlyStopping
from eigennet.callbacks.misc import CSVLogger, TerminateOnNaN
from eigennet.callbacks.model_checkpoint import ModelCheckpoint
from eigennet.callbacks.schedulers import LearningRateScheduler, ReduceLROnPlateau

__all__ = [
    "BackupAndRestore",
    "CSVLogger",
    "Callback",
    "CallbackList",
    "EarlyStopping",
    "History",
    "LambdaCallback",
    "LearningRateScheduler",
    "ModelCheckpoint",
    "ReduceLROnPlateau",
    "TerminateOnNaN",
]
