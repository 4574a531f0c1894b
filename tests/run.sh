#!/usr/bin/env bash
# The whole test suite on a fresh Debian machine: installs what it needs, builds and runs the
# C++ tests against the core alone, installs the package with its test extras and runs pytest.
# Usage: bash tests/run.sh        (from the repository root)
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}

need_apt=()
[ -f /usr/include/gtest/gtest.h ] || need_apt+=(libgtest-dev)
[ -f /usr/include/benchmark/benchmark.h ] || need_apt+=(libbenchmark-dev)
command -v clang-format >/dev/null || need_apt+=(clang-format)
command -v cmake >/dev/null || need_apt+=(cmake)
command -v ninja >/dev/null || need_apt+=(ninja-build)
if [ ${#need_apt[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

echo "== C++ tests (core only, no Python)"
cmake -S . -B build/tests -G Ninja -DEIGENNET_BUILD_TESTS=ON -DEIGENNET_BUILD_BENCH=ON >/dev/null
cmake --build build/tests
ctest --test-dir build/tests --output-on-failure -j2
# The suites run per device; without a GPU their CUDA variants skip. Run those once more with the
# CPU backend serving the CUDA slot behind the host shim (tests/cpp/test_backends.h), so that the
# shim and the parameterisation are checked here too.
EIGENNET_TEST_CUDA_AS_CPU=1 ctest --test-dir build/tests --output-on-failure -j2 -R 'cuda|DeviceKind.1'

echo "== Python package and tests"
"$PY" -m pip install -q ".[test]"
# PyTorch comparisons run where torch 2.13 can be installed; they are skipped otherwise.
"$PY" -m pip install -q torch==2.13.0 2>/dev/null || echo "(torch not installable: torch tests skip)"
"$PY" -m pytest
