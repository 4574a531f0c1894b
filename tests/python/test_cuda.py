"""The CUDA backend against the CPU backend: fit, evaluate, predict and the per-batch calls for
every activation, loss, optimizer, regulariser, dropout and a callback, float32 within 1e-4 and
float64 within 1e-10 (relative to each array's scale).

Both models of a pair are built from the same seed, so they start from identical weights (the
initialisers draw on the host). Shuffled training cannot be compared across devices (the GPU
draws its own permutation), so comparisons use shuffle=False and shuffling is checked for
determinism on the GPU alone. Every GPU test is skipped when the build has no CUDA backend or
no GPU is present.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
import pytest

import eigennet as en

needs_gpu = pytest.mark.skipif(
    not en.config.cuda_available(), reason="needs the CUDA backend and a GPU"
)

RTOL = {"float32": 1e-4, "float64": 1e-10}
L = en.layers


@pytest.fixture(autouse=True)
def _cpu_afterwards():
    yield
    en.config.set_device("cpu")
    en.config.set_tf32(False)


def close(got: Any, want: Any, dtype: str, what: str = "") -> None:
    """|got - want| <= rtol * (|want| + max|want|): relative to each entry and to the scale."""
    got, want = np.asarray(got, dtype=np.float64), np.asarray(want, dtype=np.float64)
    rtol = RTOL[dtype]
    scale = float(np.max(np.abs(want))) if want.size else 0.0
    np.testing.assert_allclose(got, want, rtol=rtol, atol=rtol * max(scale, 1e-30), err_msg=what)


def pair(
    make_layers: Callable[[], list], n_inputs: int, dtype: str = "float32", seed: int = 0
) -> tuple[en.Sequential, en.Sequential]:
    """The same Sequential built twice from the same seed: on the CPU, then on the GPU."""
    models = []
    for device in ("cpu", "cuda"):
        en.config.set_floatx(dtype)
        en.config.set_device(device)
        en.utils.set_random_seed(seed)
        models.append(en.Sequential([en.Input((n_inputs,)), *make_layers()]))
    en.config.set_device("cpu")
    cpu, gpu = models
    for a, b in zip(cpu.get_weights(), gpu.get_weights()):
        np.testing.assert_array_equal(a, b)
    return cpu, gpu


def compile_both(models: tuple, **kwargs: Any) -> None:
    for m in models:
        args = {k: (v() if callable(v) else v) for k, v in kwargs.items()}
        m.compile(**args)


def same_results(
    cpu: en.Sequential, gpu: en.Sequential, x: np.ndarray, y: Any, dtype: str, **fit: Any
) -> None:
    """fit (shuffle=False), then weights, history, evaluate and predict all agree."""
    fit = {"epochs": 3, "batch_size": 16, "verbose": 0, "shuffle": False, **fit}
    h_cpu, h_gpu = cpu.fit(x, y, **fit), gpu.fit(x, y, **fit)
    assert h_cpu.history.keys() == h_gpu.history.keys()
    for key in h_cpu.history:
        close(h_gpu.history[key], h_cpu.history[key], dtype, f"history {key}")
    for i, (a, b) in enumerate(zip(gpu.get_weights(), cpu.get_weights())):
        close(a, b, dtype, f"weight {i}")
    close(gpu.evaluate(x, y, verbose=0), cpu.evaluate(x, y, verbose=0), dtype, "evaluate")
    close(gpu.predict(x, verbose=0), cpu.predict(x, verbose=0), dtype, "predict")


def data(n: int, n_inputs: int, seed: int = 0, dtype: str = "float32") -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(n, n_inputs)).astype(dtype)


def test_set_tf32_flag():
    assert en.config.tf32() is False
    en.config.set_tf32(True)
    assert en.config.tf32() is True
    en.config.set_tf32(False)
    with pytest.raises(TypeError, match="set_tf32 expects a bool"):
        en.config.set_tf32(1)


@pytest.mark.skipif(en.config.cuda_available(), reason="a GPU is present")
def test_cuda_unavailable_is_a_clear_error():
    with pytest.raises(RuntimeError, match="CUDA is not available"):
        en.config.set_device("cuda")
    assert en.config.device() == "cpu"


ACTIVATIONS = ["linear", "relu", "sigmoid", "tanh", "softmax", "leaky_relu", "elu", "gelu"]
ACTIVATIONS += ["softplus"]


@needs_gpu
@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_activation(activation, dtype):
    x = data(80, 5, dtype=dtype)
    y = np.tanh(x @ np.linspace(-1, 1, 15).reshape(5, 3)).astype(dtype)
    models = pair(lambda: [L.Dense(12, activation=activation), L.Dense(3)], 5, dtype)
    compile_both(models, optimizer=lambda: en.optimizers.SGD(0.05), loss="mse")
    same_results(*models, x, y, dtype)


@needs_gpu
@pytest.mark.parametrize("activation", ["relu", "softmax", "gelu"])
def test_activation_layer(activation):
    x = data(64, 4)
    y = np.abs(x[:, :2])
    models = pair(lambda: [L.Dense(10), L.Activation(activation), L.Dense(2)], 4)
    compile_both(models, optimizer=lambda: en.optimizers.Adam(0.01), loss="mae", metrics=["mse"])
    same_results(*models, x, y, "float32")


def _classes(n: int, k: int, seed: int = 1) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, k, size=n)


# (loss, last activation, outputs, targets): fused (softmax/sigmoid + cross-entropy), logits and
# plain probability forms.
LOSSES = {
    "mse": ("mse", "linear", 3, "real"),
    "mae": ("mae", "tanh", 3, "real"),
    "bce_sigmoid": ("binary_crossentropy", "sigmoid", 1, "binary"),
    "bce_multi": ("binary_crossentropy", "sigmoid", 3, "binary"),
    "bce_probs": ("binary_crossentropy", "softmax", 3, "binary"),
    "bce_logits": (lambda: en.losses.BinaryCrossentropy(from_logits=True), "linear", 2, "binary"),
    "cce_softmax": ("categorical_crossentropy", "softmax", 4, "onehot"),
    "cce_probs": ("categorical_crossentropy", "sigmoid", 4, "onehot"),
    "cce_logits": (
        lambda: en.losses.CategoricalCrossentropy(from_logits=True),
        "linear",
        4,
        "onehot",
    ),
    "scce_softmax": ("sparse_categorical_crossentropy", "softmax", 4, "labels"),
    "scce_probs": ("sparse_categorical_crossentropy", "sigmoid", 4, "labels"),
    "scce_logits": (
        lambda: en.losses.SparseCategoricalCrossentropy(from_logits=True),
        "linear",
        4,
        "labels",
    ),
}


def _targets(kind: str, n: int, k: int, x: np.ndarray, dtype: str) -> np.ndarray:
    if kind == "real":
        return np.sin(x[:, :k] * 2).astype(dtype)
    if kind == "binary":
        return (x[:, :k] > 0).astype(dtype)
    labels = _classes(n, k)
    return labels if kind == "labels" else np.eye(k, dtype=dtype)[labels]


@needs_gpu
@pytest.mark.parametrize("name", list(LOSSES))
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_loss(name, dtype):
    loss, last, k, kind = LOSSES[name]
    x = data(96, 6, seed=2, dtype=dtype)
    y = _targets(kind, len(x), k, x, dtype)
    models = pair(lambda: [L.Dense(16, activation="tanh"), L.Dense(k, activation=last)], 6, dtype)
    metrics = ["accuracy"] if kind != "real" else ["mae", "mse"]
    compile_both(models, optimizer=lambda: en.optimizers.Adam(0.01), loss=loss, metrics=metrics)
    same_results(*models, x, y, dtype, batch_size=20)


OPTIMIZERS = {
    "sgd": lambda: en.optimizers.SGD(0.05),
    "momentum": lambda: en.optimizers.SGD(0.05, momentum=0.9),
    "nesterov": lambda: en.optimizers.SGD(0.05, momentum=0.9, nesterov=True),
    "adam": lambda: en.optimizers.Adam(0.01),
    "rmsprop": lambda: en.optimizers.RMSprop(0.01),
    "rmsprop_momentum": lambda: en.optimizers.RMSprop(0.005, momentum=0.5),
    "adagrad": lambda: en.optimizers.Adagrad(0.05),
    "exponential_decay": lambda: en.optimizers.Adam(
        en.optimizers.schedules.ExponentialDecay(0.02, decay_steps=3, decay_rate=0.5)
    ),
    "piecewise": lambda: en.optimizers.SGD(
        en.optimizers.schedules.PiecewiseConstantDecay([4, 9], [0.1, 0.02, 0.005])
    ),
}


@needs_gpu
@pytest.mark.parametrize("name", list(OPTIMIZERS))
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_optimizer(name, dtype):
    x = data(100, 7, seed=3, dtype=dtype)
    y = _classes(len(x), 3)
    models = pair(
        lambda: [L.Dense(16, activation="relu"), L.Dense(3, activation="softmax")], 7, dtype
    )
    compile_both(
        models,
        optimizer=OPTIMIZERS[name],
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    same_results(*models, x, y, dtype, epochs=4, batch_size=16)
    assert models[1].optimizer.iterations == models[0].optimizer.iterations


@needs_gpu
@pytest.mark.parametrize(
    "regularizer",
    [
        lambda: en.regularizers.L1(1e-3),
        lambda: en.regularizers.L2(1e-2),
        lambda: en.regularizers.L1L2(1e-3, 1e-2),
    ],
    ids=["l1", "l2", "l1l2"],
)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_regularizer(regularizer, dtype):
    x = data(90, 5, seed=4, dtype=dtype)
    y = _classes(len(x), 2).astype(dtype)
    models = pair(
        lambda: [
            L.Dense(24, activation="elu", kernel_regularizer=regularizer()),
            L.Dense(1, activation="sigmoid", kernel_regularizer=regularizer()),
        ],
        5,
        dtype,
    )
    compile_both(
        models, optimizer=lambda: en.optimizers.SGD(0.1, momentum=0.5), loss="binary_crossentropy"
    )
    same_results(*models, x, y, dtype)


@needs_gpu
@pytest.mark.parametrize("seed", [None, 17])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_dropout(seed, dtype):
    # Masks come from the same counter-based hash on both devices: identical bits.
    x = data(120, 8, seed=5, dtype=dtype)
    y = _classes(len(x), 3)
    models = pair(
        lambda: [
            L.Dense(32, activation="relu"),
            L.Dropout(0.3, seed=seed),
            L.Dense(16, activation="tanh"),
            L.Dropout(0.5),
            L.Dense(3, activation="softmax"),
        ],
        8,
        dtype,
    )
    compile_both(
        models, optimizer=lambda: en.optimizers.Adam(0.01), loss="sparse_categorical_crossentropy"
    )
    same_results(*models, x, y, dtype, epochs=4)


@needs_gpu
@pytest.mark.parametrize("kind", ["sample_weight", "class_weight"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_sample_and_class_weights(kind, dtype):
    # Weighted losses and gradients, weights gathered per batch with the inputs, and weighted
    # validation data; a short last batch (100 = 6 * 16 + 4).
    x = data(100, 6, seed=6, dtype=dtype)
    y = _classes(len(x), 3)
    w = np.random.default_rng(7).uniform(0.0, 2.0, len(x))
    models = pair(
        lambda: [L.Dense(12, activation="tanh"), L.Dense(3, activation="softmax")], 6, dtype
    )
    compile_both(
        models,
        optimizer=lambda: en.optimizers.SGD(0.1, momentum=0.9),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    weights = (
        {"sample_weight": w} if kind == "sample_weight" else {"class_weight": {0: 0.5, 2: 3.0}}
    )
    same_results(*models, x, y, dtype, validation_data=(x[:30], y[:30], w[:30]), **weights)


@needs_gpu
def test_early_stopping_with_validation():
    x = data(160, 4, seed=6)
    y = (x[:, :1] * 2 - x[:, 1:2] + 0.1 * np.random.default_rng(7).normal(size=(160, 1))).astype(
        np.float32
    )
    models = pair(lambda: [L.Dense(32, activation="tanh"), L.Dense(1)], 4)
    compile_both(models, optimizer=lambda: en.optimizers.SGD(0.1, momentum=0.5), loss="mse")
    histories = []
    for m in models:
        stop = en.callbacks.EarlyStopping(
            monitor="val_loss", min_delta=0.005, patience=1, restore_best_weights=True
        )
        histories.append(
            m.fit(
                x,
                y,
                epochs=60,
                batch_size=16,
                shuffle=False,
                validation_split=0.25,
                callbacks=[stop],
                verbose=0,
            ).history
        )
    assert len(histories[1]["loss"]) == len(histories[0]["loss"]) < 60
    for key in histories[0]:
        close(histories[1][key], histories[0][key], "float32", key)
    for a, b in zip(models[1].get_weights(), models[0].get_weights()):
        close(a, b, "float32")


@needs_gpu
def test_batch_hooks_and_validation_data():
    # A callback with batch hooks makes fit run one C++ call per batch.
    x = data(70, 3, seed=8)
    y = _classes(len(x), 2)
    xv, yv = data(30, 3, seed=9), _classes(30, 2, seed=10)
    models = pair(lambda: [L.Dense(8, activation="relu"), L.Dense(2, activation="softmax")], 3)
    compile_both(
        models, optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"]
    )
    seen = [[], []]
    for i, m in enumerate(models):
        cb = en.callbacks.LambdaCallback(
            on_train_batch_end=lambda batch, logs, i=i: seen[i].append(logs["loss"])
        )
        m.fit(
            x,
            y,
            batch_size=8,
            epochs=2,
            shuffle=False,
            validation_data=(xv, yv),
            callbacks=[cb],
            verbose=0,
        )
    assert len(seen[0]) == len(seen[1]) == 18
    close(seen[1], seen[0], "float32", "batch losses")
    close(models[1].evaluate(xv, yv, verbose=0), models[0].evaluate(xv, yv, verbose=0), "float32")


@needs_gpu
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_per_batch_calls(dtype):
    # New data sets every call: the recorded steps read their addresses per replay.
    models = pair(
        lambda: [L.Dense(12, activation="sigmoid"), L.Dense(3, activation="softmax")], 4, dtype
    )
    compile_both(
        models,
        optimizer=lambda: en.optimizers.RMSprop(0.01),
        loss="categorical_crossentropy",
        metrics=["acc"],
    )
    for step in range(6):
        x = data(10 if step % 3 else 7, 4, seed=20 + step, dtype=dtype)
        y = np.eye(3, dtype=dtype)[_classes(len(x), 3, seed=30 + step)]
        got = models[1].train_on_batch(x, y)
        want = models[0].train_on_batch(x, y)
        close(got, want, dtype, f"train_on_batch {step}")
        close(models[1].test_on_batch(x, y), models[0].test_on_batch(x, y), dtype)
        close(models[1].predict_on_batch(x), models[0].predict_on_batch(x), dtype)
    for a, b in zip(models[1].get_weights(), models[0].get_weights()):
        close(a, b, dtype)


@needs_gpu
@pytest.mark.parametrize("batch_size", [1, 7, 64])
def test_batch_sizes(batch_size):
    x = data(64, 3, seed=11)
    y = (x @ np.array([[1.5], [-2.0], [0.5]]) + 0.3).astype(np.float32)
    models = pair(lambda: [L.Dense(4, activation="softplus"), L.Dense(1)], 3)
    compile_both(models, optimizer=lambda: en.optimizers.SGD(0.02), loss="mse")
    same_results(*models, x, y, "float32", batch_size=batch_size, epochs=2)


def _shuffled_run(seed: int, graphs: str, monkeypatch) -> tuple[list, list]:
    monkeypatch.setenv("EIGENNET_CUDA_GRAPHS", graphs)
    en.config.set_device("cuda")
    en.utils.set_random_seed(seed)
    x = data(300, 10, seed=12)
    y = _classes(len(x), 4)
    model = en.Sequential(
        [
            en.Input((10,)),
            L.Dense(32, activation="relu", kernel_regularizer=en.regularizers.L2(1e-3)),
            L.Dropout(0.2),
            L.Dense(4, activation="softmax"),
        ]
    )
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(x, y, batch_size=32, epochs=3, verbose=0)
    return model.get_weights(), history.history["loss"]


@needs_gpu
def test_shuffle_is_deterministic_and_graphs_change_nothing(monkeypatch):
    w_a, loss_a = _shuffled_run(3, "1", monkeypatch)
    w_b, loss_b = _shuffled_run(3, "1", monkeypatch)
    w_direct, loss_direct = _shuffled_run(3, "0", monkeypatch)
    w_other, _ = _shuffled_run(4, "1", monkeypatch)
    for a, b, c in zip(w_a, w_b, w_direct):
        np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(a, c)
    assert loss_a == loss_b == loss_direct
    assert not np.array_equal(w_a[0], w_other[0])


@needs_gpu
def test_shuffled_training_matches_cpu_statistically():
    x = data(512, 10, seed=13)
    y = _classes(len(x), 2, seed=14)
    y = (x[:, 0] + x[:, 1] > 0).astype(np.int64)
    models = pair(lambda: [L.Dense(32, activation="relu"), L.Dense(2, activation="softmax")], 10)
    compile_both(
        models, optimizer=lambda: en.optimizers.Adam(0.01), loss="sparse_categorical_crossentropy"
    )
    losses = [m.fit(x, y, batch_size=32, epochs=8, verbose=0).history["loss"][-1] for m in models]
    assert losses[1] < 0.3 and losses[0] < 0.3
    assert abs(losses[1] - losses[0]) < 0.1


@needs_gpu
def test_mnist_sized_network():
    # Products large enough for cuBLAS to pick its tiled (and split-K) kernels.
    x = np.random.default_rng(15).random((1024, 784), dtype=np.float32)
    y = _classes(len(x), 10, seed=16)
    models = pair(
        lambda: [
            L.Dense(256, activation="relu"),
            L.Dense(128, activation="relu"),
            L.Dense(10, activation="softmax"),
        ],
        784,
    )
    compile_both(
        models,
        optimizer=lambda: en.optimizers.SGD(0.01),
        loss="sparse_categorical_crossentropy",
        metrics=["acc"],
    )
    same_results(*models, x, y, "float32", batch_size=128, epochs=2)


@needs_gpu
def test_huge_batch_predict_and_evaluate():
    # More columns than one grid dimension covers: the kernels loop over the rest.
    x = data(600_000, 2, seed=17)
    y = (x[:, :1] > 0).astype(np.float32)
    models = pair(lambda: [L.Dense(3, activation="tanh"), L.Dense(1, activation="sigmoid")], 2)
    compile_both(models, optimizer="sgd", loss="binary_crossentropy", metrics=["accuracy"])
    close(
        models[1].predict(x, batch_size=len(x), verbose=0),
        models[0].predict(x, batch_size=len(x), verbose=0),
        "float32",
    )
    close(
        models[1].evaluate(x, y, batch_size=len(x), verbose=0),
        models[0].evaluate(x, y, batch_size=len(x), verbose=0),
        "float32",
    )


@needs_gpu
def test_tf32_is_close_but_not_exact():
    x = np.random.default_rng(18).random((512, 256), dtype=np.float32)
    models = pair(lambda: [L.Dense(256, activation="relu"), L.Dense(8)], 256)
    want = models[0].predict(x, verbose=0)
    close(models[1].predict(x, verbose=0), want, "float32")
    en.config.set_tf32(True)
    got = models[1].predict(x, verbose=0)
    np.testing.assert_allclose(got, want, rtol=2e-2, atol=2e-2 * np.abs(want).max())
    en.config.set_tf32(False)
    close(models[1].predict(x, verbose=0), want, "float32")


@needs_gpu
def test_weights_state_and_files_round_trip(tmp_path):
    x = data(48, 6, seed=19)
    y = _classes(len(x), 3)
    models = pair(lambda: [L.Dense(8, activation="gelu"), L.Dense(3, activation="softmax")], 6)
    compile_both(
        models, optimizer=lambda: en.optimizers.Adam(0.01), loss="sparse_categorical_crossentropy"
    )
    for m in models:
        m.fit(x, y, batch_size=16, epochs=2, shuffle=False, verbose=0)
    path = tmp_path / "model.keras"
    models[1].save(path)
    en.config.set_device("cuda")
    loaded = en.models.load_model(path)
    en.config.set_device("cpu")
    for a, b in zip(loaded.get_weights(), models[1].get_weights()):
        np.testing.assert_array_equal(a, b)
    # Resuming from the file continues exactly as the original (optimizer state included).
    for m in (models[1], loaded, models[0]):
        m.fit(x, y, batch_size=16, epochs=1, shuffle=False, verbose=0)
    for a, b, c in zip(loaded.get_weights(), models[1].get_weights(), models[0].get_weights()):
        np.testing.assert_array_equal(a, b)
        close(a, c, "float32")
    models[1].set_weights([np.zeros_like(w) for w in models[1].get_weights()])
    assert all(not w.any() for w in models[1].get_weights())
