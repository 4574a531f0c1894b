"""The Callback base class, the list that dispatches to callbacks, History and LambdaCallback."""

from __future__ import annotations

from typing import Any, Callable, Iterable, Optional

from eigennet import distribution


def print_msg(message: str) -> None:
    """A callback's message (Keras's io_utils.print_msg), printed by the rank that writes:
    rank 0 of a DataParallel run, where every rank runs the callbacks alike."""
    if distribution.is_writer():
        print(message)


_BATCH_HOOKS = (
    "on_train_batch_begin",
    "on_train_batch_end",
    "on_batch_begin",
    "on_batch_end",
)
_TEST_BATCH_HOOKS = ("on_test_batch_begin", "on_test_batch_end")
_PREDICT_BATCH_HOOKS = ("on_predict_batch_begin", "on_predict_batch_end")


class Callback:
    """Base class: override any of the hooks. `self.model` is set before training starts.

    Epoch-level hooks keep each epoch inside one C++ call; overriding a batch hook
    (`on_train_batch_begin/end`) makes `fit` call back after every batch.
    """

    def __init__(self) -> None:
        self.model: Any = None
        self.params: dict[str, Any] = {}

    def set_model(self, model: Any) -> None:
        """Called by `fit` with the model being trained."""
        self.model = model

    def set_params(self, params: dict[str, Any]) -> None:
        """Called by `fit` with `verbose`, `epochs` and `steps` (batches per epoch)."""
        self.params = params

    def on_train_begin(self, logs: Optional[dict[str, Any]] = None) -> None:
        """Called once at the start of `fit`."""
        pass

    def on_train_end(self, logs: Optional[dict[str, Any]] = None) -> None:
        """Called once at the end of `fit` with the last epoch's logs."""
        pass

    def on_epoch_begin(self, epoch: int, logs: Optional[dict[str, Any]] = None) -> None:
        """Called at the start of epoch `epoch` (counted from 0)."""
        pass

    def on_epoch_end(self, epoch: int, logs: Optional[dict[str, Any]] = None) -> None:
        """Called at the end of an epoch; `logs` holds `loss`, metrics and `val_*` values."""
        pass

    def on_train_batch_begin(self, batch: int, logs: Optional[dict[str, Any]] = None) -> None:
        """Called before batch `batch` of an epoch (overriding it makes `fit` go batch by batch)."""
        self.on_batch_begin(batch, logs)

    def on_train_batch_end(self, batch: int, logs: Optional[dict[str, Any]] = None) -> None:
        """Called after a batch with the epoch's running `loss` and metrics so far."""
        self.on_batch_end(batch, logs)

    def on_batch_begin(self, batch: int, logs: Optional[dict[str, Any]] = None) -> None:
        """Legacy alias of `on_train_batch_begin`."""
        pass

    def on_batch_end(self, batch: int, logs: Optional[dict[str, Any]] = None) -> None:
        """Legacy alias of `on_train_batch_end`."""
        pass

    def on_test_begin(self, logs: Optional[dict[str, Any]] = None) -> None:
        """Called at the start of `evaluate` (also of fit's validation)."""
        pass

    def on_test_end(self, logs: Optional[dict[str, Any]] = None) -> None:
        """Called at the end of `evaluate` with its logs (not prefixed with `val_`)."""
        pass

    def on_test_batch_begin(self, batch: int, logs: Optional[dict[str, Any]] = None) -> None:
        """Called before an evaluation batch (overriding it makes `evaluate` go batch by
        batch)."""
        pass

    def on_test_batch_end(self, batch: int, logs: Optional[dict[str, Any]] = None) -> None:
        """Called after an evaluation batch with the running loss and metrics."""
        pass

    def on_predict_begin(self, logs: Optional[dict[str, Any]] = None) -> None:
        """Called at the start of `predict`."""
        pass

    def on_predict_end(self, logs: Optional[dict[str, Any]] = None) -> None:
        """Called at the end of `predict`."""
        pass

    def on_predict_batch_begin(self, batch: int, logs: Optional[dict[str, Any]] = None) -> None:
        """Called before a prediction batch."""
        pass

    def on_predict_batch_end(self, batch: int, logs: Optional[dict[str, Any]] = None) -> None:
        """Called after a prediction batch. Unlike Keras, `logs` does not hold the batch's
        `outputs` (they are written into `predict`'s result inside the C++ pass)."""
        pass

    def _overrides(self, hooks: tuple[str, ...]) -> bool:
        # A hook overridden on the class or assigned on the instance (`cb.on_batch_end = f`).
        return any(
            h in vars(self) or getattr(type(self), h) is not getattr(Callback, h) for h in hooks
        )

    def _uses_batch_hooks(self) -> bool:
        return self._overrides(_BATCH_HOOKS)


class History(Callback):
    """Records the logs of every epoch: `history.history["loss"]`, `history.epoch`."""

    def __init__(self) -> None:
        super().__init__()
        self.history: dict[str, list[float]] = {}
        self.epoch: list[int] = []

    def on_train_begin(self, logs: Optional[dict[str, Any]] = None) -> None:
        self.epoch = []

    def on_epoch_end(self, epoch: int, logs: Optional[dict[str, Any]] = None) -> None:
        self.epoch.append(epoch)
        for k, v in (logs or {}).items():
            self.history.setdefault(k, []).append(v)
        if self.model is not None:
            self.model.history = self


class LambdaCallback(Callback):
    """A callback from plain functions: `LambdaCallback(on_epoch_end=lambda epoch, logs: ...)`."""

    def __init__(
        self,
        on_epoch_begin: Optional[Callable[..., Any]] = None,
        on_epoch_end: Optional[Callable[..., Any]] = None,
        on_train_begin: Optional[Callable[..., Any]] = None,
        on_train_end: Optional[Callable[..., Any]] = None,
        on_train_batch_begin: Optional[Callable[..., Any]] = None,
        on_train_batch_end: Optional[Callable[..., Any]] = None,
        **kwargs: Any,
    ) -> None:
        super().__init__()
        hooks = {
            "on_epoch_begin": on_epoch_begin,
            "on_epoch_end": on_epoch_end,
            "on_train_begin": on_train_begin,
            "on_train_end": on_train_end,
            "on_train_batch_begin": on_train_batch_begin,
            "on_train_batch_end": on_train_batch_end,
        }
        for legacy in ("on_batch_begin", "on_batch_end"):
            if legacy in kwargs:
                hooks["on_train_" + legacy[3:]] = kwargs.pop(legacy)
        if kwargs:
            raise TypeError(f"Unrecognized arguments passed to LambdaCallback: {kwargs}")
        for name, fn in hooks.items():
            if fn is not None:
                setattr(self, name, fn)


class CallbackList:
    """Dispatches each hook to every callback in order (each method calls the hook of the same
    name on every callback)."""

    def __init__(self, callbacks: Iterable[Callback], model: Any, params: dict[str, Any]) -> None:
        self.callbacks = list(callbacks)
        for cb in self.callbacks:
            if not isinstance(cb, Callback):
                raise TypeError(
                    f"callbacks must be eigennet.callbacks.Callback objects. Received: {cb!r}"
                )
            cb.set_model(model)
            cb.set_params(params)

    def set_params(self, params: dict[str, Any]) -> None:
        for cb in self.callbacks:
            cb.set_params(params)

    @property
    def uses_batch_hooks(self) -> bool:
        return any(cb._uses_batch_hooks() for cb in self.callbacks)

    @property
    def uses_test_batch_hooks(self) -> bool:
        return any(cb._overrides(_TEST_BATCH_HOOKS) for cb in self.callbacks)

    @property
    def uses_predict_batch_hooks(self) -> bool:
        return any(cb._overrides(_PREDICT_BATCH_HOOKS) for cb in self.callbacks)

    def _dispatch(self, hook: str, *args: Any, logs: Optional[dict[str, Any]]) -> None:
        logs = {} if logs is None else logs  # as Keras: every hook gets a dict
        for cb in self.callbacks:
            getattr(cb, hook)(*args, logs)

    def on_train_begin(self, logs: Optional[dict[str, Any]] = None) -> None:
        self._dispatch("on_train_begin", logs=logs)

    def on_train_end(self, logs: Optional[dict[str, Any]] = None) -> None:
        self._dispatch("on_train_end", logs=logs)

    def on_epoch_begin(self, epoch: int, logs: Optional[dict[str, Any]] = None) -> None:
        self._dispatch("on_epoch_begin", epoch, logs=logs)

    def on_epoch_end(self, epoch: int, logs: Optional[dict[str, Any]] = None) -> None:
        self._dispatch("on_epoch_end", epoch, logs=logs)

    def on_train_batch_begin(self, batch: int, logs: Optional[dict[str, Any]] = None) -> None:
        self._dispatch("on_train_batch_begin", batch, logs=logs)

    def on_train_batch_end(self, batch: int, logs: Optional[dict[str, Any]] = None) -> None:
        self._dispatch("on_train_batch_end", batch, logs=logs)

    def on_test_begin(self, logs: Optional[dict[str, Any]] = None) -> None:
        self._dispatch("on_test_begin", logs=logs)

    def on_test_end(self, logs: Optional[dict[str, Any]] = None) -> None:
        self._dispatch("on_test_end", logs=logs)

    def on_test_batch_begin(self, batch: int, logs: Optional[dict[str, Any]] = None) -> None:
        self._dispatch("on_test_batch_begin", batch, logs=logs)

    def on_test_batch_end(self, batch: int, logs: Optional[dict[str, Any]] = None) -> None:
        self._dispatch("on_test_batch_end", batch, logs=logs)

    def on_predict_begin(self, logs: Optional[dict[str, Any]] = None) -> None:
        self._dispatch("on_predict_begin", logs=logs)

    def on_predict_end(self, logs: Optional[dict[str, Any]] = None) -> None:
        self._dispatch("on_predict_end", logs=logs)

    def on_predict_batch_begin(self, batch: int, logs: Optional[dict[str, Any]] = None) -> None:
        self._dispatch("on_predict_batch_begin", batch, logs=logs)

    def on_predict_batch_end(self, batch: int, logs: Optional[dict[str, Any]] = None) -> None:
        self._dispatch("on_predict_batch_end", batch, logs=logs)
