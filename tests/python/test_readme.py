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
