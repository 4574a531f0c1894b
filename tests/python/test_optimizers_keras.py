"""Optimizers against Keras 3's own test cases (keras/src/optimizers/*_test.py: the same
gradients and golden trajectories), weight decay and clipvalue, and fit against the hand path."""

from __future__ import annotations

import numpy as np
import pytest

import eigennet as en

opts = en.optimizers


def _variable(values):
    """A Dense kernel (1, n) holding `values`: a variable the optimizers can update."""
    values = np.asarray(values, dtype=np.float64).reshape(1, -1)
    layer = en.layers.Dense(values.shape[1], use_bias=False)
    en.Sequential([en.Input((1,)), layer]).build((None, 1))
    layer.kernel.assign(values)
    return layer.kernel


@pytest.fixture(autouse=True)
def f64():
    en.config.set_floatx("float64")
    yield
    en.config.set_floatx("float32")


SINGLE = [
    (lambda: opts.Lion(learning_rate=0.5), [0.5, 1.5, 2.5, 3.5]),
    (lambda: opts.Nadam(learning_rate=0.5), [0.4686, 1.4686, 2.4686, 3.4686]),
    (lambda: opts.Adamax(learning_rate=0.5), [0.5, 1.5, 2.5, 3.5]),
    (lambda: opts.Adadelta(learning_rate=0.5), [0.9993, 1.9993, 2.9993, 3.9993]),
    (lambda: opts.AdamW(learning_rate=0.5), [0.4980, 1.4960, 2.494, 3.492]),
    (lambda: opts.Ftrl(learning_rate=0.5), [0.2218, 1.3954, 2.3651, 2.8814]),
]


@pytest.mark.parametrize(
    "make,want", SINGLE, ids=["lion", "nadam", "adamax", "adadelta", "adamw", "ftrl"]
)
def test_single_step_keras_cases(make, want):
    v = _variable([1.0, 2.0, 3.0, 4.0])
    make().apply_gradients([(np.array([[1.0, 6.0, 7.0, 2.0]]), v)])
    np.testing.assert_allclose(v.numpy()[0], want, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize(
    "cls", [opts.Lion, opts.Nadam, opts.Adamax, opts.Adadelta, opts.AdamW, opts.Adam, opts.SGD]
)
def test_weight_decay_keras_case(cls):
    # Three optimizers each decay the same variable once: 2 * (1 - 0.004)**3.
    v = _variable([2.0])
    for _ in range(3):
        cls(learning_rate=1.0, weight_decay=0.004).apply_gradients([(np.zeros((1, 1)), v)])
    assert v.numpy()[0, 0] == pytest.approx(1.9760959, abs=1e-6)


GOLDEN = {
    "adam_amsgrad": (
        lambda: opts.Adam(amsgrad=True),
        np.tile([[0.999], [0.9982], [0.9974], [0.9965], [0.9955]], (1, 10)),
    ),
    "rmsprop_centered": (
        lambda: opts.RMSprop(centered=True),
        np.tile([[0.9967], [0.9933], [0.9908], [0.9885], [0.9864]], (1, 10)),
    ),
    "lion": (lambda: opts.Lion(), np.tile([[0.999], [0.998], [0.997], [0.996], [0.995]], (1, 10))),
    "adadelta": (
        lambda: opts.Adadelta(learning_rate=1.0, rho=0.8, epsilon=1e-6),
        np.tile([[0.9978], [0.9947], [0.9915], [0.9882], [0.9849]], (1, 10)),
    ),
    "nadam": (
        lambda: opts.Nadam(learning_rate=0.5, beta_1=0.5, beta_2=0.67, epsilon=1e-5),
        np.array(
            [
                [0.4281] * 10,
                [
                    -0.1738,
                    -0.1731,
                    -0.1726,
                    -0.1723,
                    -0.1721,
                    -0.172,
                    -0.1719,
                    -0.1718,
                    -0.1718,
                    -0.1717,
                ],
                [
                    -0.7115,
                    -0.7103,
                    -0.7096,
                    -0.7092,
                    -0.709,
                    -0.7088,
                    -0.7086,
                    -0.7085,
                    -0.7085,
                    -0.7084,
                ],
                [
                    -1.2335,
                    -1.2322,
                    -1.2313,
                    -1.2309,
                    -1.2306,
                    -1.2304,
                    -1.2302,
                    -1.2301,
                    -1.23,
                    -1.2299,
                ],
                [
                    -1.7492,
                    -1.7478,
                    -1.7469,
                    -1.7464,
                    -1.7461,
                    -1.7459,
                    -1.7457,
                    -1.7456,
                    -1.7455,
                    -1.7454,
                ],
            ]
        ),
    ),
    "adamax": (
        lambda: opts.Adamax(learning_rate=0.2, beta_1=0.85, beta_2=0.95, epsilon=1e-6),
        np.array(
            [
                [0.8] * 10,
                [0.6827, 0.6873, 0.6888, 0.6896, 0.6901, 0.6904, 0.6906, 0.6908, 0.6909, 0.691],
                [0.5333, 0.5407, 0.5431, 0.5444, 0.5451, 0.5456, 0.546, 0.5462, 0.5464, 0.5466],
                [0.368, 0.3773, 0.3804, 0.382, 0.3829, 0.3835, 0.384, 0.3843, 0.3846, 0.3848],
                [0.1933, 0.204, 0.2076, 0.2094, 0.2105, 0.2112, 0.2117, 0.2121, 0.2124, 0.2126],
            ]
        ),
    ),
    "ftrl": (
        lambda: opts.Ftrl(
            learning_rate=0.05,
            learning_rate_power=-0.2,
            initial_accumulator_value=0.4,
            l1_regularization_strength=0.05,
            l2_regularization_strength=0.15,
            l2_shrinkage_regularization_strength=0.01,
            beta=0.3,
        ),
        np.array(
            [
                [0.0] * 10,
                [
                    -0.0034,
                    -0.0077,
                    -0.0118,
                    -0.0157,
                    -0.0194,
                    -0.023,
                    -0.0263,
                    -0.0294,
                    -0.0325,
                    -0.0354,
                ],
                [
                    -0.0078,
                    -0.0162,
                    -0.0242,
                    -0.0317,
                    -0.0387,
                    -0.0454,
                    -0.0516,
                    -0.0575,
                    -0.0631,
                    -0.0685,
                ],
                [
                    -0.0121,
                    -0.0246,
                    -0.0363,
                    -0.0472,
                    -0.0573,
                    -0.0668,
                    -0.0757,
                    -0.0842,
                    -0.0922,
                    -0.0999,
                ],
                [
                    -0.0164,
                    -0.0328,
                    -0.0481,
                    -0.0623,
                    -0.0753,
                    -0.0875,
                    -0.099,
                    -0.1098,
                    -0.1201,
                    -0.1299,
                ],
            ]
        ),  # fmt: skip
    ),
    "adamw": (
        lambda: opts.AdamW(learning_rate=1.0, weight_decay=0.5, epsilon=2),
        np.array(
            [
                [0.4998] * 10,
                [0.2486, 0.2475, 0.2463, 0.2451, 0.244, 0.2428, 0.2417, 0.2405, 0.2394, 0.2382],
                [0.1223, 0.1198, 0.1174, 0.1149, 0.1124, 0.11, 0.1075, 0.1051, 0.1027, 0.1003],
                [0.0586, 0.0549, 0.0512, 0.0475, 0.0439, 0.0402, 0.0366, 0.033, 0.0294, 0.0258],
                [0.0263, 0.0215, 0.0167, 0.012, 0.0073, 0.0026, -0.0021, -0.0067, -0.0113, -0.0159],
            ]
        ),
    ),
}


@pytest.mark.parametrize("name", sorted(GOLDEN))
def test_correctness_with_keras_golden(name):
    make, golden = GOLDEN[name]
    opt, v = make(), _variable(np.ones(10))
    opt.apply_gradients([(np.full((1, 10), 0.01), v)])
    grads = np.arange(0.1, 1.1, 0.1).reshape(1, 10)
    for i in range(5):
        np.testing.assert_allclose(v.numpy()[0], golden[i], rtol=5e-4, atol=5e-4)
        opt.apply_gradients([(grads, v)])


def test_clipnorm_and_global_clipnorm_keras_cases():
    # optimizer_test.py: clipnorm=1 scales [100, 100] to [√2/2, √2/2]; global_clipnorm=1 scales
    # [50, 100] by its norm. SGD at lr 1 moves the weight by minus the clipped gradient.
    v = _variable([0.0, 0.0])
    opts.SGD(learning_rate=1.0, clipnorm=1).apply_gradients([(np.array([[100.0, 100.0]]), v)])
    np.testing.assert_allclose(v.numpy()[0], [-(2**0.5) / 2] * 2, rtol=1e-12)
    v = _variable([0.0, 0.0])
    opts.SGD(learning_rate=1.0, global_clipnorm=1).apply_gradients([(np.array([[50.0, 100.0]]), v)])
    np.testing.assert_allclose(v.numpy()[0], -np.array([50.0, 100.0]) / np.hypot(50, 100))

    # clipnorm clips each variable on its own, global_clipnorm all of them together; a
    # gradient already inside the norm is left alone.
    def kernel_and_bias():
        layer = en.layers.Dense(1, kernel_initializer="zeros")
        en.Sequential([en.Input((2,)), layer]).build((None, 2))
        return layer.kernel, layer.bias

    ga, gb = np.array([[3.0], [4.0]]), np.array([12.0])
    a, b = kernel_and_bias()
    opts.SGD(learning_rate=1.0, clipnorm=5.0).apply_gradients([(ga, a), (gb, b)])
    np.testing.assert_allclose(a.numpy()[:, 0], [-3.0, -4.0])
    np.testing.assert_allclose(b.numpy(), [-5.0])
    a, b = kernel_and_bias()
    opts.SGD(learning_rate=1.0, global_clipnorm=6.5).apply_gradients([(ga, a), (gb, b)])
    np.testing.assert_allclose(np.r_[a.numpy()[:, 0], b.numpy()], -np.r_[3.0, 4.0, 12.0] / 2)
    # Variables of two models have no common norm inside the core: refused, not approximated.
    with pytest.raises(NotImplementedError, match="global_clipnorm"):
        opts.SGD(global_clipnorm=1.0).apply_gradients(
            [(np.ones((1, 1)), _variable([0.0])), (np.ones((1, 1)), _variable([0.0]))]
        )
    with pytest.raises(ValueError, match="Only one of `clipnorm`, `clipvalue` and"):
        opts.SGD(clipnorm=0.1, global_clipnorm=0.1)
    assert opts.SGD(clipnorm=0.1).get_config()["clipnorm"] == 0.1
    with pytest.raises(ValueError, match="learning_rate_power"):
        opts.Ftrl(learning_rate_power=0.5)


def test_clipvalue_clips_each_gradient():
    # SGD at lr 1 moves the weight by the clipped gradient.
    v = _variable([0.0, 0.0, 0.0])
    opts.SGD(learning_rate=1.0, clipvalue=1.0).apply_gradients(
        [(np.array([[100.0, -0.5, -7.0]]), v)]
    )
    np.testing.assert_allclose(v.numpy()[0], [-1.0, 0.5, 1.0])


@pytest.mark.parametrize(
    "make",
    [
        lambda: opts.AdamW(0.01, weight_decay=0.1),
        lambda: opts.Adamax(0.01),
        lambda: opts.Nadam(0.01),
        lambda: opts.Lion(0.001),
        lambda: opts.Adadelta(1.0),
        lambda: opts.RMSprop(0.01, clipvalue=0.05),
        lambda: opts.AdamW(0.01, weight_decay=0.1, amsgrad=True),
        lambda: opts.RMSprop(0.01, momentum=0.3, centered=True),
        lambda: opts.Ftrl(0.05, l1_regularization_strength=0.01, beta=0.1),
        lambda: opts.Adam(0.01, clipnorm=0.05),
        lambda: opts.SGD(0.1, momentum=0.5, global_clipnorm=0.1),
        lambda: opts.Adam(0.01, use_ema=True, ema_momentum=0.6, ema_overwrite_frequency=3),
    ],
    ids=[
        "adamw",
        "adamax",
        "nadam",
        "lion",
        "adadelta",
        "rmsprop_clipvalue",
        "adamw_amsgrad",
        "rmsprop_centered_momentum",
        "ftrl",
        "adam_clipnorm",
        "sgd_global_clipnorm",
        "adam_ema",
    ],
)
def test_fit_equals_the_tape_loop_bitwise(make):
    def build():
        en.utils.set_random_seed(30)
        return en.Sequential(
            [en.Input((4,)), en.layers.Dense(5, activation="tanh"), en.layers.Dense(2)]
        )

    fitted, looped = build(), build()
    fitted.compile(optimizer=make(), loss="mse")
    opt = make()
    rng = np.random.default_rng(31)
    for _ in range(4):
        x, y = rng.normal(size=(8, 4)), rng.normal(size=(8, 2))
        fitted.train_on_batch(x, y)
        with en.GradientTape() as tape:
            loss = en.losses.MeanSquaredError()(y, looped(x, training=True))
        opt.apply_gradients(
            zip(tape.gradient(loss, looped.trainable_weights), looped.trainable_weights)
        )
    for a, b in zip(fitted.get_weights(), looped.get_weights()):
        np.testing.assert_array_equal(a, b)
    fitted.optimizer.finalize_variable_values(fitted.trainable_weights)
    opt.finalize_variable_values(looped.trainable_weights)
    for a, b in zip(fitted.get_weights(), looped.get_weights()):
        np.testing.assert_array_equal(a, b)
    # The state survives a save and load.
    again = en.optimizers.deserialize(en.optimizers.serialize(fitted.optimizer))
    assert again.get_config() == fitted.optimizer.get_config()


def test_ema_keras_case():
    # optimizer_test.py's test_ema: SGD(1.0) with averages (momentum 0.9) that overwrite the
    # variable every third step; the average starts at the first step's value.
    layer = en.layers.Dense(2, use_bias=False)
    en.Sequential([en.Input((2,)), layer]).build((None, 2))
    layer.kernel.assign([[3.0, 4.0], [5.0, 6.0]])
    opt = opts.SGD(learning_rate=1.0, use_ema=True, ema_momentum=0.9, ema_overwrite_frequency=3)
    grads = np.ones((2, 2))
    opt.apply_gradients([(grads, layer.kernel)])
    np.testing.assert_allclose(layer.kernel.numpy(), [[2.0, 3.0], [4.0, 5.0]])
    opt.apply_gradients([(grads, layer.kernel)])
    np.testing.assert_allclose(layer.kernel.numpy(), [[1.0, 2.0], [3.0, 4.0]])
    opt.apply_gradients([(grads, layer.kernel)])
    np.testing.assert_allclose(layer.kernel.numpy(), [[1.71, 2.71], [3.71, 4.71]])
    opt.apply_gradients([(grads, layer.kernel)])
    # Without an overwrite the weights run on; finalize_variable_values takes the average.
    np.testing.assert_allclose(layer.kernel.numpy(), [[0.71, 1.71], [2.71, 3.71]])
    opt.finalize_variable_values([layer.kernel])
    np.testing.assert_allclose(
        layer.kernel.numpy(), 0.9 * 1.71 + 0.1 * 0.71 + np.arange(4.0).reshape(2, 2)
    )


def test_ema_with_model_fit_keras_case():
    # optimizer_test.py's test_ema_with_model_fit: fit ends with the averages.
    model = en.Sequential([en.layers.Dense(2, kernel_initializer="ones", use_bias=False)])
    opt = opts.SGD(learning_rate=0.1, use_ema=True, ema_momentum=0.9)
    model.compile(loss="mse", optimizer=opt)
    # Keras's test broadcasts a (1, 1) target over the two outputs; eigennet takes them whole.
    model.fit(np.ones((1, 1)), np.zeros((1, 2)), batch_size=1, epochs=2, verbose=0)
    np.testing.assert_allclose(model.trainable_variables[0].numpy(), [[0.891, 0.891]], atol=1e-5)
    assert opt.get_config()["use_ema"] is True
    assert opts.deserialize(opts.serialize(opt)).ema_momentum == 0.9


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
@pytest.mark.parametrize(
    "make",
    [
        lambda o: o.Adam(0.05, use_ema=True, ema_momentum=0.8),
        lambda o: o.SGD(0.1, momentum=0.9, use_ema=True, ema_overwrite_frequency=4),
        lambda o: o.RMSprop(0.01, momentum=0.5, centered=True, use_ema=True),
    ],
    ids=["adam", "sgd_overwrite", "rmsprop"],
)
def test_ema_fit_matches_keras(make):
    import os
    import warnings

    os.environ.setdefault("KERAS_BACKEND", "torch")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        keras = pytest.importorskip("keras")
    rng = np.random.default_rng(11)
    x = rng.normal(size=(30, 3)).astype(np.float32)
    y = rng.normal(size=(30, 2)).astype(np.float32)

    def build(lib):
        L, C = lib.layers, lib.constraints
        return lib.Sequential(
            [lib.Input((3,)), L.Dense(5, activation="tanh", kernel_constraint=C.MaxNorm(0.9)),
             L.Dense(2)]
        )  # fmt: skip

    en.config.set_floatx("float32")
    ours, theirs = build(en), build(keras)
    theirs.set_weights(ours.get_weights())
    ours.compile(make(opts), "mse")
    theirs.compile(make(keras.optimizers), "mse")
    h1 = ours.fit(x, y, batch_size=8, epochs=3, shuffle=False, verbose=0)
    h2 = theirs.fit(x, y, batch_size=8, epochs=3, shuffle=False, verbose=0)
    np.testing.assert_allclose(h1.history["loss"], h2.history["loss"], rtol=1e-5)
    for a, b in zip(ours.get_weights(), theirs.get_weights()):
        np.testing.assert_allclose(a, np.asarray(b), atol=2e-6, rtol=1e-5)


def test_unsupported_options_are_refused():
    with pytest.raises(ValueError, match="ema_momentum` must be in the range"):
        opts.Adam(use_ema=True, ema_momentum=1.5)
    with pytest.raises(ValueError, match="ema_overwrite_frequency` must be an integer"):
        opts.Adam(use_ema=True, ema_overwrite_frequency=0.5)
    with pytest.raises(TypeError, match="amsgrad must be a bool"):
        opts.Adam(amsgrad="yes")
    with pytest.raises(TypeError, match="centered must be a bool"):
        opts.RMSprop(centered=1)
    with pytest.raises(ValueError, match="weight_decay=None"):
        opts.AdamW(weight_decay=None)
    with pytest.raises(ValueError, match="weight_decay"):
        opts.SGD(weight_decay=-1.0)
    assert isinstance(opts.get("adamw"), opts.AdamW) and isinstance(opts.get("Lion"), opts.Lion)


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_hyperparameters_changed_after_compile_take_effect_as_in_keras():
    # Keras reads beta_1, weight_decay, clipnorm, SGD's momentum ... at every step: changed
    # between two fits (or in a callback), the next steps use them.
    import os

    os.environ.setdefault("KERAS_BACKEND", "torch")
    keras = pytest.importorskip("keras")
    rng = np.random.default_rng(12)
    x = rng.normal(size=(24, 3)).astype(np.float32)
    y = rng.normal(size=(24, 2)).astype(np.float32)
    en.config.set_floatx("float32")
    changes = [
        ("adam", lambda o: o.Adam(0.05), {"beta_1": 0.5, "weight_decay": 0.02, "clipnorm": 0.1}),
        ("sgd", lambda o: o.SGD(0.1, momentum=0.9), {"momentum": 0.3, "nesterov": True}),
        ("rmsprop", lambda o: o.RMSprop(0.01), {"rho": 0.5, "epsilon": 1e-3}),
    ]
    for name, make, change in changes:
        models = []
        for lib in (en, keras):
            model = lib.Sequential([lib.Input((3,)), lib.layers.Dense(4), lib.layers.Dense(2)])
            models.append(model)
        models[1].set_weights(models[0].get_weights())
        for model, lib in zip(models, (opts, keras.optimizers)):
            model.compile(make(lib), "mse")
            model.fit(x, y, batch_size=8, epochs=1, shuffle=False, verbose=0)
            for key, value in change.items():
                setattr(model.optimizer, key, value)
            model.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0)
        for a, b in zip(models[0].get_weights(), models[1].get_weights()):
            np.testing.assert_allclose(a, np.asarray(b), atol=2e-6, rtol=1e-5, err_msg=name)


def test_hyperparameter_changes_that_need_other_slots_are_refused_and_undone():
    model = en.Sequential([en.Input((3,)), en.layers.Dense(2)])
    sgd = opts.SGD(0.1)
    model.compile(sgd, "mse")
    with pytest.raises(ValueError, match="compile the model again"):
        sgd.momentum = 0.9  # SGD without momentum keeps no velocity slots
    assert sgd.momentum == 0.0 and sgd._spec().momentum == 0.0
    adam = opts.Adam()
    model.compile(adam, "mse")
    for key, value in (("use_ema", True), ("amsgrad", True)):
        with pytest.raises(ValueError, match="compile the model again"):
            setattr(adam, key, value)
        assert getattr(adam, key) is False
    with pytest.raises(ValueError, match="compiled with adam, not sgd"):
        model._net.core.set_optimizer(opts.SGD()._spec())
    # The old optimizer no longer reaches the model compiled with another one.
    sgd.momentum = 0.5
    assert model._net.core.learning_rate == pytest.approx(adam.learning_rate)
    sgd.learning_rate = 0.7
    assert model._net.core.learning_rate == pytest.approx(0.001)
    x = np.ones((4, 3))
    model.fit(x, np.zeros((4, 2)), verbose=0)
    assert adam.iterations == 1 and sgd.iterations == 0
