"""model.export to ONNX (checked by onnx.checker and run by onnxruntime) and to C (compiled by
gcc -std=c99 -Wall -Werror and run through ctypes), each against predict."""

from __future__ import annotations

import ctypes
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

import eigennet as en
from eigennet import layers

CC = shutil.which("gcc") or shutil.which("cc")
needs_cc = pytest.mark.skipif(CC is None, reason="needs a C compiler")
WARNINGS = ["-std=c99", "-Wall", "-Wextra", "-pedantic", "-Werror"]


def run_onnx(path, inputs):
    ort = pytest.importorskip("onnxruntime")
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    feed = {i.name: np.asarray(x, np.float32) for i, x in zip(session.get_inputs(), inputs)}
    return session.run(None, feed)


def compile_header(tmp_path, header, extra=()):
    """A shared library exporting predict(x, y, n) from the header's <stem>_predict."""
    stem = os.path.basename(header).split(".")[0]
    driver = tmp_path / f"{stem}_driver.c"
    driver.write_text(
        f'#include "{os.path.basename(header)}"\n'
        "void predict(const float *x, float *y, int n);\n"
        f"void predict(const float *x, float *y, int n) {{ {stem}_predict(x, y, n); }}\n"
    )
    lib = tmp_path / f"lib{stem}.so"
    subprocess.run(
        [
            CC,
            *WARNINGS,
            *extra,
            "-O2",
            "-shared",
            "-fPIC",
            "-I",
            str(tmp_path),
            "-o",
            str(lib),
            str(driver),
            "-lm",
        ],
        check=True,
        capture_output=True,
    )
    return ctypes.CDLL(str(lib))


def run_c(lib, inputs, n_out):
    n = inputs[0].shape[0]
    x = np.ascontiguousarray(
        np.hstack([np.asarray(a, np.float32).reshape(n, -1) for a in inputs]), np.float32
    )
    y = np.full((n, n_out), -7.0, np.float32)
    lib.predict(x.ctypes.data_as(ctypes.c_void_p), y.ctypes.data_as(ctypes.c_void_p), n)
    return y


def as_list(out):
    return list(out) if isinstance(out, (list, tuple)) else [out]


def check_both(model, inputs, tmp_path, atol=1e-5, batches=(1, 7)):
    """ONNX and C agree with predict at each batch size."""
    pytest.importorskip("onnx")
    model.export(tmp_path / "m.onnx", format="onnx", verbose=False)
    model.export(tmp_path / "net.h", format="c", verbose=False)
    lib = compile_header(tmp_path, tmp_path / "net.h") if CC else None
    for b in batches:
        xs = [x[:b] for x in inputs]
        want = as_list(model.predict(xs if len(xs) > 1 else xs[0], verbose=0))
        got = run_onnx(tmp_path / "m.onnx", xs)
        assert len(got) == len(want)
        for g, w in zip(got, want):
            assert g.shape == w.shape
            np.testing.assert_allclose(g, w, atol=atol, rtol=1e-5)
        if lib is not None:
            flat = run_c(lib, xs, sum(int(np.prod(w.shape[1:])) for w in want))
            np.testing.assert_allclose(
                flat, np.hstack([w.reshape(b, -1) for w in want]), atol=atol, rtol=1e-5
            )


def fit_briefly(model, inputs, targets):
    model.fit(inputs, targets, epochs=2, batch_size=16, verbose=0)


@pytest.mark.parametrize("activation", en.activations.NAMES)
def test_every_activation(activation, tmp_path):
    x = np.random.default_rng(0).normal(0, 2, (7, 5)).astype(np.float32)
    model = en.Sequential([en.Input((5,)), layers.Dense(6, activation=activation)])
    rng = np.random.default_rng(1)
    model.layers[0].set_weights([rng.normal(0, 1, (5, 6)), rng.normal(0, 1, 6)])
    check_both(model, [x], tmp_path)


def test_every_layer_in_a_tabular_graph(tmp_path):
    rng = np.random.default_rng(2)
    num, cat, img = en.Input((6,), name="num"), en.Input((2,), name="cat"), en.Input((2, 3))
    x = layers.Normalization(mean=np.arange(6.0), variance=np.arange(1.0, 7.0))(num)
    x = layers.Dense(8, activation="relu")(x)
    x = layers.BatchNormalization()(x)
    x = layers.GaussianNoise(0.1)(x)
    e = layers.Flatten()(layers.Embedding(5, 3)(cat))
    f = layers.Dense(8, use_bias=False)(layers.Flatten()(img))
    h = layers.Concatenate()([x, e, layers.GaussianDropout(0.2)(f)])
    h = layers.LayerNormalization(center=False)(h)
    h = layers.Dropout(0.3)(h)
    shared = layers.Dense(22, activation="tanh")
    a = shared(h)
    b = shared(layers.Activation("elu")(a))
    merged = [
        layers.Add()([a, b, h]),
        layers.Subtract()([a, b]),
        layers.Multiply()([a, b, h]),
        layers.Average()([a, b]),
        layers.Maximum()([a, b, h]),
        layers.Minimum()([a, h]),
    ]
    j = layers.Concatenate()(merged)
    out1 = layers.Dense(3, activation="softmax", name="klass")(j)
    out2 = layers.Reshape((2, 2))(layers.Dense(4, name="grid")(layers.Identity()(j)))
    model = en.Model([num, cat, img], [out1, out2])
    model.compile("adam", ["categorical_crossentropy", "mse"])
    n = 64
    xs = [
        rng.normal(2, 2, (n, 6)).astype(np.float32),
        rng.integers(0, 5, (n, 2)).astype(np.float32),
        rng.normal(0, 1, (n, 2, 3)).astype(np.float32),
    ]
    fit_briefly(model, xs, [np.eye(3)[rng.integers(0, 3, n)], rng.normal(0, 1, (n, 4))])
    # The moving statistics moved away from 0 and 1, so the folded affine map is exercised.
    bn = model.layers[3] if isinstance(model.layers[3], layers.BatchNormalization) else None
    bn = bn or next(lyr for lyr in model.layers if isinstance(lyr, layers.BatchNormalization))
    assert np.abs(bn.moving_mean.numpy()).max() > 1e-3
    check_both(model, xs, tmp_path)


def test_onnx_file_is_valid_with_names_shapes_and_opset(tmp_path):
    onnx = pytest.importorskip("onnx")
    inp = en.Input((2, 3), name="pixels")
    out = layers.Reshape((4, 1))(layers.Dense(4)(layers.Flatten()(inp)))
    model = en.Model(inp, out, name="tiny")
    model.export(tmp_path / "t.onnx", format="onnx", verbose=False)
    m = onnx.load(str(tmp_path / "t.onnx"))
    onnx.checker.check_model(m, full_check=True)
    assert [o.version for o in m.opset_import if o.domain in ("", "ai.onnx")] == [17]
    (i,), (o,) = m.graph.input, m.graph.output
    assert i.name == "pixels"
    dims = [d.dim_param or d.dim_value for d in i.type.tensor_type.shape.dim]
    assert dims == ["batch", 2, 3]
    assert [d.dim_param or d.dim_value for d in o.type.tensor_type.shape.dim] == ["batch", 4, 1]
    model.export(tmp_path / "t18.onnx", format="onnx", verbose=False, opset_version=18)
    assert onnx.load(str(tmp_path / "t18.onnx")).opset_import[0].version == 18
    x = np.random.default_rng(3).normal(size=(5, 2, 3)).astype(np.float32)
    (got,) = run_onnx(tmp_path / "t18.onnx", [x])
    np.testing.assert_allclose(got, model.predict(x, verbose=0), atol=1e-5)


def test_float64_model_exports_float32(tmp_path):
    en.config.set_floatx("float64")
    model = en.Sequential([en.Input((4,)), layers.Dense(5, activation="sigmoid"), layers.Dense(2)])
    x = np.random.default_rng(4).normal(size=(7, 4))
    check_both(model, [x], tmp_path)


@needs_cc
def test_c_header_alone_compiles_and_static_workspace_agrees(tmp_path):
    model = en.Sequential([en.Input((3,)), layers.Dense(4, activation="relu"), layers.Dense(2)])
    model.export(tmp_path / "net.h", format="c", verbose=False)
    # Included by a file that never calls predict: no unused-symbol warnings.
    unit = tmp_path / "other.c"
    unit.write_text('#include "net.h"\nint other(void);\nint other(void) { return NET_OUTPUTS; }\n')
    subprocess.run(
        [CC, *WARNINGS, "-c", "-I", str(tmp_path), "-o", str(tmp_path / "o.o"), str(unit)],
        check=True,
        capture_output=True,
    )
    x = np.random.default_rng(5).normal(size=(9, 3)).astype(np.float32)
    want = model.predict(x, verbose=0)
    for extra in ((), ("-DNET_STATIC_WORKSPACE",)):
        lib = compile_header(tmp_path, tmp_path / "net.h", extra)
        np.testing.assert_allclose(run_c(lib, [x], 2), want, atol=1e-5)
    text = (tmp_path / "net.h").read_text()
    assert "malloc" not in text and "#include <math.h>" in text
    assert "#define NET_INPUTS 3" in text and "#define NET_OUTPUTS 2" in text


@needs_cc
def test_c_shared_layer_weights_written_once_and_name_argument(tmp_path):
    inp = en.Input((4,))
    d = layers.Dense(4, activation="tanh")
    model = en.Model(inp, d(d(inp)))
    model.export(tmp_path / "any.h", format="c", verbose=False, name="tiny_net")
    text = (tmp_path / "any.h").read_text()
    assert text.count("static const float") == 2
    assert "static inline void tiny_net_predict(const float *x, float *y, int n)" in text
    (tmp_path / "tiny_net.h").write_text(text)
    lib = compile_header(tmp_path, tmp_path / "tiny_net.h")
    x = np.random.default_rng(6).normal(size=(3, 4)).astype(np.float32)
    np.testing.assert_allclose(run_c(lib, [x], 4), model.predict(x, verbose=0), atol=1e-5)
    # The default name is the file's stem, made a C identifier.
    model.export(tmp_path / "9 my-model.h", format="c", verbose=False)
    assert "m_9_my_model_predict(" in (tmp_path / "9 my-model.h").read_text()


@needs_cc
def test_c_embedding_index_out_of_range_gives_nan_row(tmp_path):
    model = en.Sequential([en.Input((2,)), layers.Embedding(4, 3), layers.Flatten()])
    model.export(tmp_path / "emb.h", format="c", verbose=False)
    lib = compile_header(tmp_path, tmp_path / "emb.h")
    x = np.array([[0, 3], [4, 1], [-1, 2], [1.5, 0], [np.nan, 0]], np.float32)
    y = run_c(lib, [x], 6)
    table = model.layers[0].embeddings.numpy()
    np.testing.assert_array_equal(y[0], np.concatenate([table[0], table[3]]))
    for row, bad in ((1, 0), (2, 0), (3, 0), (4, 0)):
        assert np.all(np.isnan(y[row, 3 * bad : 3 * bad + 3]))
    np.testing.assert_array_equal(y[1, 3:], table[1])


def test_export_writes_atomically_and_reports(tmp_path, capsys):
    pytest.importorskip("onnx")
    model = en.Sequential([en.Input((2,)), layers.Dense(1)])
    path = tmp_path / "m.onnx"
    path.write_bytes(b"old")
    model.export(path, format="onnx")
    assert capsys.readouterr().out.strip() == f"Saved artifact at '{path}'."
    assert path.read_bytes()[:3] != b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["m.onnx"]


def test_export_errors(tmp_path, monkeypatch):
    model = en.Sequential([en.Input((2,)), layers.Dense(1)])
    with pytest.raises(ValueError, match="tf_saved_model"):
        model.export(tmp_path / "saved")
    with pytest.raises(ValueError, match="Unrecognized format='tflite2'"):
        model.export(tmp_path / "x", format="tflite2")
    with pytest.raises(NotImplementedError, match="input_signature"):
        model.export(tmp_path / "x.h", format="c", input_signature=[(None, 2)])
    with pytest.raises(TypeError, match="opset"):
        model.export(tmp_path / "x.h", format="c", opset=3)
    with pytest.raises(ValueError, match="C identifier. Received: name='a-b'"):
        model.export(tmp_path / "x.h", format="c", name="a-b")
    with pytest.raises(ValueError, match="opset_version must be an int of at least 17"):
        model.export(tmp_path / "x.onnx", format="onnx", opset_version=13)
    monkeypatch.setitem(sys.modules, "onnx", None)
    with pytest.raises(ImportError, match=r"eigennet\[onnx\]"):
        model.export(tmp_path / "x.onnx", format="onnx")
    assert list(tmp_path.iterdir()) == []


def test_export_refuses_training_time_nodes_and_unbuilt_models(tmp_path):
    inp = en.Input((3,))
    model = en.Model(inp, layers.Dense(2)(layers.Dropout(0.5)(inp, training=True)))
    with pytest.raises(NotImplementedError, match="called with training=True"):
        model.export(tmp_path / "m.h", format="c")
    with pytest.raises(ValueError, match="not yet been built"):
        en.Sequential([layers.Dense(2)]).export(tmp_path / "m.h", format="c")
    model = en.Sequential([en.Input((2,)), layers.Dense(2)])
    model.layers[0].set_weights([np.array([[np.inf, 0], [0, 1]]), np.zeros(2)])
    with pytest.raises(ValueError, match="not finite"):
        model.export(tmp_path / "m.h", format="c")
    assert list(tmp_path.iterdir()) == []
