"""The CPU kernel sets: each one the CPU can run against a NumPy reference and the others, the
dispatch (best set first, EIGENNET_KERNELS, set_kernel_set) and its errors."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import eigennet as en

SETS = en.config.kernel_sets()


@pytest.fixture
def restore_kernel_set():
    before = en.config.kernel_set()
    yield
    en.config.set_kernel_set(before)


def _model(seed: int) -> en.Sequential:
    # Units, inputs and batch sizes that take every product branch: a single sample, a batch of
    # one panel (split by units), several panels, and sizes that are not multiples of any tile.
    en.utils.set_random_seed(seed)
    model = en.Sequential(
        [
            en.Input((70,)),
            en.layers.Dense(130, activation="relu"),
            en.layers.Dense(33, activation="tanh"),
            en.layers.Dense(5, activation="softmax"),
        ]
    )
    model.compile(optimizer=en.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy")
    return model


def _data():
    rng = np.random.default_rng(5)
    x = rng.normal(size=(300, 70)).astype(np.float32)
    y = rng.integers(0, 5, size=300)
    return x, y


def test_lists_runnable_sets_best_first():
    assert SETS and en.config.kernel_set() in SETS
    assert len(set(SETS)) == len(SETS)
    if platform.machine() in ("x86_64", "AMD64") and "native" not in SETS:
        order = ["avx512", "avx2", "baseline"]
        assert SETS == [s for s in order if s in SETS] and SETS[-1] == "baseline"
        flags = Path("/proc/cpuinfo").read_text() if os.path.exists("/proc/cpuinfo") else ""
        if " avx2 " in flags and " fma " in flags:
            assert "avx2" in SETS


@pytest.mark.parametrize("name", SETS)
def test_every_set_matches_numpy_forward(name, restore_kernel_set):
    en.config.set_kernel_set(name)
    assert en.config.kernel_set() == name
    model = _model(3)
    x, _ = _data()
    ws = [w.astype(np.float64) for w in model.get_weights()]
    for rows in (1, 7, 64, 300):
        h = x[:rows].astype(np.float64)
        h = np.maximum(h @ ws[0] + ws[1], 0)
        h = np.tanh(h @ ws[2] + ws[3])
        z = h @ ws[4] + ws[5]
        p = np.exp(z - z.max(axis=1, keepdims=True))
        p /= p.sum(axis=1, keepdims=True)
        np.testing.assert_allclose(model.predict(x[:rows], verbose=0), p, rtol=2e-5, atol=2e-6)


@pytest.mark.parametrize("name", SETS)
def test_every_set_trains_like_the_baseline_and_ignores_threads(name, restore_kernel_set):
    x, y = _data()
    en.config.set_kernel_set(SETS[-1])
    reference = _model(4)
    reference.fit(x, y, batch_size=48, epochs=3, verbose=0, shuffle=True)
    en.config.set_kernel_set(name)
    runs = []
    for threads in (1, 2):
        en.config.set_num_threads(threads)
        model = _model(4)
        history = model.fit(x, y, batch_size=48, epochs=3, verbose=0, shuffle=True)
        runs.append((model.get_weights(), history.history["loss"]))
    for a, b in zip(runs[0][0], runs[1][0]):
        np.testing.assert_array_equal(a, b)  # bitwise, whatever the thread count
    for a, b in zip(runs[0][0], reference.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-3, atol=1e-4)


def _run(code: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", code],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_environment_variable_forces_a_lower_set():
    out = _run("import eigennet as en; print(en.config.kernel_set())", EIGENNET_KERNELS=SETS[-1])
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == SETS[-1]


def test_environment_variable_with_a_bad_name_fails_the_import_clearly():
    out = _run("import eigennet", EIGENNET_KERNELS="sse1")
    assert out.returncode != 0
    assert "ValueError" in out.stderr and "EIGENNET_KERNELS='sse1'" in out.stderr
    assert "Expected one of" in out.stderr


@pytest.mark.skipif(
    platform.machine() not in ("x86_64", "AMD64") or "avx512" in SETS or "native" in SETS,
    reason="needs a portable x86-64 build on a CPU without AVX-512",
)
def test_a_set_this_cpu_cannot_run_is_refused():
    out = _run("import eigennet", EIGENNET_KERNELS="avx512")
    assert out.returncode != 0 and "cannot run" in out.stderr
    with pytest.raises(ValueError, match="'avx512' asks for a kernel set this CPU cannot run"):
        en.config.set_kernel_set("avx512")


def test_set_kernel_set_errors():
    with pytest.raises(TypeError, match="must be a string"):
        en.config.set_kernel_set(2)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="'fast' is not a kernel set of this build"):
        en.config.set_kernel_set("fast")
