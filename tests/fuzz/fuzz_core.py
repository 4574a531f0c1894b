"""Calls every function and method of the raw `eigennet._core` with random arguments for a fixed
time. Python exceptions are the expected outcome; a crash, a sanitizer report (CI runs this with
the extension built under AddressSanitizer and UndefinedBehaviorSanitizer) or a hang is a
defect. Usage: python tests/fuzz/fuzz_core.py [--seconds S] [--seed N]."""

from __future__ import annotations

import argparse
import inspect
import random
import sys
import time
from typing import Any, Callable

import numpy as np

from eigennet import _core

INTS = [0, 1, 2, 3, 7, -1, -2, 10**9, 2**31, 2**62, 2**63 - 1, -(2**63)]
FLOATS = [0.0, 0.5, 1.0, -1.0, 1e-7, 1e30, float("nan"), float("inf"), -float("inf")]
STRINGS = ["relu", "softmax", "dense", "adam", "mean_squared_error", "cuda", "", "x" * 300]


def _array(rng: random.Random) -> Any:
    shape = tuple(rng.choice([0, 1, 2, 3, 5]) for _ in range(rng.choice([0, 1, 2, 3])))
    dtype = rng.choice([np.float32, np.float64, np.int64, np.bool_, np.complex64, object])
    if dtype is object:
        return np.empty(shape, dtype=object)
    a = np.asarray(np.random.default_rng(rng.randrange(2**32)).normal(size=shape) * 3)
    return a.astype(dtype)


def value(rng: random.Random, depth: int = 0) -> Any:
    kind = rng.randrange(12)
    if kind == 0:
        return rng.choice(INTS)
    if kind == 1:
        return rng.choice(FLOATS)
    if kind == 2:
        return rng.choice(STRINGS)
    if kind == 3:
        return None
    if kind == 4:
        return object()
    if kind == 5 and depth < 2:
        return [value(rng, depth + 1) for _ in range(rng.randrange(4))]
    if kind == 6 and depth < 2:
        return {rng.choice(STRINGS): value(rng, depth + 1) for _ in range(rng.randrange(3))}
    if kind == 7:
        return [[1.0, 2.0], [3.0]]  # ragged
    if kind == 8:
        return bool(rng.randrange(2))
    return _array(rng)


def _specs(rng: random.Random) -> list[Any]:
    out = []
    for _ in range(rng.randrange(1, 4)):
        kind = rng.choice(_core.layer_kinds() + ["nope"])
        ints = {
            k: rng.choice(INTS[:5])
            for k in rng.sample(
                ["units", "seed", "input_dim", "output_dim", "use_bias", "center", "scale"], 2
            )
        }
        nums = {
            k: rng.choice(FLOATS)
            for k in rng.sample(["rate", "momentum", "epsilon", "l1", "l2", "stddev"], 2)
        }
        try:
            out.append(_core.LayerSpec(kind, ints, nums, {"activation": rng.choice(STRINGS)}))
        except Exception:
            pass
    return out


def live_models() -> list[Any]:
    """A few valid models and data sets, the receivers of method calls."""
    models = []
    for cls in (_core.Model32, _core.Model64):
        spec = _core.LayerSpec("dense", {"units": 3}, {}, {"activation": "relu"})
        m = cls(_core.GraphSpec.chain(4, [spec, _core.LayerSpec("dense", {"units": 2})]), 1)
        m.compile(["mean_squared_error"], [1.0], [[]], _core.OptimizerConfig())
        models.append(m)
    return models


LOSSES = [
    "mean_squared_error",
    "binary_crossentropy_from_logits",
    "sparse_categorical_crossentropy",
    "categorical_crossentropy",
    "nope",
]


def tape_calls(rng: random.Random, m: Any) -> None:
    """A recorded pass, then tape_gradient and apply_gradients with well-typed random values
    (the calls a custom training loop makes, so that the checks behind them are reached)."""
    n = rng.choice([1, 2, 5])
    m.tape_forward(np.full((n, m.n_inputs), rng.choice(FLOATS), np.float32), rng.random() < 0.5)
    terms = [
        (
            rng.choice(INTS[:7]),
            rng.choice(LOSSES),
            rng.choice(FLOATS),
            rng.choice(FLOATS),
            rng.random() < 0.5,
        )
        for _ in range(rng.randrange(3))
    ]
    rows = rng.choice([0, 1, 2, 4])
    y = np.full((rng.choice([n, n + 1]), rows), rng.choice(FLOATS + [7.0, 0.5])) if rows else None
    w = np.full((len(terms), n), rng.choice(FLOATS)) if rng.random() < 0.3 else None
    dy = np.ones((n, rng.choice([1, 2]))) if rng.random() < 0.3 else None
    pens = [(rng.choice(INTS[:7]), rng.choice(FLOATS)) for _ in range(rng.randrange(2))]
    wanted = [rng.random() < 0.5 for _ in range(rng.choice([1, 2, 3]))]
    m.tape_gradient(terms, y, w, dy, pens, wanted, rng.random() < 0.5)
    spec = _core.OptimizerConfig()
    spec.kind = rng.choice(["sgd", "adam", "rmsprop", "adagrad"])
    size = rng.choice([0, 1, 3, 30])
    slots = np.zeros(
        rng.choice([0, size, 2 * size]), np.float32 if rng.random() < 0.5 else np.float64
    )
    m.apply_gradients(spec, rng.choice(INTS[:8]), [(rng.choice(INTS), np.ones(size), slots)])


def shard_calls(rng: random.Random, models: list[Any], datasets: list[Any]) -> None:
    """fit_epoch's and evaluate's data-parallel splits with odd shard counts and
    collectives."""
    i = rng.randrange(len(models))
    collective = value(rng) if rng.random() < 0.5 else None
    if rng.random() < 0.3:
        models[i].evaluate(
            datasets[i], rng.choice(INTS[:6]), None, 0.1, rng.choice(INTS), collective
        )
        return
    models[i].fit_epoch(
        datasets[i],
        rng.choice(INTS[:6]),
        rng.random() < 0.5,
        None,
        0.1,
        rng.choice(INTS),
        collective,
        rng.random() < 0.5,
    )


def candidates() -> list[tuple[str, Callable[..., Any] | None, Any]]:
    """(name, callable or None, class) for every module function and class."""
    out = []
    for name, obj in vars(_core).items():
        if name.startswith("_"):
            continue
        if inspect.isclass(obj):
            out.append((name, None, obj))
        elif callable(obj):
            out.append((name, obj, None))
    return out


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--seconds", type=float, default=30.0)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    rng = random.Random(args.seed)
    np.seterr(all="ignore")
    models = live_models()
    datasets = [
        m.dataset(np.zeros((5, 4), dtype=np.float32 if i == 0 else np.float64), np.zeros((5, 2)))
        for i, m in enumerate(models)
    ]
    things = candidates()
    calls = errors = 0
    deadline = time.monotonic() + args.seconds
    while time.monotonic() < deadline:
        n_args = rng.randrange(5)
        argv = [value(rng) for _ in range(n_args)]
        if argv and rng.random() < 0.3:
            argv[0] = rng.choice(datasets)
        choice = rng.random()
        try:
            calls += 1
            if choice < 0.05:
                tape_calls(rng, rng.choice(models))
            elif choice < 0.1:
                shard_calls(rng, models, datasets)
            elif choice < 0.45:
                receiver = rng.choice(models + datasets)
                names = [n for n in dir(receiver) if not n.startswith("_")]
                attr = getattr(receiver, rng.choice(names))
                if callable(attr):
                    attr(*argv)
                elif rng.random() < 0.5:
                    setattr(receiver, rng.choice(names), argv[0] if argv else None)
            elif choice < 0.6:
                graph = _core.GraphSpec(
                    [rng.choice(INTS[:6]) for _ in range(rng.randrange(1, 3))],
                    _specs(rng),
                    [
                        _core.NodeSpec(
                            rng.choice(INTS[:4]), [rng.choice(INTS[:4])], rng.choice([-1, 0, 1, 5])
                        )
                        for _ in range(rng.randrange(1, 4))
                    ],
                    [rng.choice(INTS[:5])],
                )
                m = rng.choice([_core.Model32, _core.Model64])(graph, rng.choice(INTS[:5]))
                m.predict_array(np.zeros((2, m.n_inputs), np.float32), rng.choice(INTS[:5]))
            else:
                _, fn, cls = rng.choice(things)
                target = fn if fn is not None else cls
                obj = target(*argv)
                if cls is not None:
                    for attr in rng.sample([n for n in dir(obj) if not n.startswith("_")], 2):
                        member = getattr(obj, attr, None)
                        if callable(member):
                            member(*[value(rng) for _ in range(rng.randrange(3))])
        except Exception as e:  # noqa: BLE001 (every Python exception is a clean refusal)
            if isinstance(e, SystemError):
                print(f"SystemError (a C++ bug surfacing): {e}", file=sys.stderr)
                return 1
            errors += 1
    print(f"fuzz of {_core.__file__}: {calls} calls, {errors} refused with a Python exception")
    print("no crash")
    return 0


if __name__ == "__main__":
    sys.exit(main())
