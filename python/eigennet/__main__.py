"""`python -m eigennet`: train a small network on data that ships with the package."""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys
import time
from typing import Any, Optional, Sequence

import numpy as np


def _parse(argv: Optional[Sequence[str]]) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m eigennet",
        description="Train a small dense network with eigennet on a bundled data set and report "
        "test accuracy and speed.",
    )
    p.add_argument(
        "--dataset",
        choices=["all", "digits", "breast_cancer", "student"],
        default="all",
        help="data set to train on; 'all' trains on digits, then on the seed's two-feature "
        "student example (default: all)",
    )
    p.add_argument("--epochs", type=int, default=30, help="training epochs (default: 30)")
    p.add_argument("--batch-size", type=int, default=32, help="mini-batch size (default: 32)")
    p.add_argument(
        "--optimizer",
        choices=["sgd", "adam", "rmsprop", "adagrad"],
        default="adam",
        help="optimizer (default: adam)",
    )
    p.add_argument(
        "--learning-rate",
        type=float,
        default=None,
        help="learning rate (default: 3e-3 for adam and rmsprop, 0.05 for sgd and adagrad, "
        "tuned for these small data sets; Keras's own defaults are 1e-3 and 0.01)",
    )
    p.add_argument("--threads", type=int, default=None, help="CPU threads (default: all cores)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    p.add_argument(
        "--plot",
        metavar="PNG",
        default=None,
        help="write the training curves to this PNG (needs eigennet[plot]); with several data "
        "sets, one PNG each, named <PNG stem>_<data set>.png",
    )
    p.add_argument(
        "--verbose",
        type=int,
        choices=[0, 1, 2],
        default=None,
        help="progress output: 0 silent, 1 bar, 2 one line per epoch (default: auto)",
    )
    args = p.parse_args(argv)
    if args.epochs < 1 or args.batch_size < 1:
        p.error("--epochs and --batch-size must be positive")
    if args.threads is not None and args.threads < 1:
        p.error(f"--threads must be a positive integer, got {args.threads}")
    if args.learning_rate is not None and not args.learning_rate >= 0:
        p.error(f"--learning-rate must be >= 0, got {args.learning_rate}")
    # Checked before training, not after minutes of it.
    if args.plot and importlib.util.find_spec("matplotlib") is None:
        p.error("--plot needs matplotlib: pip install 'eigennet[plot]'")
    return args


def _train(en: Any, dataset: str, args: argparse.Namespace, verbose: Any) -> Any:
    """Trains one network on `dataset`; prints accuracy and speed; returns its History."""
    loader: Any = {
        "digits": en.datasets.load_digits,
        "breast_cancer": en.datasets.load_breast_cancer,
        "student": en.datasets.load_student,
    }[dataset]
    (x_train, y_train), (x_test, y_test) = loader(seed=args.seed)
    if dataset == "student":
        # Scale to [0, 1]: lectures out of 20, study hours out of 12.
        scale = np.array([20, 12], np.float32)
        x_train, x_test = x_train / scale, x_test / scale
    n_classes = int(y_train.max()) + 1
    hidden = {"digits": 64, "breast_cancer": 32, "student": 8}[dataset]
    model = en.Sequential(
        [
            en.Input((x_train.shape[1],)),
            en.layers.Dense(hidden, activation="relu"),
            en.layers.Dropout(0.1),
            en.layers.Dense(hidden, activation="relu"),
        ],
        name=dataset,
    )
    if n_classes > 2:
        model.add(en.layers.Dense(n_classes, activation="softmax"))
        loss = "sparse_categorical_crossentropy"
    else:
        model.add(en.layers.Dense(1, activation="sigmoid"))
        loss = "binary_crossentropy"
    opt = en.optimizers.get(args.optimizer)
    default_lr = {"adam": 3e-3, "rmsprop": 3e-3, "adagrad": 0.05, "sgd": 0.05}
    lr = args.learning_rate
    opt.learning_rate = default_lr[args.optimizer] if lr is None else lr
    model.compile(optimizer=opt, loss=loss, metrics=["accuracy"])
    epochs = args.epochs if dataset != "student" else max(args.epochs, 60)
    print(
        f"\n== {dataset}: {len(x_train)} training and {len(x_test)} test samples, "
        f"{x_train.shape[1]} features, {n_classes} classes, {en.config.num_threads()} thread(s)"
    )
    model.summary()
    start = time.perf_counter()
    history = model.fit(
        x_train,
        y_train,
        batch_size=args.batch_size,
        epochs=epochs,
        validation_split=0.1,
        verbose=verbose,
    )
    elapsed = time.perf_counter() - start
    loss_value, accuracy = model.evaluate(x_test, y_test, verbose=0)
    n_seen = int(len(x_train) * 0.9) * epochs
    print(f"test accuracy: {accuracy:.4f}  test loss: {loss_value:.4f}")
    print(
        f"time per epoch: {elapsed / epochs * 1e3:.2f} ms  "
        f"({n_seen / elapsed:,.0f} samples/s, progress output included)"
    )
    if dataset == "student":
        # The seed's question: will a student with 4 lectures and 5 hours of study pass?
        p = float(model.predict(np.array([[4 / 20, 5 / 12]], np.float32), verbose=0)[0, 0])
        print(f"a student with 4 lectures and 5 hours of self study passes with p = {p:.3f}")
    return history


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = _parse(argv)
    import eigennet as en

    if args.threads is not None:
        en.config.set_num_threads(args.threads)
    en.utils.set_random_seed(args.seed)
    verbose = "auto" if args.verbose is None else args.verbose
    print(f"eigennet {en.__version__}")
    datasets = ["digits", "student"] if args.dataset == "all" else [args.dataset]
    for dataset in datasets:
        history = _train(en, dataset, args, verbose)
        if args.plot:
            root, ext = os.path.splitext(args.plot)
            path = args.plot if len(datasets) == 1 else f"{root}_{dataset}{ext or '.png'}"
            en.utils.plot_history(history).savefig(path, dpi=100)
            print(f"training curves of {dataset} written to {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
