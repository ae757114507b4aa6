#!/usr/bin/env bash
# Builds norm-mlir with ASan + UBSan (and the libFuzzer target) into
# ./build-asan and runs every test there: the lit suite with the sanitized
# norm-opt, the Python tests with the sanitizer runtime preloaded into
# python3 (it loads the sanitized libNormCAPI.so), and, given FUZZ_SECONDS,
# a fuzzing run.
#
#   scripts/test-sanitized.sh                 # build + lit + Python tests
#   FUZZ_SECONDS=1800 scripts/test-sanitized.sh
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
BUILD_DIR=${BUILD_DIR:-build-asan}
if [[ ! -f "$BUILD_DIR/build.ninja" ]]; then
  cmake -G Ninja -S . -B "$BUILD_DIR" \
    -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_C_COMPILER=clang-22 -DCMAKE_CXX_COMPILER=clang++-22 \
    -DMLIR_DIR=/usr/lib/llvm-22/lib/cmake/mlir \
    -DNORM_ENABLE_SANITIZERS="address;undefined" -DNORM_ENABLE_FUZZER=ON
fi
ninja -C "$BUILD_DIR" all
ninja -C "$BUILD_DIR" check-norm
if [[ -d python/tests ]]; then
  # python3 is not instrumented: preload the (shared) runtime our libraries
  # were linked against. CPython frees little at exit, so no leak check.
  LD_PRELOAD=$(clang++-22 -print-file-name=libclang_rt.asan-x86_64.so) \
  ASAN_OPTIONS=detect_leaks=0 \
  PYTHONPATH=python NORM_BUILD_DIR="$PWD/$BUILD_DIR" \
    /usr/bin/python3 -m pytest -q python/tests
fi
if [[ -n "${FUZZ_SECONDS:-}" ]]; then
  BUILD_DIR="$BUILD_DIR" ./scripts/fuzz.sh "$FUZZ_SECONDS"
fi
