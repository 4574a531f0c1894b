"""FBetaScore and F1Score: the harmonic means of precision and recall per class (Keras 3)."""

from __future__ import annotations

from typing import Any, Optional

from eigennet.metrics.metric import Metric


class FBetaScore(Metric):
    """(1 + β²)·P·R / (β²·P + R) per class, from thresholded predictions (`threshold`), or the
    row's largest prediction when threshold is None; averaged as `average` says."""

    _core_kind = "fbeta_score"

    def __init__(
        self,
        average: Optional[str] = None,
        beta: float = 1.0,
        threshold: Optional[float] = None,
        name: str = "fbeta_score",
        dtype: Any = None,
    ) -> None:
        super().__init__(name, dtype)
        if average not in (None, "micro", "macro", "weighted"):
            raise ValueError(
                "Invalid `average` argument value. Expected one of: {None, 'micro', 'macro', "
                f"'weighted'}}. Received: average={average}"
            )
        if not isinstance(beta, float):
            raise ValueError(
                "Invalid `beta` argument value. It should be a Python float. Received: "
                f"beta={beta} of type '{type(beta)}'"
            )
        if beta <= 0.0:
            raise ValueError(
                f"Invalid `beta` argument value. It should be > 0. Received: beta={beta}"
            )
        if threshold is not None:
            if not isinstance(threshold, float):
                raise ValueError(
                    "Invalid `threshold` argument value. It should be a Python float. Received: "
                    f"threshold={threshold} of type '{type(threshold)}'"
                )
            if threshold > 1.0 or threshold <= 0.0:
                raise ValueError(
                    "Invalid `threshold` argument value. It should verify 0 < threshold <= 1. "
                    f"Received: threshold={threshold}"
                )
        self.average = average
        self.beta = beta
        self.threshold = threshold

    def _core_args(self) -> dict[str, Any]:
        return {
            "average": self.average or "none",
            "beta": self.beta,
            "argmax": self.threshold is None,
            "threshold": 0.5 if self.threshold is None else self.threshold,
        }

    def _scalar(self, n_out: Optional[int]) -> bool:
        return self.average is not None

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "average": self.average,
            "beta": self.beta,
            "threshold": self.threshold,
        }


class F1Score(FBetaScore):
    """FBetaScore with β = 1."""

    def __init__(
        self,
        average: Optional[str] = None,
        threshold: Optional[float] = None,
        name: str = "f1_score",
        dtype: Any = None,
    ) -> None:
        super().__init__(average, 1.0, threshold, name, dtype)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        del config["beta"]
        return config
