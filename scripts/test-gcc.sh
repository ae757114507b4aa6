#!/usr/bin/env bash
# The GCC job: builds norm-mlir with Debian's GCC into ./build-gcc, runs the
# lit suite there, and checks (scripts/compare-compilers.sh) that its
# norm-opt emits the same IR as the clang build in ./build, which
# scripts/test.sh makes (built here too if it is missing or stale). The
# Python tests run in scripts/test.sh only.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
GCC_BUILD_DIR=${GCC_BUILD_DIR:-build-gcc}
NORM_CXX=gcc BUILD_DIR="$GCC_BUILD_DIR" ./scripts/build.sh
ninja -C "$GCC_BUILD_DIR" check-norm
./scripts/build.sh
./scripts/compare-compilers.sh "${BUILD_DIR:-build}" "$GCC_BUILD_DIR"
