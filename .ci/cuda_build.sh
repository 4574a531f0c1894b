#!/usr/bin/env bash
# CI: compiles and links the CUDA build, which needs nvcc but no GPU, so that it cannot rot.
# Installs cuBLAS from PyPI (the toolkit here has none), builds the extension alone with
# EIGENNET_CUDA=ON for Hopper (sm_90; without a GPU "native" cannot work), then checks that it
# imports, links libcublas.so.13 through its rpath, and reports no GPU cleanly. The build folder
# is kept, so a second run only recompiles what changed.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
start=$SECONDS
command -v nvcc >/dev/null || { echo "nvcc is not on PATH: the CUDA build needs the toolkit" >&2; exit 1; }

echo "== CUDA build: dependencies"
"$PY" -m pip install -q "nvidia-cublas==13.0.*" "scikit-build-core>=0.10" "pybind11>=2.12" \
  "cmeel-eigen>=3.4,<3.5"

echo "== CUDA build: extension (EIGENNET_CUDA=ON, CMAKE_CUDA_ARCHITECTURES=90)"
out=build/cuda-ci
rm -rf "$out/wheel" "$out/site"
"$PY" -m pip wheel -q --no-deps --no-build-isolation -w "$out/wheel" . \
  -Ccmake.define.EIGENNET_CUDA=ON -Ccmake.define.CMAKE_CUDA_ARCHITECTURES=90 \
  -Cbuild-dir="$out/build"

echo "== CUDA build: import check"
mkdir -p "$out/site"
"$PY" -m zipfile -e "$out"/wheel/eigennet-*.whl "$out/site"
so=$(ls "$out"/site/eigennet/_core*.so)
readelf -d "$so" | grep -q 'NEEDED.*libcublas.so.13' || { echo "_core does not link cuBLAS" >&2; exit 1; }
PYTHONPATH="$out/site" "$PY" - <<'EOF'
import numpy as np

import eigennet as en

gpu = en.config.cuda_available()
print("cuda_available:", gpu)
if not gpu:
    try:
        en.config.set_device("cuda")
    except RuntimeError as e:
        print("set_device('cuda') raises:", e)
    else:
        raise SystemExit("set_device('cuda') should raise without a GPU")
# The CPU backend of the CUDA build trains as usual.
model = en.Sequential([en.Input((2,)), en.layers.Dense(4, activation="tanh"), en.layers.Dense(1)])
model.compile(optimizer="sgd", loss="mse")
x = np.random.default_rng(0).normal(size=(32, 2)).astype(np.float32)
model.fit(x, x[:, :1], epochs=2, verbose=0)
print("CPU fit ok")
EOF
echo "CUDA build passed in $((SECONDS - start)) s"
