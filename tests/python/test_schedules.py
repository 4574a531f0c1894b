"""Learning-rate schedules: Keras 3's own test cases (learning_rate_schedule_test.py, their
formulas and expected values), serialisation, argument checks, and the rate fit uses."""

from __future__ import annotations

import math

import numpy as np
import pytest

import eigennet as en

S = en.optimizers.schedules


def test_polynomial_decay_keras_cases():
    lr, end = 0.05, 0.001
    assert S.PolynomialDecay(lr, 10, 0.0)(5) == pytest.approx(lr * 0.5, rel=1e-6)
    assert S.PolynomialDecay(lr, 10, end)(10) == pytest.approx(end, rel=1e-6)
    assert S.PolynomialDecay(lr, 10, end)(5) == pytest.approx((lr + end) * 0.5, rel=1e-6)
    assert S.PolynomialDecay(lr, 10, end)(15) == pytest.approx(end, rel=1e-6)
    assert S.PolynomialDecay(lr, 10, end, cycle=True)(15) == pytest.approx(
        (lr - end) * 0.25 + end, rel=1e-6
    )
    # SqrtDecayTest
    assert S.PolynomialDecay(lr, 10, 0.0, power=0.5)(5) == pytest.approx(lr * 0.5**0.5, rel=1e-6)
    assert S.PolynomialDecay(lr, 10, end, power=0.5)(5) == pytest.approx(
        (lr - end) * 0.5**0.5 + end, rel=1e-6
    )
    assert S.PolynomialDecay(lr, 10, end, power=0.5, cycle=True)(15) == pytest.approx(
        (lr - end) * 0.25**0.5 + end, rel=1e-6
    )
    assert S.PolynomialDecay(0.001, 10, cycle=True)(0) == pytest.approx(0.001, rel=1e-6)


def test_inverse_time_decay_keras_cases():
    for i in range(11):
        assert S.InverseTimeDecay(0.1, 10, 0.96)(i) == pytest.approx(
            0.1 / (1 + i / 10 * 0.96), rel=1e-6
        )
        assert S.InverseTimeDecay(0.1, 10, 0.96, staircase=True)(i) == pytest.approx(
            0.1 / (1 + 0.96 * (i // 10)), rel=1e-6
        )


def _np_cosine(step, decay_steps, alpha=0.0):
    step = min(step, decay_steps)
    return (1.0 - alpha) * 0.5 * (1.0 + math.cos(math.pi * step / decay_steps)) + alpha


def test_cosine_decay_keras_cases():
    for step in range(0, 1500, 250):
        assert S.CosineDecay(1.0, 1000)(step) == pytest.approx(_np_cosine(step, 1000), abs=1e-6)
        assert S.CosineDecay(1.0, 1000, 0.1)(step) == pytest.approx(
            _np_cosine(step, 1000, 0.1), abs=1e-6
        )
        # warmup alone: linear from 0 to the target
        assert S.CosineDecay(0.0, 10, warmup_target=10.0, warmup_steps=1500)(step) == pytest.approx(
            step / 1500 * 10.0, abs=1e-6
        )
    for step in range(0, 3000, 250):
        lr = S.CosineDecay(0.0, 1000, warmup_target=10.0, warmup_steps=2000)(step)
        want = step / 2000 * 10.0 if step < 2001 else 10.0 * _np_cosine(step - 2000, 1000)
        assert lr == pytest.approx(want, abs=1e-6)


def _np_restarts(step, decay_steps, t_mul=2.0, m_mul=1.0, alpha=0.0):
    fac = 1.0
    while step >= decay_steps:
        step -= decay_steps
        decay_steps *= t_mul
        fac *= m_mul
    decay = fac * 0.5 * (1.0 + math.cos(math.pi * step / decay_steps))
    return (1.0 - alpha) * decay + alpha


@pytest.mark.parametrize(
    "kwargs", [{}, {"alpha": 0.1}, {"m_mul": 0.9}, {"t_mul": 1.0}, {"t_mul": 3.0, "m_mul": 0.5}]
)
def test_cosine_decay_restarts_keras_cases(kwargs):
    for step in list(range(0, 1500, 250)) + [2999, 3000, 3001, 7100]:
        assert S.CosineDecayRestarts(1.0, 1000, **kwargs)(step) == pytest.approx(
            _np_restarts(step, 1000, **kwargs), abs=1e-6
        )


@pytest.mark.parametrize(
    "schedule",
    [
        S.PolynomialDecay(0.1, 100, 0.005, power=1.0, cycle=False, name="my_ld"),
        S.InverseTimeDecay(0.05, 10, 0.96, staircase=True, name="my_itd"),
        S.CosineDecay(0.05, 10, alpha=0.1, warmup_target=0.2, warmup_steps=2, name="my_cd"),
        S.CosineDecayRestarts(0.05, 10, alpha=0.1, t_mul=3.0, m_mul=4.0, name="my_cdr"),
    ],
    ids=lambda s: type(s).__name__,
)
def test_serialization_round_trip(schedule):
    again = S.deserialize(S.serialize(schedule))
    assert type(again) is type(schedule) and again.get_config() == schedule.get_config()
    opt = en.optimizers.SGD(learning_rate=schedule)
    assert type(en.optimizers.deserialize(en.optimizers.serialize(opt))._learning_rate) is type(
        schedule
    )


@pytest.mark.parametrize(
    "make,match",
    [
        (lambda: S.PolynomialDecay(0.1, 0), "decay_steps"),
        (lambda: S.PolynomialDecay(0.1, 10, power=-1.0), "power"),
        (lambda: S.InverseTimeDecay(0.1, 10, -0.5), "decay_rate"),
        (lambda: S.CosineDecay(0.1, 10, alpha=2.0), "alpha"),
        (lambda: S.CosineDecay(0.1, 10, warmup_target=float("nan"), warmup_steps=3), "warmup"),
        (lambda: S.CosineDecayRestarts(0.1, -3), "first_decay_steps"),
        (lambda: S.CosineDecayRestarts(0.1, 10, t_mul=0.0), "t_mul"),
    ],
)
def test_bad_arguments_are_refused(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_fit_uses_the_schedule_step_by_step():
    # SGD on a linear model with a zero target: w <- w - lr_t * dL/dw, so each step's rate can
    # be read back from the weights; fit's C++ loop and the Python schedule must agree.
    en.config.set_floatx("float64")
    try:
        schedule = S.CosineDecayRestarts(0.1, 3, t_mul=2.0, m_mul=0.5, alpha=0.05)
        model = en.Sequential([en.Input((1,)), en.layers.Dense(1, use_bias=False)])
        model.compile(optimizer=en.optimizers.SGD(schedule), loss="mse")
        model.set_weights([np.ones((1, 1))])
        x, y = np.ones((1, 1)), np.zeros((1, 1))
        w = 1.0
        for step in range(12):
            model.fit(x, y, batch_size=1, epochs=1, verbose=0)
            w -= schedule(step) * 2 * w  # d/dw (w·1 - 0)^2
            assert model.get_weights()[0][0, 0] == pytest.approx(w, rel=1e-12)
        assert model.optimizer.learning_rate == pytest.approx(schedule(12))
    finally:
        en.config.set_floatx("float32")
