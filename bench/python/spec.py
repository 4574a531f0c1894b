"""Workloads and benchmark cases shared by the driver and the workers (standard library only, so
the driver never loads NumPy, PyTorch or eigennet itself)."""

from __future__ import annotations

from dataclasses import dataclass

SEED = 20240501
THREAD_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")
FRAMEWORKS = ("eigennet", "torch", "numpy")
MATMUL_SIZE = 512  # square float32 NumPy product used by the interference cases
CHECK_ROWS, CHECK_STEPS = 32, 3  # agreement check: losses of the first steps on one batch


@dataclass(frozen=True)
class Workload:
    """A dense network: ReLU hidden layers, then softmax (integer labels) or sigmoid output."""

    key: str
    name: str
    sizes: tuple[int, ...]
    n_samples: int
    output: str  # "softmax" or "sigmoid"
    optimizer: str  # "sgd" or "adam"
    learning_rate: float


WORKLOADS = {
    "W1": Workload("W1", "mnist-mlp", (784, 256, 128, 10), 60_000, "softmax", "sgd", 0.01),
    "W2": Workload("W2", "wide", (784, 1024, 1024, 10), 8_192, "softmax", "sgd", 0.01),
    "W3": Workload("W3", "tabular", (30, 64, 64, 1), 569, "sigmoid", "adam", 1e-3),
}


@dataclass(frozen=True)
class Case:
    """One measured operation. `kind` is step, fit, predict or interference; `batch` is the
    batch size (rows for predict). A heavy case takes about a second per call: it is measured one
    call per round. `load` runs a busy background process while the case is measured."""

    id: str
    workload: str
    label: str
    kind: str
    batch: int
    heavy: bool = False
    min_threads: int = 1
    load: bool = False
    frameworks: tuple[str, ...] = FRAMEWORKS


_INTERFERENCE = ("eigennet", "torch")

CASES = (
    Case("w1-step-b32", "W1", "W1 step b32", "step", 32),
    Case("w1-step-b128", "W1", "W1 step b128", "step", 128),
    Case("w1-step-b1024", "W1", "W1 step b1024", "step", 1024),
    Case("w1-fit", "W1", "W1 fit epoch 60k b128", "fit", 128, heavy=True),
    Case("w1-predict-1", "W1", "W1 predict 1 row", "predict", 1),
    Case("w1-predict-64", "W1", "W1 predict 64 rows", "predict", 64),
    Case("w2-step-b128", "W2", "W2 step b128", "step", 128),
    Case("w2-step-b1024", "W2", "W2 step b1024", "step", 1024),
    Case("w3-step-b32", "W3", "W3 step b32", "step", 32),
    Case("w3-fit", "W3", "W3 fit epoch 569 b32", "fit", 32),
    Case("w3-predict-1", "W3", "W3 predict 1 row", "predict", 1),
    Case("w3-predict-64", "W3", "W3 predict 64 rows", "predict", 64),
    Case(
        "int-mix",
        "W1",
        "W1 step b128 and NumPy matmul, alone and interleaved",
        "interference",
        128,
        min_threads=2,
        frameworks=_INTERFERENCE,
    ),
    Case(
        "int-load",
        "W1",
        "W1 step b128 with a busy background process",
        "interference",
        128,
        min_threads=2,
        load=True,
        frameworks=_INTERFERENCE,
    ),
)
CASES_BY_ID = {c.id: c for c in CASES}


def step_flops(wl: Workload, batch: int) -> float:
    """Flops of the matrix products one training step needs: 2·m·n·k for each forward product,
    each weight gradient, and each input gradient but the first layer's."""
    pairs = list(zip(wl.sizes[:-1], wl.sizes[1:]))
    macs = sum(2 * i * o for i, o in pairs) + sum(i * o for i, o in pairs[1:])
    return 2.0 * batch * macs


def case_flops(case: Case) -> float | None:
    """Product flops of one call of a step or fit case (a fit epoch: every sample once)."""
    wl = WORKLOADS[case.workload]
    if case.kind == "step":
        return step_flops(wl, case.batch)
    if case.kind == "fit":
        return step_flops(wl, wl.n_samples)
    return None
