"""Training curves with matplotlib (an optional extra, imported only when a plot is asked for)."""

from __future__ import annotations

from typing import Any, Optional, Sequence


def _integer_ticks() -> Any:
    from matplotlib.ticker import MaxNLocator

    return MaxNLocator(integer=True)


def _pyplot() -> Any:
    try:
        import matplotlib

        if matplotlib.get_backend().lower() not in (
            "agg",
            "module://matplotlib_inline.backend_inline",
        ):
            import os

            if not os.environ.get("DISPLAY") and not os.environ.get("MPLBACKEND"):
                matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as e:
        raise ImportError(
            'Plotting needs matplotlib, an optional extra: pip install "eigennet[plot]"'
        ) from e
    return plt


def plot_history(history: Any, metrics: Optional[Sequence[str]] = None) -> Any:
    """Plots training and validation curves of a `fit` run.

    Args:
        history: the `History` returned by `fit` (or its `.history` dict).
        metrics: names to plot (default: `loss` and every metric, each in its own axes).

    Returns:
        A matplotlib `Figure` with one axes per metric, training and `val_` curves together.
    """
    logs = getattr(history, "history", history)
    if not isinstance(logs, dict) or not logs:
        raise ValueError("plot_history needs a History (or a dict of per-epoch lists).")
    epochs = getattr(history, "epoch", None) or list(range(len(next(iter(logs.values())))))
    names = (
        list(metrics)
        if metrics is not None
        else [k for k in logs if not k.startswith("val_") and k != "learning_rate"]
    )
    for name in names:
        if name not in logs:
            raise ValueError(f"{name!r} is not in the history. Available: {sorted(logs)}")
    plt = _pyplot()
    fig, axes = plt.subplots(1, len(names), figsize=(4.5 * len(names), 3.5), squeeze=False)
    for ax, name in zip(axes[0], names):
        ax.plot([e + 1 for e in epochs], logs[name], label=f"training {name}")
        if f"val_{name}" in logs:
            ax.plot([e + 1 for e in epochs], logs[f"val_{name}"], label=f"validation {name}")
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(_integer_ticks())  # epochs are whole numbers
        ax.set_ylabel(name)
        ax.legend()
        ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig
