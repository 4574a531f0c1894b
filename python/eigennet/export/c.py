"""`model.export("net.h", format="c")`: one C99 header, no dependency but <math.h>.

The header holds every weight as a `static const float` array and one function

    static inline void <name>_predict(const float *x, float *y, int n);

that runs `predict` in inference form on n samples: row i of x holds the model's inputs one after
the other (each flat, in C order), row i of y its outputs likewise. It allocates nothing: its
workspace (`<NAME>_WORKSPACE` floats) lives on the stack, or in a static array when
`<NAME>_STATIC_WORKSPACE` is defined before the include (for small stacks; then not re-entrant).
An Embedding index that is not an integer in [0, input_dim) gives NaN in its row.
"""

from __future__ import annotations

import re
from typing import Optional

import numpy as np

from eigennet.export._graph import MERGES, Graph, Op

_INT_MAX = 2**31 - 1

# Scalar activations, as eigennet's C++ kernels compute them (cpp/include/eigennet/activations.h).
_HELPERS = {
    "sigmoid": (
        "static inline float {p}sigmoid(float z) {{\n"
        "  float e;\n"
        "  if (z >= 0.0f) return 1.0f / (1.0f + expf(-z));\n"
        "  e = expf(z);\n"
        "  return e / (1.0f + e);\n"
        "}}\n"
    ),
    "softplus": (
        "static inline float {p}softplus(float z) {{\n"
        "  return fmaxf(z, 0.0f) + log1pf(expf(-fabsf(z)));\n"
        "}}\n"
    ),
    "hard_sigmoid": (
        "static inline float {p}hard_sigmoid(float z) {{\n"
        "  return fminf(fmaxf(z / 6.0f + 0.5f, 0.0f), 1.0f);\n"
        "}}\n"
    ),
}
_ELEMENTWISE = {
    "sigmoid": ("{p}sigmoid(z)", ["sigmoid"]),
    "tanh": ("tanhf(z)", []),
    "relu": ("z > 0.0f ? z : 0.0f", []),
    "leaky_relu": ("z > 0.0f ? z : 0.2f * z", []),
    "elu": ("z > 0.0f ? z : expm1f(z)", []),
    "gelu": ("0.5f * z * erfcf(-z * 0.70710678118654752f)", []),
    "softplus": ("{p}softplus(z)", ["softplus"]),
    "selu": ("1.05070098735548049f * (z > 0.0f ? z : 1.67326324235437728f * expm1f(z))", []),
    "silu": ("z * {p}sigmoid(z)", ["sigmoid"]),
    "mish": ("z * tanhf({p}softplus(z))", ["softplus"]),
    "hard_sigmoid": ("{p}hard_sigmoid(z)", ["hard_sigmoid"]),
    "hard_silu": ("z * {p}hard_sigmoid(z)", ["hard_sigmoid"]),
    "relu6": ("fminf(fmaxf(z, 0.0f), 6.0f)", []),
    "softsign": ("z / (fabsf(z) + 1.0f)", []),
    "exponential": ("expf(z)", []),
}
_MERGE_EXPR = {
    "add": "{a} + {b}",
    "subtract": "{a} - {b}",
    "multiply": "{a} * {b}",
    "average": "{a} + {b}",
    "maximum": "{a} > {b} ? {a} : {b}",
    "minimum": "{a} < {b} ? {a} : {b}",
}


def _with_arguments(
    name: str,
    negative_slope: float = 0.0,
    threshold: float = 0.0,
    max_value: Optional[float] = None,
    alpha: float = 1.0,
) -> str:
    """The C expression of relu, leaky_relu or elu with Keras's arguments (activations.h)."""
    if name == "elu":
        return f"z > 0.0f ? z : {_literal(alpha)} * expm1f(z)"
    slope = _literal(negative_slope)
    if threshold == 0 and max_value is None:
        return f"z > 0.0f ? z : {slope} * z" if negative_slope else "z > 0.0f ? z : 0.0f"
    t = _literal(threshold)
    y = f"(z > {t} ? z : 0.0f)"
    if max_value is not None:
        y = f"fminf(fmaxf({y}, 0.0f), {_literal(max_value)})"
    return f"{y} - {slope} * fmaxf({t} - z, 0.0f)" if negative_slope else y


def identifier(text: str) -> str:
    """text as a C identifier: letters, digits and underscores, not starting with a digit."""
    name = re.sub(r"\W", "_", text, flags=re.ASCII)
    return name if name and not name[0].isdigit() else "m_" + name


def _literal(v: float) -> str:
    s = f"{v:.9g}"
    if not any(c in s for c in ".en"):
        s += ".0"
    return s + "f"


def _array(name: str, a: np.ndarray, what: str) -> str:
    flat = np.asarray(a, dtype=np.float32).reshape(-1)
    rows = [
        "  " + ", ".join(_literal(float(v)) for v in flat[i : i + 8])
        for i in range(0, flat.size, 8)
    ]
    shape = " x ".join(str(d) for d in a.shape)
    return (
        f"/* {what}, {shape} */\nstatic const float {name}[{flat.size}] = {{\n"
        + ",\n".join(rows)
        + "\n};\n"
    )


class _Writer:
    def __init__(self, graph: Graph, name: str) -> None:
        self.g, self.p = graph, name + "_"
        self.macro = name.upper()
        self.arrays: list[str] = []
        self.weight_names: dict[tuple[int, str], str] = {}
        self.helpers: set[str] = set()
        self.offsets: dict[int, str] = {}
        offset = 0
        for k, w in enumerate(graph.input_widths):
            self.offsets[k] = f"in + {offset}" if offset else "in"
            offset += w
        self.workspace = 0
        for op in graph.ops:
            self.offsets[op.output] = f"ws + {self.workspace}" if self.workspace else "ws"
            self.workspace += op.width
        for size in (sum(graph.input_widths), sum(graph.output_widths), self.workspace):
            if size > _INT_MAX // 4:
                raise ValueError("The model is too large for a C export (int offsets).")

    def weight(self, op: Op, key: str) -> str:
        """The C array of weight `key` of op's layer, written once per layer."""
        ident = (op.index, key)
        if ident not in self.weight_names:
            name = f"{self.p}{identifier(op.layer)}_{key}"
            if name in self.weight_names.values():
                name = f"{self.p}l{op.index}_{key}"
            self.weight_names[ident] = name
            self.arrays.append(_array(name, op.params[key], f"layer {op.layer!r}: {key}"))
        return self.weight_names[ident]

    def activation(self, name: str, out: str, width: int, args: Optional[dict] = None) -> list[str]:
        if name == "linear":
            return []
        if name == "softmax":
            return [
                "    {",
                "      float m = " + out + "[0], s = 0.0f;",
                f"      for (j = 1; j < {width}; ++j) m = {out}[j] > m ? {out}[j] : m;",
                f"      for (j = 0; j < {width}; ++j) {{",
                f"        {out}[j] = expf({out}[j] - m);",
                f"        s += {out}[j];",
                "      }",
                f"      for (j = 0; j < {width}; ++j) {out}[j] /= s;",
                "    }",
            ]
        if name == "log_softmax":
            return [
                "    {",
                "      float m = " + out + "[0], s = 0.0f;",
                f"      for (j = 1; j < {width}; ++j) m = {out}[j] > m ? {out}[j] : m;",
                f"      for (j = 0; j < {width}; ++j) s += expf({out}[j] - m);",
                "      m += logf(s);",
                f"      for (j = 0; j < {width}; ++j) {out}[j] -= m;",
                "    }",
            ]
        helpers: list[str] = []
        if args:
            expr = _with_arguments(name, **args)
        elif name in _ELEMENTWISE:
            expr, helpers = _ELEMENTWISE[name]
        else:
            raise NotImplementedError(f"The activation {name!r} cannot be exported to C yet.")
        self.helpers.update(helpers)
        return [
            f"    for (j = 0; j < {width}; ++j) {{",
            f"      const float z = {out}[j];",
            f"      {out}[j] = {expr.format(p=self.p)};",
            "    }",
        ]

    def op_lines(self, op: Op) -> list[str]:
        o, w = "o", op.width
        ins = [self.offsets[i] for i in op.inputs]
        lines = [
            f"    /* {op.layer} ({op.kind}) */",
            f"    o = {self.offsets[op.output]};",
        ]
        if op.kind == "dense":
            n_in = op.params["kernel"].shape[0]
            kernel = self.weight(op, "kernel")
            if "bias" in op.params:
                lines.append(f"    for (j = 0; j < {w}; ++j) o[j] = {self.weight(op, 'bias')}[j];")
            else:
                lines.append(f"    for (j = 0; j < {w}; ++j) o[j] = 0.0f;")
            lines += [
                f"    a = {ins[0]};",
                f"    for (k = 0; k < {n_in}; ++k) {{",
                "      const float v = a[k];",
                f"      const float *r = {kernel} + (long)k * {w};",
                f"      for (j = 0; j < {w}; ++j) o[j] += v * r[j];",
                "    }",
            ]
            lines += self.activation(op.attrs["activation"], o, w)
        elif op.kind == "activation":
            lines.append(f"    a = {ins[0]};")
            lines.append(f"    for (j = 0; j < {w}; ++j) o[j] = a[j];")
            lines += self.activation(op.attrs["activation"], o, w, op.attrs["activation_args"])
        elif op.kind == "affine":
            expr = f"(a[j] - {self.weight(op, 'shift')}[j]) * {self.weight(op, 'scale')}[j]"
            if "offset" in op.params:
                expr += f" + {self.weight(op, 'offset')}[j]"
            lines += [f"    a = {ins[0]};", f"    for (j = 0; j < {w}; ++j) o[j] = {expr};"]
        elif op.kind == "layer_norm":
            g = f"{self.weight(op, 'gamma')}[j] * " if "gamma" in op.params else ""
            b = f" + {self.weight(op, 'beta')}[j]" if "beta" in op.params else ""
            eps = _literal(op.attrs["epsilon"])
            lines += [
                f"    a = {ins[0]};",
                "    {",
                "      float m = 0.0f, q = 0.0f, r;",
                f"      for (j = 0; j < {w}; ++j) m += a[j];",
                f"      m /= {w}.0f;",
                f"      for (j = 0; j < {w}; ++j) q += (a[j] - m) * (a[j] - m);",
                f"      r = 1.0f / sqrtf(q / {w}.0f + {eps});",
                f"      for (j = 0; j < {w}; ++j) o[j] = {g}(a[j] - m) * r{b};",
                "    }",
            ]
        elif op.kind == "embedding":
            table = self.weight(op, "embeddings")
            rows, dim = op.params["embeddings"].shape
            lines += [
                f"    a = {ins[0]};",
                f"    for (k = 0; k < {op.attrs['length']}; ++k) {{",
                "      const float v = a[k];",
                f"      float *e = o + (long)k * {dim};",
                f"      if (v >= 0.0f && v < {rows}.0f && v == floorf(v)) {{",
                f"        const float *r = {table} + (long)v * {dim};",
                f"        for (j = 0; j < {dim}; ++j) e[j] = r[j];",
                "      } else {",
                f"        for (j = 0; j < {dim}; ++j) e[j] = NAN;",
                "      }",
                "    }",
            ]
        elif op.kind in MERGES:
            lines.append(f"    for (j = 0; j < {w}; ++j) o[j] = ({ins[0]})[j];")
            for other in ins[1:]:
                rhs = _MERGE_EXPR[op.kind].format(a="o[j]", b=f"({other})[j]")
                lines.append(f"    for (j = 0; j < {w}; ++j) o[j] = {rhs};")
            if op.kind == "average":
                lines.append(f"    for (j = 0; j < {w}; ++j) o[j] /= {len(ins)}.0f;")
        elif op.kind == "concatenate":
            at = 0
            for i, src in zip(op.inputs, ins):
                n = self.g.widths[i]
                lines.append(f"    for (j = 0; j < {n}; ++j) o[{at} + j] = ({src})[j];")
                at += n
        else:
            raise NotImplementedError(f"Layer {op.layer!r} cannot be exported to C yet.")
        return lines

    def header(self, model_name: str, version: str) -> str:
        g, p, m = self.g, self.p, self.macro
        body: list[str] = []
        for op in g.ops:
            body += self.op_lines(op)
        at = 0
        for v, width in zip(g.outputs, g.output_widths):
            src = self.offsets[v]
            body.append(f"    for (j = 0; j < {width}; ++j) out[{at} + j] = ({src})[j];")
            at += width
        n_in, n_out = sum(g.input_widths), sum(g.output_widths)
        ws = max(self.workspace, 1)
        inputs = ", ".join(f"{n} {list(s)}" for n, s in zip(g.input_names, g.input_shapes))
        outputs = ", ".join(f"{n} {list(s)}" for n, s in zip(g.output_names, g.output_shapes))
        comment = (
            f"/* {m.lower()}.h: the eigennet model {model_name!r} in inference form, written by\n"
            f" * eigennet {version}; C99, float32, depends only on <math.h> (link with -lm).\n"
            f" *\n"
            f" *   {p}predict(x, y, n): n samples; row i of x holds {m}_INPUTS floats,\n"
            f" *   the inputs {inputs};\n"
            f" *   row i of y {m}_OUTPUTS floats, the outputs {outputs}.\n"
            f" *\n"
            f" * The workspace ({m}_WORKSPACE floats) is on the stack; define\n"
            f" * {m}_STATIC_WORKSPACE before including this file to make it static instead\n"
            f" * (smaller stacks; {p}predict is then not re-entrant). An Embedding index that\n"
            f" * is not an integer in range gives NaN in its row. */\n"
        )
        helpers = "".join(_HELPERS[h].format(p=p) for h in sorted(self.helpers))
        predict = "\n".join(
            [
                f"static inline void {p}predict(const float *x, float *y, int n) {{",
                f"#ifdef {m}_STATIC_WORKSPACE",
                f"  static float ws[{m}_WORKSPACE];",
                "#else",
                f"  float ws[{m}_WORKSPACE];",
                "#endif",
                "  int i, j, k;",
                "  float *o;",
                "  const float *a;",
                "  (void)j;",
                "  (void)k;",
                "  (void)o;",
                "  (void)a;",
                "  for (i = 0; i < n; ++i) {",
                f"    const float *in = x + (long)i * {m}_INPUTS;",
                f"    float *out = y + (long)i * {m}_OUTPUTS;",
                "    (void)in;",
                *body,
                "  }",
                "}",
            ]
        )
        return (
            comment
            + f"#ifndef {m}_H_\n#define {m}_H_\n\n#include <math.h>\n\n"
            + f"#define {m}_INPUTS {n_in}\n#define {m}_OUTPUTS {n_out}\n"
            + f"#define {m}_WORKSPACE {ws}\n\n"
            + "\n".join(self.arrays)
            + "\n"
            + helpers
            + ("\n" if helpers else "")
            + predict
            + f"\n\n#endif /* {m}_H_ */\n"
        )


def write_header(graph: Graph, name: str, model_name: str) -> str:
    """The text of the C header for graph, its symbols prefixed with `name`."""
    import eigennet

    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
        raise ValueError(f"name must be a C identifier. Received: name={name!r}")
    return _Writer(graph, name).header(model_name, eigennet.__version__)
