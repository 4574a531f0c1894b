"""Data served batch by batch from Python: generators, PyDataset and steps_per_epoch, with
Keras 3's epoch semantics; each batch is the C++ step train_on_batch takes."""

from __future__ import annotations

import numpy as np
import pytest

import eigennet as en


def _data(n=50, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 4)).astype(np.float32)
    y = (x @ rng.normal(size=(4, 2))).astype(np.float32)
    return x, y


def _model(seed=3, built=True):
    en.utils.set_random_seed(seed)
    head = [en.Input((4,))] if built else []
    model = en.Sequential([*head, en.layers.Dense(5, activation="tanh"), en.layers.Dense(2)])
    model.compile(en.optimizers.SGD(0.05, momentum=0.9), "mse", metrics=["mae"])
    return model


def _batches(x, y, size):
    return [(x[i : i + size], y[i : i + size]) for i in range(0, len(x), size)]


def _by_hand(batches_per_epoch, seed=3):
    """The weights and History-style epoch means of train_on_batch over the given batches."""
    model = _model(seed, built=False)
    model.build((None, 4))
    history = {"loss": [], "mae": []}
    for batches in batches_per_epoch:
        sums, n = {"loss": 0.0, "mae": 0.0}, 0
        for bx, by in batches:
            out = model.train_on_batch(bx, by, return_dict=True)
            for k in sums:
                sums[k] += out[k] * len(bx)
            n += len(bx)
        for k in sums:
            history[k].append(sums[k] / n)
    return model.get_weights(), history


def _same(model, weights, history, got):
    for a, b in zip(model.get_weights(), weights):
        np.testing.assert_array_equal(a, b)
    for k in history:
        np.testing.assert_allclose(got.history[k], history[k], rtol=1e-6)


def test_generator_with_steps_per_epoch_continues_across_epochs():
    x, y = _data()
    batches = _batches(x, y, 8)  # 7 batches, the last of 2 samples

    def endless():
        while True:
            yield from batches

    model = _model()
    hist = model.fit(endless(), steps_per_epoch=3, epochs=4, verbose=0)
    flat = batches * 2
    weights, history = _by_hand([flat[0:3], flat[3:6], flat[6:9], flat[9:12]])
    _same(model, weights, history, hist)


class Batches(en.utils.PyDataset):
    def __init__(self, x, y, size, **kwargs):
        super().__init__(**kwargs)
        self.x, self.y, self.size = x, y, size
        self.seen, self.epochs_ended = [], 0

    def __len__(self):
        return -(-len(self.x) // self.size)

    def __getitem__(self, i):
        self.seen.append(i)
        return self.x[i * self.size : (i + 1) * self.size], self.y[
            i * self.size : (i + 1) * self.size
        ]

    def on_epoch_end(self):
        self.epochs_ended += 1


def test_py_dataset_epochs_hooks_and_shuffled_batch_order():
    x, y = _data()
    ds = Batches(x, y, 16)
    model = _model()
    hist = model.fit(ds, epochs=2, shuffle=False, verbose=0)
    assert ds.seen == [0, 1, 2, 3] * 2 and ds.epochs_ended == 2
    weights, history = _by_hand([_batches(x, y, 16)] * 2)
    _same(model, weights, history, hist)
    shuffled = Batches(x, y, 16)
    _model().fit(shuffled, epochs=3, verbose=0)
    orders = [shuffled.seen[i : i + 4] for i in (0, 4, 8)]
    assert all(sorted(o) == [0, 1, 2, 3] for o in orders)
    assert len({tuple(o) for o in orders}) > 1


def test_arrays_with_steps_per_epoch_follow_keras():
    """5 batches a pass, 2 per epoch: [0 1] [2 3] [4] (ran out: a warning), then a new pass."""
    x, y = _data(40)
    batches = _batches(x, y, 8)
    model = _model()
    with pytest.warns(UserWarning, match="ran out of data"):
        hist = model.fit(x, y, batch_size=8, steps_per_epoch=2, epochs=4, shuffle=False, verbose=0)
    weights, history = _by_hand([batches[0:2], batches[2:4], batches[4:5], batches[0:2]])
    _same(model, weights, history, hist)


def test_finite_generator_trains_until_it_ends():
    x, y = _data()
    model = _model()
    with pytest.warns(UserWarning, match="ran out of data"):
        hist = model.fit(iter(_batches(x, y, 10)), epochs=3, verbose=0)
    assert len(hist.history["loss"]) == 1
    weights, history = _by_hand([_batches(x, y, 10)])
    _same(model, weights, history, hist)


def test_evaluate_and_predict_from_batches_equal_the_arrays():
    x, y = _data(45)
    model = _model()
    whole = model.evaluate(x, y, verbose=0, return_dict=True)
    ds = model.evaluate(Batches(x, y, 10), verbose=0, return_dict=True)
    for k in whole:
        assert ds[k] == pytest.approx(whole[k], rel=1e-5)
    listed = model.evaluate(Batches(x, y, 10), verbose=0)
    assert listed == pytest.approx([whole["loss"], whole["mae"]], rel=1e-5)
    two = model.evaluate(Batches(x, y, 10), steps=2, verbose=0, return_dict=True)
    want = model.evaluate(x[:20], y[:20], verbose=0, return_dict=True)
    assert two["loss"] == pytest.approx(want["loss"], rel=1e-5)
    pred = model.predict((bx for bx, _ in _batches(x, y, 7)), verbose=0)
    np.testing.assert_allclose(pred, model.predict(x, verbose=0), rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(
        model.predict(x, batch_size=10, steps=2, verbose=0),
        model.predict(x[:20], verbose=0),
        rtol=1e-5,
        atol=1e-6,
    )


def test_validation_from_a_py_dataset_and_unbuilt_models():
    x, y = _data()
    xv, yv = _data(30, seed=5)
    model = _model(built=False)  # built from the first batch
    hist = model.fit(
        Batches(x, y, 10),
        validation_data=Batches(xv, yv, 10),
        validation_steps=2,
        epochs=2,
        verbose=0,
    )
    # As Keras's: validation_steps=2 of 3 batches, so the second validation continues with
    # the third batch (made with the final weights, as evaluate is below).
    want = model.evaluate(xv[20:], yv[20:], verbose=0, return_dict=True)
    assert hist.history["val_loss"][-1] == pytest.approx(want["loss"], rel=1e-5)
    one = _model(built=False)
    hist = one.fit(
        Batches(x, y, 10), validation_data=Batches(xv, yv, 10), validation_steps=2, verbose=0
    )
    want = one.evaluate(xv[:20], yv[:20], verbose=0, return_dict=True)
    assert hist.history["val_loss"][-1] == pytest.approx(want["loss"], rel=1e-5)
    assert set(hist.history) == {"loss", "mae", "val_loss", "val_mae"}


def test_batch_callbacks_and_progress_with_unknown_length(capsys):
    x, y = _data(30)
    seen = []
    cb = en.callbacks.LambdaCallback(on_train_batch_end=lambda b, logs: seen.append((b, logs)))
    model = _model()
    with pytest.warns(UserWarning, match="ran out of data"):
        model.fit(iter(_batches(x, y, 10)), epochs=1, verbose=2, callbacks=[cb])
    assert [b for b, _ in seen] == [0, 1, 2]
    assert seen[-1][1]["loss"] == pytest.approx(model.history.history["loss"][0])
    assert "3/3" in capsys.readouterr().out


def test_errors_name_the_bad_value():
    x, y = _data()
    model = _model()
    gen = iter(_batches(x, y, 10))
    with pytest.raises(ValueError, match="must not be passed"):
        model.fit(gen, y, verbose=0)
    with pytest.raises(ValueError, match="validation_split` is only supported"):
        model.fit(Batches(x, y, 10), validation_split=0.2, verbose=0)
    with pytest.raises(ValueError, match="steps_per_epoch=0"):
        model.fit(x, y, steps_per_epoch=0, verbose=0)
    with pytest.raises(ValueError, match="steps=1.5"):
        model.evaluate(x, y, steps=1.5, verbose=0)
    with pytest.raises(NotImplementedError, match="workers=4"):
        Batches(x, y, 10, workers=4)
    with pytest.raises(ValueError, match="needs targets"):
        model.fit(iter([x[:10]]), verbose=0)
    with pytest.raises(ValueError, match="no batches"):
        model.predict(iter([]), verbose=0)
