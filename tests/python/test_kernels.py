"""The C++ activation kernels (through eigennet.activations) against NumPy formulas."""

from __future__ import annotations

import math

import numpy as np
import pytest

import eigennet as en

Z = np.array([-1e4, -30.0, -3.0, -0.5, 0.0, 0.5, 3.0, 30.0, 1e4])
_erf = np.vectorize(math.erf)


def _reference(name: str, z: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore"):
        sig = np.where(
            z >= 0, 1 / (1 + np.exp(-np.abs(z))), np.exp(-np.abs(z)) / (1 + np.exp(-np.abs(z)))
        )
        softplus = np.maximum(z, 0) + np.log1p(np.exp(-np.abs(z)))
        return {
            "linear": z,
            "sigmoid": sig,
            "tanh": np.tanh(z),
            "relu": np.maximum(z, 0),
            "leaky_relu": np.where(z > 0, z, 0.2 * z),
            "elu": np.where(z > 0, z, np.expm1(np.minimum(z, 0))),
            "gelu": 0.5 * z * (1 + _erf(z / np.sqrt(2))),
            "softplus": softplus,
            # Keras 3's definitions (keras/src/activations/activations.py).
            "selu": 1.0507009873554805
            * np.where(z > 0, z, 1.6732632423543772 * np.expm1(np.minimum(z, 0))),
            "silu": z * sig,
            "mish": z * np.tanh(softplus),
            "hard_sigmoid": np.clip(z / 6 + 0.5, 0, 1),
            "hard_silu": z * np.clip(z / 6 + 0.5, 0, 1),
            "relu6": np.clip(z, 0, 6),
            "softsign": z / (np.abs(z) + 1),
            "exponential": np.exp(np.minimum(z, 30.0)),
        }[name]


ELEMENTWISE = [
    "linear",
    "sigmoid",
    "tanh",
    "relu",
    "leaky_relu",
    "elu",
    "gelu",
    "softplus",
    "selu",
    "silu",
    "mish",
    "hard_sigmoid",
    "hard_silu",
    "relu6",
    "softsign",
    "exponential",
]


def test_every_activation_is_tested():
    assert sorted(ELEMENTWISE + ["softmax", "log_softmax"]) == sorted(en.activations.NAMES)


@pytest.mark.parametrize("name", ELEMENTWISE)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_activation_values(name, dtype):
    z = Z[Z < 100] if name == "exponential" else Z  # exp(1e4) overflows, as it should
    out = getattr(en.activations, name)(z.astype(dtype))
    assert out.dtype == dtype and np.all(np.isfinite(out))
    np.testing.assert_allclose(
        out, _reference(name, z), rtol=1e-6 if dtype == np.float32 else 1e-13, atol=1e-30
    )


@pytest.mark.parametrize("name", ELEMENTWISE[1:])
def test_activation_derivatives_by_finite_differences(name):
    z = np.array([-4.0, -1.3, -0.2, 0.3, 1.1, 3.7])
    h = 1e-6
    numeric = (_reference(name, z + h) - _reference(name, z - h)) / (2 * h)
    np.testing.assert_allclose(en.activations.derivative(name, z), numeric, rtol=1e-7, atol=1e-9)


def test_softmax_is_stable_and_rowwise():
    z = np.array([[1e4, 0.0, -1e4], [1.0, 2.0, 3.0]])
    p = en.activations.softmax(z)
    np.testing.assert_allclose(p[0], [1.0, 0.0, 0.0])
    e = np.exp(z[1] - 3)
    np.testing.assert_allclose(p[1], e / e.sum(), rtol=1e-14)
    with pytest.raises(ValueError, match="softmax"):
        en.activations.derivative("softmax", z)


def test_log_softmax_is_stable_and_its_gradient_trains():
    z = np.array([[1e4, 0.0, -1e4], [1.0, 2.0, 3.0]])
    out = en.activations.log_softmax(z)
    np.testing.assert_allclose(out[0], [0.0, -1e4, -2e4])
    np.testing.assert_allclose(out[1], z[1] - 3 - np.log(np.exp(z[1] - 3).sum()), rtol=1e-14)
    # Keras's golden case (activations_test.py): log_softmax of [[1, 2, 3]].
    np.testing.assert_allclose(
        en.activations.log_softmax(np.array([[1.0, 2.0, 3.0]], np.float32)),
        [[-2.407606, -1.4076059, -0.4076059]],
        rtol=1e-6,
    )
    with pytest.raises(ValueError, match="log_softmax"):
        en.activations.derivative("log_softmax", z)
    # The backward through a Dense(log_softmax): one SGD step at lr 1 moves the kernel by minus
    # the gradient of the MSE loss, checked by central differences of evaluate.
    en.config.set_floatx("float64")
    try:
        en.utils.set_random_seed(3)
        model = en.Sequential([en.Input((2,)), en.layers.Dense(3, activation="log_softmax")])
        model.compile(optimizer=en.optimizers.SGD(1.0), loss="mse")
        x = np.array([[0.3, -1.2], [1.5, 0.4]])
        y = np.array([[-0.2, -1.0, -2.5], [-1.0, -0.3, -0.7]])
        kernel = model.layers[0].kernel
        base = kernel.numpy().copy()
        numeric = np.zeros_like(base)
        h = 1e-6
        for idx in np.ndindex(base.shape):
            for sign in (1, -1):
                w = base.copy()
                w[idx] += sign * h
                kernel.assign(w)
                numeric[idx] += sign * model.evaluate(x, y, verbose=0) / (2 * h)
        kernel.assign(base)
        model.train_on_batch(x, y)
        np.testing.assert_allclose(base - kernel.numpy(), numeric, rtol=1e-6, atol=1e-9)
    finally:
        en.config.set_floatx("float32")


def test_activation_lookup():
    assert en.activations.get("relu") is en.activations.relu
    assert en.activations.get(None) is en.activations.linear
    assert en.activations.get(en.activations.tanh) is en.activations.tanh
    with pytest.raises(ValueError, match="Unknown activation"):
        en.activations.get("swishy")
    with pytest.raises(ValueError, match="Unsupported activation"):
        en.activations.get(lambda x: x)


def test_keras_aliases_and_golden_values():
    # keras.activations.swish is silu and hard_swish is hard_silu; values from Keras 3's
    # activations_test.py formulas at a few points.
    assert en.activations.get("swish") is en.activations.silu
    assert en.activations.get("hard_swish") is en.activations.hard_silu
    x = np.array([-4.0, -3.0, -1.0, 0.0, 1.0, 3.0, 4.0])
    np.testing.assert_allclose(
        en.activations.hard_sigmoid(x), [0, 0, 1 / 3, 0.5, 2 / 3, 1, 1], rtol=1e-15
    )
    np.testing.assert_allclose(en.activations.relu6(np.array([-1.0, 3.0, 7.0])), [0, 3, 6])
    np.testing.assert_allclose(
        en.activations.selu(np.array([-1.0, 1.0])),
        [1.0507009873554805 * 1.6732632423543772 * (np.exp(-1) - 1), 1.0507009873554805],
        rtol=1e-15,
    )
    # Serialised under Keras's first name.
    layer = en.layers.Dense(2, activation="swish")
    assert layer.get_config()["activation"] == "silu"
