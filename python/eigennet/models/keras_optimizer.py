"""A compiled model's optimizer state as Keras 3 lists it (`optimizer.variables`), both ways.

Keras's list: `iterations`, the learning rate (absent when it is a schedule), then each
optimizer's slots for `model.trainable_variables` (layers in Keras's order, each layer's
trainable weights in creation order): interleaved per variable when the optimizer creates its
slots together (Adam's momentum and velocity), one block per slot kind otherwise (RMSprop's
velocities, then its momentums, then its centered averages; Adam's amsgrad maxima after its
moments); Nadam ends with its running product of momentum factors.

eigennet's core keeps the slots of each trainable segment (a run of adjacent trainable layers'
parameters) together: [segment 0 slot 0 | segment 0 slot 1 | segment 1 ...].
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

# Optimizers whose first two slots Keras creates in one call (interleaved per variable).
_INTERLEAVED = ("Adam", "AdamW", "Adamax", "Nadam", "Adadelta", "Ftrl")


def _trainable_ranges(model: Any) -> list[tuple[int, tuple[int, ...]]]:
    """(offset in the parameter buffer, shape) of each of Keras's trainable variables."""
    from eigennet.models.keras_format import saveable_layers

    net = model._net
    core = net.core
    out = []
    for layer in saveable_layers(model):
        i = net._index.get(id(layer))
        if i is None or not core.trainable(i):
            continue
        for state, offset, shape in net._slices[i]:
            if not state:
                out.append((offset, shape))
    return out


def _slot_positions(model: Any) -> list[tuple[int, int]]:
    """For each trainable variable: where its slot-0 values start in the state buffer, and the
    distance to its next slot (its segment's size)."""
    net = model._net
    core = net.core
    n_slots = int(model.optimizer._spec().n_slots())
    segments: list[list[int]] = []  # [param offset, size]
    for i in range(len(net.layers)):
        size = sum(math.prod(s) for st, _, s in net._slices[i] if not st)
        if not size or not core.trainable(i):
            continue
        offset = int(core.param_offset(i))
        if segments and segments[-1][0] + segments[-1][1] == offset:
            segments[-1][1] += size
        else:
            segments.append([offset, size])
    bases, base = [], 0
    for _, size in segments:
        bases.append(base)
        base += n_slots * size
    out = []
    for offset, _ in _trainable_ranges(model):
        k = next(k for k, (o, n) in enumerate(segments) if o <= offset < o + n)
        out.append((bases[k] + offset - segments[k][0], segments[k][1]))
    return out


def _groups(optimizer: Any, n_slots: int) -> list[list[int]]:
    """eigennet's slots in the groups Keras creates them: each group is one
    `add_optimizer_variables` call, its slots interleaved per variable."""
    name = type(optimizer).__name__
    if name in _INTERLEAVED:
        return [[0, 1]] + ([[2]] if getattr(optimizer, "amsgrad", False) else [])
    if name == "RMSprop":
        groups = [[0]] + ([[1]] if optimizer.momentum > 0 else [])
        return groups + ([[2]] if optimizer.centered else [])
    return [[s] for s in range(n_slots)]


def _layout(model: Any) -> list[tuple[int, int, tuple[int, ...]]]:
    """Keras's slot variables in order, as (slot, trainable variable, shape)."""
    ranges = _trainable_ranges(model)
    n_slots = int(model.optimizer._spec().n_slots())
    return [
        (s, v, ranges[v][1])
        for group in _groups(model.optimizer, n_slots)
        for v in range(len(ranges))
        for s in group
    ]


def _has_lr_variable(model: Any) -> bool:
    from eigennet.optimizers.schedules import LearningRateSchedule

    return not isinstance(model.optimizer._learning_rate, LearningRateSchedule)


def variables(model: Any) -> list[np.ndarray]:
    """The values of Keras's `optimizer.variables` for a compiled model."""
    net = model._net
    core = net.core
    dtype = net.dtype
    out: list[np.ndarray] = [np.asarray(int(core.iterations), dtype=np.int64)]
    if _has_lr_variable(model):
        out.append(np.asarray(model.optimizer.learning_rate, dtype=dtype))
    state = core.get_state()
    where = _slot_positions(model)
    for s, v, shape in _layout(model):
        start = where[v][0] + s * where[v][1]
        out.append(state[start : start + math.prod(shape)].reshape(shape).astype(dtype))
    if type(model.optimizer).__name__ == "Nadam":
        out.append(np.asarray(_nadam_u_product(model), dtype=dtype))
    return out


def _nadam_u_product(model: Any) -> float:
    """Keras's Nadam product of μ_t = β₁(1 - 0.5·0.96^t) over the steps taken."""
    beta_1 = model.optimizer.beta_1
    steps = int(model._net.core.iterations)
    product = 1.0
    for t in range(1, steps + 1):
        product *= beta_1 * (1.0 - 0.5 * 0.96**t)
    return product


def expected_shapes(model: Any) -> list[tuple[int, ...]]:
    """The shapes of Keras's `optimizer.variables` for this compiled model."""
    shapes: list[tuple[int, ...]] = [()] * (1 + int(_has_lr_variable(model)))
    shapes += [shape for _, _, shape in _layout(model)]
    return shapes + [()] * int(type(model.optimizer).__name__ == "Nadam")


def restore(model: Any, values: list[np.ndarray], path: str) -> None:
    """Sets a compiled model's iterations, learning rate and slots from Keras's list (of the
    shapes `expected_shapes` gives)."""
    net = model._net
    core = net.core
    steps = values[0]
    if steps.shape != () or not np.issubdtype(steps.dtype, np.integer) or int(steps) < 0:
        raise ValueError(f"{path}: the optimizer's iterations are not a count: {steps!r}.")
    k = 1 + int(_has_lr_variable(model))
    lr = None
    if k == 2:
        try:
            lr = model.optimizer._check_lr(float(values[1]))
        except (TypeError, ValueError) as e:
            raise ValueError(f"{path}: the optimizer's learning rate: {e}") from None
    state = core.get_state()
    where = _slot_positions(model)
    for (s, v, shape), value in zip(_layout(model), values[k:]):
        start = where[v][0] + s * where[v][1]
        state[start : start + math.prod(shape)] = value.reshape(-1)
    try:
        core.set_state(state)  # checks every value before taking any
    except ValueError as e:
        raise ValueError(f"{path}: {e}") from None
    if lr is not None:
        model.optimizer.learning_rate = lr
    core.iterations = int(steps)
