"""One benchmark worker: one framework, one workload, one thread count, in its own process.

Started by bench.py as `python worker.py '<json spec>'`. It pins the thread count in the
environment before the framework (or NumPy) is imported, builds every case of its workload,
then answers JSON-line requests on stdin ("warmup", "measure", "quit") on its original stdout;
anything else written to stdout goes to stderr.
"""

from __future__ import annotations

import gc
import importlib
import json
import os
import statistics
import sys
import time
import traceback
from typing import Any

from spec import CASES_BY_ID, THREAD_VARS, WORKLOADS


def main() -> None:
    spec = json.loads(sys.argv[1])
    threads = int(spec["threads"])
    for var in THREAD_VARS:
        os.environ[var] = str(threads)
    proto = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr

    def send(msg: dict[str, Any]) -> None:
        proto.write(json.dumps(msg) + "\n")

    try:
        # NumPy (and the framework) load only now, with the thread variables set.
        from harness import make_data

        fw = importlib.import_module(f"fw_{spec['framework']}")
        info = fw.setup(threads)
        cases = [CASES_BY_ID[c] for c in spec["cases"]]
        workload = WORKLOADS[spec["workload"]]
        x, y = make_data(workload)
        info["check_losses"] = fw.check(workload, x, y)
        benches = fw.build(workload, cases, x, y)
    except Exception:
        send({"error": traceback.format_exc()})
        return
    send({"ready": True, "info": info, "cases": {c: list(v) for c, v in benches.items()}})
    for line in sys.stdin:
        msg = json.loads(line)
        if msg["op"] == "quit":
            break
        try:
            bench = benches[msg["case"]][msg["variant"]]
            if msg["op"] == "warmup":
                send({"estimate": warmup(bench, msg["seconds"], msg["min_calls"], msg["light"])})
            else:
                send({"times": measure(bench.run, msg["k"], msg["samples"], msg["max_s"])})
        except Exception:
            send({"error": traceback.format_exc()})


def warmup(bench: Any, seconds: float, min_calls: int, light: bool) -> float:
    """Runs the operation until `seconds` and `min_calls` are both reached; returns the median
    time per call of the second half of the calls. A light warm-up runs the bench's cheap
    stand-in (a few batches of an epoch) once instead and extrapolates to a whole call."""
    if light and bench.warm is not None:
        t0 = time.perf_counter()
        bench.warm()
        estimate = (time.perf_counter() - t0) / bench.warm_fraction
    else:
        times: list[float] = []
        end = time.perf_counter() + seconds
        while len(times) < min_calls or time.perf_counter() < end:
            times.append(bench.run(1))
        estimate = statistics.median(times[len(times) // 2 :])
    gc.collect()
    return estimate


def measure(run: Any, k: int, samples: int, max_s: float) -> list[float]:
    """Up to `samples` timings of k calls each, in seconds per call, with the collector paused;
    stops early once `max_s` has passed (a machine slower than the warm-up said)."""
    gc.disable()
    times: list[float] = []
    end = time.perf_counter() + max_s
    try:
        while len(times) < samples and (not times or time.perf_counter() < end):
            times.append(run(k) / k)
    finally:
        gc.enable()
    return times


if __name__ == "__main__":
    main()
