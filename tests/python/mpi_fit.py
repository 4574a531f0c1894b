"""One DataParallel fit, run by test_distribution.py under `mpirun -n N` (one device per rank)
or alone with `--devices N` (N shards computed in turn). Each rank saves its weights and
history to OUT/rank<r>.npz, and asks callbacks and model.save to write per-rank file names, so
that the test sees which ranks wrote.

With --own (DataParallel(auto_shard_dataset=False)) rank r passes its own shard: its rows of
every global batch of the unshuffled data (--layout interleave), so that N ranks take the
global batches of one process running --devices N on the whole data, or the whole data
(--layout same), a copy per rank. --val-data validates on separate data (split between the
ranks under --own) instead of validation_split.

Usage: python mpi_fit.py OUT [--dtype D] [--optimizer O] [--dropout R] [--devices N]
       [--samples N] [--batch B] [--fault kill|raise|leave|before] [--no-shuffle] [--val-data]
       [--own] [--layout interleave|same]
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
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--fault", default="")
    p.add_argument("--no-shuffle", action="store_true")
    p.add_argument("--val-data", action="store_true")
    p.add_argument("--own", action="store_true")
    p.add_argument("--layout", default="interleave")
    a = p.parse_args()
    dist = en.distribution.DataParallel(
        devices=[f"cpu:{i}" for i in range(a.devices)] if a.devices else None,
        auto_shard_dataset=not a.own,
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
    xv = data.normal(size=(41, 6))
    yv = (xv @ data.normal(size=(6,)) > 0).astype(np.int64)
    if a.own:
        ranks = dist.num_processes
        val = np.array_split(np.arange(len(xv)), ranks)[rank]  # 21 and 20 rows for 2 ranks
        xv, yv = xv[val], yv[val]
        if a.layout == "interleave":
            rows = []
            for start in range(0, a.samples, a.batch):
                per = min(a.batch, a.samples - start) // ranks
                rows.extend(range(start + rank * per, start + (rank + 1) * per))
            x, y, w = x[rows], y[rows], w[rows]
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
        en.callbacks.ModelCheckpoint(os.path.join(a.out, f"ckpt_rank{rank}.keras"), verbose=1),
        en.callbacks.CSVLogger(os.path.join(a.out, f"log_rank{rank}.csv")),
        en.callbacks.EarlyStopping(monitor="val_loss", patience=1, verbose=1),
    ]
    if a.fault == "before" and rank == 1:
        raise RuntimeError("rank 1 fails before fit")
    history = model.fit(
        x,
        y,
        sample_weight=w,
        batch_size=a.batch,  # 203 = 6 · 32 + 11 (with the validation split: 162 = 5 · 32 + 2)
        epochs=6,
        validation_split=0.0 if a.val_data else 0.2,
        validation_data=(xv, yv) if a.val_data else None,
        shuffle=not a.no_shuffle,
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
