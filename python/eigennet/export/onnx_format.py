"""`model.export("m.onnx", format="onnx")`: the inference graph as an ONNX model, written with
the `onnx` package (the optional extra `eigennet[onnx]`).

Opset 17 (the first with LayerNormalization; onnxruntime 1.12 and later run it), float32, a
dynamic batch dimension named "batch". Inputs and outputs keep the model's Keras shapes and
names; inside, every value is a (batch, features) matrix, so Flatten and Reshape are free.
"""

from __future__ import annotations

from typing import Any, Optional

import numpy as np

from eigennet.export._graph import Graph, Op

OPSET = 17
_VARIADIC = {"add": "Sum", "average": "Mean", "maximum": "Max", "minimum": "Min"}
_SIMPLE: dict[str, tuple[str, dict[str, Any]]] = {
    "sigmoid": ("Sigmoid", {}),
    "tanh": ("Tanh", {}),
    "relu": ("Relu", {}),
    "softmax": ("Softmax", {"axis": -1}),
    "log_softmax": ("LogSoftmax", {"axis": -1}),
    "leaky_relu": ("LeakyRelu", {"alpha": 0.2}),
    "elu": ("Elu", {"alpha": 1.0}),
    "softplus": ("Softplus", {}),
    "selu": ("Selu", {"alpha": 1.6732632423543772, "gamma": 1.0507009873554805}),
    "hard_sigmoid": ("HardSigmoid", {"alpha": 1.0 / 6.0, "beta": 0.5}),
    "hard_silu": ("HardSwish", {}),
    "softsign": ("Softsign", {}),
    "exponential": ("Exp", {}),
}


def _require_onnx() -> Any:
    try:
        import onnx
    except ImportError:
        raise ImportError(
            "Exporting to ONNX needs the `onnx` package: pip install 'eigennet[onnx]' "
            "(or pip install onnx)."
        ) from None
    return onnx


class _Builder:
    def __init__(self, onnx: Any) -> None:
        self.onnx, self.h = onnx, onnx.helper
        self.nodes: list[Any] = []
        self.inits: list[Any] = []
        self.count = 0

    def name(self, hint: str) -> str:
        self.count += 1
        return f"{hint}_{self.count}"

    def const(self, a: np.ndarray, hint: str) -> str:
        name = self.name(hint)
        self.inits.append(self.onnx.numpy_helper.from_array(np.ascontiguousarray(a), name))
        return name

    def node(self, op: str, inputs: list[str], hint: str, out: Any = None, **attrs: Any) -> str:
        out = out or self.name(hint)
        self.nodes.append(self.h.make_node(op, inputs, [out], name=self.name(op), **attrs))
        return out

    def scalar(self, v: float) -> str:
        return self.const(np.asarray(v, dtype=np.float32), "c")

    def activation(self, name: str, x: str, hint: str, args: Optional[dict] = None) -> str:
        args = args or {}
        if name == "linear":
            return x
        if name == "leaky_relu" and args:
            return self.node("LeakyRelu", [x], hint, alpha=args["negative_slope"])
        if name == "elu" and args:
            return self.node("Elu", [x], hint, alpha=args["alpha"])
        if name == "relu" and args:
            return self.relu(x, hint, **args)
        if name in _SIMPLE:
            op, attrs = _SIMPLE[name]
            return self.node(op, [x], hint, **attrs)
        if name == "silu":
            return self.node("Mul", [x, self.node("Sigmoid", [x], hint)], hint)
        if name == "mish":
            t = self.node("Tanh", [self.node("Softplus", [x], hint)], hint)
            return self.node("Mul", [x, t], hint)
        if name == "relu6":
            return self.node("Clip", [x, self.scalar(0.0), self.scalar(6.0)], hint)
        if name == "gelu":  # z * Phi(z) = 0.5 * z * (1 + erf(z / sqrt(2)))
            e = self.node(
                "Erf", [self.node("Mul", [x, self.scalar(0.7071067811865476)], hint)], hint
            )
            half = self.node("Mul", [x, self.scalar(0.5)], hint)
            return self.node("Mul", [half, self.node("Add", [e, self.scalar(1.0)], hint)], hint)
        raise NotImplementedError(f"The activation {name!r} cannot be exported to ONNX yet.")

    def relu(
        self,
        x: str,
        hint: str,
        negative_slope: float = 0.0,
        threshold: float = 0.0,
        max_value: Optional[float] = None,
    ) -> str:
        """Keras's relu with arguments, composed as Keras composes it (activations.h)."""
        if threshold == 0 and max_value is None:
            if negative_slope == 0:
                return self.node("Relu", [x], hint)
            return self.node("LeakyRelu", [x], hint, alpha=negative_slope)
        if threshold != 0:
            t = self.scalar(threshold)
            above = self.node("Greater", [x, t], hint)
            y = self.node("Where", [above, x, self.scalar(0.0)], hint)
        else:
            y = self.node("Relu", [x], hint)
        if max_value is not None:
            y = self.node("Clip", [y, self.scalar(0.0), self.scalar(max_value)], hint)
        if negative_slope != 0:
            below = self.node("Relu", [self.node("Sub", [self.scalar(threshold), x], hint)], hint)
            y = self.node(
                "Sub", [y, self.node("Mul", [below, self.scalar(negative_slope)], hint)], hint
            )
        return y

    def op(self, op: Op, ins: list[str], widths: dict[int, int]) -> str:
        hint = op.layer
        p = op.params
        if op.kind == "dense":
            w = self.const(p["kernel"], f"{hint}_kernel")
            if "bias" in p:
                z = self.node("Gemm", [ins[0], w, self.const(p["bias"], f"{hint}_bias")], hint)
            else:
                z = self.node("MatMul", [ins[0], w], hint)
            return self.activation(op.attrs["activation"], z, hint)
        if op.kind == "activation":
            return self.activation(
                op.attrs["activation"], ins[0], hint, op.attrs["activation_args"]
            )
        if op.kind == "affine":
            y = self.node("Sub", [ins[0], self.const(p["shift"], f"{hint}_shift")], hint)
            y = self.node("Mul", [y, self.const(p["scale"], f"{hint}_scale")], hint)
            if "offset" in p:
                y = self.node("Add", [y, self.const(p["offset"], f"{hint}_offset")], hint)
            return y
        if op.kind == "layer_norm":
            gamma = p.get("gamma", np.ones(op.width, dtype=np.float32))
            args = [ins[0], self.const(gamma, f"{hint}_gamma")]
            if "beta" in p:
                args.append(self.const(p["beta"], f"{hint}_beta"))
            return self.node(
                "LayerNormalization", args, hint, axis=-1, epsilon=float(op.attrs["epsilon"])
            )
        if op.kind == "embedding":
            idx = self.node("Cast", [ins[0]], hint, to=self.onnx.TensorProto.INT64)
            table = self.const(p["embeddings"], f"{hint}_embeddings")
            rows = self.node("Gather", [table, idx], hint, axis=0)
            shape = self.const(np.asarray([-1, op.width], dtype=np.int64), "shape")
            return self.node("Reshape", [rows, shape], hint)
        if op.kind in _VARIADIC:
            return self.node(_VARIADIC[op.kind], ins, hint)
        if op.kind == "subtract":
            return self.node("Sub", ins, hint)
        if op.kind == "multiply":
            y = ins[0]
            for other in ins[1:]:
                y = self.node("Mul", [y, other], hint)
            return y
        if op.kind == "concatenate":
            return self.node("Concat", ins, hint, axis=1)
        raise NotImplementedError(f"Layer {op.layer!r} cannot be exported to ONNX yet.")


def build_model(graph: Graph, model_name: str, opset: int = OPSET) -> Any:
    """The onnx.ModelProto of graph."""
    onnx = _require_onnx()
    b = _Builder(onnx)
    f32 = onnx.TensorProto.FLOAT
    value: dict[int, str] = {}
    inputs = []
    for k, (name, shape) in enumerate(zip(graph.input_names, graph.input_shapes)):
        inputs.append(onnx.helper.make_tensor_value_info(name, f32, ["batch", *shape]))
        value[k] = name
        if len(shape) != 1:
            flat = b.const(np.asarray([-1, graph.input_widths[k]], dtype=np.int64), "shape")
            value[k] = b.node("Reshape", [name, flat], name)
    for op in graph.ops:
        value[op.output] = b.op(op, [value[i] for i in op.inputs], graph.widths)
    outputs = []
    taken = set(graph.input_names)
    for k, (v, name, shape) in enumerate(
        zip(graph.outputs, graph.output_names, graph.output_shapes)
    ):
        out = name if name not in taken else f"{name}_output_{k}"
        taken.add(out)
        if len(shape) != 1:
            target = b.const(np.asarray([-1, *shape], dtype=np.int64), "shape")
            b.node("Reshape", [value[v], target], out, out=out)
        else:
            b.node("Identity", [value[v]], out, out=out)
        outputs.append(onnx.helper.make_tensor_value_info(out, f32, ["batch", *shape]))
    g = onnx.helper.make_graph(b.nodes, model_name, inputs, outputs, initializer=b.inits)
    import eigennet

    model = onnx.helper.make_model(
        g,
        opset_imports=[onnx.helper.make_opsetid("", opset)],
        producer_name="eigennet",
        producer_version=eigennet.__version__,
    )
    # The oldest IR version that carries the opset, so that older runtimes read the file.
    model.ir_version = onnx.helper.find_min_ir_version_for(model.opset_import)
    onnx.checker.check_model(model, full_check=True)
    return model
