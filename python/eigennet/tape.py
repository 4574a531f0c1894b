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
from typing import Any, Optional, Sequence

import numpy as np

from eigennet.tape_values import (
    SUPPORTED,
    Call,
    Linear,
    PerSampleLoss,
    TapeValue,
    Term,
    TrackedOutput,
    activity_values,
    loss_value,
    penalty_value,
    per_sample_losses,
    track,
)

__all__ = [
    "GradientTape",
    "PerSampleLoss",
    "TapeValue",
    "TrackedOutput",
    "activity_values",
    "loss_value",
    "penalty_value",
    "per_sample_losses",
    "record",
    "recording",
    "tracked_output",
]

_local = threading.local()


def _tapes() -> list[GradientTape]:
    stack = getattr(_local, "tapes", None)
    if stack is None:
        stack = _local.tapes = []
    return stack


def recording() -> bool:
    """True while some tape records on this thread."""
    stack: Optional[list[GradientTape]] = getattr(_local, "tapes", None)
    return stack is not None and any(t._recording for t in stack)


def tracked_output(y_pred: Any) -> Optional[TrackedOutput]:
    """y_pred when it is a recorded output whose losses a tape may differentiate."""
    if isinstance(y_pred, TrackedOutput) and y_pred._call is not None and recording():
        return y_pred
    return None


def record(net: Any, x: np.ndarray, training: bool, inputs: list[Any], pack: Any) -> Any:
    """Runs net on x (n, n_inputs) for the tapes and returns pack(outputs), each tracked."""
    call = Call(net, x, training, inputs)
    out = call.out
    n = out.shape[0]
    parts, start = [], 0
    for k, (w, shape) in enumerate(zip(net.output_widths, net.output_shapes)):
        parts.append(track(out[:, start : start + w].reshape(n, *shape), call, k))
        start += w
    return pack(parts)


# The tape ------------------------------------------------------------------------------------


class GradientTape:
    """Records model and layer calls for `gradient()` (TensorFlow's GradientTape, for eigennet).

    Args:
        persistent: allow several `gradient()` calls (a tape is used once otherwise).
        watch_accessed_variables: as in TensorFlow: with False, only variables given to
            `watch()` get gradients (the others are unconnected sources).
    """

    def __init__(self, persistent: bool = False, watch_accessed_variables: bool = True) -> None:
        self._persistent = bool(persistent)
        self._watch_accessed = bool(watch_accessed_variables)
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
        if not self._watch_accessed:  # unwatched variables are not followed
            watched = {id(t) for t in self._watched}
            flat = [
                s if not hasattr(s, "_layer") or id(s) in watched else _Unwatched(s) for s in flat
            ]
        calls: list[Call] = []
        for t in linear.terms:
            if all(t.call is not c for c in calls):
                calls.append(t.call)
        for c in [*dys, *(a[0] for a in linear.activities)]:
            if all(c is not k for k in calls):
                calls.append(c)
        pending = list(linear.penalties)
        for call in calls:
            mine = [t for t in linear.terms if t.call is call]
            pens = [(layer, k) for layer, k in pending if id(layer) in call.net._index]
            pending = [(layer, k) for layer, k in pending if id(layer) not in call.net._index]
            acts = [(node, k) for c, node, k in linear.activities if c is call]
            _add(total, _call_gradient(call, mine, dys.get(call), pens, acts, flat))
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


class _Unwatched:
    """A variable of a tape with watch_accessed_variables=False that watch() was not given:
    no recorded call matches it, so it is an unconnected source."""

    def __init__(self, variable: Any) -> None:
        self.variable = variable
        self.path = f"{variable.path} (not watched)"
        self.shape, self.dtype = variable.shape, variable.dtype


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


def _linearise(target: Any, output_gradients: Any) -> tuple[Linear, dict[Call, np.ndarray]]:
    """The loss terms, penalties and per-call dL/dy that target stands for."""
    if output_gradients is None and isinstance(target, (list, tuple)) and target:
        if all(isinstance(t, TapeValue) for t in target):  # gradient of the sum, as in TF
            linear = Linear()
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
        dys: dict[Call, np.ndarray] = {}
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
        return Linear(), dys
    bad = target
    if isinstance(target, (list, tuple)) and target:
        bad = next((t for t in target if not isinstance(t, (TapeValue, TrackedOutput))), target[0])
    op = getattr(bad, "_op", "")
    kind = "NumPy array" if isinstance(bad, np.ndarray) else type(bad).__name__
    how = f" It was computed with {op} from a recorded output." if op else ""
    raise ValueError(
        f"tape.gradient cannot differentiate a target of type {kind}.{how} " + SUPPORTED
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
    call: Call,
    terms: list[Term],
    dy: Optional[np.ndarray],
    penalties: list[tuple[Any, float]],
    activities: list[tuple[int, float]],
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
    dx = net.core.tape_gradient(specs, y, w, dy, pens, wanted, bool(watched), activities)
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
    regs = dict(layer._regularized())
    out: list[Optional[np.ndarray]] = []
    for s in sources:
        if getattr(s, "_layer", None) is layer and s.name in regs:
            reg = regs[s.name]
            w = s.numpy()
            out.append(coef * (reg.l1 * np.sign(w) + 2.0 * reg.l2 * w))
        else:
            out.append(None)
    return out
