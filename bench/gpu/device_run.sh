#!/usr/bin/env bash
# On a GPU machine (the session's device tool, carry: .whl .gtest): builds the CUDA extension
# there, runs the CUDA variants of the test suites (Python, then C++ in a build of its own) and
# the GPU benchmark, and writes every log under $OUT. Never carries a build from elsewhere.
#   .whl   cmeel and cmeel-eigen wheels (the machine has no package index):
#          python3 -m pip download --no-deps --only-binary=:all: --python-version 3.12 \
#            --platform manylinux2014_x86_64 -d .whl cmeel==0.62.0 cmeel-eigen==3.4.1
#   .gtest GoogleTest's sources, for the C++ test: cp -r /usr/src/googletest .gtest
#          (and `echo /.gtest/ >> .git/info/exclude`; /.whl/ is already in .gitignore)
# Stages are ordered by value and each has a time limit, so a slow one cannot starve the rest.
set -uo pipefail
cd "$(dirname "$0")/../.."
OUT=${OUT:-/tmp/eigennet-out}
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1
PY=python3
JOBS=$(nproc)
t0=$SECONDS
stage() { echo "== $* (t=$((SECONDS - t0)) s)"; }
DEADLINE=${DEADLINE:-520}  # seconds: each stage's limit is cut to what is left
limit() { local left=$((DEADLINE - (SECONDS - t0))); echo $((left < $1 ? (left > 5 ? left : 5) : $1)); }

stage environment
{
  nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv
  nvcc --version | tail -2
  $PY -c "import sys, torch, numpy; print(sys.version.split()[0], 'torch', torch.__version__, 'numpy', numpy.__version__)"
  $PY -m pip show nvidia-cublas 2>/dev/null | grep -E "^(Version|Location)"
  cmake --version | head -1
} 2>&1 | tee "$OUT/env.log"

# cuBLAS: where the machine's wheel put it (CMake's own search covers nvidia/cu13 only).
PURELIB=$($PY -c "import sysconfig; print(sysconfig.get_paths()['purelib'])")
CUBLAS_LIB=$(find "$PURELIB" /usr/local/cuda/ -name 'libcublas.so.13' 2>/dev/null | head -1)
CUBLAS_ROOT=$(dirname "$(dirname "$CUBLAS_LIB")")
echo "cuBLAS: $CUBLAS_LIB" | tee -a "$OUT/env.log"
ls "$CUBLAS_ROOT/include/cublas_v2.h" >> "$OUT/env.log" 2>&1 || echo "no cublas_v2.h next to it" | tee -a "$OUT/env.log"

stage wheels
$PY -m pip install -q --no-index --no-deps --no-cache-dir .whl/*.whl 2>&1 | tail -2

stage "build extension (EIGENNET_CUDA=ON)"
CMAKE_BUILD_PARALLEL_LEVEL=$JOBS timeout $(limit 240) $PY -m pip install -v --no-build-isolation --no-deps \
  --no-cache-dir . -Ccmake.define.EIGENNET_CUDA=ON -Ccmake.define.CMAKE_CUDA_ARCHITECTURES=90 \
  -Ccmake.define.EIGENNET_CUBLAS_ROOT="$CUBLAS_ROOT" -Cbuild-dir=/tmp/skbuild >"$OUT/build.log" 2>&1
rc=$?
echo "build exit $rc (t=$((SECONDS - t0)) s)"
grep -E "error|warning: |eigennet: cuBLAS" "$OUT/build.log" | head -20
[ $rc -eq 0 ] || { tail -40 "$OUT/build.log"; exit 1; }
$PY -c "import eigennet as en; print('cuda_available', en.config.cuda_available())" || exit 1

stage "C++ test build (background)"
cat >/tmp/cpp_build.sh <<EOS
set -e
cmake -S .gtest -B /tmp/gtest-build -G Ninja -DBUILD_GMOCK=OFF -DCMAKE_BUILD_TYPE=Release \\
  -DCMAKE_INSTALL_PREFIX=/tmp/gtest
cmake --build /tmp/gtest-build --target install -j 4
cmake -S . -B /tmp/cpp-build -G Ninja -DEIGENNET_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES=90 \\
  -DEIGENNET_BUILD_TESTS=ON -DEIGENNET_CUBLAS_ROOT="$CUBLAS_ROOT" \\
  -DCMAKE_PREFIX_PATH="/tmp/gtest;$PURELIB/cmeel.prefix"
cmake --build /tmp/cpp-build -j 12 --target test_cuda test_activations test_losses test_dense \
  test_optimizers test_model
EOS
timeout 260 bash /tmp/cpp_build.sh >"$OUT/cpp_build.log" 2>&1 &
cpp_pid=$!

stage smoke
EIGENNET_CUDA_DEBUG=1 timeout $(limit 60) $PY bench/gpu/smoke.py 2>&1 | tee "$OUT/smoke.log"

stage "pytest: test_cuda.py and every suite's [cuda] variants"
timeout $(limit 200) $PY -m pytest tests/python -k cuda -q -p no:cacheprovider --durations=8 -rfEs \
  2>&1 | tee "$OUT/pytest.log" | tail -40

stage "wait for the C++ build"
timeout $(limit 150) tail --pid=$cpp_pid -f /dev/null
kill -TERM $cpp_pid 2>/dev/null; wait $cpp_pid && echo "C++ build ok" || { echo "C++ build failed"; tail -20 "$OUT/cpp_build.log"; }

# The C++ suites' CUDA variants before the benchmark: verification first. Every binary reports
# its exit status (124: cut by its time limit), and one that did not build says so.
for t in test_cuda test_activations test_losses test_dense test_optimizers test_model; do
  stage "C++ $t (CUDA variants)"
  if [ ! -x /tmp/cpp-build/tests/cpp/$t ]; then echo "$t: not built"; continue; fi
  timeout $(limit 60) /tmp/cpp-build/tests/cpp/$t --gtest_filter='*cuda*:*Cuda*' \
    >"$OUT/cpp_$t.log" 2>&1
  echo "$t: exit $?"
  grep -E "^\[  (FAILED|PASSED|SKIPPED) " "$OUT/cpp_$t.log" | tail -12
done

stage benchmark
timeout $(limit 150) $PY bench/gpu/bench_gpu.py --out "$OUT/bench" 2>&1 | tee "$OUT/bench.log" | tail -30

if command -v compute-sanitizer >/dev/null && [ $((SECONDS - t0)) -lt $((DEADLINE - 40)) ]; then
  stage "compute-sanitizer memcheck (smoke)"
  timeout $(limit 60) compute-sanitizer --tool memcheck --error-exitcode 9 $PY bench/gpu/smoke.py \
    >"$OUT/sanitizer.log" 2>&1
  echo "memcheck exit $?"; grep -E "ERROR SUMMARY|Invalid|error" "$OUT/sanitizer.log" | head -10
fi
stage done
