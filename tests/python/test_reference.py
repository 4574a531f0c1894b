"""eigennet against a small NumPy reference MLP: forward pass for every activation, every loss in
its probability and logit forms, backprop gradients, one update of every optimizer, kernel
regularisation, a 20-epoch Adam trajectory and learning-rate schedules.

The reference computes in float64 from the very same (dtype-rounded) weights and data as the
model, so float32 models are compared with float32-sized tolerances and float64 models tightly.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import eigennet as en

# (rtol, atol) per floatx
TOL = {"float32": (1e-5, 1e-6), "float64": (1e-10, 1e-12)}

ACTIVATIONS = (
    "linear",
    "sigmoid",
    "tanh",
    "relu",
    "softmax",
    "leaky_relu",
    "elu",
    "gelu",
    "softplus",
)


@pytest.fixture(params=["float32", "float64"])
def floatx(request: pytest.FixtureRequest) -> str:
    en.config.set_floatx(request.param)
    return request.param


def assert_close(actual, desired, floatx: str, what: str = "") -> None:
    rtol, atol = TOL[floatx]
    np.testing.assert_allclose(
        np.asarray(actual, np.float64), desired, rtol=rtol, atol=atol, err_msg=what
    )


# Reference maths ------------------------------------------------------------------------------
_erf = np.vectorize(math.erf, otypes=[np.float64])


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * z))


def _softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def _softplus(z: np.ndarray) -> np.ndarray:
    return np.maximum(z, 0.0) + np.log1p(np.exp(-np.abs(z)))


def activation(name: str, z: np.ndarray) -> np.ndarray:
    if name == "linear":
        return z.copy()
    if name == "sigmoid":
        return _sigmoid(z)
    if name == "tanh":
        return np.tanh(z)
    if name == "relu":
        return np.maximum(z, 0.0)
    if name == "softmax":
        return _softmax(z)
    if name == "leaky_relu":
        return np.where(z > 0, z, 0.2 * z)
    if name == "elu":
        return np.where(z > 0, z, np.expm1(np.minimum(z, 0.0)))
    if name == "gelu":
        return 0.5 * z * (1.0 + _erf(z / math.sqrt(2.0)))
    if name == "softplus":
        return _softplus(z)
    raise AssertionError(name)


def activation_backward(name: str, z: np.ndarray, a: np.ndarray, da: np.ndarray) -> np.ndarray:
    """dL/dz from dL/da."""
    if name == "softmax":
        return a * (da - np.sum(da * a, axis=-1, keepdims=True))
    if name == "linear":
        d = np.ones_like(z)
    elif name == "sigmoid":
        d = a * (1.0 - a)
    elif name == "tanh":
        d = 1.0 - a * a
    elif name == "relu":
        d = (z > 0).astype(np.float64)
    elif name == "leaky_relu":
        d = np.where(z > 0, 1.0, 0.2)
    elif name == "elu":
        d = np.where(z > 0, 1.0, np.exp(np.minimum(z, 0.0)))
    elif name == "gelu":
        d = 0.5 * (1.0 + _erf(z / math.sqrt(2.0))) + z * np.exp(-0.5 * z * z) / math.sqrt(
            2.0 * math.pi
        )
    elif name == "softplus":
        d = _sigmoid(z)
    else:
        raise AssertionError(name)
    return d * da


def clip_bounds(floatx: str) -> tuple[float, float]:
    """Keras's [epsilon, 1 - epsilon] as the model's dtype represents it."""
    t = np.dtype(floatx).type
    return float(t(1e-7)), float(t(1) - t(1e-7))


def loss_reference(name: str, y: np.ndarray, p: np.ndarray, floatx: str):
    """Per-sample values (n,) and dvalue/dp (n, k), Keras 3 semantics."""
    lo, hi = clip_bounds(floatx)
    k = p.shape[1]
    if name.startswith("scce"):
        y = np.eye(k)[np.asarray(y, dtype=np.int64).reshape(-1)]
        name = name[1:]
    if name == "mse":
        return np.mean((p - y) ** 2, axis=1), 2.0 * (p - y) / k
    if name == "mae":
        return np.mean(np.abs(p - y), axis=1), np.sign(p - y) / k
    if name == "bce":
        pc = np.clip(p, lo, hi)
        v = -(y * np.log(pc) + (1.0 - y) * np.log(1.0 - pc))
        g = np.where(pc == p, -y / pc + (1.0 - y) / (1.0 - pc), 0.0)
        return v.mean(axis=1), g / k
    if name == "bce_logits":
        v = _softplus(p) - p * y
        return v.mean(axis=1), (_sigmoid(p) - y) / k
    if name == "cce":
        s = p.sum(axis=1, keepdims=True)
        q = p / s
        qc = np.clip(q, lo, hi)
        gq = np.where(qc == q, -y / qc, 0.0)
        g = (gq - np.sum(gq * q, axis=1, keepdims=True)) / s
        return -np.sum(y * np.log(qc), axis=1), g
    if name == "cce_logits":
        m = p.max(axis=1, keepdims=True)
        lse = m + np.log(np.sum(np.exp(p - m), axis=1, keepdims=True))
        sum_y = y.sum(axis=1, keepdims=True)
        v = (sum_y * lse - np.sum(y * p, axis=1, keepdims=True))[:, 0]
        return v, np.exp(p - lse) * sum_y - y
    raise AssertionError(name)


FUSED = {
    ("sigmoid", "bce"): "bce_logits",
    ("softmax", "cce"): "cce_logits",
    ("softmax", "scce"): "scce_logits",
}


class RefMLP:
    """Dense layers `a = act(x @ W + b)` holding float64 copies of the model's weights."""

    def __init__(
        self,
        weights: list[np.ndarray],
        acts: list[str],
        regs: list[tuple[float, float]] | None = None,
    ) -> None:
        self.params = [np.asarray(w, np.float64).copy() for w in weights]
        self.acts = list(acts)
        self.regs = regs or [(0.0, 0.0)] * len(acts)

    def forward(self, x: np.ndarray):
        a = np.asarray(x, np.float64)
        zs, outs = [], [a]
        for i, act in enumerate(self.acts):
            z = a @ self.params[2 * i] + self.params[2 * i + 1]
            a = activation(act, z)
            zs.append(z)
            outs.append(a)
        return zs, outs

    def predict(self, x: np.ndarray) -> np.ndarray:
        return self.forward(x)[1][-1]

    def penalty(self) -> float:
        total = 0.0
        for i, (l1, l2) in enumerate(self.regs):
            w = self.params[2 * i]
            total += l1 * np.abs(w).sum() + l2 * np.square(w).sum()
        return float(total)

    def loss_and_grads(self, x: np.ndarray, y: np.ndarray, loss: str, floatx: str):
        """Batch loss (mean over samples + penalty) and gradients in get_weights() order."""
        zs, outs = self.forward(x)
        fused = FUSED.get((self.acts[-1], loss))
        head = zs[-1] if fused else outs[-1]
        values, d = loss_reference(fused or loss, y, head, floatx)
        n = len(x)
        d = d / n
        grads: list[np.ndarray] = [np.empty(0)] * len(self.params)
        for i in reversed(range(len(self.acts))):
            if not (fused and i == len(self.acts) - 1):
                d = activation_backward(self.acts[i], zs[i], outs[i + 1], d)
            w = self.params[2 * i]
            l1, l2 = self.regs[i]
            grads[2 * i] = outs[i].T @ d + l1 * np.sign(w) + 2.0 * l2 * w
            grads[2 * i + 1] = d.sum(axis=0)
            d = d @ w.T
        return float(values.mean()) + self.penalty(), grads


class RefOptimizer:
    """Keras 3's update rules; `lr` is a float or a function of the step (from 0)."""

    def __init__(self, kind: str, lr, **cfg: float) -> None:
        self.kind, self.lr, self.cfg = kind, lr, cfg
        self.t = 0
        self.slots: dict[int, dict[str, np.ndarray]] = {}

    def apply(self, params: list[np.ndarray], grads: list[np.ndarray]) -> None:
        lr = self.lr(self.t) if callable(self.lr) else self.lr
        self.t += 1
        c = self.cfg
        for i, (w, g) in enumerate(zip(params, grads)):
            s = self.slots.setdefault(
                i,
                {
                    "m": np.zeros_like(w),
                    "v": np.zeros_like(w),
                    "a": np.full_like(w, c.get("initial_accumulator_value", 0.1)),
                },
            )
            if self.kind == "sgd":
                mu = c.get("momentum", 0.0)
                if mu == 0.0:
                    w -= lr * g
                else:
                    s["m"] = mu * s["m"] - lr * g
                    w += mu * s["m"] - lr * g if c.get("nesterov", False) else s["m"]
            elif self.kind == "adam":
                b1, b2, eps = c.get("beta_1", 0.9), c.get("beta_2", 0.999), c.get("epsilon", 1e-7)
                s["m"] += (g - s["m"]) * (1.0 - b1)
                s["v"] += (g * g - s["v"]) * (1.0 - b2)
                alpha = lr * math.sqrt(1.0 - b2**self.t) / (1.0 - b1**self.t)
                w -= s["m"] * alpha / (np.sqrt(s["v"]) + eps)
            elif self.kind == "rmsprop":
                rho, mu, eps = c.get("rho", 0.9), c.get("momentum", 0.0), c.get("epsilon", 1e-7)
                s["v"] = rho * s["v"] + (1.0 - rho) * g * g
                inc = lr * g / np.sqrt(s["v"] + eps)
                if mu > 0.0:
                    s["m"] = mu * s["m"] + inc
                    w -= s["m"]
                else:
                    w -= inc
            elif self.kind == "adagrad":
                s["a"] += g * g
                w -= lr * g / np.sqrt(s["a"] + c.get("epsilon", 1e-7))
            else:
                raise AssertionError(self.kind)


# Helpers --------------------------------------------------------------------------------------
def build(
    sizes: list[int],
    acts: list[str],
    floatx: str,
    seed: int = 0,
    regularizers=None,
    scale: float = 0.6,
):
    """A Sequential model and its RefMLP twin with identical random weights."""
    regularizers = regularizers or [None] * len(acts)
    model = en.Sequential(
        [en.Input((sizes[0],))]
        + [
            en.layers.Dense(n, activation=a, kernel_regularizer=r)
            for n, a, r in zip(sizes[1:], acts, regularizers)
        ]
    )
    rng = np.random.default_rng(seed)
    weights = []
    for n_in, n_out in zip(sizes[:-1], sizes[1:]):
        weights.append(rng.normal(0.0, scale, (n_in, n_out)).astype(floatx))
        weights.append(rng.normal(0.0, 0.2, (n_out,)).astype(floatx))
    model.set_weights(weights)
    for got, want in zip(model.get_weights(), weights):
        assert got.dtype == np.dtype(floatx)
        np.testing.assert_array_equal(got, want)
    regs = [(r.l1, r.l2) if r is not None else (0.0, 0.0) for r in regularizers]
    return model, RefMLP(weights, acts, regs)


def data(n: int, n_in: int, floatx: str, seed: int = 1) -> np.ndarray:
    return np.random.default_rng(seed).normal(0.0, 1.0, (n, n_in)).astype(floatx)


def targets(loss: str, n: int, k: int, floatx: str, seed: int = 2) -> np.ndarray:
    rng = np.random.default_rng(seed)
    if loss.startswith("scce"):
        return rng.integers(0, k, n)
    if loss.startswith("cce"):
        return np.eye(k, dtype=floatx)[rng.integers(0, k, n)]
    if loss.startswith("bce"):
        return rng.uniform(0.0, 1.0, (n, k)).astype(floatx)
    return rng.normal(0.0, 1.0, (n, k)).astype(floatx)


LOSS_OBJECTS = {
    "mse": lambda: en.losses.MeanSquaredError(),
    "mae": lambda: en.losses.MeanAbsoluteError(),
    "bce": lambda: en.losses.BinaryCrossentropy(),
    "bce_logits": lambda: en.losses.BinaryCrossentropy(from_logits=True),
    "cce": lambda: en.losses.CategoricalCrossentropy(),
    "cce_logits": lambda: en.losses.CategoricalCrossentropy(from_logits=True),
    "scce": lambda: en.losses.SparseCategoricalCrossentropy(),
    "scce_logits": lambda: en.losses.SparseCategoricalCrossentropy(from_logits=True),
}

LOSS_FUNCTIONS = {
    "mse": en.losses.mean_squared_error,
    "mae": en.losses.mean_absolute_error,
    "bce": en.losses.binary_crossentropy,
    "bce_logits": lambda y, p: en.losses.binary_crossentropy(y, p, from_logits=True),
    "cce": en.losses.categorical_crossentropy,
    "cce_logits": lambda y, p: en.losses.categorical_crossentropy(y, p, from_logits=True),
    "scce": en.losses.sparse_categorical_crossentropy,
    "scce_logits": lambda y, p: en.losses.sparse_categorical_crossentropy(y, p, from_logits=True),
}

# The loss's natural head; the last three are unfused (probability-form gradients).
LOSS_HEADS = [
    ("mse", "linear"),
    ("mae", "linear"),
    ("bce", "sigmoid"),
    ("bce_logits", "linear"),
    ("cce", "softmax"),
    ("cce_logits", "linear"),
    ("scce", "softmax"),
    ("scce_logits", "linear"),
    ("bce", "softmax"),
    ("cce", "sigmoid"),
    ("scce", "sigmoid"),
]

OPTIMIZERS = {
    "sgd": (lambda: en.optimizers.SGD(0.1), ("sgd", 0.1, {})),
    "sgd_momentum": (lambda: en.optimizers.SGD(0.1, momentum=0.9), ("sgd", 0.1, {"momentum": 0.9})),
    "sgd_nesterov": (
        lambda: en.optimizers.SGD(0.1, momentum=0.9, nesterov=True),
        ("sgd", 0.1, {"momentum": 0.9, "nesterov": True}),
    ),
    "adam": (lambda: en.optimizers.Adam(0.01), ("adam", 0.01, {})),
    "rmsprop": (lambda: en.optimizers.RMSprop(0.01), ("rmsprop", 0.01, {})),
    "rmsprop_momentum": (
        lambda: en.optimizers.RMSprop(0.01, momentum=0.5),
        ("rmsprop", 0.01, {"momentum": 0.5}),
    ),
    "adagrad": (lambda: en.optimizers.Adagrad(0.05), ("adagrad", 0.05, {})),
}


# (1) forward ----------------------------------------------------------------------------------
@pytest.mark.parametrize("act", ACTIVATIONS)
def test_predict_matches_reference_forward(device: str, floatx: str, act: str) -> None:
    model, ref = build([5, 8, 6, 4], [act, act, act], floatx, seed=3)
    x = data(23, 5, floatx) * 1.5
    out = model.predict(x, batch_size=7, verbose=0)
    assert out.dtype == np.dtype(floatx) and out.shape == (23, 4)
    assert_close(out, ref.predict(x), floatx, act)
    assert_close(model.predict_on_batch(x), ref.predict(x), floatx, act)


@pytest.mark.parametrize("act", ACTIVATIONS)
def test_activation_functions_match_reference(floatx: str, act: str) -> None:
    z = (np.linspace(-6.0, 6.0, 48).reshape(4, 12)).astype(floatx)
    got = getattr(en.activations, act)(z)
    assert got.dtype == np.dtype(floatx)
    assert_close(got, activation(act, z.astype(np.float64)), floatx, act)
    if act != "softmax":
        ones = np.ones_like(z, dtype=np.float64)
        zz = z.astype(np.float64)
        want = activation_backward(act, zz, activation(act, zz), ones)
        assert_close(en.activations.derivative(act, z), want, floatx, act)


# (2) losses -----------------------------------------------------------------------------------
def _loss_inputs(name: str, floatx: str):
    rng = np.random.default_rng(7)
    n, k = 9, 4
    if name in ("mse", "mae"):
        return rng.normal(size=(n, k)).astype(floatx), rng.normal(size=(n, k)).astype(floatx)
    if name == "bce":
        y = rng.uniform(size=(n, k))
        y[:3] = np.round(y[:3])
        p = rng.uniform(0.02, 0.98, (n, k))
        p[0, :2] = [0.0, 1.0]  # clipped to [1e-7, 1 - 1e-7]
        p[1, :2] = [1.0, 0.0]
        return y.astype(floatx), p.astype(floatx)
    if name == "bce_logits":
        z = rng.normal(0.0, 3.0, (n, k))
        z[0, :2] = [40.0, -40.0]
        return rng.uniform(size=(n, k)).astype(floatx), z.astype(floatx)
    labels = rng.integers(0, k, n)
    labels[:2] = [0, 1]
    y = labels if name.startswith("scce") else np.eye(k)[labels].astype(floatx)
    if name.endswith("logits"):
        z = rng.normal(0.0, 3.0, (n, k))
        z[0] = [50.0, -50.0, 0.0, 1.0]
        return y, z.astype(floatx)
    p = rng.uniform(0.05, 2.0, (n, k))  # rows are renormalised before clipping
    p[0, 0] = 0.0  # true class has probability 0: clipped to 1e-7
    p[1, 1] = 1.0
    p[1, [0, 2, 3]] = 0.0  # the true class holds everything: clipped to 1 - 1e-7
    return y, p.astype(floatx)


@pytest.mark.parametrize("name", list(LOSS_FUNCTIONS))
def test_loss_functions_match_reference(floatx: str, name: str) -> None:
    y, p = _loss_inputs(name, floatx)
    want, _ = loss_reference(name, np.asarray(y, np.float64), p.astype(np.float64), floatx)
    got = LOSS_FUNCTIONS[name](y, p)
    assert got.shape == (len(p),)
    assert got.dtype == np.dtype(floatx)
    assert_close(got, want, floatx, name)
    assert LOSS_OBJECTS[name]()(y, p) == pytest.approx(want.mean(), rel=TOL[floatx][0])


# (3) gradients and one optimizer step ---------------------------------------------------------
@pytest.mark.parametrize("loss,head", LOSS_HEADS, ids=[f"{a}-{b}" for a, b in LOSS_HEADS])
def test_one_sgd_step_per_loss(device: str, floatx: str, loss: str, head: str) -> None:
    model, ref = build([5, 7, 3], ["tanh", head], floatx)
    model.compile(optimizer=en.optimizers.SGD(0.1), loss=LOSS_OBJECTS[loss]())
    x, y = data(16, 5, floatx), targets(loss, 16, 3, floatx)
    want_loss, grads = ref.loss_and_grads(x, y, loss, floatx)
    got_loss = model.train_on_batch(x, y)
    assert got_loss == pytest.approx(want_loss, rel=TOL[floatx][0])
    RefOptimizer("sgd", 0.1).apply(ref.params, grads)
    for i, (got, want) in enumerate(zip(model.get_weights(), ref.params)):
        assert_close(got, want, floatx, f"weight {i}")


@pytest.mark.parametrize("loss,head", LOSS_HEADS, ids=[f"{a}-{b}" for a, b in LOSS_HEADS])
def test_backprop_gradients_per_loss(device: str, loss: str, head: str) -> None:
    """float64, lr=1: the weight change of one plain SGD step is exactly minus the gradient."""
    en.config.set_floatx("float64")
    model, ref = build([5, 7, 3], ["tanh", head], "float64")
    model.compile(optimizer=en.optimizers.SGD(1.0), loss=LOSS_OBJECTS[loss]())
    x, y = data(16, 5, "float64"), targets(loss, 16, 3, "float64")
    _, grads = ref.loss_and_grads(x, y, loss, "float64")
    before = model.get_weights()
    model.train_on_batch(x, y)
    for i, (w0, w1, g) in enumerate(zip(before, model.get_weights(), grads)):
        np.testing.assert_allclose(w0 - w1, g, rtol=1e-9, atol=1e-14, err_msg=f"grad {i}")


@pytest.mark.parametrize("act", ACTIVATIONS)
def test_backprop_gradients_per_activation(device: str, act: str) -> None:
    en.config.set_floatx("float64")
    model, ref = build([4, 6, 5, 2], [act, act, "linear"], "float64", seed=5)
    model.compile(optimizer=en.optimizers.SGD(1.0), loss="mse")
    x, y = data(12, 4, "float64") * 1.5, targets("mse", 12, 2, "float64")
    _, grads = ref.loss_and_grads(x, y, "mse", "float64")
    before = model.get_weights()
    model.train_on_batch(x, y)
    for i, (w0, w1, g) in enumerate(zip(before, model.get_weights(), grads)):
        np.testing.assert_allclose(w0 - w1, g, rtol=1e-9, atol=1e-14, err_msg=f"{act} grad {i}")


@pytest.mark.parametrize("opt", list(OPTIMIZERS))
def test_optimizer_steps_match_reference(device: str, floatx: str, opt: str) -> None:
    """Three train_on_batch updates: the first checks the step, the others the optimizer state."""
    make, (kind, lr, cfg) = OPTIMIZERS[opt]
    model, ref = build([5, 7, 3], ["tanh", "softmax"], floatx)
    model.compile(optimizer=make(), loss="categorical_crossentropy")
    ref_opt = RefOptimizer(kind, lr, **cfg)
    x, y = data(16, 5, floatx), targets("cce", 16, 3, floatx)
    for step in range(3):
        want_loss, grads = ref.loss_and_grads(x, y, "cce", floatx)
        got_loss = model.train_on_batch(x, y)
        assert got_loss == pytest.approx(want_loss, rel=TOL[floatx][0]), f"step {step}"
        ref_opt.apply(ref.params, grads)
        for i, (got, want) in enumerate(zip(model.get_weights(), ref.params)):
            assert_close(got, want, floatx, f"{opt} step {step} weight {i}")
    assert model.optimizer.iterations == 3


@pytest.mark.parametrize("loss,head", [("mse", "linear"), ("cce", "softmax")])
def test_kernel_regularizer_penalty_and_gradient(
    device: str, floatx: str, loss: str, head: str
) -> None:
    reg = en.regularizers.L1L2(l1=0.01, l2=0.02)
    model, ref = build([5, 7, 3], ["tanh", head], floatx, regularizers=[reg, None])
    model.compile(optimizer=en.optimizers.SGD(0.1, momentum=0.9), loss=LOSS_OBJECTS[loss]())
    ref_opt = RefOptimizer("sgd", 0.1, momentum=0.9)
    x, y = data(16, 5, floatx), targets(loss, 16, 3, floatx)
    for step in range(2):
        want_loss, grads = ref.loss_and_grads(x, y, loss, floatx)
        assert ref.penalty() > 0.01
        got_loss = model.train_on_batch(x, y)
        assert got_loss == pytest.approx(want_loss, rel=TOL[floatx][0]), f"step {step}"
        ref_opt.apply(ref.params, grads)
        for i, (got, want) in enumerate(zip(model.get_weights(), ref.params)):
            assert_close(got, want, floatx, f"step {step} weight {i}")
    want_loss, _ = ref.loss_and_grads(x, y, loss, floatx)
    assert model.test_on_batch(x, y) == pytest.approx(want_loss, rel=TOL[floatx][0])
    assert model.evaluate(x, y, batch_size=16, verbose=0) == pytest.approx(
        want_loss, rel=TOL[floatx][0]
    )


def test_train_on_batch_returns_loss_and_metrics(device: str, floatx: str) -> None:
    model, ref = build([5, 7, 3], ["tanh", "softmax"], floatx)
    model.compile(
        optimizer=en.optimizers.SGD(0.1),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    x, y = data(16, 5, floatx), targets("scce", 16, 3, floatx)
    want_loss, _ = ref.loss_and_grads(x, y, "scce", floatx)
    want_acc = np.mean(np.argmax(ref.predict(x), axis=1) == y)
    got = model.train_on_batch(x, y)
    assert isinstance(got, list) and len(got) == 2
    assert got[0] == pytest.approx(want_loss, rel=TOL[floatx][0])
    assert got[1] == pytest.approx(want_acc)


# (4) a 20-epoch full-batch Adam trajectory ----------------------------------------------------
def test_adam_fit_trajectory_float64(device: str) -> None:
    en.config.set_floatx("float64")
    model, ref = build([6, 10, 8, 3], ["tanh", "elu", "softmax"], "float64", seed=11)
    model.compile(optimizer=en.optimizers.Adam(0.02), loss="categorical_crossentropy")
    x, y = data(40, 6, "float64", seed=12), targets("cce", 40, 3, "float64", seed=13)
    history = model.fit(x, y, batch_size=len(x), epochs=20, shuffle=False, verbose=0)
    ref_opt = RefOptimizer("adam", 0.02)
    losses = []
    for _ in range(20):
        value, grads = ref.loss_and_grads(x, y, "cce", "float64")
        losses.append(value)
        ref_opt.apply(ref.params, grads)
    assert losses[-1] < 0.8 * losses[0]
    np.testing.assert_allclose(history.history["loss"], losses, rtol=1e-9)
    for i, (got, want) in enumerate(zip(model.get_weights(), ref.params)):
        np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-12, err_msg=f"weight {i}")
    assert model.optimizer.iterations == 20


# (5) learning-rate schedules ------------------------------------------------------------------
def _keras_exponential(initial: float, steps: float, rate: float, staircase: bool):
    def lr(step: int) -> float:
        p = step / steps
        return initial * rate ** (math.floor(p) if staircase else p)

    return lr


def _keras_piecewise(boundaries: list[float], values: list[float]):
    def lr(step: int) -> float:
        for b, v in zip(boundaries, values):
            if step <= b:
                return v
        return values[-1]

    return lr


SCHEDULES = {
    "exponential": (
        lambda: en.optimizers.schedules.ExponentialDecay(0.3, 2, 0.5),
        _keras_exponential(0.3, 2, 0.5, False),
    ),
    "exponential_staircase": (
        lambda: en.optimizers.schedules.ExponentialDecay(0.3, 2, 0.5, staircase=True),
        _keras_exponential(0.3, 2, 0.5, True),
    ),
    "piecewise": (
        lambda: en.optimizers.schedules.PiecewiseConstantDecay([1, 3], [0.3, 0.1, 0.02]),
        _keras_piecewise([1, 3], [0.3, 0.1, 0.02]),
    ),
}


@pytest.mark.parametrize("name", list(SCHEDULES))
def test_sgd_schedule_fit_matches_reference(device: str, name: str) -> None:
    en.config.set_floatx("float64")
    make, ref_lr = SCHEDULES[name]
    schedule = make()
    for step in range(8):
        assert schedule(step) == pytest.approx(ref_lr(step), rel=1e-14), f"step {step}"
    model, ref = build([5, 7, 3], ["tanh", "linear"], "float64")
    model.compile(optimizer=en.optimizers.SGD(schedule, momentum=0.5), loss="mse")
    x, y = data(20, 5, "float64"), targets("mse", 20, 3, "float64")
    history = model.fit(x, y, batch_size=len(x), epochs=5, shuffle=False, verbose=0)
    ref_opt = RefOptimizer("sgd", ref_lr, momentum=0.5)
    losses = []
    for _ in range(5):
        value, grads = ref.loss_and_grads(x, y, "mse", "float64")
        losses.append(value)
        ref_opt.apply(ref.params, grads)
    np.testing.assert_allclose(history.history["loss"], losses, rtol=1e-9)
    for i, (got, want) in enumerate(zip(model.get_weights(), ref.params)):
        np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-12, err_msg=f"weight {i}")
    assert model.optimizer.learning_rate == pytest.approx(ref_lr(5), rel=1e-14)
