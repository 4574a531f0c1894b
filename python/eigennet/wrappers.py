"""scikit-learn wrappers for eigennet models, mirroring Keras 3's `keras.wrappers`.

`SKLearnClassifier` and `SKLearnRegressor` make an eigennet model a scikit-learn estimator: it
then works in `Pipeline`, `cross_val_score`, `GridSearchCV` and `clone`. scikit-learn is an
optional dependency: `import eigennet` never imports it; importing this module does when it is
installed, and building a wrapper without it raises an `ImportError` that says how to install it.

Example:
    >>> import eigennet as en
    >>> from eigennet.wrappers import SKLearnClassifier
    >>> def build(X, y, hidden=16):
    ...     model = en.Sequential([
    ...         en.Input((X.shape[1],)),
    ...         en.layers.Dense(hidden, activation="relu"),
    ...         en.layers.Dense(y.shape[1], activation="softmax"),
    ...     ])
    ...     model.compile(optimizer="adam", loss="categorical_crossentropy")
    ...     return model
    >>> clf = SKLearnClassifier(build, model_kwargs={"hidden": 32},
    ...                         fit_kwargs={"epochs": 20, "verbose": 0})
    >>> (x_train, y_train), (x_test, y_test) = en.datasets.load_breast_cancer()
    >>> accuracy = clf.fit(x_train, y_train).score(x_test, y_test)
"""

from __future__ import annotations

import warnings
from typing import Any, Callable, Optional, Union

import numpy as np

from eigennet.models.model import Model

try:
    import sklearn
    from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
except ImportError:  # scikit-learn is optional: the classes exist, building one explains
    sklearn = None

    class BaseEstimator:  # type: ignore[no-redef]
        """Stands in for scikit-learn's BaseEstimator when scikit-learn is not installed."""

    class ClassifierMixin:  # type: ignore[no-redef]
        """Stands in for scikit-learn's ClassifierMixin when scikit-learn is not installed."""

    class RegressorMixin:  # type: ignore[no-redef]
        """Stands in for scikit-learn's RegressorMixin when scikit-learn is not installed."""


__all__ = ["SKLearnClassifier", "SKLearnRegressor"]

ModelOrBuilder = Union[Model, Callable[..., Model]]


def _require_sklearn(owner: str) -> None:
    if sklearn is None:
        raise ImportError(
            f"{owner} needs scikit-learn, which is not installed. Install it with "
            "`pip install scikit-learn`."
        )


def _validate_data(estimator: Any, *args: Any, **kwargs: Any) -> Any:
    """scikit-learn's input validation (sets `n_features_in_` when `reset=True`)."""
    try:
        from sklearn.utils.validation import validate_data  # scikit-learn >= 1.6
    except ImportError:
        return estimator._validate_data(*args, **kwargs)
    return validate_data(estimator, *args, **kwargs)


def _type_of_target(y: Any) -> str:
    from sklearn.utils.multiclass import type_of_target

    target_type = type_of_target(y)
    if target_type == "unknown":
        raise ValueError(f"Unknown label type for data: {y!r}")
    return target_type


def _check_model(model: Any) -> None:
    if not isinstance(model, Model):
        raise TypeError(
            "`model` must be an eigennet Model or a callable returning one. Received an object "
            f"of type {type(model).__name__}."
        )
    if not model.compiled or model.loss is None or model.optimizer is None:
        raise RuntimeError(
            "Given model needs to be compiled, and have a loss and an optimizer. Call "
            "`model.compile(optimizer=..., loss=...)` before handing it to the wrapper."
        )


def _clone_model(model: Model, keep_weights: bool) -> Model:
    """A new model with the same layers (rebuilt from their configs) and compile settings: fresh
    initial weights, or a copy of `model`'s with `keep_weights`. Optimizer state is not copied."""
    from eigennet import config, optimizers
    from eigennet.models import saving

    cfg = saving.model_config(model)
    dtype = str(model._net.dtype) if model._net is not None else config.floatx()
    clone = saving._with_floatx(
        dtype, lambda: saving._build_from_config(cfg, f"model {model.name!r}")
    )
    if keep_weights and model.built:
        clone.set_weights(model.get_weights())
    compiled = saving._compile_config(model)
    if compiled is not None:
        clone.compile(
            optimizer=optimizers.deserialize(compiled["optimizer"]),
            loss=saving._deserialize_losses(compiled["loss"]),
            loss_weights=compiled["loss_weights"],
            metrics=compiled["metrics"],
        )
    return clone


class SKLBase(BaseEstimator):
    """Base class of the scikit-learn wrappers (use `SKLearnClassifier` or `SKLearnRegressor`).

    Training and initialization draw from eigennet's random stream: call
    `eigennet.utils.set_random_seed` first for reproducible results.

    Args:
        model: a compiled eigennet `Model`, or a callable returning one. A callable is called
            as `model(X=X, y=y, **model_kwargs)` with the validated inputs and the encoded
            targets of each `fit`, so it can size the input and output layers from them. A
            `Model` instance is cloned (same layers and compile settings, fresh weights) at each
            `fit`, unless `warm_start=True`.
        warm_start: reuse the weights of the previous fit. With `True`, the first fit trains
            the given `Model` instance itself (or the callable's model), and later fits continue
            training `model_` instead of building a new one.
        model_kwargs: keyword arguments passed to `model` when it is a callable.
        fit_kwargs: keyword arguments passed to `model.fit` (`epochs`, `batch_size`, `verbose`,
            `callbacks`, ...). Arguments passed to the wrapper's `fit` take precedence.

    Attributes:
        model_: the fitted eigennet model.
        history_: the per-epoch logs of the last fit, `History.history`
            (`{"loss": [...], ...}`).
        n_features_in_: the number of input features seen in `fit`.
    """

    def __init__(
        self,
        model: ModelOrBuilder,
        warm_start: bool = False,
        model_kwargs: Optional[dict[str, Any]] = None,
        fit_kwargs: Optional[dict[str, Any]] = None,
    ) -> None:
        _require_sklearn(type(self).__name__)
        self.model = model
        self.warm_start = warm_start
        self.model_kwargs = model_kwargs
        self.fit_kwargs = fit_kwargs

    def _more_tags(self) -> dict[str, Any]:
        return {"non_deterministic": True}  # scikit-learn < 1.6

    def __sklearn_tags__(self) -> Any:
        """scikit-learn's estimator tags (scikit-learn >= 1.6): training is non-deterministic
        unless eigennet's seed is set."""
        tags = super().__sklearn_tags__()
        tags.non_deterministic = True
        return tags

    def __sklearn_clone__(self) -> SKLBase:
        """An unfitted copy with the same parameters, used by `sklearn.base.clone`.

        A `Model` instance given as `model` is copied (layers, weights and compile settings),
        since eigennet models cannot be deep-copied; dict parameters are copied shallowly.

        Returns:
            A new estimator of the same class.
        """
        params = self.get_params(deep=False)
        if isinstance(params["model"], Model):
            params["model"] = _clone_model(params["model"], keep_weights=True)
        for name in ("model_kwargs", "fit_kwargs"):
            if isinstance(params.get(name), dict):
                params[name] = dict(params[name])
        return type(self)(**params)

    def _get_model(self, X: np.ndarray, y: np.ndarray) -> Model:
        if self.warm_start and getattr(self, "model_", None) is not None:
            return self.model_
        if isinstance(self.model, Model):
            return self.model if self.warm_start else _clone_model(self.model, keep_weights=False)
        if not callable(self.model):
            raise TypeError(
                "`model` must be an eigennet Model or a callable returning one. Received: "
                f"model={self.model!r}"
            )
        return self.model(X=X, y=y, **(self.model_kwargs or {}))

    def fit(self, X: Any, y: Any, **kwargs: Any) -> SKLBase:
        """Builds (or, with `warm_start`, reuses) the model and trains it on (X, y).

        Args:
            X: array-like of shape `(n_samples, n_features)`.
            y: array-like of shape `(n_samples,)` (or `(n_samples, n_outputs)` for regression).
            **kwargs: arguments for `model.fit`; they take precedence over `fit_kwargs`.

        Returns:
            The fitted estimator itself.

        Raises:
            RuntimeError: when the model is not compiled with a loss and an optimizer.
        """
        X, y = self._validate_fit_data(X, y)
        y = self._process_target(y, reset=True)
        model = self._get_model(X, y)
        _check_model(model)
        self._check_outputs(model, y)
        history = model.fit(X, y, **{**(self.fit_kwargs or {}), **kwargs})
        self.history_ = history.history
        self.model_ = model
        return self

    def _check_outputs(self, model: Any, y: np.ndarray) -> None:
        """Hook: the classifier says what its target encoding asks of the model."""

    def predict(self, X: Any) -> np.ndarray:
        """Predictions for X, in the form of the targets given to `fit`.

        Unlike Keras's wrapper, prediction prints no progress bar (`verbose=0`): scikit-learn
        calls `predict` many times, e.g. in `score` and in cross-validation.

        Args:
            X: array-like of shape `(n_samples, n_features)`.

        Returns:
            Class labels of shape `(n_samples,)` for a classifier; for a regressor, values of
            shape `(n_samples,)`, or `(n_samples, n_outputs)` when `fit` saw 2-D targets.
        """
        return self._reverse_process_target(self._raw_predict(X))

    def _raw_predict(self, X: Any) -> np.ndarray:
        from sklearn.utils.validation import check_is_fitted

        check_is_fitted(self)
        X = _validate_data(self, X, reset=False)
        return self.model_.predict(X, verbose=0)

    def _validate_fit_data(self, X: Any, y: Any) -> tuple[np.ndarray, np.ndarray]:
        return _validate_data(self, X, y)

    def _process_target(self, y: np.ndarray, reset: bool = False) -> np.ndarray:
        _type_of_target(y)
        if reset:
            self._target_ndim = y.ndim
        return y.reshape(-1, 1) if y.ndim == 1 else y

    def _reverse_process_target(self, y: np.ndarray) -> np.ndarray:
        return y[:, 0] if self._target_ndim == 1 and y.ndim == 2 else y


class SKLearnClassifier(ClassifierMixin, SKLBase):
    """scikit-learn classifier around an eigennet model, as Keras 3's
    `keras.wrappers.SKLearnClassifier`.

    Targets are one-hot encoded before they reach the model (with scikit-learn's
    `OneHotEncoder`, classes in sorted order), so the model needs one output per class, a
    softmax output and `categorical_crossentropy` (also for two classes). `predict` returns the
    class with the highest output; `predict_proba` returns the outputs themselves. Training and
    initialization draw from eigennet's random stream: call `eigennet.utils.set_random_seed`
    first for reproducible results.

    Args:
        model: a compiled eigennet `Model`, or a callable returning one. A callable is called
            as `model(X=X, y=y, **model_kwargs)` where `y` holds the one-hot targets, shape
            `(n_samples, n_classes)`. A `Model` instance is cloned (same layers and compile
            settings, fresh weights) at each `fit`, unless `warm_start=True`.
        warm_start: reuse the weights of the previous fit instead of starting afresh.
        model_kwargs: keyword arguments passed to `model` when it is a callable.
        fit_kwargs: keyword arguments passed to `model.fit`; arguments passed to `fit` take
            precedence.

    Attributes:
        model_: the fitted eigennet model.
        history_: the per-epoch logs of the last fit (`{"loss": [...], ...}`).
        classes_: the class labels, shape `(n_classes,)`, sorted.
        n_features_in_: the number of input features seen in `fit`.

    Example:
        >>> def build(X, y, hidden=16):
        ...     model = en.Sequential([en.Input((X.shape[1],)),
        ...                            en.layers.Dense(hidden, activation="relu"),
        ...                            en.layers.Dense(y.shape[1], activation="softmax")])
        ...     model.compile(optimizer="adam", loss="categorical_crossentropy")
        ...     return model
        >>> clf = SKLearnClassifier(build, fit_kwargs={"epochs": 20, "verbose": 0})
        >>> clf.fit(x_train, y_train).score(x_test, y_test)  # accuracy
    """

    def predict_proba(self, X: Any) -> np.ndarray:
        """The model's outputs for X: class probabilities for a softmax model (computed
        without progress output).

        Args:
            X: array-like of shape `(n_samples, n_features)`.

        Returns:
            An array of shape `(n_samples, n_classes)`, columns in the order of `classes_`.
        """
        return self._raw_predict(X)

    def _process_target(self, y: np.ndarray, reset: bool = False) -> np.ndarray:
        from sklearn.preprocessing import OneHotEncoder

        target_type = _type_of_target(y)
        if target_type not in ("binary", "multiclass"):
            raise ValueError(
                "Only binary and multiclass target types are supported. Received a target of "
                f"type {target_type!r}."
            )
        if reset:
            self._target_encoder = OneHotEncoder(sparse_output=False).fit(y.reshape(-1, 1))
            self.classes_ = self._target_encoder.categories_[0]
            if len(self.classes_) == 1:
                raise ValueError("Classifier can't train when only one class is present.")
        return self._target_encoder.transform(y.reshape(-1, 1))

    def _check_outputs(self, model: Any, y: np.ndarray) -> None:
        n_out = model.output_shape[-1] if hasattr(model, "output_shape") else None
        if n_out is not None and n_out != y.shape[1]:
            raise ValueError(
                f"SKLearnClassifier one-hot encodes y into {y.shape[1]} columns, one per class "
                f"({len(self.classes_)} classes), but the model has {n_out} output"
                f"{'s' if n_out != 1 else ''}. Give the model {y.shape[1]} outputs with a softmax "
                "activation and loss='categorical_crossentropy' (also for two classes)."
            )

    def _reverse_process_target(self, y: np.ndarray) -> np.ndarray:
        return self.classes_[np.argmax(y, axis=1)]

    def _more_tags(self) -> dict[str, Any]:
        return {"non_deterministic": True, "poor_score": True}  # scikit-learn < 1.6

    def __sklearn_tags__(self) -> Any:
        """scikit-learn's estimator tags, with `poor_score` (a default model may score low)."""
        tags = super().__sklearn_tags__()
        tags.classifier_tags.poor_score = True
        return tags


class SKLearnRegressor(RegressorMixin, SKLBase):
    """scikit-learn regressor around an eigennet model, as Keras 3's
    `keras.wrappers.SKLearnRegressor`.

    Targets of shape `(n_samples,)` reach the model as `(n_samples, 1)` and predictions come
    back as `(n_samples,)`; 2-D targets pass through unchanged. `score` is R². Training and
    initialization draw from eigennet's random stream: call `eigennet.utils.set_random_seed`
    first for reproducible results.

    Args:
        model: a compiled eigennet `Model`, or a callable returning one. A callable is called
            as `model(X=X, y=y, **model_kwargs)` where `y` has shape `(n_samples, n_outputs)`.
            A `Model` instance is cloned (same layers and compile settings, fresh weights) at
            each `fit`, unless `warm_start=True`.
        warm_start: reuse the weights of the previous fit instead of starting afresh.
        model_kwargs: keyword arguments passed to `model` when it is a callable.
        fit_kwargs: keyword arguments passed to `model.fit`; arguments passed to `fit` take
            precedence.

    Attributes:
        model_: the fitted eigennet model.
        history_: the per-epoch logs of the last fit (`{"loss": [...], ...}`).
        n_features_in_: the number of input features seen in `fit`.

    Example:
        >>> def build(X, y):
        ...     model = en.Sequential([en.Input((X.shape[1],)),
        ...                            en.layers.Dense(32, activation="relu"),
        ...                            en.layers.Dense(y.shape[1])])
        ...     model.compile(optimizer="adam", loss="mse")
        ...     return model
        >>> reg = SKLearnRegressor(build, fit_kwargs={"epochs": 50, "verbose": 0})
        >>> reg.fit(x_train, y_train).score(x_test, y_test)  # R²
    """

    def _validate_fit_data(self, X: Any, y: Any) -> tuple[np.ndarray, np.ndarray]:
        X, y = _validate_data(self, X, y, multi_output=True, y_numeric=True)
        if y.ndim == 2 and y.shape[1] == 1:
            # What scikit-learn's own single-output regressors do with a column vector.
            from sklearn.exceptions import DataConversionWarning

            warnings.warn(
                "A column-vector y was passed when a 1d array was expected. Please change the "
                "shape of y to (n_samples,), for example using ravel().",
                DataConversionWarning,
                stacklevel=3,
            )
            y = y.ravel()
        return X, y

    def _more_tags(self) -> dict[str, Any]:
        return {"non_deterministic": True, "poor_score": True}

    def __sklearn_tags__(self) -> Any:
        """scikit-learn's estimator tags, with `poor_score` (a default model may score low).
        2-D targets are accepted, but as in Keras the regressor is not declared multi-output:
        scikit-learn's multi-output checks want float64 predictions, a float32 model gives
        float32."""
        tags = super().__sklearn_tags__()
        tags.regressor_tags.poor_score = True
        return tags
