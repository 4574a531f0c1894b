"""One DataParallel fit, run by test_distribution.py under `mpirun -n N` (one device per rank)
or alone with `--devices N` (N shards computed in turn). Each rank saves its weights and
history to OUT/rank<r>.npz, and asks callbacks and model.save to write per-rank file names, so
that the test sees which ranks wrote.

Usage: python mpi_fit.py OUT [--dtype D] [--optimizer O] [--dropout R] [--devices N]
       [--samples N] [--fault kill|raise|leave]
"""

from __future__ import annotations

import argparse
import os
import signal

import numpy as np

import eigennet as en


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("out")
    p.add_argument("--dtype", default="float64")
    p.add_argument("--optimizer", default="adam")
    p.add_argument("--dropout", type=float, default=0.0)
    p.add_argument("--devices", type=int, default=0)
    p.add_argument("--samples", type=int, default=203)
    p.add_argument("--fault", default="")
    a = p.parse_args()
    dist = en.distribution.DataParallel(
        devices=[f"cpu:{i}" for i in range(a.devices)] if a.devices else None
    )
    en.distribution.set_distribution(dist)
    rank = dist.process_id
    en.config.set_floatx(a.dtype)
    en.config.set_num_threads(1)
    # Another seed per rank: fit must start every rank from rank 0's weights and streams.
    en.utils.set_random_seed(7 + rank)
    data = np.random.default_rng(0)
    x = data.normal(size=(a.samples, 6))
    y = (x @ data.normal(size=(6,)) > 0).astype(np.int64)
    w = data.uniform(0.5, 1.5, size=a.samples)
    model = en.Sequential(
        [
            en.Input((6,)),
            en.layers.Dense(16, activation="relu", kernel_regularizer="l2"),
            en.layers.Dropout(a.dropout),
            en.layers.Dense(8, activation="tanh"),
            en.layers.Dense(2, activation="softmax"),
        ]
    )
    optimizer = {
        "adam": en.optimizers.Adam(0.01),
        "sgd": en.optimizers.SGD(0.05, momentum=0.9),
    }[a.optimizer]
    model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy", metrics=["accuracy"])

    class Fault(en.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            if epoch == 1 and rank == 1 and a.fault == "kill":
                os.kill(os.getpid(), signal.SIGKILL)
            if epoch == 1 and rank == 1 and a.fault == "raise":
                raise RuntimeError("rank 1 gives up")
            if epoch == 1 and rank == 1 and a.fault == "leave":
                self.model.stop_training = True  # stops after this epoch, alone

    callbacks = [
        Fault(),
        en.callbacks.ModelCheckpoint(os.path.join(a.out, f"ckpt_rank{rank}.keras")),
        en.callbacks.CSVLogger(os.path.join(a.out, f"log_rank{rank}.csv")),
        en.callbacks.EarlyStopping(monitor="val_loss", patience=1),
    ]
    history = model.fit(
        x,
        y,
        sample_weight=w,
        batch_size=32,  # 203 = 6 · 32 + 11 (with the validation split: 162 = 5 · 32 + 2)
        epochs=6,
        validation_split=0.2,
        callbacks=callbacks,
        verbose=2,
    )
    if a.fault == "leave" and rank == 1:
        print("rank 1 left fit early", flush=True)
    model.save(os.path.join(a.out, f"model_rank{rank}.keras"))
    np.savez(
        os.path.join(a.out, f"rank{rank}.npz"),
        *model.get_weights(),
        **{f"h_{k}": np.asarray(v) for k, v in history.history.items()},
    )


if __name__ == "__main__":
    main()
