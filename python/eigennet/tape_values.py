"""What a GradientTape records: forward passes (Call), outputs it follows (TrackedOutput), and
the differentiable values computed from them (TapeValue, PerSampleLoss) as linear combinations
of loss terms and penalties (Linear)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional, Sequence

import numpy as np

SUPPORTED = (
    "GradientTape differentiates eigennet losses (en.losses classes and functions) applied to "
    "outputs of model or layer calls recorded on the tape, sums and scalar multiples of those, "
    "and model.losses. For a loss written in NumPy, compute dL/dy yourself and pass it: "
    "tape.gradient(outputs, sources, output_gradients=dL_dy)."
)


class Call:
    """One recorded forward pass of a net: what tape_gradient needs to differentiate it."""

    def __init__(self, net: Any, x: np.ndarray, training: bool, inputs: list[Any]) -> None:
        self.net = net
        # A copy: a replay (another pass overwrote the activations) must see the recorded
        # input even if the caller reuses its array.
        self.x = np.array(x, copy=True)
        self.training = training
        self.inputs = inputs  # the caller's input objects, for watched-input gradients
        self.stats = net.core.get_stats() if net.n_stats else None
        self.out, self.forward_id, self.params_version, *self.noise = net.core.tape_forward(
            x, training
        )
        if net.activity_nodes:
            # Keras keeps the activity losses of each layer's last call: this one's replace them.
            values = net.core.activity_values()
            for _, layer in net.activity_nodes:
                layer._activity = []
            for (node, layer), v in zip(net.activity_nodes, values):
                layer._activity.append((self, node, float(v)))

    def refresh(self) -> None:
        """Makes this call's activations the net's current ones (recomputing them when another
        pass overwrote them), or raises if the weights changed since it was recorded."""
        core = self.net.core
        if core.params_version != self.params_version:
            raise RuntimeError(
                "The weights of this model changed after the call was recorded (an optimizer "
                "step, set_weights or training), so its recorded pass no longer matches them: "
                "compute the gradients before updating the weights, or record the call again."
            )
        if core.forward_id == self.forward_id:
            return
        # Replay with the recorded noise stream and statistics, then put both back: the replay
        # must neither draw new dropout masks nor update the moving statistics a second time.
        rng, stats = core.get_rng_state(), core.get_stats() if self.stats is not None else None
        core.set_rng_state(rng[:4] + self.noise)
        if self.stats is not None:
            core.set_stats(self.stats)
        _, self.forward_id, self.params_version, *_ = core.tape_forward(self.x, self.training)
        core.set_rng_state(rng)
        if stats is not None:
            core.set_stats(stats)


class TrackedOutput(np.ndarray):
    """A model or layer output recorded on a tape: a NumPy array whose losses the tape can
    differentiate. Slices and NumPy arithmetic give ordinary arrays the tape does not follow."""

    _call: Optional[Call]
    _index: int
    _op: str

    def __array_finalize__(self, obj: Any) -> None:
        self._call = None
        self._index = 0
        self._op = getattr(obj, "_op", "") or ("a slice or view" if obj is not None else "")

    def __array_ufunc__(self, ufunc: Any, method: str, *inputs: Any, **kwargs: Any) -> Any:
        plain = [np.asarray(a) if isinstance(a, TrackedOutput) else a for a in inputs]
        if "out" in kwargs:
            kwargs["out"] = tuple(
                np.asarray(a) if isinstance(a, TrackedOutput) else a for a in kwargs["out"]
            )
        result = getattr(ufunc, method)(*plain, **kwargs)
        return _untracked(result, _first_op(inputs, f"NumPy's {ufunc.__name__}"))

    def __array_function__(self, func: Any, types: Any, args: Any, kwargs: Any) -> Any:
        unwrap = lambda a: np.asarray(a) if isinstance(a, TrackedOutput) else a  # noqa: E731
        op = _first_op(args, f"numpy.{func.__name__}")
        args = [unwrap(a) for a in args]
        if args and isinstance(args[0], (list, tuple)):
            args[0] = type(args[0])(unwrap(a) for a in args[0])
        result = func(*args, **kwargs)
        return _untracked(result, op)


def _first_op(inputs: Sequence[Any], op: str) -> str:
    """The operation that took a value off the tape: an input's own, else this one."""
    for a in inputs:
        if isinstance(a, TrackedOutput) and a._call is None and a._op:
            return a._op
    return op

    def __reduce__(self) -> Any:
        return np.asarray(self).__reduce__()


def _untracked(result: Any, op: str) -> Any:
    """An ordinary array that remembers which operation left the tape, for the error."""
    if isinstance(result, tuple):
        return tuple(_untracked(r, op) for r in result)
    if type(result) is np.ndarray:
        out = result.view(TrackedOutput)
        out._op = op
        return out
    return result


def track(values: np.ndarray, call: Call, index: int) -> TrackedOutput:
    out = values.view(TrackedOutput)
    out._call, out._index, out._op = call, index, ""
    return out


@dataclass
class Term:
    """coef/divisor · Σ_i w_i loss(y_i, output_i) of one recorded output."""

    call: Call
    output: int
    loss: str  # the core's loss name
    y: np.ndarray  # (n, target rows) in the net's dtype
    weights: Optional[np.ndarray]  # (n,) or None
    coef: float
    divisor: float


@dataclass
class Linear:
    """A sum of loss terms, weight penalties and activity penalties: what a TapeValue
    differentiates."""

    terms: list[Term] = field(default_factory=list)
    penalties: list[tuple[Any, float]] = field(default_factory=list)  # (layer, coef)
    activities: list[tuple[Call, int, float]] = field(default_factory=list)  # (call, node, coef)

    def scaled(self, c: float) -> Linear:
        return Linear(
            [
                Term(t.call, t.output, t.loss, t.y, t.weights, t.coef * c, t.divisor)
                for t in self.terms
            ],
            [(layer, k * c) for layer, k in self.penalties],
            [(call, node, k * c) for call, node, k in self.activities],
        )

    def plus(self, other: Linear) -> Linear:
        return Linear(
            self.terms + other.terms,
            self.penalties + other.penalties,
            self.activities + other.activities,
        )


def _number(x: Any) -> Optional[float]:
    if isinstance(x, (bool, np.bool_)):
        return None
    if isinstance(x, (int, float, np.integer, np.floating)):
        return float(x)
    if isinstance(x, np.ndarray) and x.shape == () and x.dtype.kind in "fiu":
        return float(x)
    return None


class TapeValue:
    """A scalar loss the tape can differentiate: a float with `numpy()`, `item()` and the
    arithmetic that keeps it differentiable (sums, scalar multiples)."""

    __array_priority__ = 1000  # numpy scalars defer to our operators

    def __init__(self, value: float, linear: Linear) -> None:
        self._value = float(value)
        self._linear = linear

    def numpy(self) -> np.float64:
        return np.float64(self._value)

    def item(self) -> float:
        return self._value

    @property
    def shape(self) -> tuple[()]:
        return ()

    def __float__(self) -> float:
        return self._value

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        return np.asarray(self._value, dtype=dtype)

    def __format__(self, spec: str) -> str:
        return format(self._value, spec)

    def __repr__(self) -> str:
        return f"TapeValue({self._value!r})"

    def __add__(self, other: Any) -> TapeValue:
        if isinstance(other, TapeValue):
            return TapeValue(self._value + other._value, self._linear.plus(other._linear))
        c = _number(other)
        if c is None:
            return NotImplemented
        return TapeValue(self._value + c, self._linear)

    __radd__ = __add__

    def __neg__(self) -> TapeValue:
        return TapeValue(-self._value, self._linear.scaled(-1.0))

    def __sub__(self, other: Any) -> TapeValue:
        if isinstance(other, TapeValue):
            return self + (-other)
        c = _number(other)
        return NotImplemented if c is None else TapeValue(self._value - c, self._linear)

    def __rsub__(self, other: Any) -> TapeValue:
        c = _number(other)
        return NotImplemented if c is None else (-self) + c

    def __mul__(self, other: Any) -> TapeValue:
        c = _number(other)
        if c is None:
            if isinstance(other, TapeValue):
                raise TypeError(
                    "The product of two losses is not differentiated by GradientTape. " + SUPPORTED
                )
            return NotImplemented
        return TapeValue(self._value * c, self._linear.scaled(c))

    __rmul__ = __mul__

    def __truediv__(self, other: Any) -> TapeValue:
        c = _number(other)
        if c is None or c == 0:
            if c == 0:
                raise ZeroDivisionError("A loss divided by zero.")
            return NotImplemented
        return TapeValue(self._value / c, self._linear.scaled(1.0 / c))

    def __lt__(self, other: Any) -> bool:
        return self._value < float(other)

    def __le__(self, other: Any) -> bool:
        return self._value <= float(other)

    def __gt__(self, other: Any) -> bool:
        return self._value > float(other)

    def __ge__(self, other: Any) -> bool:
        return self._value >= float(other)


def loss_value(
    core_name: Any,
    per_sample: np.ndarray,
    y2d: np.ndarray,
    output: TrackedOutput,
    sample_weight: Optional[np.ndarray],
    divisor: float,
) -> TapeValue:
    """A recorded output's loss Σ w_i l_i / divisor (Keras's sum_over_batch_size with divisor
    n, "sum" with 1)."""
    w = None if sample_weight is None else np.ascontiguousarray(sample_weight, dtype=y2d.dtype)
    total = float((per_sample if w is None else per_sample * w).sum()) / divisor
    call = output._call
    assert call is not None
    term = Term(call, output._index, core_name, y2d, w, 1.0, divisor)
    return TapeValue(total, Linear([term]))


class PerSampleLoss(np.ndarray):
    """Per-sample losses of a recorded output (what `en.losses.mean_squared_error(y, out)`
    returns on the tape): `np.mean`, `np.sum`, `.mean()`, `.sum()` and multiplication by sample
    weights keep them differentiable."""

    _info: Optional[tuple[str, np.ndarray, TrackedOutput]]
    _weights: Optional[np.ndarray]

    def __array_finalize__(self, obj: Any) -> None:
        self._info = None
        self._weights = None

    def _reduce(self, divide: bool) -> Any:
        values = np.asarray(self)
        if self._info is None:
            return float(np.mean(values) if divide else np.sum(values))
        name, y2d, output = self._info
        n = values.shape[0]
        total = float(np.sum(values))
        call = output._call
        assert call is not None
        term = Term(call, output._index, name, y2d, self._weights, 1.0, float(n) if divide else 1.0)
        return TapeValue(total / n if divide else total, Linear([term]))

    def mean(self, *args: Any, **kwargs: Any) -> Any:
        if args or kwargs:
            return np.asarray(self).mean(*args, **kwargs)
        return self._reduce(True)

    def sum(self, *args: Any, **kwargs: Any) -> Any:
        if args or kwargs:
            return np.asarray(self).sum(*args, **kwargs)
        return self._reduce(False)

    def __mul__(self, other: Any) -> Any:
        if self._info is None:
            return np.multiply(np.asarray(self), other)
        w = np.asarray(other, dtype=self._info[1].dtype)
        n = self.shape[0]
        if w.shape not in ((), (n,), (n, 1)):
            return _untracked(np.multiply(np.asarray(self), other), "a multiplication")
        w = np.broadcast_to(w.reshape(-1) if w.ndim else w, (n,))
        if self._weights is not None:
            w = w * self._weights
        out = (np.asarray(self) * w).view(PerSampleLoss)
        out._info, out._weights = self._info, np.ascontiguousarray(w)
        return out

    __rmul__ = __mul__

    def __array_ufunc__(self, ufunc: Any, method: str, *inputs: Any, **kwargs: Any) -> Any:
        if ufunc is np.multiply and method == "__call__" and not kwargs and len(inputs) == 2:
            other = inputs[1] if inputs[0] is self else inputs[0]
            return self.__mul__(other)
        plain = [np.asarray(a) if isinstance(a, PerSampleLoss) else a for a in inputs]
        return _untracked(getattr(ufunc, method)(*plain, **kwargs), f"NumPy's {ufunc.__name__}")

    def __array_function__(self, func: Any, types: Any, args: Any, kwargs: Any) -> Any:
        if func in (np.mean, np.sum) and len(args) == 1 and not kwargs:
            return self._reduce(func is np.mean)
        args = [np.asarray(a) if isinstance(a, PerSampleLoss) else a for a in args]
        return _untracked(func(*args, **kwargs), f"numpy.{func.__name__}")


def per_sample_losses(
    core_name: Any, values: np.ndarray, y2d: np.ndarray, output: TrackedOutput
) -> PerSampleLoss:
    out = np.asarray(values).view(PerSampleLoss)
    out._info, out._weights = (core_name, y2d, output), None
    return out


def activity_values(layer: Any) -> list[TapeValue]:
    """The activity penalties (l1·Σ|out| + l2·Σ out²) / batch of layer's last call recorded on
    a tape, one per application of the layer, as differentiable scalars."""
    recorded = getattr(layer, "_activity", ())  # absent in layers pickled by older versions
    return [TapeValue(v, Linear([], [], [(call, node, 1.0)])) for call, node, v in recorded]


def penalty_value(layer: Any) -> Optional[TapeValue]:
    """layer's weight regularisation (kernel, bias, embeddings) as a differentiable scalar
    (None when it has none)."""
    pairs = layer._regularized()
    if not pairs or not layer.built or not layer.trainable:
        return None
    value = sum(float(reg(layer._variable(name).numpy())) for name, reg in pairs)
    return TapeValue(value, Linear([], [(layer, 1.0)]))
