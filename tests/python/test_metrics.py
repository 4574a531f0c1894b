"""Metric objects: Keras 3's golden numbers (its docstrings and keras/src/metrics/*_test.py),
hand-computed sums, and compile(metrics=..., weighted_metrics=...) computed in the C++ epoch
against the same objects used alone."""

from __future__ import annotations

import numpy as np
import pytest

import eigennet as en

M = en.metrics


def test_keras_golden_numbers():
    assert M.AUC(num_thresholds=3)([0, 0, 1, 1], [0, 0.5, 0.3, 0.9]) == pytest.approx(0.75)
    # AUCTest.test_weighted_roc_interpolation: tp [7, 4, 0], fp [3, 0, 0], fn [0, 3, 7].
    auc = M.AUC(num_thresholds=3)
    got = auc([0, 0, 1, 1], [0, 0.5, 0.3, 0.9], sample_weight=[1, 2, 3, 4])
    assert got == pytest.approx((1 + 4 / 7) / 2, rel=1e-6)
    assert M.AUC()([0, 0, 1, 1], [0, 0, 1, 1]) == 1
    assert M.Precision()([0, 1, 1, 1], [1, 0, 1, 1]) == pytest.approx(2 / 3)
    assert M.Precision()([0, 1, 1, 1], [1, 0, 1, 1], sample_weight=[0, 0, 1, 0]) == 1
    assert M.Recall()([0, 1, 1, 1], [1, 0, 1, 1]) == pytest.approx(2 / 3)
    # Precision(top_k=2) of [[0.1, 0.9, 0.8, 0.2]] against [[0, 1, 1, 0]]: both top-2 are right.
    top = M.Precision(top_k=2)
    assert top([[0, 1, 1, 0]], [[0.1, 0.9, 0.8, 0.2]]) == 1
    assert M.Precision(class_id=2)([[0, 0, 1]], [[0.2, 0.1, 0.6]]) == 1
    f1 = M.F1Score(threshold=0.5)
    y_true = np.array([[1, 1, 1], [1, 0, 0], [1, 1, 0]], np.float32)
    y_pred = np.array([[0.2, 0.6, 0.7], [0.2, 0.6, 0.6], [0.6, 0.8, 0.0]], np.float32)
    np.testing.assert_allclose(f1(y_true, y_pred), [0.5, 0.8, 0.6666667], rtol=1e-5)
    assert M.R2Score()([[1], [4], [3]], [[2], [4], [4]]) == pytest.approx(0.57142854, rel=1e-6)
    assert M.TopKCategoricalAccuracy(k=1)(
        [[0, 0, 1], [0, 1, 0]], [[0.1, 0.9, 0.8], [0.05, 0.95, 0]]
    ) == pytest.approx(0.5)
    assert M.SparseTopKCategoricalAccuracy(k=1)(
        [2, 1], [[0.1, 0.9, 0.8], [0.05, 0.95, 0]]
    ) == pytest.approx(0.5)
    assert M.PrecisionAtRecall(0.5)([0, 0, 0, 1, 1], [0, 0.3, 0.8, 0.3, 0.8]) == 0.5
    assert M.RecallAtPrecision(0.8)([0, 0, 1, 1], [0, 0.5, 0.3, 0.9]) == 0.5
    assert M.SensitivityAtSpecificity(0.5)([0, 0, 0, 1, 1], [0, 0.3, 0.8, 0.3, 0.8]) == 0.5
    assert M.SpecificityAtSensitivity(0.5)([0, 0, 0, 1, 1], [0, 0.3, 0.8, 0.3, 0.8]) == (
        pytest.approx(0.66666667)
    )
    rmse = M.RootMeanSquaredError()
    assert rmse([[0, 1], [0, 0]], [[1, 1], [0, 0]]) == pytest.approx(0.5)
    assert M.BinaryAccuracy(threshold=0.7)([[1], [1], [0], [0]], [[0.98], [1], [0], [0.6]]) == 1
    assert M.TruePositives()([0, 1, 1, 1], [1, 0, 1, 1]) == 2
    assert M.FalseNegatives(thresholds=[0.15, 0.5, 0.85])(
        [[0, 1, 0, 1, 0]], [[0.1, 0.2, 0.3, 0.8, 0.9]]
    ).tolist() == [0, 1, 2]
    mape = M.MeanAbsolutePercentageError()
    assert mape([[0, 1], [0, 0]], [[1, 1], [0, 0]]) == pytest.approx(250000000.0, rel=1e-6)


def test_label_weights_and_sorted_ids_keras_cases():
    # confusion_metrics_test.py's MultiAUCTest and accuracy_metrics_test.py's from_sorted_ids.
    y_pred = np.array([[0, 0.5, 0.3, 0.9], [0.1, 0.2, 0.3, 0.4]], dtype=np.float32).T
    y_true = np.array([[0, 0, 1, 1], [0, 0, 1, 1]], dtype=np.float32).T
    auc = en.metrics.AUC(num_thresholds=5, multi_label=True, label_weights=[0.75, 0.25])
    assert auc(y_true, y_pred) == pytest.approx((0.875 * 0.75 + 1.0 * 0.25) / 1.0, rel=1e-3)
    flat = en.metrics.AUC(num_thresholds=5, multi_label=False, label_weights=[0.75, 0.25])
    assert flat(y_true, y_pred) == pytest.approx(1.0 - (1.0 - 0.375) * 0.375 / 2.0, rel=1e-2)
    assert flat.get_config()["label_weights"] == [0.75, 0.25]
    with pytest.raises(ValueError, match="label_weights"):
        en.metrics.AUC(label_weights=[1.0, -1.0])
    with pytest.raises(ValueError, match="one per label"):
        en.metrics.AUC(label_weights=[1.0, 2.0, 3.0])(y_true, y_pred)
    ids = en.metrics.SparseTopKCategoricalAccuracy(k=1, from_sorted_ids=True)
    assert ids([2, 1], [[1, 0, 3], [1, 2, 3]]) == pytest.approx(0.5)
    weighted = en.metrics.SparseTopKCategoricalAccuracy(k=1, from_sorted_ids=True)
    weighted.update_state([2, 1], [[1, 0, 3], [1, 2, 3]], sample_weight=[0.7, 0.3])
    assert weighted.result() == pytest.approx(0.3)
    # Labels beyond the width are fine for ids; two matches of one label count once.
    big = en.metrics.SparseTopKCategoricalAccuracy(k=2, from_sorted_ids=True)
    assert big([7, 4], [[7, 7], [1, 2]]) == pytest.approx(0.5)
    again = type(ids).from_config(ids.get_config())
    assert again.from_sorted_ids


def test_state_accumulates_and_resets():
    auc = M.AUC(num_thresholds=50)
    rng = np.random.default_rng(0)
    y, p = rng.integers(0, 2, 40), rng.uniform(size=40)
    auc.update_state(y[:15], p[:15])
    auc.update_state(y[15:], p[15:])
    whole = M.AUC(num_thresholds=50)(y, p)
    assert auc.result() == pytest.approx(whole)
    auc.reset_state()
    assert auc.result() == 0
    m = M.Mean()
    m.update_state([1, 3, 5, 7], sample_weight=[1, 1, 0, 0])
    assert m.result() == 2
    s = M.Sum()
    s.update_state([[1, 2], [3, 4]], sample_weight=[1, 0])
    assert s.result() == 3


def test_automatic_names_count_as_keras_does():
    first, second = M.AUC(), M.AUC()
    base = first.name
    assert base.startswith("auc") and second.name == f"auc_{int(base[4:] or 0) + 1}"
    assert M.AUC(name="mine").name == "mine" and M.BinaryAccuracy().name == "binary_accuracy"


def test_bad_arguments_are_refused_in_keras_words():
    with pytest.raises(ValueError, match=r"Threshold values must be in \[0, 1\]"):
        M.Precision(thresholds=[1.5])
    with pytest.raises(ValueError, match="num_thresholds"):
        M.AUC(num_thresholds=1)
    with pytest.raises(ValueError, match="Invalid `average`"):
        M.F1Score(average="all")
    with pytest.raises(ValueError, match="class_aggregation"):
        M.R2Score(class_aggregation="max")
    with pytest.raises(ValueError, match="recall"):
        M.PrecisionAtRecall(1.5)
    with pytest.raises(ValueError, match="class_id"):
        M.Precision(class_id=3).update_state([[0, 1]], [[0.2, 0.7]])
    with pytest.raises(ValueError, match="same shape"):
        M.AUC().update_state([0, 1, 1], [0.5, 0.2])
    with pytest.raises(ValueError, match="Sparse labels"):
        M.SparseTopKCategoricalAccuracy().update_state([3], [[0.2, 0.7, 0.1]])
    with pytest.raises(ValueError, match="Could not interpret metric"):
        M.get("aucs")
    with pytest.raises(ValueError, match="label_weights"):
        M.AUC(label_weights=[1, float("nan")])


def _data(n=96, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 5)).astype(np.float32)
    y = (x[:, :1] + 0.5 * rng.normal(size=(n, 1)) > 0).astype(np.float32)
    w = rng.uniform(0.2, 2.0, size=n).astype(np.float32)
    return x, y, w


def _binary_model(seed=1):
    en.utils.set_random_seed(seed)
    model = en.Sequential(
        [en.Input((5,)), en.layers.Dense(4, "relu"), en.layers.Dense(1, "sigmoid")]
    )
    return model


def test_compiled_metrics_equal_the_objects_over_the_predictions():
    x, y, w = _data()
    model = _binary_model()
    model.compile(
        "adam",
        "binary_crossentropy",
        metrics=[
            "accuracy",
            M.AUC(name="auc"),
            "precision",
            M.Recall([0.3, 0.6], name="recall"),
            "auc",
        ],
        weighted_metrics=[M.AUC(curve="PR", name="auc"), "accuracy"],
    )
    logs = model.evaluate(x, y, sample_weight=w, batch_size=17, return_dict=True, verbose=0)
    assert list(logs) == [
        "loss",
        "accuracy",
        "auc",
        "precision",
        "recall",
        "auc_1",
        "weighted_auc",
        "weighted_accuracy",
    ]
    p = model.predict(x, verbose=0)
    assert logs["accuracy"] == pytest.approx(M.BinaryAccuracy()(y, p))
    assert logs["auc"] == pytest.approx(M.AUC()(y, p), rel=1e-6)
    assert logs["auc_1"] == logs["auc"]
    assert logs["precision"] == pytest.approx(M.Precision()(y, p))
    np.testing.assert_allclose(logs["recall"], M.Recall(thresholds=[0.3, 0.6])(y, p), rtol=1e-6)
    assert logs["weighted_auc"] == pytest.approx(M.AUC(curve="PR")(y, p, w), rel=1e-6)
    assert logs["weighted_accuracy"] == pytest.approx(M.BinaryAccuracy()(y, p, w), rel=1e-6)
    assert model.metrics_names == ["loss", "compile_metrics"]
    compiled = model.metrics[1]
    assert [m.name for m in compiled.metrics] == [
        "accuracy",
        "auc",
        "precision",
        "recall",
        "auc",
        "auc",
        "accuracy",
    ]
    # The objects hold the last pass's state, as Keras's do.
    assert compiled.metrics[1].result() == pytest.approx(logs["auc"])
    assert model.metrics[0].result() == pytest.approx(logs["loss"], rel=1e-6)
    model.reset_metrics()
    assert compiled.metrics[1].result() == 0


def test_generator_batches_give_the_metrics_over_the_epoch():
    # AUC over all samples, not a mean of per-batch AUCs.
    x, y, _ = _data()
    model = _binary_model()
    model.compile("sgd", "binary_crossentropy", metrics=["auc", M.F1Score(threshold=0.5)])

    def batches():
        for i in range(0, len(x), 20):
            yield x[i : i + 20], y[i : i + 20]

    from_arrays = model.evaluate(x, y, batch_size=20, return_dict=True, verbose=0)
    from_python = model.evaluate(batches(), return_dict=True, verbose=0)
    assert from_python["auc"] == pytest.approx(from_arrays["auc"], rel=1e-6)
    np.testing.assert_allclose(from_python["f1_score"], from_arrays["f1_score"], rtol=1e-6)
    assert from_python["loss"] == pytest.approx(from_arrays["loss"], rel=1e-5)


def test_fit_history_per_output_metrics_and_vector_results():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(64, 4)).astype(np.float32)
    y_cls = np.eye(3, dtype=np.float32)[rng.integers(0, 3, 64)]
    y_reg = (x @ rng.normal(size=(4, 2))).astype(np.float32)
    inp = en.Input((4,))
    h = en.layers.Dense(8, "relu")(inp)
    cls = en.layers.Dense(3, "softmax", name="cls")(h)
    reg = en.layers.Dense(2, name="reg")(h)
    model = en.Model(inp, [cls, reg])
    model.compile(
        "adam",
        ["categorical_crossentropy", "mse"],
        metrics={
            "cls": [M.F1Score(), M.TopKCategoricalAccuracy(k=2)],
            "reg": [M.R2Score(None), "root_mean_squared_error"],
        },
    )
    hist = model.fit(x, [y_cls, y_reg], epochs=2, batch_size=16, verbose=0, validation_split=0.25)
    assert set(hist.history) >= {
        "cls_f1_score",
        "cls_top_k_categorical_accuracy",
        "reg_r2_score",
        "reg_root_mean_squared_error",
        "val_reg_r2_score",
        "cls_loss",
    }
    logs = model.evaluate(x, [y_cls, y_reg], return_dict=True, verbose=0)
    p_cls, p_reg = model.predict(x, verbose=0)
    np.testing.assert_allclose(logs["cls_f1_score"], M.F1Score()(y_cls, p_cls), rtol=1e-5)
    assert logs["cls_f1_score"].shape == (3,)
    np.testing.assert_allclose(logs["reg_r2_score"], M.R2Score(None)(y_reg, p_reg), rtol=1e-5)
    assert logs["reg_root_mean_squared_error"] == pytest.approx(
        M.RootMeanSquaredError()(y_reg, p_reg), rel=1e-5
    )
    assert logs["cls_top_k_categorical_accuracy"] == pytest.approx(
        M.TopKCategoricalAccuracy(k=2)(y_cls, p_cls)
    )


def test_compile_refuses_what_does_not_fit():
    model = _binary_model()
    with pytest.raises(ValueError, match="not a metric"):
        model.compile("sgd", "mse", metrics=[M.Mean()])
    with pytest.raises(TypeError, match="weighted_metrics"):
        model.compile("sgd", "mse", weighted_metrics="auc")
    with pytest.raises(ValueError, match="does not fit the targets"):
        model.compile("sgd", "binary_crossentropy", metrics=["sparse_top_k_categorical_accuracy"])
    with pytest.raises(ValueError, match="top_k"):
        model.compile("sgd", "binary_crossentropy", metrics=[M.Precision(top_k=3)])


def test_raw_core_metric_is_checked():
    core = en._core
    m = core.Metric("auc", spacing="even_with_epsilon", num_thresholds=10)
    with pytest.raises(ValueError, match="sums must be"):
        core.metric_update(m, [1.0], [[0.5]], None, np.zeros(3))
    with pytest.raises(ValueError, match="num_thresholds"):
        core.metric_sizes(core.Metric("auc", spacing="even", num_thresholds=1), 1)
    with pytest.raises(ValueError, match="Invalid `curve`"):
        core.Metric("auc", curve="XY")
    with pytest.raises(ValueError, match="sample_weight"):
        core.metric_update(m, [1.0, 0.0], [[0.5], [0.1]], [1.0], np.zeros(40))
