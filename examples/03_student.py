"""Will I pass this class? The seed text's two-feature example with one hidden layer.

x1 = lectures attended (0..20), x2 = hours of self study (0..12). An untrained network knows
nothing: here it starts from a deliberately poor initialization (the mirror image of the real
rule, "fewer lectures and less study -> pass") and is confidently wrong about a student who
attended 4 lectures and studied 5 hours. Training on the loss fixes the decision boundary.

Run: python examples/03_student.py [--out DIR]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

import eigennet as en

SCALE = np.float32([20, 12])  # inputs are scaled to [0, 1] before they reach the network
STUDENT = np.float32([4, 5])  # 4 lectures, 5 hours of self study: fails under the real rule


def poor_initialization(model: en.Sequential) -> None:
    """Hidden units that fire for few lectures and little study, all feeding "pass"."""
    kernel = -np.array([[3.0, 3.0, 2.5, 3.5], [3.2, 2.8, 3.5, 3.0]])  # (inputs, units)
    bias = np.array([2.8, 2.9, 2.7, 3.0])
    model.set_weights([kernel, bias, np.full((4, 1), 1.2), np.zeros(1)])


def draw(ax, fig, model, x, y, title: str) -> float:
    lectures, hours = np.meshgrid(np.linspace(0, 20, 101), np.linspace(0, 12, 61))
    grid = np.c_[lectures.ravel(), hours.ravel()].astype(np.float32) / SCALE
    p = model.predict(grid, verbose=0).reshape(lectures.shape)
    image = ax.contourf(lectures, hours, p, levels=np.linspace(0, 1, 11), cmap="RdBu", alpha=0.55)
    ax.contour(lectures, hours, p, levels=[0.5], colors="k")
    ax.scatter(*x[y == 1].T, s=16, c="tab:blue", edgecolors="k", lw=0.5, label="passed")
    ax.scatter(*x[y == 0].T, s=16, c="tab:red", marker="s", edgecolors="k", lw=0.5, label="failed")
    p_student = float(model.predict(STUDENT[None] / SCALE, verbose=0)[0, 0])
    ax.scatter(*STUDENT, marker="*", s=300, c="gold", edgecolors="k", zorder=3)
    ax.annotate(
        f"x = (4, 5)\nP(pass) = {p_student:.2f}",
        STUDENT,
        xytext=(7.0, 1.0),
        arrowprops={"arrowstyle": "->"},
        bbox={"boxstyle": "round", "fc": "w"},
    )
    ax.set_xlabel("x1: lectures attended")
    ax.set_ylabel("x2: hours of self study")
    ax.set_title(title)
    ax.legend(loc="upper right", fontsize=8)
    fig.colorbar(image, ax=ax, label="P(pass)")
    return p_student


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "output")
    parser.add_argument("--epochs", type=int, default=150)
    args = parser.parse_args()
    en.config.set_num_threads(1)
    en.utils.set_random_seed(0)

    (x_train, y_train), (x_test, y_test) = en.datasets.load_student()
    model = en.Sequential(
        [
            en.Input((2,)),
            en.layers.Dense(4, activation="tanh"),
            en.layers.Dense(1, activation="sigmoid"),
        ]
    )
    poor_initialization(model)
    model.compile(
        optimizer=en.optimizers.Adam(0.05), loss="binary_crossentropy", metrics=["accuracy"]
    )

    fig = Figure(figsize=(12, 4.5))
    FigureCanvasAgg(fig)  # headless: render with matplotlib's Agg backend, no pyplot state
    ax_before, ax_after = fig.subplots(1, 2)

    loss_0, acc_0 = model.evaluate(x_test / SCALE, y_test, verbose=0)
    p_0 = draw(
        ax_before,
        fig,
        model,
        x_test,
        y_test,
        f"untrained: test accuracy {acc_0:.2f}\n(weights set on purpose to the mirror image of "
        "the real rule)",
    )
    history = model.fit(x_train / SCALE, y_train, epochs=args.epochs, batch_size=32, verbose=0)
    loss_1, acc_1 = model.evaluate(x_test / SCALE, y_test, verbose=0)
    p_1 = draw(ax_after, fig, model, x_test, y_test, f"trained: test accuracy {acc_1:.2f}")
    fig.tight_layout()

    print(f"student_lectures: {STUDENT[0]:g}")
    print(f"student_hours: {STUDENT[1]:g}")
    print("student_passes: False")  # 0.45 * 4 + 0.8 * 5 < 8.5 (the rule of load_student)
    print(f"epochs: {len(history.epoch)}")
    print(f"test_loss_before: {loss_0:.4f}")
    print(f"test_loss_after: {loss_1:.4f}")
    print(f"accuracy_before: {acc_0:.4f}")
    print(f"accuracy_after: {acc_1:.4f}")
    print(f"student_probability_before: {p_0:.4f}")
    print(f"student_probability_after: {p_1:.4f}")

    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / "03_student.png"
    fig.savefig(path, dpi=100)
    print(f"plot: {path}")


if __name__ == "__main__":
    main()
