"""Bad input, table-driven: each case raises a clear Python exception naming the value, the
process survives, and the model still works afterwards; on every device (see conftest.py)."""

from __future__ import annotations

import math

import numpy as np
import pytest

import eigennet as en
from eigennet import layers as L
from eigennet import optimizers as O

rng = np.random.default_rng(0)
X = rng.normal(size=(20, 4)).astype(np.float32)
Y = rng.normal(size=(20, 2)).astype(np.float32)
LABELS = rng.integers(0, 3, size=20)


def _regression():
    m = en.Sequential([en.Input((4,)), L.Dense(8, activation="relu"), L.Dense(2)])
    m.compile(optimizer="sgd", loss="mse")
    return m


def _classifier():
    m = en.Sequential(
        [en.Input((4,)), L.Dense(8, activation="relu"), L.Dense(3, activation="softmax")]
    )
    m.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return m


_MODELS: dict[tuple[str, str], en.Sequential] = {}


def _shared(kind: str) -> en.Sequential:
    """One regression and one classification model per device, shared by every case."""
    key = (kind, en.config.device())
    if key not in _MODELS:
        _MODELS[key] = _regression() if kind == "reg" else _classifier()
    return _MODELS[key]


def reg() -> en.Sequential:
    return _shared("reg")


def clf() -> en.Sequential:
    return _shared("clf")


x_input = en.Input((4,))

CASES = [
    # layers and models
    ("dense_negative_units", lambda: L.Dense(-3), ValueError, "units=-3"),
    ("dense_zero_units", lambda: L.Dense(0), ValueError, "units=0"),
    ("dense_float_units", lambda: L.Dense(2.5), ValueError, "units=2.5"),
    ("dense_str_units", lambda: L.Dense("3"), ValueError, "units='3'"),
    ("dense_bool_units", lambda: L.Dense(True), ValueError, "units=True"),
    ("dense_bad_activation", lambda: L.Dense(2, activation="nope"), ValueError, "nope"),
    (
        "dense_python_activation",
        lambda: L.Dense(2, activation=lambda v: v),
        ValueError,
        "activation",
    ),
    ("dense_bad_init", lambda: L.Dense(2, kernel_initializer="nope"), ValueError, "nope"),
    ("dense_bad_regularizer", lambda: L.Dense(2, kernel_regularizer="l3"), ValueError, "l3"),
    ("dense_unknown_kwarg", lambda: L.Dense(2, foo=1), TypeError, "foo"),
    ("dropout_one", lambda: L.Dropout(1.0), ValueError, "rate=1.0"),
    ("dropout_negative", lambda: L.Dropout(-0.1), ValueError, "rate=-0.1"),
    ("dropout_nan", lambda: L.Dropout(math.nan), ValueError, "rate=nan"),
    ("dropout_str", lambda: L.Dropout("a"), TypeError, "rate='a'"),
    ("input_zero_dim", lambda: en.Input((2, 0)), ValueError, "(2, 0)"),
    (
        "input_rank2_without_flatten",
        lambda: en.Sequential([en.Input((2, 3)), L.Dense(2)]),
        ValueError,
        "Flatten",
    ),
    ("input_zero", lambda: en.Input((0,)), ValueError, "(0,)"),
    ("input_str", lambda: en.Input("a"), TypeError, "'a'"),
    (
        "normal_negative_std",
        lambda: en.initializers.RandomNormal(stddev=-1),
        ValueError,
        "stddev=-1",
    ),
    ("uniform_reversed", lambda: en.initializers.RandomUniform(1, 0), ValueError, "minval=1"),
    ("l2_negative", lambda: en.regularizers.L2(-1), ValueError, "l2=-1"),
    ("l2_nan", lambda: en.regularizers.L2(math.nan), ValueError, "l2=nan"),
    ("l1_str", lambda: en.regularizers.L1("x"), TypeError, "l1='x'"),
    (
        "huge_dense",
        lambda: en.Sequential([en.Input((10**6,)), L.Dense(10**6)]),
        MemoryError,
        "parameters",
    ),
    (
        "huge_dense_1e12",
        lambda: en.Sequential([en.Input((10,)), L.Dense(10**12)]),
        MemoryError,
        "parameters",
    ),
    ("model_no_outputs", lambda: en.Model(x_input), TypeError, "outputs"),
    (
        "model_unconnected",
        lambda: en.Model(x_input, L.Dense(2)(en.Input((4,)))),
        ValueError,
        "Graph disconnected",
    ),
    ("sequential_object", lambda: en.Sequential([object()]), ValueError, "object"),
    # optimizers
    ("lr_negative", lambda: O.SGD(learning_rate=-1), ValueError, "learning_rate=-1"),
    ("lr_nan", lambda: O.Adam(learning_rate=math.nan), ValueError, "learning_rate=nan"),
    ("lr_inf", lambda: O.RMSprop(learning_rate=math.inf), ValueError, "learning_rate=inf"),
    ("lr_str", lambda: O.SGD(learning_rate="fast"), TypeError, "learning_rate='fast'"),
    ("momentum_big", lambda: O.SGD(momentum=1.5), ValueError, "momentum=1.5"),
    ("beta1_one", lambda: O.Adam(beta_1=1.0), ValueError, "beta_1=1.0"),
    ("epsilon_nan", lambda: O.Adam(epsilon=math.nan), ValueError, "epsilon=nan"),
    ("rho_one", lambda: O.RMSprop(rho=1.0), ValueError, "rho=1.0"),
    (
        "decay_steps_zero",
        lambda: O.schedules.ExponentialDecay(0.1, 0, 0.5),
        ValueError,
        "decay_steps=0",
    ),
    (
        "piecewise_lengths",
        lambda: O.schedules.PiecewiseConstantDecay([1], [1.0]),
        ValueError,
        "boundaries=[1]",
    ),
    # compile
    (
        "compile_bad_optimizer",
        lambda: _regression().compile(optimizer="lbfgs", loss="mse"),
        ValueError,
        "lbfgs",
    ),
    (
        "compile_bad_loss",
        lambda: _regression().compile(loss="focal"),
        ValueError,
        "focal",
    ),
    (
        "compile_metrics_str",
        lambda: _regression().compile(loss="mse", metrics="mae"),
        TypeError,
        "metrics='mae'",
    ),
    (
        "compile_bad_metric",
        lambda: _regression().compile(loss="mse", metrics=["aucs"]),
        ValueError,
        "aucs",
    ),
    (
        "compile_metric_mismatch",
        lambda: _classifier().compile(loss="sparse_categorical_crossentropy", metrics=["mse"]),
        ValueError,
        "mean_squared",
    ),
    (
        "compile_loss_weights",
        lambda: _regression().compile(loss="mse", loss_weights=[1.0, 2.0]),
        ValueError,
        "loss_weights",
    ),
    # fit
    (
        "fit_uncompiled",
        lambda: en.Sequential([en.Input((4,)), L.Dense(2)]).fit(X, Y),
        ValueError,
        "compile",
    ),
    ("fit_feature_count", lambda: reg().fit(X[:, :3], Y, verbose=0), ValueError, "(20, 3)"),
    ("fit_rank3", lambda: reg().fit(X.reshape(20, 2, 2), Y, verbose=0), ValueError, "(20, 2, 2)"),
    ("fit_empty", lambda: reg().fit(X[:0], Y[:0], verbose=0), ValueError, "0 samples"),
    ("fit_object_dtype", lambda: reg().fit(X.astype(object), Y, verbose=0), TypeError, "object"),
    ("fit_str_dtype", lambda: reg().fit(X.astype(str), Y, verbose=0), TypeError, "<U"),
    ("fit_complex", lambda: reg().fit(X.astype(complex), Y, verbose=0), TypeError, "complex"),
    ("fit_ragged", lambda: reg().fit([[1, 2], [3]], Y, verbose=0), ValueError, "converted"),
    ("fit_len_mismatch", lambda: reg().fit(X, Y[:10], verbose=0), ValueError, "len(y)=10"),
    ("fit_target_width", lambda: reg().fit(X, Y[:, :1], verbose=0), ValueError, "(20, 1)"),
    (
        "fit_onehot_width",
        lambda: _onehot().fit(X, np.eye(4)[LABELS], verbose=0),
        ValueError,
        "(20, 4)",
    ),
    ("fit_label_too_big", lambda: clf().fit(X, np.full(20, 3), verbose=0), ValueError, "3"),
    ("fit_label_negative", lambda: clf().fit(X, np.full(20, -1), verbose=0), ValueError, "-1"),
    ("fit_label_fraction", lambda: clf().fit(X, np.full(20, 1.5), verbose=0), ValueError, "1.5"),
    ("fit_label_nan", lambda: clf().fit(X, np.full(20, np.nan), verbose=0), ValueError, "nan"),
    (
        "fit_batch_zero",
        lambda: reg().fit(X, Y, batch_size=0, verbose=0),
        ValueError,
        "batch_size=0",
    ),
    (
        "fit_batch_negative",
        lambda: reg().fit(X, Y, batch_size=-4, verbose=0),
        ValueError,
        "batch_size=-4",
    ),
    (
        "fit_batch_float",
        lambda: reg().fit(X, Y, batch_size=1.5, verbose=0),
        TypeError,
        "batch_size=1.5",
    ),
    ("fit_epochs_negative", lambda: reg().fit(X, Y, epochs=-1, verbose=0), ValueError, "epochs=-1"),
    (
        "fit_split_one",
        lambda: reg().fit(X, Y, validation_split=1.0, verbose=0),
        ValueError,
        "validation_split=1.0",
    ),
    (
        "fit_split_empty_train",
        lambda: reg().fit(X, Y, validation_split=0.99, verbose=0),
        ValueError,
        "no training",
    ),
    (
        "fit_validation_data_shape",
        lambda: reg().fit(X, Y, validation_data=(X,), verbose=0),
        ValueError,
        "validation_data",
    ),
    (
        "fit_validation_features",
        lambda: reg().fit(X, Y, validation_data=(X[:, :2], Y), verbose=0),
        ValueError,
        "(20, 2)",
    ),
    ("fit_verbose", lambda: reg().fit(X, Y, verbose=5), ValueError, "verbose=5"),
    (
        "fit_bad_callback",
        lambda: reg().fit(X, Y, callbacks=[object()], verbose=0),
        TypeError,
        "object",
    ),
    (
        "fit_sample_weight_shape",
        lambda: reg().fit(X, Y, sample_weight=np.ones(3), verbose=0),
        ValueError,
        "sample_weight",
    ),
    (
        "fit_sample_weight_negative",
        lambda: reg().fit(X, Y, sample_weight=-np.ones(20), verbose=0),
        ValueError,
        "sample_weight",
    ),
    (
        "fit_both_weights",
        lambda: clf().fit(X, LABELS, sample_weight=np.ones(20), class_weight={0: 2.0}, verbose=0),
        ValueError,
        "class_weight",
    ),
    ("fit_none", lambda: reg().fit(None, Y, verbose=0), ValueError, "None"),
    # evaluate / predict / weights
    ("predict_features", lambda: reg().predict(X[:, :3], verbose=0), ValueError, "(20, 3)"),
    (
        "predict_batch_zero",
        lambda: reg().predict(X, batch_size=0, verbose=0),
        ValueError,
        "batch_size=0",
    ),
    ("evaluate_labels", lambda: clf().evaluate(X, np.full(20, 7), verbose=0), ValueError, "7"),
    ("set_weights_count", lambda: reg().set_weights([np.zeros((4, 8))]), ValueError, "length 1"),
    (
        "set_weights_shape",
        lambda: reg().set_weights([np.zeros((8, 4)), np.zeros(8), np.zeros((8, 2)), np.zeros(2)]),
        ValueError,
        "(8, 4)",
    ),
    (
        "set_weights_dtype",
        lambda: reg().set_weights(
            [np.zeros((4, 8), dtype=object), np.zeros(8), np.zeros((8, 2)), np.zeros(2)]
        ),
        TypeError,
        "object",
    ),
    # configuration and helpers
    ("floatx", lambda: en.config.set_floatx("float16"), ValueError, "float16"),
    ("threads_zero", lambda: en.config.set_num_threads(0), ValueError, "n=0"),
    ("threads_str", lambda: en.config.set_num_threads("2"), TypeError, "n='2'"),
    ("device", lambda: en.config.set_device("tpu"), ValueError, "tpu"),
    ("seed_negative", lambda: en.utils.set_random_seed(-1), ValueError, "seed=-1"),
    ("loss_fn_sizes", lambda: en.losses.mse(np.zeros(3), np.zeros((2, 2))), ValueError, "3"),
    ("activation_str", lambda: en.activations.relu(["a"]), TypeError, "<U1"),
    (
        "early_stopping_patience",
        lambda: en.callbacks.EarlyStopping(patience=-1),
        ValueError,
        "patience=-1",
    ),
    (
        "plateau_factor",
        lambda: en.callbacks.ReduceLROnPlateau(factor=2.0),
        ValueError,
        "factor=2.0",
    ),
    ("checkpoint_suffix", lambda: en.callbacks.ModelCheckpoint("m.txt"), ValueError, "m.txt"),
    ("scheduler_not_callable", lambda: en.callbacks.LearningRateScheduler(3), TypeError, "3"),
    (
        "load_missing",
        lambda: en.models.load_model("/nonexistent/m.keras"),
        FileNotFoundError,
        "nonexistent",
    ),
    (
        "core_dataset_columns",
        lambda: reg()._net.core.dataset(np.zeros((3, 5), np.float32)),
        ValueError,
        "5",
    ),
    (
        "core_set_params",
        lambda: reg()._net.core.set_params(np.zeros(3, np.float32)),
        ValueError,
        "vector",
    ),
]


def _onehot():
    m = en.Sequential([en.Input((4,)), L.Dense(3, activation="softmax")])
    m.compile(optimizer="sgd", loss="categorical_crossentropy")
    return m


def test_enough_cases():
    assert len(CASES) >= 60


@pytest.mark.parametrize("name, call, exc, fragment", CASES, ids=[c[0] for c in CASES])
def test_bad_input(device, name, call, exc, fragment):
    before = reg().get_weights()
    with pytest.raises(exc) as info:
        call()
    assert fragment in str(info.value), str(info.value)
    # The process is alive and the models still work, with their weights unchanged.
    for a, b in zip(before, reg().get_weights()):
        np.testing.assert_array_equal(a, b)
    assert reg().predict(X, verbose=0).shape == (20, 2)
    assert np.isfinite(clf().evaluate(X, LABELS, verbose=0)[0])


def test_views_and_read_only_arrays_are_accepted(device):
    wide = np.asfortranarray(X)
    reversed_view = X[::-1]
    strided = np.repeat(X, 2, axis=1)[:, ::2]
    read_only = X.copy()
    read_only.flags.writeable = False
    expected = reg().predict(X, verbose=0)
    np.testing.assert_array_equal(reg().predict(wide, verbose=0), expected)
    np.testing.assert_array_equal(reg().predict(reversed_view, verbose=0), expected[::-1])
    np.testing.assert_array_equal(reg().predict(strided, verbose=0), expected)
    np.testing.assert_array_equal(reg().predict(read_only, verbose=0), expected)
    np.testing.assert_array_equal(reg().predict(X.astype(np.float64), verbose=0), expected)
    reg().fit(read_only, Y, epochs=1, verbose=0)
