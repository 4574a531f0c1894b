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


def _tape_matches_finite_differences(loss, model, x, y):
    """The tape's gradient of loss(y, model(x)) in the first kernel against central
    differences of the loss object's value."""
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
        _tape_matches_finite_differences(L.get(name), model, x, y)
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


# Focal losses and Huber's delta: Keras 3's golden numbers (keras/src/losses/losses_test.py).
BF_T = np.asarray([1, 0, 1, 0], dtype=float).reshape(2, 2)
BF_P = np.asarray([0.9, 0.8, 0.7, 0.2], dtype=np.float32).reshape(2, 2).astype(float)
BF_LT = np.array([[1, 1, 0], [0, 1, 0]], dtype=float)
BF_LOGITS = np.array([[1.5, -2.7, 2.9], [-3.8, 1.2, -4.5]])
SW2 = np.array([1.2, 3.4]).reshape(2, 1)


def test_binary_focal_crossentropy_keras_cases():
    bf = L.BinaryFocalCrossentropy(gamma=2.0)
    assert bf(BF_T, BF_P) == pytest.approx(0.268, abs=5e-4)
    assert bf(BF_T, BF_P, sample_weight=1.23) == pytest.approx(0.3296, abs=5e-4)
    assert bf(BF_T, BF_P, sample_weight=SW2) == pytest.approx(0.34415, abs=5e-4)
    none = L.BinaryFocalCrossentropy(gamma=2.0, reduction=None)(BF_T, BF_P)
    np.testing.assert_allclose(none, [0.515547, 0.020513], rtol=1e-4)
    logits = L.BinaryFocalCrossentropy(gamma=3.0, from_logits=True)
    assert logits(BF_LT, BF_LOGITS) == pytest.approx(0.799, abs=5e-4)
    assert logits(BF_LT, BF_LOGITS, sample_weight=3.21) == pytest.approx(2.565, abs=5e-4)
    assert logits(BF_LT, BF_LOGITS, sample_weight=SW2) == pytest.approx(0.95977, abs=5e-4)
    eye = np.eye(3)
    assert L.BinaryFocalCrossentropy(gamma=1.5)(eye, eye) == pytest.approx(0.0, abs=1e-3)
    assert L.BinaryFocalCrossentropy(from_logits=True)(eye, 200 * eye - 100) == pytest.approx(
        0.0, abs=1e-3
    )


def _bfce_reference(y, p, gamma, alpha, balanced, from_logits):
    """Keras's formula in NumPy."""
    q = 1 / (1 + np.exp(-p)) if from_logits else p
    if from_logits:
        bce = np.maximum(p, 0) - p * y + np.log1p(np.exp(-np.abs(p)))
    else:
        pc = np.clip(p, 1e-7, 1 - 1e-7)
        bce = -(y * np.log(pc) + (1 - y) * np.log(1 - pc))
    p_t = y * q + (1 - y) * (1 - q)
    out = (1 - p_t) ** gamma * bce
    if balanced:
        out = (y * alpha + (1 - y) * (1 - alpha)) * out
    return out.mean(axis=-1)


@pytest.mark.parametrize("from_logits", [False, True])
def test_binary_focal_balancing_and_smoothing_match_the_formula(from_logits):
    rng = np.random.default_rng(5)
    y = rng.integers(0, 2, (6, 3)).astype(float)
    p = rng.normal(size=(6, 3)) * 3 if from_logits else rng.uniform(0.02, 0.98, (6, 3))
    loss = L.BinaryFocalCrossentropy(
        apply_class_balancing=True, alpha=0.3, gamma=1.7, from_logits=from_logits, reduction=None
    )
    want = _bfce_reference(y, p, 1.7, 0.3, True, from_logits)
    np.testing.assert_allclose(loss(y, p), want, rtol=1e-12)
    smooth = L.BinaryFocalCrossentropy(label_smoothing=0.2, from_logits=from_logits)
    y_s = y * 0.8 + 0.1
    assert smooth(y, p) == pytest.approx(
        _bfce_reference(y_s, p, 2.0, 0.25, False, from_logits).mean(), rel=1e-12
    )
    fn = L.binary_focal_crossentropy(y, p, True, 0.3, 1.7, from_logits)
    np.testing.assert_allclose(fn, want, rtol=1e-12)


CF_T = np.eye(3)
CF_P = np.array([[0.9, 0.05, 0.05], [0.5, 0.89, 0.6], [0.05, 0.01, 0.94]], dtype=np.float32)
CF_LOGITS = np.array([[8.0, 1.0, 1.0], [0.0, 9.0, 1.0], [2.0, 3.0, 5.0]])


def test_categorical_focal_crossentropy_keras_cases():
    cf = L.CategoricalFocalCrossentropy()
    p = CF_P.astype(float)
    assert cf(CF_T, p) == pytest.approx(0.02059, abs=5e-4)
    assert cf(CF_T, p, sample_weight=2.3) == pytest.approx(0.047368, abs=5e-4)
    sw = np.array([[1.2], [3.4], [5.6]])
    assert cf(CF_T, p, sample_weight=sw) == pytest.approx(0.06987, abs=5e-4)
    logits = L.CategoricalFocalCrossentropy(from_logits=True)
    assert logits(CF_T, CF_LOGITS) == pytest.approx(0.000345, abs=5e-4)
    assert logits(CF_T, CF_LOGITS, sample_weight=2.3) == pytest.approx(0.000794, abs=5e-5)
    assert logits(CF_T, CF_LOGITS, sample_weight=sw) == pytest.approx(0.001933, abs=5e-4)
    none = L.CategoricalFocalCrossentropy(from_logits=True, reduction=None)(CF_T, CF_LOGITS)
    # Keras computed these in float32.
    np.testing.assert_allclose(none, [1.5096224e-09, 2.4136547e-11, 1.0360638e-03], rtol=1e-3)
    smooth = L.CategoricalFocalCrossentropy(from_logits=True, label_smoothing=0.1)
    assert smooth(np.array([[1, 0, 0]]), np.array([[4.9, -0.5, 2.05]])) == pytest.approx(
        0.06685, abs=5e-4
    )
    assert L.CategoricalFocalCrossentropy(from_logits=True)(CF_T, 10 * CF_T) == pytest.approx(
        0.0, abs=1e-3
    )


def test_huber_delta_matches_keras_formula():
    t = np.array([[1.0, 0.0, 1.0], [1.0, 0.0, 0.0]])
    p = np.array([[0.9, 0.2, 0.2], [0.8, 0.4, 0.6]])
    for delta in (0.3, 1.0, 2.5):
        err = np.abs(p - t)
        quad = np.minimum(err, delta)
        want = 0.5 * quad * quad + delta * (err - quad)
        assert L.Huber(delta=delta)(t, p) == pytest.approx(want.sum() / 6, rel=1e-12)
        np.testing.assert_allclose(L.huber(t, p, delta=delta), want.mean(axis=-1), rtol=1e-12)
    assert L.Huber(delta=0.3).get_config()["delta"] == 0.3
    with pytest.raises(ValueError, match="delta must be positive. Received: delta=-1"):
        L.Huber(delta=-1.0)
    with pytest.raises(ValueError, match="gamma must be >= 0"):
        L.BinaryFocalCrossentropy(gamma=-0.5)
    with pytest.raises(ValueError, match="alpha must be in"):
        L.BinaryFocalCrossentropy(alpha=1.5)
    with pytest.raises(TypeError, match="alpha must be a float"):
        L.BinaryFocalCrossentropy(alpha=[0.2, 0.8])
    with pytest.raises(ValueError, match="alpha must be >= 0"):
        L.CategoricalFocalCrossentropy(alpha=-0.5)
    with pytest.raises(ValueError, match="alpha must be >= 0"):
        L.CategoricalFocalCrossentropy(alpha=[0.2, -0.8])
    with pytest.raises(ValueError, match="one float per class"):
        L.CategoricalFocalCrossentropy(alpha=[[0.2, 0.8]])
    with pytest.raises(ValueError, match="alpha has 2 weights, but the output has 3 classes"):
        L.CategoricalFocalCrossentropy(alpha=[0.2, 0.8])(np.eye(3), np.full((3, 3), 1 / 3))
    with pytest.raises(ValueError, match="alpha has 2 weights, but the output has 3 classes"):
        model = en.Sequential([en.Input((2,)), en.layers.Dense(3, activation="softmax")])
        model.compile(loss=L.CategoricalFocalCrossentropy(alpha=[0.2, 0.8]))


def test_categorical_focal_class_alpha_weighs_each_class():
    # Keras broadcasts alpha over the class axis: each class's term is scaled by its own
    # weight, so one-hot targets of class k get exactly alpha[k] times the alpha=1 value.
    rng = np.random.default_rng(31)
    p = rng.dirichlet([1, 1, 1], 6)
    labels = np.array([0, 1, 2, 2, 1, 0])
    y = np.eye(3)[labels]
    alpha = [0.2, 1.5, 0.7]
    for from_logits, q in ((False, p), (True, np.log(p) + 0.3)):
        unit = L.categorical_focal_crossentropy(y, q, alpha=1.0, from_logits=from_logits)
        got = L.categorical_focal_crossentropy(y, q, alpha=alpha, from_logits=from_logits)
        np.testing.assert_allclose(got, np.take(alpha, labels) * unit, rtol=1e-12)
        # A list of one weight, or of equal weights, is that scalar (Keras's broadcasting).
        for same in ([0.4], [0.4, 0.4, 0.4]):
            np.testing.assert_allclose(
                L.categorical_focal_crossentropy(y, q, alpha=same, from_logits=from_logits),
                0.4 * unit,
                rtol=1e-12,
            )
    obj = L.CategoricalFocalCrossentropy(alpha=np.array(alpha), gamma=1.5)
    assert obj.get_config()["alpha"] == alpha
    assert L.CategoricalFocalCrossentropy.from_config(obj.get_config())(y, p) == obj(y, p)


@pytest.mark.parametrize(
    "loss",
    [
        lambda: L.Huber(delta=0.4),
        lambda: L.BinaryFocalCrossentropy(apply_class_balancing=True, alpha=0.4, gamma=1.5),
        lambda: L.BinaryFocalCrossentropy(gamma=2.5, from_logits=True),
        lambda: L.CategoricalFocalCrossentropy(alpha=0.5, gamma=1.2),
        lambda: L.CategoricalFocalCrossentropy(from_logits=True),
        lambda: L.CategoricalFocalCrossentropy(alpha=[0.2, 1.5, 0.7], gamma=1.2),
        lambda: L.CategoricalFocalCrossentropy(alpha=[0.9, 0.3, 2.0], from_logits=True),
    ],
)
def test_parameterised_losses_train_and_differentiate(loss):
    en.config.set_floatx("float64")
    en.utils.set_random_seed(22)
    rng = np.random.default_rng(23)
    x = rng.normal(size=(8, 4))
    obj = loss()
    name = type(obj).__name__
    if name == "Huber":
        act, y = None, 2 * rng.normal(size=(8, 3))
    elif name == "BinaryFocalCrossentropy":
        act, y = (None if obj.from_logits else "sigmoid"), rng.integers(0, 2, (8, 3)) * 1.0
    else:
        act, y = (None if obj.from_logits else "softmax"), np.eye(3)[rng.integers(0, 3, 8)]
    model = en.Sequential([en.Input((4,)), en.layers.Dense(3, activation=act)])
    _tape_matches_finite_differences(obj, model, x, y)
    model.compile(optimizer=en.optimizers.Adam(0.05), loss=obj)
    h = model.fit(x, y, epochs=20, batch_size=8, verbose=0)
    assert h.history["loss"][-1] < h.history["loss"][0]
    # The compiled loss is the loss object's value (parameters included).
    assert model.evaluate(x, y, verbose=0) == pytest.approx(obj(y, model.predict(x, verbose=0)))


def test_focal_losses_match_real_keras():
    import os
    import warnings

    os.environ.setdefault("KERAS_BACKEND", "torch")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        keras = pytest.importorskip("keras")
    rng = np.random.default_rng(9)
    y = rng.integers(0, 2, (5, 4)).astype("float32")
    p = rng.uniform(0.01, 0.99, (5, 4)).astype("float32")
    z = rng.normal(size=(5, 4)).astype("float32") * 3
    onehot = np.eye(4, dtype="float32")[rng.integers(0, 4, 5)]
    cases = [
        ("BinaryFocalCrossentropy", {"gamma": 1.3}, y, p),
        ("BinaryFocalCrossentropy", {"apply_class_balancing": True, "alpha": 0.35}, y, p),
        ("BinaryFocalCrossentropy", {"from_logits": True, "label_smoothing": 0.1}, y, z),
        ("CategoricalFocalCrossentropy", {"alpha": 0.6, "gamma": 0.8}, onehot, p),
        ("CategoricalFocalCrossentropy", {"from_logits": True}, onehot, z),
        ("CategoricalFocalCrossentropy", {"alpha": 1.7}, onehot, p),
        ("CategoricalFocalCrossentropy", {"alpha": [0.1, 0.4, 1.3, 0.8], "gamma": 1.5}, onehot, p),
        (
            "CategoricalFocalCrossentropy",
            {"alpha": [0.6, 0.2, 0.9, 1.1], "from_logits": True, "label_smoothing": 0.1},
            onehot,
            z,
        ),
        ("Huber", {"delta": 0.7}, y, z),
    ]
    for cls, kwargs, t, q in cases:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            want = float(keras.losses.get(cls).__class__(**kwargs)(t, q))
        got = getattr(L, cls)(**kwargs)(t, q)
        assert got == pytest.approx(want, rel=2e-5), (cls, kwargs)


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_categorical_focal_class_alpha_fit_and_files_match_real_keras(tmp_path):
    import os

    os.environ.setdefault("KERAS_BACKEND", "torch")
    keras = pytest.importorskip("keras")
    rng = np.random.default_rng(12)
    x = rng.normal(size=(40, 5)).astype("float32")
    y = np.eye(3, dtype="float32")[rng.integers(0, 3, 40)]
    alpha = [0.25, 1.5, 0.6]
    models = {}
    for lib in (en, keras):
        lib.utils.set_random_seed(3)
        models[lib] = lib.Sequential(
            [lib.Input((5,)), lib.layers.Dense(6, activation="tanh"), lib.layers.Dense(3)]
        )
    models[keras].set_weights(models[en].get_weights())
    hist = {}
    for lib, model in models.items():
        loss = lib.losses.CategoricalFocalCrossentropy(alpha=alpha, gamma=1.5, from_logits=True)
        model.compile(lib.optimizers.SGD(0.1), loss)
        hist[lib] = model.fit(x, y, batch_size=16, epochs=3, shuffle=False, verbose=0).history
    np.testing.assert_allclose(hist[en]["loss"], hist[keras]["loss"], rtol=2e-5)
    for a, b in zip(models[en].get_weights(), models[keras].get_weights()):
        np.testing.assert_allclose(a, b, atol=2e-6)
    # The list travels in .keras files both ways.
    for lib, other in ((en, keras), (keras, en)):
        models[lib].save(tmp_path / "f.keras")
        back = other.models.load_model(tmp_path / "f.keras")
        assert list(back.loss.get_config()["alpha"]) == pytest.approx(alpha)
        assert back.evaluate(x, y, verbose=0) == pytest.approx(
            models[lib].evaluate(x, y, verbose=0), rel=2e-5
        )
