"""EarlyStopping with Keras 3's exact semantics."""

from __future__ import annotations

import math
import operator
from typing import Any, Optional

from eigennet.callbacks.callback import Callback, print_msg
from eigennet.callbacks.monitor import monitor_op, monitor_value


class EarlyStopping(Callback):
    """Stops training when a monitored metric has stopped improving.

    An epoch improves when `current - min_delta` beats the best value so far (`min_delta`
    counts against improvement in either direction). `wait` counts epochs since the last
    improvement that also beat `baseline`; training stops once `wait >= patience` (never in the
    first epoch). With `restore_best_weights`, the best epoch's weights are restored when
    training ends. Epochs before `start_from_epoch` are ignored.

    Args:
        monitor: quantity to watch, e.g. `"val_loss"`.
        min_delta: minimum change that counts as an improvement.
        patience: epochs without improvement before stopping.
        verbose: 1 prints a message when stopping.
        mode: `"auto"`, `"min"` or `"max"`.
        baseline: value the metric must beat to reset the patience counter.
        restore_best_weights: restore the weights of the best epoch at the end.
        start_from_epoch: warm-up epochs during which nothing is monitored.
    """

    def __init__(
        self,
        monitor: str = "val_loss",
        min_delta: float = 0,
        patience: int = 0,
        verbose: int = 0,
        mode: str = "auto",
        baseline: Optional[float] = None,
        restore_best_weights: bool = False,
        start_from_epoch: int = 0,
    ) -> None:
        super().__init__()
        if not isinstance(patience, int) or patience < 0:
            raise ValueError(f"patience must be an int >= 0. Received: patience={patience!r}")
        if not math.isfinite(min_delta):
            raise ValueError(f"min_delta must be finite. Received: min_delta={min_delta}")
        self.monitor = monitor
        self.patience = patience
        self.verbose = verbose
        self.baseline = baseline
        self.min_delta = abs(min_delta)
        self.mode = mode
        self.restore_best_weights = restore_best_weights
        self.start_from_epoch = start_from_epoch
        self.wait = 0
        self.stopped_epoch = 0
        self.best_weights: Any = None
        self.best_epoch = 0
        self.best = math.inf
        self.monitor_op: Any = None

    def _set_monitor_op(self) -> None:
        self.monitor_op = monitor_op(self.monitor, self.mode, "EarlyStopping")
        if self.monitor_op is operator.lt:
            self.min_delta *= -1
        self._reset_best()

    def _reset_best(self) -> None:
        self.best = math.inf if self.monitor_op is operator.lt else -math.inf

    def on_train_begin(self, logs: Optional[dict[str, Any]] = None) -> None:
        # As Keras: an instance reused by a second fit starts afresh, best value included.
        self.wait = 0
        self.stopped_epoch = 0
        self.best_weights = None
        self.best_epoch = 0
        if self.monitor_op is not None:
            self._reset_best()

    def _is_improvement(self, value: float, reference: float) -> bool:
        return bool(self.monitor_op(value - self.min_delta, reference))

    def on_epoch_end(self, epoch: int, logs: Optional[dict[str, Any]] = None) -> None:
        if self.monitor_op is None:
            self._set_monitor_op()
        current = monitor_value(logs, self.monitor, "Early stopping")
        if current is None or epoch < self.start_from_epoch:
            return
        if self.restore_best_weights and self.best_weights is None:
            self.best_weights = self.model.get_weights()
            self.best_epoch = epoch
        self.wait += 1
        if self._is_improvement(current, self.best):
            self.best = current
            self.best_epoch = epoch
            if self.restore_best_weights:
                self.best_weights = self.model.get_weights()
            if self.baseline is None or self._is_improvement(current, self.baseline):
                self.wait = 0
            return
        if self.wait >= self.patience and epoch > 0:
            self.stopped_epoch = epoch
            self.model.stop_training = True

    def on_train_end(self, logs: Optional[dict[str, Any]] = None) -> None:
        if self.stopped_epoch > 0 and self.verbose > 0:
            print_msg(f"Epoch {self.stopped_epoch + 1}: early stopping")
        if self.restore_best_weights and self.best_weights is not None:
            if self.verbose > 0:
                print_msg(
                    "Restoring model weights from the end of the best epoch: "
                    f"{self.best_epoch + 1}."
                )
            self.model.set_weights(self.best_weights)
