"""A short run of every CUDA path (shuffled fit with dropout and L2, validation, evaluate,
predict, train_on_batch), small enough for compute-sanitizer. With EIGENNET_CUDA_DEBUG=1 each
model reports how many steps it replayed from graphs when it is freed."""

from __future__ import annotations

import gc
import time

import numpy as np

import eigennet as en


def main() -> None:
    en.config.set_device("cuda")
    en.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    x = rng.random((2000, 64), dtype=np.float32)
    y = rng.integers(0, 10, size=2000)
    model = en.Sequential(
        [
            en.Input((64,)),
            en.layers.Dense(128, activation="relu", kernel_regularizer=en.regularizers.L2(1e-4)),
            en.layers.Dropout(0.2),
            en.layers.Dense(64, activation="gelu"),
            en.layers.Dense(10, activation="softmax"),
        ]
    )
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    t = time.perf_counter()
    history = model.fit(x, y, batch_size=128, epochs=3, validation_split=0.1, verbose=0)
    print(f"fit: {time.perf_counter() - t:.3f} s, loss {history.history['loss']}")
    print("evaluate:", model.evaluate(x, y, batch_size=500, verbose=0))
    p = model.predict(x[:300], batch_size=64, verbose=0)
    print("predict rows sum to 1:", bool(np.allclose(p.sum(axis=1), 1, atol=1e-5)))
    print("train_on_batch:", model.train_on_batch(x[:50], y[:50]))
    del model
    gc.collect()


if __name__ == "__main__":
    main()
