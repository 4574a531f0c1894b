"""Keras code runs unchanged with `import eigennet as keras`."""

from __future__ import annotations

import numpy as np

import eigennet as keras


def test_keras_tutorial_script_runs_unchanged(tmp_path):
    # The body below is written exactly as for Keras 3.
    keras.utils.set_random_seed(42)
    (x_train, y_train), (x_test, y_test) = keras.datasets.load_digits()

    inputs = keras.Input(shape=(64,))
    x = keras.layers.Dense(64, activation="relu", kernel_initializer="he_normal")(inputs)
    x = keras.layers.Dropout(0.2)(x)
    x = keras.layers.Dense(32, activation="relu")(x)
    outputs = keras.layers.Dense(10, activation="softmax")(x)
    model = keras.Model(inputs=inputs, outputs=outputs, name="digits")

    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=3e-3),
        loss=keras.losses.SparseCategoricalCrossentropy(),
        metrics=["accuracy"],
    )
    callbacks = [
        keras.callbacks.EarlyStopping(monitor="val_loss", patience=3, restore_best_weights=True),
        keras.callbacks.ReduceLROnPlateau(monitor="val_loss", factor=0.5, patience=2),
        keras.callbacks.ModelCheckpoint(str(tmp_path / "best.keras"), save_best_only=True),
    ]
    history = model.fit(
        x_train,
        y_train,
        batch_size=32,
        epochs=40,
        validation_split=0.15,
        callbacks=callbacks,
        verbose=0,
    )
    test_loss, test_acc = model.evaluate(x_test, y_test, verbose=0)
    predictions = model.predict(x_test[:5], verbose=0)

    assert test_acc > 0.95
    assert predictions.shape == (5, 10)
    np.testing.assert_allclose(predictions.sum(axis=1), 1.0, rtol=1e-5)
    assert set(history.history) >= {"loss", "accuracy", "val_loss", "val_accuracy"}

    model.save(tmp_path / "final.keras")
    restored = keras.models.load_model(tmp_path / "final.keras")
    np.testing.assert_array_equal(
        restored.predict(x_test, verbose=0), model.predict(x_test, verbose=0)
    )
    best = keras.models.load_model(tmp_path / "best.keras")
    assert best.evaluate(x_test, y_test, verbose=0)[1] > 0.9
