"""Initialisers beyond Glorot and He, with Keras 3's definitions: their moments on large
kernels, truncation bounds, identity and orthogonality, seeds and argument checks."""

from __future__ import annotations

import numpy as np
import pytest

import eigennet as en

I = en.initializers  # noqa: E741


def _kernel(init, n_in=400, units=300, seed=0):
    en.utils.set_random_seed(seed)
    layer = en.layers.Dense(units, kernel_initializer=init)
    en.Sequential([en.Input((n_in,)), layer]).build((None, n_in))
    return layer.kernel.numpy().astype(np.float64)


@pytest.mark.parametrize(
    "init,std,bound",
    [
        (I.LecunNormal(), np.sqrt(1 / 400), 2 * np.sqrt(1 / 400) / 0.87962566103423978),
        (I.LecunUniform(), np.sqrt(1 / 400), np.sqrt(3 / 400)),
        (I.VarianceScaling(2.0, "fan_out", "untruncated_normal"), np.sqrt(2 / 300), None),
        (I.VarianceScaling(0.5, "fan_avg", "uniform"), np.sqrt(0.5 / 350), np.sqrt(1.5 / 350)),
        (
            I.VarianceScaling(3.0, "fan_in", "truncated_normal"),
            np.sqrt(3 / 400),
            2 * np.sqrt(3 / 400) / 0.87962566103423978,
        ),
        (I.TruncatedNormal(mean=0.0, stddev=0.2), 0.2 * 0.87962566103423978, 0.4),
    ],
    ids=[
        "lecun_normal",
        "lecun_uniform",
        "vs_fan_out_normal",
        "vs_fan_avg_uniform",
        "vs_truncated",
        "truncated_normal",
    ],
)
def test_moments_and_bounds(init, std, bound):
    w = _kernel(init)
    assert abs(w.mean()) < 5 * std / np.sqrt(w.size)
    assert w.std() == pytest.approx(std, rel=0.02)
    if bound is not None:
        assert np.abs(w).max() <= bound * (1 + 1e-6)
        assert np.abs(w).max() > 0.9 * bound


def test_truncated_normal_keeps_its_mean():
    w = _kernel(I.TruncatedNormal(mean=1.5, stddev=0.1))
    assert w.mean() == pytest.approx(1.5, abs=1e-3) and np.abs(w - 1.5).max() <= 0.2 + 1e-9


def test_constant_identity_orthogonal():
    np.testing.assert_array_equal(_kernel(I.Constant(0.25), 3, 4), np.full((3, 4), 0.25))
    np.testing.assert_allclose(_kernel(I.Identity(gain=2.0), 3, 5), 2 * np.eye(3, 5))
    for n_in, units in ((50, 20), (20, 50), (30, 30)):
        q = _kernel(I.Orthogonal(gain=1.5), n_in, units)
        small = min(n_in, units)
        gram = q.T @ q if n_in >= units else q @ q.T
        np.testing.assert_allclose(gram, 2.25 * np.eye(small), atol=1e-5)
    a = _kernel(I.Orthogonal(seed=3), 8, 6, seed=1)
    b = _kernel(I.Orthogonal(seed=3), 8, 6, seed=2)
    np.testing.assert_array_equal(a, b)  # an initialiser's own seed, as in Keras


def test_bad_arguments_and_shapes_are_refused():
    with pytest.raises(ValueError, match="scale` must be positive"):
        I.VarianceScaling(scale=0.0)
    with pytest.raises(ValueError, match="mode"):
        I.VarianceScaling(mode="fan_sideways")
    with pytest.raises(ValueError, match="distribution"):
        I.VarianceScaling(distribution="normalish")
    with pytest.raises(ValueError, match="2D"):
        layer = en.layers.Dense(3, bias_initializer=I.Identity())
        en.Sequential([en.Input((4,)), layer]).build((None, 4))


def test_serialization_round_trip():
    for init in (
        I.Constant(0.5),
        I.TruncatedNormal(0.1, 0.3, seed=4),
        I.VarianceScaling(2.0, "fan_avg", "uniform", seed=5),
        I.LecunNormal(seed=6),
        I.LecunUniform(),
        I.Identity(3.0),
        I.Orthogonal(0.5, seed=7),
    ):
        again = I.deserialize(I.serialize(init))
        assert type(again) is type(init) and again.get_config() == init.get_config()
        assert I.get(type(init).__name__).__class__ is type(init)
