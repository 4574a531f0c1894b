"""Keras 3's summary table, drawn with box characters."""

from __future__ import annotations

import math
from typing import Any, Optional


def _size(n_params: int, itemsize: int) -> str:
    b = float(n_params * itemsize)
    for unit in ("B", "KB", "MB", "GB"):
        if b < 1024 or unit == "GB":
            return f"{b:.2f} {unit}"
        b /= 1024
    return f"{b:.2f} GB"


def summary_lines(model: Any, line_length: Optional[int] = None) -> list[str]:
    widths = [33, 24, 15]
    if line_length:
        extra = max(0, line_length - sum(widths) - 4)
        widths[0] += extra
    rows = []
    for layer in model.layers:
        kind = type(layer).__name__
        if kind == "InputLayer":
            rows.append((f"{layer.name} ({kind})", str((None, *layer.shape)), "0"))
        elif getattr(layer, "_is_model", False) and layer.built:
            rows.append(
                (f"{layer.name} ({kind})", str(layer.output_shape), f"{layer.count_params():,}")
            )
        elif layer.built:
            shape = (None, *layer._output_sample_shape(layer._in_shapes))
            rows.append((f"{layer.name} ({kind})", str(shape), f"{layer.count_params():,}"))
        else:
            rows.append((f"{layer.name} ({kind})", "?", "0 (unbuilt)"))

    def line(left: str, mid: str, right: str, fill: str) -> str:
        return left + mid.join(fill * w for w in widths) + right

    def row(cells: tuple[str, str, str]) -> str:
        name, shape, params = cells
        return (
            "│ "
            + name.ljust(widths[0] - 2)[: widths[0] - 2]
            + " │ "
            + shape.ljust(widths[1] - 2)
            + " │ "
            + params.rjust(widths[2] - 2)
            + " │"
        )

    header = (
        "┃ "
        + "Layer (type)".ljust(widths[0] - 2)
        + " ┃ "
        + "Output Shape".ljust(widths[1] - 2)
        + " ┃ "
        + "Param #".rjust(widths[2] - 2)
        + " ┃"
    )
    out = [f'Model: "{model.name}"', line("┏", "┳", "┓", "━"), header, line("┡", "╇", "┩", "━")]
    for i, r in enumerate(rows):
        out.append(row(r))
        if i + 1 < len(rows):
            out.append(line("├", "┼", "┤", "─"))
    out.append(line("└", "┴", "┘", "─"))
    trainable = sum(math.prod(v.shape) for v in model.trainable_weights)
    frozen = sum(math.prod(v.shape) for v in model.non_trainable_weights)
    itemsize = model._net.dtype.itemsize if model._net is not None else 4
    total = trainable + frozen
    out.append(f" Total params: {total:,} ({_size(total, itemsize)})")
    out.append(f" Trainable params: {trainable:,} ({_size(trainable, itemsize)})")
    out.append(f" Non-trainable params: {frozen:,} ({_size(frozen, itemsize)})")
    return out
