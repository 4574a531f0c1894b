"""PyTorch: nn.Sequential of Linear/ReLU on logits, CrossEntropyLoss or BCEWithLogitsLoss,
torch.optim.SGD / Adam, a DataLoader-free loop over shuffled index batches for an epoch."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

from harness import (
    WARM_BATCHES,
    Bench,
    batch_pool,
    cycler,
    initial_weights,
    interference_mix,
    timed,
)
from spec import CHECK_ROWS, CHECK_STEPS, SEED, Case, Workload


def setup(threads: int) -> dict[str, Any]:
    torch.set_num_threads(threads)
    torch.set_num_interop_threads(1)
    return {
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "torch_interop_threads": torch.get_num_interop_threads(),
        "torch_parallel": torch.__config__.parallel_info().splitlines()[:4],
    }


class Trainer:
    """One model, loss and optimizer with the shared initial weights."""

    def __init__(self, wl: Workload, weights: list[np.ndarray]) -> None:
        layers: list[nn.Module] = []
        n_layers = len(weights) // 2
        for i in range(n_layers):
            kernel, bias = weights[2 * i], weights[2 * i + 1]
            linear = nn.Linear(*kernel.shape)
            with torch.no_grad():
                linear.weight.copy_(torch.from_numpy(kernel.T))  # torch stores (units, in)
                linear.bias.copy_(torch.from_numpy(bias))
            layers.append(linear)
            if i < n_layers - 1:
                layers.append(nn.ReLU())
        self.model = nn.Sequential(*layers)
        self.sigmoid = wl.output == "sigmoid"
        self.loss = nn.BCEWithLogitsLoss() if self.sigmoid else nn.CrossEntropyLoss()
        params = self.model.parameters()
        if wl.optimizer == "adam":
            self.opt: torch.optim.Optimizer = torch.optim.Adam(
                params, lr=wl.learning_rate, eps=1e-7
            )
        else:
            self.opt = torch.optim.SGD(params, lr=wl.learning_rate)

    def step(self, x: torch.Tensor, y: torch.Tensor) -> float:
        self.opt.zero_grad(set_to_none=True)
        loss = self.loss(self.model(x), y)
        loss.backward()
        self.opt.step()
        return loss.item()

    def epoch(self, x: torch.Tensor, y: torch.Tensor, batch: int, gen: torch.Generator) -> float:
        n = len(x)
        perm = torch.randperm(n, generator=gen)
        total = 0.0
        for i in range(0, n, batch):
            idx = perm[i : i + batch]
            total += self.step(x[idx], y[idx])
        return total

    def predict(self, x: torch.Tensor) -> torch.Tensor:
        with torch.inference_mode():
            z = self.model(x)
            return torch.sigmoid(z) if self.sigmoid else torch.softmax(z, dim=1)


def check(wl: Workload, x: np.ndarray, y: np.ndarray) -> list[float]:
    """Losses of the first training steps from the shared weights (before each update)."""
    tr = Trainer(wl, initial_weights(wl))
    xb, yb = torch.from_numpy(x[:CHECK_ROWS]), torch.from_numpy(y[:CHECK_ROWS])
    return [tr.step(xb, yb) for _ in range(CHECK_STEPS)]


def build(
    wl: Workload, cases: list[Case], x: np.ndarray, y: np.ndarray
) -> dict[str, dict[str, Bench]]:
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    weights = initial_weights(wl)
    return {c.id: _case(c, Trainer(wl, weights), xt, yt) for c in cases}


def _case(case: Case, tr: Trainer, x: torch.Tensor, y: torch.Tensor) -> dict[str, Bench]:
    b = case.batch
    if case.kind == "fit":
        gen = torch.Generator().manual_seed(SEED)
        m = min(len(x), WARM_BATCHES * b)
        return {
            "torch": Bench(
                timed(lambda: tr.epoch(x, y, b, gen)),
                lambda: tr.epoch(x[:m], y[:m], b, gen),
                m / len(x),
            )
        }
    if case.kind == "predict":
        rows = x[:b]
        return {"torch": Bench(timed(lambda: tr.predict(rows)))}
    nxt = cycler(batch_pool(x, y, b))

    def step() -> float:
        return tr.step(*nxt())

    if case.kind == "step" or case.load:
        return {"torch" if case.kind == "step" else "torch step": Bench(timed(step))}
    return interference_mix("torch", step)
