"""eigennet.wrappers: eigennet models as scikit-learn estimators, with Keras 3's semantics."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

pytest.importorskip("sklearn")

from sklearn.base import clone  # noqa: E402
from sklearn.exceptions import NotFittedError  # noqa: E402
from sklearn.model_selection import GridSearchCV, cross_val_score  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

import eigennet as en  # noqa: E402
from eigennet import wrappers  # noqa: E402
from eigennet.wrappers import SKLearnClassifier, SKLearnRegressor  # noqa: E402

QUIET = {"verbose": 0}


def classifier_model(X, y, hidden=16, compiled=True):
    """Keras's dynamic_model: input and output widths from the data."""
    model = en.Sequential(
        [
            en.Input((X.shape[1],)),
            en.layers.Dense(hidden, activation="relu"),
            en.layers.Dense(y.shape[1], activation="softmax"),
        ]
    )
    if compiled:
        model.compile(optimizer="adam", loss="categorical_crossentropy")
    return model


def regressor_model(X, y, hidden=32):
    model = en.Sequential(
        [
            en.Input((X.shape[1],)),
            en.layers.Dense(hidden, activation="tanh"),
            en.layers.Dense(y.shape[1]),
        ]
    )
    model.compile(optimizer=en.optimizers.Adam(0.01), loss="mse")
    return model


@pytest.fixture(scope="module")
def digits():
    (x, y), _ = en.datasets.load_digits()
    return x, y


@pytest.fixture(scope="module")
def cancer():
    return en.datasets.load_breast_cancer(standardize=False)


def _curve(n, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.uniform(-2, 2, size=(n, 2))
    return x, np.sin(x[:, 0]) + 0.5 * x[:, 1] + 0.05 * rng.normal(size=n)


def test_import_eigennet_does_not_import_sklearn():
    package_root = os.path.dirname(os.path.dirname(en.__file__))
    env = {**os.environ, "PYTHONPATH": package_root + os.pathsep + os.environ.get("PYTHONPATH", "")}
    code = (
        "import sys, eigennet\n"
        "assert 'sklearn' not in sys.modules, 'import eigennet imported sklearn'\n"
        "import eigennet.wrappers\n"
        "assert eigennet.wrappers.SKLearnClassifier.__module__ == 'eigennet.wrappers'\n"
    )
    subprocess.run([sys.executable, "-W", "error", "-c", code], env=env, check=True)


def test_pipeline_cross_val_score(digits):
    x, y = digits
    pipe = make_pipeline(
        StandardScaler(),
        SKLearnClassifier(
            classifier_model, model_kwargs={"hidden": 32}, fit_kwargs={"epochs": 30, **QUIET}
        ),
    )
    scores = cross_val_score(pipe, x, y, cv=3)
    assert scores.shape == (3,)
    assert scores.min() > 0.9, scores
    # Pipeline routes `<step>__<name>` fit arguments to the wrapper's fit, hence to model.fit.
    pipe.fit(x, y, sklearnclassifier__epochs=2)
    assert len(pipe[-1].history_["loss"]) == 2


def test_classifier_fit_predict_proba_score(cancer):
    (x_train, y_train), (x_test, y_test) = cancer
    clf = SKLearnClassifier(classifier_model, fit_kwargs={"epochs": 20, **QUIET})
    scaler = StandardScaler().fit(x_train)
    assert clf.fit(scaler.transform(x_train), y_train) is clf
    np.testing.assert_array_equal(clf.classes_, [0, 1])
    assert clf.n_features_in_ == 30
    assert clf.model_.output_shape == (None, 2)  # one-hot targets: one output per class
    assert len(clf.history_["loss"]) == 20
    proba = clf.predict_proba(scaler.transform(x_test))
    assert proba.shape == (len(x_test), 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-5)
    pred = clf.predict(scaler.transform(x_test))
    np.testing.assert_array_equal(pred, proba.argmax(axis=1))
    accuracy = clf.score(scaler.transform(x_test), y_test)
    assert accuracy == np.mean(pred == y_test)
    assert accuracy > 0.9


def test_classifier_string_labels_and_fit_kwargs_precedence():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(90, 2))
    labels = np.array(["setosa", "versicolor", "virginica"])[
        np.argmax(x @ [[1, 0, -1], [0, 1, -1]], 1)
    ]
    fit_kwargs = {"epochs": 5, **QUIET}
    clf = SKLearnClassifier(classifier_model, fit_kwargs=fit_kwargs).fit(x, labels, epochs=3)
    assert len(clf.history_["loss"]) == 3  # fit's own arguments win over fit_kwargs
    assert fit_kwargs == {"epochs": 5, **QUIET}  # and fit_kwargs is left untouched
    np.testing.assert_array_equal(clf.classes_, ["setosa", "versicolor", "virginica"])
    assert set(clf.predict(x)) <= set(labels)
    assert clf.predict_proba(x).shape == (90, 3)


def test_grid_search_over_model_and_fit_kwargs(digits):
    x, y = digits
    search = GridSearchCV(
        SKLearnClassifier(classifier_model, fit_kwargs={"epochs": 20, **QUIET}),
        {"model_kwargs": [{"hidden": 2}, {"hidden": 32}]},
        cv=3,
    )
    search.fit(x, y)
    assert search.best_params_ == {"model_kwargs": {"hidden": 32}}
    assert search.best_estimator_.model_.layers[0].units == 32
    assert search.best_score_ > 0.9

    search = GridSearchCV(
        SKLearnClassifier(classifier_model),
        {"fit_kwargs": [{"epochs": 1, **QUIET}, {"epochs": 10, **QUIET}]},
        cv=3,
    )
    search.fit(x, y)
    assert search.best_params_["fit_kwargs"]["epochs"] == 10
    assert len(search.best_estimator_.history_["loss"]) == 10


def test_clone_with_callable_and_with_model_instance(cancer):
    (x, y), _ = cancer
    x = StandardScaler().fit_transform(x)
    clf = SKLearnClassifier(
        classifier_model, model_kwargs={"hidden": 8}, fit_kwargs={"epochs": 2, **QUIET}
    ).fit(x, y)
    copy = clone(clf)
    assert not hasattr(copy, "model_") and not hasattr(copy, "classes_")
    assert copy.model is classifier_model
    assert copy.get_params() == clf.get_params()
    assert copy.model_kwargs is not clf.model_kwargs  # no shared mutable parameters
    assert copy.fit_kwargs is not clf.fit_kwargs

    model = classifier_model(x, np.zeros((1, 2)))
    model.compile(optimizer=en.optimizers.SGD(0.05), loss="categorical_crossentropy")
    copy = clone(SKLearnClassifier(model, fit_kwargs={"epochs": 2, **QUIET}))
    assert copy.model is not model  # eigennet models cannot be deep-copied: rebuilt instead
    for a, b in zip(copy.model.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert isinstance(copy.model.optimizer, en.optimizers.SGD)
    assert copy.model.optimizer.learning_rate == pytest.approx(0.05)
    assert copy.fit(x, y).score(x, y) > 0.8


def test_model_instance_is_cloned_unless_warm_start(cancer):
    (x, y), _ = cancer
    x = StandardScaler().fit_transform(x)
    model = classifier_model(x, np.zeros((1, 2)))
    before = model.get_weights()

    clf = SKLearnClassifier(model, fit_kwargs={"epochs": 3, **QUIET}).fit(x, y)
    assert clf.model_ is not model
    for a, b in zip(model.get_weights(), before):  # the given model is left untouched
        np.testing.assert_array_equal(a, b)
    assert clf.model_.compiled and clf.score(x, y) > 0.8

    warm = SKLearnClassifier(model, warm_start=True, fit_kwargs={"epochs": 3, **QUIET}).fit(x, y)
    assert warm.model_ is model  # warm start trains the given instance itself
    assert not np.array_equal(model.get_weights()[0], before[0])


def test_warm_start_continues_and_cold_start_rebuilds():
    x, y = _curve(200)
    fit_kwargs = {"epochs": 15, "batch_size": 32, **QUIET}

    warm = SKLearnRegressor(regressor_model, warm_start=True, fit_kwargs=fit_kwargs).fit(x, y)
    first_model, first_losses = warm.model_, warm.history_["loss"]
    trained = first_model.get_weights()
    warm.fit(x, y, epochs=0)  # no epochs: exactly the weights of the previous fit
    assert warm.model_ is first_model
    for a, b in zip(warm.model_.get_weights(), trained):
        np.testing.assert_array_equal(a, b)
    warm.fit(x, y)
    assert warm.model_ is first_model
    assert warm.history_["loss"][0] < 0.5 * first_losses[0]  # picks up where it stopped

    cold = SKLearnRegressor(regressor_model, fit_kwargs=fit_kwargs).fit(x, y)
    first_model = cold.model_
    cold.fit(x, y, epochs=0)
    assert cold.model_ is not first_model  # a new model with new initial weights
    assert not np.array_equal(cold.model_.get_weights()[0], first_model.get_weights()[0])


def test_regressor_r2_and_target_shapes():
    x, y = _curve(400)
    x_test, y_test = _curve(200, seed=1)
    reg = SKLearnRegressor(regressor_model, fit_kwargs={"epochs": 60, "batch_size": 32, **QUIET})
    reg.fit(x, y)
    pred = reg.predict(x_test)
    assert pred.shape == (200,)
    assert reg.model_.output_shape == (None, 1)
    assert reg.score(x_test, y_test) > 0.95  # R²

    y2 = np.c_[y, -y]
    reg2 = SKLearnRegressor(regressor_model, fit_kwargs={"epochs": 2, **QUIET}).fit(x, y2)
    assert reg2.predict(x_test).shape == (200, 2)
    assert reg2.model_.output_shape == (None, 2)


def test_unbuilt_sequential_is_cloned():
    model = en.Sequential([en.layers.Dense(8, activation="tanh"), en.layers.Dense(1)])
    model.compile(optimizer="adam", loss="mse")
    x, y = _curve(50)
    reg = SKLearnRegressor(model, fit_kwargs={"epochs": 2, **QUIET}).fit(x, y)
    assert reg.model_ is not model and not model.built
    assert reg.predict(x).shape == (50,)
    assert clone(reg).model is not model


def test_errors():
    x, y = _curve(40)
    labels = (y > 0).astype(int)
    with pytest.raises(RuntimeError, match="needs to be compiled"):
        SKLearnClassifier(classifier_model, model_kwargs={"compiled": False}).fit(x, labels)
    with pytest.raises(TypeError, match="eigennet Model or a callable"):
        SKLearnClassifier(lambda X, y: "not a model").fit(x, labels)
    with pytest.raises(ValueError, match="binary and multiclass"):
        SKLearnClassifier(classifier_model).fit(x, y)  # continuous target
    with pytest.raises(ValueError, match="only one class"):
        SKLearnClassifier(classifier_model).fit(x, np.zeros(40, dtype=int))
    with pytest.raises(NotFittedError):
        SKLearnRegressor(regressor_model).predict(x)
    reg = SKLearnRegressor(regressor_model, fit_kwargs={"epochs": 1, **QUIET}).fit(x, y)
    with pytest.raises(ValueError, match="features"):
        reg.predict(x[:, :1])


def test_missing_sklearn_is_explained(monkeypatch):
    monkeypatch.setattr(wrappers, "sklearn", None)
    with pytest.raises(ImportError, match="pip install scikit-learn"):
        SKLearnClassifier(classifier_model)
