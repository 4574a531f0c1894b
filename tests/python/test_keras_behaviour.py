"""Rows of the Keras-behaviour issue: each test states what Keras 3 does and checks eigennet does
the same."""

from __future__ import annotations

import re

import numpy as np
import pytest

import eigennet as en

L = en.layers


def _data(n: int = 64):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, 3)).astype(np.float32)
    y = (x @ np.array([[1.0], [-2.0], [0.5]], dtype=np.float32) + 0.3).astype(np.float32)
    return x, y


def _model(optimizer="sgd"):
    model = en.Sequential([en.Input((3,)), L.Dense(1)])
    model.compile(optimizer=optimizer, loss="mse")
    return model


@pytest.mark.parametrize(
    "optimizer",
    [
        lambda: en.optimizers.SGD(learning_rate=0.0),
        lambda: en.optimizers.SGD(learning_rate=0, momentum=0.9),
        lambda: en.optimizers.Adam(learning_rate=0.0),
        lambda: en.optimizers.RMSprop(learning_rate=0.0),
        lambda: en.optimizers.Adagrad(learning_rate=0.0),
        lambda: en.optimizers.SGD(en.optimizers.schedules.ExponentialDecay(0.0, 10, 0.5)),
    ],
)
def test_learning_rate_zero_is_accepted_and_freezes_training(optimizer):
    # Keras accepts a learning rate of 0 (to freeze training, and schedules may reach it).
    x, y = _data()
    model = _model(optimizer())
    before = model.get_weights()
    model.fit(x, y, epochs=2, batch_size=16, verbose=0)
    for a, b in zip(before, model.get_weights()):
        np.testing.assert_array_equal(a, b)
    opt = en.optimizers.SGD(0.1)
    opt.learning_rate = 0.0
    assert opt.learning_rate == 0.0
    with pytest.raises(ValueError, match="learning_rate=-1"):
        en.optimizers.SGD(learning_rate=-1)


@pytest.mark.parametrize("method", ["fit", "train_on_batch", "evaluate", "test_on_batch"])
def test_training_before_compile_is_a_value_error(method):
    # Keras: ValueError("You must call `compile()` before ...").
    x, y = _data(8)
    model = en.Sequential([en.Input((3,)), L.Dense(1)])
    with pytest.raises(ValueError, match=r"You must call `compile\(\)` before"):
        getattr(model, method)(x, y)


def test_early_stopping_reused_across_fits_starts_afresh():
    # Keras's on_train_begin resets wait, stopped_epoch and best, so an instance can be reused.
    x, y = _data()
    stop = en.callbacks.EarlyStopping(monitor="loss", patience=1)
    first = _model(en.optimizers.SGD(0.05))
    first.fit(x, y, epochs=30, batch_size=16, verbose=0, callbacks=[stop])
    assert stop.best < 0.01
    # A fresh model starts far above the first one's best: with a stale best it would stop after
    # its second epoch; reset, it trains while its loss keeps falling.
    second = _model(en.optimizers.SGD(0.01))
    history = second.fit(x, y, epochs=6, batch_size=16, verbose=0, callbacks=[stop])
    losses = history.history["loss"]
    assert all(b < a for a, b in zip(losses, losses[1:]))
    assert len(losses) == 6 and stop.stopped_epoch == 0
    assert stop.best == pytest.approx(losses[-1])


def test_model_checkpoint_creates_missing_folders(tmp_path):
    # Keras creates the folders of the checkpoint path.
    x, y = _data(16)
    path = tmp_path / "dir" / "that" / "does" / "not" / "exist" / "m.keras"
    _model().fit(x, y, epochs=1, verbose=0, callbacks=[en.callbacks.ModelCheckpoint(str(path))])
    assert path.exists()
    restored = en.models.load_model(str(path))
    assert restored.predict(x, verbose=0).shape == (16, 1)


def test_model_checkpoint_with_a_missing_monitor_warns_and_saves(tmp_path):
    # Keras warns "Can save best model only with val_loss available." and saves anyway.
    x, y = _data(16)
    path = tmp_path / "best.weights.h5"
    cb = en.callbacks.ModelCheckpoint(
        str(path), monitor="val_loss", save_best_only=True, save_weights_only=True
    )
    with pytest.warns(UserWarning, match="Can save best model only with val_loss available"):
        _model().fit(x, y, epochs=1, verbose=0, callbacks=[cb])
    assert path.exists()


class _Recorder(en.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.seen: dict[str, object] = {}

    def on_train_begin(self, logs=None):
        self.seen["on_train_begin"] = logs

    def on_epoch_begin(self, epoch, logs=None):
        self.seen["on_epoch_begin"] = logs

    def on_train_batch_begin(self, batch, logs=None):
        self.seen["on_train_batch_begin"] = logs


def test_begin_hooks_get_an_empty_dict_not_none():
    # Keras's CallbackList passes `logs or {}` to every hook.
    x, y = _data(16)
    rec = _Recorder()
    _model().fit(x, y, epochs=1, batch_size=8, verbose=0, callbacks=[rec])
    assert rec.seen == {"on_train_begin": {}, "on_epoch_begin": {}, "on_train_batch_begin": {}}


def test_a_batch_hook_assigned_on_the_instance_is_called():
    # Keras calls whatever `cb.on_train_batch_end` is, class method or instance attribute.
    x, y = _data(32)
    ends: list[int] = []
    legacy: list[int] = []
    cb = en.callbacks.Callback()
    cb.on_train_batch_end = lambda batch, logs=None: ends.append(batch)
    old = en.callbacks.Callback()
    old.on_batch_end = lambda batch, logs=None: legacy.append(batch)
    _model().fit(x, y, epochs=1, batch_size=8, verbose=0, callbacks=[cb, old])
    assert ends == [0, 1, 2, 3] and legacy == [0, 1, 2, 3]


@pytest.mark.parametrize("units", [1.5, None, "3", True])
def test_dense_with_a_bad_width_is_a_value_error(units):
    # Keras: ValueError "Received an invalid value for `units`, expected a positive integer."
    with pytest.raises(ValueError, match="Received an invalid value for `units`"):
        L.Dense(units)


@pytest.mark.parametrize("thing", [{}, 3, "dense"])
def test_sequential_add_of_a_non_layer_is_a_value_error(thing):
    # Keras: ValueError "Only instances of `keras.Layer` can be added to a Sequential model."
    with pytest.raises(ValueError, match="can be added to a Sequential model"):
        en.Sequential().add(thing)


def test_an_unbuilt_sequential_pickles_and_trains_after():
    # Keras pickles an unbuilt Sequential (its layers and compile settings).
    import pickle

    model = en.Sequential([L.Dense(3, activation="relu"), L.Dense(1)])
    model.compile(optimizer="adam", loss="mse")
    clone = pickle.loads(pickle.dumps(model))
    assert [type(la) for la in clone.layers] == [L.Dense, L.Dense] and clone.compiled
    assert clone.layers[0].units == 3 and clone.layers[0] is not model.layers[0]
    x, y = _data(16)
    clone.fit(x, y, epochs=1, verbose=0)
    assert clone.input_shape == (None, 3)
    assert not hasattr(model, "input_shape")  # the original stays unbuilt


def test_input_and_output_shape_of_an_unbuilt_model_are_attribute_errors():
    # Keras raises AttributeError, so hasattr() is False.
    model = en.Sequential([L.Dense(2)])
    assert not hasattr(model, "input_shape") and not hasattr(model, "output_shape")
    with pytest.raises(ValueError, match="not yet been built"):
        model.count_params()


def test_a_second_input_is_a_value_error():
    # Keras: "Sequential model ... has already been configured to use input shape ...".
    with pytest.raises(ValueError, match="already been configured to use input shape"):
        en.Sequential([en.Input((2,)), en.Input((3,)), L.Dense(1)])
    model = en.Sequential([en.Input((2,))])
    with pytest.raises(ValueError, match=r"input shape \(None, 2\)"):
        model.add(en.Input((3,)))


def test_duplicate_layer_names_are_a_value_error():
    # Keras: "All layers added to a Sequential model should have unique names."
    with pytest.raises(ValueError, match="should have unique names. Name 'hidden'"):
        en.Sequential([en.Input((2,)), L.Dense(4, name="hidden"), L.Dense(1, name="hidden")])


def test_build_with_another_shape_than_the_input_is_a_value_error():
    # Keras refuses to build for a shape its Input contradicts; building again for the same
    # shape changes nothing.
    model = en.Sequential([en.Input((2,)), L.Dense(3)])
    weights = model.get_weights()
    with pytest.raises(ValueError, match=r"cannot build it with input_shape \(3, 4\)"):
        model.build((3, 4))
    model.build((None, 2))
    for a, b in zip(weights, model.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_categorical_crossentropy_over_one_output_warns():
    # Keras warns (SyntaxWarning) that num_classes should be > 1, in the loss function and in fit.
    with pytest.warns(SyntaxWarning, match="Consider using 'binary_crossentropy'"):
        en.losses.categorical_crossentropy(np.ones((4, 1)), np.full((4, 1), 0.9))
    x, y = _data(8)
    model = en.Sequential([en.Input((3,)), L.Dense(1, activation="softmax")])
    model.compile(optimizer="sgd", loss="categorical_crossentropy")
    with pytest.warns(SyntaxWarning, match=r"y_pred.shape=\(None, 1\)"):
        model.fit(x, np.ones_like(y), epochs=1, verbose=0)


@pytest.mark.parametrize(
    "fn, y_true, y_pred",
    [
        (en.losses.mean_squared_error, np.zeros(6), np.zeros((2, 3))),
        (en.losses.mean_absolute_error, np.zeros((3, 2)), np.zeros((2, 3))),
        (en.losses.binary_crossentropy, np.zeros((2, 3, 1, 1)), np.full((2, 3), 0.5)),
        (en.losses.categorical_crossentropy, np.zeros((6,)), np.full((2, 3), 1 / 3)),
        (en.losses.sparse_categorical_crossentropy, np.zeros((2, 3)), np.full((2, 3), 1 / 3)),
    ],
)
def test_loss_functions_refuse_mismatched_shapes_naming_both(fn, y_true, y_pred):
    # Keras raises ValueError for shapes that differ by more than a trailing axis of 1, even
    # when the sizes agree.
    shapes = (
        rf"target.shape={re.escape(str(y_true.shape))}, output.shape={re.escape(str(y_pred.shape))}"
    )
    with pytest.raises(ValueError, match=shapes):
        fn(y_true, y_pred)


def test_loss_functions_accept_a_trailing_axis_of_one():
    # Keras squeezes or expands y_true by one trailing axis of 1 to y_pred's rank.
    y_pred = np.array([[0.2], [0.7]])
    flat = en.losses.mean_squared_error(np.array([0.0, 1.0]), y_pred)
    np.testing.assert_allclose(flat, [0.04, 0.09])
    np.testing.assert_allclose(en.losses.mean_squared_error(np.array([[0.0], [1.0]]), y_pred), flat)
    probs = np.array([[0.1, 0.9], [0.8, 0.2]])
    sparse = en.losses.sparse_categorical_crossentropy(np.array([[1], [0]]), probs)
    np.testing.assert_allclose(sparse, -np.log([0.9, 0.8]), rtol=1e-6)


def _saved_model():
    model = _model()
    model.fit(*_data(8), epochs=1, verbose=0)
    return model


@pytest.mark.parametrize("save", ["save", "save_weights", "checkpoint"])
def test_saved_files_follow_the_umask_and_keep_an_existing_mode(tmp_path, save):
    # Files written in place (as Keras and h5py do) get 0666 less the umask; the atomic save
    # must not turn them into 0600, nor change the mode of a file it replaces.
    import os
    import stat

    model = _saved_model()
    path = tmp_path / ("m.keras" if save != "save_weights" else "m.weights.h5")

    def write():
        if save == "save":
            model.save(str(path))
        elif save == "save_weights":
            model.save_weights(str(path))
        else:
            x, y = _data(8)
            cb = en.callbacks.ModelCheckpoint(str(path))
            model.fit(x, y, epochs=1, verbose=0, callbacks=[cb])

    old = os.umask(0o022)
    try:
        write()
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o644
        os.chmod(path, 0o640)
        write()
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o640
        path.unlink()
        os.umask(0o077)
        write()
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    finally:
        os.umask(old)


def test_saving_through_a_symlink_updates_its_target(tmp_path):
    model = _saved_model()
    target = tmp_path / "models" / "v1.keras"
    target.parent.mkdir()
    en.Sequential([en.Input((3,)), L.Dense(1)]).save(str(target))
    link = tmp_path / "current.keras"
    link.symlink_to(target)
    model.save(str(link))
    assert link.is_symlink() and link.resolve() == target.resolve()
    restored = en.models.load_model(str(target))
    for a, b in zip(model.get_weights(), restored.get_weights()):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("labels", [[0, 1, 2, 1], [-1, 1, 1, -1], [0.0, np.nan, 1.0, 0.5]])
@pytest.mark.parametrize("from_logits", [False, True])
def test_binary_crossentropy_refuses_targets_outside_0_1(labels, from_logits):
    # The README promises checked label ranges: binary cross-entropy needs targets in [0, 1].
    x, _ = _data(4)
    model = en.Sequential(
        [en.Input((3,)), L.Dense(1, activation=None if from_logits else "sigmoid")]
    )
    model.compile(optimizer="sgd", loss=en.losses.BinaryCrossentropy(from_logits=from_logits))
    y = np.array(labels, dtype=np.float32)
    for call in (
        lambda: model.fit(x, y, epochs=1, verbose=0),
        lambda: model.train_on_batch(x, y),
        lambda: model.evaluate(x, y, verbose=0),
    ):
        with pytest.raises(ValueError, match=r"binary_crossentropy takes targets in \[0, 1\]"):
            call()
    model.fit(x, np.array([0, 1, 0.25, 1.0], dtype=np.float32), epochs=1, verbose=0)  # soft ok


def test_categorical_crossentropy_with_integer_labels_suggests_the_fix():
    x, _ = _data(4)
    model = en.Sequential([en.Input((3,)), L.Dense(3, activation="softmax")])
    model.compile(optimizer="sgd", loss="categorical_crossentropy")
    with pytest.raises(ValueError, match="sparse_categorical_crossentropy.*to_categorical"):
        model.fit(x, np.array([0, 2, 1, 1]), epochs=1, verbose=0)
    model.fit(x, en.utils.to_categorical([0, 2, 1, 1], 3), epochs=1, verbose=0)


def test_verbose_auto_shows_the_progress_bar_in_jupyter(monkeypatch, capsys):
    # In a notebook (ipykernel loaded, stdout not a tty) "auto" means the progress bar, as the
    # bar itself assumes; in a pipe, one line per epoch.
    import sys
    import types

    x, y = _data(16)
    model = _model()
    model.fit(x, y, epochs=1, batch_size=8)
    assert "Epoch 1/1" in capsys.readouterr().out
    from eigennet.trainers import trainer

    assert trainer._resolve_verbose("auto") == 2
    monkeypatch.setitem(sys.modules, "ipykernel", types.ModuleType("ipykernel"))
    assert trainer._resolve_verbose("auto") == 1


def test_a_generator_of_rows_with_y_is_refused_by_name():
    # Generators are served batch by batch (test_sources.py); their batches carry the targets.
    model = _model()
    x, y = _data(8)
    with pytest.raises(ValueError, match="`y` and `sample_weight` must not be passed to fit"):
        model.fit((row for row in x), y, verbose=0)
    with pytest.raises(ValueError):
        model.predict(iter(list(x)), verbose=0)  # each item is one sample, not a batch


def test_sklearn_classifier_says_it_one_hot_encodes():
    pytest.importorskip("sklearn")
    from eigennet.wrappers import SKLearnClassifier

    def one_sigmoid(X, y):
        model = en.Sequential([en.Input((X.shape[1],)), L.Dense(1, activation="sigmoid")])
        model.compile(optimizer="adam", loss="binary_crossentropy")
        return model

    x, _ = _data(20)
    labels = (x[:, 0] > 0).astype(int)
    with pytest.raises(ValueError, match="one-hot encodes y into 2 columns.*has 1 output\\. "):
        SKLearnClassifier(one_sigmoid).fit(x, labels)


def test_messages_in_keras_words():
    with pytest.raises(ValueError, match=r"`momentum` must be a float between \[0, 1\]"):
        en.optimizers.SGD(momentum=1.5)
    opt = en.optimizers.SGD(en.optimizers.schedules.ExponentialDecay(0.1, 10, 0.5))
    with pytest.raises(TypeError, match="hence its learning rate is not settable"):
        opt.learning_rate = 0.01
    with pytest.warns(UserWarning, match="ModelCheckpoint mode 'upward' is unknown, fallback"):
        en.callbacks.ModelCheckpoint("m.keras", mode="upward")
    with pytest.warns(UserWarning, match="EarlyStopping mode upward is unknown, fallback"):
        en.callbacks.EarlyStopping(mode="upward").on_epoch_end(0, {"val_loss": 1.0})
    with pytest.raises(AttributeError, match="`Sequential.layers` attribute is reserved"):
        en.Sequential().layers = []


def test_layer_activation_none_is_linear_and_a_built_change_is_refused():
    # Keras: `layer.activation = None` means linear. Before the model is built eigennet follows
    # it; once built, the change is refused (NotImplementedError), never silently ignored.
    x, _ = _data(4)
    dense = L.Dense(2, activation="relu")
    dense.activation = None
    assert dense.activation is en.activations.linear
    model = en.Sequential([dense])
    out = model.predict(x, verbose=0)
    w, b = dense.get_weights()
    np.testing.assert_allclose(out, x @ w + b, rtol=1e-5, atol=1e-6)
    assert (out < 0).any()  # linear, not relu
    with pytest.raises(NotImplementedError, match="already part of a built model.*relu"):
        dense.activation = "relu"
    assert dense.activation is en.activations.linear
    model.pop()
    dense.activation = "tanh"  # free again once out of the model
    assert dense.activation is en.activations.tanh


def test_targets_shaped_like_a_multi_dimensional_output():
    # Keras takes targets of the output's shape; an element-wise loss over them equals the
    # same loss over the flat entries, so both spellings train identically.
    def build():
        en.utils.set_random_seed(5)
        model = en.Sequential([en.Input((3,)), L.Dense(4), L.Reshape((2, 2))])
        model.compile(en.optimizers.SGD(0.1), "mse")
        return model

    rng = np.random.default_rng(6)
    x, y = rng.normal(size=(12, 3)), rng.normal(size=(12, 2, 2))
    shaped, flat = build(), build()
    h1 = shaped.fit(x, y, epochs=2, batch_size=4, shuffle=False, verbose=0)
    h2 = flat.fit(x, y.reshape(12, 4), epochs=2, batch_size=4, shuffle=False, verbose=0)
    for a, b in zip(shaped.get_weights(), flat.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert h1.history["loss"] == h2.history["loss"]
    want = ((shaped.predict(x, verbose=0) - y) ** 2).mean()
    assert shaped.evaluate(x, y, verbose=0) == pytest.approx(want, rel=1e-5)


def test_a_per_axis_loss_on_a_multi_dimensional_output_is_refused():
    model = en.Sequential([en.Input((3,)), L.Dense(4), L.Reshape((2, 2))])
    with pytest.raises(NotImplementedError, match="categorical_crossentropy.*along the last axis"):
        model.compile("adam", "categorical_crossentropy")
