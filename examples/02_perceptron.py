"""One perceptron by hand: y = g(w0 + XᵀW), with NumPy and with a one-unit Dense layer.

The seed text's single neuron multiplies inputs by weights, adds the bias w0 and passes the sum
through a non-linearity g (here the sigmoid). A `Dense(1, activation="sigmoid")` layer given the
same weights with `set_weights` computes exactly the same numbers.

Run: python examples/02_perceptron.py [--out DIR]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

import eigennet as en


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "output")
    args = parser.parse_args()
    en.config.set_num_threads(1)
    en.config.set_floatx("float64")  # compare with NumPy in double precision
    en.utils.set_random_seed(0)

    w0 = -1.0  # bias
    w = np.array([1.5, -2.0])  # W = (w1, w2): one weight per input
    x = np.random.default_rng(0).uniform(-3, 3, size=(200, 2))  # 200 samples of (x1, x2)

    # By hand: z = w0 + XᵀW for every sample (one row of x each), then y = g(z).
    z = w0 + x @ w
    y_numpy = 1.0 / (1.0 + np.exp(-z))

    # The same neuron as a layer: the kernel has shape (inputs, units) = (2, 1), the bias (1,).
    model = en.Sequential([en.Input((2,)), en.layers.Dense(1, activation="sigmoid")])
    model.layers[0].set_weights([w.reshape(2, 1), np.array([w0])])
    y_dense = model.predict(x, verbose=0)[:, 0]

    diff = float(np.abs(y_numpy - y_dense).max())
    print(f"w0: {w0}")
    print(f"W: {w.tolist()}")
    print(f"samples: {len(x)}")
    print(f"max_abs_difference: {diff:.3g}")

    fig = Figure(figsize=(10, 4))
    FigureCanvasAgg(fig)  # headless: render with matplotlib's Agg backend, no pyplot state
    ax_z, ax_plane = fig.subplots(1, 2)
    order = np.argsort(z)
    ax_z.plot(z[order], y_numpy[order], label="NumPy: 1 / (1 + exp(-z))")
    ax_z.plot(z, y_dense, "o", ms=3, alpha=0.6, label="Dense(1, activation='sigmoid')")
    ax_z.set_xlabel("z = w0 + XᵀW")
    ax_z.set_ylabel("y")
    ax_z.set_title(f"same output (max difference {diff:.1e})")
    ax_z.grid(alpha=0.3)
    ax_z.legend()

    grid = np.linspace(-3, 3, 121)
    g1, g2 = np.meshgrid(grid, grid)
    plane = model.predict(np.c_[g1.ravel(), g2.ravel()], verbose=0).reshape(g1.shape)
    image = ax_plane.contourf(g1, g2, plane, levels=np.linspace(0, 1, 11), cmap="RdBu_r")
    ax_plane.contour(g1, g2, plane, levels=[0.5], colors="k")
    fig.colorbar(image, ax=ax_plane, label="y")
    ax_plane.set_xlabel("x1")
    ax_plane.set_ylabel("x2")
    ax_plane.set_title("the neuron's output; y = 0.5 on the line z = 0")
    fig.tight_layout()

    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / "02_perceptron.png"
    fig.savefig(path, dpi=100)
    print(f"plot: {path}")


if __name__ == "__main__":
    main()
