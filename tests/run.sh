#!/usr/bin/env bash
# The whole test suite on a fresh Debian machine. Installs only what the tests need:
#   - Debian's libgtest-dev and libbenchmark-dev (apt-get, through sudo when not root);
#   - a virtual environment of its own, build/venv, holding the build tools, Eigen
#     (cmeel-eigen) and the test extras, so nothing lands in your Python.
# Builds the core once: one CMake build (build/tests) makes the Python extension, the C++ tests
# and the C++ benchmarks; then runs the C++ suites with ctest and the Python suite with pytest
# against the installed package.
#
# Opt-ins (environment variables):
#   EIGENNET_TEST_TORCH=1   install PyTorch 2.13 (CPU, about 750 MB) and Keras 3.15.1 on it
#                           into build/venv for the PyTorch comparisons and the Keras file
#                           exchanges (CI sets it; without it they skip)
#   EIGENNET_VENV=path      use another virtual environment (created when missing)
# Usage: bash tests/run.sh        (from the repository root)
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
VENV=${EIGENNET_VENV:-build/venv}
LOGS=build/logs
mkdir -p "$LOGS"
start=$SECONDS
stage() { echo "== [$((SECONDS - start)) s] $*"; }

stage "Debian packages the tests need: libgtest-dev libbenchmark-dev openmpi-bin libopenmpi-dev"
missing=()
for pkg in libgtest-dev libbenchmark-dev openmpi-bin libopenmpi-dev; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  echo "   installing ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

stage "virtual environment $VENV: build tools, Eigen, test extras"
[ -x "$VENV/bin/python" ] || "$PY" -m venv "$VENV"
VPY="$VENV/bin/python"
# The build requirements of pyproject.toml, plus CMake and Ninja, so that the one CMake build
# below serves the extension and the C++ tests alike (no isolated, throw-away build env).
"$VPY" -m pip install -q "scikit-build-core>=0.10" "pybind11>=2.12" "cmeel-eigen>=3.4,<3.5" \
  "cmake>=3.18" ninja
if [ "${EIGENNET_TEST_TORCH:-0}" = 1 ]; then
  stage "PyTorch 2.13 and Keras 3.15.1 for the comparisons (EIGENNET_TEST_TORCH=1)"
  "$VPY" -m pip install -q torch==2.13.0 keras==3.15.1
fi

stage "build: extension, C++ tests and benchmarks in build/tests (full log: $LOGS/build.log)"
# One line per compiled file; the whole output goes to the log.
"$VPY" -m pip install -v --no-build-isolation -Cbuild-dir=build/tests \
  -Ccmake.define.EIGENNET_BUILD_TESTS=ON -Ccmake.define.EIGENNET_BUILD_BENCH=ON \
  -Ccmake.define.EIGENNET_MPI=ON ".[test]" \
  >"$LOGS/build.log" 2>&1 &
build=$!
shown=0
while kill -0 "$build" 2>/dev/null; do
  sleep 2
  total=$(wc -l <"$LOGS/build.log")
  if [ "$total" -gt "$shown" ]; then
    sed -n "$((shown + 1)),${total}p" "$LOGS/build.log" | grep -E '^ *\[[0-9]+/[0-9]+\] ' \
      | sed -E 's/^ *(\[[0-9]+\/[0-9]+\]) [A-Za-z ]+ object ([^ ]+).*/   \1 \2/' || true
    shown=$total
  fi
done
if ! wait "$build"; then
  tail -n 40 "$LOGS/build.log"
  echo "build failed: see $LOGS/build.log" >&2
  exit 1
fi

stage "C++ tests (core only, no Python)"
CTEST="$VENV/bin/ctest"
"$CTEST" --test-dir build/tests --output-on-failure -j2
# The suites run per device; without a GPU their CUDA variants skip. Run those once more with the
# CPU backend serving the CUDA slot behind the host shim (tests/cpp/test_backends.h), so that the
# shim and the parameterisation are checked here too.
EIGENNET_TEST_CUDA_AS_CPU=1 "$CTEST" --test-dir build/tests --output-on-failure -j2 \
  -R 'cuda|DeviceKind.1'

stage "Python tests"
# The DataParallel cases under mpirun must run here (the build has eigennet._mpi), not skip.
EIGENNET_TEST_MPI=1 "$VPY" -m pytest
stage "all tests passed"
