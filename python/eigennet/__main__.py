"""`python -m eigennet`: train a small network on data that ships with the package."""

from __future__ import annotations

import argparse
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
        choices=["digits", "breast_cancer", "student"],
        default="digits",
        help="data set to train on (default: digits)",
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
        help="learning rate (default: the optimizer's Keras default)",
    )
    p.add_argument("--threads", type=int, default=None, help="CPU threads (default: all cores)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    p.add_argument(
        "--plot",
        metavar="PNG",
        default=None,
        help="write the training curves to this PNG (needs eigennet[plot])",
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
    return args


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = _parse(argv)
    import eigennet as en

    if args.threads is not None:
        en.config.set_num_threads(args.threads)
    en.utils.set_random_seed(args.seed)
    loader: Any = {
        "digits": en.datasets.load_digits,
        "breast_cancer": en.datasets.load_breast_cancer,
        "student": en.datasets.load_student,
    }[args.dataset]
    (x_train, y_train), (x_test, y_test) = loader(seed=args.seed)
    if args.dataset == "student":
        # Scale to [0, 1]: lectures out of 20, study hours out of 12.
        x_train, x_test = (
            x_train / np.array([20, 12], np.float32),
            x_test / np.array([20, 12], np.float32),
        )
    n_classes = int(y_train.max()) + 1
    hidden = {"digits": 64, "breast_cancer": 32, "student": 8}[args.dataset]
    if n_classes > 2:
        head, loss = (
            en.layers.Dense(n_classes, activation="softmax"),
            "sparse_categorical_crossentropy",
        )
    else:
        head, loss = en.layers.Dense(1, activation="sigmoid"), "binary_crossentropy"
    model = en.Sequential(
        [
            en.Input((x_train.shape[1],)),
            en.layers.Dense(hidden, activation="relu"),
            en.layers.Dropout(0.1),
            en.layers.Dense(hidden, activation="relu"),
            head,
        ]
    )
    opt = en.optimizers.get(args.optimizer)
    if args.learning_rate is not None:
        opt.learning_rate = args.learning_rate
    elif args.optimizer in ("adam", "rmsprop"):
        opt.learning_rate = 3e-3
    elif args.optimizer == "adagrad":
        opt.learning_rate = 0.05
    else:
        opt.learning_rate = 0.05
    model.compile(optimizer=opt, loss=loss, metrics=["accuracy"])
    print(
        f"eigennet {en.__version__}: {args.dataset}, {len(x_train)} training and "
        f"{len(x_test)} test samples, {x_train.shape[1]} features, {n_classes} classes, "
        f"{en.config.num_threads()} thread(s)"
    )
    model.summary()
    verbose = "auto" if args.verbose is None else args.verbose
    start = time.perf_counter()
    history = model.fit(
        x_train,
        y_train,
        batch_size=args.batch_size,
        epochs=args.epochs,
        validation_split=0.1,
        verbose=verbose,
    )
    elapsed = time.perf_counter() - start
    loss_value, accuracy = model.evaluate(x_test, y_test, verbose=0)
    n_seen = int(len(x_train) * 0.9) * args.epochs
    print(f"test accuracy: {accuracy:.4f}  test loss: {loss_value:.4f}")
    print(
        f"time per epoch: {elapsed / args.epochs * 1e3:.2f} ms  "
        f"({n_seen / elapsed:,.0f} samples/s, progress output included)"
    )
    if args.plot:
        fig = en.utils.plot_history(history)
        fig.savefig(args.plot, dpi=100)
        print(f"training curves written to {args.plot}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
