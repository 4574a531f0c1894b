"""NumPy reference: a hand-written MLP (forward, backward, SGD / Keras-style Adam)."""

from __future__ import annotations

from typing import Any

import numpy as np

from harness import (
    WARM_BATCHES,
    Bench,
    batch_pool,
    cycler,
    initial_weights,
    timed,
)
from spec import CHECK_ROWS, CHECK_STEPS, SEED, Case, Workload


def setup(threads: int) -> dict[str, Any]:
    info: dict[str, Any] = {"numpy": np.__version__}
    try:
        from threadpoolctl import threadpool_info

        info["blas_threads"] = [(p["internal_api"], p["num_threads"]) for p in threadpool_info()]
    except ImportError:
        pass
    return info


class MLP:
    """ReLU hidden layers; softmax + cross-entropy on integer labels, or sigmoid + binary
    cross-entropy. Kernels are `(in, units)`, activations `(batch, features)`."""

    def __init__(self, wl: Workload, weights: list[np.ndarray]) -> None:
        self.params = [w.copy() for w in weights]
        self.n_layers = len(self.params) // 2
        self.sigmoid = wl.output == "sigmoid"
        self.adam = wl.optimizer == "adam"
        self.lr = wl.learning_rate
        self.m = [np.zeros_like(p) for p in self.params] if self.adam else []
        self.v = [np.zeros_like(p) for p in self.params] if self.adam else []
        self.t = 0

    def forward(self, x: np.ndarray) -> tuple[np.ndarray, list[np.ndarray]]:
        acts = [x]
        h = x
        for i in range(self.n_layers - 1):
            h = h @ self.params[2 * i]
            h += self.params[2 * i + 1]
            np.maximum(h, 0.0, out=h)
            acts.append(h)
        z = h @ self.params[-2]
        z += self.params[-1]
        return z, acts

    def predict(self, x: np.ndarray) -> np.ndarray:
        z, _ = self.forward(x)
        if self.sigmoid:
            return 1.0 / (1.0 + np.exp(-z))
        z -= z.max(axis=1, keepdims=True)
        np.exp(z, out=z)
        z /= z.sum(axis=1, keepdims=True)
        return z

    def step(self, x: np.ndarray, y: np.ndarray) -> float:
        z, acts = self.forward(x)
        n = len(x)
        if self.sigmoid:
            # loss = mean(max(z, 0) - z y + log(1 + exp(-|z|))); dL/dz = (sigmoid(z) - y) / n
            loss = np.mean(np.maximum(z, 0.0) - z * y + np.log1p(np.exp(-np.abs(z))))
            dz = (1.0 / (1.0 + np.exp(-z)) - y) / n
        else:
            # Log-sum-exp softmax; dL/dz = (softmax(z) - onehot(y)) / n
            z -= z.max(axis=1, keepdims=True)
            e = np.exp(z)
            s = e.sum(axis=1, keepdims=True)
            rows = np.arange(n)
            loss = np.mean(np.log(s[:, 0]) - z[rows, y])
            dz = e / s
            dz[rows, y] -= 1.0
            dz /= n
        grads: list[np.ndarray] = [dz] * len(self.params)
        for i in reversed(range(self.n_layers)):
            grads[2 * i] = acts[i].T @ dz  # dL/dW = Xᵀ · dL/dZ
            grads[2 * i + 1] = dz.sum(axis=0)
            if i:
                dz = dz @ self.params[2 * i].T
                dz *= acts[i] > 0
        self.update(grads)
        return float(loss)

    def update(self, grads: list[np.ndarray]) -> None:
        if not self.adam:
            for p, g in zip(self.params, grads):
                p -= self.lr * g
            return
        b1, b2, eps = 0.9, 0.999, 1e-7
        self.t += 1
        lr_t = self.lr * np.sqrt(1.0 - b2**self.t) / (1.0 - b1**self.t)
        for p, g, m, v in zip(self.params, grads, self.m, self.v):
            m += (1.0 - b1) * (g - m)
            v += (1.0 - b2) * (g * g - v)
            p -= lr_t * m / (np.sqrt(v) + eps)


def check(wl: Workload, x: np.ndarray, y: np.ndarray) -> list[float]:
    """Losses of the first training steps from the shared weights (before each update)."""
    mlp = MLP(wl, initial_weights(wl))
    return [mlp.step(x[:CHECK_ROWS], y[:CHECK_ROWS]) for _ in range(CHECK_STEPS)]


def build(
    wl: Workload, cases: list[Case], x: np.ndarray, y: np.ndarray
) -> dict[str, dict[str, Bench]]:
    weights = initial_weights(wl)
    return {c.id: _case(c, MLP(wl, weights), x, y) for c in cases if c.kind != "interference"}


def _case(case: Case, mlp: MLP, x: np.ndarray, y: np.ndarray) -> dict[str, Bench]:
    b = case.batch
    if case.kind == "step":
        nxt = cycler(batch_pool(x, y, b))
        return {"numpy": Bench(timed(lambda: mlp.step(*nxt())))}
    if case.kind == "fit":
        rng = np.random.default_rng(SEED)

        def epoch(n: int) -> float:
            perm = rng.permutation(n)
            total = 0.0
            for i in range(0, n, b):
                idx = perm[i : i + b]
                total += mlp.step(x[idx], y[idx])
            return total

        m = min(len(x), WARM_BATCHES * b)
        return {"numpy": Bench(timed(lambda: epoch(len(x))), lambda: epoch(m), m / len(x))}
    rows = x[:b]
    return {"numpy": Bench(timed(lambda: mlp.predict(rows)))}
