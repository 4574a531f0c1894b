"""eigennet vs PyTorch vs a NumPy reference on the CPU: the workloads and targets of issue 4.

Run from the repository root with eigennet importable (`pip install .`, or the extension copied
into python/eigennet and PYTHONPATH=python):

    PYTHONPATH=python python bench/python/bench.py --threads 1 2 \\
        --out bench/results.json --markdown bench/README.md

`--quick` is a smoke run of under a minute (fewer, shorter repetitions; the W1 epoch only
estimated from its warm-up). A full run takes about 2.5 minutes on an idle 2-core machine.

Method: each framework runs each workload (W1, W2, W3) in its own worker process (worker.py),
with OMP/MKL/OPENBLAS_NUM_THREADS set before anything is imported, then torch.set_num_threads(n)
and set_num_interop_threads(1), or eigennet.config.set_num_threads(n). For each case every
variant is warmed up, then measured in interleaved rounds: one block of samples per variant in
turn (the starting variant rotates), so slow drifts of the machine hit every framework alike.
Calls per sample and samples per block adapt to the warm-up time. Results are medians with
min and max over samples; a sample is the mean of k back-to-back calls.
"""

from __future__ import annotations

import argparse
import compileall
import importlib.util
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Optional

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import report  # noqa: E402
from spec import CASES, FRAMEWORKS, THREAD_VARS, WORKLOADS, Case  # noqa: E402

AGREEMENT_TOL = 1e-3
IDLE_TIMEOUT_S = 1.0  # longest wait for other workers' threads to stop spinning


@dataclass(frozen=True)
class Plan:
    """How long to spend. A case gets `budget_s` (all variants together) in `rounds` interleaved
    rounds, after a warm-up of `warm_s` and at least `min_calls` calls per variant; a sample
    lasts about `sample_s`. A heavy case (one call takes about a second) is warmed up by a few
    batches, which also estimate a whole call, then runs up to `heavy_rounds` rounds of one call
    within `heavy_budget_s` (none: only the estimates are reported). A variant whose single call
    is estimated above `max_call_s` is not run: its estimate is reported instead."""

    mode: str
    budget_s: float
    rounds: int
    warm_s: float
    min_calls: int
    sample_s: float
    max_samples: int
    heavy_rounds: int
    heavy_budget_s: float
    max_call_s: float
    import_reps: int


FULL = Plan("full", 2.0, 5, 0.3, 3, 5e-3, 200, 5, 15.0, 60.0, 7)
QUICK = Plan("quick", 0.15, 2, 0.04, 2, 2e-3, 50, 0, 0.0, 1.0, 1)


class Worker:
    """A worker process and its JSON-line channel."""

    def __init__(self, framework: str, workload: str, threads: int, cases: list[str]) -> None:
        self.framework = framework
        env = dict(os.environ)
        env.update({var: str(threads) for var in THREAD_VARS})
        spec = {"framework": framework, "workload": workload, "threads": threads, "cases": cases}
        self.proc = subprocess.Popen(
            [sys.executable, str(HERE / "worker.py"), json.dumps(spec)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )
        self.info: dict[str, Any] = {}
        self.cases: dict[str, list[str]] = {}

    def wait_ready(self) -> None:
        msg = self._receive()
        self.info, self.cases = msg["info"], msg["cases"]

    def call(self, **msg: Any) -> dict[str, Any]:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(msg) + "\n")
        self.proc.stdin.flush()
        return self._receive()

    def _receive(self) -> dict[str, Any]:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(
                f"The {self.framework} worker exited with status {self.proc.wait()}; "
                "its error is on stderr above."
            )
        msg = json.loads(line)
        if "error" in msg:
            raise RuntimeError(f"The {self.framework} worker failed:\n{msg['error']}")
        return msg

    def close(self) -> None:
        assert self.proc.stdin is not None
        try:
            self.proc.stdin.write(json.dumps({"op": "quit"}) + "\n")
            self.proc.stdin.close()
        except OSError:
            pass
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def log(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def start_workers(workload: str, cases: list[Case], threads: int, fws: list[str]) -> list[Worker]:
    """One worker per framework with a case here; all import and build in parallel. A framework
    that fails to start (not installed, say) is left out with a warning."""
    workers = []
    for fw in fws:
        ids = [c.id for c in cases if fw in c.frameworks]
        if ids:
            workers.append(Worker(fw, workload, threads, ids))
    ready = []
    for w in workers:
        try:
            w.wait_ready()
            ready.append(w)
        except RuntimeError as e:
            log(f"warning: {w.framework} left out of {workload} at {threads} threads: {e}")
            w.close()
    return ready


def running_threads(pid: int) -> int:
    """Threads of process pid that are running or runnable now (Linux; 0 elsewhere)."""
    count = 0
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return 0
    for tid in tids:
        try:
            with open(f"/proc/{pid}/task/{tid}/stat") as f:
                count += f.read().rpartition(")")[2].split()[0] == "R"
        except (OSError, IndexError):
            pass
    return count


def wait_idle(workers: list[Worker], timeout: float = IDLE_TIMEOUT_S) -> float:
    """Waits until no thread of these workers runs, seen twice 1 ms apart: OpenMP and OpenBLAS
    threads spin for a while after a parallel region (OpenBLAS for up to ~0.1 s) and would
    steal a core from the next framework measured. Returns the seconds waited."""
    t0 = time.perf_counter()
    quiet = 0
    while quiet < 2:
        busy = [w.framework for w in workers if running_threads(w.proc.pid)]
        quiet = quiet + 1 if not busy else 0
        if time.perf_counter() - t0 > timeout:
            log(f"warning: threads of the {', '.join(busy)} worker(s) still run after {timeout} s")
            break
        time.sleep(0.001)
    return time.perf_counter() - t0


def busy_process() -> subprocess.Popen[bytes]:
    """A background process that keeps one core busy."""
    return subprocess.Popen([sys.executable, "-c", "while True: pass"])


def run_case(case: Case, workers: list[Worker], threads: int, plan: Plan) -> list[dict[str, Any]]:
    variants = [(w, v) for w in workers for v in w.cases.get(case.id, [])]
    t0 = time.perf_counter()
    load = busy_process() if case.load else None
    times: dict[tuple[str, str], list[float]] = defaultdict(list)
    estimate: dict[tuple[str, str], float] = {}
    try:
        if load is not None:
            time.sleep(0.2)
        for w, v in list(variants):
            wait_idle([o for o in workers if o is not w])
            try:
                estimate[(w.framework, v)] = w.call(
                    op="warmup",
                    case=case.id,
                    variant=v,
                    seconds=0.0 if case.heavy else plan.warm_s,
                    min_calls=1 if case.heavy else plan.min_calls,
                    light=case.heavy,
                )["estimate"]
            except RuntimeError as e:
                log(f"warning: {case.id} / {v} left out: {e}")
                variants.remove((w, v))
        runnable = [(w, v) for w, v in variants if estimate[(w.framework, v)] <= plan.max_call_s]
        rounds, calls = plan_calls(case, runnable, estimate, plan)
        for r in range(rounds):
            shift = r % max(1, len(runnable))
            for w, v in runnable[shift:] + runnable[:shift]:
                k, s = calls[(w.framework, v)]
                wait_idle([o for o in workers if o is not w])
                reply = w.call(
                    op="measure",
                    case=case.id,
                    variant=v,
                    k=k,
                    samples=s,
                    max_s=2 * s * k * estimate[(w.framework, v)],
                )
                times[(w.framework, v)] += reply["times"]
    finally:
        if load is not None:
            load.kill()
            load.wait()
    rows = []
    for w, v in variants:
        key = (w.framework, v)
        row = make_row(case, threads, w.framework, v, times[key], estimate[key])
        row["calls_per_sample"] = calls.get(key, (0, 0))[0]
        rows.append(row)
        log(f"  {threads}t  {case.label:<28.28} {v:<30} {report.cell(row):>28}  n={row['samples']}")
    log(f"  ({time.perf_counter() - t0:.1f} s)")
    return rows


def make_row(
    case: Case, threads: int, framework: str, variant: str, ts: list[float], estimate: float
) -> dict[str, Any]:
    """One result; a variant that was not run reports its warm-up estimate, marked so."""
    row = {
        "case": case.id,
        "workload": case.workload,
        "label": case.label,
        "kind": case.kind,
        "batch": case.batch,
        "threads": threads,
        "framework": framework,
        "variant": variant,
        "median_s": statistics.median(ts or [estimate]),
        "min_s": min(ts or [estimate]),
        "max_s": max(ts or [estimate]),
        "samples": len(ts),
    }
    if not ts:
        row["estimated"] = True
    return row


def plan_calls(
    case: Case,
    runnable: list[tuple[Worker, str]],
    estimate: dict[tuple[str, str], float],
    plan: Plan,
) -> tuple[int, dict[tuple[str, str], tuple[int, int]]]:
    """Rounds, and (calls per sample, samples per block) for each variant."""
    if case.heavy:
        total = sum(estimate[(w.framework, v)] for w, v in runnable)
        fit = max(1, plan.heavy_budget_s // max(total, 1e-9))
        rounds = int(min(plan.heavy_rounds, fit))
        return rounds, {(w.framework, v): (1, 1) for w, v in runnable}
    calls = {}
    block_s = plan.budget_s / max(1, len(runnable)) / plan.rounds
    for w, v in runnable:
        est = max(estimate[(w.framework, v)], 1e-9)
        k = max(1, round(plan.sample_s / est))
        calls[(w.framework, v)] = (k, min(plan.max_samples, max(1, round(block_s / (k * est)))))
    return plan.rounds, calls


def agreement(workers: list[Worker]) -> Optional[float]:
    """Largest relative difference between the frameworks' losses over the first training steps
    from the shared weights (0 when the three train the same model the same way)."""
    losses = [w.info.get("check_losses") for w in workers if w.info.get("check_losses")]
    if len(losses) < 2:
        return None
    ref = losses[0]
    return max(abs(a - r) / max(abs(r), 1e-12) for other in losses[1:] for a, r in zip(other, ref))


def run_all(
    threads: list[int], cases: list[Case], fws: list[str], plan: Plan
) -> tuple[list[dict[str, Any]], dict[str, Any], dict[str, float]]:
    """Results, each worker's info, and per workload the largest loss disagreement."""
    results: list[dict[str, Any]] = []
    infos: dict[str, Any] = {}
    agree: dict[str, float] = {}
    for t in threads:
        for key in WORKLOADS:
            mine = [c for c in cases if c.workload == key and t >= c.min_threads]
            if not mine:
                continue
            t0 = time.perf_counter()
            log(f"{key} ({WORKLOADS[key].name}), {t} thread(s): starting workers")
            workers = start_workers(key, mine, t, fws)
            try:
                for w in workers:
                    infos[f"{w.framework}/{key}@{t}"] = w.info
                diff = agreement(workers)
                if diff is not None:
                    agree[key] = max(diff, agree.get(key, 0.0))
                    if diff > AGREEMENT_TOL:
                        log(f"warning: {key}: first-step losses differ by {diff:.2e} (relative)")
                for case in mine:
                    results += run_case(case, workers, t, plan)
            finally:
                for w in workers:
                    w.close()
            log(f"{key}, {t} thread(s): {time.perf_counter() - t0:.1f} s")
    return results, infos, agree


def measure_imports(reps: int, fws: list[str]) -> dict[str, Any]:
    """Import time in fresh processes, interleaved; the first round only warms caches."""
    code = "import time; t = time.perf_counter(); import {}; print(time.perf_counter() - t)"
    names = [m for m in ("numpy", "eigennet", "torch") if m in fws] + ["(python -c pass)"]
    samples: dict[str, dict[str, list[float]]] = {n: {"imp": [], "wall": []} for n in names}
    failed: set[str] = set()
    for r in range(reps + 1):
        shift = r % len(names)
        for name in names[shift:] + names[:shift]:
            if name in failed:
                continue
            src = "pass" if name.startswith("(") else code.format(name)
            t0 = time.perf_counter()
            proc = subprocess.run([sys.executable, "-c", src], capture_output=True, text=True)
            wall = time.perf_counter() - t0
            if proc.returncode:
                log(f"warning: `import {name}` failed, left out:\n{proc.stderr.strip()}")
                failed.add(name)
            elif r:
                samples[name]["wall"].append(wall)
                samples[name]["imp"].append(float(proc.stdout) if proc.stdout.strip() else 0.0)
    out = {}
    for name in names:
        s = samples[name]
        if name in failed or not s["wall"]:
            continue
        out[name] = {
            "import_median_s": statistics.median(s["imp"]),
            "import_min_s": min(s["imp"]),
            "import_max_s": max(s["imp"]),
            "wall_median_s": statistics.median(s["wall"]),
            "samples": len(s["wall"]),
        }
        shown = "wall_median_s" if name.startswith("(") else "import_median_s"
        log(f"  import {name:<18} {report.fmt_time(out[name][shown])}")
    return out


def machine_info() -> dict[str, Any]:
    model, flags, mem_kib = platform.processor() or "unknown", set(), 0
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                key, _, value = line.partition(":")
                if key.strip() == "model name":
                    model = value.strip()
                elif key.strip() == "flags":
                    flags = set(value.split())
        with open("/proc/meminfo") as f:
            mem_kib = int(next(line for line in f if line.startswith("MemTotal")).split()[1])
    except (OSError, StopIteration, ValueError):
        pass
    lscpu: dict[str, str] = {}
    try:
        text = subprocess.run(["lscpu"], capture_output=True, text=True, timeout=10).stdout
        for line in text.splitlines():
            key, _, value = line.partition(":")
            lscpu[key.strip()] = value.strip()
    except (OSError, subprocess.SubprocessError):
        pass
    return {
        "cpu_model": model,
        "lscpu_model": lscpu.get("Model name"),
        "lscpu_flags": lscpu.get("Flags"),
        "cores": os.cpu_count(),
        "cores_usable": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "isa": [f for f in ("avx2", "fma", "avx512f") if f in flags],
        "memory_gib": round(mem_kib / 2**20, 1),
        "platform": platform.platform(),
    }


def fma_peak(folder: Path) -> Optional[float]:
    """GFLOP/s of one core's FMA peak: bench/cpp/fma_peak.c compiled here for this machine."""
    source = Path(__file__).resolve().parents[1] / "cpp" / "fma_peak.c"
    exe = folder / "fma_peak"
    arch = "-mcpu=native" if platform.machine() in ("aarch64", "arm64") else "-march=native"
    cc = os.environ.get("CC", "cc")
    try:
        subprocess.run(
            [cc, "-O2", arch, "-DFMA_PEAK_MAIN", str(source), "-o", str(exe)],
            check=True,
            capture_output=True,
        )
        out = subprocess.run([str(exe), "0.2"], check=True, capture_output=True, text=True)
        return float(out.stdout)
    except (OSError, subprocess.SubprocessError, ValueError):
        return None


def snapshot_eigennet(folder: Path) -> Optional[str]:
    """Copies the importable eigennet package into folder, byte-compiles it as a wheel install
    would, and puts it first on PYTHONPATH for every process started from now on. The whole run
    then measures one build even if the extension is rebuilt meanwhile (overwriting a loaded .so
    in place kills the processes using it), and the import time counts no compilation of .py
    files (PYTHONDONTWRITEBYTECODE would otherwise make every import recompile them). Returns
    the source folder, or None when eigennet is not importable."""
    spec = importlib.util.find_spec("eigennet")
    if spec is None or not spec.submodule_search_locations:
        return None
    source = Path(list(spec.submodule_search_locations)[0])
    shutil.copytree(source, folder / "eigennet", ignore=shutil.ignore_patterns("__pycache__"))
    compileall.compile_dir(str(folder / "eigennet"), quiet=1)
    path = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = str(folder) + (os.pathsep + path if path else "")
    return str(source)


def cpu_busy(seconds: float = 0.5) -> Optional[float]:
    """Fraction of all cores busy over `seconds` (from /proc/stat), while this script idles:
    other processes on the machine."""

    def sample() -> tuple[int, int]:
        with open("/proc/stat") as f:
            v = [int(x) for x in f.readline().split()[1:]]
        return sum(v), v[3] + v[4]  # total, idle + iowait

    try:
        t0, i0 = sample()
        time.sleep(seconds)
        t1, i1 = sample()
    except (OSError, ValueError, IndexError):
        return None
    return round(1.0 - (i1 - i0) / max(1, t1 - t0), 3)


def versions(infos: dict[str, Any]) -> dict[str, Optional[str]]:
    out: dict[str, Optional[str]] = {"python": platform.python_version()}
    for fw in FRAMEWORKS:
        out[fw] = next((i[fw] for i in infos.values() if fw in i), None)
    return out


def parse_args(argv: Optional[list[str]] = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--threads", type=int, nargs="+", default=[1, 2], help="thread counts")
    p.add_argument("--out", type=Path, default=None, help="JSON results file")
    p.add_argument("--markdown", type=Path, default=None, help="README to put the tables in")
    p.add_argument("--quick", action="store_true", help="smoke run of under a minute")
    p.add_argument("--budget", type=float, default=None, help="seconds per case (all variants)")
    p.add_argument(
        "--cases",
        nargs="+",
        default=None,
        help="only cases whose id contains one of these (ids: "
        + ", ".join(c.id for c in CASES)
        + ", import)",
    )
    p.add_argument("--frameworks", nargs="+", choices=FRAMEWORKS, default=list(FRAMEWORKS))
    p.add_argument(
        "--no-snapshot",
        action="store_true",
        help="import eigennet where it is instead of from a byte-compiled copy",
    )
    return p.parse_args(argv)


def main(argv: Optional[list[str]] = None) -> None:
    args = parse_args(argv)
    plan = QUICK if args.quick else FULL
    if args.budget is not None:
        plan = Plan(**{**plan.__dict__, "budget_s": args.budget})
    if any(t < 1 for t in args.threads):
        raise SystemExit(f"--threads must be positive. Received: {args.threads}")

    def wanted(case_id: str) -> bool:
        return args.cases is None or any(s in case_id for s in args.cases)

    cases = [c for c in CASES if wanted(c.id)]
    start = time.perf_counter()
    machine = machine_info()
    machine["busy_start"] = cpu_busy()
    env = {k: os.environ.get(k) for k in (*THREAD_VARS, "OMP_WAIT_POLICY", "PYTHONPATH")}
    with tempfile.TemporaryDirectory(prefix="eigennet-bench-") as tmp:
        source = None if args.no_snapshot else snapshot_eigennet(Path(tmp))
        peaks = [fma_peak(Path(tmp))]
        results, infos, agree = run_all(sorted(set(args.threads)), cases, args.frameworks, plan)
        peaks.append(fma_peak(Path(tmp)))
        machine["fma_peak_gflops"] = max((p for p in peaks if p), default=None)
        machine["fma_peak_runs"] = peaks
        imports = measure_imports(plan.import_reps, args.frameworks) if wanted("import") else {}
    machine["busy_end"] = cpu_busy()
    doc = {
        "machine": machine,
        "versions": versions(infos),
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "mode": plan.mode,
        "plan": plan.__dict__,
        "command": " ".join(["python", *sys.argv]),
        "threads": sorted(set(args.threads)),
        "env": env,
        "eigennet_source": source,
        "workers": infos,
        "loss_agreement": agree,
        "results": results,
        "imports": imports,
        "targets": {"peak_fraction": report.PEAK_TARGETS, "max_s": report.TIME_TARGETS},
        "wall_s": time.perf_counter() - start,
    }
    body = report.markdown(doc)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(doc, indent=1) + "\n")
        log(f"wrote {args.out}")
    if args.markdown:
        report.update_readme(args.markdown, body)
        log(f"wrote the tables into {args.markdown}")
    print(body)


if __name__ == "__main__":
    main()
