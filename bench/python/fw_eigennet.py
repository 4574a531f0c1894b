"""eigennet through its public API (train_on_batch, fit, predict, model(x)), as "eigennet
(core)" through the C++ model's own pass on a prebuilt dataset, and as "eigennet (tape)" through
a custom training loop (GradientTape and apply_gradients)."""

from __future__ import annotations

import os
from typing import Any, Callable

import numpy as np

import eigennet as en
from harness import (
    WARM_BATCHES,
    Bench,
    batch_pool,
    cycler,
    initial_weights,
    interference_mix,
    timed,
)
from spec import CHECK_ROWS, CHECK_STEPS, SEED, Case, Workload


def setup(threads: int) -> dict[str, Any]:
    en.config.set_num_threads(threads)
    en.utils.set_random_seed(SEED)
    return {
        "eigennet": en.__version__,
        "eigennet_threads": en.config.num_threads(),
        "eigennet_kernel_set": en.config.kernel_set(),
        "eigennet_path": os.path.dirname(en.__file__),
        "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY"),
    }


def make_model(wl: Workload, weights: list[np.ndarray]) -> Any:
    *hidden, n_out = wl.sizes[1:]
    model = en.Sequential(
        [en.Input((wl.sizes[0],))]
        + [en.layers.Dense(u, activation="relu") for u in hidden]
        + [en.layers.Dense(n_out, activation=wl.output)]
    )
    if wl.optimizer == "adam":
        opt = en.optimizers.Adam(learning_rate=wl.learning_rate, epsilon=1e-7)
        loss = "binary_crossentropy"
    else:
        opt = en.optimizers.SGD(learning_rate=wl.learning_rate)
        loss = "sparse_categorical_crossentropy"
    model.compile(optimizer=opt, loss=loss)
    model.set_weights(weights)
    return model


def core_dataset(model: Any, x: np.ndarray, y: np.ndarray) -> Any:
    """The C++ dataset over x and y as a float column (labels as floats for sparse losses)."""
    y_col = np.ascontiguousarray(y, dtype=np.float32).reshape(len(y), -1)
    return model._net.core.dataset(x, y_col)


def check(wl: Workload, x: np.ndarray, y: np.ndarray) -> list[float]:
    """Losses of the first training steps from the shared weights (before each update)."""
    model = make_model(wl, initial_weights(wl))
    xb, yb = x[:CHECK_ROWS], y[:CHECK_ROWS]
    return [float(model.train_on_batch(xb, yb)) for _ in range(CHECK_STEPS)]


def build(
    wl: Workload, cases: list[Case], x: np.ndarray, y: np.ndarray
) -> dict[str, dict[str, Bench]]:
    weights = initial_weights(wl)

    def new_model() -> Any:
        # A fresh model for every variant: none changes the state (workspaces sized for a batch,
        # say) that another one runs with.
        return make_model(wl, weights)

    return {c.id: _case(c, new_model, x, y) for c in cases}


def _case(
    case: Case, new_model: Callable[[], Any], x: np.ndarray, y: np.ndarray
) -> dict[str, Bench]:
    b = case.batch
    if case.kind == "fit":
        api, low = new_model(), new_model()
        m = min(len(x), WARM_BATCHES * b)
        ds, ds_warm = core_dataset(low, x, y), core_dataset(low, x[:m], y[:m])

        def fit(n: int) -> Any:
            return api.fit(x[:n], y[:n], batch_size=b, epochs=1, verbose=0, shuffle=True)

        return {
            "eigennet": Bench(timed(lambda: fit(len(x))), lambda: fit(m), m / len(x)),
            "eigennet (core)": Bench(
                timed(lambda: low._net.core.fit_epoch(ds, b, True)),
                lambda: low._net.core.fit_epoch(ds_warm, b, True),
                m / len(x),
            ),
        }
    if case.kind == "predict":
        m_predict, m_call = new_model(), new_model()
        rows = x[:b]
        return {
            "eigennet predict": Bench(timed(lambda: m_predict.predict(rows, verbose=0))),
            "eigennet model(x)": Bench(timed(lambda: m_call(rows))),
        }
    pool = batch_pool(x, y, b)
    api = new_model()
    nxt = cycler(pool)

    def step() -> Any:
        return api.train_on_batch(*nxt())

    if case.kind == "interference":
        if case.load:
            return {"eigennet step": Bench(timed(step))}
        return interference_mix("eigennet", step)
    low = new_model()
    nxt_ds = cycler([core_dataset(low, xb, yb) for xb, yb in pool])
    return {
        "eigennet": Bench(timed(step)),
        "eigennet (core)": Bench(timed(lambda: low._net.core.fit_epoch(nxt_ds(), b, False))),
        TAPE: Bench(timed(tape_step(new_model(), cycler(pool)))),
    }


TAPE = "eigennet (tape)"


def tape_step(model: Any, nxt: Callable[[], Any]) -> Callable[[], float]:
    """A custom-loop step: forward on the tape, the compiled loss object, the gradient and
    apply_gradients (the same update as train_on_batch); returns the loss, as a step does."""
    loss_fn, opt, variables = model.loss, model.optimizer, model.trainable_weights

    def step() -> float:
        x, y = nxt()
        with en.GradientTape() as tape:
            loss = loss_fn(y, model(x, training=True))
        opt.apply_gradients(zip(tape.gradient(loss, variables), variables))
        return float(loss)

    return step
