"""Optimizers with Keras 3's names, defaults and update rules (run in C++)."""

from __future__ import annotations

import math
import warnings
import weakref
from typing import Any, Optional, Sequence, Union

import numpy as np

from eigennet import _core
from eigennet.layers.layer import trainable_changes
from eigennet.models.net import _moves
from eigennet.optimizers import schedules
from eigennet.optimizers.schedules import LearningRateSchedule
from eigennet.utils import serialization
from eigennet.variables import Variable

__all__ = [
    "SGD",
    "Adadelta",
    "Adagrad",
    "Adam",
    "AdamW",
    "Adamax",
    "Ftrl",
    "Lion",
    "Nadam",
    "Optimizer",
    "RMSprop",
    "get",
    "schedules",
]

LearningRate = Union[float, LearningRateSchedule]


def _check_float(name: str, value: Any, low: float, high: float, low_open: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be a number. Received: {name}={value!r}")
    value = float(value)
    ok = math.isfinite(value) and (value > low if low_open else value >= low) and value <= high
    if not ok:
        raise ValueError(f"Invalid value for {name}. Received: {name}={value}")
    return value


class Optimizer:
    """Base class. `learning_rate` is a float or a schedule; `iterations` counts updates."""

    _kind = ""

    def __init__(
        self,
        learning_rate: LearningRate,
        name: str | None = None,
        weight_decay: Optional[float] = None,
        clipnorm: Optional[float] = None,
        clipvalue: Optional[float] = None,
        global_clipnorm: Optional[float] = None,
        use_ema: bool = False,
        ema_momentum: float = 0.99,
        ema_overwrite_frequency: Optional[int] = None,
        loss_scale_factor: Optional[float] = None,
        gradient_accumulation_steps: Optional[int] = None,
    ) -> None:
        self._learning_rate = self._check_lr(learning_rate)
        self.name = name or self._kind
        # Keras's base options: weight decay (w -= w * weight_decay * lr before each update) and
        # the gradient clips run in the core; the others are refused rather than ignored.
        self.weight_decay = (
            None
            if weight_decay is None
            else _check_float("weight_decay", weight_decay, 0, math.inf)
        )
        if (clipnorm is not None) + (clipvalue is not None) + (global_clipnorm is not None) > 1:
            raise ValueError(
                "Only one of `clipnorm`, `clipvalue` and `global_clipnorm` can be set. Received: "
                f"clipnorm={clipnorm}, clipvalue={clipvalue}, global_clipnorm={global_clipnorm}"
            )
        self.clipvalue = (
            None if clipvalue is None else _check_float("clipvalue", clipvalue, 0, math.inf, True)
        )
        self.clipnorm = (
            None if clipnorm is None else _check_float("clipnorm", clipnorm, 0, math.inf, True)
        )
        self.global_clipnorm = (
            None
            if global_clipnorm is None
            else _check_float("global_clipnorm", global_clipnorm, 0, math.inf, True)
        )
        # Keras's moving average of the weights, kept by the core as one more slot.
        self.use_ema = bool(use_ema)
        if self.use_ema:
            if not isinstance(ema_momentum, (int, float)) or not 0 <= ema_momentum <= 1:
                raise ValueError(
                    "`ema_momentum` must be in the range [0, 1]. "
                    f"Received: ema_momentum={ema_momentum}"
                )
            if ema_overwrite_frequency and (
                isinstance(ema_overwrite_frequency, bool)
                or not isinstance(ema_overwrite_frequency, (int, np.integer))
                or ema_overwrite_frequency < 1
            ):
                raise ValueError(
                    "`ema_overwrite_frequency` must be an integer >= 1 or None. "
                    f"Received: ema_overwrite_frequency={ema_overwrite_frequency}"
                )
        self.ema_overwrite_frequency = (
            int(ema_overwrite_frequency) if ema_overwrite_frequency else None
        )
        unsupported = {
            "loss_scale_factor": loss_scale_factor,
            "gradient_accumulation_steps": gradient_accumulation_steps,
        }
        for key, value in unsupported.items():
            if value is not None:
                raise NotImplementedError(
                    f"Optimizer argument {key}={value!r} is not supported by eigennet yet."
                )
        self.ema_momentum = float(ema_momentum)
        self._models: list[weakref.ref[Any]] = []
        self._iterations = 0
        # Custom loops: each variable's slots (kept with the variable), the last variables.
        self._slots: dict[int, tuple[Any, np.ndarray]] = {}
        self._variables: Optional[list[Any]] = None
        self._plan: Optional[tuple[Any, list[Any], list[Any]]] = None

    @staticmethod
    def _check_lr(lr: Any) -> LearningRate:
        if isinstance(lr, LearningRateSchedule):
            return lr
        # 0 is allowed, as in Keras: it freezes training, and schedules may reach it.
        return _check_float("learning_rate", lr, 0.0, math.inf)

    def _attach(self, core: Any) -> None:
        self._models = [r for r in self._models if r() is not None and r() is not core]
        self._models.append(weakref.ref(core))
        _OWNER[core] = self  # a core compiled again with another optimizer leaves this one

    def _cores(self) -> list[Any]:
        """The model cores compiled with this optimizer (and not since with another one)."""
        return [c for ref in self._models if (c := ref()) is not None and _OWNER.get(c) is self]

    def _core(self) -> Any:
        cores = self._cores()
        return cores[-1] if cores else None

    @property
    def iterations(self) -> int:
        """Number of updates applied so far."""
        core = self._core()
        return int(core.iterations) if core is not None else self._iterations

    @iterations.setter
    def iterations(self, value: int) -> None:
        if (
            isinstance(value, bool)
            or not isinstance(value, (int, np.integer))
            or not 0 <= value < 2**63
        ):
            raise ValueError(
                f"iterations counts updates: it must be an int in [0, 2**63). "
                f"Received: iterations={value!r}"
            )
        self._iterations = int(value)
        core = self._core()
        if core is not None:
            core.iterations = int(value)

    @property
    def learning_rate(self) -> float:
        """The learning rate of the next update (a schedule is evaluated at `iterations`)."""
        if isinstance(self._learning_rate, LearningRateSchedule):
            return self._learning_rate(self.iterations)
        return float(self._learning_rate)

    @learning_rate.setter
    def learning_rate(self, value: float) -> None:
        if isinstance(self._learning_rate, LearningRateSchedule):
            raise TypeError(
                "This optimizer was created with a `LearningRateSchedule` object as its "
                "`learning_rate` constructor argument, hence its learning rate is not settable. "
                "If you need the learning rate to be settable, you should instantiate the "
                "optimizer with a float `learning_rate` argument."
            )
        if isinstance(value, LearningRateSchedule):
            raise TypeError("Set a schedule when creating the optimizer, not afterwards.")
        self._learning_rate = self._check_lr(value)
        for core in self._cores():
            core.set_learning_rate(self._schedule_spec())

    def _schedule_spec(self) -> Any:
        if isinstance(self._learning_rate, LearningRateSchedule):
            return self._learning_rate._spec()
        s = _core.Schedule()
        s.initial = float(self._learning_rate)
        return s

    # Bookkeeping that does not change the update rule, so it keeps the cached spec.
    _KEEPS_SPEC = frozenset(
        {"_spec_cache", "_iterations", "_plan", "_variables", "_slots", "_models"}
    )

    def __setattr__(self, name: str, value: Any) -> None:
        if name in Optimizer._KEEPS_SPEC:
            object.__setattr__(self, name, value)
            return
        if isinstance(getattr(type(self), name, None), property):
            # Properties (learning_rate, iterations) reach the compiled models themselves.
            object.__setattr__(self, "_spec_cache", None)
            object.__setattr__(self, name, value)
            return
        missing = object()
        old = self.__dict__.get(name, missing)
        object.__setattr__(self, "_spec_cache", None)
        object.__setattr__(self, name, value)
        cores = self._cores() if "_models" in self.__dict__ else []
        if not cores:
            return
        # Keras reads hyperparameters at every step: the compiled models take the new ones, or
        # the change is undone with the core's reason (an invalid value, other slots).
        try:
            spec = self._spec()
            for core in cores:
                core.set_optimizer(spec)
        except Exception:
            if old is missing:
                object.__delattr__(self, name)
            else:
                object.__setattr__(self, name, old)
            object.__setattr__(self, "_spec_cache", None)
            raise

    def _spec(self) -> Any:
        """The core's OptimizerConfig, rebuilt after any hyperparameter changed."""
        cached = getattr(self, "_spec_cache", None)
        if cached is None:
            cached = self._spec_cache = self._new_spec()
        return cached

    def _new_spec(self) -> Any:
        c = _core.OptimizerConfig()
        c.kind = self._kind
        c.learning_rate = self._schedule_spec()
        c.weight_decay = self.weight_decay or 0.0
        c.clipvalue = self.clipvalue or 0.0
        c.clipnorm = self.clipnorm or 0.0
        c.global_clipnorm = self.global_clipnorm or 0.0
        c.use_ema = self.use_ema
        c.ema_momentum = self.ema_momentum
        c.ema_overwrite_frequency = self.ema_overwrite_frequency or 0
        self._fill(c)
        return c

    def _fill(self, c: Any) -> None:
        pass

    # Custom loops ---------------------------------------------------------------------------
    def apply_gradients(self, grads_and_vars: Any) -> int:
        """Applies `zip(grads, variables)` (Keras's `apply_gradients`): one update, in C++ on
        the model's buffers, the same arithmetic as a step of `fit`. Returns `iterations`."""
        pairs = list(grads_and_vars)
        for p in pairs:
            if not isinstance(p, (tuple, list)) or len(p) != 2:
                raise TypeError(
                    "apply_gradients takes (gradient, variable) pairs, e.g. "
                    f"zip(grads, model.trainable_weights). Received: {p!r}"
                )
        self.apply([g for g, _ in pairs], [v for _, v in pairs])
        return self.iterations

    def apply(
        self, grads: Sequence[Any], trainable_variables: Optional[Sequence[Any]] = None
    ) -> None:
        """Applies one update of `grads` to `trainable_variables` (Keras's `apply`): the
        variables of the last call when they are not given. Each variable keeps its own slots
        (momentum, moments), created on its first update."""
        if trainable_variables is None:
            if self._variables is None:
                raise ValueError(
                    "apply() needs trainable_variables on its first call (the optimizer is not "
                    "built with any yet)."
                )
            trainable_variables = self._variables
        grads, variables = list(grads), list(trainable_variables)
        if len(grads) != len(variables):
            raise ValueError(
                f"Expected one gradient per variable: {len(grads)} gradients for "
                f"{len(variables)} variables."
            )
        spec = self._spec()
        plan = self._plan_for(variables, spec)
        groups: list[tuple[Any, list[Any]]] = []
        missing = []
        for net, items in plan:
            updates = []
            for k, offset, shape, slots in items:
                g = grads[k]
                if g is None:
                    missing.append(variables[k].path)
                    continue
                if not isinstance(g, np.ndarray) or g.dtype != net.dtype:
                    g = np.asarray(g)
                    if g.dtype.kind not in "fiub":
                        raise TypeError(
                            f"The gradient of {variables[k].path} must hold numbers, got dtype "
                            f"{g.dtype}."
                        )
                if g.shape != shape:
                    raise ValueError(
                        f"The gradient of {variables[k].path} has shape {g.shape}; the variable "
                        f"has shape {shape}."
                    )
                updates.append((offset, g, slots))
            groups.append((net, updates))
        if missing:
            warnings.warn(
                f"Gradients do not exist for variables {missing} when minimizing the loss.",
                stacklevel=2,
            )
        if self.global_clipnorm is not None and sum(1 for _, u in groups if u) > 1:
            raise NotImplementedError(
                "global_clipnorm clips the norm of all gradients together; eigennet computes it "
                "inside one model, and these variables belong to several. Apply the gradients "
                "of each model with its own optimizer, or use clipnorm."
            )
        core = self._core()
        step = int(core.iterations) if core is not None else self._iterations
        for net, updates in groups:
            if updates:
                net.core.apply_gradients(spec, step, updates)
        self._iterations = step + 1
        if core is not None:
            core.iterations = step + 1

    def _plan_for(self, variables: list[Any], spec: Any) -> list[tuple[Any, list[Any]]]:
        """Per model holding them: (index in variables, offset, shape, slots) of each variable.
        Kept while the same variables stay in the same models with the same optimizer kind."""
        key = (
            tuple(map(id, variables)),
            _moves[0],
            trainable_changes[0],
            self._kind,
            spec.n_slots(),
        )
        if self._plan is not None and self._plan[0] == key:
            return self._plan[1]
        n_slots = spec.n_slots()
        groups: dict[int, tuple[Any, list[Any]]] = {}
        for k, v in enumerate(variables):
            if not isinstance(v, Variable):
                raise TypeError(f"Optimizers update eigennet variables. Received: {v!r}")
            if not v.trainable:
                raise ValueError(
                    f"Variable {v.path} is not trainable (a frozen layer's weight or "
                    "non-trainable state): the optimizer does not update it."
                )
            net = v._layer._home
            if net is None:
                raise ValueError(
                    f"Variable {v.path} has no values in a model yet: call the model (or layer) "
                    "on data once before updating its weights."
                )
            _, offset, _ = net._slices[net._index[id(v._layer)]][v._index]
            slots = self._slots_of(v, net.dtype, n_slots, spec)
            groups.setdefault(id(net), (net, []))[1].append((k, offset, v.shape, slots))
        plan = list(groups.values())
        self._variables = variables
        self._plan = (key, plan, variables)  # variables kept: their ids stay theirs
        return plan

    def finalize_variable_values(self, var_list: Sequence[Any]) -> None:
        """Keras's end of training: with `use_ema`, each variable takes its moving average (fit
        calls this after its last epoch). The averages of a compiled model's `fit` live in its
        core, those of custom-loop updates with the variable; a variable this optimizer never
        updated is left as it is."""
        if not self.use_ema:
            return
        from eigennet.models import keras_optimizer

        for v in var_list:
            if not isinstance(v, Variable):
                raise TypeError(f"Optimizers update eigennet variables. Received: {v!r}")
            entry = self._slots.get(id(v))
            if entry is not None and entry[0] is v:
                n_slots = self._spec().n_slots()
                v.assign(entry[1].reshape(n_slots, -1)[n_slots - 1].reshape(v.shape))
        keras_optimizer.finalize_averages(self, self._cores(), list(var_list))

    def _slots_of(self, v: Any, dtype: Any, n_slots: int, spec: Any) -> np.ndarray:
        """v's slots ((n_slots, size) flattened), created with the optimizer's starting values."""
        key = id(v)
        entry = self._slots.get(key)
        size = math.prod(v.shape)
        if entry is None or entry[1].dtype != dtype or entry[1].size != n_slots * size:
            start = np.empty((n_slots, size), dtype=dtype)
            for k in range(n_slots):
                start[k] = spec.slot_initial_value(k)
            if entry is not None and entry[1].size == n_slots * size:
                start[...] = entry[1].reshape(n_slots, size)
            entry = (v, start.reshape(-1))
            self._slots[key] = entry
        return entry[1]

    def get_config(self) -> dict[str, Any]:
        """The constructor arguments, as a dict (a schedule in its serialized form)."""
        lr: Any = self._learning_rate
        if isinstance(lr, LearningRateSchedule):
            lr = schedules.serialize(lr)
        return {
            "name": self.name,
            "learning_rate": lr,
            "weight_decay": self.weight_decay,
            "clipnorm": self.clipnorm,
            "global_clipnorm": self.global_clipnorm,
            "clipvalue": self.clipvalue,
            "use_ema": self.use_ema,
            "ema_momentum": self.ema_momentum,
            "ema_overwrite_frequency": self.ema_overwrite_frequency,
            "loss_scale_factor": None,
            "gradient_accumulation_steps": None,
        }

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Optimizer:
        """Creates an instance from the output of `get_config()`."""
        config = dict(config)
        if isinstance(config.get("learning_rate"), dict):
            config["learning_rate"] = schedules.deserialize(config["learning_rate"])
        return cls(**config)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.get_config()})"


class SGD(Optimizer):
    """Gradient descent, with optional (Nesterov) momentum.

    `velocity = momentum * velocity - learning_rate * g`, then `w += velocity` (or, Nesterov,
    `w += momentum * velocity - learning_rate * g`).
    """

    _kind = "sgd"

    def __init__(
        self,
        learning_rate: LearningRate = 0.01,
        momentum: float = 0.0,
        nesterov: bool = False,
        name: str = "SGD",
        **kwargs: Any,
    ) -> None:
        super().__init__(learning_rate, name, **kwargs)
        if (
            isinstance(momentum, bool)
            or not isinstance(momentum, (int, float))
            or not (0 <= momentum <= 1)
        ):
            raise ValueError(
                f"`momentum` must be a float between [0, 1]. Received: momentum={momentum!r}"
            )
        self.momentum = float(momentum)
        self.nesterov = bool(nesterov)

    def _fill(self, c: Any) -> None:
        c.momentum, c.nesterov = self.momentum, self.nesterov

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "momentum": self.momentum, "nesterov": self.nesterov}


class _Moments(Optimizer):
    """An optimizer with Adam's beta_1, beta_2 and epsilon (named after its kind by default)."""

    def __init__(
        self,
        learning_rate: LearningRate = 0.001,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        epsilon: float = 1e-7,
        name: Optional[str] = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(learning_rate, name or self._kind, **kwargs)
        self.beta_1 = _check_float("beta_1", beta_1, 0.0, 1.0)
        self.beta_2 = _check_float("beta_2", beta_2, 0.0, 1.0)
        self.epsilon = _check_float("epsilon", epsilon, 0.0, math.inf)
        if self.beta_1 >= 1.0 or self.beta_2 >= 1.0:
            raise ValueError(
                f"beta_1 and beta_2 must be < 1. Received: beta_1={beta_1}, beta_2={beta_2}"
            )

    def _fill(self, c: Any) -> None:
        c.beta_1, c.beta_2, c.epsilon = self.beta_1, self.beta_2, self.epsilon

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "beta_1": self.beta_1,
            "beta_2": self.beta_2,
            "epsilon": self.epsilon,
        }


class Adam(_Moments):
    """Adam with Keras's bias-corrected step size; `amsgrad` divides by the square root of the
    largest second moment so far."""

    _kind = "adam"

    def __init__(
        self,
        learning_rate: LearningRate = 0.001,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        epsilon: float = 1e-7,
        amsgrad: bool = False,
        name: str = "adam",
        **kwargs: Any,
    ) -> None:
        super().__init__(learning_rate, beta_1, beta_2, epsilon, name, **kwargs)
        if not isinstance(amsgrad, (bool, np.bool_)):
            raise TypeError(f"amsgrad must be a bool. Received: amsgrad={amsgrad!r}")
        self.amsgrad = bool(amsgrad)

    def _fill(self, c: Any) -> None:
        super()._fill(c)
        c.amsgrad = self.amsgrad

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "amsgrad": self.amsgrad}


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter): `w -= w * weight_decay * lr`
    before each Adam update."""

    def __init__(
        self,
        learning_rate: LearningRate = 0.001,
        weight_decay: float = 0.004,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        epsilon: float = 1e-7,
        amsgrad: bool = False,
        name: str = "adamw",
        **kwargs: Any,
    ) -> None:
        if weight_decay is None:
            raise ValueError("Argument `weight_decay` must be a float. Received: weight_decay=None")
        super().__init__(
            learning_rate,
            beta_1,
            beta_2,
            epsilon,
            amsgrad,
            name,
            weight_decay=weight_decay,
            **kwargs,
        )


class Adamax(_Moments):
    """Adamax, Adam with the infinity norm: `u = max(beta_2 * u, |g|)`,
    `w -= lr / (1 - beta_1**t) * m / (u + epsilon)`. Arguments as Adam's."""

    _kind = "adamax"


class Nadam(_Moments):
    """Adam with Nesterov momentum, Keras 3's schedule `u_t = beta_1 * (1 - 0.5 * 0.96**t)`.
    Arguments as Adam's."""

    _kind = "nadam"


class Lion(Optimizer):
    """Lion: `w -= lr * sign(beta_1 * m + (1 - beta_1) * g)`, then
    `m = beta_2 * m + (1 - beta_2) * g`."""

    _kind = "lion"

    def __init__(
        self,
        learning_rate: LearningRate = 0.001,
        beta_1: float = 0.9,
        beta_2: float = 0.99,
        name: str = "lion",
        **kwargs: Any,
    ) -> None:
        super().__init__(learning_rate, name, **kwargs)
        self.beta_1 = _check_float("beta_1", beta_1, 0.0, 1.0, low_open=True)
        self.beta_2 = _check_float("beta_2", beta_2, 0.0, 1.0)
        if self.beta_1 >= 1.0 or self.beta_2 >= 1.0:
            raise ValueError(
                f"beta_1 and beta_2 must be < 1. Received: beta_1={beta_1}, beta_2={beta_2}"
            )

    def _fill(self, c: Any) -> None:
        c.beta_1, c.beta_2 = self.beta_1, self.beta_2

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2}


class RMSprop(Optimizer):
    """RMSprop: `v = rho*v + (1-rho)*g**2`, step `learning_rate * g / sqrt(v + epsilon)`;
    `centered` divides by `sqrt(v - a**2 + epsilon)` with `a = rho*a + (1-rho)*g`."""

    _kind = "rmsprop"

    def __init__(
        self,
        learning_rate: LearningRate = 0.001,
        rho: float = 0.9,
        momentum: float = 0.0,
        epsilon: float = 1e-7,
        centered: bool = False,
        name: str = "rmsprop",
        **kwargs: Any,
    ) -> None:
        super().__init__(learning_rate, name, **kwargs)
        self.rho = _check_float("rho", rho, 0.0, 1.0)
        if self.rho >= 1.0:
            raise ValueError(f"rho must be < 1. Received: rho={rho}")
        self.momentum = _check_float("momentum", momentum, 0.0, 1.0)
        self.epsilon = _check_float("epsilon", epsilon, 0.0, math.inf)
        if not isinstance(centered, (bool, np.bool_)):
            raise TypeError(f"centered must be a bool. Received: centered={centered!r}")
        self.centered = bool(centered)

    def _fill(self, c: Any) -> None:
        c.rho, c.momentum, c.epsilon = self.rho, self.momentum, self.epsilon
        c.centered = self.centered

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "rho": self.rho,
            "momentum": self.momentum,
            "epsilon": self.epsilon,
            "centered": self.centered,
        }


class Adadelta(Optimizer):
    """Adadelta: `a = rho*a + (1-rho)*g**2`, `delta = -sqrt(d + eps) * g / sqrt(a + eps)`,
    `d = rho*d + (1-rho)*delta**2`, `w += learning_rate * delta`."""

    _kind = "adadelta"

    def __init__(
        self,
        learning_rate: LearningRate = 0.001,
        rho: float = 0.95,
        epsilon: float = 1e-7,
        name: str = "adadelta",
        **kwargs: Any,
    ) -> None:
        super().__init__(learning_rate, name, **kwargs)
        self.rho = _check_float("rho", rho, 0.0, 1.0)
        if self.rho >= 1.0:
            raise ValueError(f"rho must be < 1. Received: rho={rho}")
        self.epsilon = _check_float("epsilon", epsilon, 0.0, math.inf)

    def _fill(self, c: Any) -> None:
        c.rho, c.epsilon = self.rho, self.epsilon

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "rho": self.rho, "epsilon": self.epsilon}


class Adagrad(Optimizer):
    """Adagrad: `a += g**2`, step `learning_rate * g / sqrt(a + epsilon)`."""

    _kind = "adagrad"

    def __init__(
        self,
        learning_rate: LearningRate = 0.001,
        initial_accumulator_value: float = 0.1,
        epsilon: float = 1e-7,
        name: str = "adagrad",
        **kwargs: Any,
    ) -> None:
        super().__init__(learning_rate, name, **kwargs)
        self.initial_accumulator_value = _check_float(
            "initial_accumulator_value", initial_accumulator_value, 0.0, math.inf
        )
        self.epsilon = _check_float("epsilon", epsilon, 0.0, math.inf)

    def _fill(self, c: Any) -> None:
        c.initial_accumulator_value, c.epsilon = self.initial_accumulator_value, self.epsilon

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "initial_accumulator_value": self.initial_accumulator_value,
            "epsilon": self.epsilon,
        }


class Ftrl(Optimizer):
    """Follow The Regularized Leader (McMahan et al. 2013) in Keras's form: per weight an
    accumulator n of squared gradients and a linear term z; the weight is the closed-form
    minimiser `(clip(z, -l1, l1) - z) / (n**-learning_rate_power / lr + 2 * l2')` with
    `l2' = l2 + beta / (2 * lr)`; `l2_shrinkage` adds `2 * l2_shrinkage * w` to the gradient
    in z."""

    _kind = "ftrl"

    def __init__(
        self,
        learning_rate: LearningRate = 0.001,
        learning_rate_power: float = -0.5,
        initial_accumulator_value: float = 0.1,
        l1_regularization_strength: float = 0.0,
        l2_regularization_strength: float = 0.0,
        l2_shrinkage_regularization_strength: float = 0.0,
        beta: float = 0.0,
        name: str = "ftrl",
        **kwargs: Any,
    ) -> None:
        super().__init__(learning_rate, name, **kwargs)
        checks = {
            "initial_accumulator_value": (initial_accumulator_value, "positive or zero"),
            "learning_rate_power": (-learning_rate_power, "negative or zero"),
            "l1_regularization_strength": (l1_regularization_strength, "positive or zero"),
            "l2_regularization_strength": (l2_regularization_strength, "positive or zero"),
            "l2_shrinkage_regularization_strength": (
                l2_shrinkage_regularization_strength,
                "positive or zero",
            ),
        }
        for key, (value, need) in checks.items():
            if (
                isinstance(value, bool)
                or not isinstance(value, (int, float))
                or not (math.isfinite(value) and value >= 0.0)
            ):
                shown = -value if key == "learning_rate_power" else value
                raise ValueError(f"`{key}` needs to be {need}. Received: {key}={shown}.")
        self.learning_rate_power = float(learning_rate_power)
        self.initial_accumulator_value = float(initial_accumulator_value)
        self.l1_regularization_strength = float(l1_regularization_strength)
        self.l2_regularization_strength = float(l2_regularization_strength)
        self.l2_shrinkage_regularization_strength = float(l2_shrinkage_regularization_strength)
        self.beta = _check_float("beta", beta, 0.0, math.inf)

    def _fill(self, c: Any) -> None:
        c.lr_power = self.learning_rate_power
        c.initial_accumulator_value = self.initial_accumulator_value
        c.l1 = self.l1_regularization_strength
        c.l2 = self.l2_regularization_strength
        c.l2_shrinkage = self.l2_shrinkage_regularization_strength
        c.beta = self.beta

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "learning_rate_power": self.learning_rate_power,
            "initial_accumulator_value": self.initial_accumulator_value,
            "l1_regularization_strength": self.l1_regularization_strength,
            "l2_regularization_strength": self.l2_regularization_strength,
            "l2_shrinkage_regularization_strength": self.l2_shrinkage_regularization_strength,
            "beta": self.beta,
        }


# Each compiled model core's optimizer: only it may change the core's hyperparameters.
_OWNER: weakref.WeakKeyDictionary[Any, Optimizer] = weakref.WeakKeyDictionary()

_CLASSES: dict[str, type[Optimizer]] = {
    cls.__name__: cls
    for cls in (SGD, Adam, AdamW, Adamax, Nadam, Lion, RMSprop, Adadelta, Adagrad, Ftrl)
}
_BY_NAME: dict[str, Any] = {name.lower(): cls for name, cls in _CLASSES.items()}


def get(identifier: Any) -> Optimizer:
    """Resolves an optimizer given by name (`"adam"`) or object."""
    if isinstance(identifier, Optimizer):
        return identifier
    if isinstance(identifier, str) and identifier.lower() in _BY_NAME:
        return _BY_NAME[identifier.lower()]()
    raise ValueError(
        f"Unknown optimizer: {identifier!r}. Expected one of {sorted(_BY_NAME)} or an "
        "eigennet.optimizers object."
    )


def serialize(obj: Optimizer) -> dict[str, Any]:
    """The JSON-ready `{"class_name", "config"}` form of a optimizer."""
    return serialization.serialize(obj)


def deserialize(config: dict[str, Any]) -> Optimizer:
    """Rebuilds a optimizer from `serialize()` output; unknown classes raise ValueError."""
    return serialization.deserialize(config, _CLASSES, "optimizer")
