"""Losses against Keras 3's own test cases (keras/src/losses/losses_test.py: the same inputs and
expected values), their reductions, and their gradients through a GradientTape."""

from __future__ import annotations

import numpy as np
import pytest

import eigennet as en

L = en.losses
YT = np.array([[1, 9, 2], [-5, -2, 6]], dtype=np.float32)
YP = np.array([[4, 8, 12], [8, 1, 3]], dtype=np.float32)
SW = np.array([[1.2], [3.4]])


def test_mse_reductions_keras_cases():
    assert L.MeanSquaredError()(YT, YP) == pytest.approx(49.5, rel=1e-6)
    assert L.MeanSquaredError()(YT, YP, sample_weight=2.3) == pytest.approx(113.85, rel=1e-6)
    assert L.MeanSquaredError()(YT, YP, sample_weight=SW) == pytest.approx(767.8 / 6, rel=1e-6)
    assert L.MeanSquaredError()(YT, YP, sample_weight=0) == 0.0
    np.testing.assert_allclose(
        L.MeanSquaredError(reduction=None)(YT, YP, sample_weight=2.3),
        [84.3333, 143.3666],
        rtol=1e-5,
    )
    assert L.MeanSquaredError(reduction="sum")(YT, YP, sample_weight=2.3) == pytest.approx(
        227.69998, rel=1e-6
    )
    assert L.MeanSquaredError(reduction="mean_with_sample_weight")(
        YT, YP, sample_weight=SW
    ) == pytest.approx((110 / 3 * 1.2 + 187 / 3 * 3.4) / (1.2 + 3.4), rel=1e-6)
    with pytest.raises(ValueError, match="Invalid value for argument `reduction`"):
        L.MeanSquaredError(reduction="abc")


def test_mape_and_msle_keras_cases():
    mape, msle = L.MeanAbsolutePercentageError(), L.MeanSquaredLogarithmicError()
    assert mape(YT, YP) == pytest.approx(211.8518, abs=1e-3)
    assert mape(YT, YP, sample_weight=2.3) == pytest.approx(487.259, abs=1e-3)
    assert mape(YT, YP, sample_weight=SW) == pytest.approx(422.8888, abs=1e-3)
    assert mape(YT, YT) == 0.0
    assert msle(YT, YP) == pytest.approx(1.4370, abs=1e-3)
    assert msle(YT, YP, sample_weight=2.3) == pytest.approx(3.3051, abs=1e-3)
    assert msle(YT, YP, sample_weight=SW) == pytest.approx(3.7856, abs=1e-3)
    assert L.msle is L.mean_squared_logarithmic_error and L.MAPE is L.mape


def test_log_cosh_huber_poisson_kld_keras_cases():
    err = (YP - YT).astype(np.float64)
    logcosh = np.log((np.exp(err) + np.exp(-err)) / 2)
    assert L.LogCosh()(YT, YP) == pytest.approx(logcosh.sum() / 6, rel=1e-5)
    w = np.array([1.2, 1.2, 1.2, 3.4, 3.4, 3.4]).reshape(2, 3)
    assert L.LogCosh()(YT, YP, sample_weight=[1.2, 3.4]) == pytest.approx(
        (logcosh * w).sum() / 6, rel=1e-5
    )
    hp = np.array([[0.9, 0.2, 0.2], [0.8, 0.4, 0.6]])
    ht = np.array([[1.0, 0.0, 1.0], [1.0, 0.0, 0.0]])
    a = np.abs(hp - ht)
    q = np.minimum(a, 1.0)
    huber = 0.5 * q * q + (a - q)
    assert L.Huber()(ht, hp) == pytest.approx(huber.sum() / 6, rel=1e-12)
    assert L.Huber()(ht, hp, sample_weight=SW) == pytest.approx((huber * w).sum() / 6, rel=1e-12)
    with pytest.raises(NotImplementedError, match="delta"):
        L.Huber(delta=0.8)
    pp = np.array([1, 9, 2, 5, 2, 6], dtype=np.float32).reshape(2, 3)
    pt = np.array([4, 8, 12, 8, 1, 3], dtype=np.float32).reshape(2, 3)
    poisson = pp - pt * np.log(pp)
    assert L.Poisson()(pt, pp) == pytest.approx(poisson.sum() / 6, rel=1e-5)
    kp = np.array([0.4, 0.9, 0.12, 0.36, 0.3, 0.4], dtype=np.float32).reshape(2, 3)
    kt = np.array([0.5, 0.8, 0.12, 0.7, 0.43, 0.8], dtype=np.float32).reshape(2, 3)
    kld = kt * np.log(kt / kp)
    assert L.KLDivergence()(kt, kp) == pytest.approx(kld.sum() / 2, rel=1e-5)
    assert L.KLDivergence()(kt, kp, sample_weight=SW) == pytest.approx(
        (kld * w).sum() / 2, rel=1e-5
    )


def test_cosine_similarity_and_categorical_hinge_keras_cases():
    def l2(x):
        return x / np.sqrt(np.maximum(np.sum(x * x, axis=1, keepdims=True), 1e-12))

    expected = np.sum(l2(YT.astype(np.float64)) * l2(YP.astype(np.float64)), axis=1)
    assert L.CosineSimilarity()(YT, YP) == pytest.approx(-np.mean(expected), rel=1e-5)
    assert L.CosineSimilarity()(YT, YP, sample_weight=[1.2, 3.4]) == pytest.approx(
        -np.mean(expected * [1.2, 3.4]), rel=1e-5
    )
    ht, hp = np.array([[0.0, 1.0], [0.0, 0.0]]), np.array([[0.6, 0.4], [0.4, 0.6]])
    assert L.CategoricalHinge()(ht, hp) == pytest.approx(1.4)
    assert L.CategoricalHinge(reduction="sum")(ht, hp) == pytest.approx(2.8)
    np.testing.assert_allclose(L.CategoricalHinge(reduction=None)(ht, hp), [1.2, 1.6])
    assert L.CategoricalHinge()(ht, hp, sample_weight=[1, 0]) == pytest.approx(0.6)
    assert L.CategoricalHinge(reduction="sum")(ht, hp, sample_weight=[1, 0]) == pytest.approx(1.2)


NEW = [
    ("mean_squared_logarithmic_error", lambda r: r.uniform(0.1, 3, (6, 3))),
    ("mean_absolute_percentage_error", lambda r: r.uniform(-2, 2, (6, 3))),
    ("log_cosh", lambda r: r.normal(size=(6, 3))),
    ("huber", lambda r: 2 * r.normal(size=(6, 3))),
    ("poisson", lambda r: r.uniform(0.1, 3, (6, 3))),
    ("kl_divergence", lambda r: r.dirichlet([1, 1, 1], 6)),
    ("cosine_similarity", lambda r: r.normal(size=(6, 3))),
    ("categorical_hinge", lambda r: np.eye(3)[r.integers(0, 3, 6)]),
]


@pytest.mark.parametrize("name,targets", NEW, ids=[n for n, _ in NEW])
def test_new_losses_train_and_differentiate(name, targets):
    # fit minimises them (the compiled loss falls), and the tape's gradient matches
    # finite differences of the loss object's value.
    en.config.set_floatx("float64")
    try:
        en.utils.set_random_seed(20)
        rng = np.random.default_rng(21)
        x, y = rng.normal(size=(6, 4)), targets(rng)
        act = (
            "softmax"
            if name == "kl_divergence"
            else ("softplus" if name in ("poisson", "mean_squared_logarithmic_error") else None)
        )
        model = en.Sequential([en.Input((4,)), en.layers.Dense(3, activation=act)])
        loss = L.get(name)
        with en.GradientTape() as tape:
            value = loss(y, model(x))
        grads = tape.gradient(value, model.trainable_weights)
        kernel = model.trainable_weights[0]
        base = kernel.numpy()
        fd = np.zeros_like(base)
        for i in np.ndindex(base.shape):
            for sign in (1, -1):
                w = base.copy()
                w[i] += sign * 1e-6
                kernel.assign(w)
                fd[i] += sign * loss(y, model.predict_on_batch(x)) / 2e-6
        kernel.assign(base)
        np.testing.assert_allclose(grads[0], fd, rtol=1e-5, atol=1e-8)
        model.compile(optimizer=en.optimizers.Adam(0.05), loss=name)
        h = model.fit(x, y, epochs=30, batch_size=6, verbose=0)
        assert h.history["loss"][-1] < h.history["loss"][0]
    finally:
        en.config.set_floatx("float32")


def test_compile_refuses_reductions_fit_does_not_apply():
    model = en.Sequential([en.Input((2,)), en.layers.Dense(1)])
    with pytest.raises(ValueError, match="reduction='sum'"):
        model.compile(loss=L.MeanSquaredError(reduction="sum"))


def test_hinge_and_squared_hinge_keras_cases():
    yt, yp = np.array([[0.0, 1.0], [0.0, 0.0]]), np.array([[0.6, 0.4], [0.4, 0.6]])
    assert L.Hinge()(yt, yp) == pytest.approx(1.3)
    assert L.Hinge(reduction="sum")(yt, yp) == pytest.approx(2.6)
    np.testing.assert_allclose(L.Hinge(reduction=None)(yt, yp), [1.1, 1.5])
    assert L.Hinge()(yt, yp, sample_weight=[1, 0]) == pytest.approx(0.55)
    np.testing.assert_allclose(
        L.SquaredHinge(reduction=None)(yt, yp, sample_weight=[1, 0]), [1.46, 0.0]
    )
    assert L.SquaredHinge()(yt, yp) == pytest.approx((1.46 + 2.26) / 2)
    # Labels already in {-1, 1} are taken as they are.
    np.testing.assert_allclose(L.hinge(2 * yt - 1, yp), [1.1, 1.5])


def test_label_smoothing_keras_cases():
    logits = np.array([[10.0, -10.0, -10.0]])
    bce = L.BinaryCrossentropy(from_logits=True, label_smoothing=0.1)
    assert bce(np.array([[1, 0, 1]]), logits) == pytest.approx((10.0 + 5.0 * 0.1) / 3.0, abs=1e-3)
    cce = L.CategoricalCrossentropy(from_logits=True, label_smoothing=0.1)
    assert cce(np.array([[1, 0, 0]]), np.array([[100.0, -100.0, -100.0]])) == pytest.approx(
        400.0 * 0.1 / 3.0, rel=1e-6
    )
    assert bce.get_config()["label_smoothing"] == 0.1
    with pytest.raises(ValueError, match="label_smoothing"):
        L.CategoricalCrossentropy(label_smoothing=1.5)


def test_fit_uses_smoothed_targets_and_hinge_labels():
    # train_on_batch reports the loss before the update: it must equal the loss object's value
    # on the same predictions (smoothed targets, {0, 1} labels as {-1, 1}).
    en.config.set_floatx("float64")
    try:
        rng = np.random.default_rng(50)
        x = rng.normal(size=(8, 4))
        for loss, y, act in (
            (
                L.CategoricalCrossentropy(label_smoothing=0.2),
                np.eye(3)[rng.integers(0, 3, 8)],
                "softmax",
            ),
            (
                L.BinaryCrossentropy(label_smoothing=0.3),
                rng.integers(0, 2, (8, 3)).astype(float),
                "sigmoid",
            ),
            (L.Hinge(), rng.integers(0, 2, (8, 3)).astype(float), None),
            (L.SquaredHinge(), rng.integers(0, 2, (8, 3)).astype(float), None),
        ):
            en.utils.set_random_seed(51)
            model = en.Sequential([en.Input((4,)), en.layers.Dense(3, activation=act)])
            model.compile(optimizer="sgd", loss=loss)
            want = loss(y, model.predict_on_batch(x))
            assert model.train_on_batch(x, y) == pytest.approx(want, rel=1e-9), loss.name
    finally:
        en.config.set_floatx("float32")
