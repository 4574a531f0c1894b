"""Keras 3's file format both ways, checked against real Keras (3.15, torch backend): eigennet's
`.keras` and `.weights.h5` files load in Keras and predict the same, Keras's load in eigennet,
and training resumed from either side's file continues as it does in Keras."""

from __future__ import annotations

import json
import os
import warnings
import zipfile

import numpy as np
import pytest

import eigennet as en

os.environ.setdefault("KERAS_BACKEND", "torch")
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    keras = pytest.importorskip("keras")

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::UserWarning")


def sequential(lib):
    L = lib.layers
    return lib.Sequential(
        [
            lib.Input((5,)),
            L.Dense(8, activation="tanh", kernel_regularizer=lib.regularizers.L2(1e-3)),
            L.BatchNormalization(),
            L.Dropout(0.2),
            L.Dense(3, activation="softmax"),
        ],
        name="seq",
    )


def tabular(lib):
    """Every layer kind: two inputs, normalisation, an embedding, merges, a shared layer, two
    outputs."""
    L = lib.layers
    num, cat = lib.Input((6,), name="num"), lib.Input((2,), name="cat")
    norm = L.Normalization(mean=np.arange(6.0), variance=np.arange(1.0, 7.0))
    x = L.Dense(8, activation="relu")(norm(num))
    x = L.BatchNormalization()(x)
    x = L.GaussianNoise(0.1)(x)
    e = L.Flatten()(L.Embedding(5, 3)(cat))
    h = L.Concatenate()([x, e])
    h = L.LayerNormalization()(L.GaussianDropout(0.1)(h))
    shared = L.Dense(14, activation="elu")
    a = shared(h)
    b = shared(L.Activation("sigmoid")(a))
    m = L.Concatenate()(
        [
            L.Add()([a, b, h]),
            L.Subtract()([a, b]),
            L.Multiply()([a, b]),
            L.Average()([a, h]),
            L.Maximum()([a, b]),
            L.Minimum()([b, h]),
        ]
    )
    m = L.Dropout(0.1)(L.Identity()(m))
    klass = L.Dense(3, activation="softmax", name="klass")(m)
    grid = L.Reshape((2, 2))(L.Dense(4, name="grid")(m))
    return lib.Model({"num": num, "cat": cat}, [klass, grid], name="tabular")


def tabular_data(n=48, seed=0):
    rng = np.random.default_rng(seed)
    x = {
        "num": rng.normal(2, 2, (n, 6)).astype(np.float32),
        "cat": rng.integers(0, 5, (n, 2)).astype(np.float32),
    }
    y = [np.eye(3)[rng.integers(0, 3, n)].astype(np.float32), rng.normal(size=(n, 2, 2))]
    return x, y


def seq_data(n=48, seed=1):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, 5)).astype(np.float32), np.eye(3)[rng.integers(0, 3, n)]


def compile_both(model, lib, kind):
    if kind == "seq":
        model.compile(lib.optimizers.Adam(3e-3), "categorical_crossentropy", metrics=["accuracy"])
    else:
        model.compile(
            lib.optimizers.SGD(0.01, momentum=0.9),
            ["categorical_crossentropy", "mse"],
            loss_weights=[1.0, 0.5],
        )


def build(kind, lib):
    model = (sequential if kind == "seq" else tabular)(lib)
    compile_both(model, lib, kind)
    return model


def data(kind):
    return seq_data() if kind == "seq" else tabular_data()


def flat_targets(kind, y):
    # eigennet's fit takes a (2, 2) output's targets flat (n, 4).
    return y if kind == "seq" else [y[0], y[1].reshape(len(y[1]), -1)]


def outputs(pred):
    return [np.asarray(p) for p in (pred if isinstance(pred, (list, tuple)) else [pred])]


def trainable(model):
    return sum(int(np.prod(w.shape)) for w in model.trainable_weights)


def assert_same_predictions(a, b, x, atol=2e-5):
    pa = outputs(a.predict(x, verbose=0))
    pb = outputs(b.predict(x, verbose=0))
    assert len(pa) == len(pb)
    for u, v in zip(pa, pb):
        np.testing.assert_allclose(u.reshape(v.shape), v, atol=atol, rtol=1e-5)


@pytest.mark.parametrize("kind", ["seq", "tabular"])
def test_eigennet_file_loads_in_keras(kind, tmp_path):
    x, y = data(kind)
    model = build(kind, en)
    model.fit(x, flat_targets(kind, y), epochs=2, batch_size=16, verbose=0)
    model.save(tmp_path / "m.keras")
    loaded = keras.models.load_model(tmp_path / "m.keras")
    assert_same_predictions(model, loaded, x)
    assert {layer.name for layer in loaded.layers} == {layer.name for layer in model.layers}
    assert trainable(loaded) == trainable(model)
    assert int(loaded.optimizer.iterations.numpy()) == model.optimizer.iterations
    assert type(loaded.optimizer).__name__ == type(model.optimizer).__name__
    # Back again: Keras's re-save loads in eigennet with the same predictions.
    loaded.save(tmp_path / "k.keras")
    assert_same_predictions(model, en.models.load_model(tmp_path / "k.keras"), x)


@pytest.mark.parametrize("kind", ["seq", "tabular"])
def test_keras_file_loads_in_eigennet(kind, tmp_path):
    x, y = data(kind)
    model = build(kind, keras)
    model.fit(x, y, epochs=2, batch_size=16, verbose=0)
    model.save(tmp_path / "k.keras")
    loaded = en.models.load_model(tmp_path / "k.keras")
    assert_same_predictions(model, loaded, x)
    assert loaded.name == model.name
    assert {layer.name for layer in loaded.layers} == {layer.name for layer in model.layers}
    assert trainable(loaded) == trainable(model)
    assert loaded.optimizer.iterations == int(model.optimizer.iterations.numpy())
    assert loaded.loss is not None


@pytest.mark.parametrize("kind", ["seq", "tabular"])
def test_weights_files_both_ways(kind, tmp_path):
    x, y = data(kind)
    mine, theirs = build(kind, en), build(kind, keras)
    mine.fit(x, flat_targets(kind, y), epochs=1, batch_size=16, verbose=0)
    mine.save_weights(tmp_path / "mine.weights.h5")
    theirs.load_weights(tmp_path / "mine.weights.h5")
    assert_same_predictions(mine, theirs, x)
    theirs.fit(x, y, epochs=1, batch_size=16, verbose=0)
    theirs.save_weights(tmp_path / "theirs.weights.h5")
    mine.load_weights(tmp_path / "theirs.weights.h5")
    assert_same_predictions(mine, theirs, x)
    with open(tmp_path / "mine.weights.h5", "rb") as f:
        assert f.read(8) == b"\x89HDF\r\n\x1a\n"


def _resume_model(lib, optimizer):
    L = lib.layers
    model = lib.Sequential(
        [lib.Input((4,)), L.Dense(6, activation="tanh"), L.BatchNormalization(), L.Dense(3)]
    )
    model.compile(optimizer, lib.losses.CategoricalCrossentropy(from_logits=True))
    return model


OPTIMIZERS = {
    "sgd_nesterov": lambda o: o.SGD(0.05, momentum=0.9, nesterov=True),
    "adam": lambda o: o.Adam(0.01),
    "adam_schedule": lambda o: o.Adam(o.schedules.ExponentialDecay(0.01, 3, 0.5)),
    "adam_amsgrad": lambda o: o.Adam(0.01, amsgrad=True),
    "adamw_amsgrad": lambda o: o.AdamW(0.01, weight_decay=0.05, amsgrad=True),
    "rmsprop_centered": lambda o: o.RMSprop(0.01, centered=True),
    "rmsprop_centered_momentum": lambda o: o.RMSprop(0.01, momentum=0.5, centered=True),
    "adamw": lambda o: o.AdamW(0.01, weight_decay=0.05),
    "rmsprop_momentum": lambda o: o.RMSprop(0.01, momentum=0.5),
    "adagrad": lambda o: o.Adagrad(0.1),
    "adamax": lambda o: o.Adamax(0.02),
    "nadam": lambda o: o.Nadam(0.01),
    "lion": lambda o: o.Lion(0.003),
    "adadelta": lambda o: o.Adadelta(1.0),
    "ftrl": lambda o: o.Ftrl(0.05, l1_regularization_strength=0.01, l2_regularization_strength=0.01,
                             l2_shrinkage_regularization_strength=0.02, beta=0.1),
    "adam_clipnorm": lambda o: o.Adam(0.01, clipnorm=0.1),
    "sgd_global_clipnorm": lambda o: o.SGD(0.05, momentum=0.9, global_clipnorm=0.05),
    "adam_ema_overwrite": lambda o: o.Adam(0.01, use_ema=True, ema_momentum=0.8,
                                           ema_overwrite_frequency=3),
    "sgd_ema": lambda o: o.SGD(0.05, momentum=0.9, use_ema=True, ema_momentum=0.7),
}  # fmt: skip


def _steps(model, x, y, n):
    for k in range(n):
        model.train_on_batch(x[k::2], y[k::2])


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_training_resumed_from_either_file_matches_keras(name, tmp_path):
    rng = np.random.default_rng(7)
    x = rng.normal(size=(16, 4)).astype(np.float32)
    y = np.eye(3)[rng.integers(0, 3, 16)].astype(np.float32)
    # Keras trains and saves; Keras and eigennet each resume from the file.
    theirs = _resume_model(keras, OPTIMIZERS[name](keras.optimizers))
    _steps(theirs, x, y, 3)
    theirs.save(tmp_path / "k.keras")
    k_resumed = keras.models.load_model(tmp_path / "k.keras")
    e_resumed = en.models.load_model(tmp_path / "k.keras")
    assert e_resumed.optimizer.iterations == 3
    _steps(k_resumed, x, y, 4)
    _steps(e_resumed, x, y, 4)
    # With use_ema the averages came through the file too.
    k_resumed.optimizer.finalize_variable_values(k_resumed.trainable_variables)
    e_resumed.optimizer.finalize_variable_values(e_resumed.trainable_variables)
    for a, b in zip(e_resumed.get_weights(), k_resumed.get_weights()):
        np.testing.assert_allclose(a, np.asarray(b), atol=2e-5, rtol=1e-4)
    # eigennet trains and saves; Keras resumes from eigennet's file as eigennet does.
    mine = _resume_model(en, OPTIMIZERS[name](en.optimizers))
    _steps(mine, x, y, 3)
    mine.save(tmp_path / "e.keras")
    k_resumed = keras.models.load_model(tmp_path / "e.keras")
    _steps(k_resumed, x, y, 4)
    _steps(mine, x, y, 4)
    k_resumed.optimizer.finalize_variable_values(k_resumed.trainable_variables)
    mine.optimizer.finalize_variable_values(mine.trainable_variables)
    for a, b in zip(mine.get_weights(), k_resumed.get_weights()):
        np.testing.assert_allclose(a, np.asarray(b), atol=2e-5, rtol=1e-4)


def test_constrained_weights_train_as_in_keras(tmp_path):
    # Keras applies each constraint after every update; a file carries them both ways.
    rng = np.random.default_rng(9)
    x = rng.normal(size=(24, 4)).astype(np.float32)
    y = rng.normal(size=(24, 2)).astype(np.float32)

    def build(lib):
        C = lib.constraints
        return lib.Sequential(
            [
                lib.Input((4,)),
                lib.layers.Dense(6, activation="tanh", kernel_constraint=C.MaxNorm(0.8),
                                 bias_constraint=C.NonNeg()),
                lib.layers.LayerNormalization(gamma_constraint=C.MinMaxNorm(0.5, 1.5, rate=0.7)),
                lib.layers.Dense(2, kernel_constraint=C.UnitNorm(axis=1)),
            ]
        )  # fmt: skip

    ours = build(en)
    ours.compile(en.optimizers.SGD(0.3), "mse")
    ours.save(tmp_path / "c.keras")
    theirs = keras.models.load_model(tmp_path / "c.keras")
    back = en.models.load_model(tmp_path / "c.keras")
    assert back.layers[0].kernel_constraint.max_value == 0.8
    for model in (ours, theirs, back):
        for k in range(4):
            model.train_on_batch(x[k * 6 : (k + 1) * 6], y[k * 6 : (k + 1) * 6])
    for a, b, c in zip(ours.get_weights(), theirs.get_weights(), back.get_weights()):
        np.testing.assert_allclose(a, np.asarray(b), atol=2e-6, rtol=1e-5)
        np.testing.assert_array_equal(a, c)
    kernel = ours.layers[0].kernel.numpy()
    assert np.all(np.linalg.norm(kernel, axis=0) <= 0.8 + 1e-6)
    assert np.all(ours.layers[0].bias.numpy() >= 0)


def _keras_saved(tmp_path, model, name="k.keras"):
    model.save(tmp_path / name)
    return tmp_path / name


def test_unsupported_keras_files_are_refused_by_name(tmp_path):
    L = keras.layers
    lam = keras.Sequential([keras.Input((3,)), L.Lambda(lambda t: t * 2.0)])
    with pytest.raises(ValueError, match="unknown layer class 'Lambda'"):
        en.models.load_model(_keras_saved(tmp_path, lam, "lam.keras"))
    inner = keras.Sequential([keras.Input((3,)), L.Dense(2)])
    inp = keras.Input((3,))
    nested = keras.Model(inp, L.Dense(1)(inner(inp)))
    with pytest.raises(NotImplementedError, match="nested"):
        en.models.load_model(_keras_saved(tmp_path, nested, "nested.keras"))
    hinge = keras.Sequential([keras.Input((3,)), L.Dense(1, activation="sigmoid")])
    hinge.compile("adam", "binary_crossentropy", metrics=[keras.metrics.Hinge()])
    with pytest.raises(NotImplementedError, match="'Hinge' is not one eigennet has"):
        en.models.load_model(_keras_saved(tmp_path, hinge, "hinge.keras"))
    assert en.models.load_model(tmp_path / "hinge.keras", compile=False).count_params() == 4


@pytest.mark.parametrize("direction", ["keras_to_eigennet", "eigennet_to_keras"])
def test_metric_objects_travel_in_files(tmp_path, direction):
    rng = np.random.default_rng(2)
    x = rng.normal(size=(50, 3)).astype(np.float32)
    y = (x[:, :1] > 0).astype(np.float32)
    w = rng.uniform(0.5, 2, size=50).astype(np.float32)

    def build(lib):
        model = lib.Sequential([lib.Input((3,)), lib.layers.Dense(1, activation="sigmoid")])
        model.compile(
            "adam",
            "binary_crossentropy",
            metrics=[lib.metrics.AUC(name="auc", num_thresholds=57), "accuracy",
                     lib.metrics.Precision(thresholds=[0.3, 0.6], name="precision")],
            weighted_metrics=[lib.metrics.F1Score(threshold=0.5, name="f1_score")],
        )  # fmt: skip
        return model

    source = build(keras if direction == "keras_to_eigennet" else en)
    path = tmp_path / "m.keras"
    source.save(path)
    loaded = (en if direction == "keras_to_eigennet" else keras).models.load_model(path)
    want = source.evaluate(x, y, sample_weight=w, verbose=0, return_dict=True)
    got = loaded.evaluate(x, y, sample_weight=w, verbose=0, return_dict=True)
    assert sorted(got) == sorted(want)
    for k in want:
        np.testing.assert_allclose(np.asarray(got[k]), np.asarray(want[k]), rtol=2e-5, err_msg=k)


def _rewrite(src, dst, change):
    with zipfile.ZipFile(src) as zin:
        members = {n: zin.read(n) for n in zin.namelist()}
    change(members)
    with zipfile.ZipFile(dst, "w") as zout:
        for n, b in members.items():
            zout.writestr(n, b)


def test_hostile_keras_layout_files(tmp_path):
    import h5py

    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    good = _keras_saved(tmp_path, model)

    def config(change):
        def edit(m):
            cfg = json.loads(m["config.json"])
            change(cfg)
            m["config.json"] = json.dumps(cfg).encode()

        return edit

    def h5(change):
        def edit(m):
            path = tmp_path / "w.h5"
            path.write_bytes(m["model.weights.h5"])
            with h5py.File(path, "a") as f:
                change(f)
            m["model.weights.h5"] = path.read_bytes()

        return edit

    def foreign_module(cfg):
        cfg["config"]["layers"][1].update(module="os", class_name="Dense")

    def foreign_initializer(cfg):
        cfg["config"]["layers"][1]["config"]["kernel_initializer"]["module"] = "subprocess"

    def string_weights(f):
        del f["layers/dense/vars/0"]
        f["layers/dense/vars/0"] = np.array([b"run me"] * 6).reshape(3, 2)

    def wrong_shape(f):
        del f["layers/dense/vars/0"]
        f["layers/dense/vars/0"] = np.zeros((4, 2), np.float32)

    def extra_layer(f):
        f.create_group("layers/dense_9/vars")

    cases = {
        "module": (config(foreign_module), "unknown layer class"),
        "initializer": (config(foreign_initializer), "refusing 'GlorotUniform' from module"),
        "dtype": (
            config(lambda c: c["config"]["layers"][1]["config"].update(dtype="int8")),
            "int8",
        ),
        "strings": (h5(string_weights), "not a numeric array"),
        "shape": (h5(wrong_shape), r"has shape \(4, 2\)"),
        "extra": (h5(extra_layer), "dense_9"),
        "not_h5": (lambda m: m.update({"model.weights.h5": b"x" * 4096}), "not a valid HDF5"),
        "small": (lambda m: m.update({"model.weights.h5": b"x"}), "more weights than the file"),
        "no_version": (lambda m: m.update({"metadata.json": b"{}"}), "keras_version"),
    }
    for name, (change, message) in cases.items():
        path = tmp_path / f"{name}.keras"
        _rewrite(good, path, change)
        with pytest.raises((ValueError, NotImplementedError), match=message):
            en.models.load_model(path)


def test_files_of_the_previous_layout_still_load(tmp_path):
    x, _ = seq_data()
    model = build("seq", en)
    model.save(tmp_path / "new.keras")

    def old_layout(m):
        own = {n[len("eigennet/") :]: b for n, b in m.items() if n.startswith("eigennet/")}
        m.clear()
        m.update(own)

    _rewrite(tmp_path / "new.keras", tmp_path / "old.keras", old_layout)
    assert_same_predictions(model, en.models.load_model(tmp_path / "old.keras"), x, atol=0)


def test_keras_config_schema_of_an_eigennet_file(tmp_path):
    model = build("tabular", en)
    model.save(tmp_path / "m.keras")
    with zipfile.ZipFile(tmp_path / "m.keras") as z:
        names = set(z.namelist())
        cfg = json.loads(z.read("config.json"))
        meta = json.loads(z.read("metadata.json"))
    assert {"metadata.json", "config.json", "model.weights.h5"} <= names
    assert meta["keras_version"].startswith("3.")
    assert cfg["class_name"] == "Functional"
    assert set(cfg["config"]["input_layers"]) == {"num", "cat"}
    assert cfg["compile_config"]["loss_weights"] == [1.0, 0.5]
    dense = next(e for e in cfg["config"]["layers"] if e["config"]["name"] == "klass")
    assert dense["module"] == "keras.layers"
    assert dense["config"]["kernel_initializer"]["module"] == "keras.initializers"
    shared = [e for e in cfg["config"]["layers"] if len(e.get("inbound_nodes", [])) == 2]
    assert len(shared) == 1 and shared[0]["config"]["units"] == 14


def test_corrupted_weights_raise_value_error(tmp_path):
    """Bytes of model.weights.h5 flipped at random: a ValueError (or a model, when the flip hit
    padding), never another exception or a crash."""
    model = build("seq", en)
    model.save(tmp_path / "m.keras")
    with zipfile.ZipFile(tmp_path / "m.keras") as z:
        raw = z.read("model.weights.h5")
    rng = np.random.default_rng(11)
    outcomes = {"loaded": 0, "refused": 0}
    for trial in range(60):
        data = bytearray(raw)
        for at in rng.integers(0, len(data), size=int(rng.integers(1, 9))):
            data[int(at)] = int(rng.integers(0, 256))

        def corrupt(m, data=bytes(data)):
            m["model.weights.h5"] = data
            for name in [n for n in m if n.startswith("eigennet/")]:
                del m[name]  # read as a Keras-written file

        path = tmp_path / f"c{trial}.keras"
        _rewrite(tmp_path / "m.keras", path, corrupt)
        try:
            en.models.load_model(path)
            outcomes["loaded"] += 1
        except (ValueError, NotImplementedError):
            outcomes["refused"] += 1
    assert outcomes["refused"] > 0


INITIALIZERS = {
    "Constant": {"value": 0.3},
    "GlorotNormal": {"seed": 3},
    "GlorotUniform": {},
    "HeNormal": {},
    "HeUniform": {},
    "Identity": {"gain": 2.0},
    "LecunNormal": {},
    "LecunUniform": {},
    "Ones": {},
    "Orthogonal": {"gain": 0.5, "seed": 1},
    "RandomNormal": {"mean": 0.1, "stddev": 0.2},
    "RandomUniform": {"minval": -0.2, "maxval": 0.3},
    "TruncatedNormal": {"stddev": 0.3},
    "VarianceScaling": {"scale": 2.0, "mode": "fan_out", "distribution": "uniform"},
    "Zeros": {},
}
REGULARIZERS = {"L1": {"l1": 0.01}, "L2": {"l2": 0.02}, "L1L2": {"l1": 0.01, "l2": 0.03}}
SCHEDULES = {
    "ExponentialDecay": {"initial_learning_rate": 0.1, "decay_steps": 5, "decay_rate": 0.5},
    "PiecewiseConstantDecay": {"boundaries": [2, 5], "values": [0.1, 0.05, 0.01]},
    "PolynomialDecay": {"initial_learning_rate": 0.1, "decay_steps": 10, "power": 2.0},
    "InverseTimeDecay": {"initial_learning_rate": 0.1, "decay_steps": 4, "decay_rate": 0.5},
    "CosineDecay": {"initial_learning_rate": 0.1, "decay_steps": 10, "warmup_steps": 2},
    "CosineDecayRestarts": {"initial_learning_rate": 0.1, "first_decay_steps": 4},
}


def _total(penalties):
    """The sum of a model's losses, Keras tensors or eigennet values."""
    return sum(float(p.detach()) if hasattr(p, "detach") else float(p) for p in penalties)


def _config_of(obj):
    return {k: v for k, v in obj.get_config().items() if k not in ("name", "seed")}


def test_every_activation_initializer_and_regularizer_both_ways(tmp_path):
    for name in en.activations.NAMES:
        mine = en.Sequential([en.Input((3,)), en.layers.Dense(4, activation=name)])
        mine.save(tmp_path / "a.keras")
        theirs = keras.models.load_model(tmp_path / "a.keras")
        assert theirs.layers[0].get_config()["activation"] == name
        x = np.linspace(-3, 3, 15, dtype=np.float32).reshape(5, 3)
        assert_same_predictions(mine, theirs, x)
        assert en.models.load_model(tmp_path / "a.keras").layers[0].activation.__name__ == name
    for cls, args in INITIALIZERS.items():
        for lib, other in ((en, keras), (keras, en)):
            init = getattr(lib.initializers, cls)(**args)
            model = lib.Sequential([lib.Input((4,)), lib.layers.Dense(4, kernel_initializer=init)])
            model.save(tmp_path / "i.keras")
            back = other.models.load_model(tmp_path / "i.keras").layers[0].kernel_initializer
            assert type(back).__name__ == cls
            mine, theirs = _config_of(init), _config_of(back)
            common = set(mine) & set(theirs)
            # Keras's Identity keeps no gain in its config (it only shapes new weights).
            assert common >= set(args) - {"seed"} - ({"gain"} if cls == "Identity" else set())
            assert {k: theirs[k] for k in common} == pytest.approx({k: mine[k] for k in common})
    for cls, args in REGULARIZERS.items():
        for lib, other in ((en, keras), (keras, en)):
            reg = getattr(lib.regularizers, cls)(**args)
            dense = lib.layers.Dense(2, kernel_regularizer=reg, bias_regularizer=reg)
            model = lib.Sequential([lib.Input((4,)), dense])
            model.save(tmp_path / "r.keras")
            loaded = other.models.load_model(tmp_path / "r.keras")
            back = loaded.layers[0]
            for got in (back.kernel_regularizer, back.bias_regularizer):
                assert type(got).__name__ == cls
                for key, value in args.items():
                    assert getattr(got, key) == pytest.approx(value)
            want, got_total = (_total(m.losses) for m in (model, loaded))
            assert want > 0 and got_total == pytest.approx(want, rel=1e-5)


LOSSES = [
    "BinaryCrossentropy",
    "BinaryFocalCrossentropy",
    "CategoricalFocalCrossentropy",
    "CategoricalCrossentropy",
    "CategoricalHinge",
    "CosineSimilarity",
    "Hinge",
    "Huber",
    "KLDivergence",
    "LogCosh",
    "MeanAbsoluteError",
    "MeanAbsolutePercentageError",
    "MeanSquaredError",
    "MeanSquaredLogarithmicError",
    "Poisson",
    "SparseCategoricalCrossentropy",
    "SquaredHinge",
]


@pytest.mark.parametrize("cls", LOSSES)
def test_every_loss_both_ways(cls, tmp_path):
    for lib, other in ((en, keras), (keras, en)):
        model = lib.Sequential([lib.Input((3,)), lib.layers.Dense(3, activation="softmax")])
        model.compile("sgd", getattr(lib.losses, cls)())
        model.save(tmp_path / "l.keras")
        back = other.models.load_model(tmp_path / "l.keras")
        assert type(back.loss).__name__ == cls


@pytest.mark.parametrize("cls", sorted(SCHEDULES))
def test_every_schedule_both_ways(cls, tmp_path):
    for lib, other in ((en, keras), (keras, en)):
        schedule = getattr(lib.optimizers.schedules, cls)(**SCHEDULES[cls])
        model = lib.Sequential([lib.Input((3,)), lib.layers.Dense(1)])
        model.compile(lib.optimizers.SGD(schedule), "mse")
        model.save(tmp_path / "s.keras")
        back = other.models.load_model(tmp_path / "s.keras").optimizer
        lr = back._learning_rate
        assert type(lr).__name__ == cls
        for step in (0, 1, 3, 7, 12):
            want = float(np.asarray(schedule(step)))
            assert float(np.asarray(lr(step))) == pytest.approx(want, rel=1e-6)


def test_adapted_normalization_both_ways(tmp_path):
    x = np.random.default_rng(4).normal(3, 2, (40, 5)).astype(np.float32)
    for lib, other in ((keras, en), (en, keras)):
        norm = lib.layers.Normalization()
        norm.adapt(x)
        model = lib.Sequential([lib.Input((5,)), norm, lib.layers.Dense(2)])
        model.save(tmp_path / "n.keras")
        loaded = other.models.load_model(tmp_path / "n.keras")
        assert_same_predictions(model, loaded, x)
        stats = [np.asarray(v) for v in loaded.layers[0].weights[:2]]
        np.testing.assert_allclose(stats[0].reshape(-1), x.mean(axis=0), rtol=1e-5)
        np.testing.assert_allclose(stats[1].reshape(-1), x.var(axis=0), rtol=1e-4)
