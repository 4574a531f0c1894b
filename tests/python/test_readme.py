"""The README's quick start runs as written."""

from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).resolve().parents[2] / "README.md"


def test_quick_start_runs(tmp_path, monkeypatch, capsys):
    block = re.search(r"## Quick start\n\n```python\n(.*?)```", README.read_text(), re.S)
    assert block is not None
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, object] = {}
    exec(compile(block.group(1), "README quick start", "exec"), namespace)
    assert namespace["accuracy"] > 0.93
    assert (tmp_path / "digits.keras").exists()
    assert namespace["probabilities"].shape == (5, 10)
    assert "Epoch 1/20" in capsys.readouterr().out


def test_graph_example_runs_and_logs_per_output():
    block = re.search(r"A tabular model with.*?```python\n(.*?)```", README.read_text(), re.S)
    assert block is not None
    import numpy as np

    import eigennet as en

    namespace: dict[str, object] = {"en": en}
    exec(compile(block.group(1), "README graph example", "exec"), namespace)
    model = namespace["model"]
    r = np.random.default_rng(0)
    x = {"num": r.normal(size=(64, 8)), "city": r.integers(0, 100, (64, 1)).astype(float)}
    y = {"churn": r.integers(0, 2, 64).astype(float), "spend": r.normal(size=(64, 1))}
    logs = model.fit(x, y, epochs=2, verbose=0).history  # type: ignore[attr-defined]
    assert set(logs) == {"loss", "churn_loss", "spend_loss", "churn_accuracy"}
