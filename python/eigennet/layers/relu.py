"""ReLU: the rectified linear unit with Keras's max_value, negative_slope and threshold."""

from __future__ import annotations

from typing import Any, Optional

from eigennet.layers.activation import Activation, activation_argument
from eigennet.layers.layer import Layer


class ReLU(Activation):
    """`z` above `threshold` (else 0), clipped to `[0, max_value]` when it is set, minus
    `negative_slope * max(threshold - z, 0)`, as `keras.activations.relu`.

    Example:
        >>> import numpy as np
        >>> ReLU(max_value=10, negative_slope=0.5)(np.array([[-10.0, -5.0, 0.0, 5.0, 10.0]]))
        array([[-5. , -2.5,  0. ,  5. , 10. ]])
    """

    def __init__(
        self,
        max_value: Optional[float] = None,
        negative_slope: float = 0.0,
        threshold: float = 0.0,
        **kwargs: Any,
    ) -> None:
        super().__init__("relu", **kwargs)
        if max_value is not None:
            if isinstance(max_value, (int, float)) and max_value < 0:
                raise ValueError(
                    "max_value of a ReLU layer cannot be a negative value. Received: "
                    f"max_value={max_value}"
                )
            max_value = activation_argument("ReLU", "max_value", max_value)
        self.max_value = max_value
        self.negative_slope = activation_argument("ReLU", "negative_slope", negative_slope)
        self.threshold = activation_argument("ReLU", "threshold", threshold)
        args = {"negative_slope": self.negative_slope, "threshold": self.threshold}
        if max_value is not None:
            args["max_value"] = max_value
        self._activation_args = args

    def get_config(self) -> dict[str, Any]:
        return {
            **Layer.get_config(self),
            "max_value": self.max_value,
            "negative_slope": self.negative_slope,
            "threshold": self.threshold,
        }
