"""Property-based checks over shapes, dtypes, batch sizes and layer sizes: the C++ results match
a NumPy reference, or the call raises a clean Python exception."""

from __future__ import annotations

import numpy as np
import pytest

import eigennet as en

hypothesis = pytest.importorskip("hypothesis")
st = hypothesis.strategies
given, settings = hypothesis.given, hypothesis.settings

ACTS = {
    "linear": lambda z: z,
    "relu": lambda z: np.maximum(z, 0),
    "tanh": np.tanh,
    "sigmoid": lambda z: 1 / (1 + np.exp(-z)),
}
# The device fixture only selects the backend: the same for every generated example.
SETTINGS = settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    suppress_health_check=[hypothesis.HealthCheck.function_scoped_fixture],
)


@SETTINGS
@given(
    n=st.integers(1, 70),
    n_in=st.integers(1, 40),
    widths=st.lists(st.integers(1, 48), min_size=1, max_size=3),
    act=st.sampled_from(sorted(ACTS)),
    batch=st.integers(1, 80),
    floatx=st.sampled_from(["float32", "float64"]),
    in_dtype=st.sampled_from([np.float32, np.float64, np.int32, np.uint8, np.bool_]),
)
def test_predict_matches_numpy(device, n, n_in, widths, act, batch, floatx, in_dtype):
    en.config.set_floatx(floatx)
    model = en.Sequential(
        [en.Input((n_in,))] + [en.layers.Dense(w, activation=act) for w in widths]
    )
    rng = np.random.default_rng(n * 31 + n_in)
    x = (rng.normal(size=(n, n_in)) * 3).astype(in_dtype)
    out = model.predict(x, batch_size=batch, verbose=0)
    ref = x.astype(np.float64)
    weights = model.get_weights()
    for k, b in zip(weights[::2], weights[1::2]):
        ref = ACTS[act](ref @ k.astype(np.float64) + b)
    assert out.shape == (n, widths[-1]) and out.dtype == np.dtype(floatx)
    tol = 1e-4 if floatx == "float32" else 1e-10
    np.testing.assert_allclose(out, ref, rtol=tol, atol=tol)


@SETTINGS
@given(
    n=st.integers(1, 50),
    n_in=st.integers(1, 10),
    hidden=st.integers(1, 16),
    n_out=st.integers(2, 5),
    batch=st.integers(1, 60),
)
def test_one_epoch_equals_numpy_sgd(device, n, n_in, hidden, n_out, batch):
    """An unshuffled SGD epoch over batches (the last one short) equals the same updates done
    in NumPy."""
    en.config.set_floatx("float64")
    model = en.Sequential(
        [
            en.Input((n_in,)),
            en.layers.Dense(hidden, activation="tanh"),
            en.layers.Dense(n_out, activation="softmax"),
        ]
    )
    model.compile(optimizer=en.optimizers.SGD(0.1), loss="sparse_categorical_crossentropy")
    rng = np.random.default_rng(n + 100 * batch)
    x = rng.normal(size=(n, n_in))
    y = rng.integers(0, n_out, size=n)
    k1, b1, k2, b2 = model.get_weights()
    losses = []
    for s in range(0, n, batch):
        xb, yb = x[s : s + batch], y[s : s + batch]
        h = np.tanh(xb @ k1 + b1)
        z = h @ k2 + b2
        p = np.exp(z - z.max(1, keepdims=True))
        p /= p.sum(1, keepdims=True)
        losses.append(-np.log(p[np.arange(len(yb)), yb]))
        dz = p.copy()
        dz[np.arange(len(yb)), yb] -= 1
        dz /= len(yb)
        dh = (dz @ k2.T) * (1 - h**2)
        k2, b2 = k2 - 0.1 * h.T @ dz, b2 - 0.1 * dz.sum(0)
        k1, b1 = k1 - 0.1 * xb.T @ dh, b1 - 0.1 * dh.sum(0)
    history = model.fit(x, y, batch_size=batch, epochs=1, shuffle=False, verbose=0)
    assert history.history["loss"][0] == pytest.approx(np.concatenate(losses).mean(), rel=1e-10)
    for got, want in zip(model.get_weights(), [k1, b1, k2, b2]):
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)


@SETTINGS
@given(
    rows=st.integers(0, 6),
    cols=st.integers(0, 6),
    expected_cols=st.integers(1, 5),
    dtype=st.sampled_from(["float32", "float64", "int64", "complex64", "object", "U3"]),
    ndim=st.integers(0, 3),
)
def test_arbitrary_inputs_predict_or_raise_cleanly(rows, cols, expected_cols, dtype, ndim):
    model = en.Sequential([en.Input((expected_cols,)), en.layers.Dense(2)])
    shape = [(), (rows,), (rows, cols), (rows, cols, 2)][ndim]
    x = np.zeros(shape, dtype=dtype)
    try:
        out = model.predict(x, verbose=0)
    except (ValueError, TypeError) as e:
        assert str(e)
    else:
        assert out.shape == (rows if ndim >= 1 else 1, 2)
        assert np.all(np.isfinite(out))
