"""`python -m eigennet`: its options do what --help says, and bad ones fail before training."""

from __future__ import annotations

import importlib.util

import pytest

from eigennet import __main__ as demo


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--threads", "0"], "--threads must be a positive integer, got 0"),
        (["--learning-rate", "-1"], "--learning-rate must be >= 0, got -1.0"),
        (["--epochs", "0"], "must be positive"),
    ],
)
def test_bad_options_are_refused_before_training(argv, message, capsys):
    with pytest.raises(SystemExit) as e:
        demo.main(argv)
    assert e.value.code == 2
    assert message in capsys.readouterr().err


def test_learning_rate_zero_is_kept_not_replaced_by_the_default(monkeypatch):
    import eigennet as en

    compiled = []
    real = en.Sequential.compile

    def spy(self, optimizer=None, **kwargs):
        compiled.append(optimizer.learning_rate)
        return real(self, optimizer=optimizer, **kwargs)

    monkeypatch.setattr(en.Sequential, "compile", spy)
    argv = ["--learning-rate", "0", "--dataset", "student", "--epochs", "1", "--verbose", "0"]
    assert demo.main(argv) == 0
    assert compiled == [0.0]


def test_help_states_the_defaults_it_uses(capsys):
    with pytest.raises(SystemExit):
        demo._parse(["--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert "3e-3 for adam and rmsprop, 0.05 for sgd and adagrad" in out


@pytest.mark.skipif(importlib.util.find_spec("matplotlib") is None, reason="needs matplotlib")
def test_plot_writes_one_png_per_data_set(tmp_path, capsys):
    out = tmp_path / "curves.png"
    assert demo.main(["--epochs", "1", "--verbose", "0", "--threads", "1", "--plot", str(out)]) == 0
    for name in ("digits", "student"):
        png = tmp_path / f"curves_{name}.png"
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "training curves of student written to" in capsys.readouterr().out


def test_plot_without_matplotlib_fails_before_training(monkeypatch, capsys):
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "matplotlib" else real(name)
    )
    with pytest.raises(SystemExit):
        demo.main(["--plot", "x.png"])
    err = capsys.readouterr().err
    assert "--plot needs matplotlib" in err
