"""eigennet against PyTorch in float64: forward passes, losses, one update of SGD (momentum,
Nesterov), Adam, RMSprop and Adagrad, and a 10-step classifier trajectory.

torch.nn.Linear stores its weight as (out, in): an eigennet kernel is `weight.T`. Where the two
libraries place epsilon differently the test chooses epsilons that make the rules coincide.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import eigennet as en

torch = pytest.importorskip("torch")

RTOL, ATOL = 1e-10, 1e-13


@pytest.fixture(autouse=True)
def _float64_torch():
    en.config.set_floatx("float64")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


TORCH_ACTS = {
    "relu": lambda: torch.nn.ReLU(),
    "tanh": lambda: torch.nn.Tanh(),
    "gelu": lambda: torch.nn.GELU(approximate="none"),
    "elu": lambda: torch.nn.ELU(alpha=1.0),
    "softplus": lambda: torch.nn.Softplus(),
    "leaky_relu": lambda: torch.nn.LeakyReLU(negative_slope=0.2),
    "sigmoid": lambda: torch.nn.Sigmoid(),
    "softmax": lambda: torch.nn.Softmax(dim=-1),
    "log_softmax": lambda: torch.nn.LogSoftmax(dim=-1),
    "linear": lambda: torch.nn.Identity(),
    "selu": lambda: torch.nn.SELU(),
    "silu": lambda: torch.nn.SiLU(),
    "mish": lambda: torch.nn.Mish(),
    "hard_sigmoid": lambda: torch.nn.Hardsigmoid(),  # relu6(x + 3) / 6, as Keras 3
    "hard_silu": lambda: torch.nn.Hardswish(),
    "relu6": lambda: torch.nn.ReLU6(),
    "softsign": lambda: torch.nn.Softsign(),
}


def twins(sizes: list[int], acts: list[str], seed: int = 0):
    """An eigennet Sequential and a torch Sequential with the same float64 weights."""
    model = en.Sequential(
        [en.Input((sizes[0],))]
        + [en.layers.Dense(n, activation=a) for n, a in zip(sizes[1:], acts)]
    )
    rng = np.random.default_rng(seed)
    weights, modules = [], []
    for n_in, n_out, act in zip(sizes[:-1], sizes[1:], acts):
        kernel = rng.normal(0.0, 1.0 / math.sqrt(n_in), (n_in, n_out))
        bias = rng.normal(0.0, 0.1, n_out)
        weights += [kernel, bias]
        linear = torch.nn.Linear(n_in, n_out, dtype=torch.float64)
        with torch.no_grad():
            linear.weight.copy_(torch.from_numpy(kernel.T.copy()))
            linear.bias.copy_(torch.from_numpy(bias))
        modules += [linear, TORCH_ACTS[act]()]
    model.set_weights(weights)
    return model, torch.nn.Sequential(*modules)


def torch_weights(net) -> list[np.ndarray]:
    """Keras order: [kernel (in, units), bias, ...]."""
    out = []
    for m in net:
        if isinstance(m, torch.nn.Linear):
            out += [m.weight.detach().numpy().T, m.bias.detach().numpy()]
    return out


def assert_same_weights(model, net, rtol: float = RTOL, atol: float = ATOL, what: str = "") -> None:
    for i, (got, want) in enumerate(zip(model.get_weights(), torch_weights(net))):
        np.testing.assert_allclose(got, want, rtol=rtol, atol=atol, err_msg=f"{what} weight {i}")


def t64(a) -> torch.Tensor:
    return torch.from_numpy(np.asarray(a, dtype=np.float64))


def data(n: int, d: int, seed: int = 1) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(n, d))


# Forward --------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "act",
    [
        "relu",
        "tanh",
        "gelu",
        "elu",
        "softplus",
        "leaky_relu",
        "selu",
        "silu",
        "mish",
        "hard_sigmoid",
        "hard_silu",
        "relu6",
        "softsign",
        "log_softmax",
    ],
)
def test_forward_matches_torch(device: str, act: str) -> None:
    model, net = twins([6, 16, 16, 4], [act, act, "linear"], seed=3)
    x = data(25, 6) * 2.0
    got = model.predict(x, batch_size=8, verbose=0)
    with torch.no_grad():
        want = net(t64(x)).numpy()
    np.testing.assert_allclose(got, want, rtol=RTOL, atol=ATOL)


# Losses ---------------------------------------------------------------------------------------
def test_mse_matches_torch() -> None:
    rng = np.random.default_rng(4)
    y, p = rng.normal(size=(10, 3)), rng.normal(size=(10, 3))
    want = torch.nn.functional.mse_loss(t64(p), t64(y), reduction="none").mean(dim=1).numpy()
    np.testing.assert_allclose(en.losses.mean_squared_error(y, p), want, rtol=RTOL)
    assert en.losses.MeanSquaredError()(y, p) == pytest.approx(
        torch.nn.MSELoss()(t64(p), t64(y)).item(), rel=RTOL
    )


def test_bce_from_logits_matches_torch() -> None:
    rng = np.random.default_rng(5)
    y, z = rng.uniform(size=(10, 3)), rng.normal(0.0, 4.0, (10, 3))
    z[0] = [60.0, -60.0, 0.0]
    want = (
        torch.nn.functional.binary_cross_entropy_with_logits(t64(z), t64(y), reduction="none")
        .mean(dim=1)
        .numpy()
    )
    got = en.losses.binary_crossentropy(y, z, from_logits=True)
    np.testing.assert_allclose(got, want, rtol=RTOL, atol=ATOL)
    assert en.losses.BinaryCrossentropy(from_logits=True)(y, z) == pytest.approx(
        torch.nn.BCEWithLogitsLoss()(t64(z), t64(y)).item(), rel=RTOL
    )


def test_cross_entropy_matches_torch() -> None:
    rng = np.random.default_rng(6)
    labels, z = rng.integers(0, 5, 12), rng.normal(0.0, 3.0, (12, 5))
    z[0] = [80.0, -80.0, 0.0, 1.0, 2.0]
    want = torch.nn.functional.cross_entropy(t64(z), torch.from_numpy(labels), reduction="none")
    got = en.losses.sparse_categorical_crossentropy(labels, z, from_logits=True)
    np.testing.assert_allclose(got, want.numpy(), rtol=RTOL, atol=ATOL)
    onehot = np.eye(5)[labels]
    got = en.losses.categorical_crossentropy(onehot, z, from_logits=True)
    np.testing.assert_allclose(got, want.numpy(), rtol=RTOL, atol=ATOL)


LOSS_CASES = {
    # name: (eigennet head, eigennet loss, torch loss on the torch net's last output)
    "mse": ("linear", lambda: en.losses.MeanSquaredError(), lambda: torch.nn.MSELoss()),
    "bce_logits": (
        "linear",
        lambda: en.losses.BinaryCrossentropy(from_logits=True),
        lambda: torch.nn.BCEWithLogitsLoss(),
    ),
    "scce_logits": (
        "linear",
        lambda: en.losses.SparseCategoricalCrossentropy(from_logits=True),
        lambda: torch.nn.CrossEntropyLoss(),
    ),
    "scce_softmax": (
        "softmax",
        lambda: en.losses.SparseCategoricalCrossentropy(),
        lambda: torch.nn.CrossEntropyLoss(),
    ),
    "cce_softmax": (
        "softmax",
        lambda: en.losses.CategoricalCrossentropy(),
        lambda: torch.nn.CrossEntropyLoss(),
    ),
    "bce_sigmoid": (
        "sigmoid",
        lambda: en.losses.BinaryCrossentropy(),
        lambda: torch.nn.BCEWithLogitsLoss(),
    ),
}


@pytest.mark.parametrize("case", list(LOSS_CASES))
def test_sgd_step_per_loss_matches_torch(device: str, case: str) -> None:
    """One SGD step: the loss before the update and the weights after it match autograd."""
    head, en_loss, torch_loss = LOSS_CASES[case]
    k = 4
    model, net = twins([6, 16, 16, k], ["tanh", "relu", head], seed=7)
    if head != "linear":
        net = net[:-1]  # torch's fused losses take logits
    x = data(20, 6, seed=8)
    rng = np.random.default_rng(9)
    if case.startswith("scce"):
        y_en = rng.integers(0, k, 20)
        y_t = torch.from_numpy(y_en)
    elif case.startswith("cce"):
        labels = rng.integers(0, k, 20)
        y_en, y_t = np.eye(k)[labels], torch.from_numpy(labels)
    elif case.startswith("bce"):
        y_en = rng.uniform(size=(20, k))
        y_t = t64(y_en)
    else:
        y_en = rng.normal(size=(20, k))
        y_t = t64(y_en)
    model.compile(optimizer=en.optimizers.SGD(0.5), loss=en_loss())
    opt = torch.optim.SGD(net.parameters(), lr=0.5)
    got = model.train_on_batch(x, y_en)
    opt.zero_grad()
    loss = torch_loss()(net(t64(x)), y_t)
    loss.backward()
    opt.step()
    assert got == pytest.approx(loss.item(), rel=RTOL)
    assert_same_weights(model, net, what=case)


# Optimizers -----------------------------------------------------------------------------------
def _b2_eps(eps: float, beta_2: float = 0.999) -> float:
    # Keras: lr*sqrt(1-b2^t)/(1-b1^t) * m/(sqrt(v)+eps); torch: lr/(1-b1^t) * m/(sqrt(v/(1-b2^t))
    # + eps'): equal at t=1 when eps' = eps/sqrt(1-b2).
    return eps / math.sqrt(1.0 - beta_2)


OPTIMIZERS = {
    # name: (eigennet optimizer, torch optimizer factory, steps, rtol)
    "sgd": (lambda: en.optimizers.SGD(0.1), lambda p: torch.optim.SGD(p, lr=0.1), 3, RTOL),
    "sgd_momentum": (
        lambda: en.optimizers.SGD(0.1, momentum=0.9),
        lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9),
        3,
        RTOL,
    ),
    "sgd_nesterov": (
        lambda: en.optimizers.SGD(0.1, momentum=0.9, nesterov=True),
        lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9, nesterov=True),
        3,
        RTOL,
    ),
    # One step with epsilons that make the rules identical.
    "adam_one_step": (
        lambda: en.optimizers.Adam(0.01, epsilon=1e-7),
        lambda p: torch.optim.Adam(p, lr=0.01, eps=_b2_eps(1e-7)),
        1,
        RTOL,
    ),
    # Several steps: the epsilons scale differently with t, so make both negligible.
    "adam": (
        lambda: en.optimizers.Adam(0.01, epsilon=1e-16),
        lambda p: torch.optim.Adam(p, lr=0.01, eps=1e-16),
        3,
        1e-8,
    ),
    # Keras puts eps inside the square root, torch outside: both tiny.
    "rmsprop": (
        lambda: en.optimizers.RMSprop(0.01, rho=0.9, epsilon=1e-20),
        lambda p: torch.optim.RMSprop(p, lr=0.01, alpha=0.9, eps=1e-20),
        3,
        RTOL,
    ),
    "rmsprop_momentum": (
        lambda: en.optimizers.RMSprop(0.01, rho=0.9, momentum=0.5, epsilon=1e-20),
        lambda p: torch.optim.RMSprop(p, lr=0.01, alpha=0.9, momentum=0.5, eps=1e-20),
        3,
        RTOL,
    ),
    # Keras's accumulator starts at 0.1 (torch's at 0) and takes eps inside the square root.
    "adagrad": (
        lambda: en.optimizers.Adagrad(0.05, initial_accumulator_value=0.1, epsilon=1e-20),
        lambda p: torch.optim.Adagrad(p, lr=0.05, initial_accumulator_value=0.1, eps=1e-20),
        3,
        RTOL,
    ),
}


@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_optimizer_steps_match_torch(device: str, name: str) -> None:
    make_en, make_torch, steps, rtol = OPTIMIZERS[name]
    model, net = twins([6, 16, 16, 4], ["gelu", "elu", "linear"], seed=10)
    model.compile(optimizer=make_en(), loss="mse")
    opt = make_torch(net.parameters())
    x, y = data(24, 6, seed=11), data(24, 4, seed=12)
    for step in range(steps):
        got = model.train_on_batch(x, y)
        opt.zero_grad()
        loss = torch.nn.functional.mse_loss(net(t64(x)), t64(y))
        loss.backward()
        opt.step()
        assert got == pytest.approx(loss.item(), rel=rtol), f"step {step}"
        assert_same_weights(model, net, rtol=rtol, atol=rtol * 1e-3, what=f"{name} step {step}")


# Trajectory -----------------------------------------------------------------------------------
def test_softmax_classifier_trajectory_matches_torch(device: str) -> None:
    """10 mini-batch steps of a 20-32-3 softmax classifier with SGD momentum 0.9."""
    model, net = twins([20, 32, 3], ["relu", "softmax"], seed=13)
    logits_net = net[:-1]
    model.compile(
        optimizer=en.optimizers.SGD(0.05, momentum=0.9),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    opt = torch.optim.SGD(logits_net.parameters(), lr=0.05, momentum=0.9)
    rng = np.random.default_rng(14)
    x = rng.normal(size=(64, 20))
    y = (x[:, :3] @ rng.normal(size=(3, 3))).argmax(axis=1)
    losses_en, losses_torch = [], []
    for step in range(10):
        rows = slice(16 * (step % 4), 16 * (step % 4 + 1))
        loss_en, acc = model.train_on_batch(x[rows], y[rows])
        opt.zero_grad()
        logits = logits_net(t64(x[rows]))
        loss = torch.nn.functional.cross_entropy(logits, torch.from_numpy(y[rows]))
        loss.backward()
        opt.step()
        losses_en.append(loss_en)
        losses_torch.append(loss.item())
        want_acc = (logits.argmax(dim=1).numpy() == y[rows]).mean()
        assert acc == pytest.approx(want_acc), f"step {step}"
    np.testing.assert_allclose(losses_en, losses_torch, rtol=1e-9)
    assert losses_torch[-1] < losses_torch[0]
    assert_same_weights(model, net, rtol=1e-9, atol=1e-12)
    with torch.no_grad():
        probs = torch.softmax(logits_net(t64(x)), dim=1).numpy()
    np.testing.assert_allclose(model.predict(x, verbose=0), probs, rtol=1e-9, atol=1e-12)
