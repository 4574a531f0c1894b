"""Type stubs for eigennet._core, the private C++ extension (see cpp/bindings)."""

from __future__ import annotations

from typing import Any, Callable, Optional, Union

import numpy as np
import numpy.typing as npt

Progress = Optional[Callable[[int, int, float, list[float]], Optional[bool]]]

class LossSpec:
    """A loss by its core name with its parameters (a plain name converts to one)."""

    name: str
    delta: float
    alpha: float
    gamma: float
    balanced: bool
    class_alpha: list[float]
    def __init__(
        self,
        name: str,
        delta: float = 1.0,
        alpha: float = 0.25,
        gamma: float = 2.0,
        balanced: bool = False,
        class_alpha: list[float] = ...,
    ) -> None: ...

class Metric:
    """A metric by its core name with its parameters (a plain name converts to one)."""

    name: str
    thresholds: list[float]
    weighted: bool
    def __init__(
        self,
        name: str,
        threshold: float = 0.5,
        argmax: bool = False,
        k: int = 5,
        thresholds: list[float] = ...,
        num_thresholds: int = 0,
        spacing: str = "list",
        top_k: int = 0,
        class_id: int = -1,
        multi_label: bool = False,
        from_logits: bool = False,
        curve: str = "ROC",
        summation_method: str = "interpolation",
        value: float = 0.0,
        average: str = "none",
        beta: float = 1.0,
        class_aggregation: str = "uniform_average",
        num_regressors: int = 0,
        weighted: bool = False,
    ) -> None: ...

MetricLike = Union[Metric, str]

LossLike = Union[str, LossSpec]

class LayerSpec:
    kind: str
    ints: dict[str, int]
    nums: dict[str, float]
    strs: dict[str, str]
    trainable: bool
    def __init__(
        self,
        kind: str,
        ints: dict[str, int] = ...,
        nums: dict[str, float] = ...,
        strs: dict[str, str] = ...,
        trainable: bool = True,
    ) -> None: ...

def layer_kinds() -> list[str]: ...

class NodeSpec:
    layer: int
    inputs: list[int]
    training: int
    def __init__(self, layer: int, inputs: list[int], training: int = -1) -> None: ...

class GraphSpec:
    input_widths: list[int]
    layers: list[LayerSpec]
    nodes: list[NodeSpec]
    outputs: list[int]
    def __init__(
        self,
        input_widths: list[int],
        layers: list[LayerSpec],
        nodes: list[NodeSpec],
        outputs: list[int],
    ) -> None: ...
    @staticmethod
    def chain(n_inputs: int, layers: list[LayerSpec]) -> GraphSpec: ...

class Initializer:
    def __init__(
        self,
        name: str,
        a: float = 0.0,
        b: float = 0.0,
        seed: Optional[int] = None,
        mode: str = "fan_in",
        distribution: str = "truncated_normal",
    ) -> None: ...

class Schedule:
    kind: str
    initial: float
    decay_steps: float
    decay_rate: float
    staircase: bool
    boundaries: list[float]
    values: list[float]
    end: float
    power: float
    cycle: bool
    alpha: float
    warmup: bool
    warmup_target: float
    warmup_steps: float
    t_mul: float
    m_mul: float
    def __init__(self) -> None: ...
    def validate(self) -> None: ...
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
    weight_decay: float
    clipvalue: float
    clipnorm: float
    global_clipnorm: float
    lr_power: float
    l1: float
    l2: float
    l2_shrinkage: float
    beta: float
    amsgrad: bool
    centered: bool
    use_ema: bool
    ema_momentum: float
    ema_overwrite_frequency: int
    def __init__(self) -> None: ...
    def n_slots(self) -> int: ...
    def rule_slots(self) -> int: ...
    def slot_initial_value(self, slot: int) -> float: ...
    def slot_nonnegative(self, slot: int) -> bool: ...
    def validate(self) -> None: ...

class PassResult:
    samples: int
    batches: int
    loss: float
    metrics: list[float]
    sums: list[float]
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
    n_stats: int
    n_layers: int
    n_trainable_params: int
    output_widths: list[int]
    n_targets: int
    device: str
    compiled: bool
    iterations: int
    learning_rate: float
    def __init__(self, graph: GraphSpec, seed: int, device: str = "cpu") -> None: ...
    def width(self, i: int) -> int: ...
    def param_offset(self, i: int) -> int: ...
    def stats_offset(self, i: int) -> int: ...
    def layer_weights(self, i: int) -> list[tuple[str, tuple[int, ...], bool]]: ...
    def set_trainable(self, i: int, trainable: bool) -> None: ...
    def trainable(self, i: int) -> bool: ...
    def initialize(self, i: int, j: int, init: Initializer) -> None: ...
    def get_params(self) -> npt.NDArray[np.floating]: ...
    def set_params(self, params: npt.ArrayLike) -> None: ...
    def get_stats(self) -> npt.NDArray[np.floating]: ...
    def set_stats(self, stats: npt.ArrayLike) -> None: ...
    def compile(
        self,
        losses: list[LossLike],
        loss_weights: list[float],
        metrics: list[list[MetricLike]],
        optimizer: OptimizerConfig,
    ) -> None: ...
    def set_learning_rate(self, schedule: Schedule) -> None: ...
    def get_state(self) -> npt.NDArray[np.floating]: ...
    def set_state(self, state: npt.ArrayLike) -> None: ...
    def get_rng_state(self) -> list[int]: ...
    def set_rng_state(self, state: list[int]) -> None: ...
    def predict_array(
        self, x: npt.ArrayLike, batch_size: int, training: bool = False
    ) -> npt.NDArray[np.floating]: ...
    # Custom loops: a recorded forward pass, its gradient, optimizer steps by hand.
    def tape_forward(
        self, x: npt.ArrayLike, training: bool
    ) -> tuple[npt.NDArray[np.floating], int, int, int, int]: ...
    def tape_gradient(
        self,
        losses: list[tuple[int, LossLike, float, float, bool]],
        y: npt.ArrayLike | None,
        sample_weight: npt.ArrayLike | None,
        output_gradients: npt.ArrayLike | None,
        penalties: list[tuple[int, float]],
        wanted: list[bool],
        input_grad: bool,
        activity: list[tuple[int, float]] = ...,
    ) -> npt.NDArray[np.floating] | None: ...
    @property
    def activity_nodes(self) -> list[int]: ...
    def activity_values(self) -> npt.NDArray[np.float64]: ...
    def get_grads(self) -> npt.NDArray[np.floating]: ...
    def apply_gradients(
        self,
        optimizer: OptimizerConfig,
        iterations: int,
        updates: list[tuple[int, npt.ArrayLike, npt.NDArray[np.floating]]],
    ) -> None: ...
    @property
    def forward_id(self) -> int: ...
    @property
    def params_version(self) -> int: ...
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
        shards: int = 1,
        collective: Any = None,
    ) -> PassResult:
        """One epoch; each batch split into `shards` shards, computed in turn, or one per
        process through `collective` (eigennet._mpi.world's capsule; shards = its size)."""
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
    name: str,
    x: npt.ArrayLike,
    derivative: bool = False,
    negative_slope: Optional[float] = None,
    threshold: float = 0.0,
    max_value: Optional[float] = None,
    alpha: Optional[float] = None,
) -> npt.NDArray[np.floating]: ...
def loss(
    name: LossLike, y_true: npt.ArrayLike, y_pred: npt.ArrayLike
) -> tuple[npt.NDArray[np.floating], npt.NDArray[np.floating]]: ...
def metric_update(
    metric: MetricLike,
    y_true: npt.ArrayLike,
    y_pred: npt.ArrayLike,
    sample_weight: Optional[npt.ArrayLike],
    sums: npt.NDArray[np.float64],
) -> None: ...
def metric_sizes(metric: MetricLike, n_out: int) -> tuple[int, int]: ...
def metric_result(
    metric: MetricLike, n_out: int, sums: npt.ArrayLike
) -> npt.NDArray[np.float64]: ...
def constrain(
    name: str, params: dict[str, float], axis: int, w: npt.NDArray[np.floating]
) -> None: ...
