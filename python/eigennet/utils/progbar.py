"""Keras-style progress output.

On a terminal (or notebook) one line is redrawn with a carriage return; when output goes to a
file or pipe, nothing is redrawn: one line per epoch and no control characters.
"""

from __future__ import annotations

import sys
import time
from typing import Any, Optional, TextIO


def _format_time(seconds: float) -> str:
    if seconds >= 3600:
        return f"{int(seconds // 3600)}:{int(seconds % 3600 // 60):02d}:{int(seconds % 60):02d}"
    if seconds >= 60:
        return f"{int(seconds // 60)}:{int(seconds % 60):02d}"
    return f"{seconds:.0f}s"


def _format_per_step(seconds: float) -> str:
    if seconds >= 1:
        return f"{seconds:.0f}s/step"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.0f}ms/step"
    return f"{seconds * 1e6:.0f}us/step"


def format_logs(logs: dict[str, Any]) -> str:
    return "".join(f" - {k}: {v:.4f}" for k, v in sorted(logs.items()) if isinstance(v, float))


def is_interactive(stream: Optional[TextIO] = None) -> bool:
    stream = stream or sys.stdout
    if "ipykernel" in sys.modules:
        return True
    return bool(getattr(stream, "isatty", lambda: False)())


class Progbar:
    """Progress of one pass over `target` steps.

    Args:
        target: total number of steps (batches); None while unknown (data from a generator),
            shown as "Unknown" until the final update fixes it.
        verbose: 1 redraws a bar (terminal/notebook) and falls back to a final line when the
            output is not interactive; 2 prints only the final line.
    """

    def __init__(
        self, target: Optional[int], verbose: int = 1, stream: Optional[TextIO] = None
    ) -> None:
        self.target = target
        self.verbose = verbose
        self.stream = stream or sys.stdout
        self.interactive = verbose == 1 and is_interactive(self.stream)
        self.start = time.perf_counter()
        self._last_width = 0

    def update(
        self, current: int, logs: Optional[dict[str, Any]] = None, finalize: bool = False
    ) -> None:
        logs = logs or {}
        elapsed = time.perf_counter() - self.start
        per_step = elapsed / max(current, 1)
        if finalize and self.target is None:
            self.target = current
        if finalize:
            line = (
                f"{current}/{self.target} - {_format_time(elapsed)} - "
                f"{_format_per_step(per_step)}{format_logs(logs)}"
            )
            if self.interactive:
                line = (
                    self._bar(current) + f" {_format_time(elapsed)} "
                    f"{_format_per_step(per_step)}{format_logs(logs)}"
                )
                self.stream.write("\r" + line.ljust(self._last_width) + "\n")
            else:
                self.stream.write(line + "\n")
            self.stream.flush()
            return
        if not self.interactive:
            return
        if self.target is None:
            line = f"{current}/Unknown {_format_per_step(per_step)}{format_logs(logs)}"
        else:
            eta = per_step * (self.target - current)
            line = (
                self._bar(current) + f" {_format_time(eta)} {_format_per_step(per_step)}"
                f"{format_logs(logs)}"
            )
        self.stream.write("\r" + line.ljust(self._last_width))
        self._last_width = len(line)
        self.stream.flush()

    def _bar(self, current: int) -> str:
        assert self.target is not None
        width = 20
        digits = len(str(self.target))
        done = int(width * current / max(self.target, 1))
        return f"{current:>{digits}}/{self.target} " + "━" * done + "─" * (width - done)
