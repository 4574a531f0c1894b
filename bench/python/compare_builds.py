"""W1 and W3 rows of one eigennet install, for comparing two builds side by side: run it under
each build's interpreter in turn (alternating, several times) and compare the lines.

    for i in 1 2 3; do old/bin/python bench/python/compare_builds.py
                       new/bin/python bench/python/compare_builds.py; done

Prints µs per training step from a `fit` epoch (median of five) and µs per one-row `predict`,
on 1 thread.
"""

from __future__ import annotations

import time

import numpy as np

import eigennet as en


def _model(widths: list[int], last: str) -> en.Sequential:
    layers = [en.layers.Dense(w, activation="relu") for w in widths[1:-1]]
    return en.Sequential(
        [en.Input((widths[0],)), *layers, en.layers.Dense(widths[-1], activation=last)]
    )


def main() -> None:
    en.config.set_num_threads(1)
    en.utils.set_random_seed(0)
    r = np.random.default_rng(0)
    w1 = _model([784, 256, 128, 10], "softmax")
    w1.compile(en.optimizers.SGD(0.01), "sparse_categorical_crossentropy")
    w3 = _model([30, 64, 64, 1], "sigmoid")
    w3.compile(en.optimizers.Adam(1e-3, epsilon=1e-7), "binary_crossentropy")
    x1 = r.random((6400, 784), dtype=np.float32)
    y1 = r.integers(0, 10, 6400).astype(np.float32)
    x3 = r.random((569, 30), dtype=np.float32)
    y3 = r.integers(0, 2, 569).astype(np.float32)
    out = {}
    for name, m, x, y, b in [
        ("W1 b32", w1, x1[:3200], y1[:3200], 32),
        ("W1 b128", w1, x1, y1, 128),
        ("W3 b32", w3, x3, y3, 32),
    ]:
        m.fit(x, y, batch_size=b, epochs=1, verbose=0)
        times = []
        for _ in range(5):
            t = time.perf_counter()
            m.fit(x, y, batch_size=b, epochs=1, verbose=0)
            times.append((time.perf_counter() - t) / (len(x) / b))
        out[name] = float(np.median(times)) * 1e6
    for name, m, x in [("W1 predict1", w1, x1[:1]), ("W3 predict1", w3, x3[:1])]:
        for _ in range(100):
            m.predict(x, verbose=0)
        t = time.perf_counter()
        for _ in range(2000):
            m.predict(x, verbose=0)
        out[name] = (time.perf_counter() - t) / 2000 * 1e6
    print(" ".join(f"{k}={v:.2f}" for k, v in out.items()))


if __name__ == "__main__":
    main()
