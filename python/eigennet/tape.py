"""GradientTape: gradients for custom training loops, computed by the C++ backward pass.

Inside `with en.GradientTape() as tape:` the tape records calls of models and layers on data
(their outputs come back as `TrackedOutput` arrays) and eigennet losses applied to those outputs
(`en.losses` classes and functions, with `sample_weight`), their sums and scalar multiples, and
`model.losses`. `tape.gradient(loss, model.trainable_weights)` then runs one backward pass per
recorded call in C++, with the GIL released, and returns NumPy arrays. A loss written in NumPy
goes through `output_gradients`: pass dL/dy for the outputs and get the weights' gradients.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass, field
from typing import Any, Iterator, Optional, Sequence

import numpy as np

_local = threading.local()

_SUPPORTED = (
    "GradientTape differentiates eigennet losses (en.losses classes and functions) applied to "
    "outputs of model or layer calls recorded on the tape, sums and scalar multiples of those, "
    "and model.losses. For a loss written in NumPy, compute dL/dy yourself and pass it: "
    "tape.gradient(outputs, sources, output_gradients=dL_dy)."
)


def _tapes() -> list[GradientTape]:
    stack = getattr(_local, "tapes", None)
    if stack is None:
        stack = _local.tapes = []
    return stack


def recording() -> bool:
    """True while some tape records on this thread."""
    stack: Optional[list[GradientTape]] = getattr(_local, "tapes", None)
    return stack is not None and any(t._recording for t in stack)


class _Call:
    """One recorded forward pass of a net: what tape_gradient needs to differentiate it."""

    def __init__(self, net: Any, x: np.ndarray, training: bool, inputs: list[Any]) -> None:
        self.net = net
        self.x = x
        self.training = training
        self.inputs = inputs  # the caller's input objects, for watched-input gradients
        self.stats = net.core.get_stats() if net.n_stats else None
        self.out, self.forward_id, self.params_version, *self.noise = net.core.tape_forward(
            x, training
        )

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

    _call: Optional[_Call]
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


def _track(values: np.ndarray, call: _Call, index: int) -> TrackedOutput:
    out = values.view(TrackedOutput)
    out._call, out._index, out._op = call, index, ""
    return out


def tracked_output(y_pred: Any) -> Optional[TrackedOutput]:
    """y_pred when it is a recorded output whose losses a tape may differentiate."""
    if isinstance(y_pred, TrackedOutput) and y_pred._call is not None and recording():
        return y_pred
    return None


@dataclass
class _Term:
    """coef/divisor · Σ_i w_i loss(y_i, output_i) of one recorded output."""

    call: _Call
    output: int
    loss: str  # the core's loss name
    y: np.ndarray  # (n, target rows) in the net's dtype
    weights: Optional[np.ndarray]  # (n,) or None
    coef: float
    divisor: float


@dataclass
class _Linear:
    """A sum of loss terms and penalties: what a TapeValue differentiates."""

    terms: list[_Term] = field(default_factory=list)
    penalties: list[tuple[Any, float]] = field(default_factory=list)  # (layer, coef)

    def scaled(self, c: float) -> _Linear:
        return _Linear(
            [
                _Term(t.call, t.output, t.loss, t.y, t.weights, t.coef * c, t.divisor)
                for t in self.terms
            ],
            [(layer, k * c) for layer, k in self.penalties],
        )

    def plus(self, other: _Linear) -> _Linear:
        return _Linear(self.terms + other.terms, self.penalties + other.penalties)


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

    def __init__(self, value: float, linear: _Linear) -> None:
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
                    "The product of two losses is not differentiated by GradientTape. " + _SUPPORTED
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
    core_name: str,
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
    term = _Term(call, output._index, core_name, y2d, w, 1.0, divisor)
    return TapeValue(total, _Linear([term]))


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
        term = _Term(
            call, output._index, name, y2d, self._weights, 1.0, float(n) if divide else 1.0
        )
        return TapeValue(total / n if divide else total, _Linear([term]))

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
    core_name: str, values: np.ndarray, y2d: np.ndarray, output: TrackedOutput
) -> PerSampleLoss:
    out = np.asarray(values).view(PerSampleLoss)
    out._info, out._weights = (core_name, y2d, output), None
    return out


def penalty_value(layer: Any) -> Optional[TapeValue]:
    """layer's kernel regularisation as a differentiable scalar (None when it has none)."""
    reg = getattr(layer, "kernel_regularizer", None)
    if reg is None or not layer.built or not layer.trainable:
        return None
    value = float(reg(layer.kernel.numpy()))
    return TapeValue(value, _Linear([], [(layer, 1.0)]))


def record(net: Any, x: np.ndarray, training: bool, inputs: list[Any], pack: Any) -> Any:
    """Runs net on x (n, n_inputs) for the tapes and returns pack(outputs), each tracked."""
    call = _Call(net, x, training, inputs)
    out = call.out
    n = out.shape[0]
    parts, start = [], 0
    for k, (w, shape) in enumerate(zip(net.output_widths, net.output_shapes)):
        parts.append(_track(out[:, start : start + w].reshape(n, *shape), call, k))
        start += w
    return pack(parts)


# The tape ------------------------------------------------------------------------------------


class GradientTape:
    """Records model and layer calls for `gradient()` (TensorFlow's GradientTape, for eigennet).

    Args:
        persistent: allow several `gradient()` calls (a tape is used once otherwise).
        watch_accessed_variables: accepted for compatibility; every variable of a recorded
            call can be differentiated.
    """

    def __init__(self, persistent: bool = False, watch_accessed_variables: bool = True) -> None:
        self._persistent = bool(persistent)
        self._recording = False
        self._used = False
        self._watched: list[Any] = []

    def __enter__(self) -> GradientTape:
        self._recording = True
        _tapes().append(self)
        return self

    def __exit__(self, *exc: Any) -> None:
        self._recording = False
        stack = _tapes()
        if self in stack:
            stack.remove(self)

    def watch(self, tensor: Any) -> None:
        """Asks for gradients with respect to input arrays (saliency maps). Variables need no
        watching; a list watches each element."""
        items = tensor if isinstance(tensor, (list, tuple)) else [tensor]
        for t in items:
            if not isinstance(t, np.ndarray) and not hasattr(t, "_layer"):
                raise TypeError(
                    f"watch() takes NumPy arrays (model inputs) or variables. Received: {t!r}"
                )
            self._watched.append(t)

    class _Stop:
        def __init__(self, tape: GradientTape) -> None:
            self._tape = tape

        def __enter__(self) -> None:
            self._was = self._tape._recording
            self._tape._recording = False

        def __exit__(self, *exc: Any) -> None:
            self._tape._recording = self._was

    def stop_recording(self) -> Any:
        """A context in which calls and losses are not recorded."""
        if not self._recording:
            raise ValueError("Tape must be recording to call stop_recording().")
        return GradientTape._Stop(self)

    def reset(self) -> None:
        """Forgets everything recorded so far."""
        self._used = False
        self._watched = []

    # Gradients -------------------------------------------------------------------------------
    def gradient(
        self,
        target: Any,
        sources: Any,
        output_gradients: Any = None,
        unconnected_gradients: Optional[str] = None,
    ) -> Any:
        """Gradients of target with respect to sources (variables or watched input arrays), as
        NumPy arrays in the structure of sources (a list, tuple, dict or a single source).

        Args:
            target: a loss recorded on this tape (or a sum of such), or recorded outputs
                (one, or a list) when `output_gradients` gives dL/d(output).
            sources: variables (`model.trainable_weights`) and watched inputs.
            output_gradients: dL/dy for each output in target, shaped like it.
            unconnected_gradients: what a source the target does not depend on gets: by
                default a ValueError naming it; "none" gives None and "zero" zeros
                (TensorFlow's options).
        """
        if self._used and not self._persistent:
            raise RuntimeError(
                "A non-persistent GradientTape can only be used to compute one set of gradients "
                "(or jacobians)"
            )
        if unconnected_gradients not in (None, "none", "zero"):
            raise ValueError(
                "unconnected_gradients must be 'none' or 'zero'. Received: "
                f"{unconnected_gradients!r}"
            )
        self._used = True
        flat, rebuild = _flatten(sources)
        linear, dys = _linearise(target, output_gradients)
        total: list[Optional[np.ndarray]] = [None] * len(flat)
        calls: list[_Call] = []
        for t in linear.terms:
            if all(t.call is not c for c in calls):
                calls.append(t.call)
        for c in dys:
            if all(c is not k for k in calls):
                calls.append(c)
        pending = list(linear.penalties)
        for call in calls:
            mine = [t for t in linear.terms if t.call is call]
            pens = [(layer, k) for layer, k in pending if id(layer) in call.net._index]
            pending = [(layer, k) for layer, k in pending if id(layer) not in call.net._index]
            _add(total, _call_gradient(call, mine, dys.get(call), pens, flat))
        for layer, k in pending:  # penalties of layers no recorded call ran
            _add(total, _penalty_gradient(layer, k, flat))
        result: list[Any] = []
        for src, g in zip(flat, total):
            if g is None:
                if unconnected_gradients is None:
                    raise ValueError(
                        f"The target does not depend on {_describe(src)}: it is not a weight of "
                        "a model or layer whose call the tape recorded for this target (or it is "
                        "non-trainable state). Pass unconnected_gradients='none' or 'zero' to get "
                        "None or zeros instead."
                    )
                if unconnected_gradients == "zero":
                    g = np.zeros(_shape(src), dtype=_dtype(src))
            result.append(g)
        return rebuild(result)


def _describe(src: Any) -> str:
    return f"variable {src.path}" if hasattr(src, "path") else f"the array of shape {src.shape}"


def _shape(src: Any) -> tuple[int, ...]:
    return tuple(src.shape)


def _dtype(src: Any) -> Any:
    return np.dtype(src.dtype)


def _flatten(sources: Any) -> tuple[list[Any], Any]:
    if type(sources) is list:
        return sources, list
    if isinstance(sources, dict):
        keys = list(sources)
        return [sources[k] for k in keys], lambda r: dict(zip(keys, r))
    if isinstance(sources, (list, tuple)):
        kind = type(sources)
        return list(sources), lambda r: kind(r) if kind in (list, tuple) else list(r)
    return [sources], lambda r: r[0]


def _linearise(target: Any, output_gradients: Any) -> tuple[_Linear, dict[_Call, np.ndarray]]:
    """The loss terms, penalties and per-call dL/dy that target stands for."""
    if output_gradients is None and isinstance(target, (list, tuple)) and target:
        if all(isinstance(t, TapeValue) for t in target):  # gradient of the sum, as in TF
            linear = _Linear()
            for t in target:
                linear = linear.plus(t._linear)
            return linear, {}
    if isinstance(target, TapeValue):
        if output_gradients is not None:
            raise ValueError("output_gradients goes with outputs as the target, not a loss.")
        return target._linear, {}
    outs = list(target) if isinstance(target, (list, tuple)) else [target]
    if isinstance(target, dict):
        outs = list(target.values())
    if outs and all(isinstance(o, TrackedOutput) and o._call is not None for o in outs):
        if output_gradients is None:
            grads = [np.ones(o.shape) for o in outs]  # TF: the gradient of their sum
        elif isinstance(output_gradients, dict):
            grads = list(output_gradients.values())
        elif isinstance(output_gradients, (list, tuple)) and not isinstance(target, np.ndarray):
            grads = list(output_gradients)
        else:
            grads = [output_gradients]
        if len(grads) != len(outs):
            raise ValueError(
                f"output_gradients must give one array per output: {len(outs)} outputs, "
                f"{len(grads)} arrays."
            )
        dys: dict[_Call, np.ndarray] = {}
        for o, g in zip(outs, grads):
            call = o._call
            assert call is not None
            g = np.asarray(g)
            if g.shape != o.shape:
                raise ValueError(
                    f"output_gradients must have the shape of its output {o.shape}. Received: "
                    f"shape={g.shape}"
                )
            net = call.net
            if call not in dys:
                dys[call] = np.zeros((o.shape[0], net.n_outputs), dtype=net.dtype)
            start = sum(net.output_widths[: o._index])
            w = net.output_widths[o._index]
            dys[call][:, start : start + w] += g.reshape(o.shape[0], w)
        return _Linear(), dys
    bad = target
    if isinstance(target, (list, tuple)) and target:
        bad = next((t for t in target if not isinstance(t, (TapeValue, TrackedOutput))), target[0])
    op = getattr(bad, "_op", "")
    kind = "NumPy array" if isinstance(bad, np.ndarray) else type(bad).__name__
    how = f" It was computed with {op} from a recorded output." if op else ""
    raise ValueError(
        f"tape.gradient cannot differentiate a target of type {kind}.{how} " + _SUPPORTED
    )


def _add(total: list[Optional[np.ndarray]], parts: Sequence[Optional[np.ndarray]]) -> None:
    for k, g in enumerate(parts):
        if g is None:
            continue
        total[k] = g if total[k] is None else total[k] + g


def _source_plan(net: Any, sources: list[Any]) -> tuple[list[bool], list[Any]]:
    """Which layers of net the sources need gradients of, and each source's slice of the
    gradient buffer (None for sources that are not net's parameters). Kept per net while the
    sources are the same objects."""
    key = tuple(map(id, sources))
    cached = getattr(net, "_tape_plan", None)
    if cached is not None and cached[0] == key:
        return cached[1], cached[2]
    wanted = [False] * len(net.layers)
    where: list[Any] = []
    for s in sources:
        layer = getattr(s, "_layer", None)
        i = net._index.get(id(layer)) if layer is not None else None
        if i is None or s._state:
            where.append(None)
            continue
        wanted[i] = True
        _, o, shape = net._slices[i][s._index]
        where.append((o, o + math.prod(shape), shape))
    net._tape_plan = (key, wanted, where, sources)  # sources kept: their ids stay theirs
    return wanted, where


def _call_gradient(
    call: _Call,
    terms: list[_Term],
    dy: Optional[np.ndarray],
    penalties: list[tuple[Any, float]],
    sources: list[Any],
) -> list[Optional[np.ndarray]]:
    """The sources' gradients from one recorded call: one backward pass in C++."""
    net = call.net
    wanted, where = _source_plan(net, sources)
    watched = []
    if None in where:  # some sources are not parameters: maybe watched inputs
        watched = [
            k
            for k, obj in enumerate(call.inputs)
            if isinstance(obj, np.ndarray) and any(obj is s for s in sources)
        ]
    specs = [(t.output, t.loss, t.coef, t.divisor, t.weights is not None) for t in terms]
    y = np.hstack([t.y for t in terms]) if len(terms) > 1 else (terms[0].y if terms else None)
    w = None
    if any(t.weights is not None for t in terms):
        n = call.x.shape[0]
        w = np.stack([t.weights if t.weights is not None else np.ones(n) for t in terms])
    pens = [(net._index[id(layer)], k) for layer, k in penalties]
    call.refresh()
    dx = net.core.tape_gradient(specs, y, w, dy, pens, wanted, bool(watched))
    grads = net.core.get_grads()
    out: list[Optional[np.ndarray]] = []
    for s, at in zip(sources, where):
        if at is not None:
            out.append(grads[at[0] : at[1]].reshape(at[2]))
            continue
        k = next((k for k in watched if call.inputs[k] is s), None)
        if k is not None and dx is not None:
            start = sum(net.input_widths[:k])
            part = dx[:, start : start + net.input_widths[k]]
            out.append(part.reshape(np.shape(s)).astype(np.asarray(s).dtype, copy=False))
            continue
        out.append(None)
    return out


def _penalty_gradient(layer: Any, coef: float, sources: list[Any]) -> list[Optional[np.ndarray]]:
    """The gradient of a penalty whose layer no recorded call ran: l1·sign(w) + 2·l2·w."""
    reg = layer.kernel_regularizer
    out: list[Optional[np.ndarray]] = []
    for s in sources:
        if getattr(s, "_layer", None) is layer and s.name == "kernel":
            w = s.numpy()
            out.append(coef * (reg.l1 * np.sign(w) + 2.0 * reg.l2 * w))
        else:
            out.append(None)
    return out


def iter_tapes() -> Iterator[GradientTape]:
    """The recording tapes of this thread, innermost last."""
    return (t for t in _tapes() if t._recording)
