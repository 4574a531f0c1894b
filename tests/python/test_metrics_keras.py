"""Every metric class against real Keras 3 (torch backend) on random data: two updates, with and
without sample weights, the same constructor arguments on both sides."""

from __future__ import annotations

import os
import warnings

import numpy as np
import pytest

import eigennet as en

os.environ.setdefault("KERAS_BACKEND", "torch")
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    keras = pytest.importorskip("keras")

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::UserWarning")


def _data(kind: str, rng: np.random.Generator, n: int = 60):
    if kind == "binary":
        y = rng.integers(0, 2, size=(n, 1)).astype(np.float32)
        p = np.clip(0.6 * y + rng.uniform(-0.3, 0.5, size=(n, 1)), 0, 1).astype(np.float32)
    elif kind == "multilabel":
        y = rng.integers(0, 2, size=(n, 3)).astype(np.float32)
        p = rng.uniform(size=(n, 3)).astype(np.float32)
    elif kind in ("onehot", "sparse"):
        labels = rng.integers(0, 4, size=n)
        logits = rng.normal(size=(n, 4)) + 1.5 * np.eye(4)[labels]
        p = (np.exp(logits) / np.exp(logits).sum(1, keepdims=True)).astype(np.float32)
        y = (
            labels[:, None].astype(np.float32)
            if kind == "sparse"
            else np.eye(4, dtype=np.float32)[labels]
        )
    elif kind == "sorted_ids":  # the 3 best of 6 class ids, best first, and integer labels
        p = np.argsort(-rng.normal(size=(n, 6)), axis=1)[:, :3].astype(np.float32)
        y = rng.integers(0, 6, size=(n, 1)).astype(np.float32)
    else:
        y = rng.normal(size=(n, 2)).astype(np.float32) + 2
        p = (y + 0.5 * rng.normal(size=(n, 2))).astype(np.float32)
    return y, p


CASES = [
    ("BinaryAccuracy", {}, "binary"),
    ("BinaryAccuracy", {"threshold": 0.3}, "multilabel"),
    ("CategoricalAccuracy", {}, "onehot"),
    ("SparseCategoricalAccuracy", {}, "sparse"),
    ("TopKCategoricalAccuracy", {"k": 2}, "onehot"),
    ("SparseTopKCategoricalAccuracy", {"k": 3}, "sparse"),
    ("SparseTopKCategoricalAccuracy", {"k": 2, "from_sorted_ids": True}, "sorted_ids"),
    ("MeanSquaredError", {}, "regression"),
    ("MeanAbsoluteError", {}, "regression"),
    ("MeanAbsolutePercentageError", {}, "regression"),
    ("MeanSquaredLogarithmicError", {}, "regression"),
    ("RootMeanSquaredError", {}, "regression"),
    ("R2Score", {}, "regression"),
    ("R2Score", {"class_aggregation": None}, "regression"),
    (
        "R2Score",
        {"class_aggregation": "variance_weighted_average", "num_regressors": 2},
        "regression",
    ),
    ("TruePositives", {"thresholds": [0.2, 0.5, 0.8]}, "binary"),
    ("FalsePositives", {}, "multilabel"),
    ("TrueNegatives", {"thresholds": [0.0, 0.5, 1.0]}, "binary"),
    ("FalseNegatives", {"thresholds": 0.4}, "multilabel"),
    ("Precision", {}, "binary"),
    ("Precision", {"top_k": 2}, "multilabel"),
    ("Precision", {"class_id": 1, "thresholds": [0.3, 0.7]}, "onehot"),
    ("Recall", {"top_k": 1, "class_id": 2}, "onehot"),
    ("Recall", {"thresholds": [0.1, 0.35, 0.9]}, "multilabel"),
    ("AUC", {}, "binary"),
    ("AUC", {"num_thresholds": 37, "curve": "PR"}, "multilabel"),
    ("AUC", {"curve": "PR", "summation_method": "majoring"}, "binary"),
    ("AUC", {"summation_method": "minoring", "multi_label": True}, "multilabel"),
    ("AUC", {"curve": "PR", "multi_label": True, "num_labels": 3}, "multilabel"),
    ("AUC", {"curve": "PRGAIN"}, "binary"),
    ("AUC", {"thresholds": [0.2, 0.45, 0.6, 0.9]}, "binary"),
    ("AUC", {"label_weights": [0.5, 1.0, 2.0]}, "multilabel"),
    ("AUC", {"label_weights": [0.5, 0.0, 2.0], "multi_label": True}, "multilabel"),
    (
        "AUC",
        {"curve": "PR", "multi_label": True, "num_labels": 3, "label_weights": [1.0, 3.0, 0.5]},
        "multilabel",
    ),
    ("PrecisionAtRecall", {"recall": 0.6}, "binary"),
    ("RecallAtPrecision", {"precision": 0.7, "num_thresholds": 50}, "binary"),
    ("SensitivityAtSpecificity", {"specificity": 0.4, "class_id": 0}, "onehot"),
    ("SpecificityAtSensitivity", {"sensitivity": 0.8}, "multilabel"),
    ("F1Score", {}, "onehot"),
    ("F1Score", {"average": "micro", "threshold": 0.4}, "multilabel"),
    ("F1Score", {"average": "macro", "threshold": 0.5}, "multilabel"),
    ("FBetaScore", {"average": "weighted", "beta": 2.0}, "onehot"),
]


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize(
    "cls, kwargs, kind", CASES, ids=[f"{c}-{i}" for i, (c, _, _) in enumerate(CASES)]
)
def test_metric_matches_keras(cls, kwargs, kind, weighted):
    rng = np.random.default_rng(len(cls) + 7 * len(kwargs))
    y, p = _data(kind, rng)
    w = rng.uniform(0.1, 3.0, size=len(y)).astype(np.float32) if weighted else None
    ours, theirs = getattr(en.metrics, cls)(**kwargs), getattr(keras.metrics, cls)(**kwargs)
    for sl in (slice(0, 25), slice(25, None)):
        sw = None if w is None else w[sl]
        ours.update_state(y[sl], p[sl], sample_weight=sw)
        theirs.update_state(y[sl], p[sl], sample_weight=sw)
    want = keras.ops.convert_to_numpy(theirs.result())
    got = np.asarray(ours.result())
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=2e-5, atol=2e-6)
    # The same object by config.
    again = type(ours).from_config(ours.get_config())
    assert again.get_config() == ours.get_config()


def test_compiled_metrics_match_keras_fit_logs():
    rng = np.random.default_rng(5)
    x = rng.normal(size=(80, 6)).astype(np.float32)
    y = (x[:, :1] - x[:, 1:2] + 0.3 * rng.normal(size=(80, 1)) > 0).astype(np.float32)
    w = rng.uniform(0.5, 2.0, size=80).astype(np.float32)

    def build(lib):
        model = lib.Sequential([lib.Input((6,)), lib.layers.Dense(1, activation="sigmoid")])
        model.compile(
            lib.optimizers.SGD(0.1),
            "binary_crossentropy",
            metrics=[
                "accuracy",
                lib.metrics.AUC(name="auc"),
                lib.metrics.Precision(thresholds=[0.3, 0.6], name="precision"),
            ],
            weighted_metrics=[lib.metrics.AUC(curve="PR", name="auc"), "accuracy"],
        )
        return model

    ours, theirs = build(en), build(keras)
    theirs.set_weights(ours.get_weights())
    got = ours.evaluate(x, y, sample_weight=w, batch_size=16, verbose=0, return_dict=True)
    want = theirs.evaluate(x, y, sample_weight=w, batch_size=16, verbose=0, return_dict=True)
    assert sorted(got) == sorted(want)  # Keras's sorted, ours in compile order
    for k in want:
        np.testing.assert_allclose(got[k], np.asarray(want[k]), rtol=2e-5, atol=2e-6, err_msg=k)
    assert ours.metrics_names == theirs.metrics_names
