"""DataParallel: shards computed in turn in one process (against plain fit), and under
`mpirun -n 2 --oversubscribe` (mpi_fit.py) against them bit for bit, with the logs, the files
and the faults of a run across processes.

The MPI cases need mpirun, mpi4py and a build with eigennet._mpi (tests/run.sh provides them
and sets EIGENNET_TEST_MPI=1, which turns a missing piece into a failure instead of a skip).
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import eigennet as en
from eigennet import _core

SCRIPT = Path(__file__).with_name("mpi_fit.py")


@pytest.fixture(autouse=True)
def _no_distribution():
    yield
    en.distribution.set_distribution(None)


def _mpi_missing() -> str:
    if shutil.which("mpirun") is None:
        return "mpirun is not on PATH"
    if importlib.util.find_spec("mpi4py") is None:
        return "mpi4py is not installed"
    if importlib.util.find_spec("eigennet._mpi") is None:
        return "this eigennet was built without EIGENNET_MPI"
    return ""


def _needs_mpi() -> None:
    missing = _mpi_missing()
    if missing and os.environ.get("EIGENNET_TEST_MPI") == "1":
        pytest.fail(f"EIGENNET_TEST_MPI=1 but {missing}")
    if missing:
        pytest.skip(missing)


def _env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    for name in [k for k in env if k.startswith(("OMPI_", "PMI_", "PMIX_"))]:
        del env[name]  # a launcher's variables from outside would make the reference "ranked"
    env.update({"OMP_NUM_THREADS": "1", "PYTHONWARNINGS": "ignore::DeprecationWarning"})
    env.update(extra)
    return env


def _launch(n: int, script: Path) -> list[str]:
    """mpirun's command line for n ranks of script, on this machine's cores or fewer."""
    cmd = ["mpirun", "-n", str(n), "--oversubscribe"]
    if os.geteuid() == 0:
        cmd.append("--allow-run-as-root")
    return [*cmd, sys.executable, str(script)]


def _mpirun(n: int, args: list[str], timeout: float = 120, **env: str):
    return subprocess.run(
        [*_launch(n, SCRIPT), *args],
        env=_env(**env),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def _alone(args: list[str]):
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args], env=_env(), capture_output=True, text=True
    )


def _model(seed: int = 3, dropout: float = 0.0) -> en.Model:
    en.utils.set_random_seed(seed)
    m = en.Sequential(
        [
            en.Input((4,)),
            en.layers.Dense(9, activation="tanh", kernel_regularizer="l2"),
            en.layers.Dropout(dropout),
            en.layers.Dense(3, activation="softmax"),
        ]
    )
    m.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return m


def _data(n: int = 91):
    rng = np.random.default_rng(5)
    x = rng.normal(size=(n, 4))
    y = rng.integers(0, 3, size=n)
    w = rng.uniform(0.5, 2.0, size=n)
    return x, y, w


def _fit(devices: int, dtype: str, dropout: float = 0.0, batch_size: int = 16):
    en.config.set_floatx(dtype)
    en.distribution.set_distribution(
        en.distribution.DataParallel(devices=[f"cpu:{i}" for i in range(devices)])
        if devices
        else None
    )
    m = _model(dropout=dropout)
    x, y, w = _data()
    h = m.fit(x, y, sample_weight=w, batch_size=batch_size, epochs=3, verbose=0)
    en.distribution.set_distribution(None)
    return m.get_weights(), h.history


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_one_device_is_plain_fit_bitwise(dtype):
    weights, history = _fit(0, dtype, dropout=0.3)
    one_w, one_h = _fit(1, dtype, dropout=0.3)
    assert all(np.array_equal(a, b) for a, b in zip(weights, one_w))
    assert history == one_h


@pytest.mark.parametrize("devices", [2, 3, 7])
def test_shards_in_turn_match_plain_fit(devices):
    # float64: the shards' gradients summed in shard order differ from the whole batch's only
    # by rounding. 91 = 5 · 16 + 11: a short last batch; with 7 devices and batch 2 below, a
    # shard of the last batch (91 = 45 · 2 + 1) is empty.
    weights, history = _fit(0, "float64")
    split_w, split_h = _fit(devices, "float64")
    for a, b in zip(weights, split_w):
        np.testing.assert_allclose(b, a, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(split_h["loss"], history["loss"], rtol=1e-12)
    assert split_h["accuracy"] == history["accuracy"]
    weights, history = _fit(0, "float64", batch_size=2)
    split_w, split_h = _fit(devices, "float64", batch_size=2)
    for a, b in zip(weights, split_w):
        np.testing.assert_allclose(b, a, rtol=1e-11, atol=1e-13)
    np.testing.assert_allclose(split_h["loss"], history["loss"], rtol=1e-11)


def test_keras_names_and_bad_arguments():
    assert en.distribution.list_devices() == ["cpu:0"]
    assert en.distribution.distribution() is None
    d = en.distribution.DataParallel()
    assert d.devices == ["cpu:0"] and d.num_processes == 1 and d.process_id == 0
    en.distribution.set_distribution(d)
    assert en.distribution.distribution() is d
    with pytest.raises(ValueError, match="device_mesh"):
        en.distribution.DataParallel(device_mesh=object())
    assert not en.distribution.DataParallel(auto_shard_dataset=False).auto_shard_dataset
    with pytest.raises(ValueError, match="one MPI process per device"):
        en.distribution.DataParallel(devices=["cpu:0", "cpu:1"], auto_shard_dataset=False)
    with pytest.raises(ValueError, match="Received: auto_shard_dataset='no'"):
        en.distribution.DataParallel(auto_shard_dataset="no")
    with pytest.raises(ValueError, match="'gpu:0'"):
        en.distribution.DataParallel(devices=["gpu:0"])
    with pytest.raises(ValueError, match="appear once"):
        en.distribution.DataParallel(devices=["cpu:0", "cpu:0"])
    with pytest.raises(ValueError, match=r"devices=\[\]"):
        en.distribution.DataParallel(devices=[])
    with pytest.raises(ValueError, match="device_type='gpu'"):
        en.distribution.list_devices("gpu")
    with pytest.raises(ValueError, match="Received: distribution=str"):
        en.distribution.set_distribution("data_parallel")


def test_refused_where_it_would_not_split():
    en.distribution.set_distribution(en.distribution.DataParallel(devices=["cpu:0", "cpu:1"]))
    x, y, _ = _data()
    m = _model()

    def batches():
        while True:
            yield x[:8], y[:8]

    with pytest.raises(ValueError, match="a generator, a PyDataset, steps_per_epoch"):
        m.fit(batches(), steps_per_epoch=2, verbose=0)
    bn = en.Sequential(
        [en.Input((4,)), en.layers.BatchNormalization(name="bn"), en.layers.Dense(3)]
    )
    bn.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    with pytest.raises(ValueError, match="BatchNormalization layer 'bn'"):
        bn.fit(x, y, verbose=0)
    bn.get_layer("bn").trainable = False  # inference mode: nothing per shard
    bn.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    bn.fit(x, y, verbose=0)


def test_raw_core_checks_the_split():
    m = _model()
    x, y, _ = _data()
    core = m._net.core
    ds = core.dataset(x.astype(np.float32), y.astype(np.float32).reshape(-1, 1))
    for bad in (0, -1, 2**16 + 1):
        with pytest.raises(
            ValueError, match=rf"shards must be an integer in \[1, 65536\], got {bad}"
        ):
            core.fit_epoch(ds, 8, False, shards=bad)
    with pytest.raises(TypeError):
        core.fit_epoch(ds, 8, False, shards=2**63)
    with pytest.raises(ValueError, match="capsule named eigennet.Collective"):
        core.fit_epoch(ds, 8, False, shards=2, collective=object())
    with pytest.raises(ValueError, match="own_shard=True needs a collective"):
        core.fit_epoch(ds, 8, False, shards=2, own_shard=True)
    with pytest.raises(ValueError, match="shards=2 needs a collective"):
        core.evaluate(ds, 8, shards=2)
    with pytest.raises(ValueError, match="capsule named eigennet.Collective"):
        core.evaluate(ds, 8, shards=2, collective=object())
    assert isinstance(_core.Model32, type)


# -- across processes ------------------------------------------------------------------------


def _load(folder: Path, rank: int):
    with np.load(folder / f"rank{rank}.npz") as f:
        weights = [f[k] for k in sorted(k for k in f.files if k.startswith("arr_"))]
        history = {k[2:]: f[k] for k in f.files if k.startswith("h_")}
    return weights, history


@pytest.mark.parametrize(
    "ranks, dtype, optimizer, dropout",
    [
        (2, "float64", "adam", 0.3),
        (2, "float32", "sgd", 0.0),
        (2, "float32", "adam", 0.25),
        (3, "float64", "adam", 0.3),  # three terms: the order of addition matters
    ],
)
def test_ranks_equal_as_many_devices_in_one_process_bitwise(
    tmp_path, ranks, dtype, optimizer, dropout
):
    _needs_mpi()
    args = ["--dtype", dtype, "--optimizer", optimizer, "--dropout", str(dropout)]
    out, alone = tmp_path / "ranks", tmp_path / "alone"
    out.mkdir()
    alone.mkdir()
    r = _mpirun(ranks, [str(out), *args])
    assert r.returncode == 0, r.stdout + r.stderr
    r1 = _alone([str(alone), *args, "--devices", str(ranks)])
    assert r1.returncode == 0, r1.stdout + r1.stderr
    wa, ha = _load(alone, 0)
    for rank in range(ranks):
        w, h = _load(out, rank)
        for a, b in zip(w, wa):
            assert a.dtype == np.dtype(dtype)
            np.testing.assert_array_equal(a, b)  # every rank holds the one-process weights
        assert sorted(h) == sorted(ha)
        for k in h:
            np.testing.assert_array_equal(h[k], ha[k])  # and every rank's logs are its logs
    w0, _ = _load(out, 0)
    # Only rank 0 wrote: checkpoint, CSV log and model.save (the file names carry the rank).
    assert sorted(p.name for p in out.iterdir()) == [
        "ckpt_rank0.keras",
        "log_rank0.csv",
        "model_rank0.keras",
        *[f"rank{k}.npz" for k in range(ranks)],
    ]
    restored = en.models.load_model(out / "model_rank0.keras")
    for a, b in zip(restored.get_weights(), w0):
        np.testing.assert_array_equal(a, b)
    # The progress lines and the callbacks' messages come from rank 0 alone: a checkpoint
    # message per epoch run, an early stop's message once at most.
    assert r.stdout.count("Epoch 1/6") == 1
    epochs = len(re.findall(r"^Epoch \d/6$", r.stdout, re.M))
    assert r.stdout.count("saving model to") == epochs == len(ha["loss"])
    assert r.stdout.count("early stopping") == (epochs < 6)


def test_ranks_must_pass_the_same_data(tmp_path):
    _needs_mpi()
    script = tmp_path / "uneven.py"
    script.write_text(
        "import numpy as np, eigennet as en\n"
        "d = en.distribution.DataParallel(); en.distribution.set_distribution(d)\n"
        "n = 40 + d.process_id\n"
        "m = en.Sequential([en.Input((2,)), en.layers.Dense(1)])\n"
        "m.compile(optimizer='sgd', loss='mse')\n"
        "try:\n"
        "    m.fit(np.zeros((n, 2)), np.zeros(n), verbose=0)\n"
        "except ValueError as e:\n"
        "    print('refused:', e)\n"
        "m = en.Sequential([en.Input((2,)), en.layers.Dense(1 + d.process_id)])\n"
        "m.compile(optimizer='sgd', loss='mse')\n"
        "try:\n"
        "    m.fit(np.zeros((40, 2)), np.zeros((40, 1 + d.process_id)), verbose=0)\n"
        "except ValueError as e:\n"
        "    print('refused:', e)\n"
    )
    r = subprocess.run(_launch(2, script), env=_env(), capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.count("refused:") == 4
    assert "rank 0: (40, 32, 1, 0), rank 1: (41, 32, 1, 0)" in r.stdout
    # Plain SGD keeps no slots; 3 and 6 parameters of float32, the default floatx.
    assert "rank 0: (3, 0, 0, 4), rank 1: (6, 0, 0, 4)" in r.stdout


@pytest.mark.parametrize(
    "fault, says",
    [
        ("kill", ""),  # SIGKILL: mpirun ends the job
        ("raise", "RuntimeError: rank 1 gives up"),  # the traceback, then MPI_Abort
        # Rank 1 alone stops after epoch 1 and leaves fit: rank 0 waits for its gradients for
        # the timeout (3 s here, 120 s by default), raises and aborts the job.
        ("leave", "DataParallel: rank 0 waited 3 s"),
        # Rank 1 raises before fit: rank 0 waits at fit's start for the timeout, then aborts.
        ("before", "rank 0 waited 3 s for the other ranks at the start of fit"),
    ],
)
def test_a_failing_rank_ends_the_run(tmp_path, fault, says):
    _needs_mpi()
    start = time.monotonic()
    r = _mpirun(
        2, [str(tmp_path), "--fault", fault], timeout=60, EIGENNET_DATA_PARALLEL_TIMEOUT="3"
    )
    assert r.returncode != 0
    assert time.monotonic() - start < 30
    assert says in r.stderr, r.stderr
    assert not (tmp_path / "rank0.npz").exists()
    if fault == "leave":
        assert "rank 1 left fit early" in r.stdout


def test_ctrl_c_on_mpirun_stops_every_rank(tmp_path):
    _needs_mpi()
    script = tmp_path / "long.py"
    script.write_text(
        "import numpy as np, eigennet as en\n"
        "en.distribution.set_distribution(en.distribution.DataParallel())\n"
        "x = np.random.default_rng(0).normal(size=(4000, 50)); y = x[:, :1]\n"
        "m = en.Sequential([en.Input((50,)), en.layers.Dense(64), en.layers.Dense(1)])\n"
        "m.compile(optimizer='sgd', loss='mse')\n"
        "class Say(en.callbacks.Callback):\n"
        "    def on_epoch_end(self, epoch, logs=None):\n"
        "        print('epoch', epoch, flush=True)\n"
        "m.fit(x, y, epochs=100000, verbose=0, callbacks=[Say()])\n"
    )
    proc = subprocess.Popen(
        _launch(2, script),
        env=_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().startswith("epoch")  # training on both ranks
        proc.send_signal(signal.SIGINT)
        start = time.monotonic()
        proc.wait(timeout=30)
        assert time.monotonic() - start < 15
        assert proc.returncode != 0
    finally:
        proc.kill()
        proc.communicate()


# -- each rank passing its own shard (auto_shard_dataset=False) -------------------------------


def _own_and_alone(tmp_path, ranks: int, ranked: list[str], alone: list[str]):
    """Every rank's weights and logs of mpi_fit.py with --own and `ranked`, and one process's
    with `alone`."""
    out, ref = tmp_path / "own", tmp_path / "alone"
    out.mkdir()
    ref.mkdir()
    r = _mpirun(ranks, [str(out), "--own", *ranked])
    assert r.returncode == 0, r.stdout + r.stderr
    r1 = _alone([str(ref), *alone])
    assert r1.returncode == 0, r1.stdout + r1.stderr
    assert sorted(p.name for p in out.iterdir() if not p.name.endswith(".npz")) == [
        "ckpt_rank0.keras",
        "log_rank0.csv",
        "model_rank0.keras",
    ]
    return [_load(out, rank) for rank in range(ranks)], _load(ref, 0)


@pytest.mark.parametrize(
    "ranks, dtype, batch, samples",
    [(2, "float64", 32, 200), (2, "float32", 32, 200), (3, "float64", 30, 210)],
)
def test_own_shards_equal_their_rows_of_the_global_batches(tmp_path, ranks, dtype, batch, samples):
    # Rank r passes its rows of every global batch of the unshuffled data (200 = 6 · 32 + 8:
    # the short batch too gives each rank 4); one process computes the same shards in turn on
    # the whole data: equal bit for bit, dropout included. Validation: each rank its part (for
    # 2 ranks 21 and 20 of the 41 rows) against all 41 in one process, added in another order.
    _needs_mpi()
    args = ["--dtype", dtype, "--dropout", "0.3", "--no-shuffle", "--val-data"]
    args += ["--batch", str(batch), "--samples", str(samples)]
    runs, (wa, ha) = _own_and_alone(tmp_path, ranks, args, [*args, "--devices", str(ranks)])
    for w, h in runs:
        for a, b in zip(w, wa):
            assert a.dtype == np.dtype(dtype)
            np.testing.assert_array_equal(a, b)
        assert sorted(h) == sorted(ha)
        np.testing.assert_array_equal(h["loss"], ha["loss"])
        np.testing.assert_array_equal(h["accuracy"], ha["accuracy"])
        np.testing.assert_array_equal(h["val_accuracy"], ha["val_accuracy"])
        np.testing.assert_allclose(
            h["val_loss"], ha["val_loss"], rtol=1e-6 if dtype == "float32" else 1e-13
        )
        np.testing.assert_array_equal(h["val_loss"], runs[0][1]["val_loss"])  # ranks agree


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_own_shards_shuffle_each_shard_alike(tmp_path, dtype):
    # Two ranks each passing the whole data draw the same permutation of it, so each global
    # batch of 32 is one process's batch of 16 twice: a loss divided by 32 instead of 16 and
    # two equal gradients added differ only by exact powers of two, so the weights and logs
    # equal plain fit's with batch 16 bit for bit (with validation_split on each rank's copy).
    _needs_mpi()
    args = ["--dtype", dtype]
    runs, (wa, ha) = _own_and_alone(
        tmp_path, 2, [*args, "--layout", "same", "--batch", "32"], [*args, "--batch", "16"]
    )
    for w, h in runs:
        for a, b in zip(w, wa):
            np.testing.assert_array_equal(a, b)
        for k in ha:
            np.testing.assert_array_equal(h[k], ha[k])


OWN_CHECKS = """
import numpy as np, eigennet as en
d = en.distribution.DataParallel(auto_shard_dataset=False)
r = d.process_id
rng = np.random.default_rng(1)
x = rng.normal(size=(61, 3)); y = (x.sum(1) > 0).astype(np.int64)
en.utils.set_random_seed(2)
m = en.Sequential([en.Input((3,)), en.layers.Dense(4, activation="tanh"),
                   en.layers.Dense(2, activation="softmax")])
m.compile(optimizer="sgd", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
whole = m.evaluate(x, y, batch_size=8, verbose=0)
en.distribution.set_distribution(d)
part = [slice(0, 40), slice(40, 61)][r]  # unequal parts, unequal steps
mine = m.evaluate(x[part], y[part], batch_size=8, verbose=0)
assert abs(mine[0] - whole[0]) <= 1e-13 * whole[0] and mine[1] == whole[1], (mine, whole)
print("evaluate over both parts", flush=True)
assert m.predict(x[part], verbose=0).shape == (x[part].shape[0], 2)
for call, says in [
    (lambda: m.fit(x[:40], y[:40], batch_size=33, verbose=0), "divisible by the N=2"),
    (lambda: m.fit(x[part], y[part], batch_size=8, verbose=0),
     "rank 0: (40, 8, 1, 0), rank 1: (21, 8, 1, 0)"),
    (lambda: m.train_on_batch(x[part], y[part]), "does not split train_on_batch"),
    (lambda: m.test_on_batch(x[part], y[part]), "does not split test_on_batch"),
    (lambda: m.evaluate(iter([(x, y)]), steps=1, verbose=0), "does not split evaluate on a"),
]:
    try:
        call()
    except ValueError as e:
        assert says in str(e), str(e)
        print("refused", flush=True)
# A rank's progress reports between gathers are over the rows it computed (here 50 of 100).
en.distribution.set_distribution(en.distribution.DataParallel())
core, reports = m._net.core, []
ds = core.dataset(np.tile(x[:50], (2, 1)), np.tile(y[:50], 2).astype(np.float64).reshape(-1, 1))
res = core.fit_epoch(ds, 40, False, lambda s, b, loss, v: reports.append((s, loss)) or True,
                     1e9, shards=2, collective=d._transport())
rows, loss = reports[-1]
both = d._world.allgather(rows * loss)
assert rows == 50 and res.samples == 100, (rows, res.samples)
assert abs(sum(both) - 100 * res.loss) <= 1e-12 * 100 * res.loss, (both, res.loss)
print("progress over own rows", flush=True)
"""


def test_own_shards_evaluate_refusals_and_progress(tmp_path):
    _needs_mpi()
    script = tmp_path / "own.py"
    script.write_text(OWN_CHECKS)
    r = subprocess.run(_launch(2, script), env=_env(), capture_output=True, text=True, timeout=90)
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.count("evaluate over both parts") == 2
    assert r.stdout.count("refused") == 10
    assert r.stdout.count("progress over own rows") == 2
