"""Issue 15's rows: calls from batch callbacks, races on the optimizer state, fork, Ctrl-C in
predict, hostile files, restored state, load_model and floatx, exact labels, oversized ints. A
hang runs in a child process with a timeout, so that it fails instead of blocking the suite."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import textwrap
import threading
import zipfile

import numpy as np
import pytest

import eigennet as en

L = en.layers


def _run(code: str, timeout: float = 60.0) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def _model(n_in=4, hidden=8):
    m = en.Sequential([en.Input((n_in,)), L.Dense(hidden, activation="relu"), L.Dense(1)])
    m.compile(en.optimizers.SGD(0.01), "mse")
    return m


# Row 1 ---------------------------------------------------------------------------------------
def test_model_calls_from_batch_callbacks_run_inside_the_pass(tmp_path):
    # Every call the row lists, from on_train_batch_begin/end: none may deadlock (child process
    # with a timeout), and each sees the weights of the batch just done.
    r = _run(
        f"""
        import numpy as np, eigennet as en
        m = en.Sequential([en.Input((4,)), en.layers.Dense(8), en.layers.Dense(1)])
        m.compile(en.optimizers.SGD(0.01), "mse")
        x, y = np.random.rand(64, 4).astype("float32"), np.random.rand(64, 1)
        seen = []
        class Probe(en.callbacks.Callback):
            def on_train_batch_begin(self, batch, logs=None):
                self.model.optimizer.learning_rate = 0.01 * (batch + 1) / 4  # warm-up
            def on_train_batch_end(self, batch, logs=None):
                w = self.model.get_weights()
                self.model.set_weights(w)
                p = self.model.predict(x[:3], verbose=0)
                self.model(x[:2])
                self.model.layers[0].kernel.numpy()
                e = self.model.evaluate(x, y, verbose=0)
                self.model.save(r"{tmp_path}/m.keras")
                seen.append((batch, p.shape, float(e)))
        m.fit(x, y, batch_size=16, epochs=2, verbose=0, callbacks=[Probe()])
        assert len(seen) == 8, seen
        print("ok", m.optimizer.learning_rate)
        """,
        timeout=120,
    )
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("ok 0.01")


def test_training_or_compiling_from_a_batch_callback_is_refused():
    model = _model()
    x, y = np.random.rand(32, 4).astype("float32"), np.random.rand(32, 1)

    class Nested(en.callbacks.Callback):
        def __init__(self, action):
            super().__init__()
            self.action = action

        def on_train_batch_end(self, batch, logs=None):
            self.action(self.model)

    for action, match in (
        (lambda m: m.train_on_batch(x, y), "train it"),
        (lambda m: m.compile("sgd", "mse"), "compile the model"),
        (lambda m: m.fit(x, y, verbose=0), "training it"),
    ):
        with pytest.raises(ValueError, match=match):
            model.fit(x, y, batch_size=8, epochs=1, verbose=0, callbacks=[Nested(action)])
        model.fit(x, y, epochs=1, verbose=0)  # the model is usable afterwards


# Row 2 ---------------------------------------------------------------------------------------
def test_pickle_and_save_race_compile_without_crashing(tmp_path):
    r = _run(
        f"""
        import pickle, threading, time, numpy as np, eigennet as en
        m = en.Sequential([en.Input((50,)), en.layers.Dense(400), en.layers.Dense(10)])
        m.compile("adam", "mse")
        stop = time.time() + 3
        errors = []
        def recompile():
            k = 0
            while time.time() < stop:
                m.compile(["sgd", "adam", "rmsprop"][k % 3], "mse"); k += 1
        t = threading.Thread(target=recompile); t.start()
        while time.time() < stop:
            try:
                pickle.loads(pickle.dumps(m))
                m.save(r"{tmp_path}/r.keras")
            except ValueError as e:  # the compile settings changed between two reads
                errors.append(str(e))
        t.join()
        print("ok")
        """,
        timeout=120,
    )
    assert r.returncode == 0, r.stderr
    assert "ok" in r.stdout


# Rows 3 and 4 --------------------------------------------------------------------------------
@pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork on this platform")
def test_a_forked_child_trains_and_predicts_on_one_thread():
    r = _run(
        """
        import os, threading, time, numpy as np, eigennet as en
        en.config.set_num_threads(2)
        m = en.Sequential([en.Input((256,)), en.layers.Dense(512), en.layers.Dense(10)])
        m.compile("sgd", "mse")
        x, y = np.random.rand(2048, 256).astype("float32"), np.random.rand(2048, 10)
        m.fit(x, y, epochs=1, verbose=0)  # the parent's OpenMP pool is running
        busy = threading.Thread(target=lambda: m.fit(x, y, epochs=3, verbose=0))
        busy.start()
        time.sleep(0.05)  # fork while another thread is inside fit: its lock is held
        pid = os.fork()
        if pid == 0:
            try:
                assert en.config.num_threads() == 1
                m2 = en.Sequential([en.Input((256,)), en.layers.Dense(64), en.layers.Dense(1)])
                m2.compile("sgd", "mse")
                m2.fit(x, y[:, :1], epochs=1, verbose=0)
                m.predict(x, verbose=0)
                try:
                    en.config.set_num_threads(2)
                    os._exit(3)
                except RuntimeError as e:
                    os._exit(0 if "fork" in str(e) else 4)
            except BaseException:
                os._exit(2)
        _, status = os.waitpid(pid, 0)
        busy.join()
        print("child", os.waitstatus_to_exitcode(status))
        """,
        timeout=90,
    )
    assert r.returncode == 0, r.stderr
    assert "child 0" in r.stdout


# Row 5 ---------------------------------------------------------------------------------------
def test_ctrl_c_stops_a_long_silent_predict():
    r = _run(
        """
        import os, signal, threading, time, numpy as np, eigennet as en
        en.config.set_num_threads(1)
        m = en.Sequential([en.Input((512,)), en.layers.Dense(2048), en.layers.Dense(2048),
                           en.layers.Dense(10)])
        x = np.random.rand(20000, 512).astype("float32")
        for call in (lambda: m.predict(x, verbose=0), lambda: m.predict_on_batch(x),
                     lambda: m(x)):
            threading.Timer(0.3, lambda: os.kill(os.getpid(), signal.SIGINT)).start()
            start = time.perf_counter()
            try:
                call()
                print("finished", time.perf_counter() - start)
            except KeyboardInterrupt:
                print("stopped", round(time.perf_counter() - start, 2))
        """,
        timeout=120,
    )
    assert r.returncode == 0, r.stderr
    lines = r.stdout.split()
    assert lines[0::2] == ["stopped"] * 3, r.stdout
    assert all(float(t) < 2.0 for t in lines[1::2]), r.stdout


# Rows 7 and 8 --------------------------------------------------------------------------------
def _archive(config, members=None, meta=None):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr(
            "metadata.json",
            json.dumps(
                meta
                or {"format": "eigennet", "format_version": 2, "kind": "model", "dtype": "float32"}
            ),
        )
        zf.writestr("config.json", config if isinstance(config, str) else json.dumps(config))
        for name, data in (members or {}).items():
            zf.writestr(name, data)
    return buf.getvalue()


def _seq(layers, shape=(1000,)):
    return {"model": {"class_name": "Sequential", "input_shape": list(shape), "layers": layers}}


def _dense(units, **extra):
    config = L.Dense(units).get_config()
    config.pop("name")
    return {"class_name": "Dense", "config": {**config, **extra}}


def test_hostile_model_files_are_bounded_before_anything_is_allocated(tmp_path):
    import time

    big = _archive(_seq([_dense(200_000)]))
    assert len(big) < 1024
    path = tmp_path / "big.keras"
    path.write_bytes(big)
    start = time.perf_counter()
    with pytest.raises(ValueError, match="more weights than the file holds"):
        en.models.load_model(path)
    assert time.perf_counter() - start < 1.0
    cases = {
        "deep json": ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
        "huge shape": (
            '{"model": {"class_name": "Sequential", "input_shape": [1e400], "layers": []}}',
            "invalid",
        ),
        "no layers": (_seq([]), None),
        "seed 2**64": (
            _seq(
                [
                    _dense(
                        2,
                        kernel_initializer={
                            "class_name": "GlorotUniform",
                            "config": {"seed": 2**64},
                        },
                    )
                ],
                (3,),
            ),
            None,
        ),
    }
    for name, (config, match) in cases.items():
        p = tmp_path / "h.keras"
        p.write_bytes(_archive(config))
        with pytest.raises(ValueError, match=match):
            en.models.load_model(p)
        assert p.exists(), name
    # An .npy header that declares 2**40 elements is refused from its header.
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        header, {"descr": "<f4", "fortran_order": False, "shape": (2**40,)}
    )
    p.write_bytes(_archive(_seq([_dense(2)], (3,)), {"params.npy": header.getvalue() + b"\0" * 32}))
    with pytest.raises(ValueError, match="not a valid array"):
        en.models.load_model(p)


# Row 9 ---------------------------------------------------------------------------------------
def test_negative_iterations_and_second_moments_are_refused():
    model = _model()
    model.compile("adam", "mse")
    model.fit(np.ones((8, 4)), np.ones((8, 1)), verbose=0)
    with pytest.raises(ValueError, match="iterations"):
        model.optimizer.iterations = -1
    core = model._net.core
    state = core.get_state()
    bad = state.copy()
    bad[-1] = -1.0  # Adam's second moment
    with pytest.raises(ValueError, match="second moment"):
        core.set_state(bad)
    bad = state.copy()
    bad[0] = np.nan
    with pytest.raises(ValueError, match="not finite"):
        core.set_state(bad)
    np.testing.assert_array_equal(core.get_state(), state)  # nothing changed
    for bad in (-1, 2**53, 2**63 - 1):  # the last overflowed the next step's t = iterations + 1
        with pytest.raises(ValueError, match=rf"iterations must be in \[0, 2\^53\), got {bad}"):
            core.iterations = bad


# Row 10 --------------------------------------------------------------------------------------
def test_load_model_does_not_change_floatx_for_other_threads(tmp_path):
    en.config.set_floatx("float64")
    _model().save(tmp_path / "d.keras")
    en.config.set_floatx("float32")
    from eigennet import config

    seen: list[str] = []
    with config._thread_floatx("float64"):
        t = threading.Thread(target=lambda: seen.append(en.config.floatx()))
        t.start()
        t.join()
        assert en.config.floatx() == "float64"
    assert seen == ["float32"]
    loaded = en.models.load_model(tmp_path / "d.keras")
    assert loaded._net.dtype == np.float64 and en.config.floatx() == "float32"


# Row 11 --------------------------------------------------------------------------------------
def test_sparse_labels_beyond_float32_exactness_are_refused():
    inp = en.Input((2**24 + 1,))
    model = en.Model(inp, L.Activation("softmax")(inp))
    with pytest.raises(ValueError, match="not exact in float32"):
        model.compile("sgd", "sparse_categorical_crossentropy")


# Row 17 --------------------------------------------------------------------------------------
def test_oversized_integers_get_clear_errors():
    with pytest.raises(ValueError, match="units"):
        L.Dense(2**63)
    model = _model()
    with pytest.raises(ValueError, match="batch_size"):
        model.fit(np.ones((4, 4)), np.ones((4, 1)), batch_size=2**63, verbose=0)
    with pytest.raises(ValueError, match="num_threads"):
        en.config.set_num_threads(2**63)
    with pytest.raises(ValueError, match="iterations"):
        model.optimizer.iterations = 2**63
    with pytest.raises(ValueError, match="too large"):
        en.Input((2**32, 2**32))
    with pytest.raises(ValueError, match="too large"):
        en.Input((2**62 + 1, 4))


# Row 6 ---------------------------------------------------------------------------------------
_LIMITED = """
import resource, numpy as np, eigennet as en
{limit}
try:
    en.Sequential([en.Input((1000,)), en.layers.Dense(200_000)])
    print("built")
except MemoryError as e:
    print("refused", "can get" in str(e))
m = en.Sequential([en.Input((10,)), en.layers.Dense(20_000), en.layers.Dense(1)])
m.compile("sgd", "mse")
x = np.zeros((50_000, 10), np.float32)
try:
    m.fit(x, np.zeros((50_000, 1)), batch_size=50_000, verbose=0)
    print("trained")
except MemoryError as e:
    print("refused", "batch_size" in str(e))
"""


def test_memory_limits_of_rlimit_are_honoured_before_allocating():
    # RLIMIT_AS of 1.5 GB beyond what the process already maps: a 200M-parameter layer and a
    # full-batch fit whose workspaces need ~12 GB raise MemoryError instead of dying.
    limit = (
        "import re\n"
        "vm = int(re.search(r'VmSize:\\s+(\\d+)', open('/proc/self/status').read()).group(1))\n"
        "cap = vm * 1024 + 1_500_000_000\n"
        "resource.setrlimit(resource.RLIMIT_AS, (cap, cap))"
    )
    r = _run(_LIMITED.format(limit=limit), timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["refused", "True", "refused", "True"], r.stdout


def _make_memory_cgroup(limit: int) -> tuple[str, str]:
    """(folder, file to write a pid into) of a new memory cgroup (v2 or v1), or pytest.skip."""
    name = f"eigennet-test-{os.getpid()}"
    try:
        with open("/sys/fs/cgroup/cgroup.controllers") as f:
            if "memory" in f.read().split():
                os.mkdir(f"/sys/fs/cgroup/{name}")
                with open(f"/sys/fs/cgroup/{name}/memory.max", "w") as g:
                    g.write(str(limit))
                return f"/sys/fs/cgroup/{name}", f"/sys/fs/cgroup/{name}/cgroup.procs"
    except OSError:
        pass
    try:
        os.mkdir(f"/sys/fs/cgroup/memory/{name}")
        with open(f"/sys/fs/cgroup/memory/{name}/memory.limit_in_bytes", "w") as g:
            g.write(str(limit))
        return f"/sys/fs/cgroup/memory/{name}", f"/sys/fs/cgroup/memory/{name}/cgroup.procs"
    except OSError as e:
        pytest.skip(f"cannot create a memory cgroup here ({e})")


def test_memory_limits_of_a_cgroup_are_honoured_before_allocating():
    group, procs = _make_memory_cgroup(1_500_000_000)
    try:
        code = f"import os\nopen({procs!r}, 'w').write(str(os.getpid()))\n"
        r = _run(code + _LIMITED.format(limit=""), timeout=120)
    finally:
        try:
            os.rmdir(group)
        except OSError:
            pass
    assert r.returncode == 0, (r.returncode, r.stderr)
    assert r.stdout.split() == ["refused", "True", "refused", "True"], r.stdout


# Row 12 --------------------------------------------------------------------------------------
def test_raw_core_refuses_objects_ragged_lists_and_strings():
    from eigennet import _core

    for bad in (object(), [[1.0, 2.0], [3.0]], ["a", "b"], np.array([1 + 2j])):
        with pytest.raises(TypeError, match="real numbers"):
            _core.activation("relu", bad)
        with pytest.raises(TypeError, match="real numbers"):
            _core.loss("mean_squared_error", bad, np.zeros((2, 1)))
    core = _model()._net.core
    for bad in (object(), [[1.0], [2.0, 3.0]], ["x"]):
        with pytest.raises(TypeError, match="real numbers"):
            core.set_params(bad)
        with pytest.raises(TypeError, match="real numbers"):
            core.dataset(bad)


# Row 15 --------------------------------------------------------------------------------------
def test_a_data_set_of_one_model_is_refused_by_another():
    small = _model()
    inp = en.Input((4,))
    two = en.Model(inp, [L.Dense(1)(inp), L.Dense(3)(inp)])
    two.compile("sgd", ["mse", "mse"])
    ds = small._net.core.dataset(np.ones((6, 4), np.float32), np.ones((6, 1)), np.ones(6))
    for call in (
        lambda: two._net.core.fit_epoch(ds, 2, False),
        lambda: two._net.core.evaluate(ds, 2),
        lambda: two._net.core.predict(ds, 2),
    ):
        with pytest.raises(ValueError, match="made by another model"):
            call()
    assert small._net.core.evaluate(ds, 2).samples == 6
