"""Exporting a trained model for other runtimes: `model.export(filepath, format=...)`.

    format="onnx"  an ONNX model (opset 17 by default, dynamic batch), for onnxruntime and the
                   tools that read ONNX; needs the `onnx` package (`eigennet[onnx]`).
    format="c"     one dependency-free C99 header with the weights and a `<name>_predict`
                   function, for C services and microcontrollers.

Both hold the model in inference form (what `predict` computes) in float32. Files are written
atomically.
"""

from __future__ import annotations

import os
from typing import Any, Optional

from eigennet.export._graph import Graph, inference_graph

__all__ = ["FORMATS", "Graph", "export_model", "inference_graph"]

FORMATS = ("onnx", "c")
_KERAS_ONLY = ("tf_saved_model", "openvino", "litert", "tflite")


def export_model(
    model: Any,
    filepath: Any,
    format: str = "tf_saved_model",
    verbose: Optional[bool] = True,
    input_signature: Any = None,
    **kwargs: Any,
) -> None:
    from eigennet.models.saving import atomic_write

    if format in _KERAS_ONLY:
        raise ValueError(
            f"eigennet cannot export format={format!r} (it needs TensorFlow or another runtime); "
            f"it exports {FORMATS}. Pass format='onnx' or format='c'."
        )
    if format not in FORMATS:
        raise ValueError(f"Unrecognized format={format!r}. Supported formats are: {FORMATS}.")
    if input_signature is not None:
        raise NotImplementedError(
            "input_signature is not supported: the export takes the model's own input shapes, "
            "with a dynamic batch dimension."
        )
    path = os.fspath(filepath)
    graph = inference_graph(model)
    if format == "onnx":
        from eigennet.export.onnx_format import OPSET, build_model

        opset = kwargs.pop("opset_version", None)
        opset = OPSET if opset is None else opset
        if isinstance(opset, bool) or not isinstance(opset, int) or opset < OPSET:
            raise ValueError(
                f"opset_version must be an int of at least {OPSET} (LayerNormalization). "
                f"Received: opset_version={opset!r}"
            )
        _refuse_extra(kwargs)
        payload = build_model(graph, model.name, opset).SerializeToString()
    else:
        from eigennet.export.c import identifier, write_header

        stem = os.path.basename(path).split(".")[0]
        name = kwargs.pop("name", None) or identifier(stem or model.name)
        _refuse_extra(kwargs)
        payload = write_header(graph, name, model.name).encode()
    atomic_write(path, lambda f: f.write(payload), overwrite=True)
    if verbose:
        print(f"Saved artifact at '{path}'.")


def _refuse_extra(kwargs: dict[str, Any]) -> None:
    if kwargs:
        raise TypeError(f"export() got unexpected keyword arguments: {sorted(kwargs)}")
