"""Sweeps on a Dask cluster: GridSearchCV over the scikit-learn wrappers with joblib's Dask
backend, on a `dask.distributed.LocalCluster` of worker processes."""

from __future__ import annotations

import sys

import numpy as np
import pytest

distributed = pytest.importorskip("distributed")
pytest.importorskip("sklearn")

import cloudpickle  # noqa: E402  (a dependency of distributed)
import joblib  # noqa: E402
from sklearn.model_selection import GridSearchCV  # noqa: E402

import eigennet as en  # noqa: E402
from eigennet.wrappers import SKLearnClassifier, SKLearnRegressor  # noqa: E402


def seeded_classifier(X, y, hidden=8, seed=0):
    """Seeds eigennet in the process that fits: each fold's weights and shuffles are the same on
    a worker as here, whatever that process ran before."""
    en.utils.set_random_seed(seed)
    model = en.Sequential(
        [
            en.Input((X.shape[1],)),
            en.layers.Dense(hidden, activation="relu"),
            en.layers.Dense(y.shape[1], activation="softmax"),
        ]
    )
    model.compile(optimizer=en.optimizers.Adam(0.02), loss="categorical_crossentropy")
    return model


def seeded_regressor(X, y, hidden=8, seed=0):
    en.utils.set_random_seed(seed)
    model = en.Sequential(
        [en.Input((X.shape[1],)), en.layers.Dense(hidden, activation="tanh"), en.layers.Dense(1)]
    )
    model.compile(optimizer=en.optimizers.Adam(0.02), loss="mse")
    return model


@pytest.fixture(scope="module")
def client():
    # The workers import this module's builders by value: they cannot import a test file.
    cloudpickle.register_pickle_by_value(sys.modules[__name__])
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    )
    client = distributed.Client(cluster)
    yield client
    client.close()
    cluster.close()
    cloudpickle.unregister_pickle_by_value(sys.modules[__name__])


def _search(estimator, grid, x, y, client=None):
    search = GridSearchCV(estimator, grid, cv=3, n_jobs=-1 if client else None)
    if client is None:
        return search.fit(x, y), []
    with distributed.get_task_stream(client) as tasks, joblib.parallel_backend("dask"):
        search.fit(x, y)
    return search, tasks.data


def test_grid_search_on_a_dask_cluster_equals_the_local_search(client):
    rng = np.random.default_rng(3)
    x = rng.normal(size=(120, 6)).astype(np.float32)
    labels = np.argmax(x[:, :3] + 0.3 * rng.normal(size=(120, 3)), axis=1)
    clf = SKLearnClassifier(seeded_classifier, fit_kwargs={"epochs": 8, "verbose": 0})
    grid = {
        "model_kwargs": [{"hidden": 2}, {"hidden": 12}],
        "fit_kwargs": [{"epochs": 2, "verbose": 0}, {"epochs": 8, "verbose": 0}],
    }
    local, _ = _search(clf, grid, x, labels)
    remote, tasks = _search(clf, grid, x, labels, client)
    # The fits ran as tasks on the cluster's worker processes (joblib may batch several).
    assert tasks and {t["worker"] for t in tasks} <= set(client.scheduler_info()["workers"])
    for key in ("mean_test_score", "std_test_score", "rank_test_score"):
        np.testing.assert_allclose(remote.cv_results_[key], local.cv_results_[key], rtol=1e-6)
    assert remote.best_params_ == local.best_params_
    assert remote.best_params_["model_kwargs"] == {"hidden": 12}
    # The refitted best estimator came back from the cluster and predicts here.
    np.testing.assert_allclose(
        remote.best_estimator_.predict_proba(x), local.best_estimator_.predict_proba(x), atol=1e-6
    )


def test_regressor_sweep_on_a_dask_cluster(client):
    rng = np.random.default_rng(4)
    x = rng.normal(size=(90, 4))
    y = np.sin(x[:, 0]) + 0.5 * x[:, 1]
    reg = SKLearnRegressor(seeded_regressor, fit_kwargs={"epochs": 10, "verbose": 0})
    grid = {"model_kwargs": [{"hidden": 2, "seed": 1}, {"hidden": 16, "seed": 1}]}
    local, _ = _search(reg, grid, x, y)
    remote, tasks = _search(reg, grid, x, y, client)
    assert tasks
    np.testing.assert_allclose(
        remote.cv_results_["mean_test_score"], local.cv_results_["mean_test_score"], rtol=1e-6
    )
