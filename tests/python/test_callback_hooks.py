"""evaluate and predict honour callbacks= with Keras's on_test_* and on_predict_* hooks, and
fit's validation calls the test hooks of fit's callbacks (as Keras's fit does)."""

from __future__ import annotations

import numpy as np

import eigennet as en


class Recorder(en.callbacks.Callback):
    def __init__(self) -> None:
        super().__init__()
        self.calls: list[tuple] = []

    def on_test_begin(self, logs=None):
        self.calls.append(("test_begin",))

    def on_test_end(self, logs=None):
        self.calls.append(("test_end", round(logs["loss"], 6)))

    def on_test_batch_begin(self, batch, logs=None):
        self.calls.append(("test_batch_begin", batch))

    def on_test_batch_end(self, batch, logs=None):
        self.calls.append(("test_batch_end", batch, sorted(logs)))

    def on_predict_begin(self, logs=None):
        self.calls.append(("predict_begin",))

    def on_predict_end(self, logs=None):
        self.calls.append(("predict_end",))

    def on_predict_batch_begin(self, batch, logs=None):
        self.calls.append(("predict_batch_begin", batch))

    def on_predict_batch_end(self, batch, logs=None):
        self.calls.append(("predict_batch_end", batch))


def _model():
    en.utils.set_random_seed(40)
    m = en.Sequential([en.Input((3,)), en.layers.Dense(2)])
    m.compile(optimizer="sgd", loss="mse", metrics=["mae"])
    return m


def test_evaluate_calls_the_test_hooks_per_batch():
    m, rec = _model(), Recorder()
    x, y = np.random.default_rng(0).normal(size=(10, 3)), np.zeros((10, 2))
    loss = m.evaluate(x, y, batch_size=4, verbose=0, callbacks=[rec])[0]
    assert rec.calls == [
        ("test_begin",),
        ("test_batch_begin", 0),
        ("test_batch_end", 0, ["loss", "mae"]),
        ("test_batch_begin", 1),
        ("test_batch_end", 1, ["loss", "mae"]),
        ("test_batch_begin", 2),
        ("test_batch_end", 2, ["loss", "mae"]),
        ("test_end", round(loss, 6)),
    ]
    assert rec.model is m and rec.params["steps"] == 3


def test_predict_calls_the_predict_hooks_per_batch():
    m, rec = _model(), Recorder()
    x = np.random.default_rng(1).normal(size=(5, 3)).astype("float32")
    out = m.predict(x, batch_size=2, verbose=0, callbacks=[rec])
    np.testing.assert_array_equal(out, m.predict(x, batch_size=2, verbose=0))
    assert rec.calls == [
        ("predict_begin",),
        ("predict_batch_begin", 0),
        ("predict_batch_end", 0),
        ("predict_batch_begin", 1),
        ("predict_batch_end", 1),
        ("predict_batch_begin", 2),
        ("predict_batch_end", 2),
        ("predict_end",),
    ]


def test_fit_validation_calls_test_begin_and_end_each_epoch():
    m = _model()

    class EpochOnly(en.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.calls = []

        def on_test_begin(self, logs=None):
            self.calls.append("test_begin")

        def on_test_end(self, logs=None):
            self.calls.append(("test_end", sorted(logs)))

        def on_epoch_end(self, epoch, logs=None):
            self.calls.append(("epoch_end", "val_loss" in logs))

    rec = EpochOnly()
    x, y = np.ones((8, 3)), np.zeros((8, 2))
    m.fit(x, y, epochs=2, batch_size=4, verbose=0, validation_data=(x, y), callbacks=[rec])
    assert (
        rec.calls
        == [
            "test_begin",
            ("test_end", ["loss", "mae"]),
            ("epoch_end", True),
        ]
        * 2
    )


class Stepped(en.Model):
    def test_step(self, data):
        x, y = data
        return {"loss": float(self.compute_loss(x, y, self(x)))}

    def predict_step(self, data):
        return self(data[0])


def test_overridden_steps_call_the_hooks_too():
    en.utils.set_random_seed(41)
    inp = en.Input((3,))
    m = Stepped(inp, en.layers.Dense(2)(inp))
    m.compile(optimizer="sgd", loss="mse")
    rec = Recorder()
    x, y = np.ones((5, 3)), np.zeros((5, 2))
    m.evaluate(x, y, batch_size=3, verbose=0, callbacks=[rec])
    m.predict(x, batch_size=3, verbose=0, callbacks=[rec])
    names = [c[0] for c in rec.calls]
    assert names == [
        "test_begin",
        "test_batch_begin",
        "test_batch_end",
        "test_batch_begin",
        "test_batch_end",
        "test_end",
        "predict_begin",
        "predict_batch_begin",
        "predict_batch_end",
        "predict_batch_begin",
        "predict_batch_end",
        "predict_end",
    ]


def test_model_checkpoint_saves_every_n_batches(tmp_path):
    m = _model()
    x, y = np.ones((10, 3)), np.zeros((10, 2))
    ck = en.callbacks.ModelCheckpoint(str(tmp_path / "ck-{epoch}-{batch}.keras"), save_freq=3)
    m.fit(x, y, epochs=2, batch_size=2, verbose=0, callbacks=[ck])
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "ck-1-3.keras",
        "ck-2-1.keras",
        "ck-2-4.keras",
    ]
    again = en.models.load_model(tmp_path / "ck-2-4.keras")
    assert [w.shape for w in again.get_weights()] == [(3, 2), (2,)]
    # Saving by epochs keeps fit's epochs in one C++ call (no batch hook).
    assert not en.callbacks.ModelCheckpoint(str(tmp_path / "e.keras"))._uses_batch_hooks()
    with np.testing.assert_raises_regex(ValueError, "Unrecognized save_freq"):
        en.callbacks.ModelCheckpoint(str(tmp_path / "e.keras"), save_freq=0)


def test_backup_and_restore_resumes_as_if_never_interrupted(tmp_path):
    en.config.set_floatx("float64")
    try:

        def build():
            en.utils.set_random_seed(42)
            m = en.Sequential(
                [
                    en.Input((3,)),
                    en.layers.Dense(8, activation="relu"),
                    en.layers.Dropout(0.3),
                    en.layers.Dense(2),
                ]
            )
            m.compile(optimizer=en.optimizers.Adam(0.01), loss="mse")
            return m

        rng = np.random.default_rng(43)
        x, y = rng.normal(size=(40, 3)), rng.normal(size=(40, 2))
        whole = build()
        h_whole = whole.fit(x, y, epochs=4, batch_size=8, verbose=0)

        class Crash(en.callbacks.Callback):
            def on_epoch_end(self, epoch, logs=None):
                if epoch == 1:
                    raise KeyboardInterrupt("the machine went away")

        backup = en.callbacks.BackupAndRestore(str(tmp_path / "backup"))
        first = build()
        with np.testing.assert_raises(KeyboardInterrupt):
            first.fit(x, y, epochs=4, batch_size=8, verbose=0, callbacks=[backup, Crash()])
        assert (tmp_path / "backup" / "latest.keras").exists()
        resumed = build()  # a new process: same architecture, fresh weights
        h = resumed.fit(x, y, epochs=4, batch_size=8, verbose=0, callbacks=[backup])
        assert h.epoch == [2, 3]
        np.testing.assert_array_equal(h.history["loss"], h_whole.history["loss"][2:])
        for a, b in zip(whole.get_weights(), resumed.get_weights()):
            np.testing.assert_array_equal(a, b)
        assert not (tmp_path / "backup" / "latest.keras").exists()  # deleted after a whole fit
    finally:
        en.config.set_floatx("float32")


def test_terminate_on_nan_can_raise():
    m = _model()
    m.compile(optimizer=en.optimizers.SGD(1e30), loss="mse")
    x, y = np.full((16, 3), 1e10), np.zeros((16, 2))
    with np.testing.assert_raises_regex(RuntimeError, "NaN or Inf found in the loss at batch"):
        m.fit(
            x,
            y,
            epochs=3,
            batch_size=2,
            verbose=0,
            callbacks=[en.callbacks.TerminateOnNaN(raise_error=True)],
        )


def test_validation_freq_int_and_list():
    m = _model()
    x, y = np.ones((8, 3)), np.zeros((8, 2))
    h = m.fit(x, y, epochs=5, batch_size=4, verbose=0, validation_data=(x, y), validation_freq=2)
    assert len(h.history["val_loss"]) == 2 and len(h.history["loss"]) == 5
    h = m.fit(
        x, y, epochs=5, batch_size=4, verbose=0, validation_data=(x, y), validation_freq=[1, 5]
    )
    assert len(h.history["val_loss"]) == 2
    with np.testing.assert_raises_regex(ValueError, "validation_freq"):
        m.fit(x, y, epochs=1, verbose=0, validation_data=(x, y), validation_freq=0)


def test_backup_every_n_batches_resumes_keras_style(tmp_path):
    # save_freq=3 over 5 batches an epoch backs up after epoch 0's batch 2, epoch 1's batch 0
    # and batch 3; a crash at epoch 1's batch 4 resumes at epoch 1 (not done) from the weights
    # after its batch 3, as Keras's BackupAndRestore does.
    def build():
        en.utils.set_random_seed(5)
        m = en.Sequential([en.Input((3,)), en.layers.Dense(2)])
        m.compile(optimizer=en.optimizers.Adam(0.01), loss="mse")
        return m

    rng = np.random.default_rng(44)
    x, y = rng.normal(size=(20, 3)), rng.normal(size=(20, 2))
    snapshots = {}

    class Crash(en.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            if self._epoch == 1 and batch == 3:
                snapshots["backed_up"] = [w.copy() for w in self.model.get_weights()]
            if self._epoch == 1 and batch == 4:
                raise KeyboardInterrupt("the machine went away")

        def on_epoch_begin(self, epoch, logs=None):
            self._epoch = epoch

    backup = en.callbacks.BackupAndRestore(str(tmp_path / "b"), save_freq=3, double_checkpoint=True)
    with np.testing.assert_raises(KeyboardInterrupt):
        build().fit(
            x, y, epochs=3, batch_size=4, shuffle=False, verbose=0, callbacks=[backup, Crash()]
        )
    assert (tmp_path / "b" / "latest.keras.bkp").exists()

    class Check(en.callbacks.Callback):
        def on_train_begin(self, logs=None):
            snapshots["restored"] = [w.copy() for w in self.model.get_weights()]

    resumed = build()
    h = resumed.fit(
        x, y, epochs=3, batch_size=4, shuffle=False, verbose=0, callbacks=[backup, Check()]
    )
    assert h.epoch == [1, 2]
    for a, b in zip(snapshots["backed_up"], snapshots["restored"]):
        np.testing.assert_array_equal(a, b)
    assert not (tmp_path / "b" / "latest.keras").exists()
    # A latest backup that cannot be read falls back to the previous one.
    backup2 = en.callbacks.BackupAndRestore(
        str(tmp_path / "c"), save_freq=2, double_checkpoint=True
    )
    with np.testing.assert_raises(KeyboardInterrupt):
        build().fit(
            x, y, epochs=3, batch_size=4, shuffle=False, verbose=0, callbacks=[backup2, Crash()]
        )
    (tmp_path / "c" / "latest.keras").write_bytes(b"not a zip")
    assert build().fit(x, y, epochs=3, batch_size=4, verbose=0, callbacks=[backup2]).epoch[0] == 1
    with np.testing.assert_raises_regex(ValueError, "save_freq"):
        en.callbacks.BackupAndRestore(str(tmp_path), save_freq="batch")
