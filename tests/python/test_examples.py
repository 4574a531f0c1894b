"""The scripts in examples/: each runs headless, writes its PNG and prints numbers that show what
it claims (the perceptron matches NumPy, the large learning rate diverges, early stopping stops
early, ...)."""

from __future__ import annotations

import math
import runpy
import sys
from pathlib import Path

import pytest

pytest.importorskip("matplotlib")

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

if not EXAMPLES.is_dir():  # e.g. tests run from an installed copy without the source tree
    pytest.skip("examples/ is not next to the tests", allow_module_level=True)


def _run(name: str, out: Path, monkeypatch, capsys) -> dict[str, str]:
    """Runs examples/<name>.py as `python <script> --out <out>` in this process (so pytest's
    warnings-as-errors apply to it) and returns its `key: value` lines; checks the PNG."""
    script = EXAMPLES / f"{name}.py"
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.setattr(sys, "argv", [str(script), "--out", str(out)])
    runpy.run_path(str(script), run_name="__main__")
    values = {}
    for line in capsys.readouterr().out.splitlines():
        key, sep, value = line.partition(": ")
        if sep:
            values[key] = value
    png = out / f"{name}.png"
    assert values["plot"] == str(png)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert png.stat().st_size > 20_000  # axes, curves and labels, not an empty canvas
    assert list(out.iterdir()) == [png]
    return values


def _f(values: dict[str, str], key: str) -> float:
    return float(values[key])


def test_all_examples_are_tested():
    scripts = sorted(p.stem for p in EXAMPLES.glob("[0-9][0-9]_*.py"))
    assert scripts == [
        "01_activations",
        "02_perceptron",
        "03_student",
        "04_gradient_descent",
        "05_learning_rates",
        "06_overfitting",
        "07_gradient_descent_by_hand",
    ]
    readme = (EXAMPLES / "README.md").read_text(encoding="utf-8")
    for name in scripts:
        assert f"`{name}.py`" in readme and f"`{name}.png`" in readme
    assert (EXAMPLES / ".gitignore").read_text().split() == ["output/"]


def test_activations(tmp_path, monkeypatch, capsys):
    v = _run("01_activations", tmp_path, monkeypatch, capsys)
    assert _f(v, "sigmoid_at_0") == 0.5
    assert _f(v, "sigmoid_derivative_at_0") == 0.25
    assert _f(v, "tanh_derivative_at_0") == 1.0
    assert _f(v, "relu_derivative_at_0") == 0.0  # Keras's convention: relu'(0) = 0
    assert _f(v, "relu_max_derivative") == 1.0
    assert v["relu_range"] == "[0, 6]"
    for name in ("sigmoid", "tanh", "relu"):
        assert _f(v, f"{name}_max_error_vs_numpy") < 1e-12


def test_perceptron(tmp_path, monkeypatch, capsys):
    v = _run("02_perceptron", tmp_path, monkeypatch, capsys)
    assert _f(v, "max_abs_difference") < 1e-6
    assert int(v["samples"]) == 200


def test_student(tmp_path, monkeypatch, capsys):
    v = _run("03_student", tmp_path, monkeypatch, capsys)
    assert v["student_passes"] == "False"
    assert _f(v, "student_probability_before") > 0.9  # untrained: confidently wrong
    assert _f(v, "student_probability_after") < 0.1  # trained: right
    assert _f(v, "accuracy_after") > _f(v, "accuracy_before")
    assert _f(v, "accuracy_after") >= 0.9
    assert _f(v, "test_loss_after") < _f(v, "test_loss_before")


def test_gradient_descent(tmp_path, monkeypatch, capsys):
    v = _run("04_gradient_descent", tmp_path, monkeypatch, capsys)
    epochs, samples = int(v["epochs"]), int(v["samples"])
    assert int(v["full_batch_updates"]) == epochs
    assert int(v["per_sample_updates"]) == epochs * samples
    assert int(v["mini_batch_updates"]) == epochs * math.ceil(samples / 32)
    runs = ("full_batch", "per_sample", "mini_batch")
    assert len({v[f"{r}_initial_loss"] for r in runs}) == 1  # the same starting weights
    for r in runs:
        assert _f(v, f"{r}_final_loss") < _f(v, f"{r}_initial_loss")
        assert _f(v, f"{r}_time_s") > 0
    # Per epoch, more (smaller) steps go further.
    assert _f(v, "per_sample_final_loss") < _f(v, "mini_batch_final_loss")
    assert _f(v, "mini_batch_final_loss") < 0.5 * _f(v, "full_batch_final_loss")


def test_learning_rates(tmp_path, monkeypatch, capsys):
    v = _run("05_learning_rates", tmp_path, monkeypatch, capsys)
    large = _f(v, "sgd_too_large_final_loss")
    assert v["sgd_too_large_diverged"] == "True"
    assert not math.isfinite(large) or large > 100 * _f(v, "sgd_too_large_initial_loss")
    for run in ("sgd_too_small", "sgd_stable", "adam"):
        assert v[f"{run}_diverged"] == "False"
        assert _f(v, f"{run}_final_loss") < _f(v, f"{run}_initial_loss")
    assert _f(v, "sgd_stable_final_loss") < 0.5 * _f(v, "sgd_stable_initial_loss")
    assert _f(v, "sgd_too_small_final_loss") > 0.9 * _f(v, "sgd_too_small_initial_loss")  # slow
    assert _f(v, "adam_final_loss") < _f(v, "sgd_stable_final_loss")


def test_overfitting(tmp_path, monkeypatch, capsys):
    v = _run("06_overfitting", tmp_path, monkeypatch, capsys)
    max_epochs = int(v["max_epochs"])
    # Too small underfits: its training loss stays above the right-sized network's.
    assert _f(v, "too_small_final_train_loss") > _f(v, "right_sized_final_train_loss")
    assert _f(v, "too_small_best_val_loss") > _f(v, "right_sized_best_val_loss")
    # Too large overfits: lowest training loss, and its validation loss bottoms out early,
    # then rises while the training loss keeps falling.
    assert _f(v, "too_large_final_train_loss") < _f(v, "right_sized_final_train_loss")
    assert int(v["too_large_best_epoch"]) < max_epochs // 4
    assert _f(v, "too_large_final_val_loss") > 1.2 * _f(v, "too_large_best_val_loss")
    assert _f(v, "too_large_final_val_loss") > _f(v, "right_sized_final_val_loss")
    # Dropout overfits less by the end.
    assert _f(v, "too_large_dropout_final_val_loss") < _f(v, "too_large_final_val_loss")
    # Early stopping stops well before the last epoch and restores the best weights.
    stopped, best = int(v["early_stopping_stopped_epoch"]), int(v["early_stopping_best_epoch"])
    assert int(v["too_large_early_stopping_epochs_run"]) == stopped < max_epochs // 2
    assert stopped - best == 30  # patience
    assert int(v["too_large_early_stopping_best_epoch"]) == best
    assert _f(v, "early_stopping_restored_val_loss") == pytest.approx(
        _f(v, "too_large_early_stopping_best_val_loss"), abs=1e-3
    )


def test_gradient_descent_by_hand(tmp_path, monkeypatch, capsys):
    v = _run("07_gradient_descent_by_hand", tmp_path, monkeypatch, capsys)
    assert _f(v, "by_hand_final_loss") < 0.25 * _f(v, "initial_loss")
    # The by-hand loop and fit's SGD are the same computation.
    assert v["by_hand_final_loss"] == v["fit_final_loss"]
    assert _f(v, "max_weight_difference") <= 1e-6
