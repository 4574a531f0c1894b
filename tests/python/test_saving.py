"""Model files: round trips, resuming training exactly, atomic writes, hostile files."""

from __future__ import annotations

import io
import json
import zipfile

import numpy as np
import pytest

import eigennet as en

# Every test runs once per backend (see conftest.py).
pytestmark = pytest.mark.usefixtures("device")


def _data(n: int = 96):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, 6)).astype(np.float32)
    y = rng.integers(0, 3, size=n)
    return x, y


def _model(functional: bool = False) -> en.Model:
    if functional:
        inp = en.Input((6,))
        h = en.layers.Dense(16, activation="relu", kernel_regularizer=en.regularizers.L2(1e-3))(inp)
        h = en.layers.Dropout(0.25)(h)
        out = en.layers.Dense(3, activation="softmax")(h)
        model = en.Model(inp, out)
    else:
        model = en.Sequential(
            [
                en.Input((6,)),
                en.layers.Dense(16, activation="tanh"),
                en.layers.Dropout(0.25),
                en.layers.Dense(3, activation="softmax"),
            ]
        )
    model.compile(
        optimizer=en.optimizers.Adam(1e-2),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    return model


@pytest.mark.parametrize("functional", [False, True])
def test_save_load_round_trip(tmp_path, functional):
    x, y = _data()
    model = _model(functional)
    model.fit(x, y, epochs=2, verbose=0)
    model.save(tmp_path / "m.keras")
    loaded = en.models.load_model(tmp_path / "m.keras")
    assert type(loaded) is type(model)
    for a, b in zip(model.get_weights(), loaded.get_weights()):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(model.predict(x, verbose=0), loaded.predict(x, verbose=0))
    assert loaded.optimizer.iterations == model.optimizer.iterations
    assert loaded.evaluate(x, y, verbose=0) == pytest.approx(model.evaluate(x, y, verbose=0))


@pytest.mark.parametrize("functional", [False, True])
def test_resume_after_load_matches_uninterrupted_training(tmp_path, functional):
    x, y = _data()
    en.utils.set_random_seed(5)
    straight = _model(functional)
    straight.fit(x, y, batch_size=16, epochs=4, verbose=0)

    en.utils.set_random_seed(5)
    first = _model(functional)
    first.fit(x, y, batch_size=16, epochs=2, verbose=0)
    first.save(tmp_path / "half.keras")
    resumed = en.models.load_model(tmp_path / "half.keras")
    resumed.fit(x, y, batch_size=16, epochs=4, initial_epoch=2, verbose=0)
    for a, b in zip(straight.get_weights(), resumed.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_save_load_weights(tmp_path):
    x, _ = _data()
    model = _model()
    model.save_weights(tmp_path / "w.weights.h5")
    other = _model()
    assert not np.array_equal(other.get_weights()[0], model.get_weights()[0])
    other.load_weights(tmp_path / "w.weights.h5")
    np.testing.assert_array_equal(other.predict(x, verbose=0), model.predict(x, verbose=0))
    with pytest.raises(ValueError, match="weights.h5"):
        model.save_weights(tmp_path / "w.h5")
    with pytest.raises(ValueError, match=".keras"):
        model.save(tmp_path / "m.h5")


def test_load_weights_rejects_other_architecture(tmp_path):
    model = _model()
    model.save_weights(tmp_path / "w.weights.h5")
    other = en.Sequential([en.Input((6,)), en.layers.Dense(5), en.layers.Dense(3)])
    with pytest.raises(ValueError, match=r"layers \['dropout'\] that this model does not have"):
        other.load_weights(tmp_path / "w.weights.h5")
    other = en.Sequential(
        [en.Input((6,)), en.layers.Dense(16), en.layers.Dropout(0.1), en.layers.Dense(2)]
    )
    before = other.get_weights()
    with pytest.raises(ValueError, match=r"has shape \(16, 3\), its variable has \(16, 2\)"):
        other.load_weights(tmp_path / "w.weights.h5")
    # Checked before anything is written: the first layer, which fits, kept its weights.
    for a, b in zip(before, other.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_float64_round_trip(tmp_path):
    en.config.set_floatx("float64")
    model = _model()
    model.save(tmp_path / "m.keras")
    en.config.set_floatx("float32")
    loaded = en.models.load_model(tmp_path / "m.keras")
    assert loaded.get_weights()[0].dtype == np.float64


def test_overwrite_false(tmp_path):
    model = _model()
    model.save(tmp_path / "m.keras")
    with pytest.raises(FileExistsError):
        model.save(tmp_path / "m.keras", overwrite=False)


def test_failed_save_keeps_old_file(tmp_path, monkeypatch):
    model = _model()
    path = tmp_path / "m.keras"
    model.save(path)
    before = path.read_bytes()
    from eigennet.models import saving

    def boom(a):
        raise RuntimeError("disk full")

    monkeypatch.setattr(saving, "_npy_bytes", boom)
    with pytest.raises(RuntimeError, match="disk full"):
        model.save(path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["m.keras"]


def _rewrite(src, dst, change, folder="eigennet/"):
    """A copy of the zip src with change() applied to the members in folder (eigennet's own,
    seen without the folder name)."""
    with zipfile.ZipFile(src) as zin:
        members = {n: zin.read(n) for n in zin.namelist()}
    own = {n[len(folder) :]: b for n, b in members.items() if n.startswith(folder)}
    change(own)
    others = {n: b for n, b in members.items() if not n.startswith(folder)}
    with zipfile.ZipFile(dst, "w") as zout:
        for n, b in {**others, **{folder + n: b for n, b in own.items()}}.items():
            zout.writestr(n, b)


def test_rejects_truncated_foreign_and_hostile_files(tmp_path):
    model = _model()
    good = tmp_path / "good.keras"
    model.save(good)
    raw = good.read_bytes()

    truncated = tmp_path / "t.keras"
    truncated.write_bytes(raw[: len(raw) // 2])
    with pytest.raises(ValueError):
        en.models.load_model(truncated)

    foreign = tmp_path / "f.keras"
    foreign.write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(ValueError):
        en.models.load_model(foreign)

    text = tmp_path / "x.keras"
    text.write_text("hello")
    with pytest.raises(ValueError, match="not a zip"):
        en.models.load_model(text)

    def pickle_params(m):
        buf = io.BytesIO()
        np.save(buf, np.array([object()], dtype=object), allow_pickle=True)
        m["params.npy"] = buf.getvalue()

    cases = {
        "pickle": pickle_params,
        "traversal": lambda m: m.update({"../evil.txt": b"x"}),
        "bomb": lambda m: m.update({"config.json": b" " * (2 << 20)}),
        "shape": lambda m: m.update({"params.npy": _npy(np.zeros(3, np.float32))}),
        "dtype": lambda m: m.update(
            {
                "metadata.json": json.dumps(
                    {"format": "eigennet", "format_version": 1, "kind": "model", "dtype": "object"}
                ).encode()
            }
        ),
        "foreign_meta": lambda m: m.update({"metadata.json": b'{"format": "keras"}'}),
        "missing": lambda m: m.pop("params.npy"),
        "bad_layer": lambda m: m.update(
            {
                "config.json": json.dumps(
                    {
                        "model": {
                            "class_name": "Sequential",
                            "n_inputs": 6,
                            "layers": [{"class_name": "Lambda", "config": {}}],
                        }
                    }
                ).encode()
            }
        ),
    }
    for name, change in cases.items():
        path = tmp_path / f"{name}.keras"
        _rewrite(good, path, change)
        with pytest.raises(ValueError):
            en.models.load_model(path)
    with pytest.raises(FileNotFoundError):
        en.models.load_model(tmp_path / "nope.keras")


def _npy(a):
    buf = io.BytesIO()
    np.save(buf, a)
    return buf.getvalue()


def test_pickle_and_deepcopy_round_trip():
    import copy
    import pickle

    x, y = _data()
    model = _model()
    model.fit(x, y, epochs=1, verbose=0)
    for clone in (pickle.loads(pickle.dumps(model)), copy.deepcopy(model)):
        np.testing.assert_array_equal(clone.predict(x, verbose=0), model.predict(x, verbose=0))
        assert clone.optimizer.iterations == model.optimizer.iterations
        clone.fit(x, y, epochs=1, verbose=0)  # independent of the original
    assert not np.array_equal(clone.get_weights()[0], model.get_weights()[0])


def test_clone_model_has_fresh_weights_and_same_architecture():
    model = _model(functional=True)
    clone = en.models.clone_model(model)
    assert [type(la).__name__ for la in clone.layers] == [type(la).__name__ for la in model.layers]
    assert [w.shape for w in clone.get_weights()] == [w.shape for w in model.get_weights()]
    assert not np.array_equal(clone.get_weights()[0], model.get_weights()[0])
    assert not clone.compiled
    lazy = en.Sequential([en.layers.Dense(3), en.layers.Dense(1)])
    assert not en.models.clone_model(lazy).built
