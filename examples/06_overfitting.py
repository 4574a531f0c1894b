"""Under- and overfitting, and two cures: Dropout(0.5) and EarlyStopping.

Twenty-four noisy samples of y = sin(2.5 x) + noise (standard deviation 0.4) are the training
set; 200 more from the same source are the validation set. A network that is too small (no hidden
layer: a straight line) underfits: both losses stay high. A right-sized one (16 tanh units)
follows the curve. A too-large one (two hidden layers of 256 ReLU units) memorises the noise: its
training loss keeps falling while its validation loss, after an early minimum, rises again. The
same large network with Dropout(0.5) after each hidden layer overfits less, and
EarlyStopping(restore_best_weights=True) stops it soon after the minimum and rolls back to the
best weights.

Run: python examples/06_overfitting.py [--out DIR]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

import eigennet as en

Dense, Dropout = en.layers.Dense, en.layers.Dropout


COLORS = {
    "too_small": "C0",
    "right_sized": "C1",
    "too_large": "C2",
    "too_large_dropout": "C3",
    "too_large_early_stopping": "C4",
}


def noisy_curve(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    x = rng.uniform(-1, 1, size=(n, 1)).astype(np.float32)
    return x, (np.sin(2.5 * x) + 0.4 * rng.normal(size=x.shape)).astype(np.float32)


def networks() -> dict[str, list[en.layers.Layer]]:
    """Hidden layers of each network (each ends in Dense(1))."""
    return {
        "too_small": [],
        "right_sized": [Dense(16, activation="tanh")],
        "too_large": [Dense(256, activation="relu"), Dense(256, activation="relu")],
        "too_large_dropout": [
            Dense(256, activation="relu"),
            Dropout(0.5),
            Dense(256, activation="relu"),
            Dropout(0.5),
        ],
        "too_large_early_stopping": [
            Dense(256, activation="relu"),
            Dense(256, activation="relu"),
        ],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "output")
    parser.add_argument("--epochs", type=int, default=600)
    args = parser.parse_args()
    en.config.set_num_threads(1)
    en.utils.set_random_seed(0)

    rng = np.random.default_rng(0)
    x_train, y_train = noisy_curve(24, rng)
    x_val, y_val = noisy_curve(200, rng)
    grid = np.linspace(-1, 1, 201, dtype=np.float32)[:, None]
    print(f"train_samples: {len(x_train)}")
    print(f"validation_samples: {len(x_val)}")
    print(f"max_epochs: {args.epochs}")

    fig = Figure(figsize=(16, 5.5))
    FigureCanvasAgg(fig)  # headless: render with matplotlib's Agg backend, no pyplot state
    ax_size, ax_cure, ax_fit = fig.subplots(1, 3)
    ax_fit.plot(grid, np.sin(2.5 * grid), "k--", lw=1, label="true curve sin(2.5 x)")
    ax_fit.plot(x_train, y_train, "ko", ms=4, label="training samples")
    for name, hidden in networks().items():
        model = en.Sequential([en.Input((1,)), *hidden, Dense(1)])
        model.compile(optimizer=en.optimizers.Adam(0.01), loss="mean_squared_error")
        callbacks = []
        if name.endswith("early_stopping"):
            stopper = en.callbacks.EarlyStopping(patience=30, restore_best_weights=True)
            callbacks.append(stopper)
        history = model.fit(
            x_train,
            y_train,
            batch_size=len(x_train),  # full batch: smooth curves
            epochs=args.epochs,
            validation_data=(x_val, y_val),
            callbacks=callbacks,
            verbose=0,
        )
        loss, val_loss = np.array(history.history["loss"]), np.array(history.history["val_loss"])
        epochs = np.arange(1, len(loss) + 1)
        best = int(np.argmin(val_loss))
        print(f"{name}_epochs_run: {len(loss)}")
        print(f"{name}_final_train_loss: {loss[-1]:.4f}")
        print(f"{name}_final_val_loss: {val_loss[-1]:.4f}")
        print(f"{name}_best_val_loss: {val_loss[best]:.4f}")
        print(f"{name}_best_epoch: {best + 1}")
        label = name.replace("_", " ")
        color = COLORS[name]  # one colour per network in all three panels
        if name in ("too_small", "right_sized", "too_large"):
            ax_size.plot(epochs, val_loss, color=color, label=f"{label}: validation")
            ax_size.plot(epochs, loss, "--", color=color, label=f"{label}: training")
        if name.startswith("too_large"):
            ax_cure.plot(epochs, val_loss, color=color, label=f"{label}: validation")
            ax_cure.plot(epochs, loss, "--", color=color, lw=0.8, label=f"{label}: training")
        if callbacks:
            restored = float(model.evaluate(x_val, y_val, batch_size=len(x_train), verbose=0))
            print(f"early_stopping_stopped_epoch: {stopper.stopped_epoch + 1}")
            print(f"early_stopping_best_epoch: {stopper.best_epoch + 1}")
            print(f"early_stopping_restored_val_loss: {restored:.4f}")
            ax_cure.axvline(stopper.stopped_epoch + 1, color=color, ls=":")
            # Drawn last and unclipped, with a white rim, so the curves cannot hide it.
            ax_cure.plot(
                stopper.best_epoch + 1,
                restored,
                "*",
                ms=16,
                color=color,
                mec="white",
                zorder=10,
                clip_on=False,
                label=f"restored best, epoch {stopper.best_epoch + 1}",
            )
        ax_fit.plot(grid, model.predict(grid, verbose=0), color=color, label=label)

    ax_size.set_title("network size (dashed: training loss)")
    ax_cure.set_title("too large, with Dropout or EarlyStopping")
    ax_cure.text(0.02, 0.03, "dotted line: where training stopped", transform=ax_cure.transAxes)
    ax_fit.set_title("the fitted functions")
    for ax in (ax_size, ax_cure):
        ax.set_xlabel("epoch")
        ax.set_ylabel("loss (MSE)")
        ax.set_ylim(0, 0.45)
    ax_fit.set_xlabel("x")
    ax_fit.set_ylabel("y")
    ax_fit.set_ylim(-2, 2)
    for ax in (ax_size, ax_cure, ax_fit):
        ax.grid(alpha=0.3, which="both")
        ax.legend(fontsize=9)
    fig.tight_layout()

    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / "06_overfitting.png"
    fig.savefig(path, dpi=100)
    print(f"plot: {path}")


if __name__ == "__main__":
    main()
