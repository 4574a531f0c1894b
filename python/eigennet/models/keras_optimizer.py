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


def _segments(net: Any) -> list[list[int]]:
    """[parameter offset, size] of each run of adjacent trainable layers' parameters."""
    core = net.core
    segments: list[list[int]] = []
    for i in range(len(net.layers)):
        size = sum(math.prod(s) for st, _, s in net._slices[i] if not st)
        if not size or not core.trainable(i):
            continue
        offset = int(core.param_offset(i))
        if segments and segments[-1][0] + segments[-1][1] == offset:
            segments[-1][1] += size
        else:
            segments.append([offset, size])
    return segments


def _slot_position(segments: list[list[int]], n_slots: int, offset: int) -> tuple[int, int]:
    """Where the slot-0 value of parameter `offset` lies in the state buffer of a net with these
    _segments, and the distance to its next slot (its segment's size)."""
    base = 0
    for start, size in segments:
        if start <= offset < start + size:
            return base + offset - start, size
        base += n_slots * size
    raise ValueError(f"Parameter {offset} is not trainable in the compiled model.")


def _slot_positions(model: Any) -> list[tuple[int, int]]:
    """_slot_position of each trainable variable."""
    n_slots = int(model.optimizer._spec().n_slots())
    segments = _segments(model._net)
    return [_slot_position(segments, n_slots, o) for o, _ in _trainable_ranges(model)]


def finalize_averages(optimizer: Any, cores: list[Any], variables: list[Any]) -> None:
    """use_ema's end of training for compiled models whose core is among `cores`: each of
    `variables` they train takes the moving average the core keeps (its last slot)."""
    n_slots = int(optimizer._spec().n_slots())
    nets: dict[int, tuple[np.ndarray, list[list[int]]]] = {}  # per net: state, segments
    for v in variables:
        net = v._layer._home
        if net is None or not any(net.core is c for c in cores) or not net.core.compiled:
            continue
        layer = net._index[id(v._layer)]
        if not net.core.trainable(layer):
            continue
        _, offset, _ = net._slices[layer][v._index]
        state, segments = nets.setdefault(id(net), (net.core.get_state(), _segments(net)))
        start, stride = _slot_position(segments, n_slots, offset)
        first = start + (n_slots - 1) * stride
        v.assign(state[first : first + math.prod(v.shape)].reshape(v.shape))


def _groups(optimizer: Any, n_slots: int) -> list[list[int]]:
    """eigennet's slots in the groups Keras creates them: each group is one
    `add_optimizer_variables` call, its slots interleaved per variable. use_ema's averages
    (eigennet's last slot) come first: Keras's base optimizer builds them before the rule's."""
    name = type(optimizer).__name__
    rule = n_slots - int(optimizer.use_ema)
    first = [[rule]] if optimizer.use_ema else []
    if name in _INTERLEAVED:
        return first + [[0, 1]] + ([[2]] if getattr(optimizer, "amsgrad", False) else [])
    if name == "RMSprop":
        groups = [[0]] + ([[1]] if optimizer.momentum > 0 else [])
        return first + groups + ([[2]] if optimizer.centered else [])
    return first + [[s] for s in range(rule)]


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
