"""Activation functions and their derivatives, from eigennet's own C++ kernels.

The seed text plots sigmoid, tanh and ReLU with NumPy formulas; here the curves come from the same
kernels that `fit` runs (`en.activations.sigmoid(z)` and `en.activations.derivative(name, z)`).

Run: python examples/01_activations.py [--out DIR]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

import eigennet as en

# The seed text's NumPy formulas, to check the kernels against.
FORMULAS = {
    "sigmoid": lambda z: 1 / (1 + np.exp(-z)),
    "tanh": lambda z: 2 / (1 + np.exp(-2 * z)) - 1,
    "relu": lambda z: np.maximum(0, z),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "output")
    args = parser.parse_args()
    en.config.set_num_threads(1)

    z = np.linspace(-6.0, 6.0, 1201)
    fig = Figure(figsize=(10, 4))
    FigureCanvasAgg(fig)  # headless: render with matplotlib's Agg backend, no pyplot state
    ax_g, ax_d = fig.subplots(1, 2)
    for name, formula in FORMULAS.items():
        g = en.activations.get(name)(z)
        dg = en.activations.derivative(name, z)
        ax_g.plot(z, g, label=name)
        ax_d.plot(z, dg, label=f"{name}'")
        # Key numbers: the value and slope at z = 0 and the output range over the plotted z.
        g0 = float(en.activations.get(name)(np.zeros(1))[0])
        d0 = float(en.activations.derivative(name, np.zeros(1))[0])
        print(f"{name}_at_0: {g0:.6g}")
        print(f"{name}_derivative_at_0: {d0:.6g}")
        print(f"{name}_range: [{g.min():.6g}, {g.max():.6g}]")
        print(f"{name}_max_derivative: {dg.max():.6g}")
        print(f"{name}_max_error_vs_numpy: {np.abs(g - formula(z)).max():.3g}")
    ax_g.set_title("activation g(z)")
    ax_d.set_title("derivative g'(z)")
    for ax in (ax_g, ax_d):
        ax.set_xlabel("z")
        ax.axhline(0, color="grey", lw=0.5)
        ax.axvline(0, color="grey", lw=0.5)
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()

    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / "01_activations.png"
    fig.savefig(path, dpi=100)
    print(f"plot: {path}")


if __name__ == "__main__":
    main()
