"""Learning rates: too small (slow), too large (diverges), stable, and an adaptive optimizer.

The same small network fits a noisy curve, y = sin(1.5 x) + noise, with mean squared error, by
full-batch gradient descent (the seed text's W <- W - eta dJ/dW) from the same initial weights.
With a tiny learning rate eta it barely moves; with a large one every step overshoots, the loss
grows geometrically and ends as nan; a stable one converges smoothly; Adam adapts its step per
weight from the gradients and gets there fastest.

Run: python examples/05_learning_rates.py [--out DIR]
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

import eigennet as en

CAP = 1e6  # losses above this are drawn at the top of the plot


def build() -> en.Sequential:
    return en.Sequential(
        [en.Input((1,)), en.layers.Dense(32, activation="tanh"), en.layers.Dense(1)]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "output")
    parser.add_argument("--epochs", type=int, default=200)
    args = parser.parse_args()
    en.config.set_num_threads(1)
    en.utils.set_random_seed(0)

    rng = np.random.default_rng(0)
    x = rng.uniform(-2, 2, size=(256, 1)).astype(np.float32)
    y = (np.sin(1.5 * x) + 0.1 * rng.normal(size=x.shape)).astype(np.float32)
    initial = build().get_weights()
    runs = {
        "sgd_too_small": ("SGD, learning_rate=0.01 (too small)", en.optimizers.SGD(0.01)),
        "sgd_too_large": ("SGD, learning_rate=1.0 (too large)", en.optimizers.SGD(1.0)),
        "sgd_stable": ("SGD, learning_rate=0.1 (stable)", en.optimizers.SGD(0.1)),
        "adam": ("Adam, learning_rate=0.01 (adaptive)", en.optimizers.Adam(0.01)),
    }

    fig = Figure(figsize=(7.5, 4.5))
    FigureCanvasAgg(fig)  # headless: render with matplotlib's Agg backend, no pyplot state
    ax = fig.subplots()
    print(f"epochs: {args.epochs}")
    for key, (label, optimizer) in runs.items():
        model = build()
        model.set_weights(initial)
        model.compile(optimizer=optimizer, loss="mean_squared_error")
        start = float(model.evaluate(x, y, batch_size=len(x), verbose=0))
        history = model.fit(x, y, batch_size=len(x), epochs=args.epochs, verbose=0)
        losses = np.array([start, *history.history["loss"]])
        final = float(losses[-1])
        diverged = not math.isfinite(final) or final > 100 * start
        finite = np.isfinite(losses)
        end = len(losses) if finite.all() else int(np.argmin(finite))  # first inf or nan
        (line,) = ax.plot(range(end), np.minimum(losses[:end], CAP), label=label)
        if end < len(losses):
            above = int(np.argmax(losses > CAP))
            later = " and nan after" if np.isnan(losses[end:]).any() else ""
            ax.plot(end, CAP, "x", color=line.get_color(), ms=9)
            ax.annotate(
                f"loss above {CAP:.0e} from epoch {above} (drawn at the top),\n"
                f"{losses[end]} (float32 overflow) at epoch {end}{later}",
                (end, CAP),
                xytext=(8, -22),
                textcoords="offset points",
            )
        print(f"{key}_learning_rate: {optimizer.learning_rate:g}")
        print(f"{key}_initial_loss: {start:.4g}")
        print(f"{key}_final_loss: {final:.4g}")
        print(f"{key}_diverged: {diverged}")
    ax.set_yscale("log")
    ax.set_ylim(top=CAP * 2)
    ax.set_xlabel("epoch")
    ax.set_ylabel("training loss (MSE)")
    ax.set_title("full-batch gradient descent under four learning rates")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8)
    fig.tight_layout()

    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / "05_learning_rates.png"
    fig.savefig(path, dpi=100)
    print(f"plot: {path}")


if __name__ == "__main__":
    main()
