"""Test defaults: one thread (2 OpenMP threads on a loaded 2-core machine crawl; threading is
tested explicitly), float32, a fixed seed per test.

Device parameterisation: a test that asks for the `device` fixture (by argument, or a module's
`pytestmark = pytest.mark.usefixtures("device")`) runs once per backend, with the models it builds
on that device: `cpu` always, `cuda` only when the build has the CUDA backend and a GPU is present
(skipped otherwise). `@pytest.mark.cpu_only` keeps a test on the CPU: thread counts, and
expectations tied to the CPU's own shuffling stream.
"""

from __future__ import annotations

import pytest

import eigennet as en

needs_gpu = pytest.mark.skipif(
    not en.config.cuda_available(), reason="needs the CUDA backend and a GPU"
)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "device" not in metafunc.fixturenames:
        return
    devices: list = ["cpu"]
    if metafunc.definition.get_closest_marker("cpu_only") is None:
        devices.append(pytest.param("cuda", marks=needs_gpu))
    metafunc.parametrize("device", devices, indirect=True)


@pytest.fixture
def device(request: pytest.FixtureRequest):
    """The device of the models this test builds."""
    name = getattr(request, "param", "cpu")
    en.config.set_device(name)
    yield name
    en.config.set_device("cpu")
    en.config.set_tf32(False)


@pytest.fixture(autouse=True)
def _defaults():
    en.config.set_num_threads(1)
    en.config.set_floatx("float32")
    en.utils.set_random_seed(1234)
    yield
    en.config.set_num_threads(1)
    en.config.set_floatx("float32")
