"""scikit-learn's estimator checks on both wrappers, with exactly the expected failures that
Keras 3's own `keras/src/wrappers/sklearn_test.py` lists (and its estimators: a dynamic MLP with
a softmax output, RMSprop, 5 epochs for the classifier)."""

from __future__ import annotations

import pytest

sklearn = pytest.importorskip("sklearn")
from sklearn.utils.estimator_checks import parametrize_with_checks  # noqa: E402

import eigennet as en  # noqa: E402
from eigennet.wrappers import SKLearnClassifier, SKLearnRegressor  # noqa: E402

pytestmark = pytest.mark.slow


def dynamic_model(X, y, loss, layers=(10,)):
    inp = en.Input((X.shape[1],))
    hidden = inp
    for units in layers:
        hidden = en.layers.Dense(units, activation="relu")(hidden)
    n_outputs = y.shape[1] if len(y.shape) > 1 else 1
    model = en.Model(inp, en.layers.Dense(n_outputs, activation="softmax")(hidden))
    model.compile(loss=loss, optimizer="rmsprop")
    return model


EXPECTED_FAILED_CHECKS = {
    "SKLearnClassifier": {
        "check_classifiers_regression_target": "not an issue in sklearn>=1.6",
        "check_parameters_default_constructible": "not an issue in sklearn>=1.6",
        "check_classifiers_one_label_sample_weights": "0 sample weight is not ignored",
        "check_classifiers_classes": (
            "with small test cases the estimator returns not all classes sometimes"
        ),
        "check_classifier_data_not_an_array": "This test assumes reproducibility in fit.",
        "check_supervised_y_2d": "This test assumes reproducibility in fit.",
        "check_fit_idempotent": "This test assumes reproducibility in fit.",
    },
    "SKLearnRegressor": {
        "check_parameters_default_constructible": "not an issue in sklearn>=1.6",
    },
}


@parametrize_with_checks(
    [
        SKLearnClassifier(
            model=dynamic_model,
            model_kwargs={"loss": "categorical_crossentropy", "layers": [20, 20, 20]},
            fit_kwargs={"epochs": 5, "verbose": 0},
        ),
        SKLearnRegressor(
            model=dynamic_model, model_kwargs={"loss": "mse"}, fit_kwargs={"verbose": 0}
        ),
    ],
    expected_failed_checks=lambda est: EXPECTED_FAILED_CHECKS[type(est).__name__],
)
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)
