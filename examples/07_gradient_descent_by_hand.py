"""Gradient descent written out by hand, with a GradientTape, beside the same run made by fit.

The introduction's algorithm: initialise the weights from N(0, sigma^2); repeat: compute the
gradient dJ/dW of the loss on a batch, update W <- W - eta * dJ/dW. Here the gradient comes
from `en.GradientTape` (eigennet's C++ backward pass) and the update is one line of NumPy per
weight, `v.assign(v - eta * g)`. The same network, started from the same weights, is then
trained with `fit` and plain SGD over the same batches: the two loss curves lie on top of each
other, because they are the same computation.

Run: python examples/07_gradient_descent_by_hand.py [--out DIR]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

import eigennet as en


def build(sigma: float) -> en.Sequential:
    init = en.initializers.RandomNormal(mean=0.0, stddev=sigma)  # W ~ N(0, sigma^2)
    return en.Sequential(
        [
            en.Input((64,)),
            en.layers.Dense(32, activation="sigmoid", kernel_initializer=init),
            en.layers.Dense(10, activation="softmax", kernel_initializer=init),
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "output")
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--learning-rate", type=float, default=0.5)
    parser.add_argument("--sigma", type=float, default=0.1)
    parser.add_argument("--batch-size", type=int, default=64)
    args = parser.parse_args()
    en.config.set_num_threads(1)
    en.utils.set_random_seed(0)

    (x, y), _ = en.datasets.load_digits()
    eta, batch = args.learning_rate, args.batch_size
    loss_fn = en.losses.SparseCategoricalCrossentropy()

    by_hand = build(args.sigma)
    initial = by_hand.get_weights()

    def full_loss(model: en.Model) -> float:
        return float(loss_fn(y, model.predict(x, batch_size=len(x), verbose=0)))

    hand_losses = [full_loss(by_hand)]
    for _ in range(args.epochs):
        for start in range(0, len(x), batch):
            xb, yb = x[start : start + batch], y[start : start + batch]
            with en.GradientTape() as tape:
                J = loss_fn(yb, by_hand(xb, training=True))
            grads = tape.gradient(J, by_hand.trainable_weights)  # dJ/dW for every W
            for w, g in zip(by_hand.trainable_weights, grads):
                w.assign(w - eta * g)  # W <- W - eta dJ/dW
        hand_losses.append(full_loss(by_hand))

    with_fit = build(args.sigma)
    with_fit.set_weights(initial)
    with_fit.compile(optimizer=en.optimizers.SGD(eta), loss=loss_fn)
    fit_losses = [full_loss(with_fit)]

    class Record(en.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None) -> None:
            fit_losses.append(full_loss(with_fit))

    with_fit.fit(
        x, y, batch_size=batch, epochs=args.epochs, shuffle=False, verbose=0, callbacks=[Record()]
    )
    diff = max(
        float(np.max(np.abs(a - b))) for a, b in zip(by_hand.get_weights(), with_fit.get_weights())
    )

    fig = Figure(figsize=(7.5, 4.8))
    FigureCanvasAgg(fig)  # headless: matplotlib's Agg backend, no pyplot state
    ax = fig.subplots()
    epochs = range(len(hand_losses))
    ax.plot(
        epochs, hand_losses, lw=6, alpha=0.35, label="by hand: tape.gradient, W <- W - eta dJ/dW"
    )
    ax.plot(epochs, fit_losses, "k.--", label="model.fit with SGD(learning_rate=eta)")
    ax.set_xlabel("epoch")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylabel("training loss (cross-entropy)")
    ax.set_title(
        f"Gradient descent by hand and by fit: W ~ N(0, {args.sigma}^2), eta = {eta}, "
        f"batch {batch}",
        fontsize=10,
    )
    ax.grid(alpha=0.3)
    ax.legend()
    fig.text(
        0.5,
        0.01,
        f"Largest difference between the two runs' weights after {args.epochs} epochs: {diff:.1e}",
        ha="center",
        va="bottom",
        fontsize=9,
    )
    fig.tight_layout(rect=(0, 0.05, 1, 1))

    print(f"samples: {len(x)}")
    print(f"epochs: {args.epochs}")
    print(f"learning_rate: {eta}")
    print(f"sigma: {args.sigma}")
    print(f"initial_loss: {hand_losses[0]:.4f}")
    print(f"by_hand_final_loss: {hand_losses[-1]:.4f}")
    print(f"fit_final_loss: {fit_losses[-1]:.4f}")
    print(f"max_weight_difference: {diff:.3e}")
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / "07_gradient_descent_by_hand.png"
    fig.savefig(path, dpi=100)
    print(f"plot: {path}")


if __name__ == "__main__":
    main()
