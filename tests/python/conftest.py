"""Test defaults: one thread (2 OpenMP threads on a loaded 2-core machine crawl; threading is
tested explicitly), float32, a fixed seed per test."""

from __future__ import annotations

import pytest

import eigennet as en


@pytest.fixture(autouse=True)
def _defaults():
    en.config.set_num_threads(1)
    en.config.set_floatx("float32")
    en.utils.set_random_seed(1234)
    yield
    en.config.set_num_threads(1)
    en.config.set_floatx("float32")
