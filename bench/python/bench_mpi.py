"""DataParallel over MPI on this machine: training throughput with 1 and N ranks, and each
step split into compute and the gradient gather.

Run under mpirun (one thread per rank, so that N ranks use N cores):

    mpirun -n 1 python bench/python/bench_mpi.py --out bench/mpi_1.json
    mpirun -n 2 --oversubscribe python bench/python/bench_mpi.py --out bench/mpi_2.json

For each workload (W1 784-256-128-10 and W2 784-1024-1024-10, ReLU, softmax cross-entropy, SGD,
float32) and global batch size it times whole C++ epochs (`fit_epoch` with the DataParallel
split, the median of --repeats) on every rank, and, in the same run, the gradient's exchange
alone, as the core does it (Model::train_shards): an Alltoall of N chunks of P/N values and an
in-place Allgather of the summed chunks, through mpi4py, the median of 50. Compute per step
is the step time less the exchange. Rank 0 writes the JSON, with one core's FMA peak measured
in the same run (bench.py's fma_peak) and each rank's product flops as a fraction of it.
`--threads 2` with one rank gives the one-process alternative on the same cores.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np

from bench import fma_peak

WORKLOADS = {"W1": [784, 256, 128, 10], "W2": [784, 1024, 1024, 10]}


def lscpu() -> dict[str, str]:
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return {"model": platform.processor()}
    fields = dict(line.split(":", 1) for line in out.splitlines() if ":" in line)
    flags = fields.get("Flags", "").split()
    keep = [f for f in flags if f.startswith(("avx", "fma", "sse4"))]
    return {"model": fields.get("Model name", "").strip(), "flags": " ".join(keep)}


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--out", required=True)
    p.add_argument("--samples", type=int, default=16384)
    p.add_argument("--batches", type=int, nargs="+", default=[128, 1024])
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--threads", type=int, default=1)
    a = p.parse_args()

    from mpi4py import MPI

    import eigennet as en
    from eigennet.trainers import parallel

    comm = MPI.COMM_WORLD
    rank, size = comm.Get_rank(), comm.Get_size()
    peak = None
    if rank == 0:
        with tempfile.TemporaryDirectory() as tmp:
            peak = fma_peak(Path(tmp))
    comm.Barrier()
    en.config.set_num_threads(a.threads)
    dist = en.distribution.DataParallel()
    en.distribution.set_distribution(dist)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(a.samples, 784)).astype(np.float32)
    y = rng.integers(0, 10, size=a.samples).astype(np.float32).reshape(-1, 1)
    rows = []
    for name, widths in WORKLOADS.items():
        en.utils.set_random_seed(1)
        layers = [en.Input((widths[0],))]
        layers += [en.layers.Dense(w, activation="relu") for w in widths[1:-1]]
        layers.append(en.layers.Dense(widths[-1], activation="softmax"))
        model = en.Sequential(layers)
        model.compile(optimizer=en.optimizers.SGD(0.01), loss="sparse_categorical_crossentropy")
        core = model._net.core
        ds = core.dataset(x, y)
        n_params = sum(int(np.prod(w.shape)) for w in model.get_weights())
        macs = [i * o for i, o in zip(widths, widths[1:])]
        # Forward and dL/dW: 2 flops per multiply-add each; dL/dX for all but the first layer.
        flops = 4 * sum(macs) + 2 * sum(macs[1:])
        for batch in a.batches:
            plan = parallel.prepare(model, a.samples, batch, 1, 0)
            core.fit_epoch(ds, batch, True, **plan.kwargs())  # warm-up: workspaces, caches
            times = []
            for _ in range(a.repeats):
                comm.Barrier()
                start = time.perf_counter()
                core.fit_epoch(ds, batch, True, **plan.kwargs())
                times.append(time.perf_counter() - start)
            epoch = statistics.median(times)
            steps = -(-a.samples // batch)
            gather = 0.0
            if size > 1:
                chunk = -(-n_params // size)
                send = np.zeros(chunk * size, dtype=np.float32)
                recv = np.zeros_like(send)
                laps = []
                for _ in range(50):
                    comm.Barrier()
                    start = time.perf_counter()
                    comm.Alltoall(send, recv)
                    comm.Allgather(MPI.IN_PLACE, send)
                    laps.append(time.perf_counter() - start)
                gather = statistics.median(laps)
            step = epoch / steps
            rows.append(
                {
                    "workload": name,
                    "network": "-".join(map(str, widths)),
                    "batch": batch,
                    "ranks": size,
                    "threads": a.threads,
                    "samples_per_s": a.samples / epoch,
                    "step_ms": step * 1e3,
                    "gather_ms": gather * 1e3,
                    "compute_ms": (step - gather) * 1e3,
                    "gradient_bytes": 4 * n_params,
                    "gflops_per_rank": a.samples / epoch * flops / size / 1e9,
                }
            )
    if rank == 0:
        for r in rows:
            r["peak_fraction_per_core"] = r["gflops_per_rank"] / a.threads / peak if peak else None
        result = {
            "cpu": lscpu(),
            "fma_peak_gflops_one_core": peak,
            "threads_per_rank": a.threads,
            "mpi": MPI.Get_library_version().splitlines()[0],
            "transport": os.environ.get("OMPI_MCA_btl", "Open MPI default (shared memory)"),
            "rows": rows,
        }
        with open(a.out, "w") as f:
            json.dump(result, f, indent=1)
        for r in rows:
            print(
                f"{r['workload']} b{r['batch']} ranks {r['ranks']} x {r['threads']} threads: "
                f"{r['samples_per_s']:.0f} samples/s, step {r['step_ms']:.3f} ms "
                f"(compute {r['compute_ms']:.3f}, gather {r['gather_ms']:.3f}), "
                f"{r['gflops_per_rank']:.1f} GFLOP/s per rank"
            )


if __name__ == "__main__":
    main()
