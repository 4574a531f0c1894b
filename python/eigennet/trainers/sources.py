"""Where batches come from when Python hands them over one at a time: a generator (any
iterator) of batches, a PyDataset-shaped object (`__getitem__` and `__len__`), or arrays
trained with `steps_per_epoch`. Each batch is then computed in C++ (`train_on_batch` and its
siblings), or by an overridden `train_step`.

Keras 3's epochs: without `steps_per_epoch` an epoch is one pass (a generator: until it stops);
with it, an epoch takes that many batches and the next epoch continues where it stopped, a new
pass starting once the data is used up. Running out before `steps_per_epoch` batches warns
"Your input ran out of data" and ends training, as Keras does.
"""

from __future__ import annotations

import math
import warnings
from typing import Any, Iterator, Optional

import numpy as np

RAN_OUT = (
    "Your input ran out of data; interrupting training. Make sure that your dataset or "
    "generator can generate at least `steps_per_epoch * epochs` batches."
)


def is_dataset(x: Any) -> bool:
    """PyDataset-shaped: batches by index (Keras's PyDataset, keras.utils.Sequence)."""
    return (
        not isinstance(x, (np.ndarray, list, tuple, dict, str, bytes))
        and not hasattr(x, "__array__")
        and hasattr(x, "__getitem__")
        and (hasattr(x, "__len__") or hasattr(x, "num_batches"))
    )


def is_source(x: Any) -> bool:
    """Data served batch by batch: an iterator (a generator) or a PyDataset."""
    if x is None or isinstance(x, (np.ndarray, list, tuple, dict, str, bytes)):
        return False
    return hasattr(x, "__next__") or is_dataset(x)


def count(value: Any) -> int:
    """The number of samples of an array, or of the first array of a list or dict."""
    if isinstance(value, dict):
        value = next(iter(value.values()))
    elif isinstance(value, (list, tuple)):
        value = value[0]
    return len(np.asarray(value))


def rows(value: Any, idx: Any) -> Any:
    """Rows idx of an array, or of each array of a list or dict."""
    if value is None:
        return None
    if isinstance(value, dict):
        return {k: np.asarray(v)[idx] for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [np.asarray(v)[idx] for v in value]
    return np.asarray(value)[idx]


class Source:
    """The batches of successive epochs."""

    def __init__(self, steps: Optional[int]) -> None:
        self.steps = steps
        self._it: Optional[Iterator[Any]] = None
        self._seen = 0
        self.taken = 0
        self.training = False  # fit's data (running out warns)

    @property
    def num_batches(self) -> Optional[int]:
        """Batches in one pass (None: unknown until it ends)."""
        return None

    @property
    def epoch_steps(self) -> Optional[int]:
        """Batches an epoch takes, if known beforehand (the progress bar's target)."""
        return self.steps or self.num_batches

    def _pass(self, rng: Any) -> Iterator[Any]:
        raise NotImplementedError

    def epoch(self, rng: Any) -> Iterator[Any]:
        """This epoch's batches; `self.taken` counts them."""
        self.begin()
        try:
            if self._it is None or self.steps is None:
                self._it, self._seen = self._pass(rng), 0
            n = self.num_batches
            limit = self.steps or n  # None: until the generator stops
            self.taken = 0
            while limit is None or self.taken < limit:
                if self.steps and n is not None and self._seen >= n:
                    self._ran_out()
                    break
                try:
                    batch = next(self._it)
                except StopIteration:
                    self._ran_out()  # as Keras, also when a generator simply ends
                    self._it = None
                    break
                self._seen += 1
                self.taken += 1
                yield batch
            if n is not None and self._seen >= n:
                self._it = None  # the next epoch starts a new pass
        finally:
            self.end()

    def _ran_out(self) -> None:
        # Keras's warning is about training; evaluate and predict simply end with the data.
        if self.training:
            warnings.warn(RAN_OUT, UserWarning, stacklevel=4)

    def begin(self) -> None:
        pass

    def end(self) -> None:
        pass


class Arrays(Source):
    """Arrays in batches of batch_size, shuffled each pass when asked."""

    def __init__(
        self, x: Any, y: Any, w: Any, batch_size: int, shuffle: bool, steps: Optional[int]
    ) -> None:
        super().__init__(steps)
        self.x, self.y, self.w = x, y, w
        self.n = count(x)
        self.batch_size, self.shuffle = batch_size, shuffle

    @property
    def num_batches(self) -> Optional[int]:
        return math.ceil(self.n / self.batch_size)

    def _pass(self, rng: Any) -> Iterator[Any]:
        order = rng.permutation(self.n) if self.shuffle and rng is not None else None
        idx = np.arange(self.n) if order is None else order
        for start in range(0, self.n, self.batch_size):
            take = idx[start : start + self.batch_size]
            batch: tuple[Any, ...] = (rows(self.x, take),)
            if self.y is not None:
                batch += (rows(self.y, take),)
                if self.w is not None:
                    batch += (np.asarray(self.w)[take],)
            yield batch


class Generator(Source):
    """A Python iterator of batches; it cannot restart, so a pass is what it has left."""

    def __init__(self, it: Any, steps: Optional[int]) -> None:
        super().__init__(steps)
        self.it = it

    def _pass(self, rng: Any) -> Iterator[Any]:
        yield from self.it


class Dataset(Source):
    """A PyDataset: batch i is `ds[i]`; the order of batches is shuffled when asked."""

    def __init__(self, ds: Any, shuffle: bool, steps: Optional[int]) -> None:
        super().__init__(steps)
        self.ds, self.shuffle = ds, shuffle

    @property
    def num_batches(self) -> Optional[int]:
        n = getattr(self.ds, "num_batches", None)
        if n is None and hasattr(self.ds, "__len__"):
            n = len(self.ds)
        if n is not None and (isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0):
            raise ValueError(f"A PyDataset's length must be an int >= 0. Received: {n!r}")
        return None if n is None else int(n)

    def _pass(self, rng: Any) -> Iterator[Any]:
        n = self.num_batches
        if n is None:
            i = 0
            while True:
                yield self.ds[i]
                i += 1
        order = rng.permutation(n) if self.shuffle and rng is not None else range(n)
        for i in order:
            yield self.ds[int(i)]

    def begin(self) -> None:
        if hasattr(self.ds, "on_epoch_begin"):
            self.ds.on_epoch_begin()

    def end(self) -> None:
        if hasattr(self.ds, "on_epoch_end"):
            self.ds.on_epoch_end()


def steps_arg(value: Any, name: str) -> Optional[int]:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a positive int or None. Received: {name}={value!r}")
    return int(value)


def source(
    x: Any, y: Any, w: Any, batch_size: int, shuffle: bool, steps: Optional[int], what: str
) -> Source:
    """The batches of x (with y and w for arrays) for fit, evaluate or predict (`what`)."""
    out = _source(x, y, w, batch_size, shuffle, steps, what)
    out.training = what == "fit"
    return out


def _source(
    x: Any, y: Any, w: Any, batch_size: int, shuffle: bool, steps: Optional[int], what: str
) -> Source:
    if is_source(x):
        if y is not None or w is not None:
            raise ValueError(
                f"`y` and `sample_weight` must not be passed to {what}() when `x` is a "
                "generator or a PyDataset: its batches carry them. Received y and/or "
                "sample_weight."
            )
        if is_dataset(x):
            return Dataset(x, shuffle, steps)
        return Generator(x, steps)
    return Arrays(x, y, w, batch_size, shuffle, steps)
