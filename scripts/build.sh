#!/usr/bin/env bash
# Configures (once) and builds norm-mlir into ./build with clang-22 + Ninja.
#
#   NORM_CXX=gcc BUILD_DIR=build-gcc ./scripts/build.sh   # with Debian's GCC
#
# NORM_CXX picks the compiler: clang (the default: clang-22) or gcc (gcc and
# g++). A build directory keeps the compiler it was configured with; asking
# for another one there is an error.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
NORM_CXX=${NORM_CXX:-clang}
case "$NORM_CXX" in
  clang) CC_NAME=clang-22 CXX_NAME=clang++-22 ;;
  gcc) CC_NAME=gcc CXX_NAME=g++ ;;
  *)
    echo "build.sh: NORM_CXX must be clang or gcc, got '$NORM_CXX'" >&2
    exit 2
    ;;
esac
if [[ -f "$BUILD_DIR/CMakeCache.txt" ]]; then
  configured=$(sed -n 's/^CMAKE_CXX_COMPILER:[A-Z]*=//p' "$BUILD_DIR/CMakeCache.txt")
  if [[ "$(realpath -m "$configured")" != "$(realpath -m "$(command -v "$CXX_NAME")")" ]]; then
    echo "build.sh: $BUILD_DIR is configured with $configured, not $CXX_NAME" \
      "(NORM_CXX=$NORM_CXX); use another BUILD_DIR" >&2
    exit 2
  fi
fi
if [[ ! -f "$BUILD_DIR/build.ninja" ]]; then
  cmake -G Ninja -S . -B "$BUILD_DIR" \
    -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_C_COMPILER="$CC_NAME" -DCMAKE_CXX_COMPILER="$CXX_NAME" \
    -DMLIR_DIR=/usr/lib/llvm-22/lib/cmake/mlir "$@"
fi
ninja -C "$BUILD_DIR" all
