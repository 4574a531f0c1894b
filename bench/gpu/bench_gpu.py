"""eigennet's CUDA backend against PyTorch eager and PyTorch with CUDA graphs, on one GPU.

The workloads of bench/python (W1 mnist-mlp 784-256-128-10, W2 wide 784-1024-1024-10, W3
tabular 30-64-64-1) plus the GEMM-bound W2 at batch 8192, all float32 without TF32 unless a row
says otherwise. Every framework trains the same network on data resident on the GPU, shuffled
each epoch, and the same step: gather the batch, forward, loss, backward, update.

- eigennet: `model._net.core.fit_epoch(ds, batch, shuffle=True)` on a data set copied once;
  "graphs" replays each step as a CUDA graph (the default), "direct" launches every kernel
  (EIGENNET_CUDA_GRAPHS=0), "workspace always" / "no workspace" give every cuBLAS product a
  workspace or none (EIGENNET_CUDA_WORKSPACE_MB=32 / 0; by default products with an inner
  dimension of 256 or more get one). Per-step time is the epoch's time over its steps.
- torch eager: index_select of the batch, zero_grad, forward, CrossEntropyLoss /
  BCEWithLogitsLoss, backward, step; no loss.item() per step (nothing waits for the GPU).
- torch graphs: the same step captured once with torch.cuda.graph and replayed, the batch's
  indices copied into the graph's input before each replay.

Rounds interleave the frameworks; each number is the median over rounds of the mean time per
step of a run of steps. Usage: python bench/gpu/bench_gpu.py [--out DIR] [--quick]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from typing import Any, Callable

import numpy as np
import torch

import eigennet as en

WORKLOADS = {
    "W1": ((784, 256, 128, 10), "softmax", "sgd", 0.01),
    "W2": ((784, 1024, 1024, 10), "softmax", "sgd", 0.01),
    "W3": ((30, 64, 64, 1), "sigmoid", "adam", 1e-3),
}
# (workload, batch, steps per run)
STEP_CASES = [
    ("W1", 32, 400),
    ("W1", 128, 400),
    ("W1", 1024, 200),
    ("W2", 128, 200),
    ("W2", 1024, 100),
    ("W2", 8192, 20),
    ("W3", 32, 400),
]


def flops_per_sample(sizes: tuple[int, ...]) -> float:
    """Forward products, dL/dW for every layer, dL/dX for all but the first."""
    fwd = sum(2.0 * a * b for a, b in zip(sizes[:-1], sizes[1:]))
    dx = sum(2.0 * a * b for a, b in zip(sizes[1:-1], sizes[2:]))
    return 2 * fwd + dx


def make_data(sizes: tuple[int, ...], n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.random((n, sizes[0]), dtype=np.float32)
    k = sizes[-1]
    y = rng.integers(0, max(k, 2), size=n)
    return x, (y.astype(np.float32).reshape(-1, 1) if k == 1 else y)


def glorot(sizes: tuple[int, ...], seed: int = 1) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    weights = []
    for a, b in zip(sizes[:-1], sizes[1:]):
        lim = np.sqrt(6.0 / (a + b))
        weights += [rng.uniform(-lim, lim, (a, b)).astype(np.float32), np.zeros(b, np.float32)]
    return weights


class Eigennet:
    def __init__(
        self, key: str, batch: int, n: int, graphs: bool, workspace_mb: str | None = None
    ) -> None:
        sizes, out, opt, lr = WORKLOADS[key]
        os.environ["EIGENNET_CUDA_GRAPHS"] = "1" if graphs else "0"
        if workspace_mb is not None:
            os.environ["EIGENNET_CUDA_WORKSPACE_MB"] = workspace_mb
        en.config.set_device("cuda")
        layers = [en.layers.Dense(u, activation="relu") for u in sizes[1:-1]]
        model = en.Sequential([en.Input((sizes[0],)), *layers, en.layers.Dense(sizes[-1], out)])
        model.set_weights(glorot(sizes))
        optimizer = en.optimizers.SGD(lr) if opt == "sgd" else en.optimizers.Adam(lr)
        loss = "sparse_categorical_crossentropy" if out == "softmax" else "binary_crossentropy"
        model.compile(optimizer=optimizer, loss=loss)
        en.config.set_device("cpu")
        os.environ.pop("EIGENNET_CUDA_GRAPHS")
        os.environ.pop("EIGENNET_CUDA_WORKSPACE_MB", None)
        self.model, self.batch = model, batch
        self.x, self.y = make_data(sizes, n)
        self.ds = model._net.core.dataset(self.x, self.y)

    def run(self) -> None:
        self.model._net.core.fit_epoch(self.ds, self.batch, True)


class Torch:
    def __init__(self, key: str, batch: int, n: int, graphs: bool) -> None:
        sizes, out, opt, lr = WORKLOADS[key]
        dev = torch.device("cuda")
        mods: list[torch.nn.Module] = []
        for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
            mods.append(torch.nn.Linear(a, b))
            if i < len(sizes) - 2:
                mods.append(torch.nn.ReLU())
        self.net = torch.nn.Sequential(*mods).to(dev)
        w = glorot(sizes)
        with torch.no_grad():
            for lin, (k, b) in zip(
                [m for m in mods if isinstance(m, torch.nn.Linear)], zip(w[::2], w[1::2])
            ):
                lin.weight.copy_(torch.from_numpy(k.T.copy()))
                lin.bias.copy_(torch.from_numpy(b))
        if opt == "sgd":
            self.opt = torch.optim.SGD(self.net.parameters(), lr=lr)
        else:
            self.opt = torch.optim.Adam(self.net.parameters(), lr=lr, eps=1e-7, capturable=graphs)
        self.loss = (
            torch.nn.CrossEntropyLoss() if out == "softmax" else torch.nn.BCEWithLogitsLoss()
        )
        x, y = make_data(sizes, n)
        self.x = torch.from_numpy(x).to(dev)
        self.y = torch.from_numpy(y).to(dev)
        self.batch, self.n, self.steps = batch, n, n // batch
        self.idx = torch.zeros(batch, dtype=torch.int64, device=dev)
        self.graph = None
        if graphs:
            self._capture()

    def _step(self) -> None:
        xb = self.x.index_select(0, self.idx)
        yb = self.y.index_select(0, self.idx)
        self.opt.zero_grad(set_to_none=True)
        self.loss(self.net(xb), yb).backward()
        self.opt.step()

    def _capture(self) -> None:
        s = torch.cuda.Stream()
        s.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(s):
            for _ in range(3):
                self._step()
        torch.cuda.current_stream().wait_stream(s)
        self.graph = torch.cuda.CUDAGraph()
        self.opt.zero_grad(set_to_none=True)
        with torch.cuda.graph(self.graph):
            xb = self.x.index_select(0, self.idx)
            yb = self.y.index_select(0, self.idx)
            self.loss(self.net(xb), yb).backward()
            self.opt.step()

    def run(self) -> None:
        perm = torch.randperm(self.n, device="cuda")
        for i in range(self.steps):
            self.idx.copy_(perm[i * self.batch : (i + 1) * self.batch])
            if self.graph is None:
                self._step()
            else:
                self.graph.replay()
        torch.cuda.synchronize()


def timed(fn: Callable[[], None]) -> float:
    torch.cuda.synchronize()
    t = time.perf_counter()
    fn()
    torch.cuda.synchronize()
    return time.perf_counter() - t


def measure(makers: dict[str, Callable[[], Any]], steps: int, rounds: int) -> dict[str, float]:
    """Median over rounds of microseconds per step, the frameworks interleaved."""
    objs = {name: make() for name, make in makers.items()}
    for o in objs.values():
        o.run()  # warm-up: capture, cuBLAS heuristics, allocator
    times: dict[str, list[float]] = {name: [] for name in objs}
    for _ in range(rounds):
        for name, o in objs.items():
            times[name].append(timed(o.run) / steps * 1e6)
    return {name: statistics.median(t) for name, t in times.items()}


def frameworks(key: str, batch: int, n: int) -> dict[str, Callable[[], Any]]:
    makers = {
        "eigennet graphs": lambda: Eigennet(key, batch, n, True),
        "eigennet direct": lambda: Eigennet(key, batch, n, False),
        "torch eager": lambda: Torch(key, batch, n, False),
        "torch graphs": lambda: Torch(key, batch, n, True),
    }
    if batch <= 1024 and key != "W2":
        # The cuBLAS workspace for every product (split-K allowed) or for none; by default only
        # products with an inner dimension of 256 or more get it.
        makers["eigennet graphs, workspace always"] = lambda: Eigennet(key, batch, n, True, "32")
        makers["eigennet graphs, no workspace"] = lambda: Eigennet(key, batch, n, True, "0")
    return makers


def fit_epoch_api(rounds: int) -> dict[str, float]:
    """W1 `model.fit` of 60,000 samples at batch 128, one epoch (copies x and y to the GPU), and
    ten epochs per call; milliseconds per epoch."""
    e = Eigennet("W1", 128, 60_000, True)
    out: dict[str, list[float]] = {"fit epochs=1 (ms)": [], "fit epochs=10 (ms/epoch)": []}
    e.model.fit(e.x, e.y, batch_size=128, epochs=1, verbose=0)
    for _ in range(rounds):
        t = timed(lambda: e.model.fit(e.x, e.y, batch_size=128, epochs=1, verbose=0))
        out["fit epochs=1 (ms)"].append(t * 1e3)
        t = timed(lambda: e.model.fit(e.x, e.y, batch_size=128, epochs=10, verbose=0))
        out["fit epochs=10 (ms/epoch)"].append(t * 1e2)
    return {k: statistics.median(v) for k, v in out.items()}


def environment() -> dict[str, Any]:
    p = torch.cuda.get_device_properties(0)
    return {
        "gpu": p.name,
        "sms": p.multi_processor_count,
        "torch": torch.__version__,
        "torch_cuda": torch.version.cuda,
        "python": platform.python_version(),
        "eigennet": en.__version__,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=None, help="folder for results.json and table.md")
    ap.add_argument("--quick", action="store_true", help="fewer rounds and steps")
    args = ap.parse_args()
    if not en.config.cuda_available():
        raise SystemExit("eigennet has no CUDA backend or no GPU here.")
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    rounds = 3 if args.quick else 7
    env = environment()
    print(json.dumps(env))
    rows = []
    for key, batch, steps in STEP_CASES:
        steps = max(4, steps // 4) if args.quick else steps
        res = measure(frameworks(key, batch, batch * steps), steps, rounds)
        res["GFLOP/s eigennet"] = (
            flops_per_sample(WORKLOADS[key][0]) * batch / (res["eigennet graphs"] * 1e-6) / 1e9
        )
        rows.append({"case": f"{key} step b{batch}", **res})
        print(json.dumps(rows[-1]), flush=True)
    # Epoch of W1 over 60,000 resident samples at batch 128 (469 steps), in ms.
    res = measure(frameworks("W1", 128, 60_000), 1, rounds)
    rows.append({"case": "W1 epoch 60k b128 (ms)", **{k: v / 1e3 for k, v in res.items()}})
    print(json.dumps(rows[-1]), flush=True)
    api = fit_epoch_api(rounds)
    print(json.dumps(api), flush=True)
    # TF32 on both sides for the GEMM-bound case.
    en.config.set_tf32(True)
    torch.backends.cuda.matmul.allow_tf32 = True
    res = measure(
        {k: v for k, v in frameworks("W2", 8192, 8192 * 20).items() if "direct" not in k},
        20,
        rounds,
    )
    rows.append({"case": "W2 step b8192, TF32", **res})
    print(json.dumps(rows[-1]), flush=True)
    en.config.set_tf32(False)
    torch.backends.cuda.matmul.allow_tf32 = False
    table = markdown(rows, api, env)
    print(table)
    if args.out:
        os.makedirs(args.out, exist_ok=True)
        with open(os.path.join(args.out, "results.json"), "w") as f:
            json.dump({"environment": env, "rows": rows, "fit_api": api}, f, indent=1)
        with open(os.path.join(args.out, "table.md"), "w") as f:
            f.write(table)


def markdown(rows: list[dict[str, Any]], api: dict[str, float], env: dict[str, Any]) -> str:
    cols = [
        "eigennet graphs",
        "eigennet direct",
        "eigennet graphs, workspace always",
        "eigennet graphs, no workspace",
        "torch eager",
        "torch graphs",
    ]
    lines = [
        f"{env['gpu']}, PyTorch {env['torch']} (CUDA {env['torch_cuda']}), "
        "float32; microseconds per step (median), epochs in ms.",
        "",
        "| case | " + " | ".join(cols) + " | torch graphs / eigennet |",
        "|---" * (len(cols) + 2) + "|",
    ]
    for r in rows:
        cells = [f"{r[c]:.1f}" if c in r else "" for c in cols]
        ratio = r["torch graphs"] / r["eigennet graphs"]
        lines.append(f"| {r['case']} | " + " | ".join(cells) + f" | {ratio:.2f}x |")
    lines.append("")
    lines += [f"- W1 `model.fit`, 60,000 samples, batch 128: {k} = {v:.1f}" for k, v in api.items()]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
