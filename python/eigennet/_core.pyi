"""Type stubs for eigennet._core, the private C++ extension (see cpp/bindings)."""

from __future__ import annotations

from typing import Callable, Optional

import numpy as np
import numpy.typing as npt

Progress = Optional[Callable[[int, int, float, list[float]], Optional[bool]]]

class LayerSpec:
    kind: str
    n_units: int
    activation: str
    use_bias: bool
    l1: float
    l2: float
    rate: float
    has_seed: bool
    seed: int
    def __init__(self) -> None: ...

class Initializer:
    def __init__(
        self, name: str, a: float = 0.0, b: float = 0.0, seed: Optional[int] = None
    ) -> None: ...

class Schedule:
    kind: str
    initial: float
    decay_steps: float
    decay_rate: float
    staircase: bool
    boundaries: list[float]
    values: list[float]
    def __init__(self) -> None: ...
    def at(self, step: int) -> float: ...

class OptimizerConfig:
    kind: str
    learning_rate: Schedule
    momentum: float
    nesterov: bool
    beta_1: float
    beta_2: float
    rho: float
    epsilon: float
    initial_accumulator_value: float
    def __init__(self) -> None: ...
    def n_slots(self) -> int: ...
    def validate(self) -> None: ...

class PassResult:
    samples: int
    batches: int
    loss: float
    metrics: list[float]
    stopped: bool

class _DataSet:
    @property
    def size(self) -> int: ...

class DataSet32(_DataSet): ...
class DataSet64(_DataSet): ...

class _Model:
    n_inputs: int
    n_outputs: int
    n_params: int
    n_targets: int
    device: str
    compiled: bool
    iterations: int
    learning_rate: float
    def __init__(
        self, n_inputs: int, layers: list[LayerSpec], seed: int, device: str = "cpu"
    ) -> None: ...
    def width(self, i: int) -> int: ...
    def param_offset(self, i: int) -> int: ...
    def initialize(self, i: int, kernel: Initializer, bias: Initializer) -> None: ...
    def get_params(self) -> npt.NDArray[np.floating]: ...
    def set_params(self, params: npt.ArrayLike) -> None: ...
    def compile(self, loss: str, optimizer: OptimizerConfig, metrics: list[str]) -> None: ...
    def set_learning_rate(self, schedule: Schedule) -> None: ...
    def get_state(self) -> npt.NDArray[np.floating]: ...
    def set_state(self, state: npt.ArrayLike) -> None: ...
    def get_rng_state(self) -> list[int]: ...
    def set_rng_state(self, state: list[int]) -> None: ...
    def predict_array(
        self, x: npt.ArrayLike, batch_size: int, training: bool = False
    ) -> npt.NDArray[np.floating]: ...
    def train_arrays(
        self,
        x: npt.ArrayLike,
        y: npt.ArrayLike,
        train: bool,
        sample_weight: Optional[npt.ArrayLike] = None,
    ) -> PassResult: ...
    def dataset(
        self,
        x: npt.ArrayLike,
        y: Optional[npt.ArrayLike] = None,
        sample_weight: Optional[npt.ArrayLike] = None,
    ) -> _DataSet: ...
    def fit_epoch(
        self,
        data: _DataSet,
        batch_size: int,
        shuffle: bool,
        callback: Progress = None,
        interval: float = 0.1,
    ) -> PassResult: ...
    def evaluate(
        self, data: _DataSet, batch_size: int, callback: Progress = None, interval: float = 0.1
    ) -> PassResult: ...
    def predict(
        self, data: _DataSet, batch_size: int, callback: Progress = None, interval: float = 0.1
    ) -> tuple[npt.NDArray[np.floating], bool]: ...

class Model32(_Model): ...
class Model64(_Model): ...

def set_num_threads(n: int) -> None: ...
def num_threads() -> int: ...
def kernel_sets() -> list[str]: ...
def kernel_set() -> str: ...
def set_kernel_set(name: str) -> None: ...
def cuda_available() -> bool: ...
def set_tf32(enabled: bool) -> None: ...
def tf32() -> bool: ...
def has_openmp() -> bool: ...
def activation(
    name: str, x: npt.ArrayLike, derivative: bool = False
) -> npt.NDArray[np.floating]: ...
def loss(
    name: str, y_true: npt.ArrayLike, y_pred: npt.ArrayLike
) -> tuple[npt.NDArray[np.floating], npt.NDArray[np.floating]]: ...
